"""Read a playbook (TOML) and validate it against the actions' parameter specs and declarations.

Errors name the file, the step and the field: ``cause6.toml: step 6 (remove-files): params.paths[2]: ...``.
A step must say where its action acts, and may mark a step destructive that is not, never the reverse.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, cast

from cleanup import readlimit
from cleanup.engine.action import Action, Param, registry
from cleanup.engine.model import WHERE, Playbook, Step
from cleanup.errors import PlaybookError
from cleanup.hosts import notify

STEP_KEYS = {"id", "number", "title", "action", "acts_on", "destructive", "params"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float), "bool": bool}
MAX_NUMBER = 1e6  # no parameter counts higher (minutes, seconds); beyond it time arithmetic overflows


def playbook_dirs() -> list[Traversable]:
    """Where named playbooks live: inside the package (an installed wheel, the device-side zipapp, where they are
    entries of the archive), or the repo's top-level folder (an editable install)."""
    pkg = resources.files("cleanup")
    if isinstance(pkg, Path):
        pkg = pkg.resolve()
        return [p for p in (pkg / "playbooks", pkg.parent / "playbooks") if p.is_dir()]
    return [p for p in (pkg / "playbooks",) if p.is_dir()]


def available_playbooks() -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for d in playbook_dirs():
        for f in sorted(d.iterdir(), key=lambda t: t.name):
            if f.name.endswith(".toml") and f.is_file():
                found.setdefault(f.name.removesuffix(".toml"), f)
    return found


def resolve_playbook(ref: str) -> Traversable:
    if ref.endswith(".toml") or "/" in ref:
        path = Path(ref)
        if not path.exists():
            shipped = next((p for p in available_playbooks().values() if not isinstance(p, Path) and str(p) == ref), None)
            if shipped is not None:  # a playbook inside the zipapp, named by the path `playbooks list` shows
                return shipped
            raise PlaybookError(f"playbook file {ref} does not exist")
        return path
    known = available_playbooks()
    if ref not in known:
        raise PlaybookError(f"no playbook named {ref!r}", hint="known: " + ", ".join(sorted(known)) or "none")
    return known[ref]


def load_playbook(ref: str) -> Playbook:
    path = resolve_playbook(ref)
    return parse_playbook(read_playbook_text(path), source=str(path))


def read_playbook_text(path: Traversable) -> str:
    """The file's text: a regular file of at most PLAYBOOK_LIMIT bytes of UTF-8 without NUL bytes."""
    try:
        if not isinstance(path, os.PathLike):  # a playbook shipped inside the zipapp: an entry of the archive, not a file
            return path.read_text(encoding="utf-8")
        return readlimit.read_text(path, readlimit.PLAYBOOK_LIMIT, "playbook", PlaybookError)
    except OSError as exc:
        raise PlaybookError(f"{path.name}: cannot read: {exc.strerror or exc}") from None


def parse_playbook(text: str, source: str = "<playbook>") -> Playbook:
    errors = playbook_errors(text, source)
    if errors:
        raise PlaybookError(errors[0], hint=f"{len(errors)} problem(s); run `cleanup playbooks validate {source}`" if len(errors) > 1 else None)
    data = tomllib.loads(text)
    meta = data["playbook"]
    actions = registry()
    steps = []
    for raw in data["steps"]:
        specs = actions[raw["action"]].params
        params = {k: raw.get("params", {}).get(k, spec.default) for k, spec in specs.items()}
        steps.append(
            Step(
                id=raw["id"],
                number=raw["number"],
                title=raw["title"],
                action=raw["action"],
                acts_on=raw["acts_on"],
                destructive=raw["destructive"],
                params=params,
            )
        )
    return Playbook(meta["name"], meta.get("title", meta["name"]), meta.get("description", ""), tuple(steps), source, text, dict(data.get("notify", {})))


def playbook_errors(text: str, source: str = "<playbook>") -> list[str]:
    """Every problem in a playbook, each a line naming file, step and field. [] when valid."""
    name = Path(source).name
    if "\x00" in text:
        return [f"{name}: holds a NUL byte; it is not a text file"]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [f"{name}: malformed TOML: {exc}"]
    except RecursionError:
        return [f"{name}: malformed TOML: nested too deeply"]
    errs: list[str] = []
    meta = data.get("playbook")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        errs.append(f"{name}: [playbook] table with a string `name` is missing")
    for key in set(data) - {"playbook", "steps", "notify"}:
        errs.append(f"{name}: unknown top-level key {key!r}")
    if "notify" in data:
        errs += notify.table_errors(data["notify"], f"{name}: notify")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        errs.append(f"{name}: no [[steps]]")
        return errs
    seen: set[str] = set()
    last_number = -1
    actions = registry()
    for i, raw in enumerate(steps):
        where = f"{name}: step #{i + 1}"
        if not isinstance(raw, dict):
            errs.append(f"{where}: not a table")
            continue
        if isinstance(raw.get("number"), int) and isinstance(raw.get("id"), str):
            where = f"{name}: step {raw['number']} ({raw['id']})"
        errs += _step_shape_errors(raw, where)
        sid = raw.get("id")
        if isinstance(sid, str):
            if sid in seen:
                errs.append(f"{where}: id: duplicate id {sid!r}")
            seen.add(sid)
        num = raw.get("number")
        if isinstance(num, int) and not isinstance(num, bool):
            if num < last_number:
                errs.append(f"{where}: number: bad ordering, step {num} comes after step {last_number}")
            last_number = max(last_number, num)
        action_name = raw.get("action")
        action = actions.get(action_name) if isinstance(action_name, str) else None
        if isinstance(action_name, str) and action is None:
            errs.append(f"{where}: action: unknown action {raw['action']!r} (known: {', '.join(sorted(actions))})")
        if action is not None:
            errs += _declaration_errors(action, raw, where)
            params = raw.get("params", {})
            if not isinstance(params, dict):
                errs.append(f"{where}: params: must be a table")
            else:
                errs += _param_errors(action.params, params, f"{where}: params")
    return errs


def _step_shape_errors(raw: dict[str, Any], where: str) -> list[str]:
    errs = []
    for key in sorted(set(raw) - STEP_KEYS):
        errs.append(f"{where}: {key}: unknown field")
    for key, typ in (("id", str), ("number", int), ("title", str), ("action", str), ("acts_on", str), ("destructive", bool)):
        if key not in raw:
            errs.append(f"{where}: {key}: missing")
        elif not isinstance(raw[key], typ) or (typ is int and isinstance(raw[key], bool)):
            errs.append(f"{where}: {key}: expected {typ.__name__}, got {type(raw[key]).__name__}")
    if isinstance(raw.get("id"), str) and not ID_RE.match(raw["id"]):
        errs.append(f"{where}: id: {raw['id']!r} must be lower-case letters, digits and dashes")
    if isinstance(raw.get("number"), int) and not 0 <= raw["number"] <= 99:
        errs.append(f"{where}: number: must be 0..99")
    if isinstance(raw.get("acts_on"), str) and raw["acts_on"] not in WHERE:
        errs.append(f"{where}: acts_on: must be one of {', '.join(WHERE)}")
    return errs


def _declaration_errors(action: Action, raw: dict[str, Any], where: str) -> list[str]:
    """A step may tighten what its action declares (ask for confirmation), never loosen it."""
    errs = []
    acts_on = raw.get("acts_on")
    if isinstance(acts_on, str) and acts_on in WHERE and acts_on != action.acts_on:
        errs.append(f"{where}: acts_on: action {action.name} acts on the {action.acts_on}, not {acts_on!r}")
    if raw.get("destructive") is False and action.destructive:
        errs.append(f"{where}: destructive: action {action.name} is destructive; a playbook cannot mark it otherwise")
    return errs


def _param_errors(specs: dict[str, Param], params: dict[str, Any], where: str) -> list[str]:
    errs = []
    for key in sorted(set(params) - set(specs)):
        errs.append(f"{where}.{key}: unknown parameter (accepted: {', '.join(sorted(specs)) or 'none'})")
    for key, spec in specs.items():
        if key not in params:
            if spec.required:
                errs.append(f"{where}.{key}: missing required parameter")
            continue
        errs += _value_errors(spec, params[key], f"{where}.{key}")
    return errs


def _value_errors(spec: Param, value: Any, where: str) -> list[str]:
    if spec.type in _TYPES:
        want = _TYPES[spec.type]
        if not isinstance(value, want) or (spec.type != "bool" and isinstance(value, bool)):
            return [f"{where}: expected {spec.type}, got {type(value).__name__}"]
        number = cast(float, value)  # an int or a float when spec.type is one (checked just above)
        if spec.type in ("int", "float") and not (math.isfinite(number) and abs(number) <= MAX_NUMBER):
            return [f"{where}: {value!r} is not a number this tool accepts (finite, at most {MAX_NUMBER:g})"]
    elif spec.type == "str_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return [f"{where}: expected a list of strings"]
        errs = []
        for j, v in enumerate(value):
            msg = spec.check(v) if spec.check else None
            if msg:
                errs.append(f"{where}[{j}]: {msg}")
        return errs
    elif spec.type == "table_list":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return [f"{where}: expected a list of tables"]
        errs = []
        for j, table in enumerate(value):
            errs += _param_errors(spec.item, table, f"{where}[{j}]")
            if spec.check and not errs:
                msg = spec.check(table)
                if msg:
                    errs.append(f"{where}[{j}]: {msg}")
        return errs
    msg = spec.check(value) if spec.check else None
    return [f"{where}: {msg}"] if msg else []
