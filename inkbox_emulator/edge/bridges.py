"""The edge end of one bridge stream, shared by WebSocket and passthrough bridges.

:class:`BridgePump` waits for the agent's CONNECT to bind the bridge, sends
frames to the agent (waiting for flow-control credit) and feeds the agent's
frames to a handler, returning credit only once the handler consumed them.
A framing violation from the agent ends the bridge with a CLOSE frame
carrying its close code (1002, or 1009 for an oversized frame), as the
agent does for the edge's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from inkbox_wire.h2_server import StreamClosedError
from inkbox_wire.ws_frames import (
    OP_CLOSE,
    Frame,
    FrameDecoder,
    FrameError,
    encode_close_payload,
    encode_frame,
)

from .hub import Bridge, BridgeConnection

__all__ = ["BridgePump"]


class BridgePump:
    """Both directions of one bound bridge stream."""

    def __init__(self, bridge: Bridge, bind_wait: float) -> None:
        self.bridge = bridge
        self.bind_wait = bind_wait
        self.conn: BridgeConnection | None = None
        self.stream_id = 0
        self.ended = False
        """Whether the edge has ended its side of the stream (END_STREAM or reset)."""
        self._gave_up = False
        self._frames = FrameDecoder()
        self.failure: int | None = None
        """The close code of the agent's framing violation that ended the bridge, if any."""

    async def wait_bound(self) -> bool:
        """Wait (up to ``bind_wait``) for the agent's bridge CONNECT; whether it came."""
        if self.conn is not None:
            return True
        if self._gave_up:
            return False
        try:
            self.conn, self.stream_id = await asyncio.wait_for(
                asyncio.shield(self.bridge.bound), self.bind_wait
            )
        except TimeoutError:
            self._gave_up = True
            return False
        except asyncio.CancelledError:
            if not self.bridge.bound.cancelled():
                raise
            self._gave_up = True
            return False
        return True

    async def send(self, data: bytes, *, end_stream: bool = False) -> None:
        """Send frame bytes to the agent (dropped when the bridge never bound or has ended)."""
        if not await self.wait_bound() or self.ended:
            return
        assert self.conn is not None
        if end_stream:
            self.ended = True
        try:
            await self.conn.send_data(self.stream_id, data, end_stream=end_stream)
        except (StreamClosedError, ConnectionError):
            self.ended = True

    async def run(self, on_frame: Callable[[Frame], Awaitable[None]]) -> None:
        """Feed the agent's frames to ``on_frame`` until the stream ends; credit after each."""
        if not await self.wait_bound():
            return
        assert self.conn is not None
        while True:
            item = await self.bridge.inbound.get()
            if item is None:
                return
            data, flow_len = item
            try:
                for frame in self._frames.feed(data):
                    await on_frame(frame)
            except FrameError as exc:
                self.failure = exc.code
                payload = encode_close_payload(exc.code)
                await self.send(encode_frame(OP_CLOSE, payload, mask=False), end_stream=True)
                return
            finally:
                self.conn.credit(self.stream_id, flow_len)

    async def finish(self) -> None:
        """End the edge's side of the stream if that has not happened yet."""
        if self.conn is None or self.ended:
            return
        self.ended = True
        with contextlib.suppress(StreamClosedError, ConnectionError, asyncio.TimeoutError):
            await asyncio.wait_for(self.conn.send_data(self.stream_id, b"", end_stream=True), 1.0)
