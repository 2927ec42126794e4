"""`cleanup diagnose`: the rows of Microsoft's troubleshooting table that can be checked, as read-only checks
of one Mac (through its Host) and of the cloud (Jamf Pro, Entra, Intune): symptom -> status -> likely cause
-> the article's remedy -> the playbook that fixes it."""

from cleanup.diagnose.model import OK, PROBLEM, UNKNOWN, Check
from cleanup.diagnose.runner import Diagnosis, diagnose_mac, run_diagnose

__all__ = ["OK", "PROBLEM", "UNKNOWN", "Check", "Diagnosis", "diagnose_mac", "run_diagnose"]
