"""A plaintext byte stream: TLS terminated in memory over a ``/_system/tcp/…`` bridge.

Inbound DATA carries RFC 6455 frames holding the third party's TCP bytes;
:meth:`TLSBridgeStream.pump` feeds BINARY payloads (fragments reassembled) to
an ``ssl.MemoryBIO`` and credits them once fed, so the end of the inbound
side is seen even while the plaintext server is busy. Outbound TLS output leaves as masked BINARY frames.
The stream records the first failure as a close reason so the route
handler can pick the close code.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.abc

from inkbox_async._tunnel.contracts import BridgeStream, TunnelAttribute
from inkbox_wire.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    FrameDecoder,
    FrameError,
    MessageAssembler,
    encode_close_payload,
    encode_frame,
)

__all__ = ["CLOSE_CODES", "TLSBridgeStream"]

logger = logging.getLogger("inkbox.tunnels")

CLOSE_CODES = {
    "clean-eof": 1000,
    "protocol-error": 1002,
    "inbound-error": 1011,
    "outbound-error": 1011,
    "tls-error": 1011,
    "cancelled": 1001,
}
"""The bridge's close reasons and their codes (anything else is 1011)."""

CLEANUP_SEND_TIMEOUT = 1.0
INBOUND_HIGH_WATER = 256 * 1024
_PLAINTEXT_PIECE = 16 * 1024


class TLSBridgeStream(anyio.abc.ByteStream):
    """The decrypted third-party connection (server side of TLS)."""

    def __init__(self, bridge: BridgeStream, context: ssl.SSLContext) -> None:
        self._bridge = bridge
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._frames = FrameDecoder()
        self._assembler = MessageAssembler()
        self._send_lock = anyio.Lock()
        self.inbound_finished = anyio.Event()
        """The edge's side ended (CLOSE frame, END_STREAM, reset or a violation)."""
        self.failure: str | None = None
        """The first failure reason, if any."""
        self._tls_closed = False
        self._stream_ended = False
        self._fed = anyio.Event()
        self._drained = anyio.Event()

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        return {TunnelAttribute.draining: lambda: self._bridge.draining}

    @property
    def alpn(self) -> str | None:
        """The ALPN protocol chosen in the handshake."""
        return self._tls.selected_alpn_protocol()

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason

    def _finish_inbound(self) -> None:
        if not self.inbound_finished.is_set():
            self.inbound_finished.set()
            self._incoming.write_eof()

    # -- bridge I/O ---------------------------------------------------------------------

    async def _send_frame(
        self, frame: bytes, *, end_stream: bool = False, timeout: float | None = None
    ) -> None:
        if self._stream_ended:
            raise anyio.ClosedResourceError
        with anyio.move_on_after(float("inf") if timeout is None else timeout) as scope:
            try:
                async with self._send_lock:
                    if self._stream_ended:
                        raise anyio.ClosedResourceError
                    await self._bridge.send(frame, end_stream=end_stream)
            except anyio.ClosedResourceError:
                raise
            except Exception as exc:
                self._fail("outbound-error")
                self._stream_ended = True
                raise anyio.BrokenResourceError from exc
        if end_stream or scope.cancelled_caught:
            self._stream_ended = True

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            await self._send_frame(encode_frame(OP_BINARY, data, mask=True))

    async def pump(self) -> None:
        """Feed the bridge to TLS until the inbound side ends (run beside the reader).

        Reading pauses while the TLS engine holds more than ``INBOUND_HIGH_WATER``
        undecrypted bytes, so a slow plaintext reader still stalls the edge.
        """
        while not self.inbound_finished.is_set():
            while self._incoming.pending > INBOUND_HIGH_WATER:
                await self._drained.wait()
            await self._pull()
            self._fed.set()
            self._fed = anyio.Event()

    async def _more_input(self) -> None:
        """Wait until the pump fed more bytes (or the inbound side ended)."""
        if not self.inbound_finished.is_set():
            await self._fed.wait()

    def _consumed_input(self) -> None:
        if self._incoming.pending <= INBOUND_HIGH_WATER:
            self._drained.set()
            self._drained = anyio.Event()

    async def _pull(self) -> None:
        """Feed the next DATA chunk to TLS (or mark the inbound side finished)."""
        if self.inbound_finished.is_set():
            return
        try:
            data = await self._bridge.receive()
        except Exception:
            logger.debug("TCP bridge inbound failed", exc_info=True)
            self._fail("inbound-error")
            self._finish_inbound()
            return
        if not data:
            self._finish_inbound()
            return
        try:
            for raw in self._frames.feed(data):
                frame = self._assembler.add(raw)
                if frame is None or frame.opcode == OP_PONG:
                    continue
                if frame.opcode == OP_BINARY:
                    self._incoming.write(frame.payload)
                elif frame.opcode == OP_PING:
                    await self._send_frame(encode_frame(OP_PONG, frame.payload, mask=True))
                elif frame.opcode == OP_CLOSE:
                    self._finish_inbound()
                    break
                else:
                    raise FrameError("TEXT frame on a TCP bridge")
        except FrameError as exc:
            logger.warning("TCP bridge framing error from the edge: %s", exc)
            self._fail("protocol-error")
            self._finish_inbound()
        finally:
            self._bridge.consumed(len(data))

    # -- TLS ------------------------------------------------------------------------------

    async def handshake(self) -> bool:
        """Complete the TLS handshake; ``False`` (reason recorded) when it failed."""
        while True:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                await self._flush()
                if self.inbound_finished.is_set():
                    return False
                await self._more_input()
                continue
            except ssl.SSLError as exc:
                logger.info("passthrough TLS handshake failed: %s", exc)
                self._fail("tls-error")
                with contextlib.suppress(anyio.BrokenResourceError):
                    await self._flush()  # the alert
                return False
            await self._flush()
            return True

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """Decrypted bytes; ``EndOfStream`` at close_notify or when the inbound side ended."""
        while True:
            try:
                data = self._tls.read(max_bytes)
            except ssl.SSLWantReadError:
                self._consumed_input()
                await self._flush()
                await self._more_input()
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                raise anyio.EndOfStream from None
            except ssl.SSLError as exc:
                self._fail("tls-error")
                raise anyio.BrokenResourceError from exc
            self._consumed_input()
            await self._flush()
            if not data:
                raise anyio.EndOfStream
            return data

    async def send(self, item: bytes) -> None:
        """Encrypt and send (one BINARY frame per TLS output chunk)."""
        if self._tls_closed:
            raise anyio.ClosedResourceError
        view = memoryview(item)
        for start in range(0, len(view), _PLAINTEXT_PIECE):
            try:
                self._tls.write(view[start : start + _PLAINTEXT_PIECE])
            except ssl.SSLError as exc:
                self._fail("tls-error")
                raise anyio.BrokenResourceError from exc
            await self._flush()

    async def send_eof(self) -> None:
        """Send TLS close_notify (the plaintext side is done writing)."""
        if self._tls_closed:
            return
        self._tls_closed = True
        with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLError):
            self._tls.unwrap()
        await self._flush()

    async def aclose(self) -> None:
        """Same as :meth:`send_eof`; the route handler ends the bridge itself."""
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await self.send_eof()

    async def teardown(self, reason: str) -> None:
        """close_notify (1 s), then CLOSE code+reason with END_STREAM (1 s)."""
        if not self._stream_ended:
            with anyio.move_on_after(CLEANUP_SEND_TIMEOUT):
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await self.send_eof()
        if not self._stream_ended:
            payload = encode_close_payload(CLOSE_CODES.get(reason, 1011), reason)
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await self._send_frame(
                    encode_frame(OP_CLOSE, payload, mask=True),
                    end_stream=True,
                    timeout=CLEANUP_SEND_TIMEOUT,
                )
