"""One gate for every Graph request of a batch: Intune's write limit kept without being hit, and a 429
anywhere slows the whole batch down instead of each worker retrying on its own.

Intune's published limit is per app per tenant: 200 writes per 20 s (the emulator scales it down). The gate keeps
a sliding log of writes (a DELETE of a managedDevice, or each such item inside a ``$batch``), so no interval of
``window + margin`` seconds ever holds more than the limit; and when any response says 429 or 503 with
``Retry-After``, every worker waits that long before its next request.

The margin: the service counts writes in its own window, which starts when the first write *arrives*, and a
write arrives some time after the gate let it go (the request's way there and through the server; more under
load, and not the same for every request). Write ``i + limit`` let go exactly ``window`` after write ``i`` can
then arrive before the service's window ended, and is answered 429 with ``Retry-After`` >= 1 s, which pauses the
whole batch. Keeping ``window + margin`` apart needs the margin to exceed the spread of those delays.

The default, ``max(0.05 s, 2 % of window)``, costs 2.5 % of the write rate at the emulator's 200 per 2 s, and
0.4 s per window at Intune's 20 s, where a real network's spread is larger. Measured with the batch benchmark
(1,000 Macs x 2 Intune deletes, 200 per 2 s, 32 workers, 30 ms latency): without a margin 8-22 writes per run
were answered 429 (arriving up to 5 ms before the server's window ended; up to 47 ms while requests past the
Graph connection pool's size still opened new TLS connections) and the delete phase took ~22.5 s; with 50 ms
none in 10 runs, each window's first write arriving 46-54 ms after the previous window ended, and ~20.0 s.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

INTUNE_PATH = "/deviceManagement/managedDevices"


def intune_writes(method: str, url: str, json: Any) -> int:
    if method.upper() != "GET" and INTUNE_PATH in url and "$batch" not in url:
        return 1
    if url.rstrip("/").endswith("$batch") and isinstance(json, dict):
        return sum(
            1
            for r in json.get("requests") or []
            if isinstance(r, dict) and str(r.get("method", "GET")).upper() != "GET" and INTUNE_PATH in str(r.get("url", ""))
        )
    return 0


MIN_MARGIN = 0.05  # seconds
MARGIN_SHARE = 0.02  # of the window


def default_margin(window: float) -> float:
    return max(MIN_MARGIN, MARGIN_SHARE * window)


class Gate:
    def __init__(
        self,
        write_limit: int = 200,
        window: float = 20.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float | None = None,
    ):
        self.write_limit = write_limit
        self.window = window
        #: extra seconds between a write and the one ``write_limit`` later (see the module docstring)
        self.margin = default_margin(window) if margin is None else max(0.0, float(margin))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._writes: deque[float] = deque()
        self._paused_until = 0.0
        self.throttle_events = 0
        self.waited = 0.0

    def throttled(self, seconds: float) -> None:
        """A 429/503 was seen: hold every request of the batch for ``seconds``."""
        with self._lock:
            self.throttle_events += 1
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    def before(self, method: str, url: str, json: Any = None) -> None:
        """Block until the request may go: no throttling pause, and room for its Intune writes."""
        need = min(intune_writes(method, url, json), self.write_limit)
        while True:
            with self._lock:
                now = self._clock()
                wait = self._paused_until - now
                if wait <= 0:
                    span = self.window + self.margin
                    while self._writes and self._writes[0] <= now - span:
                        self._writes.popleft()
                    if len(self._writes) + need <= self.write_limit:
                        self._writes.extend([now] * need)
                        return
                    wait = self._writes[len(self._writes) + need - self.write_limit - 1] + span - now
            wait = max(wait, 0.001)
            self.waited += wait
            self._sleep(wait)
