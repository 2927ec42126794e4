"""One error hierarchy. The CLI catches CleanupError and maps ``exit_code`` to the process status."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PAUSED = 3
EXIT_REFUSED = 4


class CleanupError(Exception):
    """Base of every error the tool reports to a user: one clear line, plus an optional hint."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CleanupError):
    """Bad input: options, files, names. Nothing was changed."""

    exit_code = EXIT_USAGE


class PlaybookError(UsageError):
    """A playbook that does not load or validate; the message names file, step and field."""


class StateError(UsageError):
    """A checkpoint or audit file that is corrupt, truncated or not ours."""


class SafetyRefusal(CleanupError):
    """The tool refuses to act because acting could hit the wrong object."""

    exit_code = EXIT_REFUSED


class Ambiguous(SafetyRefusal):
    """Several objects match where one is expected; the operator must choose explicitly."""


class LockHeld(SafetyRefusal):
    """Another run holds the lock for this Mac."""


class HostError(CleanupError):
    """A device command or file operation failed, or the host cannot be reached."""


class StepFailed(CleanupError):
    """A step could not complete; the run stops and can be resumed."""


class Paused(CleanupError):
    """The run stops on purpose (reboot, wait, locked keychain); ``cleanup resume`` continues it."""

    exit_code = EXIT_PAUSED


class UnsafePath(SafetyRefusal):
    """A path that is not allowed, not normalised, or reaches through a symlink."""
