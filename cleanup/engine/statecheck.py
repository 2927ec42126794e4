"""The schema of a run's checkpoint (state.json), checked whole before the state is used.

A resume trusts what the checkpoint recorded: a field of the wrong type found only when a later step reads it
would stop the run after earlier steps had already acted. So every field the engine or an action reads is
checked here first, and a damaged or hand-edited file is refused with one line naming the file and the field.

A schema is a function ``check(value, field)`` that raises :class:`_Bad`; the helpers below build them.
Unknown keys are allowed in the tables an action may add to (facts, step data), never in a step.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from cleanup.engine.state import RunStatus
from cleanup.errors import StateError
from cleanup.identifiers import SERIAL_RE

Check = Callable[[Any, str], None]
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_@.:-]{1,64}")

_JSON_NAMES = {dict: "a table", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number", type(None): "null"}


class _Bad(Exception):
    def __init__(self, field: str, value: Any, expected: str, show: bool = False):
        super().__init__(field)
        self.field, self.value, self.expected, self.show = field, value, expected, show


def _kind(value: Any) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _is(*types: type, name: str) -> Check:
    def check(value: Any, field: str) -> None:
        # bool is an int to Python, never to a state file
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise _Bad(field, value, name)

    return check


TEXT = _is(str, name="text")
INT = _is(int, name="an integer")
NUMBER = _is(int, float, name="a number")
FLAG = _is(bool, name="true/false")
TABLE = _is(dict, name="a table")


def opt(check: Check) -> Check:
    def optional(value: Any, field: str) -> None:
        if value is not None:
            check(value, field)

    return optional


def one_of(*values: str) -> Check:
    def check(value: Any, field: str) -> None:
        if not isinstance(value, str) or value not in values:
            raise _Bad(field, value, "one of " + ", ".join(values), show=True)

    return check


def serial(value: Any, field: str) -> None:
    if not isinstance(value, str) or not SERIAL_RE.fullmatch(value):
        raise _Bad(field, value, "an Apple serial number", show=True)


def list_of(item: Check) -> Check:
    def check(value: Any, field: str) -> None:
        if not isinstance(value, list):
            raise _Bad(field, value, "a list")
        for i, v in enumerate(value):
            item(v, f"{field}[{i}]")

    return check


def map_of(item: Check) -> Check:
    """A table of any text keys, every value ``item``."""

    def check(value: Any, field: str) -> None:
        TABLE(value, field)
        for k, v in value.items():
            item(v, _join(field, k))

    return check


def table(required: dict[str, Check], optional: dict[str, Check] | None = None, closed: bool = False) -> Check:
    """A table with these keys (``optional`` ones may be absent); other keys are refused when ``closed``."""
    known = {**required, **(optional or {})}

    def check(value: Any, field: str) -> None:
        TABLE(value, field)
        for key in required:
            if key not in value:
                raise _Bad(_join(field, key), None, "present")
        for key, v in value.items():
            if key in known:
                known[key](v, _join(field, key))
            elif closed:
                raise _Bad(_join(field, key), v, "unknown")

    return check


def _join(field: str, key: str) -> str:
    # a key of a hand-edited file may hold anything, a newline too: the message stays one line
    if not _PLAIN_KEY.fullmatch(key):
        return f"{field}[{key!r}]"
    return f"{field}.{key}" if field else key


IDS = list_of(TEXT)
USER = table({"name": TEXT, "uid": INT, "home": TEXT})
JAMF_RECORD = table({"id": TEXT}, {"name": opt(TEXT), "serial": opt(TEXT), "aad_device_ids": IDS})
ENTRA_DEVICE = table({"id": TEXT}, {"deviceId": opt(TEXT), "displayName": opt(TEXT), "operatingSystem": opt(TEXT), "found_by": TEXT})
INTUNE_RECORD = table(
    {"id": TEXT}, {"deviceName": opt(TEXT), "serialNumber": opt(TEXT), "azureADDeviceId": opt(TEXT), "managementAgent": opt(TEXT), "operatingSystem": opt(TEXT)}
)

CLOUD = table(
    {"serial": serial, "jamf": list_of(JAMF_RECORD), "entra": list_of(ENTRA_DEVICE), "intune": list_of(INTUNE_RECORD)},
    {"gathered_at": NUMBER, "entra_by_name_only": FLAG, "entra_other": list_of(ENTRA_DEVICE), "claims": map_of(IDS), "choices": map_of(IDS)},
)

# what step 0 (cleanup.actions.facts, cloud_facts) records
FACTS = table(
    {},
    {
        "serial": serial,
        "computer_name": TEXT,
        "os_version": TEXT,
        "users": list_of(USER),
        "console_user": opt(TEXT),
        "boot_time": INT,
        "jamf_present": FLAG,
        "company_portal_present": FLAG,
        "jamf_url": opt(TEXT),
        "mdm": table({}, {"enrolled": FLAG, "dep": FLAG, "user_approved": FLAG, "server": opt(TEXT)}),
        "entra_device_ids": map_of(IDS),
        "entra_device_id": opt(TEXT),
        "cloud": CLOUD,
    },
)

# written by Runner._start
OPTIONS = table(
    {},
    {
        "only": opt(one_of("device", "cloud")),
        "from": opt(TEXT),
        "to": opt(TEXT),
        "yes": FLAG,
        "autoresume": FLAG,
        "wait_seconds": opt(NUMBER),
        "choices": map_of(IDS),
        "batch_id": opt(TEXT),
    },
)

# the durable data the actions keep in their step (reboot, wait, jamf_binary, verify)
STEP_DATA = table(
    {},
    {
        "boot_before": INT,
        "boot_after": INT,
        "started_at": NUMBER,
        "seconds": NUMBER,
        "not_before": NUMBER,
        "mdm_command": table({"computer": TEXT, "uuid": TEXT}, {"at": NUMBER}),
        "verification": TABLE,
    },
)

OVERRIDE = table({"kind": TEXT}, {"step": TEXT, "seconds": NUMBER, "time": NUMBER, "by": TEXT})

RUN_STATUSES = tuple(RunStatus)


def _step(states: tuple[str, ...]) -> Check:
    return table(
        {"id": TEXT},
        {
            "state": one_of(*states),
            "started": opt(NUMBER),
            "ended": opt(NUMBER),
            "attempts": INT,
            "outcome": TEXT,
            "notes": list_of(TEXT),
            "data": STEP_DATA,
        },
        closed=True,
    )


def _steps(states: tuple[str, ...]) -> Check:
    each = list_of(_step(states))

    def check(value: Any, field: str) -> None:
        each(value, field)
        seen: set[str] = set()
        for i, step in enumerate(value):
            if step["id"] in seen:
                raise _Bad(f"{field}[{i}].id", step["id"], "a step id not used before")
            seen.add(step["id"])

    return check


@functools.lru_cache(maxsize=4)
def run_state_schema(step_states: tuple[str, ...]) -> Check:
    return table(
        {
            "run_id": TEXT,
            "playbook": TEXT,
            "playbook_sha256": TEXT,
            "host": TEXT,
            "serial": serial,
            "computer_name": TEXT,
            "created": NUMBER,
            "updated": NUMBER,
            "options": OPTIONS,
            "facts": FACTS,
            "steps": _steps(step_states),
        },
        {"overrides": list_of(OVERRIDE), "status": one_of(*RUN_STATUSES), "format": TEXT},
    )


def check_run_state(data: Any, where: str) -> None:
    """StateError naming ``where`` (the file) and the first field that does not fit the schema; else nothing.
    Data that is not a run state at all is left to the caller's format check."""
    from cleanup.engine.state import FORMAT, STEP_STATES  # state.py calls this module: imported late

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return
    try:
        run_state_schema(STEP_STATES)(data, "")
    except _Bad as bad:
        raise StateError(f"{where} is damaged: {_describe(bad)}; nothing was run") from None


def _describe(bad: _Bad) -> str:
    if bad.expected == "present":
        return f"field {bad.field} is missing"
    if bad.expected == "unknown":
        return f"{bad.field} is not a field of a cleanup run state"
    shown = _kind(bad.value)
    if bad.show and isinstance(bad.value, str):
        shown = repr(bad.value) if len(bad.value) <= 40 else repr(bad.value[:37] + "...")
    return f"field {bad.field} is {shown}, expected {bad.expected}"
