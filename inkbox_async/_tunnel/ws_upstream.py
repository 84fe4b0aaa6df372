"""A URL upstream as the local end of a WebSocket.

The HTTP/1.1 client handshake runs over ``anyio.connect_tcp`` (TLS only for
``https://`` targets, honouring ``forward_to_verify_tls`` and
``forward_to_ca_bundle``) within one budget for connect + write + response
head; every failure becomes a :class:`WebSocketRefused` carrying the
status and reason text the public caller gets.

Decisions: upstream fragments are reassembled into whole messages (the
passthrough relay is message by message, not frame by frame); a CLOSE from
the third party is sent upstream with its code *and* reason; the upstream's
close reason is passed on (0.4.4 dropped it); invalid UTF-8 text from the
upstream closes both sides with 1007; an upstream CLOSE is echoed back.
"""

from __future__ import annotations

import base64
import logging
import os
import ssl
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import anyio
import anyio.abc

from inkbox_async._tunnel.contracts import Headers, TunnelSettings
from inkbox_async._tunnel.headers import FORWARDED_NAMES, HOP_BY_HOP_REQUEST
from inkbox_async._tunnel.ws_local import WebSocketRefused, WSHandshake, accept_headers
from inkbox_wire.ws_frames import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    CloseMessage,
    Frame,
    FrameDecoder,
    FrameError,
    MessageAssembler,
    WSMessage,
    accept_key,
    encode_frame,
    frame_to_message,
    message_to_frame,
    wire_close_code,
)

__all__ = [
    "UpstreamWebSocket",
    "handshake_request",
    "open_upstream_websocket",
    "upstream_target",
]

logger = logging.getLogger("inkbox.tunnels")

MAX_RESPONSE_HEAD = 64 * 1024
_IO_ERRORS = (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream)


def upstream_target(forward_to: str, raw_target: str) -> str:
    """``forward_to``'s path (no trailing ``/``) + the public request target."""
    base = urlsplit(forward_to).path.rstrip("/")
    return base + (raw_target if raw_target.startswith("/") else "/" + raw_target)


_DROPPED_REQUEST = HOP_BY_HOP_REQUEST | FORWARDED_NAMES | {"upgrade", "connection"}


def handshake_request(
    settings: TunnelSettings, handshake: WSHandshake, key: str, netloc: str
) -> bytes:
    """The upgrade request head sent upstream, in a fixed header order."""
    assert isinstance(settings.options.forward_to, str)
    lines = [
        f"GET {upstream_target(settings.options.forward_to, handshake.raw_target)} HTTP/1.1",
        f"Host: {netloc}",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Key: {key}",
    ]
    offer = [v for n, v in handshake.headers if n.lower() == "sec-websocket-protocol"]
    if offer:
        lines.append(f"Sec-WebSocket-Protocol: {', '.join(offer)}")
    lines += [f"X-Forwarded-Host: {settings.public_host}", "X-Forwarded-Proto: https"]
    if handshake.client_ip:
        lines.append(f"X-Forwarded-For: {handshake.client_ip}")
    for name, value in handshake.headers:
        lowered = name.lower()
        if lowered.startswith((":", "sec-websocket-")) or lowered in _DROPPED_REQUEST:
            continue
        lines.append(f"{lowered}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(handshake.wire_encoding, "replace")


def _parse_response_head(head: bytes) -> tuple[int, Headers]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"malformed status line {lines[0][:80]!r}")
    headers: Headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError("malformed header line")
        headers.append((name.strip().lower(), value.strip()))
    return int(parts[1]), headers


async def _connect(settings: TunnelSettings) -> anyio.abc.ByteStream:
    assert isinstance(settings.options.forward_to, str)
    url = urlsplit(settings.options.forward_to)
    https = url.scheme == "https"
    host = url.hostname or "localhost"
    port = url.port or (443 if https else 80)
    if not https:
        return await anyio.connect_tcp(host, port)
    context = settings.options.upstream_ssl_context
    assert context is not None  # connect() builds it for an https:// target
    return await anyio.connect_tcp(
        host, port, ssl_context=context, tls_hostname=host, tls_standard_compatible=False
    )


async def _read_head(stream: anyio.abc.ByteStream) -> tuple[bytes, bytes]:
    buffer = b""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            return buffer[:end], buffer[end + 4 :]
        if len(buffer) > MAX_RESPONSE_HEAD:
            raise ValueError("response head over 64 KiB")
        buffer += await stream.receive()


async def _handshake(
    settings: TunnelSettings, handshake: WSHandshake, timeout: float
) -> UpstreamWebSocket:
    assert isinstance(settings.options.forward_to, str)
    deadline = anyio.current_time() + timeout
    key = base64.b64encode(os.urandom(16)).decode("ascii")

    def remaining() -> float:
        return max(0.0, deadline - anyio.current_time())

    try:
        with anyio.fail_after(remaining()):
            stream = await _connect(settings)
    except TimeoutError:
        raise WebSocketRefused(504, "upstream-connect-timeout", failed=True) from None
    except (*_IO_ERRORS, ssl.SSLError) as exc:
        raise WebSocketRefused(502, f"upstream-unreachable: {exc}", failed=True) from exc
    try:
        netloc = urlsplit(settings.options.forward_to).netloc
        try:
            with anyio.fail_after(remaining()):
                await stream.send(handshake_request(settings, handshake, key, netloc))
        except TimeoutError:
            raise WebSocketRefused(504, "upstream-write-timeout", failed=True) from None
        except _IO_ERRORS as exc:
            raise WebSocketRefused(502, f"upstream-write: {exc}", failed=True) from exc
        try:
            with anyio.fail_after(remaining()):
                head, leftover = await _read_head(stream)
            status, headers = _parse_response_head(head)
        except TimeoutError:
            raise WebSocketRefused(504, "upstream-handshake-timeout", failed=True) from None
        except (*_IO_ERRORS, ValueError) as exc:
            raise WebSocketRefused(502, f"upstream-read: {exc}", failed=True) from exc
        _check_accept(status, headers, key, handshake.subprotocols)
    except BaseException:
        await anyio.aclose_forcefully(stream)
        raise
    chosen = next((v for n, v in headers if n == "sec-websocket-protocol"), None)
    return UpstreamWebSocket(stream, leftover, chosen, accept_headers(headers))


def _check_accept(status: int, headers: Headers, key: str, offered: list[str]) -> None:
    if status != 101:
        raise WebSocketRefused(status, f"upstream returned {status}")
    values = dict(headers)
    if values.get("sec-websocket-accept") != accept_key(key):
        raise WebSocketRefused(502, "upstream Sec-WebSocket-Accept mismatch", failed=True)
    extensions = values.get("sec-websocket-extensions")
    if extensions:
        raise WebSocketRefused(
            502, f"upstream negotiated unsupported extensions: {extensions}", failed=True
        )
    chosen = values.get("sec-websocket-protocol")
    if chosen is not None and chosen not in offered:
        raise WebSocketRefused(502, f"upstream-subprotocol-not-offered: {chosen}", failed=True)


class UpstreamWebSocket:
    """An upgraded upstream connection (client role: frames sent masked)."""

    def __init__(
        self,
        stream: anyio.abc.ByteStream,
        leftover: bytes,
        subprotocol: str | None,
        headers: Headers,
    ) -> None:
        self.subprotocol = subprotocol
        self.headers = headers
        self._stream = stream
        self._leftover = leftover
        self._decoder = FrameDecoder()
        self._assembler = MessageAssembler()
        self._frames: deque[Frame] = deque()
        self._write_lock = anyio.Lock()
        self._close_sent = False
        self._ended = False

    async def _write(self, data: bytes) -> None:
        try:
            async with self._write_lock:
                await self._stream.send(data)
        except _IO_ERRORS:
            logger.debug("upstream WebSocket write failed", exc_info=True)

    async def _close(self, code: int, reason: str = "") -> None:
        if not self._close_sent:
            self._close_sent = True
            await self._write(message_to_frame(CloseMessage(code, reason), mask=True))

    async def receive(self) -> WSMessage | None:
        """The upstream's next message, its close, or ``None`` on an abrupt end."""
        if self._ended:
            return None
        try:
            return await self._receive()
        except FrameError as exc:
            self._ended = True
            await self._close(exc.code)
            return CloseMessage(exc.code, "")

    async def _receive(self) -> WSMessage | None:
        while True:
            while self._frames:
                frame = self._assembler.add(self._frames.popleft())
                if frame is None or frame.opcode == OP_PONG:
                    continue
                if frame.opcode == OP_PING:
                    await self._write(encode_frame(OP_PONG, frame.payload, mask=True))
                    continue
                message = frame_to_message(frame)
                if frame.opcode == OP_CLOSE:
                    self._ended = True
                    assert isinstance(message, CloseMessage)
                    await self._close(wire_close_code(message.code))
                return message
            if self._leftover:
                data, self._leftover = self._leftover, b""
            else:
                try:
                    data = await self._stream.receive()
                except (*_IO_ERRORS, ssl.SSLError):
                    self._ended = True
                    return None
            self._frames.extend(self._decoder.feed(data))

    async def send(self, message: WSMessage) -> None:
        """Forward one third-party message (masked); a close is sent once."""
        if self._close_sent:
            return
        if isinstance(message, CloseMessage):
            await self._close(wire_close_code(message.code), message.reason)
        else:
            await self._write(message_to_frame(message, mask=True))

    async def aclose(self) -> None:
        """Close the socket (no closing handshake of its own)."""
        await anyio.aclose_forcefully(self._stream)


@asynccontextmanager
async def open_upstream_websocket(
    settings: TunnelSettings, handshake: WSHandshake, *, timeout: float
) -> AsyncIterator[UpstreamWebSocket]:
    """Handshake with the URL target; raises :class:`WebSocketRefused` on any failure."""
    websocket = await _handshake(settings, handshake, timeout)
    try:
        yield websocket
    finally:
        await websocket.aclose()
