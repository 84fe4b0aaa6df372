"""The third party of a passthrough WebSocket, speaking real RFC 6455 frames (server role).

Used on HTTP/1.1 (after the 101) and on HTTP/2 (RFC 8441 stream). Outgoing
frames are unmasked; fragments are reassembled; PINGs are answered here.
Local-only codes handed to the target: 1006 at EOF, 1011 on a read failure,
the violation's code (1002/1007/1009) on bad frames, which are also sent to
the third party in a CLOSE. Decision: invalid UTF-8 text is 1007 as RFC 6455
says (0.4.4 used 1003).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable

from inkbox_wire.ws_frames import (
    OP_PING,
    OP_PONG,
    CloseMessage,
    Frame,
    FrameDecoder,
    FrameError,
    MessageAssembler,
    WSMessage,
    encode_frame,
    frame_to_message,
    message_to_frame,
)

__all__ = ["FramePeer"]

logger = logging.getLogger("inkbox.tunnels")


class FramePeer:
    """A :class:`~inkbox_async._tunnel.ws_relay.PeerWebSocket` over a byte transport.

    ``receive_bytes`` returns ``b""`` at EOF; ``send_bytes`` writes to the third party.
    """

    def __init__(
        self,
        receive_bytes: Callable[[], Awaitable[bytes]],
        send_bytes: Callable[[bytes], Awaitable[None]],
        *,
        require_mask: bool,
    ) -> None:
        self._receive_bytes = receive_bytes
        self._send_bytes = send_bytes
        self._decoder = FrameDecoder(require_mask=require_mask)
        self._assembler = MessageAssembler()
        self._frames: deque[Frame] = deque()
        self._out_ended = False

    async def _write(self, data: bytes) -> None:
        try:
            await self._send_bytes(data)
        except Exception:
            logger.debug("WebSocket write to the third party failed", exc_info=True)
            self._out_ended = True

    async def receive(self) -> WSMessage:
        """The next whole message or the third party's close (never raises for I/O)."""
        try:
            return await self._receive()
        except FrameError as exc:
            await self.send(CloseMessage(exc.code, ""))
            return CloseMessage(exc.code, "")

    async def _receive(self) -> WSMessage:
        while True:
            while self._frames:
                frame = self._assembler.add(self._frames.popleft())
                if frame is None or frame.opcode == OP_PONG:
                    continue
                if frame.opcode == OP_PING:
                    if not self._out_ended:
                        await self._write(encode_frame(OP_PONG, frame.payload, mask=False))
                    continue
                return frame_to_message(frame)
            try:
                data = await self._receive_bytes()
            except Exception:
                logger.debug("WebSocket read from the third party failed", exc_info=True)
                return CloseMessage(1011, "")
            if not data:
                return CloseMessage(1006, "")
            self._frames.extend(self._decoder.feed(data))

    async def send(self, message: WSMessage) -> None:
        """Send one unmasked frame; after a CLOSE nothing more is sent."""
        if self._out_ended:
            return
        if isinstance(message, CloseMessage):
            self._out_ended = True
            try:
                await self._send_bytes(message_to_frame(message, mask=False))
            except Exception:
                logger.debug("WebSocket close to the third party failed", exc_info=True)
            return
        await self._write(message_to_frame(message, mask=False))

    async def abort(self) -> None:
        """Send nothing more (the caller then closes the connection)."""
        self._out_ended = True
