"""Steps 7 and 8: keychain items of Microsoft, Intune, Company Portal and Workplace Join.

Step 7 removes what its rules match: what the registration uses, never the JAMF keys, never what a ``protect``
rule names (the users' own data, each with its reason); the article's literal wording ("everything that
references Microsoft") is a rule marked ``literal``, applied only when the step says ``literal = true``. Step 8
removes exact items and clears identity preferences. Login keychains are changed as their user; a locked one
blocks the step, and in a real run the console user is told who must log in (docs/notifications.md).
"""

from __future__ import annotations

from cleanup.actions import notices
from cleanup.actions.keychain_delete import (
    check_keychain_path,
    delete_confirmed,
    owner_of,
)
from cleanup.actions.keychain_items import (
    SECURITY,
    KeychainView,
    block_locked,
    describe,
    fold,
    in_parallel,
    item_text,
    locked_failure,
    paired_private_key,
    plan_deletions,
    read_all,
    runner,
)
from cleanup.actions.registration_model import psso_in_use
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
    "literal": Param("bool", default=False, help="the article's literal wording: this rule removes only when the step says literal = true"),
}
_PROTECT = {
    "name": Param("str", required=True),
    "contains": Param("str_list", help="case-insensitive text any matched field contains"),
    "fields": Param("str_list"),
    "classes": Param("str_list"),
    "not_issued_by": Param("str_list", help="only certificates whose issuer contains none of these texts"),
    "reason": Param("str", help="what the item protects: the dry-run shows it with the kept item"),
    "user_data": Param("bool", default=False, help="the users' own data: literal = true removes it, and the dry-run shows each as a user-data loss"),
    "platform_sso": Param("bool", default=False, help="holds only on a Mac where Platform SSO is in use (what it needs there)"),
}


def _fields_check(rule: dict) -> str | None:
    for key, allowed in (("fields", FIELDS), ("classes", CLASSES)):
        if key in rule:
            msg = _subset(allowed)(rule[key])
            if msg:
                return f"{key}: {msg}"
    return None


def _texts_check(rule: dict, key: str) -> str | None:
    if key in rule and (not rule[key] or any(not c.strip() for c in rule[key])):
        return f"{key}: needs at least one non-empty text"
    return None


def _delete_rule_check(rule: dict) -> str | None:
    """A rule that deletes what it matches: every text inside the article's scope (a protect rule may be anything)."""
    problem = _fields_check(rule) or _texts_check(rule, "contains")
    if problem:
        return problem
    for n, text in enumerate(rule["contains"]):
        if (why := keychain_text_problem(text)) is not None:
            return f"contains[{n}]: {why}"
    return None


def _protect_check(rule: dict) -> str | None:
    problem = _fields_check(rule) or _texts_check(rule, "contains") or _texts_check(rule, "not_issued_by")
    if problem:
        return problem
    if "contains" not in rule and "not_issued_by" not in rule:
        return "a protect rule needs contains or not_issued_by (or it would keep everything)"
    if "not_issued_by" in rule and rule.get("classes", ["cert"]) != ["cert"]:
        return 'not_issued_by: only certificates have an issuer (classes = ["cert"])'
    if rule.get("user_data") and not (rule.get("reason") or "").strip():
        return "reason: a user_data rule says what the item protects (the dry-run shows it)"
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


def _protect_matches(rule: dict, item) -> bool:
    if rule.get("classes") and item.item_class not in rule["classes"]:
        return False
    if "not_issued_by" in rule:
        issuer = fold(item.issuer_cn or "")
        if item.item_class != "cert" or any(fold(t) in issuer for t in rule["not_issued_by"]):
            return False
    return "contains" not in rule or _rule_matches(rule, item) is not None


def _kept(rule: dict) -> str:
    reason = (rule.get("reason") or "").strip()
    return f"protected by rule {rule['name']!r}" + (f": {reason}" if reason else "")


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
    if locked_failure(ctx, owner, res):
        raise ChangeBlocked(f"{d['keychain']} is locked; {change.target} stays until its user logs in", waiting_for=f"login:{owner.name}" if owner else None)
    if res.returncode == ITEM_NOT_FOUND:
        return Outcome.unchanged("already gone")
    raise StepFailed(f"security failed on {change.target} (exit {res.returncode}): {res.stderr.strip()[:200]}")


def ask_to_log_in(ctx: RunContext, plan: StepPlan) -> None:
    """A real run that a locked login keychain blocks tells the console user who must log in; what came of it goes
    with the blocker (the step's outcome) and its notes."""
    notices.record(ctx)
    waiting = [w.removeprefix("login:") for w in plan.waiting_for if w.startswith("login:")]
    told = notices.tell(ctx, "login", user=" and ".join(dict.fromkeys(waiting))) if waiting else None
    if told is not None:
        plan.blocked[-1] = notices.with_told(plan.blocked[-1], told)
        plan.notes.append(f"the person at the Mac: {told.text()}")


@register
class PurgeMatching(Action):
    name = "keychain.purge_matching"
    summary = "Remove keychain items the registration uses (Company Portal, Workplace Join, Entra device login, jamfAAD), keeping the users' own data"
    acts_on = ActsOn.DEVICE
    destructive = True
    params = {
        "rules": Param("table_list", required=True, item=_RULE, check=_delete_rule_check),
        "protect": Param("table_list", default=[], item=_PROTECT, check=_protect_check),
        "literal": Param("bool", default=False, help="the article's literal step 7: rules marked literal remove too, and user_data protection no longer holds"),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        plan = StepPlan()
        params = dict(step.params)
        psso = psso_in_use(ctx)
        params["protect"] = [r for r in step.params["protect"] if psso or not r.get("platform_sso")]
        if psso:
            plan.notes.append(
                "Platform SSO is in use on this Mac: its device keys are in the Secure Enclave and its tokens in the data-protection keychain "
                "(~/Library/Keychains/<hardware UUID>), which this step never reads or changes; in the login keychains, the items of its SSO "
                "extension and broker are kept (the protect rules marked platform_sso)"
            )
        for view in read_all(ctx, plan.notes):
            changes, notes = self._view_plan(view, params)
            if view.locked:
                block_locked(plan, view, changes, notes)
                continue
            plan.changes += changes
            plan.notes += notes
        if not plan.changes and not plan.blocked:
            plan.noop_reason = "no keychain item matches the rules"
        ask_to_log_in(ctx, plan)
        return plan

    @staticmethod
    def _view_plan(view: KeychainView, params: dict) -> tuple[list[Change], list[str]]:
        literal = params.get("literal", False)
        rules = [r for r in params["rules"] if not r.get("literal")]
        wording = [r for r in params["rules"] if r.get("literal")]
        chosen: list = []
        notes: list[str] = []
        losses: dict[int, str] = {}
        for item in view.items:
            why = next((m for r in rules if (m := _rule_matches(r, item))), None)
            worded = None if why else next((m for r in wording if (m := _rule_matches(r, item))), None)
            if not why and not worded:
                continue
            guard = next((r for r in params["protect"] if _protect_matches(r, item)), None)
            if guard is not None and literal and guard.get("user_data"):
                losses[id(item)] = reason = guard["reason"].strip()
                chosen.append((item, f"user-data loss ({reason}); {why or worded}"))
            elif guard is not None:
                notes.append(f"kept {describe(item)} in {view.who}: {_kept(guard)}")
            elif why or literal:
                chosen.append((item, why or worded))
            else:
                notes.append(
                    f"kept {describe(item)} in {view.who}: none of what the registration uses; only the article's literal step 7 "
                    f"(literal = true) removes it ({worded})"
                )
        changes, more = plan_deletions(view, chosen, losses=losses)
        lost = [c for c in changes if "user_data_loss" in c.details]
        notes += [f"user-data loss: {c.target} is removed because the step is literal: {c.details['user_data_loss']}" for c in lost]
        return changes, notes + more

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
            chosen = []
            for item in view.items:
                spec = next((s for s in specs if s["kind"] != "identity-preference" and _exact_match(s, item)), None)
                if spec:
                    chosen.append((item, "exact item: " + _spec_text(spec)))
            changes, notes = plan_deletions(view, chosen, keys_go_with_certs=True)
            notes += self._invisible_keys(view, chosen)
            if view.locked:
                block_locked(plan, view, changes, notes)
                continue
            # Preferences first: once their certificate is gone, security(1) no longer shows them.
            plan.changes += view_prefs
            plan.changes += changes
            plan.notes += notes
        if not plan.changes and not plan.blocked:
            plan.noop_reason = "none of the listed items is present"
        ask_to_log_in(ctx, plan)
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
