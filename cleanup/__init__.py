"""cleanup: the Cause 6 reset of a Mac's Jamf Pro / Intune / Entra registration, as a resumable playbook."""

__version__ = "0.1.0"
