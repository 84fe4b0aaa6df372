"""The ``ws-upgrade`` route: a public WebSocket relayed over a ``/_system/ws/…`` bridge.

Sequence: checks (400), local accept (ASGI app or URL upstream), the upgrade
reply (200, or the refusal), then the bridge CONNECT (waits
``response_deadline`` or 10 s), then the relay.

Decisions on the 0.4.4 quirks:

* CONTINUATION frames from the edge are reassembled (their payload joins the
  envelope byte stream) instead of dropped.
* The agent sends at most one close envelope: the app's/upstream's own
  close when there is one (no trailing second ``1000`` envelope), otherwise
  ``{"type":"close","code":1000,"reason":""}`` once the local side is done.
  Either way it is followed by an outer CLOSE 1000 with END_STREAM, for both
  targets (0.4.4 put END_STREAM on the close envelope's frame for URL targets).
* An outer CLOSE from the edge is echoed with END_STREAM for both targets
  (0.4.4 did not echo it for URL targets); the local side then gets close 1000.
* A framing violation from the edge ends the bridge with an outer CLOSE 1002.
* Refusal replies carry ``content-type: text/plain`` and an ``inkbox-reason``.
"""

from __future__ import annotations

import logging
from collections import deque
from contextlib import AsyncExitStack

import anyio

from inkbox_async._tunnel.contracts import (
    BridgeStream,
    EdgeSession,
    Envelope,
    Forwarder,
    Headers,
    Reply,
)
from inkbox_async._tunnel.paths import is_safe_path
from inkbox_async._tunnel.ws_local import (
    LocalWebSocket,
    WebSocketRefused,
    WSHandshake,
    open_local_websocket,
)
from inkbox_async._tunnel.ws_relay import relay
from inkbox_wire.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    CloseMessage,
    EnvelopeDecoder,
    FrameDecoder,
    FrameError,
    WSMessage,
    encode_close_payload,
    encode_envelope,
    encode_frame,
)

__all__ = ["EnvelopeBridgePeer", "handle_ws_upgrade"]

logger = logging.getLogger("inkbox.tunnels")

WS_PROTOCOL = "inkbox-tunnel-ws"
DEFAULT_BRIDGE_TIMEOUT = 10.0
CLEANUP_SEND_TIMEOUT = 1.0


def _text_reply(status: int, body: str, reason: str) -> Reply:
    return Reply(
        status=status,
        headers=[("content-type", "text/plain"), ("inkbox-reason", reason)],
        body=body.encode("utf-8"),
    )


class EnvelopeBridgePeer:
    """The third party as seen through the WS bridge: outer frames carrying JSON envelopes.

    Flow control: the bytes of a DATA chunk are credited once every envelope
    it completed was handed on and the relay asks for the next one.
    """

    def __init__(self, bridge: BridgeStream) -> None:
        self._bridge = bridge
        self._frames = FrameDecoder()
        self._envelopes = EnvelopeDecoder()
        self._pending: deque[WSMessage] = deque()
        self._uncredited = 0
        self._send_lock = anyio.Lock()
        self.ended = False
        """END_STREAM (or a reset) was sent or seen on the agent's side."""

    async def _send(
        self, data: bytes, *, end_stream: bool = False, timeout: float | None = None
    ) -> None:
        if self.ended:
            return
        try:
            with anyio.move_on_after(timeout if timeout is not None else float("inf")):
                async with self._send_lock:
                    await self._bridge.send(data, end_stream=end_stream)
        except Exception:
            logger.debug("WS bridge send failed", exc_info=True)
            self.ended = True
        if end_stream:
            self.ended = True

    async def receive(self) -> WSMessage:
        """The next envelope; close 1000 when the bridge ends, resets or gets an outer CLOSE."""
        while not self._pending:
            if self._uncredited:
                self._bridge.consumed(self._uncredited)
                self._uncredited = 0
            try:
                data = await self._bridge.receive()
            except Exception:
                logger.debug("WS bridge reset", exc_info=True)
                self.ended = True
                return CloseMessage(1000, "")
            if not data:
                return CloseMessage(1000, "")
            self._uncredited = len(data)
            try:
                await self._take(data)
            except FrameError as exc:
                logger.warning("WS bridge framing error from the edge: %s", exc)
                await self._send(
                    encode_frame(OP_CLOSE, encode_close_payload(exc.code), mask=True),
                    end_stream=True,
                    timeout=CLEANUP_SEND_TIMEOUT,
                )
                self._pending.append(CloseMessage(exc.code, ""))
        return self._pending.popleft()

    async def _take(self, data: bytes) -> None:
        for frame in self._frames.feed(data):
            if frame.opcode in (OP_BINARY, OP_TEXT, OP_CONTINUATION):
                self._pending.extend(self._envelopes.feed(frame.payload))
            elif frame.opcode == OP_PING:
                await self._send(encode_frame(0xA, frame.payload, mask=True))
            elif frame.opcode == OP_CLOSE:
                await self._send(
                    encode_frame(OP_CLOSE, frame.payload, mask=True),
                    end_stream=True,
                    timeout=CLEANUP_SEND_TIMEOUT,
                )
                self._pending.append(CloseMessage(1000, ""))
                return

    async def send(self, message: WSMessage) -> None:
        """One envelope per masked BINARY frame; a close also ends the stream (outer CLOSE 1000)."""
        frame = encode_frame(OP_BINARY, encode_envelope(message), mask=True)
        if not isinstance(message, CloseMessage):
            await self._send(frame)
            return
        await self._send(frame, timeout=CLEANUP_SEND_TIMEOUT)
        await self._send(
            encode_frame(OP_CLOSE, encode_close_payload(1000), mask=True),
            end_stream=True,
            timeout=CLEANUP_SEND_TIMEOUT,
        )

    async def abort(self) -> None:
        """Empty DATA + END_STREAM unless the stream already ended."""
        await self.finish()

    async def finish(self) -> None:
        """Make sure END_STREAM was sent."""
        if self.ended:
            return
        self.ended = True
        with anyio.move_on_after(CLEANUP_SEND_TIMEOUT):
            try:
                await self._bridge.end()
            except Exception:
                logger.debug("WS bridge end failed", exc_info=True)


async def handle_ws_upgrade(session: EdgeSession, envelope: Envelope, forwarder: Forwarder) -> None:
    """Handle one ``ws-upgrade`` envelope; logs and returns on any per-connection failure."""
    try:
        await _handle(session, envelope)
    except Exception:
        logger.exception("WebSocket upgrade %s failed", envelope.request_id)


async def _handle(session: EdgeSession, envelope: Envelope) -> None:
    ws_id = envelope.ws_id
    if not ws_id:
        await session.post_reply(
            envelope.request_id, _text_reply(400, "missing ws_id", "missing-ws-id")
        )
        return
    if not is_safe_path(envelope.path):
        await session.post_reply(
            envelope.request_id, _text_reply(400, "invalid path", "invalid-path")
        )
        return
    handshake = WSHandshake(
        raw_target=envelope.path, headers=envelope.headers, client_ip=envelope.forwarded_for
    )
    async with AsyncExitStack() as stack:
        try:
            local = await stack.enter_async_context(
                open_local_websocket(
                    session.settings, handshake, accept_timeout=session.response_deadline
                )
            )
        except WebSocketRefused as refusal:
            reason = "ws-upstream-failed" if refusal.failed else "ws-rejected"
            if refusal.status == 504:
                reason = "ws-upgrade-timeout"
            await session.post_reply(
                envelope.request_id, _text_reply(refusal.status, refusal.body, reason)
            )
            return
        await _bridge(session, envelope.request_id, ws_id, local)


async def _bridge(session: EdgeSession, request_id: str, ws_id: str, local: LocalWebSocket) -> None:
    headers: Headers = []
    if local.subprotocol:
        headers.append(("sec-websocket-protocol", local.subprotocol))
    headers += local.headers
    await session.post_reply(request_id, Reply(status=200, headers=headers))
    try:
        bridge = await session.open_bridge(
            f"/_system/ws/{ws_id}",
            WS_PROTOCOL,
            [("sec-websocket-version", "13"), ("inkbox-ws-id", ws_id)],
            timeout=session.response_deadline or DEFAULT_BRIDGE_TIMEOUT,
        )
    except Exception as exc:
        logger.warning("WS bridge %s could not be opened: %s", ws_id, exc)
        await local.send(CloseMessage(1011, ""))
        return
    peer = EnvelopeBridgePeer(bridge)
    try:
        await relay(peer, local, draining=bridge.draining)
    finally:
        with anyio.CancelScope(shield=True):
            await peer.finish()
