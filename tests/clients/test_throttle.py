"""The batch's Graph gate: Intune's write limit kept with a margin (fake clock), and against the emulator's
fixed window no write is answered 429."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cleanup.clients.throttle import Gate, intune_writes

DELETE = ("DELETE", "https://graph.example/v1.0/deviceManagement/managedDevices/1")


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def gate(limit=3, window=1.0, **kw) -> tuple[Gate, FakeClock]:
    clock = FakeClock()
    return Gate(limit, window, clock=clock, sleep=clock.sleep, **kw), clock


def test_margin_default_and_keyword():
    assert Gate(200, 2.0).margin == pytest.approx(0.05)  # at least 50 ms
    assert Gate(200, 20.0).margin == pytest.approx(0.4)  # 2 % of Intune's real window
    assert Gate(3, 1.0, margin=0).margin == 0
    assert Gate(write_limit=3, window=1.0).write_limit == 3  # the old signature still works


@pytest.mark.parametrize("margin", [0.0, 0.05, 0.3])
def test_write_limit_plus_one_waits_a_window_and_the_margin(margin):
    g, clock = gate(margin=margin)
    for _ in range(3):
        g.before(*DELETE)
    assert clock.sleeps == []
    g.before(*DELETE)
    assert clock.now == pytest.approx(101.0 + margin)  # the 4th write: a window and the margin after the 1st
    clock.now += 0.5
    g.before(*DELETE)  # the 5th and 6th: the first three writes have left the log
    g.before(*DELETE)
    assert clock.now == pytest.approx(101.5 + margin)
    g.before(*DELETE)  # the 7th: one window and margin after the 4th
    assert clock.now == pytest.approx(102.0 + 2 * margin)


def test_reads_are_not_counted_and_a_batch_needs_room_for_all_its_writes():
    g, clock = gate(limit=4, window=2.0, margin=0.1)
    for _ in range(10):
        g.before("GET", "https://graph.example/v1.0/deviceManagement/managedDevices?$filter=x")
    assert clock.sleeps == []
    items = {
        "requests": [{"id": str(n), "method": "DELETE", "url": f"/deviceManagement/managedDevices/{n}"} for n in range(3)]
        + [{"id": "e", "method": "DELETE", "url": "/devices/x"}]
    }
    assert intune_writes("POST", "https://graph.example/v1.0/$batch", items) == 3
    g.before("POST", "https://graph.example/v1.0/$batch", items)
    clock.now += 1.0
    g.before("POST", "https://graph.example/v1.0/$batch", items)  # 3 + 3 > 4: waits until the 1st batch's writes free
    assert clock.now == pytest.approx(102.1)


def test_throttled_holds_every_request():
    g, clock = gate(margin=0.0)
    g.throttled(2.0)
    g.before("GET", "https://graph.example/v1.0/devices")
    assert clock.now == pytest.approx(102.0) and g.throttle_events == 1


# -- against the emulator ---------------------------------------------------------------------------------


def test_sixteen_threads_deleting_through_the_gate_get_no_429(lab):
    """The emulator counts Intune writes in a fixed window from the first write it receives; requests arrive
    some ms after the gate let them go. With the margin no write lands in the previous window."""
    from cleanup.clients.session import CloudSession
    from tests.support.clienthelpers import cloud_parts

    records = [lab.tenant.add_intune_device(f"GATE{n:08d}", f"GATE-{n}", "") for n in range(120)]
    # the margin covers the spread of the requests' delays: on a 2-core machine with the other test worker busy
    # beside it, that spread went past the 50 ms default for a 1 s window (5 writes answered 429). With no margin
    # at all this test fails even on an idle machine.
    g = Gate(40, 1.0, margin=0.25)
    cloud = CloudSession(*cloud_parts(lab), gate=g)
    try:
        graph = cloud.graph
        # a connection per thread is kept: none opened anew per request (and none waiting out a dropped SYN)
        assert graph.http.session.get_adapter(lab.url)._pool_maxsize >= 16
        graph.provider.token()
        lab.faults.update({"intune_write_limit": 40, "intune_window": 1.0})
        start = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda r: graph.delete_managed_device(r.id), records))
        elapsed = time.monotonic() - start
    finally:
        cloud.close()
    assert results == [True] * 120 and all(r.id not in lab.tenant.intune for r in records)
    assert g.throttle_events == 0  # no write was answered 429 (each would have paused the whole gate)
    assert elapsed >= 2 * 1.0  # 120 writes at 40 per window: at least two windows after the first 40
