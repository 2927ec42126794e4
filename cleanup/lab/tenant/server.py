"""The emulated tenant's HTTPS server: Jamf Pro, Entra (OIDC + token) and Graph on one loopback port.

TLS handshakes run in the per-connection thread (a stalled client cannot block ``accept``). HTTP/1.1
keep-alive is on, so clients reuse connections as they would against the real services.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from cleanup.lab.tenant import jamf_versions
from cleanup.lab.tenant.clientfiles import write_client_files
from cleanup.lab.tenant.model import Faults, MacIdentity, Tenant
from cleanup.lab.tenant.scenarios import seed
from cleanup.lab.tenant.service import Service
from cleanup.lab.tenant.tls import make_test_ca
from cleanup.lab.tenant.wire import Drop, Request, json_response

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cleanup-lab-tenant/1"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _TLSServer

    def log_message(self, format, *args):
        log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/v1.0"):
            path = unquote(path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        req = Request(self.command, path, parse_qs(parts.query, keep_blank_values=True), {k.lower(): v for k, v in self.headers.items()}, body)
        try:
            resp = self.server.service.handle(req)
        except Drop:
            self.close_connection = True
            return
        except Exception:  # a bug in the emulator: answer 500 and keep serving
            log.exception("tenant handler failed for %s %s", self.command, parts.path)
            resp = json_response(500, {"error": "internal emulator error"})
        self.send_response(resp.status)
        headers = dict(resp.headers)
        if path.startswith("/v1.0") and "request-id" not in headers:
            headers["request-id"] = req.header("client-request-id") or "00000000-0000-0000-0000-000000000000"
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _serve


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # a real service's listen backlog, not socketserver's 5: with more clients connecting at once the kernel
    # drops their SYNs and each waits a 1 s retransmission, which no real Graph or Jamf Pro would add
    request_queue_size = 128
    RequestHandlerClass: type[_Handler]

    def __init__(self, address, context: ssl.SSLContext, service: Service):
        self.context = context
        self.service = service
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        request.settimeout(10)
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            self._forget(request)
            return
        with self._open_lock:
            self._open.discard(request)
            self._open.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (ConnectionError, TimeoutError, ssl.SSLError, ValueError):
            pass
        finally:
            self._forget(conn)

    def _forget(self, sock) -> None:
        with self._open_lock:
            self._open.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def close_connections(self) -> None:
        """Cut idle keep-alive connections too, so a stopped tenant stops answering at once."""
        with self._open_lock:
            conns = list(self._open)
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class TenantServer:
    """One running tenant. Use ``start()``/``stop()`` or ``with TenantServer(...) as server:``."""

    def __init__(
        self,
        workdir: Path,
        tenant: Tenant | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        jamf_version: jamf_versions.Version | None = None,
    ):
        self.workdir = Path(workdir)
        self.tenant = tenant if tenant is not None else Tenant()
        self.faults = faults if faults is not None else Faults()
        self.host = host
        self.port = port
        self.service = Service(self.tenant, self.faults, jamf_version=jamf_version)
        self.url = ""
        self.ca_pem: Path | None = None
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> TenantServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ca = make_test_ca(self.workdir / "tls")
        self.ca_pem = ca.ca_pem
        self._server = _TLSServer((self.host, self.port), ca.server_context(), self.service)
        self.port = self._server.server_address[1]
        self.url = f"https://{self.host}:{self.port}"
        self.service.url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"tenant-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None

    def __enter__(self) -> TenantServer:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def credentials(self) -> dict:
        return self.tenant.credentials

    @property
    def jamf_version(self) -> jamf_versions.Version:
        """The Jamf Pro version emulated. Setting it is an upgrade (or downgrade) in place: clients that already
        asked keep the routes they chose."""
        return self.service.jamf_version

    @jamf_version.setter
    def jamf_version(self, version: jamf_versions.Version) -> None:
        self.service.jamf_version = version

    def stats(self) -> dict:
        return self.service.stats()

    def reset_stats(self) -> None:
        self.service.reset_stats()

    def write_client_files(self, directory: Path) -> dict:
        return write_client_files(self, Path(directory))


def start_tenant(
    workdir,
    scenario: str = "clean",
    mac: MacIdentity | None = None,
    faults: Faults | None = None,
    port: int = 0,
    jamf_version: jamf_versions.Version | None = None,
) -> TenantServer:
    """A tenant seeded with ``scenario`` for ``mac`` and already serving (as Jamf Pro ``jamf_version``, else the
    default of :mod:`cleanup.lab.tenant.jamf_versions`)."""
    tenant = Tenant()
    seed(tenant, scenario, mac if mac is not None else MacIdentity())
    return TenantServer(Path(workdir), tenant=tenant, faults=faults, port=port, jamf_version=jamf_version).start()
