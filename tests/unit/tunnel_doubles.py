"""In-memory doubles of the tunnel edge for handler tests: an EdgeSession and its bridges."""

from __future__ import annotations

import math
import ssl

import anyio
import attrs

from inkbox_async._tunnel.contracts import (
    ASGIApp,
    BridgeRefusedError,
    Headers,
    Reply,
    TunnelSettings,
)
from inkbox_async._tunnel.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    EnvelopeDecoder,
    Frame,
    FrameDecoder,
    WSMessage,
    encode_envelope,
    encode_frame,
)


def make_settings(
    forward_to: str | ASGIApp,
    *,
    passthrough_ssl_context: ssl.SSLContext | None = None,
    enable_h2_transcode: bool = True,
    max_inbound_body_bytes: int = 32 * 1024 * 1024,
    max_outbound_body_bytes: int = 32 * 1024 * 1024,
) -> TunnelSettings:
    return TunnelSettings(
        tunnel_id="6b1c3c4e-0000-4000-8000-000000000001",
        name="my-agent",
        api_key="ApiKey_test",
        public_host="my-agent.inkboxwire.test",
        zone="inkboxwire.test",
        edge_host="127.0.0.1",
        forward_to=forward_to,
        tls_mode="passthrough" if passthrough_ssl_context else "edge",
        passthrough_ssl_context=passthrough_ssl_context,
        enable_h2_transcode=enable_h2_transcode,
        max_inbound_body_bytes=max_inbound_body_bytes,
        max_outbound_body_bytes=max_outbound_body_bytes,
    )


class FakeBridge:
    """The agent's view of one bridge stream; the test plays the edge through ``edge_*``."""

    def __init__(self) -> None:
        self._to_agent, self._agent_inbox = anyio.create_memory_object_stream[bytes | Exception](
            math.inf
        )
        self._agent_outbox, self._from_agent = anyio.create_memory_object_stream[bytes](math.inf)
        self.credited = 0
        self.received = 0
        self.ended = False
        self.was_reset = False

    # -- BridgeStream ------------------------------------------------------------------

    async def receive(self) -> bytes:
        try:
            item = await self._agent_inbox.receive()
        except anyio.EndOfStream:
            return b""
        if isinstance(item, Exception):
            raise item
        self.received += len(item)
        return item

    def consumed(self, n: int) -> None:
        self.credited += n

    async def send(self, data: bytes, *, end_stream: bool = False) -> None:
        if self.ended:
            raise RuntimeError("send after END_STREAM")
        if data:
            await self._agent_outbox.send(data)
        if end_stream:
            self.ended = True
            self._agent_outbox.close()

    async def end(self) -> None:
        if not self.ended:
            await self.send(b"", end_stream=True)

    def reset(self) -> None:
        self.was_reset = True

    # -- the edge's side ---------------------------------------------------------------

    def edge_send(self, data: bytes) -> None:
        self._to_agent.send_nowait(data)

    def edge_end(self) -> None:
        self._to_agent.close()

    def edge_reset(self) -> None:
        self._to_agent.send_nowait(ConnectionResetError("RST_STREAM"))

    async def edge_read(self) -> bytes:
        """Next chunk the agent sent; ``b""`` after END_STREAM."""
        try:
            return await self._from_agent.receive()
        except anyio.EndOfStream:
            return b""

    def close(self) -> None:
        self._to_agent.close()
        self._from_agent.close()


class EdgeWS:
    """The edge end of a WS bridge: envelopes in outer frames, both directions."""

    def __init__(self, bridge: FakeBridge) -> None:
        self.bridge = bridge
        self.frames = FrameDecoder()
        self.envelopes = EnvelopeDecoder()
        self.pending: list[Frame] = []
        self.raw: list[bytes] = []

    def send(self, message: WSMessage) -> None:
        self.bridge.edge_send(encode_frame(OP_BINARY, encode_envelope(message), mask=False))

    def send_close_frame(self, payload: bytes) -> None:
        self.bridge.edge_send(encode_frame(OP_CLOSE, payload, mask=False))

    async def frame(self) -> Frame | None:
        """The next outer frame the agent sent (``None`` after END_STREAM)."""
        while not self.pending:
            data = await self.bridge.edge_read()
            if not data:
                return None
            self.raw.append(data)
            self.pending.extend(self.frames.feed(data))
        return self.pending.pop(0)

    async def message(self) -> WSMessage | None:
        """The next envelope (skipping other frames); ``None`` at END_STREAM."""
        while True:
            frame = await self.frame()
            if frame is None:
                return None
            if frame.opcode == OP_BINARY:
                messages = self.envelopes.feed(frame.payload)
                assert len(messages) == 1, "one envelope per outer frame"
                return messages[0]


@attrs.define
class OpenedBridge:
    path: str
    protocol: str
    headers: Headers
    timeout: float | None
    bridge: FakeBridge


class FakeSession:
    """An EdgeSession that records replies and hands out :class:`FakeBridge` objects."""

    def __init__(
        self,
        settings: TunnelSettings,
        *,
        response_deadline: float | None = 30.0,
        refuse_bridge: bool = False,
    ) -> None:
        self.settings = settings
        self.response_deadline = response_deadline
        self.replies: list[tuple[str, Reply]] = []
        self.bridges: list[OpenedBridge] = []
        self.refuse_bridge = refuse_bridge
        self.replied = anyio.Event()
        self.bridge_opened = anyio.Event()
        self.next_bridge = FakeBridge()

    async def post_reply(self, request_id: str, reply: Reply) -> None:
        self.replies.append((request_id, reply))
        self.replied.set()

    async def open_bridge(
        self, path: str, protocol: str, headers: Headers, *, timeout: float | None
    ) -> FakeBridge:
        if self.refuse_bridge:
            raise BridgeRefusedError("refused")
        bridge = self.next_bridge
        self.bridges.append(OpenedBridge(path, protocol, headers, timeout, bridge))
        self.bridge_opened.set()
        return bridge
