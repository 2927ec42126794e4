"""Which rung a diagnosis calls for: the lightest that fixes a finding, on the Mac's model; a failed rung is climbed
past and never tried again; the full reset only for what the lighter rungs cannot fix; nothing for the tenant's set-up."""

from cleanup.diagnose import model as M
from cleanup.repair.choice import choose, unverified
from cleanup.repair.rungs import LADDER, Mac, index

DC, PSSO, LEGACY = Mac(M.DEVICE_COMPLIANCE, "alice"), Mac(M.PLATFORM_SSO, "alice"), Mac(M.LEGACY, "alice")

STALE_TOKEN = M.JAMFAAD.problem("jamfAAD's last Azure token for alice is from 2025-06-08: older than 24 hours")
NO_AZURE_ID = M.JAMFAAD.problem("jamfAAD has no Azure id for alice", cause="not registered with Entra", remedy=M.REGISTER)
NOT_REGISTERED = M.WORKPLACE_JOIN.problem("no Workplace Join certificate", cause="not registered with Entra (after a reset, until step 13)", playbook=None)
CA_VALUES = M.MICROSOFT_CA.problem("microsoftCAEnabled is false")
APP_SSO = M.APP_SSO.problem("alice's Platform SSO state is POUserStateNeedsRegistration (2)")
MISMATCH = M.MISMATCH.problem("Intune reports the Mac compliant, Entra device … is not")
NO_LICENCE = M.CAUSE_3_TENANT.problem("no Intune licence in the tenant")
UNMATCHED = M.REGISTRATION_MATCH.problem("alice's registration names Entra device …, which Entra does not have")


def names(rungs):
    return [r.name for r in rungs]


def test_the_ladder_lightest_first():
    assert names(LADDER) == ["register", "jamf-manage", "psso-repair", "cause6"]
    assert [r.playbook for r in LADDER] == ["repair-register", "repair-jamf-manage", "repair-psso-repair", "cause6"]


def test_the_lightest_rung_that_fixes_a_finding_is_chosen():
    choice = choose([CA_VALUES, STALE_TOKEN], DC, tried=set())
    assert choice.rung.name == "register" and choice.targets == [STALE_TOKEN]
    assert names(choice.above) == ["cause6"]
    choice = choose([CA_VALUES], DC, tried=set())
    assert choice.rung.name == "jamf-manage" and choice.targets == [CA_VALUES] and names(choice.above) == ["cause6"]


def test_registering_a_user_without_a_registration_is_device_compliance_only():
    assert choose([NOT_REGISTERED, NO_AZURE_ID], DC, tried=set()).rung.name == "register"
    # the legacy integration registers through its Self Service policy: the full reset's step 13
    legacy = choose([NOT_REGISTERED], LEGACY, tried=set())
    assert legacy.rung.name == "cause6" and legacy.targets == [NOT_REGISTERED]


def test_the_platform_sso_repair_only_on_a_platform_sso_mac():
    assert choose([APP_SSO], PSSO, tried=set()).rung.name == "psso-repair"
    assert choose([APP_SSO], DC, tried=set()).rung is None  # n/a there: nothing to repair with the user


def test_findings_the_diagnosis_marks_for_the_reset_go_to_it():
    choice = choose([MISMATCH], LEGACY, tried=set())
    assert choice.rung.name == "cause6" and choice.rung.asks and choice.above == []


def test_a_failed_rung_is_climbed_past_and_a_tried_one_is_not_run_again():
    after_register = choose([STALE_TOKEN, CA_VALUES], DC, tried={"register"}, floor=index("register") + 1)
    assert after_register.rung.name == "jamf-manage"
    # the reset fixes what the lighter rungs fix; nothing in between does
    assert choose([STALE_TOKEN], DC, tried={"register"}, floor=index("register") + 1).rung.name == "cause6"
    assert choose([STALE_TOKEN], DC, tried={"register", "cause6"}, floor=len(LADDER)).stuck.startswith("no rung is left that fixes jamfaad-state")


def test_max_rung_stops_the_climb_below_the_reset():
    choice = choose([MISMATCH], LEGACY, tried=set(), top=index("psso-repair"))
    assert choice.rung is None and choice.over_max
    assert choice.stuck == "the rung that fixes compliance-mismatch is cause6, above --max-rung psso-repair"


def test_the_tenants_set_up_is_reported_never_reset():
    choice = choose([NO_LICENCE, STALE_TOKEN], DC, tried=set())
    assert choice.rung.name == "register" and choice.unfixable == [NO_LICENCE]
    alone = choose([NO_LICENCE], DC, tried=set())
    assert alone.rung is None and alone.stuck is None and alone.unfixable == [NO_LICENCE]


def test_a_registration_the_cloud_does_not_know_is_no_fix():
    register = LADDER[0]
    assert unverified(register, [UNMATCHED], DC) == [UNMATCHED]
    assert unverified(register, [CA_VALUES], DC) == []  # another rung's finding: not this one's verification


def test_a_users_old_token_is_the_registers_only_while_that_user_is_at_the_console():
    both = M.JAMFAAD.problem(
        "jamfAAD's last Azure token for alice is …",
        {"users": [{"user": "alice", "hours_since_token": 12990.0}, {"user": "bob", "hours_since_token": 12990.0}]},
    )
    bob = M.JAMFAAD.problem(
        "jamfAAD's last Azure token for bob is …", {"users": [{"user": "alice", "hours_since_token": 0.5}, {"user": "bob", "hours_since_token": 12990.0}]}
    )
    assert choose([both], DC, tried=set()).rung.name == "register"
    # bob is not logged in: nothing that runs in a session helps him, and no reset either; he signs in (the article's remedy)
    alone = choose([bob], DC, tried=set())
    assert alone.rung is None and alone.unfixable == [bob]
    assert unverified(LADDER[0], [bob], DC) == []
    assert choose([both], Mac(M.DEVICE_COMPLIANCE, None), tried=set()).rung is None  # nobody at the console
