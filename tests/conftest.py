"""Fixtures shared by every test directory: one emulator per session, an org per test."""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import attrs
import pytest

from inkbox_emulator import Emulator, OrgCredentials

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def org(emulator: Emulator) -> OrgCredentials:
    return emulator.create_org()


@pytest.fixture
def fixtures_dir() -> Path:
    """``tests/fixtures``: the public data files the tests read (see its README)."""
    return FIXTURES


class Receiver:
    """A webhook receiver on loopback: records every POST, answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._arrived:
                    receiver.deliveries.append((dict(self.headers.items()), body))
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, event_type: str, timeout: float = 10.0) -> tuple[dict[str, str], bytes]:
        """The first delivery of ``event_type`` (waits for it)."""

        def found() -> tuple[dict[str, str], bytes] | None:
            for headers, body in self.deliveries:
                if json.loads(body).get("event_type") == event_type:
                    return headers, body
            return None

        with self._arrived:
            self._arrived.wait_for(lambda: found() is not None, timeout)
            result = found()
        assert result is not None, f"no {event_type} delivery within {timeout}s"
        return result

    def wait_count(
        self, event_type: str, count: int, timeout: float = 10.0
    ) -> list[tuple[dict[str, str], bytes]]:
        """The first ``count`` deliveries of ``event_type`` (waits for them)."""

        def found() -> list[tuple[dict[str, str], bytes]]:
            return [
                (headers, body)
                for headers, body in self.deliveries
                if json.loads(body).get("event_type") == event_type
            ]

        with self._arrived:
            self._arrived.wait_for(lambda: len(found()) >= count, timeout)
            result = found()
        assert len(result) >= count, f"{len(result)} of {count} {event_type} within {timeout}s"
        return result[:count]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A throwaway HOME that must stay empty: tunnel state belongs under ``tmp_path``, never ``~``."""
    directory = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(directory))
    yield directory
    assert list(directory.iterdir()) == [], "a test wrote to the home directory"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def call_in_thread() -> Callable[..., Awaitable[Any]]:
    """Async tests run blocking third-party clients in a worker thread (codegen: ``call_here``)."""

    async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))

    return call


@pytest.fixture
def call_here() -> Callable[..., Any]:
    """The sync twin of ``call_in_thread``: the tunnel runs on its own thread already."""
    return lambda function, *args, **kwargs: function(*args, **kwargs)


@attrs.frozen
class PublicResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


class ThirdParty:
    """Somebody on the internet calling a tunnel's public host (through the emulator edge)."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator

    def in_background(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """Start ``function`` on a thread; the future holds its result."""
        future: Future[Any] = Future()

        def run() -> None:
            try:
                future.set_result(function(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=run, daemon=True).start()
        return future

    def host(self, name: str) -> str:
        return f"{name}.{self._emulator.tunnel_zone}"

    def http(
        self,
        name: str,
        method: str = "GET",
        path: str = "/",
        *,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
        timeout: float = 30.0,
    ) -> PublicResponse:
        """One HTTP/1.1 request to the public listener, routed by ``Host``."""
        url = urlsplit(self._emulator.tunnel_public_url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", self.host(name))
            for key, value in headers:
                connection.putheader(key, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return PublicResponse(response.status, response.getheaders(), response.read())
        finally:
            connection.close()

    def websocket(
        self,
        name: str,
        path: str,
        messages: Sequence[str | bytes],
        *,
        subprotocols: Sequence[str] = (),
        tls: bool = False,
        then: Callable[[], object] | None = None,
    ) -> tuple[list[str | bytes], int | None, str | None]:
        """Open a WebSocket, send ``messages`` one by one reading one reply to each, then close.

        Returns the replies, the close code the server sent (if any) and the subprotocol.
        ``tls=True`` speaks TLS to the edge with SNI = the public host (passthrough).
        With ``then``, it is called after the last reply and the server is left to close.
        """
        import wsproto
        import wsproto.events as ev

        sock = self._tls_socket(name) if tls else self._public_socket()
        ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        replies: list[str | bytes] = []
        close_code = None
        chosen = None
        pending: list[ev.Event] = []

        def next_event() -> ev.Event:
            while not pending:
                data = sock.recv(65536)
                ws.receive_data(data or None)
                pending.extend(ws.events())
            return pending.pop(0)

        try:
            sock.sendall(
                ws.send(
                    ev.Request(host=self.host(name), target=path, subprotocols=list(subprotocols))
                )
            )
            accepted = next_event()
            if not isinstance(accepted, ev.AcceptConnection):
                return [], None, None
            chosen = accepted.subprotocol
            for message in messages:
                sock.sendall(ws.send(ev.Message(data=message)))
                parts: list[str | bytes] = []
                while True:
                    event = next_event()
                    if isinstance(event, ev.Message):
                        parts.append(event.data)
                        if event.message_finished:
                            break
                    elif isinstance(event, ev.CloseConnection):
                        close_code = event.code
                        return replies, close_code, chosen
                replies.append("".join(parts) if isinstance(parts[0], str) else b"".join(parts))  # type: ignore[arg-type]
            if then is not None:
                then()
            else:
                sock.sendall(ws.send(ev.CloseConnection(code=1000)))
            while close_code is None:
                event = next_event()
                if isinstance(event, ev.CloseConnection):
                    close_code = event.code
            return replies, close_code, chosen
        finally:
            sock.close()

    def _public_socket(self) -> socket.socket:
        url = urlsplit(self._emulator.tunnel_public_url)
        return socket.create_connection((url.hostname, url.port), timeout=15)

    def _tls_socket(self, name: str, alpn: Sequence[str] = ("http/1.1",)) -> ssl.SSLSocket:
        host, _, port = self._emulator.tunnel_edge.rpartition(":")
        context = ssl.create_default_context(cadata=self._emulator.tunnel_ca_pem.decode("ascii"))
        context.set_alpn_protocols(list(alpn))
        raw = socket.create_connection((host, int(port)), timeout=15)
        try:
            return context.wrap_socket(raw, server_hostname=self.host(name))
        except BaseException:
            raw.close()
            raise

    def h2_get(self, name: str, path: str) -> tuple[int, bytes, str | None]:
        """One HTTP/2 GET over TLS to a passthrough tunnel: (status, body, negotiated ALPN)."""
        import h2.config
        import h2.connection
        import h2.events

        with self._tls_socket(name, alpn=("h2",)) as tls:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            headers = [(":method", "GET"), (":scheme", "https"), (":authority", self.host(name))]
            conn.send_headers(1, [*headers, (":path", path)], end_stream=True)
            tls.sendall(conn.data_to_send())
            status, body = 0, b""
            while True:
                data = tls.recv(65536)
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = int(dict(event.headers)[b":status"])
                    elif isinstance(event, h2.events.DataReceived):
                        body += event.data
                        conn.acknowledge_received_data(event.flow_controlled_length, 1)
                    elif isinstance(event, h2.events.StreamEnded):
                        return status, body, tls.selected_alpn_protocol()
                tls.sendall(conn.data_to_send())
            return status, body, tls.selected_alpn_protocol()

    def tls_request(
        self, name: str, request: bytes, *, alpn: Sequence[str] = ("http/1.1",)
    ) -> bytes:
        """Raw bytes over TLS to the edge with SNI = the public host (passthrough tunnels)."""
        host, _, port = self._emulator.tunnel_edge.rpartition(":")
        context = ssl.create_default_context(cadata=self._emulator.tunnel_ca_pem.decode("ascii"))
        context.set_alpn_protocols(list(alpn))
        with (
            socket.create_connection((host, int(port)), timeout=15) as raw,
            context.wrap_socket(raw, server_hostname=self.host(name)) as tls,
        ):
            tls.sendall(request)
            chunks = []
            while chunk := tls.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)


@pytest.fixture
def third_party(emulator: Emulator) -> ThirdParty:
    return ThirdParty(emulator)


class Upstream:
    """A local HTTP server to forward to: echoes the request as JSON, with a few extras.

    A path ending in ``/big/{n}`` answers ``n`` bytes, one with ``/cookies``
    sets two cookies, ``/slow/{s}`` sleeps ``s`` seconds first.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        upstream = self
        self.seen: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length) if length else b""
                record = {
                    "method": self.command,
                    "path": self.path,
                    "headers": [[k.lower(), v] for k, v in self.headers.items()],
                    "body_length": len(body),
                    "body_sha256": hashlib.sha256(body).hexdigest(),
                }
                upstream.seen.append(record)
                if "/slow/" in self.path:
                    time.sleep(float(self.path.split("/slow/")[1]))
                if "/big/" in self.path:
                    payload = bytes(range(256)) * (int(self.path.split("/big/")[1]) // 256)
                    content_type = "application/octet-stream"
                else:
                    payload = json.dumps(record).encode()
                    content_type = "application/json"
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                if "/cookies" in self.path:
                    self.send_header("Set-Cookie", "a=1")
                    self.send_header("Set-Cookie", "b=2")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


async def _read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def echo_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The in-process app tunnels forward to in the tests.

    HTTP: echoes the request as JSON (``/big/{n}`` answers ``n`` bytes,
    ``/slow/{s}`` waits first, ``/boom`` raises). WebSocket: accepts with the
    first offered subprotocol and echoes; the text ``bye`` closes with 4001.
    """
    if scope["type"] == "http":
        body = await _read_body(receive)
        path = scope["path"]
        if path == "/boom":
            raise RuntimeError("boom")
        if path.startswith("/slow/"):
            await anyio.sleep(float(path.split("/")[2]))
        if path.startswith("/big/"):
            payload = bytes(range(256)) * (int(path.split("/")[2]) // 256)
        else:
            payload = json.dumps(
                {
                    "method": scope["method"],
                    "path": path,
                    "raw_path": scope["raw_path"].decode("latin-1"),
                    "query": scope["query_string"].decode("latin-1"),
                    "client": list(scope["client"]) if scope.get("client") else None,
                    "server": list(scope["server"]) if scope.get("server") else None,
                    "scheme": scope["scheme"],
                    "headers": [
                        [k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]
                    ],
                    "body_length": len(body),
                    "body_sha256": hashlib.sha256(body).hexdigest(),
                }
            ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"set-cookie", b"a=1"),
                    (b"set-cookie", b"b=2"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
    elif scope["type"] == "websocket":
        await receive()
        offered = scope.get("subprotocols") or []
        await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "bye":
                await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": "echo:" + message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})


@pytest.fixture
def asgi_app() -> Callable[..., Awaitable[None]]:
    return echo_asgi_app


class RecordingWebSocketApp:
    """An ASGI WebSocket echo app that records the code of every disconnect it is given."""

    def __init__(self) -> None:
        self.disconnects: list[int | None] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.disconnects.append(message.get("code"))
                return
            await send({"type": "websocket.send", "text": "echo:" + message["text"]})


@pytest.fixture
def recording_ws_app() -> RecordingWebSocketApp:
    return RecordingWebSocketApp()


class WebhookReceiverApp:
    """An ASGI app receiving webhooks: ``check(body, headers)`` decides between 200 with
    ``reply`` (JSON) and 401; every request is kept as ``(path, headers, body, accepted)``
    (lowercase header names)."""

    def __init__(
        self, check: Callable[[bytes, dict[str, str]], bool], reply: bytes = b"{}"
    ) -> None:
        self.check = check
        self.reply = reply
        self.received: list[tuple[str, dict[str, str], bytes, bool]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        assert scope["type"] == "http"
        body = await _read_body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        accepted = self.check(body, headers)
        self.received.append((scope["path"], headers, body, accepted))
        await send(
            {
                "type": "http.response.start",
                "status": 200 if accepted else 401,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": self.reply if accepted else b""})


@pytest.fixture
def webhook_receiver_app() -> type[WebhookReceiverApp]:
    return WebhookReceiverApp


class WebSocketUpstream:
    """A local WebSocket echo server (HTTP/1.1 upgrade) to forward to: ``echo:{text}``.

    The text ``bye`` makes it close with 4002. One thread per connection.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self.paths: list[str] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        import wsproto
        import wsproto.events as ev

        if self._tls is not None:
            try:
                conn = self._tls.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                return
        ws = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
        parts: list[Any] = []
        with conn:
            while True:
                data = conn.recv(65536)
                ws.receive_data(data or None)
                for event in ws.events():
                    if isinstance(event, ev.Request):
                        self.paths.append(event.target)
                        chosen = event.subprotocols[0] if event.subprotocols else None
                        conn.sendall(ws.send(ev.AcceptConnection(subprotocol=chosen)))
                    elif isinstance(event, ev.Message):
                        parts.append(event.data)
                        if not event.message_finished:
                            continue
                        text = isinstance(event.data, str)
                        message = ("" if text else b"").join(parts)
                        parts.clear()
                        if message == "bye":
                            conn.sendall(ws.send(ev.CloseConnection(code=4002, reason="bye")))
                        else:
                            reply = "echo:" + message if text else message
                            conn.sendall(ws.send(ev.Message(data=reply)))
                    elif isinstance(event, ev.CloseConnection):
                        if ws.state == wsproto.connection.ConnectionState.REMOTE_CLOSING:
                            conn.sendall(ws.send(event.response()))
                        return
                if not data:
                    return

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def websocket_upstream() -> Iterator[WebSocketUpstream]:
    server = WebSocketUpstream()
    yield server
    server.close()


@attrs.frozen
class UpstreamTLS:
    """A throwaway CA and a server context for 127.0.0.1 signed by it."""

    context: ssl.SSLContext
    ca_pem: bytes


@pytest.fixture(scope="session")
def upstream_tls(tmp_path_factory: pytest.TempPathFactory) -> UpstreamTLS:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("upstream test CA"))
        .issuer_name(name("upstream test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("upstream-tls")
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "leaf.pem", directory / "key.pem")
    return UpstreamTLS(context, ca.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def https_upstream(upstream_tls: UpstreamTLS) -> Iterator[Upstream]:
    server = Upstream(tls=upstream_tls.context)
    yield server
    server.close()


@pytest.fixture
def wss_upstream(upstream_tls: UpstreamTLS) -> Iterator[WebSocketUpstream]:
    server = WebSocketUpstream(tls=upstream_tls.context)
    yield server
    server.close()


class LifespanApp:
    """A FastAPI-like ASGI app: its lifespan startup creates what its route needs.

    Startup fills ``resources`` (like ``app.state``) and the lifespan
    ``state`` (like a lifespan that yields a dict); the HTTP route and the
    WebSocket read both, and raise when startup never ran. ``events`` records
    ``startup``, ``request`` and ``shutdown``.
    """

    def __init__(self, *, startup_failure: str | None = None) -> None:
        self.events: list[str] = []
        self.resources: dict[str, str] = {}
        self._startup_failure = startup_failure

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if self._startup_failure is not None:
                        failed = {"type": "lifespan.startup.failed"}
                        await send({**failed, "message": self._startup_failure})
                        return
                    self.resources["greeting"] = "hello"
                    scope["state"]["database"] = "connected"
                    self.events.append("startup")
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.events.append("shutdown")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "http":
            payload = {
                "greeting": self.resources["greeting"],
                "database": scope["state"]["database"],
            }
            self.events.append("request")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": json.dumps(payload).encode()})
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            message = await receive()
            reply = f"{message.get('text')}:{scope['state']['database']}"
            await send({"type": "websocket.send", "text": reply})
            await send({"type": "websocket.close", "code": 1000})


@pytest.fixture
def lifespan_app() -> Callable[..., LifespanApp]:
    """Makes :class:`LifespanApp` instances (``startup_failure=`` fails the startup)."""
    return LifespanApp


async def http_only_asgi_app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app that raises on every scope but ``http`` (no lifespan support); 204."""
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope {scope['type']!r}")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def http_only_app() -> Callable[..., Awaitable[None]]:
    return http_only_asgi_app
