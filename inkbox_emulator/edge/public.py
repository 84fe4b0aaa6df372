"""The third-party side of the edge: HTTP/1.1 requests by ``Host``, WebSocket upgrades.

Each request to ``{name}.{zone}`` becomes an envelope
and is answered with the agent's reply. An ``Upgrade: websocket``
request becomes a ``ws-upgrade`` envelope; on the agent's 200 the edge sends
the 101 itself and then translates caller frames to and from the bridge's
length-prefixed JSON records.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from http import HTTPStatus

from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from inkbox_emulator.tunnels.model import DataPlaneTunnel
from inkbox_wire import ws_frames
from inkbox_wire.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    EnvelopeDecoder,
    Frame,
    WSMessage,
    encode_envelope,
    encode_frame,
    parse_close_payload,
    wire_close_code,
)

from .bridges import BridgePump
from .http1 import BadRequest, InvalidHeader, Request, RequestReader, encode_head
from .hub import Bridge, Reply, TunnelHub, edge_reply

__all__ = ["serve_public"]

Headers = list[tuple[bytes, bytes]]

_WS_KEY = re.compile(rb"[A-Za-z0-9+/]{22}==")  # RFC 6455: 16 random bytes, base64
_DROPPED_REQUEST = frozenset([b"x-forwarded-for", b"forwarded"])
_DROPPED_RESPONSE = frozenset(
    [
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"content-length",
    ]
)
_WS_HANDSHAKE = frozenset(
    [
        b"sec-websocket-accept",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
    ]
)
_READ_SIZE = 1 << 16
_PHRASES = {int(code): code.phrase.encode() for code in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 \r\n\r\n"  # h11's spelling: no reason phrase


def _host_of(value: bytes) -> str:
    host = value.decode("latin-1").strip().lower()
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class _Caller:
    """One third-party HTTP/1.1 connection."""

    def __init__(
        self, hub: TunnelHub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.hub = hub
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("unknown", 0)
        self.peer_ip = str(peer[0])
        self.requests = RequestReader()
        self.keep_alive = True
        """False once the response being written must end the connection."""

    async def _next_request(self) -> Request | None:
        requests = self.requests
        while (request := requests.next_request()) is None:
            data = await self.reader.read(_READ_SIZE)
            if not data:
                if requests.buffered:
                    raise BadRequest("the caller closed the connection mid-head")
                return None
            requests.feed(data)
        return request

    async def _next_body(self) -> bytes | None:
        requests = self.requests
        while (body := requests.next_body()) is None:
            data = await self.reader.read(_READ_SIZE)
            if not data:
                return None
            requests.feed(data)
        return body

    async def serve(self) -> None:
        """Serve requests until the caller closes or a response ends the connection."""
        while True:
            self.keep_alive = True
            try:
                request = await self._next_request()
                if request is None:
                    return
                self.keep_alive = request.keep_alive
                if request.expects_continue:
                    self.writer.write(_CONTINUE)
                body = await self._next_body()
            except BadRequest:
                self._error_reply(400, "bad request")
                return
            if body is None:
                return
            ended = await self._handle(request, body)
            await self.writer.drain()
            if ended or not self.keep_alive:
                return

    def _error_reply(self, status: int, text: str) -> None:
        self.write_reply(edge_reply(status, "bad-request", text), head=False, close=True)

    async def _handle(self, request: Request, body: bytes) -> bool:
        """Answer one request; True when the connection must end here."""
        headers = request.headers
        host = _host_of(request.host)
        tunnel = self.hub.tunnel_by_host(host)
        if tunnel is None:
            reply = edge_reply(404, "unknown-tunnel", f"no tunnel serves {host!r}")
        elif tunnel.tls_mode != "edge":
            reply = edge_reply(421, "passthrough-tunnel", "this tunnel only accepts raw TLS")
        elif any(n == b"upgrade" and v.lower() == b"websocket" for n, v in headers):
            return await self._websocket(tunnel, request, headers)
        else:
            reply = await self._exchange(tunnel, request, headers, body, "webhook")
            if request.method == b"CONNECT" and 200 <= reply.status < 300:
                return True  # a 2xx would make it a tunnel: closed unanswered, as with h11
        self.write_reply(reply, head=request.method == b"HEAD")
        return False

    def envelope(
        self, request: Request, headers: Headers, route_kind: str, *extra: tuple[bytes, bytes]
    ) -> Headers:
        meta: Headers = [
            (b"inkbox-method", request.method),
            (b"inkbox-path", request.target),
            (b"inkbox-route-kind", route_kind.encode()),
            (b"inkbox-forwarded-for", self.peer_ip.encode()),
            *extra,
        ]
        meta += [(b"inkbox-h-" + n, v) for n, v in headers if n not in _DROPPED_REQUEST]
        return meta

    async def _exchange(
        self,
        tunnel: DataPlaneTunnel,
        request: Request,
        headers: Headers,
        body: bytes,
        route_kind: str,
        *extra: tuple[bytes, bytes],
    ) -> Reply:
        request_id = self.hub.new_id("req")
        token = None
        if len(body) > self.hub.settings.offload_threshold and self.hub.store.public_url:
            token = self.hub.bodies.put(body)
            url = f"{self.hub.store.public_url}/_emulator/tunnel-bodies/{token}"
            extra = (*extra, (b"inkbox-body-uri", url.encode()))
            body = b""
        envelope = [
            (b"inkbox-request-id", request_id.encode()),
            *self.envelope(request, headers, route_kind, *extra),
        ]
        try:
            return await self.hub.exchange(tunnel.id, request_id, envelope, body)
        finally:
            if token is not None:
                self.hub.bodies.discard(token)

    def write_reply(self, reply: Reply, *, head: bool, close: bool = False) -> None:
        """Write a whole response (framed by ``content-length``); ``close`` ends the connection."""
        status = reply.status if 200 <= reply.status <= 599 else 502
        headers = [(n, v) for n, v in reply.headers if n not in _DROPPED_RESPONSE]
        no_body = head or status in (204, 304)
        if status not in (204, 304):
            headers.append((b"content-length", str(len(reply.body)).encode()))
        if not self.keep_alive:
            headers.append((b"Connection", b"close"))  # h11's spelling when the request ended it
        elif close:
            headers.append((b"connection", b"close"))
        try:
            data = encode_head(status, _PHRASES.get(status, b""), headers)
        except InvalidHeader:
            fallback = edge_reply(502, "bad-agent-reply", "the agent's reply is not valid HTTP")
            self.write_reply(fallback, head=head, close=close)
            return
        self.keep_alive = self.keep_alive and not close
        if reply.body and not no_body:
            data += reply.body
        self.writer.write(data)  # one write (one send) for the whole response

    # -- WebSocket -------------------------------------------------------------------------

    async def _websocket(self, tunnel: DataPlaneTunnel, request: Request, headers: Headers) -> bool:
        key = next((v for n, v in headers if n == b"sec-websocket-key"), None)
        if key is None or not _WS_KEY.fullmatch(key):
            self.write_reply(
                edge_reply(400, "bad-upgrade", "Sec-WebSocket-Key is missing or malformed"),
                head=False,
            )
            return False
        bridge = self.hub.open_bridge("ws", tunnel.id)
        try:
            reply = await self._exchange(
                tunnel, request, headers, b"", "ws-upgrade", (b"inkbox-ws-id", bridge.id.encode())
            )
            if reply.status != 200:
                self.write_reply(reply, head=False, close=True)
                return False
            accept = ws_frames.accept_key(key.decode("ascii")).encode("ascii")
            response: Headers = [
                (b"upgrade", b"websocket"),
                (b"connection", b"Upgrade"),
                (b"sec-websocket-accept", accept),
            ]
            chosen = next((v for n, v in reply.headers if n == b"sec-websocket-protocol"), None)
            if chosen:
                response.append((b"sec-websocket-protocol", chosen))
            response += [
                (n, v)
                for n, v in reply.headers
                if n not in _DROPPED_RESPONSE and n not in _WS_HANDSHAKE
            ]
            try:
                self.writer.write(encode_head(101, b"", response))
            except InvalidHeader:
                return True  # closed unanswered, as with h11
            trailing = self.requests.take_rest()  # the caller's first frames may be here already
            session = _WebSocketSession(
                self, bridge, WsConnection(ConnectionType.SERVER, trailing_data=trailing)
            )
            await session.run()
            return True
        finally:
            self.hub.close_bridge(bridge)


class _WebSocketSession:
    """Caller frames ⇄ bridge records, after the 101."""

    def __init__(self, caller: _Caller, bridge: Bridge, ws: WsConnection) -> None:
        self.caller = caller
        self.bridge = bridge
        self.ws = ws
        self.pump = BridgePump(bridge, caller.hub.settings.bridge_wait)
        self.records = EnvelopeDecoder()
        self.agent_closed = False
        self._fragments: list[str | bytes] = []

    async def run(self) -> None:
        reading = asyncio.ensure_future(self._from_caller())
        pumping = asyncio.ensure_future(self.pump.run(self._on_agent_frame))
        try:
            done, pending = await asyncio.wait(
                {reading, pumping}, return_when=asyncio.FIRST_COMPLETED
            )
            if pumping in done:
                failure = self.pump.failure
                self._close_caller(failure or (1000 if self.agent_closed else 1011), "")
            await asyncio.wait(pending, timeout=2.0)
        finally:
            for task in (reading, pumping):
                task.cancel()
            await asyncio.gather(reading, pumping, return_exceptions=True)
            await self.pump.finish()

    def _write(self, data: bytes) -> None:
        if data and not self.caller.writer.transport.is_closing():
            self.caller.writer.write(data)

    def _close_caller(self, code: int, reason: str) -> None:
        if self.ws.state is ConnectionState.OPEN:
            self._write(self.ws.send(CloseConnection(code=code, reason=reason)))

    async def _from_caller(self) -> None:
        while self.ws.state is not ConnectionState.CLOSED:
            data = await self.caller.reader.read(_READ_SIZE)
            self.ws.receive_data(data or None)
            for event in self.ws.events():
                if isinstance(event, TextMessage | BytesMessage):
                    self._fragments.append(
                        bytes(event.data)
                        if isinstance(event.data, bytes | bytearray)
                        else event.data
                    )
                    if event.message_finished:
                        await self._message_to_agent()
                elif isinstance(event, Ping):
                    self._write(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    if self.ws.state is ConnectionState.REMOTE_CLOSING:
                        self._write(self.ws.send(event.response()))
                    await self._record_to_agent(
                        ws_frames.CloseMessage(event.code, event.reason or "")
                    )
            await self.caller.writer.drain()
            if not data:
                return

    async def _message_to_agent(self) -> None:
        parts, self._fragments = self._fragments, []
        if parts and isinstance(parts[0], str):
            await self._record_to_agent(ws_frames.TextMessage("".join(str(p) for p in parts)))
        else:
            payload = b"".join(p for p in parts if isinstance(p, bytes))
            await self._record_to_agent(ws_frames.BinaryMessage(payload))

    async def _record_to_agent(self, record: WSMessage) -> None:
        await self.pump.send(encode_frame(OP_BINARY, encode_envelope(record), mask=False))

    async def _on_agent_frame(self, frame: Frame) -> None:
        if frame.opcode in (OP_BINARY, OP_TEXT, OP_CONTINUATION):
            for record in self.records.feed(frame.payload):
                self._on_record(record)
        elif frame.opcode == OP_PING:
            await self.pump.send(encode_frame(OP_PONG, frame.payload, mask=False))
        elif frame.opcode == OP_CLOSE:
            if not self.agent_closed:
                close = parse_close_payload(frame.payload)
                self._close_caller(wire_close_code(close.code), close.reason)
                self.agent_closed = True
            await self.pump.send(encode_frame(OP_CLOSE, frame.payload, mask=False), end_stream=True)
        await self.caller.writer.drain()

    def _on_record(self, record: WSMessage) -> None:
        if self.ws.state is not ConnectionState.OPEN:
            return
        if isinstance(record, ws_frames.TextMessage):
            self._write(self.ws.send(TextMessage(data=record.data)))
        elif isinstance(record, ws_frames.BinaryMessage):
            self._write(self.ws.send(BytesMessage(data=record.data)))
        elif not self.agent_closed:
            self.agent_closed = True
            self._close_caller(wire_close_code(record.code), record.reason)


async def serve_public(
    hub: TunnelHub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve one third-party HTTP/1.1 connection (plain, or TLS already terminated)."""
    with contextlib.suppress(ConnectionError, OSError):
        await _Caller(hub, reader, writer).serve()
