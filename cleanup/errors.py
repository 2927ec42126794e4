"""Every error the tool raises on purpose, in one tree. The CLI catches :class:`CleanupError` and exits with its
``exit_code``; the batch runner reads ``retryable``; the run engine reads ``outcome_unknown``.

::

    CleanupError                      exit 1   something went wrong; the message says what
    ├── UsageError                    exit 2   bad input (options, files, names); nothing was changed
    │   ├── PlaybookError                      a playbook that does not load or validate
    │   ├── StateError                         a checkpoint, audit or ledger file that is damaged or not ours
    │   └── ConfigError                        a config file or credential that cannot be used
    ├── SafetyRefusal                 exit 4   acting could hit the wrong object: refused
    │   ├── Ambiguous                          several objects match where one is expected
    │   ├── LockHeld                           another run holds this Mac's lock
    │   └── UnsafePath                         a path outside the allowed roots, odd, or behind a symlink
    ├── Paused                        exit 3   the run stopped on purpose (restart, wait, confirmation)
    ├── StepFailed                             a step could not complete; the run can be resumed   retryable
    ├── ChangeBlocked                          one change cannot be made now, maybe later (locked keychain)
    ├── PermissionMissing                      the credentials cannot do what the run needs
    ├── Unavailable                            a read cannot be made (no permission, no Mac, no configuration)
    ├── AuthError                              a service rejected the credentials, or no token could be had
    ├── HostError                              a device command failed, or the Mac cannot be used   retryable
    │   └── SshError                           the Mac cannot be used over SSH (key, login, sudo, agent)
    │       ├── Unreachable                    no connection: off, restarting, network   retryable, transient
    │       └── ConnectionLost                 dropped during a call   retryable, transient, outcome unknown
    └── ServiceError                           a cloud service kept failing after retries   retryable
        ├── JamfError                          Jamf Pro answered with an error status (``code``)
        │   └── JamfOutcomeUnknown             a request went out, its answer was lost   outcome unknown
        └── GraphError                         Microsoft Graph answered with an error (``code``)
            └── GraphOutcomeUnknown            a request went out, its answer was lost   outcome unknown

``retryable``: trying the same Mac again later may succeed (the batch runner schedules another attempt).
``transient``: the condition passes by itself (a restarting Mac); a poll keeps waiting through it.
``outcome_unknown``: the request or command may or may not have acted; the run leaves its intent open so that
resume probes again and never repeats a command that must run once.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PAUSED = 3
EXIT_REFUSED = 4

#: the process statuses, once; docs/exit-codes.md is generated from this table
EXIT_CODES: dict[int, tuple[str, str]] = {
    EXIT_OK: ("done", "the command did what was asked (a dry-run: it planned, and would not be refused)"),
    EXIT_FAILED: ("failed", "something went wrong: a step, a device command, a service, credentials; a run stays resumable"),
    EXIT_USAGE: ("bad input", "options, playbook, config, state or ledger file that cannot be used; nothing was changed"),
    EXIT_PAUSED: ("paused", "the run stopped on purpose (restart, wait, confirmation needed, blocked step); `cleanup resume RUN` continues it"),
    EXIT_REFUSED: (
        "refused",
        "acting could hit the wrong object (ambiguity, lock held, unsafe path, wrong Mac, unfinished run); nothing was changed by the refused step",
    ),
}


class CleanupError(Exception):
    """Base of every error the tool reports to a user: one clear line, plus an optional hint."""

    exit_code: int = EXIT_FAILED
    retryable: bool = False
    transient: bool = False
    outcome_unknown: bool = False

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
    """A checkpoint, audit or ledger file that is corrupt, truncated or not ours."""


class ConfigError(UsageError):
    """A config file, or a credential in the keyring or the environment, that cannot be used."""


class SafetyRefusal(CleanupError):
    """The tool refuses to act because acting could hit the wrong object."""

    exit_code = EXIT_REFUSED


class Ambiguous(SafetyRefusal):
    """Several objects match where one is expected; the operator must choose explicitly."""


class LockHeld(SafetyRefusal):
    """Another run holds the lock for this Mac."""


class UnsafePath(SafetyRefusal):
    """A path that is not allowed, not normalised, or reaches through a symlink."""


class Paused(CleanupError):
    """The run stops on purpose (reboot, wait, locked keychain); ``cleanup resume`` continues it.

    ``pause`` is the engine's :class:`~cleanup.engine.action.Pause` when a step asked for it (its kind and
    not-before time), None for a stop the runner decided (blocked step, confirmation needed)."""

    exit_code = EXIT_PAUSED

    def __init__(self, message: str, hint: str | None = None, *, pause: object | None = None):
        super().__init__(message, hint)
        self.pause = pause


class StepFailed(CleanupError):
    """A step could not complete; the run stops and can be resumed."""

    retryable = True


class ChangeBlocked(CleanupError):
    """Raised by an action's ``apply`` when a change cannot be made now but may be later (resume retries).
    ``waiting_for`` names what would unblock it, e.g. ``login:bob`` for a locked login keychain."""

    def __init__(self, message: str, hint: str | None = None, *, waiting_for: str | None = None):
        super().__init__(message, hint)
        self.waiting_for = waiting_for


class PermissionMissing(CleanupError):
    """The credentials cannot do what the run needs; nothing was changed."""


class Unavailable(CleanupError):
    """A read cannot be made (no permission, no Mac, no configuration); a diagnose check reports ``unknown``."""

    def __init__(self, why: str, hint: str | None = None):
        super().__init__(why, hint)

    @property
    def why(self) -> str:
        return self.message


class AuthError(CleanupError):
    """A service rejected our credentials, or a token could not be obtained."""


class HostError(CleanupError):
    """A device command or file operation failed, or the host cannot be reached."""

    retryable = True


class SshError(HostError):
    """The Mac cannot be used over SSH; waiting will not change that (key, login, sudo, agent)."""


class Unreachable(SshError):
    """No connection: the Mac is off, restarting, or the network is in the way."""

    transient = True


class ConnectionLost(SshError):
    """The channel dropped during a call: whether a command in flight ran is not known."""

    transient = True
    outcome_unknown = True


class ServiceError(CleanupError):
    """A cloud service could not be reached or kept failing after retries. ``code`` is the service's own error
    code when its answer named one (Jamf Pro's first error code, Graph's ``error.code``)."""

    retryable = True

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        code: str | None = None,
        method: str = "",
        url: str = "",
        status: int | None = None,
        attempts: int = 0,
    ):
        super().__init__(message, hint)
        self.code = code
        self.method = method
        self.url = url
        self.status = status
        self.attempts = attempts


class JamfError(ServiceError):
    """Jamf Pro answered with an error status we do not handle; ``code`` is the first error code of the body."""


class JamfOutcomeUnknown(JamfError):
    """A request went out and its answer was lost: whether Jamf Pro acted is not known (resume re-reads)."""

    outcome_unknown = True


class GraphError(ServiceError):
    """Microsoft Graph answered with an error; ``code`` is ``error.code`` of the body."""


class GraphOutcomeUnknown(GraphError):
    """A request went out and its answer was lost: whether the service acted is not known (resume re-reads)."""

    outcome_unknown = True


def _tree(cls: type[CleanupError]) -> list[type[CleanupError]]:
    return [cls] + [c for sub in cls.__subclasses__() if sub.__module__ == __name__ for c in _tree(sub)]


#: every class above by its name: an error sent across the SSH channel by name is raised again as its class
BY_NAME: dict[str, type[CleanupError]] = {c.__name__: c for c in _tree(CleanupError)}


def error_class(name: object) -> type[CleanupError]:
    """The class an error name sent across a channel stands for; an unknown name is a HostError."""
    return BY_NAME.get(name, HostError) if isinstance(name, str) else HostError
