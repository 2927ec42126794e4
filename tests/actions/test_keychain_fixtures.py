"""Data-driven keychain cases (in the style of pyinfra's operation tests): one JSON file per case under
``fixtures/keychain/``: keychain items and the step's parameters in, the planned items, delete verbs, notes
and the keychain left after a real apply out.

Fixture format::

    {
      "description": "...",
      "action": "keychain.purge_matching" | "keychain.delete_exact",
      "params": "cause6" (the shipped playbook's step) | {... the step's params ...},
      "keychain": [items of alice's login keychain, in the simulated Mac's JSON form, with shorthands],
      "identity_preferences": {service: certificate label},       (optional)
      "system": [items of the System keychain],                   (optional; default: empty)
      "expect": {
        "planned": [labels of planned changes; "identity-preference <service>" for preferences],
        "verbs":   {label: security(1) verb of its delete},        (optional)
        "notes":   [texts some plan note must contain],
        "survive": [item ids still there after apply],            (optional)
        "gone":    [item ids removed besides the planned ones],   (optional)
        "preferences_left": [services still set after apply]      (optional; default: none)
      }
    }

Shorthands: ``labl`` and ``acct`` default to ``svce`` (genp) / ``srvr`` (inet); a certificate's hashes are
derived from its label; ``"pair": "<name>"`` ties a certificate's ``hpky`` to keys' ``klbl``. An item id is its
label (falling back to service/server), plus ``/private`` or ``/public`` for keys.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cleanup.engine.loader import parse_playbook
from tests.support.simmac import SYSTEM_KC, item_label, login_kc

FIXTURES = Path(__file__).parent / "fixtures" / "keychain"
CASES = sorted(FIXTURES.glob("*.json"))
ACTION_STEP = {"keychain.purge_matching": "purge-keychains", "keychain.delete_exact": "delete-keychain-entries"}


def _hex(seed: str, algo: str = "sha1") -> str:
    return hashlib.new(algo, seed.encode()).hexdigest().upper()


def _expand(item: dict) -> dict:
    it = dict(item)
    pair = it.pop("pair", None)
    cls = it["class"]
    if cls in ("genp", "inet"):
        name = it["svce"] if cls == "genp" else it["srvr"]
        it.setdefault("acct", name)
        it.setdefault("labl", name)
        it.setdefault("desc", None)
        it.setdefault("cdat", "20250608160530Z")
        it.setdefault("mdat", "20250608160530Z")
        it.setdefault("password", "secret")
        if cls == "inet":
            it.setdefault("ptcl", "htps")
            it.setdefault("path", "")
            it.setdefault("port", 0)
    elif cls == "cert":
        label = it["labl"]
        it.setdefault("alis", label)
        it.setdefault("subject_cn", label)
        it.setdefault("sha1", _hex("sha1:" + label))
        it.setdefault("sha256", _hex("sha256:" + label, "sha256"))
        it.setdefault("hpky", _hex("pair:" + (pair or label)))
        it.setdefault("snbr", _hex("snbr:" + label)[:32])
    elif cls == "key":
        it.setdefault("klbl", _hex("pair:" + (pair or it["labl"])))
    return it


def item_id(item: dict) -> str:
    return f"{item_label(item)}/{item['key_kind']}" if item["class"] == "key" else item_label(item)


def _toml_value(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)  # a JSON string is a valid TOML basic string for these texts


def _playbook_text(action: str, params: dict) -> str:
    lines = [
        "[playbook]",
        'name = "fixture"',
        "",
        "[[steps]]",
        f'id = "{ACTION_STEP[action]}"',
        "number = 7",
        'title = "fixture step"',
        f'action = "{action}"',
        'acts_on = "device"',
        "destructive = true",
    ]
    for key, tables in params.items():
        for table in tables:
            lines += ["", f"[[steps.params.{key}]]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _change_label(change) -> str:
    if change.kind == "clear-identity-preference":
        return "identity-preference " + change.details["service"]
    d = change.details
    return d.get("labl") or d.get("svce") or d.get("srvr") or ""


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_keychain_case(case, sim_mac):
    spec = json.loads(case.read_text())
    expect = spec["expect"]
    mac = sim_mac(users=["alice"], logged_out=[])

    items = [_expand(i) for i in spec["keychain"]]
    by_label = {i["labl"]: i for i in items if i["class"] == "cert"}
    prefs = {svc: by_label[label]["sha1"] for svc, label in spec.get("identity_preferences", {}).items()}
    mac.write_keychain(login_kc("alice"), {"format": "simkeychain/1", "owner": "alice", "items": items, "identity_preferences": prefs})
    mac.write_keychain(
        SYSTEM_KC, {"format": "simkeychain/1", "owner": "root", "items": [_expand(i) for i in spec.get("system", [])], "identity_preferences": {}}
    )

    if spec["params"] == "cause6":
        step = mac.step(ACTION_STEP[spec["action"]])
    else:
        step = parse_playbook(_playbook_text(spec["action"], spec["params"]), case.name).steps[0]
    assert step.action == spec["action"]

    ctx = mac.context()
    plan = mac.plan(ctx, step)

    assert sorted(_change_label(c) for c in plan.changes) == sorted(expect["planned"]), plan.notes
    for label, verb in expect.get("verbs", {}).items():
        change = next(c for c in plan.changes if _change_label(c) == label)
        assert change.details["argv"][1] == verb, change.details["argv"]
    for text in expect["notes"]:
        assert any(text in n for n in plan.notes), (text, plan.notes)
    assert not plan.blocked

    mac.apply_all(ctx, step, plan)
    after = mac.keychain(login_kc("alice"))

    planned_items = [i for i in items if item_id(i) in set(expect["planned"])]
    assert len(planned_items) == len([p for p in expect["planned"] if not p.startswith("identity-preference ")])
    gone = {id(i) for i in planned_items} | {id(i) for i in items if item_id(i) in set(expect.get("gone", []))}
    assert [i for i in items if id(i) not in gone] == after["items"]  # all the rest, unchanged and in order
    left_ids = {item_id(i) for i in after["items"]}
    for name in expect.get("survive", []):
        assert name in left_ids or f"{name}/private" in left_ids or f"{name}/public" in left_ids, name
    assert sorted(after["identity_preferences"]) == sorted(expect.get("preferences_left", []))
