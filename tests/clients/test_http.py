"""HttpClient against a real loopback HTTPS server (real requests, real TLS, scripted responses)."""

from __future__ import annotations

import email.utils
import os
import socket
import ssl
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from cleanup import __version__
from cleanup.clients.http import (
    HttpClient,
    HttpSettings,
    ServiceError,
    parse_retry_after,
    redact_url,
)
from cleanup.errors import CleanupError
from cleanup.lab.tenant.tls import make_test_ca


class Script:
    """Per-path queues of (status, headers, delay); the last entry repeats. Records what arrived."""

    def __init__(self):
        self.lock = threading.Lock()
        self.plans: dict[str, list[tuple[int, dict, float]]] = {}
        self.seen: dict[str, list[dict]] = {}

    def plan(self, path: str, *steps):
        norm = [(s, {}, 0.0) if isinstance(s, int) else (s[0], s[1], s[2] if len(s) > 2 else 0.0) for s in steps]
        with self.lock:
            self.plans[path] = norm
            self.seen[path] = []

    def next(self, path: str, headers: dict):
        with self.lock:
            self.seen.setdefault(path, []).append(headers)
            steps = self.plans.get(path) or [(404, {}, 0.0)]
            return steps.pop(0) if len(steps) > 1 else steps[0]

    def hits(self, path: str) -> int:
        return len(self.seen.get(path, []))


def make_handler(script: Script):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers, delay = script.next(path, dict(self.headers))
            if delay:
                time.sleep(delay)
            body = b'{"ok": true}' if status < 400 else b'{"error": "scripted"}'
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout test)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("other-ca"))


@pytest.fixture(scope="module")
def server(ca):
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(script))
    httpd.daemon_threads = True
    httpd.socket = ca.server_context().wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    script.base = f"https://127.0.0.1:{httpd.server_address[1]}"
    yield script
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def unrelated_env_bundle(monkeypatch, other_ca):
    """Point REQUESTS_CA_BUNDLE at a CA that did not sign the server, as on machines with a corporate bundle."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_ca.ca_pem))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other_ca.ca_pem))


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def client(ca, sleeps, **settings):
    kwargs = {k: settings.pop(k) for k in ("clock", "wall_clock", "rand") if k in settings}
    s = HttpSettings(ca_bundle=str(ca.ca_pem), timeout=(2, 5), **settings)
    return HttpClient(s, sleep=sleeps, **kwargs)


# -- TLS material ------------------------------------------------------------------------------------


def test_test_ca_files(ca):
    assert ca.ca_pem.is_file() and ca.server_pem.is_file()
    assert stat.S_IMODE(ca.server_key.stat().st_mode) == 0o600
    assert isinstance(ca.server_context(), ssl.SSLContext)


# -- happy path and headers ---------------------------------------------------------------------------


def test_ok_sends_user_agent_and_headers(server, ca):
    server.plan("/ok", 200)
    sleeps = Sleeps()
    r = client(ca, sleeps).send("get", server.base + "/ok", headers={"X-Test": "1"})
    assert r.status_code == 200 and r.json() == {"ok": True}
    seen = server.seen["/ok"][0]
    assert seen["User-Agent"] == f"cleanup/{__version__}"
    assert seen["X-Test"] == "1"
    assert sleeps == []


# -- throttling ---------------------------------------------------------------------------------------


def test_429_retry_after_seconds(server, ca):
    server.plan("/throttle", (429, {"Retry-After": "2"}), 200)
    sleeps = Sleeps()
    r = client(ca, sleeps).send("GET", server.base + "/throttle")
    assert r.status_code == 200
    assert sleeps == [2]
    assert server.hits("/throttle") == 2


def test_503_retry_after_http_date(server, ca):
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    server.plan("/busy", (503, {"Retry-After": date}), 200)
    sleeps = Sleeps()
    r = client(ca, sleeps, wall_clock=lambda: now).send("DELETE", server.base + "/busy")
    assert r.status_code == 200
    assert sleeps == [7]


def test_retry_after_beyond_budget_gives_up_without_waiting(server, ca):
    server.plan("/longwait", (429, {"Retry-After": "100"}), 200)
    sleeps = Sleeps()
    with pytest.raises(ServiceError) as ei:
        client(ca, sleeps, max_total_seconds=60).send("GET", server.base + "/longwait")
    assert sleeps == []
    assert ei.value.attempts == 1 and ei.value.status == 429
    assert server.hits("/longwait") == 1


def test_total_budget_counts_elapsed_time(server, ca):
    t = [0.0]

    def sleep(s):
        sleeps.append(s)
        t[0] += s

    sleeps = []
    server.plan("/slowburn", (503, {"Retry-After": "20"}))
    c = HttpClient(HttpSettings(ca_bundle=str(ca.ca_pem), max_total_seconds=50, max_attempts=10), sleep=sleep, clock=lambda: t[0])
    with pytest.raises(ServiceError) as ei:
        c.send("GET", server.base + "/slowburn")
    assert sleeps == [20, 20]  # a third wait would end at 60 s > 50 s
    assert ei.value.attempts == 3


# -- server errors and backoff ------------------------------------------------------------------------


def test_500_500_200_backoff_increases_under_cap(server, ca):
    server.plan("/flaky", 500, 500, 200)
    sleeps = Sleeps()
    r = client(ca, sleeps, rand=lambda: 1.0, backoff_base=0.5, backoff_max=30).send("GET", server.base + "/flaky")
    assert r.status_code == 200
    assert len(sleeps) == 2
    assert 0 < sleeps[0] < sleeps[1] <= 30
    assert sleeps == [0.5, 1.0]


def test_backoff_capped_and_jittered(server, ca):
    server.plan("/cap", 502, 504, 500, 500, 200)
    sleeps = Sleeps()
    r = client(ca, sleeps, rand=lambda: 1.0, backoff_base=0.5, backoff_max=1.5).send("GET", server.base + "/cap")
    assert r.status_code == 200
    assert sleeps == [0.5, 1.0, 1.5, 1.5]

    c = client(ca, Sleeps(), backoff_base=0.5, backoff_max=3)
    waits = [c.backoff(n) for n in range(1, 9) for _ in range(50)]
    assert all(0 <= w <= 3 for w in waits)
    assert len(set(waits)) > 10  # full jitter, not a fixed schedule


def test_404_returned_at_once(server, ca):
    server.plan("/missing", 404, 200)
    sleeps = Sleeps()
    r = client(ca, sleeps).send("GET", server.base + "/missing")
    assert r.status_code == 404
    assert server.hits("/missing") == 1 and sleeps == []


def test_exhausted_5xx_raises_service_error_without_secrets(server, ca):
    server.plan("/down", 502)
    sleeps = Sleeps()
    url = server.base + "/down?client_secret=s3cr3t&token=abc"
    with pytest.raises(ServiceError) as ei:
        client(ca, sleeps, max_attempts=3, rand=lambda: 0.0).send("POST", url, headers={"Authorization": "Bearer tok-123"}, data={"client_secret": "s3cr3t"})
    err = ei.value
    msg = str(err)
    assert isinstance(err, CleanupError)
    assert err.attempts == 3 and err.status == 502
    assert "3 attempts" in msg and "502" in msg and "POST" in msg and "/down" in msg
    assert "?" not in msg and "s3cr3t" not in msg and "abc" not in msg and "tok-123" not in msg
    assert "\n" not in msg
    assert server.hits("/down") == 3 and len(sleeps) == 2


def test_timeout_is_retried(server, ca):
    server.plan("/slow", (200, {}, 1.0), 200)
    sleeps = Sleeps()
    c = HttpClient(HttpSettings(ca_bundle=str(ca.ca_pem), timeout=(2, 0.3)), sleep=sleeps, rand=lambda: 0.0)
    r = c.send("GET", server.base + "/slow")
    assert r.status_code == 200 and server.hits("/slow") == 2 and len(sleeps) == 1


# -- 401 and token refresh ----------------------------------------------------------------------------


def test_401_refreshes_once_then_succeeds(server, ca):
    server.plan("/auth", 401, 200)
    calls = []

    def refresh():
        calls.append(1)
        return {"Authorization": "Bearer new"}

    sleeps = Sleeps()
    r = client(ca, sleeps).send("GET", server.base + "/auth", headers={"Authorization": "Bearer old"}, auth_refresh=refresh)
    assert r.status_code == 200 and len(calls) == 1
    assert [h["Authorization"] for h in server.seen["/auth"]] == ["Bearer old", "Bearer new"]
    assert not any(sleeps)  # no waiting for a refresh


def test_second_401_returned(server, ca):
    server.plan("/auth2", 401, 401, 200)
    calls = []
    r = client(ca, Sleeps()).send("GET", server.base + "/auth2", auth_refresh=lambda: calls.append(1) or {})
    assert r.status_code == 401 and len(calls) == 1 and server.hits("/auth2") == 2


def test_401_without_refresh_returned(server, ca):
    server.plan("/auth3", 401, 200)
    r = client(ca, Sleeps()).send("GET", server.base + "/auth3")
    assert r.status_code == 401 and server.hits("/auth3") == 1


# -- connection and TLS failures ----------------------------------------------------------------------


def test_connection_refused_raises_service_error(ca):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    with pytest.raises(ServiceError) as ei:
        client(ca, sleeps, max_attempts=3, rand=lambda: 0.0).send("GET", f"https://127.0.0.1:{port}/x?key=v")
    assert ei.value.status is None and ei.value.attempts == 3 and len(sleeps) == 2
    assert "ConnectionError" in str(ei.value) and "key=v" not in str(ei.value)


def test_ca_bundle_wins_over_requests_ca_bundle_env(server, ca, other_ca):
    server.plan("/tls", 200)
    assert os.environ["REQUESTS_CA_BUNDLE"] == str(other_ca.ca_pem)
    # The pitfall: a session-level verify is replaced by the environment's bundle...
    s = requests.Session()
    s.verify = str(ca.ca_pem)
    with pytest.raises(requests.exceptions.SSLError):
        s.get(server.base + "/tls", timeout=5)
    # ...but HttpClient passes verify= per request, so the CA bundle option works.
    r = client(ca, Sleeps()).send("GET", server.base + "/tls")
    assert r.status_code == 200


def test_without_ca_bundle_tls_verification_fails(server, ca):
    server.plan("/tls2", 200)
    sleeps = Sleeps()
    c = HttpClient(HttpSettings(timeout=(2, 5)), sleep=sleeps)
    with pytest.raises(ServiceError) as ei:
        c.send("GET", server.base + "/tls2")
    assert "SSLError" in str(ei.value) and ei.value.attempts == 1 and sleeps == []
    assert ei.value.hint and "CA bundle" in ei.value.hint


# -- helpers ------------------------------------------------------------------------------------------


def test_parse_retry_after():
    now = 1_800_000_000.0
    assert parse_retry_after("2") == 2
    assert parse_retry_after(" 0 ") == 0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-1") is None
    assert parse_retry_after(None) is None


def test_redact_url():
    assert redact_url("https://u:p@graph.example/v1.0/devices?$filter=x#f") == "https://graph.example/v1.0/devices"
    assert redact_url("https://127.0.0.1:8443/a?b=c") == "https://127.0.0.1:8443/a"
