"""The HTTP/1.1 server on a decrypted passthrough connection.

One request per connection: the response carries ``connection: close`` and
the server then closes its side (TLS close_notify) and returns, so the route
handler reaches ``clean-eof``. Requests stream to ``forwarder.open`` and
responses stream back (chunked when the target gave no length).
``Upgrade: websocket`` requests are relayed to the local WebSocket target.

Decisions: a body-less request (no ``content-length``/``transfer-encoding``,
or length 0) is forwarded with an empty body, never as a chunked stream
(0.4.4 sent ``Transfer-Encoding: chunked`` for every GET); the status line
carries the standard reason phrase (0.4.4 sent an empty one); ``Expect:
100-continue`` is answered here and not forwarded; a request with both
``transfer-encoding`` and ``content-length`` is refused (400).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, suppress

import anyio
import anyio.abc
import attrs

from inkbox_async._tunnel.contracts import EdgeSession, Forwarder, Headers, TunnelAttribute
from inkbox_async._tunnel.headers import local_response_headers
from inkbox_async._tunnel.paths import is_safe_path
from inkbox_async._tunnel.plaintext_request import (
    PlaintextRequest,
    local_request,
    reason_phrase,
    refusal_status,
)
from inkbox_async._tunnel.ws_frame_peer import FramePeer
from inkbox_async._tunnel.ws_local import WebSocketRefused, WSHandshake, open_local_websocket
from inkbox_async._tunnel.ws_relay import relay
from inkbox_wire.ws_frames import accept_key

__all__ = [
    "ChunkedDecoder",
    "H1ParseError",
    "parse_h1_request",
    "parse_request_head",
    "serve_h1",
]

logger = logging.getLogger("inkbox.tunnels")

MAX_HEAD = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00\r\n]")  # what a field value never holds (RFC 9110 §5.5)
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")


class H1ParseError(Exception):
    """Malformed HTTP/1.1 request (answered 400 ``bad request``)."""


@attrs.frozen
class BodyFraming:
    """How the request body is delimited."""

    kind: str
    """``none``, ``length`` or ``chunked``."""
    length: int = 0


def parse_request_head(head: bytes) -> tuple[PlaintextRequest, BodyFraming]:
    """Parse a request head (without the blank line); raises :class:`H1ParseError`."""
    lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise H1ParseError(f"bad request line {lines[0][:80]!r}")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise H1ParseError(f"unsupported version {version!r}")
    headers: Headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise H1ParseError(f"bad header line {line[:80]!r}")
        headers.append((name.lower(), value.strip(" \t")))
    is_websocket = (
        method == "GET"
        and any(
            n == "upgrade" and "websocket" in v.lower().replace(" ", "").split(",")
            for n, v in headers
        )
        and any(n == "sec-websocket-key" for n, _ in headers)
    )
    request = PlaintextRequest(
        method=method, target=target, headers=headers, is_websocket=is_websocket, transport="h1"
    )
    return request, _framing(headers)


def _framing(headers: Headers) -> BodyFraming:
    codings = [v for n, v in headers if n == "transfer-encoding"]
    lengths = {v.strip() for n, v in headers if n == "content-length"}
    if codings:
        if lengths:
            raise H1ParseError("both transfer-encoding and content-length")
        tokens = [t.strip().lower() for v in codings for t in v.split(",") if t.strip()]
        if not tokens or tokens[-1] != "chunked":
            raise H1ParseError("transfer-encoding without final chunked")
        return BodyFraming("chunked")
    if not lengths:
        return BodyFraming("none")
    if len(lengths) != 1 or not _DIGITS.fullmatch(next(iter(lengths))):
        raise H1ParseError("bad content-length")
    length = int(next(iter(lengths)))
    return BodyFraming("length", length) if length else BodyFraming("none")


class ChunkedDecoder:
    """Incremental ``Transfer-Encoding: chunked`` decoder (trailers are discarded)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = "size"
        self._remaining = 0
        self.done = False

    @property
    def leftover(self) -> bytes:
        """Bytes after the final CRLF (the next request, if any)."""
        return bytes(self._buffer) if self.done else b""

    def feed(self, data: bytes) -> list[bytes]:
        """Append wire bytes; return the body chunks completed."""
        buf = self._buffer
        buf += data
        out: list[bytes] = []
        while not self.done:
            if self._state == "data":
                if not buf:
                    break
                take = min(self._remaining, len(buf))
                out.append(bytes(buf[:take]))
                del buf[:take]
                self._remaining -= take
                if not self._remaining:
                    self._state = "crlf"
                continue
            if self._state == "crlf":
                if len(buf) < 2:
                    break
                if buf[:2] != b"\r\n":
                    raise H1ParseError("missing CRLF after a chunk")
                del buf[:2]
                self._state = "size"
                continue
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > 4096:
                    raise H1ParseError("chunk line too long")
                break
            line = bytes(buf[:end])
            del buf[: end + 2]
            if self._state == "trailer":
                self.done = not line
                continue
            size_text = line.split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_text):
                raise H1ParseError("bad chunk size")
            size = int(size_text, 16)
            if size:
                self._state, self._remaining = "data", size
            else:
                self._state = "trailer"
        return out


def parse_h1_request(raw: bytes) -> tuple[PlaintextRequest, bytes]:
    """Parse one complete request held in memory: the request and its de-chunked body."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        raise H1ParseError("incomplete head")
    request, framing = parse_request_head(head)
    if framing.kind == "length":
        if len(rest) < framing.length:
            raise H1ParseError("truncated body")
        return request, rest[: framing.length]
    if framing.kind == "chunked":
        decoder = ChunkedDecoder()
        body = b"".join(decoder.feed(rest))
        if not decoder.done:
            raise H1ParseError("truncated body")
        return request, body
    return request, b""


class _Reader:
    """Buffered reads off the plaintext stream."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def read_head(self) -> bytes | None:
        """The request head, or ``None`` at EOF before any byte."""
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self._buffer[:end])
                del self._buffer[: end + 4]
                return head
            if len(self._buffer) > MAX_HEAD:
                raise H1ParseError("request head too large")
            data = await self.take()
            if not data:
                if self._buffer.strip():
                    raise H1ParseError("connection closed inside the head")
                return None
            self._buffer += data

    async def take(self) -> bytes:
        """Buffered bytes first, then the next read; ``b""`` at EOF."""
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            return data
        try:
            return await self._stream.receive()
        except anyio.EndOfStream:
            return b""

    def push_back(self, data: bytes) -> None:
        self._buffer[:0] = data


@attrs.define
class _BodyState:
    expect_continue: bool
    too_large: bool = False
    truncated: bool = False


async def _body(
    stream: anyio.abc.ByteStream,
    reader: _Reader,
    framing: BodyFraming,
    cap: int,
    state: _BodyState,
) -> AsyncIterator[bytes]:
    if state.expect_continue:
        state.expect_continue = False
        await stream.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    decoder = ChunkedDecoder() if framing.kind == "chunked" else None
    remaining = framing.length
    total = 0

    def finished() -> bool:
        return decoder.done if decoder is not None else remaining <= 0

    while not finished():
        data = await reader.take()
        if not data:
            state.truncated = True
            raise H1ParseError("connection closed inside the body")
        if decoder is None:
            if len(data) > remaining:
                reader.push_back(data[remaining:])
                data = data[:remaining]
            remaining -= len(data)
            chunks = [data]
        else:
            chunks = decoder.feed(data)
            if decoder.done:
                reader.push_back(decoder.leftover)
        for chunk in chunks:
            total += len(chunk)
            if total > cap:
                state.too_large = True
                raise H1ParseError("request body too large")
            if chunk:
                yield chunk


def _head(status: int, headers: Headers) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason_phrase(status)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


async def _respond_text(stream: anyio.abc.ByteStream, status: int, text: str) -> None:
    body = text.encode()
    headers = [
        ("content-type", "text/plain"),
        ("content-length", str(len(body))),
        ("connection", "close"),
    ]
    try:
        await stream.send(_head(status, headers) + body)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        logger.debug("could not send %s to the third party", status)


async def serve_h1(
    stream: anyio.abc.ByteStream, session: EdgeSession, forwarder: Forwarder
) -> None:
    """Serve one request on ``stream``, then close the sending side."""
    try:
        await _serve_one(stream, session, forwarder)
    finally:
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await stream.send_eof()


async def _serve_one(
    stream: anyio.abc.ByteStream, session: EdgeSession, forwarder: Forwarder
) -> None:
    reader = _Reader(stream)
    try:
        head = await reader.read_head()
        if head is None:
            return
        request, framing = parse_request_head(head)
    except H1ParseError as exc:
        logger.info("passthrough HTTP/1.1 parse error: %s", exc)
        await _respond_text(stream, 400, "bad request")
        return
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        return
    if not is_safe_path(request.target):
        await _respond_text(stream, 400, "invalid path")
        return
    if request.is_websocket:
        await _websocket(stream, reader, request, session)
    else:
        await _forward(stream, reader, request, framing, session, forwarder)


async def _forward(
    stream: anyio.abc.ByteStream,
    reader: _Reader,
    request: PlaintextRequest,
    framing: BodyFraming,
    session: EdgeSession,
    forwarder: Forwarder,
) -> None:
    settings = session.settings
    cap = settings.options.max_inbound_body_bytes
    if framing.kind == "length" and framing.length > cap:
        await _respond_text(stream, 413, "payload too large")
        return
    state = _BodyState(
        expect_continue=any(
            n == "expect" and v.lower() == "100-continue" for n, v in request.headers
        )
    )
    body: bytes | AsyncIterator[bytes] = b""
    if framing.kind != "none":
        body = _body(stream, reader, framing, cap, state)
    head_sent = False
    try:
        async with forwarder.open(local_request(settings, request, body)) as response:
            status = response.status
            bodyless = request.method == "HEAD" or status in (204, 304) or status < 200
            headers = local_response_headers(response.headers)
            chunked = not bodyless and not any(n == "content-length" for n, _ in headers)
            if chunked:
                headers.append(("transfer-encoding", "chunked"))
            headers.append(("connection", "close"))
            await stream.send(_head(status, headers))
            head_sent = True
            sent = 0
            async for chunk in response.body:
                sent += len(chunk)
                if sent > settings.options.max_outbound_body_bytes:
                    logger.warning("passthrough response over the outbound cap; closing")
                    return
                if bodyless or not chunk:
                    continue
                await stream.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                await stream.send(b"0\r\n\r\n")
    except Exception as exc:
        if head_sent:
            logger.warning("passthrough response aborted: %r", exc)
        elif state.too_large:
            await _respond_text(stream, 413, "payload too large")
        elif state.truncated:
            await _respond_text(stream, 400, "bad request")
        else:
            logger.warning("passthrough dispatch failed: %r", exc)
            await _respond_text(stream, 502, "upstream error")


async def _websocket(
    stream: anyio.abc.ByteStream,
    reader: _Reader,
    request: PlaintextRequest,
    session: EdgeSession,
) -> None:
    key = next(v for n, v in request.headers if n == "sec-websocket-key")
    handshake = WSHandshake(
        raw_target=request.target,
        headers=request.headers,
        http_version="1.1",
        wire_encoding="latin-1",
    )
    async with AsyncExitStack() as stack:
        try:
            local = await stack.enter_async_context(
                open_local_websocket(
                    session.settings, handshake, accept_timeout=session.response_deadline
                )
            )
        except WebSocketRefused as refusal:
            await _respond_text(
                stream, refusal_status(session.settings, refusal), "upgrade refused"
            )
            return
        headers: Headers = [
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-accept", accept_key(key)),
        ]
        if local.subprotocol:
            headers.append(("sec-websocket-protocol", local.subprotocol))
        headers += local.headers
        await stream.send(_head(101, headers))
        draining = stream.extra(TunnelAttribute.draining, None)
        await relay(
            FramePeer(reader.take, stream.send, require_mask=True), local, draining=draining
        )
