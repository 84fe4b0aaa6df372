"""A lean keep-alive HTTP/1.1 client for ``http://`` forward targets.

The tunnel's hot path is one loopback request per public request; through
httpx2 that hop costs several times the CPU of the rest of the agent's
work, so plain-HTTP targets are spoken to here, over anyio sockets.
``https://`` targets and ``inkbox-body-uri`` fetches still go through
httpx2 (:class:`~inkbox_async._tunnel.upstream.UpstreamClient`).

The bytes on the wire are the ones the httpx2 path sends: the same
request-target normalisation (targets httpx2 would rewrite are handed to
it), the same default headers (``Accept``, ``Accept-Encoding``,
``Connection``, ``User-Agent`` when absent), ``Host`` first, the same
``Content-Length`` / chunked framing, and h11's checks on what is sent and
received. Responses: 1xx skipped; ``HEAD``/204/304 bodyless;
``content-length``, chunked or close-delimited bodies; raw bytes, no
decoding. Connections are reused (at most 20 idle, 5 s idle expiry, 100
open; an idle one the server closed is never reused). Every failure is a
:class:`ForwardError`. Connecting, sending a whole (``bytes``) request
together with reading its response head, and each later read or
streamed-body write each wait at most ``timeout`` seconds.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import AsyncGenerator, AsyncIterator
from urllib.parse import SplitResult

import anyio
import anyio.abc

from inkbox_async._tunnel.contracts import ForwardError
from inkbox_async._tunnel.plaintext_h1 import ChunkedDecoder, H1ParseError
from inkbox_async._tunnel.upstream import upstream_default_headers, upstream_request_target

__all__ = ["H1Client", "H1Response"]

MAX_CONNECTIONS = 100
MAX_IDLE = 20
IDLE_EXPIRY = 5.0
MAX_HEAD = 100 * 1024
_READ_SIZE = 65536

# h11's grammar (RFC 9110/9112) for what is sent and received.
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_FIELD_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")
_HEADER_LINE = re.compile(rb"([-!#$%&'*+.^_`|~0-9a-zA-Z]+):[ \t]*(.*?)[ \t]*")
_STATUS_LINE = re.compile(rb"HTTP/([0-9]\.[0-9]) ([0-9]{3})(?: (?:[ \t]|[^\x00\s])*)?")
_HEAD_END = re.compile(rb"\n\r?\n")
_LINE_BREAK = re.compile(rb"\r?\n")
_DIGITS = re.compile(rb"[0-9]+")
# Request targets httpx2 sends as given: no dot segments, nothing it percent-encodes.
_PLAIN_TARGET = re.compile(r"/[!$-;=@-_a-z|~]*(?:\?[!$-;=?-~]*)?")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|\?|$)")
_BODYLESS_METHODS = frozenset({"POST", "PUT", "PATCH", "QUERY"})
_FRAMING_NAMES = frozenset({b"content-length", b"transfer-encoding"})


class H1Response:
    """A response whose body is still on the wire; :meth:`aclose` releases the connection."""

    def __init__(
        self, client: H1Client, conn: _Connection, status: int, headers: list[tuple[str, str]]
    ):
        self._client = client
        self._conn: _Connection | None = conn
        self.status = status
        self.headers = headers
        """Header fields in arrival order, duplicates kept (bytes kept via surrogateescape)."""
        self._kind = "none"
        self._remaining = 0
        self._keep_alive = False
        self._done = False

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The body as sent; raises :class:`ForwardError`."""
        conn = self._conn
        if conn is None:
            return
        if self._kind == "length":
            remaining = self._remaining
            while remaining:
                data = conn.take(remaining) or await conn.receive(self._client.timeout)
                if not data:
                    raise ForwardError("the upstream closed the connection inside the body")
                if len(data) > remaining:
                    conn.buffer[:0] = data[remaining:]
                    data = data[:remaining]
                remaining -= len(data)
                yield data
        elif self._kind == "chunked":
            decoder = ChunkedDecoder()
            data = conn.take(None)
            while True:
                try:
                    parts = decoder.feed(data)
                except H1ParseError as exc:
                    raise ForwardError(f"bad chunked body from the upstream: {exc}") from None
                for part in parts:
                    if part:
                        yield part
                if decoder.done:
                    if decoder.leftover:
                        self._keep_alive = False  # bytes nobody asked for
                    break
                data = await conn.receive(self._client.timeout)
                if not data:
                    raise ForwardError("the upstream closed the connection inside the body")
        elif self._kind == "close":
            data = conn.take(None)
            while True:
                if data:
                    yield data
                data = await conn.receive(self._client.timeout)
                if not data:
                    break
        self._done = True

    async def aclose(self) -> None:
        """Release the connection (kept for reuse only if the body was read to the end)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            reuse = self._done and self._keep_alive and not conn.buffer
            await self._client._release(conn, reuse=reuse)


class _Connection:
    def __init__(self, stream: anyio.abc.SocketStream) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.idle_since = 0.0

    def take(self, limit: int | None) -> bytes:
        buffer = self.buffer
        if not buffer:
            return b""
        if limit is None or len(buffer) <= limit:
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:limit])
            del buffer[:limit]
        return data

    async def receive(self, timeout: float | None) -> bytes:
        """The next bytes; ``b""`` at EOF. ``None``: the caller's scope bounds the wait."""
        if timeout is None:
            return await self._receive()
        with anyio.CancelScope(deadline=anyio.current_time() + timeout) as scope:
            return await self._receive()
        if scope.cancelled_caught:
            raise ForwardError("timed out reading from the upstream")
        raise AssertionError  # pragma: no cover

    async def _receive(self) -> bytes:
        try:
            return await self.stream.receive(_READ_SIZE)
        except anyio.EndOfStream:
            return b""
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise ForwardError(f"reading from the upstream failed: {exc!r}") from exc

    async def send(self, data: bytes, timeout: float | None) -> None:
        """Write ``data``. ``None``: the caller's scope bounds the wait."""
        if timeout is None:
            await self._send(data)
            return
        with anyio.CancelScope(deadline=anyio.current_time() + timeout) as scope:
            await self._send(data)
        if scope.cancelled_caught:
            raise ForwardError("timed out writing to the upstream")

    async def _send(self, data: bytes) -> None:
        try:
            await self.stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise ForwardError(f"writing to the upstream failed: {exc!r}") from exc

    def usable(self, now: float) -> bool:
        """Idle, fresh and not readable (a readable idle socket was closed by the server)."""
        if now - self.idle_since > IDLE_EXPIRY:
            return False
        try:
            sock: socket.socket = self.stream.extra(anyio.abc.SocketAttribute.raw_socket)
            if not hasattr(select, "poll"):  # pragma: no cover - Windows
                return not select.select([sock], [], [], 0)[0]
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError, anyio.TypedAttributeLookupError):
            return False


class H1Client:
    """A pooled HTTP/1.1 client for one ``http://`` origin."""

    def __init__(self, base: SplitResult, *, timeout: float) -> None:
        self.timeout = timeout
        self._base = base
        self._host = base.hostname or ""
        self._port = base.port or 80
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._netloc = (host if self._port == 80 else f"{host}:{self._port}").encode("ascii")
        self._prefix = base.path.rstrip("/")
        self._defaults = upstream_default_headers()
        self._idle: list[_Connection] = []
        self._open = 0
        self._freed = anyio.Event()
        self._closed = False

    async def open(
        self,
        method: str,
        raw_path: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes],
    ) -> H1Response:
        """Send the request; returns once the response head arrived."""
        if not raw_path.startswith("/"):
            raw_path = "/" + raw_path
        target = self._prefix + raw_path
        if not _PLAIN_TARGET.fullmatch(target) or _DOT_SEGMENT.search(target.partition("?")[0]):
            base = self._base
            target = upstream_request_target(f"{base.scheme}://{base.netloc}{target}")
        method = method.upper()
        head, length, chunked = self._head(method, target, headers, body)
        conn = await self._acquire()
        try:
            if not isinstance(body, bytes):
                await self._send(conn, head, body, length, chunked)
                return await self._response(conn, method, self.timeout)
            # one deadline for writing the whole request and reading the response head
            with anyio.CancelScope(deadline=anyio.current_time() + self.timeout):
                await conn.send(head + _framed(body, chunked), None)
                return await self._response(conn, method, None)
            raise ForwardError("timed out waiting for the upstream's response")
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._release(conn, reuse=False)
            raise

    def _head(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes],
    ) -> tuple[bytes, int | None, bool]:
        """The request head as httpx2 + h11 write it; the declared length; chunked or not."""
        fields = [
            (name.encode("utf-8", "surrogateescape"), value.encode("utf-8", "surrogateescape"))
            for name, value in headers
        ]
        names = {name.lower() for name, _ in fields}
        merged = [field for field in self._defaults if field[0].lower() not in names]
        merged += fields
        size = len(body) if isinstance(body, bytes) else None
        if b"content-length" not in names and b"transfer-encoding" not in names:
            if size:
                merged.append((b"Content-Length", str(size).encode("ascii")))
                names.add(b"content-length")
            elif size is None:
                merged.append((b"Transfer-Encoding", b"chunked"))
                names.add(b"transfer-encoding")
        if b"host" not in names:
            merged.insert(0, (b"Host", self._netloc))
        if method in _BODYLESS_METHODS and not names & _FRAMING_NAMES:
            merged.insert(0 if b"host" in names else 1, (b"Content-Length", b"0"))
        if not _TOKEN.fullmatch(method.encode("utf-8", "surrogateescape")):
            raise ForwardError(f"illegal method {method!r}")
        hosts: list[bytes] = []
        rest: list[bytes] = []
        framing = _Framing()
        for name, value in merged:
            if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
                raise ForwardError(f"illegal request header {name!r}")
            lowered = name.lower()
            checked = framing.check(lowered, value, "request")
            if checked is None:
                continue
            value = checked
            line = name + b": " + value + b"\r\n"
            (hosts if lowered == b"host" else rest).append(line)
        if len(hosts) > 1:
            raise ForwardError("multiple host headers")
        chunked = framing.chunked
        declared = int(framing.length) if framing.length is not None and not chunked else None
        if size is not None and size != (declared or 0) and not chunked:
            raise ForwardError("the body does not match the declared content-length")
        request_line = f"{method} {target} HTTP/1.1\r\n".encode("ascii")
        return b"".join([request_line, *hosts, *rest, b"\r\n"]), declared, chunked

    async def _send(
        self,
        conn: _Connection,
        head: bytes,
        body: bytes | AsyncIterator[bytes],
        length: int | None,
        chunked: bool,
    ) -> None:
        timeout = self.timeout
        if isinstance(body, bytes):
            await conn.send(head + _framed(body, chunked), timeout)
            return
        await conn.send(head, timeout)
        sent = 0
        async for chunk in body:
            if not chunk:
                continue
            sent += len(chunk)
            if length is not None and sent > length:
                raise ForwardError("too much request body for the declared content-length")
            await conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk, timeout)
        if chunked:
            await conn.send(b"0\r\n\r\n", timeout)
        elif sent != (length or 0):
            raise ForwardError("too little request body for the declared content-length")

    async def _response(self, conn: _Connection, method: str, timeout: float | None) -> H1Response:
        while True:
            lines = await self._read_head(conn, timeout)
            match = _STATUS_LINE.fullmatch(lines[0])
            if match is None:
                raise ForwardError(f"illegal status line from the upstream: {lines[0][:80]!r}")
            status = int(match[2])
            fields = _parse_fields(lines[1:])
            if status == 101:
                raise ForwardError("the upstream switched protocols unasked")
            if status >= 200:
                break
        headers: list[tuple[str, str]] = []
        connection = b""
        framing = _Framing()
        for name, value in fields:
            lowered = name.lower()
            checked = framing.check(lowered, value, "response")
            if checked is None:
                continue
            value = checked
            if lowered == b"connection":
                connection += b"," + value.lower()
            headers.append(
                (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            )
        response = H1Response(self, conn, status, headers)
        response._keep_alive = match[1] == b"1.1" and b"close" not in {
            token.strip() for token in connection.split(b",")
        }
        if method == "HEAD" or status in (204, 304):
            pass
        elif framing.chunked:
            response._kind = "chunked"
        elif framing.length is not None:
            response._remaining = int(framing.length)
            response._kind = "length" if response._remaining else "none"
        else:
            response._kind = "close"
            response._keep_alive = False
        response._done = response._kind == "none"
        return response

    async def _read_head(self, conn: _Connection, timeout: float | None) -> list[bytes]:
        buffer = conn.buffer
        searched = 0
        while True:
            end = _HEAD_END.search(buffer, max(searched - 3, 0))
            if end is not None:
                head = bytes(buffer[: end.start()]).removesuffix(b"\r")
                del buffer[: end.end()]
                return _LINE_BREAK.split(head)
            if len(buffer) > MAX_HEAD:
                raise ForwardError("the upstream's response head is too large")
            searched = len(buffer)
            data = await conn.receive(timeout)
            if not data:
                raise ForwardError("the upstream disconnected without sending a response")
            buffer += data

    # -- the pool ------------------------------------------------------------------

    async def _acquire(self) -> _Connection:
        if self._closed:
            raise ForwardError("the upstream client is closed")
        idle = self._idle
        if idle:
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if conn.usable(now):
                    return conn
                await self._drop(conn)
        if self._open >= MAX_CONNECTIONS:
            with anyio.move_on_after(self.timeout):
                while self._open >= MAX_CONNECTIONS:
                    await self._freed.wait()
            if self._open >= MAX_CONNECTIONS:
                raise ForwardError("timed out waiting for a connection to the upstream")
        self._open += 1
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + self.timeout) as scope:
                stream = await anyio.connect_tcp(self._host, self._port)
        except OSError as exc:
            self._open -= 1
            raise ForwardError(f"could not connect to the upstream: {exc!r}") from exc
        except BaseException:
            self._open -= 1
            raise
        if scope.cancelled_caught:
            self._open -= 1
            raise ForwardError("timed out connecting to the upstream")
        return _Connection(stream)

    async def _release(self, conn: _Connection, *, reuse: bool) -> None:
        if reuse and not self._closed and len(self._idle) < MAX_IDLE:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
            return
        await self._drop(conn)

    async def _drop(self, conn: _Connection) -> None:
        self._open -= 1
        event, self._freed = self._freed, anyio.Event()
        event.set()
        await anyio.aclose_forcefully(conn.stream)

    async def aclose(self) -> None:
        """Close the idle connections; later requests fail."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._drop(conn)


class _Framing:
    """``content-length`` / ``transfer-encoding`` fields, checked and de-duplicated as h11 does."""

    def __init__(self) -> None:
        self.length: bytes | None = None
        self.chunked = False

    def check(self, lowered: bytes, value: bytes, side: str) -> bytes | None:
        """The value to send on, ``None`` for a repeated identical length; raises ForwardError."""
        if lowered not in _FRAMING_NAMES:
            return value
        if lowered == b"transfer-encoding":
            if self.chunked or value.lower() != b"chunked":
                raise ForwardError(f"{side}: only transfer-encoding: chunked is supported")
            self.chunked = True
            return b"chunked"
        values = {each.strip() for each in value.split(b",")}
        value = values.pop()
        if values or not _DIGITS.fullmatch(value):
            raise ForwardError(f"{side}: bad content-length")
        if self.length is None:
            self.length = value
            return value
        if value != self.length:
            raise ForwardError(f"{side}: conflicting content-length headers")
        return None


def _framed(body: bytes, chunked: bool) -> bytes:
    """A whole request body as sent: as is, or as one chunk plus the last-chunk."""
    if not chunked:
        return body
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"


def _parse_fields(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    folded: list[bytes] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):  # obsolete line folding, joined as h11 does
            if not folded:
                raise ForwardError("continuation line at the start of the upstream's headers")
            folded[-1] += b" " + line.lstrip(b" \t")
        else:
            folded.append(line)
    fields: list[tuple[bytes, bytes]] = []
    for line in folded:
        match = _HEADER_LINE.fullmatch(line)
        if match is None or not _FIELD_VALUE.fullmatch(match[2]):
            raise ForwardError(f"illegal header line from the upstream: {line[:80]!r}")
        fields.append((match[1], match[2]))
    return fields
