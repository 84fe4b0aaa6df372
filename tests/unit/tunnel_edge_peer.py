"""A tiny in-test tunnel edge (TLS + HTTP/2 server) for the agent's unit tests.

Just enough of ``tunnels.md`` §7.1: hello, parked intakes, envelope
delivery, response POSTs, bridge CONNECTs, plus knobs for faults (hello
status, intake answers, GOAWAY, a frozen connection).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from anyio.streams.tls import TLSListener
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ZONE = "tunnel.test"
API_KEY = "sk-test-secret-key"
TUNNEL_ID = "3f1c2a7e-0000-4000-8000-000000000001"

_CERT_CACHE: dict[str, tuple[bytes, bytes]] = {}


def _certificate() -> tuple[bytes, bytes]:
    if "cert" not in _CERT_CACHE:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ZONE)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(ZONE), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        _CERT_CACHE["cert"] = (
            cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    return _CERT_CACHE["cert"]


def client_context() -> ssl.SSLContext:
    """A client context trusting the peer's self-signed certificate."""
    cert, _ = _certificate()
    return ssl.create_default_context(cadata=cert.decode())


def _server_context() -> ssl.SSLContext:
    cert, key = _certificate()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "c.pem").write_bytes(cert + key)
        context.load_cert_chain(Path(directory) / "c.pem")
    context.set_alpn_protocols(["h2"])
    return context


class Request:
    """One stream the agent opened."""

    def __init__(self, conn: PeerConnection, sid: int, headers: list[tuple[str, str]]) -> None:
        self.conn = conn
        self.sid = sid
        self.headers = headers
        self.body = b""
        self.complete = anyio.Event()
        self.data = anyio.Event()

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name), None)

    @property
    def path(self) -> str:
        return self.header(":path") or ""


class PeerConnection:
    """The server side of one agent connection."""

    def __init__(self, edge: EdgePeer, stream: anyio.abc.ByteStream) -> None:
        self.edge = edge
        self.stream = stream
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.h2 = h2.connection.H2Connection(config=config)
        self.h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000,
            },
        )
        self.requests: dict[int, Request] = {}
        self.frozen = False
        self.closed = anyio.Event()
        self.token = ""
        self.client_settings: dict[int, int] = {}
        self._lock = anyio.Lock()

    async def flush(self) -> None:
        async with self._lock:
            data = self.h2.data_to_send()
            if data and not self.frozen:
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await self.stream.send(data)

    async def respond(
        self, sid: int, status: int, headers: list[tuple[str, str]] = (), body: bytes = b""
    ) -> None:
        self.h2.send_headers(sid, [(":status", str(status)), *headers], end_stream=not body)
        await self.flush()
        await self.respond_data(sid, body)

    async def respond_data(self, sid: int, body: bytes, *, end_stream: bool = True) -> None:
        view = body
        while view:
            size = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if size <= 0:
                await anyio.sleep(0.01)
                continue
            chunk, view = view[:size], view[size:]
            self.h2.send_data(sid, chunk, end_stream=end_stream and not view)
            await self.flush()

    async def goaway(self, code: int = 0, debug: bytes = b"") -> None:
        self.h2.close_connection(error_code=code, additional_data=debug or None)
        if code == 0:  # a drain: keep serving the streams already open
            self.h2.state_machine.state = h2.connection.ConnectionState.SERVER_OPEN
        await self.flush()

    async def serve(self) -> None:
        self.h2.initiate_connection()
        await self.flush()
        try:
            while True:
                try:
                    data = await self.stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return
                if self.frozen:
                    continue
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    return
                for event in events:
                    await self._handle(event)
                await self.flush()
        finally:
            self.closed.set()
            await anyio.aclose_forcefully(self.stream)

    async def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.client_settings[int(code)] = change.new_value
        elif isinstance(event, h2.events.RequestReceived):
            request = Request(self, event.stream_id, list(event.headers or []))
            self.requests[event.stream_id] = request
            if request.header(":method") == "CONNECT":
                self.edge.bridges.append(request)
                status = self.edge.bridge_status
                self.h2.send_headers(event.stream_id, [(":status", str(status))])
        elif isinstance(event, h2.events.DataReceived):
            request = self.requests[event.stream_id]
            request.body += event.data
            request.data.set()
            request.data = anyio.Event()
            if request.header(":method") != "CONNECT" or self.edge.credit_bridges:
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            await self._complete(self.requests[event.stream_id])

    async def _complete(self, request: Request) -> None:
        request.complete.set()
        if request.header(":method") == "CONNECT":
            return
        path = request.path
        edge = self.edge
        if path == "/_system/hello":
            edge.hellos.append(request)
            status, body = edge.hello_answer(request)
            if status == 200:
                self.token = json.loads(body)["owner_token"]
            await self.respond(request.sid, status, body=body)
        elif path == "/_system/intake":
            edge.intakes.append(request)
            answer = edge.intake_answer(request) if edge.intake_answer else None
            if answer is not None:
                await self.respond(request.sid, answer[0], answer[1])
            elif request.header("x-owner-token") != self.token:
                await self.respond(request.sid, 401)
            else:
                edge.parked.append(request)
                edge.parked_changed.set()
                edge.parked_changed = anyio.Event()
        elif path.startswith("/_system/response/"):
            rid = path.rsplit("/", 1)[1]
            edge.replies[rid] = request
            await self.respond(request.sid, edge.reply_status)
            event = edge.reply_events.setdefault(rid, anyio.Event())
            event.set()


class EdgePeer:
    """Listens on 127.0.0.1; hand its ``port`` and :func:`client_context` to the agent."""

    def __init__(self) -> None:
        self.port = 0
        self.connections: list[PeerConnection] = []
        self.hellos: list[Request] = []
        self.intakes: list[Request] = []
        self.parked: list[Request] = []
        self.parked_changed = anyio.Event()
        self.bridges: list[Request] = []
        self.replies: dict[str, Request] = {}
        self.reply_events: dict[str, anyio.Event] = {}
        self.hello_status: list[int] = []
        self.hello_json: dict[str, Any] = {"response_deadline_seconds": 5}
        self.intake_answer: Callable[[Request], tuple[int, list[tuple[str, str]]] | None] | None
        self.intake_answer = None
        self.bridge_status = 200
        self.reply_status = 200
        self.credit_bridges = True
        self.connected = anyio.Event()
        self._tokens = 0

    def hello_answer(self, request: Request) -> tuple[int, bytes]:
        if self.hello_status:
            status = self.hello_status.pop(0)
            if status != 200:
                body = {"reason": "hello-superseded"} if status == 409 else {"detail": "no"}
                return status, json.dumps(body).encode()
        if request.header("x-api-key") != API_KEY:
            return 401, b'{"detail": "bad key"}'
        self._tokens += 1
        payload = {"owner_token": f"token-{self._tokens}", **self.hello_json}
        self.connected.set()
        self.connected = anyio.Event()
        return 200, json.dumps(payload).encode()

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
        self.port = tcp.extra(anyio.abc.SocketAttribute.local_port)
        listener = TLSListener(tcp, _server_context(), standard_compatible=False)
        async with listener:
            task_status.started()
            await listener.serve(self._handle)

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        conn = PeerConnection(self, stream)
        self.connections.append(conn)
        await conn.serve()

    async def wait_parked(self, count: int = 1) -> None:
        while len([r for r in self.parked if not r.conn.closed.is_set()]) < count:
            await self.parked_changed.wait()

    async def deliver(
        self, headers: list[tuple[str, str]], body: bytes = b"", *, status: int = 200
    ) -> None:
        """Answer the oldest live parked intake."""
        await self.wait_parked()
        request = next(r for r in self.parked if not r.conn.closed.is_set())
        self.parked.remove(request)
        extra = [("content-length", str(len(body)))] if body else []
        await request.conn.respond(request.sid, status, [*headers, *extra], body)

    async def reply(self, request_id: str) -> Request:
        """Wait for the response POST of ``request_id``."""
        await self.reply_events.setdefault(request_id, anyio.Event()).wait()
        return self.replies[request_id]
