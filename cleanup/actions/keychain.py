"""Steps 7 and 8: keychain items of Microsoft, Intune, Company Portal and Workplace Join.

Step 7 removes what a broad rule matches (never the JAMF keys); step 8 removes exact items and clears
identity preferences. Login keychains are changed as their user; a locked one blocks the step.
"""

from __future__ import annotations

from cleanup.actions.keychain_delete import (
    check_keychain_path,
    delete_confirmed,
    owner_of,
)
from cleanup.actions.keychain_items import (
    SECURITY,
    KeychainView,
    describe,
    fold,
    in_parallel,
    is_locked,
    item_text,
    locked_reason,
    paired_private_key,
    plan_deletions,
    read_all,
    runner,
)
from cleanup.actions.scope import keychain_text_problem
from cleanup.engine.action import Action, ActsOn, Outcome, Param, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import ChangeBlocked, StepFailed
from cleanup.parsers.security import ITEM_NOT_FOUND, parse_identity_preference_sha1

FIELDS = ("labl", "svce", "acct", "srvr", "desc", "alis", "subject_cn", "issuer_cn")
CLASSES = ("genp", "inet", "cert", "key")


def _subset(allowed):
    def check(values):
        bad = [v for v in values if v not in allowed]
        return f"unknown value(s) {bad}; allowed: {', '.join(allowed)}" if bad else None

    return check


_RULE = {
    "name": Param("str", required=True),
    "contains": Param("str_list", required=True, help="case-insensitive text any matched field contains"),
    "fields": Param("str_list"),
    "classes": Param("str_list"),
}


def _rule_check(rule: dict) -> str | None:
    for key, allowed in (("fields", FIELDS), ("classes", CLASSES)):
        if key in rule:
            msg = _subset(allowed)(rule[key])
            if msg:
                return f"{key}: {msg}"
    if not rule["contains"] or any(not c.strip() for c in rule["contains"]):
        return "contains: needs at least one non-empty text"
    return None


def _delete_rule_check(rule: dict) -> str | None:
    """A rule that deletes what it matches: every text inside the article's scope (a protect rule may be anything)."""
    problem = _rule_check(rule)
    if problem:
        return problem
    for n, text in enumerate(rule["contains"]):
        if (why := keychain_text_problem(text)) is not None:
            return f"contains[{n}]: {why}"
    return None


def _rule_matches(rule: dict, item) -> str | None:
    if rule.get("classes") and item.item_class not in rule["classes"]:
        return None
    for field, value in item_text(item).items():
        if rule.get("fields") and field not in rule["fields"]:
            continue
        for needle in rule["contains"]:
            if fold(needle) in fold(value):
                return f"rule {rule['name']!r}: {field}={value!r} contains {needle!r}"
    return None


def _run_change(ctx: RunContext, change: Change) -> Outcome:
    if change.kind == "delete-keychain-item":
        return delete_confirmed(ctx, change)
    d = change.details
    owner = owner_of(ctx, change)
    check_keychain_path(ctx.host, d["keychain"])
    run = runner(ctx.host, owner)
    res = run(d["argv"])
    if res.ok:
        # confirmed by reading the preference again, not by the command's silence
        still = run([SECURITY, "get-identity-preference", "-s", d["service"], "-Z", d["keychain"]])
        if still.ok and parse_identity_preference_sha1(still.stdout) == d.get("sha1"):
            raise StepFailed(f"{change.target}: security(1) reported it cleared, but it is still set")
        return Outcome.done("removed")
    if res.returncode == ITEM_NOT_FOUND:
        return Outcome.unchanged("already gone")
    if is_locked(res):
        raise ChangeBlocked(
            f"{change.details['keychain']} is locked; {change.target} stays until its user logs in", waiting_for=f"login:{owner.name}" if owner else None
        )
    raise StepFailed(f"security failed on {change.target} (exit {res.returncode}): {res.stderr.strip()[:200]}")


@register
class PurgeMatching(Action):
    name = "keychain.purge_matching"
    summary = "Remove keychain items a rule matches (Microsoft, Intune, Company Portal, JAMF references), keeping protected ones"
    acts_on = ActsOn.DEVICE
    destructive = True
    params = {
        "rules": Param("table_list", required=True, item=_RULE, check=_delete_rule_check),
        "protect": Param("table_list", default=[], item=_RULE, check=_rule_check),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        plan = StepPlan()
        for view in read_all(ctx, plan.notes):
            if view.locked:
                plan.blocked.append(locked_reason(view))
                plan.waiting_for += [f"login:{view.owner.name}"] if view.owner else []
                continue
            chosen = []
            for item in view.items:
                why = next((m for r in step.params["rules"] if (m := _rule_matches(r, item))), None)
                if not why:
                    continue
                guard = next((m for r in step.params["protect"] if (m := _rule_matches(r, item))), None)
                if guard:
                    plan.notes.append(f"kept {describe(item)} in {view.who}: protected by {guard}")
                    continue
                chosen.append((item, why))
            changes, notes = plan_deletions(view, chosen)
            plan.changes += changes
            plan.notes += notes
        if not plan.changes and not plan.blocked:
            plan.noop_reason = "no keychain item matches the rules"
        return plan

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        return _run_change(ctx, change)


_ITEM = {
    "kind": Param("str", required=True),
    "account": Param("str"),
    "service": Param("str"),
    "label": Param("str"),
    "issuer": Param("str"),
}
_KINDS = {
    "generic-password": ("account", "service", "label"),
    "internet-password": ("account", "service", "label"),
    "certificate": ("issuer",),
    "identity-preference": ("service",),
}


def _item_check(item: dict) -> str | None:
    kind = item["kind"]
    if kind not in _KINDS:
        return f"kind: unknown kind {kind!r}; allowed: {', '.join(_KINDS)}"
    allowed = _KINDS[kind]
    extra = [k for k in item if k != "kind" and k not in allowed]
    if extra:
        return f"{extra[0]}: not used by kind {kind!r} (uses {', '.join(allowed)})"
    if not any(item.get(k) for k in allowed):
        return f"kind {kind!r} needs one of {', '.join(allowed)}"
    if kind == "identity-preference" and not item["service"].startswith("https://"):
        return "service: an identity preference service is an https:// URL"
    for key in allowed:
        if item.get(key) and (why := keychain_text_problem(item[key])) is not None:
            return f"{key}: {why}"
    return None


def _exact_match(spec: dict, item) -> bool:
    kind = spec["kind"]
    if kind == "certificate":
        return item.item_class == "cert" and (item.issuer_cn or "").casefold() == spec["issuer"].casefold()
    cls = "genp" if kind == "generic-password" else "inet"
    if item.item_class != cls:
        return False
    attrs = {"account": "acct", "service": "svce" if cls == "genp" else "srvr", "label": "labl"}
    return all(item.get(attrs[k]) == spec[k] for k in attrs if spec.get(k))


def _spec_text(spec: dict) -> str:
    return spec["kind"] + " " + ", ".join(f"{k}={v!r}" for k, v in spec.items() if k != "kind")


@register
class DeleteExact(Action):
    name = "keychain.delete_exact"
    summary = "Remove exactly listed keychain items and clear identity preferences"
    acts_on = ActsOn.DEVICE
    destructive = True
    params = {"items": Param("table_list", required=True, item=_ITEM, check=_item_check)}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        plan = StepPlan()
        specs = step.params["items"]
        views = read_all(ctx, plan.notes)
        prefs = in_parallel(lambda v: [] if v.locked else self._identity_preferences(ctx, v, specs), views)
        for view, view_prefs in zip(views, prefs, strict=True):
            if view.locked:
                plan.blocked.append(locked_reason(view))
                plan.waiting_for += [f"login:{view.owner.name}"] if view.owner else []
                continue
            chosen = []
            for item in view.items:
                spec = next((s for s in specs if s["kind"] != "identity-preference" and _exact_match(s, item)), None)
                if spec:
                    chosen.append((item, "exact item: " + _spec_text(spec)))
            changes, notes = plan_deletions(view, chosen, keys_go_with_certs=True)
            # Preferences first: once their certificate is gone, security(1) no longer shows them.
            plan.changes += view_prefs
            plan.changes += changes
            plan.notes += notes
            plan.notes += self._invisible_keys(view, chosen)
        if not plan.changes and not plan.blocked:
            plan.noop_reason = "none of the listed items is present"
        return plan

    @staticmethod
    def _invisible_keys(view: KeychainView, chosen) -> list[str]:
        notes = []
        for item, _ in chosen:
            if item.item_class == "cert" and paired_private_key(view, item) is None:
                notes.append(
                    f"the private key of certificate {item.get('labl')!r} in {view.who} is not visible to security(1) "
                    "(newer registrations keep it in the Secure Enclave); only the certificate is removed"
                )
        return notes

    @staticmethod
    def _identity_preferences(ctx: RunContext, view: KeychainView, specs) -> list[Change]:
        run = runner(ctx.host, view.owner)
        changes = []
        for spec in specs:
            if spec["kind"] != "identity-preference":
                continue
            svc = spec["service"]
            res = run([SECURITY, "get-identity-preference", "-s", svc, "-Z", view.path])
            if res.returncode == ITEM_NOT_FOUND:
                continue
            if not res.ok:
                raise StepFailed(f"cannot read the identity preference {svc} in {view.who} (exit {res.returncode})")
            sha1 = parse_identity_preference_sha1(res.stdout)
            changes.append(
                Change(
                    key=f"identity-preference:{view.path}:{svc}",
                    kind=ChangeKind.CLEAR_IDENTITY_PREFERENCE,
                    target=f"identity preference {svc} ({view.who})",
                    details={
                        "keychain": view.path,
                        "owner": view.owner.name if view.owner else None,
                        "service": svc,
                        "sha1": sha1,
                        "matched": "exact item: " + _spec_text(spec),
                        "argv": [SECURITY, "set-identity-preference", "-n", "-s", svc, view.path],
                    },
                )
            )
        return changes

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        return _run_change(ctx, change)
