"""One gate for every Graph request of a batch: Intune's write limit kept without being hit, and a 429
anywhere slows the whole batch down instead of each worker retrying on its own.

Intune's published limit is per app per tenant: 200 writes per 20 s (the emulator scales it down). The gate keeps
a sliding log of writes (a DELETE of a managedDevice, or each such item inside a ``$batch``), so no 20-second
interval ever holds more than the limit; and when any response says 429 or 503 with ``Retry-After``, every
worker waits that long before its next request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

INTUNE_PATH = "/deviceManagement/managedDevices"


def intune_writes(method: str, url: str, json: Any) -> int:
    if method.upper() != "GET" and INTUNE_PATH in url and "$batch" not in url:
        return 1
    if url.rstrip("/").endswith("$batch") and isinstance(json, dict):
        return sum(1 for r in json.get("requests") or []
                   if isinstance(r, dict) and str(r.get("method", "GET")).upper() != "GET" and INTUNE_PATH in str(r.get("url", "")))
    return 0


class Gate:
    def __init__(self, write_limit: int = 200, window: float = 20.0, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.write_limit = write_limit
        self.window = window
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
                    while self._writes and self._writes[0] <= now - self.window:
                        self._writes.popleft()
                    if len(self._writes) + need <= self.write_limit:
                        self._writes.extend([now] * need)
                        return
                    wait = self._writes[len(self._writes) + need - self.write_limit - 1] + self.window - now
            wait = max(wait, 0.001)
            self.waited += wait
            self._sleep(wait)
