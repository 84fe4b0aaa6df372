"""The ``tcp-stream`` route: real TLS from a third-party client through an in-memory edge."""

from __future__ import annotations

import json
import ssl
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import anyio.abc
import h2.config
import h2.connection
import h2.errors
import h2.events
import h11
import pytest
from h2.settings import SettingCodes

from inkbox_async._tunnel import passthrough
from inkbox_async._tunnel.contracts import ASGIApp, Envelope
from inkbox_async._tunnel.forwarding import make_forwarder
from inkbox_async._tunnel.passthrough import handle_tcp_stream
from inkbox_wire.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_TEXT,
    FrameDecoder,
    encode_close_payload,
    encode_frame,
)

from .tunnel_doubles import (
    PUBLIC_HOST,
    FakeSession,
    ThirdPartyTLS,
    WSEchoServer,
    make_settings,
    make_tls_contexts,
)

Scope = MutableMapping[str, Any]
ENVELOPE = Envelope(
    request_id="req-tcp", route_kind="tcp-stream", tcp_id="tcp-1", sni_host=PUBLIC_HOST
)


async def echo_app(scope: Scope, receive: Any, send: Any) -> None:
    """HTTP: echoes method, path, headers and body as JSON. WebSocket: echo server."""
    if scope["type"] == "websocket":
        await receive()
        await send(
            {"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-ws", b"1")]}
        )
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            if event.get("text") == "bye":
                await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
                return
            await send({"type": "websocket.send", "text": "echo:" + (event.get("text") or "")})
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await anyio.sleep(30)
    payload = json.dumps(
        {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "body": body.decode(),
            "client": list(scope["client"]),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"set-cookie", b"a=1")],
        }
    )
    await send({"type": "http.response.body", "body": payload[:10], "more_body": True})
    await send({"type": "http.response.body", "body": payload[10:]})


Client = Callable[[ThirdPartyTLS], Awaitable[None]]


async def run_passthrough(
    target: str | ASGIApp,
    client_fn: Client,
    *,
    alpn: list[str] | None = None,
    client_context: ssl.SSLContext | None = None,
    **settings_args: Any,
) -> FakeSession:
    server_context, trusted = make_tls_contexts()
    settings = make_settings(target, passthrough_ssl_context=server_context, **settings_args)
    session = FakeSession(settings)
    forwarder = make_forwarder(settings)
    client = ThirdPartyTLS(session.next_bridge, client_context or trusted, alpn)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(handle_tcp_stream, session, ENVELOPE, forwarder)
            with anyio.fail_after(10):
                await client_fn(client)
                await client.drain()
    finally:
        await forwarder.aclose()
    return session


def assert_closed(client: ThirdPartyTLS, code: int, reason: str) -> None:
    assert client.stream_ended
    assert client.close_frame == encode_close_payload(code, reason)


def parse_response(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(n.lower(), v.strip()) for n, _, v in (line.partition(":") for line in lines[1:])]
    return lines[0], headers, body


def dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            return out
        out += body[:size]
        body = body[size + 2 :]


# -- HTTP/1.1 -------------------------------------------------------------------------


async def test_h1_get_to_asgi_app_ends_clean() -> None:
    result: dict[str, Any] = {}

    async def client(tp: ThirdPartyTLS) -> None:
        await tp.handshake()
        result["alpn"] = tp.tls.selected_alpn_protocol()
        tp.send(
            b"GET /hello%20there?x=1 HTTP/1.1\r\nHost: " + PUBLIC_HOST.encode() + b"\r\n"
            b"X-Forwarded-For: 6.6.6.6\r\nX-Custom: a\r\nX-Custom: b\r\n\r\n"
        )
        result["raw"] = await tp.read_all()
        await tp.drain()
        assert_closed(tp, 1000, "clean-eof")

    session = await run_passthrough(
        echo_app, client, alpn=["h2", "http/1.1"], enable_h2_transcode=False
    )
    assert result["alpn"] == "http/1.1"
    status, headers, body = parse_response(result["raw"])
    assert status == "HTTP/1.1 200 OK"
    assert headers[-1] == ("connection", "close")
    assert ("transfer-encoding", "chunked") in headers
    assert ("set-cookie", "a=1") in headers
    seen = json.loads(dechunk(body))
    assert (seen["method"], seen["path"], seen["query"]) == ("GET", "/hello there", "x=1")
    assert seen["client"] == ["unknown", 0]
    assert seen["headers"] == [
        ["host", PUBLIC_HOST],
        ["x-forwarded-host", PUBLIC_HOST],
        ["x-forwarded-proto", "https"],
        ["x-custom", "a"],
        ["x-custom", "b"],
    ]
    opened = session.bridges[0]
    assert (opened.path, opened.protocol, opened.timeout) == (
        "/_system/tcp/tcp-1",
        "inkbox-tunnel-tcp",
        10.0,
    )
    assert opened.headers == [
        ("sec-websocket-version", "13"),
        ("sec-websocket-protocol", "inkbox-tunnel-tcp"),
        ("inkbox-tcp-id", "tcp-1"),
    ]
    bridge = session.next_bridge
    assert bridge.credited == bridge.received > 0
    assert not session.replies, "no response POST for tcp-stream"


class UpstreamHTTP:
    """A real HTTP/1.1 server on loopback (h11) that records what arrives."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes]] = []
        self.port = 0

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
            self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
            task_status.started()
            await listener.serve(self._serve)

    async def _serve(self, stream: anyio.abc.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        async with stream:
            request: h11.Request | None = None
            body = b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    try:
                        conn.receive_data(await stream.receive())
                    except anyio.EndOfStream:
                        conn.receive_data(b"")
                    continue
                if isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage) and request is not None:
                    self.requests.append(
                        (request.method, request.target, list(request.headers), body)
                    )
                    reply = b"upstream got " + body
                    await stream.send(
                        conn.send(
                            h11.Response(
                                status_code=201,
                                headers=[("content-length", str(len(reply))), ("x-up", "1")],
                            )
                        )
                        + conn.send(h11.Data(data=reply))
                        + conn.send(h11.EndOfMessage())
                    )
                    return
                else:
                    return


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_h1_to_url_upstream(method: str) -> None:
    upstream = UpstreamHTTP()
    raw: list[bytes] = []

    async def client(tp: ThirdPartyTLS) -> None:
        await tp.handshake()
        if method == "POST":
            tp.send(
                b"POST /upload?q=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: text/plain\r\n\r\n5\r\nhello\r\n6\r\n-world\r\n0\r\n\r\n"
            )
        else:
            tp.send(b"GET /upload?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.append(await tp.read_all())
        await tp.drain()
        assert_closed(tp, 1000, "clean-eof")

    async with anyio.create_task_group() as tg:
        await tg.start(upstream.run)
        await run_passthrough(f"http://127.0.0.1:{upstream.port}/base/", client)
        tg.cancel_scope.cancel()
    status, headers, body = parse_response(raw[0])
    assert status == "HTTP/1.1 201 Created"
    assert ("x-up", "1") in headers
    assert ("transfer-encoding", "chunked") not in headers
    method_seen, target, up_headers, up_body = upstream.requests[0]
    assert (method_seen, target) == (method.encode(), b"/base/upload?q=1")
    names = [n for n, _ in up_headers]
    assert (b"host", f"127.0.0.1:{upstream.port}".encode()) in up_headers
    assert (b"x-forwarded-host", PUBLIC_HOST.encode()) in up_headers
    assert b"x-forwarded-for" not in names
    if method == "POST":
        assert up_body == b"hello-world"
        assert body == b"upstream got hello-world"
    else:
        assert b"transfer-encoding" not in names, "a body-less GET is not sent chunked"
        assert up_body == b""


async def test_h1_refusals() -> None:
    cases = [
        (b"GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request", b"invalid path"),
        (b"NOT A REQUEST\r\n\r\n", "HTTP/1.1 400 Bad Request", b"bad request"),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
            "HTTP/1.1 413 Request Entity Too Large",
            b"payload too large",
        ),
    ]
    for request, expected_status, expected_body in cases:
        raw: list[bytes] = []

        async def client(
            tp: ThirdPartyTLS, request: bytes = request, raw: list[bytes] = raw
        ) -> None:
            await tp.handshake()
            tp.send(request)
            raw.append(await tp.read_all())

        await run_passthrough(echo_app, client, max_inbound_body_bytes=10)
        status, headers, body = parse_response(raw[0])
        assert (status, body) == (expected_status, expected_body)
        assert ("connection", "close") in headers


@pytest.mark.parametrize("drain", [False, True])
async def test_h1_websocket_to_asgi_app(drain: bool) -> None:
    async def client(tp: ThirdPartyTLS) -> None:
        await tp.handshake()
        tp.send(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: chat\r\n\r\n"
        )
        data = b""
        while b"\r\n\r\n" not in data:
            data += await tp.receive()
        head, _, rest = data.partition(b"\r\n\r\n")
        status, headers, _ = parse_response(head + b"\r\n\r\n")
        assert status == "HTTP/1.1 101 Switching Protocols"
        assert ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") in headers
        assert ("sec-websocket-protocol", "chat") in headers
        assert ("x-ws", "1") in headers
        decoder = FrameDecoder()

        async def frame() -> tuple[int, bytes]:
            nonlocal rest
            while True:
                frames = decoder.feed(rest)
                rest = b""
                if frames:
                    assert len(frames) == 1
                    return frames[0].opcode, frames[0].payload
                rest = await tp.receive()

        tp.send(encode_frame(OP_TEXT, b"hi", mask=True))
        assert await frame() == (OP_TEXT, b"echo:hi")
        if drain:  # the edge connection carrying the bridge retires
            tp.bridge.draining.set()
            assert await frame() == (OP_CLOSE, struct.pack("!H", 4500) + b"server draining")
            tp.send(encode_frame(OP_CLOSE, struct.pack("!H", 4500), mask=True))
        else:
            tp.send(encode_frame(OP_TEXT, b"bye", mask=True))
            assert await frame() == (OP_CLOSE, struct.pack("!H", 4001) + b"bye")
            tp.send(encode_frame(OP_CLOSE, struct.pack("!H", 4001), mask=True))
        assert await tp.read_all() == b""
        await tp.drain()
        assert_closed(tp, 1000, "clean-eof")

    await run_passthrough(echo_app, client)


# -- HTTP/2 ---------------------------------------------------------------------------


class H2Client:
    def __init__(self, tp: ThirdPartyTLS) -> None:
        self.tp = tp
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.events: list[h2.events.Event] = []

    async def start(self) -> None:
        await self.tp.handshake()
        assert self.tp.tls.selected_alpn_protocol() == "h2"
        self.conn.initiate_connection()
        self.flush()

    def flush(self) -> None:
        self.tp.send(self.conn.data_to_send())

    async def send_body(self, stream_id: int, body: bytes) -> None:
        while body:
            window = min(
                self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size
            )
            if window <= 0:
                await self.until(lambda e: isinstance(e, h2.events.WindowUpdated))
                continue
            self.conn.send_data(stream_id, body[:window])
            body = body[window:]
            self.flush()
        self.conn.end_stream(stream_id)
        self.flush()

    async def until(self, predicate: Callable[[h2.events.Event], bool]) -> h2.events.Event:
        while True:
            for index, event in enumerate(self.events):
                if predicate(event):
                    del self.events[index]
                    return event
            data = await self.tp.receive()
            assert data, "connection ended"
            self.events += self.conn.receive_data(data)
            self.flush()


async def test_h2_get_and_post_to_asgi_app() -> None:
    results: dict[int, tuple[list[tuple[bytes, bytes]], bytes]] = {}

    async def client(tp: ThirdPartyTLS) -> None:
        h2c = H2Client(tp)
        await h2c.start()
        base = [(":scheme", "https"), (":authority", PUBLIC_HOST)]
        h2c.conn.send_headers(1, [(":method", "GET"), (":path", "/a?b=1"), *base], end_stream=True)
        h2c.conn.send_headers(
            3, [(":method", "POST"), (":path", "/p"), *base, ("cookie", "a=1"), ("cookie", "b=2")]
        )
        h2c.flush()
        await h2c.send_body(3, b"x" * 70000)
        for stream_id in (1, 3):
            headers: list[tuple[bytes, bytes]] = []
            body = b""

            def on_stream(event: h2.events.Event, wanted: int = stream_id) -> bool:
                return getattr(event, "stream_id", None) == wanted

            while True:
                event = await h2c.until(on_stream)
                if isinstance(event, h2.events.ResponseReceived):
                    headers = list(event.headers or [])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data or b""
                    h2c.conn.acknowledge_received_data(event.flow_controlled_length or 0, stream_id)
                    h2c.flush()
                elif isinstance(event, h2.events.StreamEnded):
                    break
            results[stream_id] = (headers, body)
        h2c.conn.close_connection()
        h2c.flush()
        tp.close()
        await tp.drain()
        assert_closed(tp, 1000, "clean-eof")

    await run_passthrough(echo_app, client, alpn=["h2", "http/1.1"])
    headers, body = results[1]
    assert (b":status", b"200") in headers
    seen = json.loads(body)
    assert (seen["method"], seen["path"], seen["query"]) == ("GET", "/a", "b=1")
    assert seen["headers"][0] == ["host", PUBLIC_HOST]
    assert not any(name.startswith(":") for name, _ in seen["headers"])
    headers, body = results[3]
    seen = json.loads(body)
    assert len(seen["body"]) == 70000
    assert ["cookie", "a=1; b=2"] in seen["headers"]


@pytest.mark.parametrize("target", ["asgi", "url", "asgi-drained"])
async def test_h2_websocket_rfc8441(target: str) -> None:
    async def client(tp: ThirdPartyTLS) -> None:
        h2c = H2Client(tp)
        await h2c.start()
        await h2c.until(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
        h2c.conn.send_headers(
            1,
            [
                (":method", "CONNECT"),
                (":protocol", "websocket"),
                (":scheme", "https"),
                (":authority", PUBLIC_HOST),
                (":path", "/ws"),
                ("sec-websocket-version", "13"),
                ("sec-websocket-protocol", "chat"),
            ],
        )
        h2c.flush()
        response = await h2c.until(lambda e: isinstance(e, h2.events.ResponseReceived))
        assert isinstance(response, h2.events.ResponseReceived)
        assert (b":status", b"200") in (response.headers or [])
        assert (b"sec-websocket-protocol", b"chat") in (response.headers or [])
        h2c.conn.send_data(1, encode_frame(OP_TEXT, b"yo", mask=False))
        h2c.flush()
        data = await h2c.until(lambda e: isinstance(e, h2.events.DataReceived))
        assert isinstance(data, h2.events.DataReceived)
        assert FrameDecoder().feed(data.data or b"")[0].payload == b"echo:yo"
        code = 1000
        if target == "asgi-drained":  # the edge connection carrying the bridge retires
            tp.bridge.draining.set()
            data = await h2c.until(lambda e: isinstance(e, h2.events.DataReceived))
            assert isinstance(data, h2.events.DataReceived)
            close = FrameDecoder().feed(data.data or b"")[0]
            assert (close.opcode, close.payload[:2]) == (OP_CLOSE, struct.pack("!H", 4500))
            code = 4500
        h2c.conn.send_data(
            1, encode_frame(OP_CLOSE, struct.pack("!H", code), mask=False), end_stream=True
        )
        h2c.flush()
        await h2c.until(lambda e: isinstance(e, h2.events.StreamEnded))
        tp.close()

    if target != "url":
        await run_passthrough(echo_app, client, alpn=["h2"])
        return
    upstream = WSEchoServer(subprotocol="chat")
    async with anyio.create_task_group() as tg:
        await tg.start(upstream.run)
        await run_passthrough(upstream.url, client, alpn=["h2"])
        tg.cancel_scope.cancel()
    assert upstream.received == ["yo"] and upstream.closed_with == [1000]


async def test_h2_header_problems_fail_only_their_stream() -> None:
    """2,000 headers (80 KB: over the 64 KiB announced) → 431; malformed blocks → RST_STREAM;
    a request in flight meanwhile and one after both get their answers."""
    outcomes: dict[int, object] = {}
    settings: list[int] = []

    async def client(tp: ThirdPartyTLS) -> None:
        h2c = H2Client(tp)
        h2c.conn.config.validate_outbound_headers = False
        h2c.conn.config.normalize_outbound_headers = False
        await h2c.start()
        changed = await h2c.until(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
        assert isinstance(changed, h2.events.RemoteSettingsChanged)
        settings.append(changed.changed_settings[SettingCodes.MAX_HEADER_LIST_SIZE].new_value)
        base = [(":scheme", "https"), (":authority", PUBLIC_HOST)]
        h2c.conn.send_headers(1, [(":method", "POST"), (":path", "/first"), *base])
        h2c.conn.send_data(1, b"half")  # in flight while the others fail
        many = [(f"x-h{n:04d}", "v") for n in range(2000)]
        h2c.conn.send_headers(3, [(":method", "GET"), (":path", "/big"), *base, *many])
        bad = [(":method", "GET"), (":path", "/bad"), *base, ("x-bad", "a\r\nb")]
        h2c.conn.send_headers(5, bad, end_stream=True)
        h2c.conn.send_headers(
            7, [(":method", "GET"), (":path", "/cl"), *base, ("content-length", "x")]
        )
        h2c.flush()
        for stream_id in (3, 5, 7):
            event = await h2c.until(lambda e, s=stream_id: getattr(e, "stream_id", None) == s)
            if isinstance(event, h2.events.ResponseReceived):
                outcomes[stream_id] = dict(event.headers or [])[b":status"]
            else:
                assert isinstance(event, h2.events.StreamReset)
                outcomes[stream_id] = event.error_code
        await h2c.send_body(1, b" more")
        h2c.conn.send_headers(9, [(":method", "GET"), (":path", "/after"), *base], end_stream=True)
        h2c.flush()
        for stream_id in (1, 9):
            body = b""
            while True:
                event = await h2c.until(lambda e, s=stream_id: getattr(e, "stream_id", None) == s)
                if isinstance(event, h2.events.DataReceived):
                    body += event.data or b""
                elif isinstance(event, h2.events.StreamEnded):
                    break
            outcomes[stream_id] = json.loads(body)
        h2c.conn.close_connection()
        h2c.flush()
        tp.close()

    await run_passthrough(echo_app, client, alpn=["h2"])
    assert settings == [65536]
    assert outcomes[3] == b"431"
    assert outcomes[5] == outcomes[7] == h2.errors.ErrorCodes.PROTOCOL_ERROR
    first, after = outcomes[1], outcomes[9]
    assert isinstance(first, dict) and isinstance(after, dict)
    assert (first["path"], first["body"]) == ("/first", "half more")
    assert after["path"] == "/after"


async def test_responses_over_the_outbound_cap_are_cut_off() -> None:
    """HTTP/1.1: the head went out, the chunked body never ends; HTTP/2: RST_STREAM."""
    h1_raw: list[bytes] = []

    async def h1_client(tp: ThirdPartyTLS) -> None:
        await tp.handshake()
        tp.send(b"GET /big HTTP/1.1\r\nHost: " + PUBLIC_HOST.encode() + b"\r\n\r\n")
        h1_raw.append(await tp.read_all())

    await run_passthrough(
        echo_app, h1_client, alpn=["http/1.1"], enable_h2_transcode=False, max_outbound_body_bytes=5
    )
    status, headers, body = parse_response(h1_raw[0])
    assert status == "HTTP/1.1 200 OK" and ("transfer-encoding", "chunked") in headers
    assert not body.endswith(b"0\r\n\r\n")

    resets: list[int] = []

    async def h2_client(tp: ThirdPartyTLS) -> None:
        h2c = H2Client(tp)
        await h2c.start()
        request = [(":method", "GET"), (":path", "/big"), (":scheme", "https")]
        h2c.conn.send_headers(1, [*request, (":authority", PUBLIC_HOST)], end_stream=True)
        h2c.flush()
        reset = await h2c.until(lambda e: isinstance(e, h2.events.StreamReset))
        assert isinstance(reset, h2.events.StreamReset)
        resets.append(int(reset.error_code or 0))
        h2c.conn.close_connection()
        h2c.flush()
        tp.close()

    await run_passthrough(echo_app, h2_client, alpn=["h2"], max_outbound_body_bytes=5)
    assert resets == [h2.errors.ErrorCodes.INTERNAL_ERROR]


# -- teardown and failures ---------------------------------------------------------------


async def test_untrusted_client_gets_tls_error_close() -> None:
    async def client(tp: ThirdPartyTLS) -> None:
        with pytest.raises(ssl.SSLError):
            await tp.handshake()
        tp.close()
        await tp.drain()
        assert tp.close_frame is not None
        assert struct.unpack("!H", tp.close_frame[:2])[0] in (1000, 1011)

    await run_passthrough(echo_app, client, client_context=ssl.create_default_context())


async def test_third_party_gone_mid_request_is_cancelled_after_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(passthrough, "HALF_CLOSE_GRACE", 0.2)

    async def client(tp: ThirdPartyTLS) -> None:
        await tp.handshake()
        tp.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        tp.bridge.edge_end()
        await tp.drain()
        assert_closed(tp, 1001, "cancelled")

    await run_passthrough(echo_app, client)


async def test_text_frame_from_edge_is_a_protocol_error() -> None:
    async def client(tp: ThirdPartyTLS) -> None:
        tp.bridge.edge_send(encode_frame(OP_TEXT, b"nope", mask=False))
        await tp.drain()
        assert_closed(tp, 1002, "protocol-error")

    await run_passthrough(echo_app, client)


async def test_bridge_refused_and_missing_tcp_id() -> None:
    server_context, _ = make_tls_contexts()
    session = FakeSession(
        make_settings(echo_app, passthrough_ssl_context=server_context), refuse_bridge=True
    )
    forwarder = make_forwarder(session.settings)
    with anyio.fail_after(5):
        await handle_tcp_stream(session, ENVELOPE, forwarder)
        await handle_tcp_stream(
            session, Envelope(request_id="r", route_kind="tcp-stream"), forwarder
        )
    assert not session.bridges


async def test_fragmented_binary_frames_reach_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    raw: list[bytes] = []

    async def client(tp: ThirdPartyTLS) -> None:
        original = tp.bridge.edge_send

        def fragmenting(data: bytes) -> None:
            frames = FrameDecoder().feed(data)
            for frame in frames:
                payload = frame.payload
                if frame.opcode != OP_BINARY or len(payload) < 2:
                    original(data)
                    return
                half = len(payload) // 2
                original(encode_frame(OP_BINARY, payload[:half], mask=True, fin=False))
                original(encode_frame(0x0, payload[half:], mask=True))

        tp.bridge.edge_send = fragmenting  # type: ignore[method-assign]
        await tp.handshake()
        tp.send(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.append(await tp.read_all())

    await run_passthrough(echo_app, client)
    assert raw[0].startswith(b"HTTP/1.1 200 OK")
