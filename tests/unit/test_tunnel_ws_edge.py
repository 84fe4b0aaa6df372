"""The ``ws-upgrade`` route against an in-memory edge: ASGI app and real URL upstream targets."""

from __future__ import annotations

import struct
from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest

from inkbox_async._tunnel.contracts import Envelope, Forwarder
from inkbox_async._tunnel.ws_edge import handle_ws_upgrade
from inkbox_wire.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    BinaryMessage,
    CloseMessage,
    TextMessage,
    encode_envelope,
    encode_frame,
)

from .tunnel_doubles import EdgeWS, FakeSession, WSEchoServer, make_settings

NO_FORWARDER: Forwarder = None  # type: ignore[assignment]  # the WS route never uses it

Scope = MutableMapping[str, Any]


class EchoApp:
    """Accepts (choosing ``chat`` when offered), echoes, and closes on ``bye``."""

    def __init__(self) -> None:
        self.scope: Scope = {}
        self.disconnect_code: int | None = None
        self.received: list[Any] = []
        self.done = anyio.Event()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.scope = scope
        try:
            assert (await receive())["type"] == "websocket.connect"
            subprotocol = "chat" if "chat" in scope["subprotocols"] else None
            await send(
                {
                    "type": "websocket.accept",
                    "subprotocol": subprotocol,
                    "headers": [(b"set-cookie", b"a=1"), (b"connection", b"x")],
                }
            )
            while True:
                event = await receive()
                if event["type"] == "websocket.disconnect":
                    self.disconnect_code = event["code"]
                    return
                self.received.append(event.get("text", event.get("bytes")))
                if event.get("text") == "bye":
                    await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
                    return
                if "text" in event and event["text"] is not None:
                    await send({"type": "websocket.send", "text": "echo:" + event["text"]})
                else:
                    await send({"type": "websocket.send", "bytes": event["bytes"]})
        finally:
            self.done.set()


def upgrade(path: str = "/chat?room=1", ws_id: str | None = "ws-1") -> Envelope:
    return Envelope(
        request_id="req-1",
        method="GET",
        path=path,
        route_kind="ws-upgrade",
        forwarded_for="203.0.113.9",
        ws_id=ws_id,
        headers=[
            ("host", "my-agent.inkboxwire.test"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-protocol", "chat, superchat"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-custom", "1"),
        ],
    )


async def test_asgi_echo_then_edge_close() -> None:
    app = EchoApp()
    session = FakeSession(make_settings(app))
    edge = EdgeWS(session.next_bridge)
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            edge.send(TextMessage("hello"))
            assert await edge.message() == TextMessage("echo:hello")
            edge.send(BinaryMessage(b"\x00\x01"))
            assert await edge.message() == BinaryMessage(b"\x00\x01")
            edge.send(CloseMessage(4000, "third party left"))
            assert await edge.message() == CloseMessage(1000, "")
            close = await edge.frame()
            assert close is not None
            assert (close.opcode, close.payload) == (OP_CLOSE, struct.pack("!H", 1000))
            assert await edge.frame() is None
    assert app.disconnect_code == 4000
    request_id, reply = session.replies[0]
    assert (request_id, reply.status, reply.body) == ("req-1", 200, b"")
    assert reply.headers == [("sec-websocket-protocol", "chat"), ("set-cookie", "a=1")]
    opened = session.bridges[0]
    assert opened.path == "/_system/ws/ws-1"
    assert opened.protocol == "inkbox-tunnel-ws"
    assert opened.headers == [("sec-websocket-version", "13"), ("inkbox-ws-id", "ws-1")]
    assert opened.timeout == 30.0
    assert all(chunk[1] & 0x80 for chunk in edge.raw), "agent frames are masked"
    scope = app.scope
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "wss"
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == (
        "/chat",
        b"/chat",
        b"room=1",
    )
    assert scope["client"] == ("203.0.113.9", 0)
    assert scope["server"] == ("my-agent.inkboxwire.test", 443)
    assert scope["subprotocols"] == ["chat", "superchat"]
    assert scope["headers"] == [
        (b"host", b"my-agent.inkboxwire.test"),
        (b"x-forwarded-host", b"my-agent.inkboxwire.test"),
        (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-for", b"203.0.113.9"),
        (b"forwarded", b"for=203.0.113.9"),
        (b"x-custom", b"1"),
    ]


async def test_app_close_sends_one_close_envelope() -> None:
    app = EchoApp()
    session = FakeSession(make_settings(app))
    edge = EdgeWS(session.next_bridge)
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            edge.send(TextMessage("bye"))
            assert await edge.message() == CloseMessage(4001, "bye")
            close = await edge.frame()
            assert close is not None
            assert (close.opcode, close.payload) == (OP_CLOSE, struct.pack("!H", 1000))
            assert await edge.frame() is None


async def test_a_retiring_connection_closes_both_sides_with_4500() -> None:
    app = EchoApp()
    session = FakeSession(make_settings(app))
    edge = EdgeWS(session.next_bridge)
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            edge.send(TextMessage("hello"))
            assert await edge.message() == TextMessage("echo:hello")
            session.next_bridge.draining.set()
            assert await edge.message() == CloseMessage(4500, "server draining")
            close = await edge.frame()
            assert close is not None
            assert (close.opcode, close.payload) == (OP_CLOSE, struct.pack("!H", 1000))
            assert await edge.frame() is None
            await app.done.wait()
    assert app.disconnect_code == 4500


async def test_outer_close_is_echoed_and_app_gets_1000() -> None:
    app = EchoApp()
    session = FakeSession(make_settings(app))
    edge = EdgeWS(session.next_bridge)
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            edge.send_close_frame(struct.pack("!H", 1001) + b"away")
            close = await edge.frame()
            assert close is not None
            assert (close.opcode, close.payload) == (OP_CLOSE, struct.pack("!H", 1001) + b"away")
            assert await edge.frame() is None
            await app.done.wait()
    assert app.disconnect_code == 1000


@pytest.mark.parametrize("how", ["end", "reset"])
async def test_bridge_end_or_reset_disconnects_app(how: str) -> None:
    app = EchoApp()
    session = FakeSession(make_settings(app))
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            if how == "end":
                session.next_bridge.edge_end()
            else:
                session.next_bridge.edge_reset()
            await app.done.wait()
    assert app.disconnect_code == 1000


async def test_ping_answered_and_continuations_reassembled() -> None:
    app = EchoApp()
    session = FakeSession(make_settings(app))
    edge = EdgeWS(session.next_bridge)
    envelope = encode_envelope(TextMessage("split"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            session.next_bridge.edge_send(encode_frame(OP_PING, b"p1", mask=False))
            pong = await edge.frame()
            assert pong is not None
            assert (pong.opcode, pong.payload) == (OP_PONG, b"p1")
            wire = encode_frame(OP_BINARY, envelope[:6], mask=True, fin=False)
            wire += encode_frame(OP_CONTINUATION, envelope[6:], mask=True)
            session.next_bridge.edge_send(wire[:5])
            session.next_bridge.edge_send(wire[5:])
            assert await edge.message() == TextMessage("echo:split")
            tg.cancel_scope.cancel()


async def test_flow_control_credits_delivered_bytes_beyond_one_window() -> None:
    received: list[int] = []
    gate = anyio.Event()

    async def slow_sink(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await gate.wait()
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            received.append(len(event["bytes"]))

    session = FakeSession(make_settings(slow_sink))
    bridge = session.next_bridge
    chunk = encode_frame(OP_BINARY, encode_envelope(BinaryMessage(b"x" * 3000)), mask=False)
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            for _ in range(40):  # > 65 535 bytes in total
                bridge.edge_send(chunk)
            await anyio.sleep(0.2)
            assert bridge.credited < 40 * len(chunk), "credit waits for the app's queue"
            gate.set()
            while len(received) < 40:
                await anyio.sleep(0.01)
            await anyio.sleep(0.05)
            assert sum(received) == 40 * 3000
            tg.cancel_scope.cancel()
    assert bridge.credited >= 39 * len(chunk)


async def test_missing_ws_id_and_invalid_path() -> None:
    session = FakeSession(make_settings(EchoApp()))
    await handle_ws_upgrade(session, upgrade(ws_id=None), NO_FORWARDER)
    await handle_ws_upgrade(session, upgrade(path="/a/../b"), NO_FORWARDER)
    (_, missing), (_, invalid) = session.replies
    assert (missing.status, missing.body) == (400, b"missing ws_id")
    assert (invalid.status, invalid.body) == (400, b"invalid path")
    assert ("inkbox-reason", "invalid-path") in invalid.headers
    assert ("content-type", "text/plain") in invalid.headers
    assert not session.bridges


async def test_app_refusals() -> None:
    async def closes(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 4003})

    async def raises(scope: Scope, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    for app, status, body in [
        (closes, 403, b"app rejected WS (close code=4003)"),
        (raises, 403, b"app rejected WS (close code=1011)"),
    ]:
        session = FakeSession(make_settings(app))
        await handle_ws_upgrade(session, upgrade(), NO_FORWARDER)
        ((_, reply),) = session.replies
        assert (reply.status, reply.body) == (status, body)
        assert not session.bridges


async def test_accept_timeout_504_and_app_told_1011() -> None:
    seen: list[int] = []

    async def slow(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        seen.append((await receive())["code"])

    session = FakeSession(make_settings(slow), response_deadline=0.1)
    with anyio.fail_after(5):
        await handle_ws_upgrade(session, upgrade(), NO_FORWARDER)
    ((_, reply),) = session.replies
    assert (reply.status, reply.body) == (504, b"ws upgrade timed out")
    assert seen == [1011]


async def test_bridge_refused_disconnects_app_1011() -> None:
    app = EchoApp()
    session = FakeSession(make_settings(app), response_deadline=None, refuse_bridge=True)
    with anyio.fail_after(5):
        await handle_ws_upgrade(session, upgrade(), NO_FORWARDER)
    assert session.replies[0][1].status == 200
    assert app.disconnect_code == 1011


# -- URL targets -------------------------------------------------------------------------


async def test_url_upstream_relay_and_upstream_close() -> None:
    server = WSEchoServer(subprotocol="superchat")
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        session = FakeSession(make_settings(server.url))
        edge = EdgeWS(session.next_bridge)
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            edge.send(TextMessage("hi"))
            assert await edge.message() == TextMessage("echo:hi")
            edge.send(BinaryMessage(b"\x00" * 70000))
            assert await edge.message() == BinaryMessage(b"\x00" * 70000)
            edge.send(TextMessage("ping-me"))
            edge.send(TextMessage("close-me"))
            assert await edge.message() == CloseMessage(4002, "done")
            close = await edge.frame()
            assert close is not None
            assert (close.opcode, close.payload) == (OP_CLOSE, struct.pack("!H", 1000))
            assert await edge.frame() is None
            assert session.next_bridge.ended
        tg.cancel_scope.cancel()
    ((_, reply),) = session.replies
    assert reply.status == 200
    assert reply.headers == [
        ("sec-websocket-protocol", "superchat"),
        ("set-cookie", "a=1"),
        ("x-up", "1"),
    ]
    target, headers = server.requests[0]
    assert target == "/base/chat?room=1"
    assert ("x-forwarded-host", "my-agent.inkboxwire.test") in [(k.lower(), v) for k, v in headers]
    lowered = [(k.lower(), v) for k, v in headers]
    assert ("x-forwarded-for", "203.0.113.9") in lowered
    assert ("x-custom", "1") in lowered
    assert not any(k == "forwarded" for k, _ in lowered)
    assert server.pongs == [b"hey"]


async def test_url_edge_close_reaches_upstream() -> None:
    server = WSEchoServer()
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        session = FakeSession(make_settings(server.url))
        edge = EdgeWS(session.next_bridge)
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            edge.send(CloseMessage(4005, "gone"))
            assert await edge.message() == CloseMessage(4005, "gone")  # upstream's echo
            close = await edge.frame()
            assert close is not None
            assert close.opcode == OP_CLOSE
            assert await edge.frame() is None
        tg.cancel_scope.cancel()
    assert server.closed_with == [4005]


async def test_a_retiring_connection_closes_a_url_upstream_with_4500() -> None:
    server = WSEchoServer()
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        session = FakeSession(make_settings(server.url))
        edge = EdgeWS(session.next_bridge)
        tg.start_soon(handle_ws_upgrade, session, upgrade(), NO_FORWARDER)
        with anyio.fail_after(5):
            await session.bridge_opened.wait()
            session.next_bridge.draining.set()
            assert await edge.message() == CloseMessage(4500, "server draining")
            close = await edge.frame()
            assert close is not None and close.opcode == OP_CLOSE
            assert await edge.frame() is None
            while not server.closed_with:
                await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert server.closed_with == [4500]


async def test_url_failures() -> None:
    server = WSEchoServer(status=404)
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        session = FakeSession(make_settings(server.url))
        await handle_ws_upgrade(session, upgrade(), NO_FORWARDER)
        tg.cancel_scope.cancel()
    ((_, reply),) = session.replies
    assert (reply.status, reply.body) == (404, b"upstream returned 404")

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    session = FakeSession(make_settings(f"http://127.0.0.1:{port}"))
    await handle_ws_upgrade(session, upgrade(), NO_FORWARDER)
    ((_, reply),) = session.replies
    assert reply.status == 502
    assert reply.body.startswith(b"upstream-unreachable: ")

    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as silent:
        port = silent.extra(anyio.abc.SocketAttribute.local_port)
        session = FakeSession(make_settings(f"http://127.0.0.1:{port}"), response_deadline=0.2)
        async with anyio.create_task_group() as tg:

            async def hold(stream: anyio.abc.SocketStream) -> None:
                async with stream:
                    await anyio.sleep(5)

            tg.start_soon(silent.serve, hold)
            with anyio.fail_after(5):
                await handle_ws_upgrade(session, upgrade(), NO_FORWARDER)
            tg.cancel_scope.cancel()
    ((_, reply),) = session.replies
    assert (reply.status, reply.body) == (504, b"upstream-handshake-timeout")
