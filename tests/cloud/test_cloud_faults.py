"""Throttling storms, server errors, dropped connections and expiring tokens: the run still ends with exactly
the right deletes, each object deleted once."""

from __future__ import annotations

import pytest

from cleanup.lab.tenant import Faults
from tests.support.cloudlab import expected_deletes
from tests.support.lab import drive_cli

CLOUD_ONLY = ("--yes", "--wait-seconds", "0", "--to", "delete-intune-records")


@pytest.mark.slow
def test_429_storms_5xx_and_dropped_connections_end_with_exactly_the_right_deletes(make_lab, state_dir):
    faults = Faults(rate_429=0.2, retry_after=0, rate_5xx=0.1, drop_rate=0.05, seed=7)
    lab = make_lab("intune-duplicates", faults=faults)
    want = expected_deletes(lab)
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", lab.serial, *CLOUD_ONLY], lab.env(), state_dir)
    for _ in range(3):  # a request that kept failing past its retry budget stops the run; the operator resumes
        if res.returncode != 1 or "attempts" not in res.stderr:
            break
        res, more = drive_cli(["resume", "--latest"], lab.env(), state_dir)
        outs += more
    assert res.returncode == 0, [o.stderr for o in outs]
    got = lab.deleted()
    assert set(got) == want and len(got) == len(want)
    stats = lab.server.stats()
    assert stats["total"] > len(want) * 2  # faults really happened and were retried


def test_tokens_expiring_mid_run_are_renewed(make_lab, state_dir):
    faults = Faults(graph_token_lifetime=1, jamf_token_lifetime=1, latency_ms=150)
    lab = make_lab("intune-duplicates", faults=faults)
    want = expected_deletes(lab)
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", lab.serial, *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert sorted(lab.deleted()) == sorted(want)
    assert lab.server.stats()["tokens"] >= 3  # more than one token per service was needed


def test_eventual_consistency_does_not_cause_a_second_delete(make_lab, state_dir):
    lab = make_lab("intune-duplicates", faults=Faults(consistency_delay=30))
    want = expected_deletes(lab)
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", lab.serial, *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    # a second run still sees the deleted objects in lists; it must re-read them and find them gone
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", lab.serial, *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert sorted(lab.deleted()) == sorted(want)
