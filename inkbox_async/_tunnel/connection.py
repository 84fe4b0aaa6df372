"""The agent's HTTP/2 client connection to the edge, over an anyio TLS stream.

One reader task feeds the protocol engine (:mod:`inkbox_wire.h2_client`); one writer
task flushes whatever the engine queued. Every other operation mutates the
engine synchronously and wakes the writer, so frames leave in the order they
were produced and no socket write is ever interrupted half-way.

Flow control: receive windows stay at the 65 535-byte defaults.
Connection-level credit is returned by the engine as DATA arrives (every
stream's backlog is bounded by its own window); stream-level credit is
returned at once on ordinary streams and, on bridge streams, only when the
consumer calls :meth:`H2Stream.consumed`. Outbound DATA waits for both
windows and never exceeds the peer's MAX_FRAME_SIZE.

A GOAWAY with NO_ERROR is a drain (Appendix A): streams the edge already
accepted keep working, later ones are refused locally, and no new stream is
opened; any other GOAWAY ends the connection.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from collections import deque

import anyio
import anyio.abc
import anyio.lowlevel
import hpack
from anyio.streams.tls import TLSStream

from inkbox_async._tunnel.contracts import Headers, TunnelSettings
from inkbox_wire.h2_client import (
    CANCEL,
    CONNECTION_FIELDS,
    REFUSED_STREAM,
    ClientEngine,
    Fields,
    ProtocolError,
    StreamClosedError,
    header_list_size,
)

__all__ = [
    "ConnectionClosedError",
    "EdgeConnection",
    "GoAway",
    "H2Stream",
    "PreparedHeaders",
    "StreamResetError",
    "dial",
    "prepare_headers",
]

logger = logging.getLogger("inkbox.tunnels")

DIAL_TIMEOUT = 30.0
_CREDIT_BATCH = 16384
_READ_SIZE = 65536


class StreamResetError(Exception):
    """The stream was reset (by the edge or locally) or its connection is gone."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ConnectionClosedError(StreamResetError):
    """The connection ended (or stopped accepting streams) before the stream finished."""


class GoAway:
    """A GOAWAY received from the edge."""

    def __init__(self, error_code: int, last_stream_id: int, debug: bytes) -> None:
        self.error_code = error_code
        self.last_stream_id = last_stream_id
        self.debug = debug

    def __repr__(self) -> str:
        return f"GoAway(error_code={self.error_code:#x}, last_stream_id={self.last_stream_id})"


def edge_ssl_context(settings: TunnelSettings) -> ssl.SSLContext:
    """The client context for the edge: the given one (ALPN set on it) or the system store."""
    context = settings.options.edge_ssl_context or ssl.create_default_context()
    context.set_alpn_protocols(["h2"])
    return context


async def dial(settings: TunnelSettings, context: ssl.SSLContext) -> EdgeConnection:
    """TCP + TLS (SNI = the zone's host, ALPN ``h2``) to the edge, bounded by 30 s.

    The TLS stream is standard-compatible so that an orderly close (TLS
    close_notify: outcome ``eof``) is told apart from a truncated or reset
    connection (``io-error``); closing never waits for the peer (the
    transport is aborted).
    """
    with anyio.fail_after(DIAL_TIMEOUT):
        stream = await anyio.connect_tcp(
            settings.edge_host,
            settings.edge_port,
            tls=True,
            ssl_context=context,
            tls_hostname=settings.zone_host,
            tls_standard_compatible=True,
        )
    _tune_socket(stream)
    return EdgeConnection(stream)


def _tune_socket(stream: TLSStream) -> None:
    try:
        sock: socket.socket = stream.extra(anyio.abc.SocketAttribute.raw_socket)
    except Exception:
        return
    options = [
        (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    ]
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    for level, option, value in options:
        with contextlib.suppress(OSError):
            sock.setsockopt(level, option, value)


_REQUEST_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path", b":protocol"})
_SECRET_FIELDS = frozenset(
    {b"authorization", b"proxy-authorization", b"x-api-key", b"x-owner-token"}
)


class PreparedHeaders:
    """A request header block already normalised and checked (see :func:`prepare_headers`)."""

    __slots__ = ("encoded", "fields")

    def __init__(self, fields: list[tuple[bytes, bytes]]) -> None:
        self.fields = fields
        self.encoded: bytes | None = None
        """The HPACK bytes, once a connection encoded them (they hold for any connection)."""


def prepare_headers(headers: Headers) -> PreparedHeaders:
    """A request header block normalised and checked once, ready for any connection.

    The rules of ``h2``'s outbound normalisation and validation, which the
    agent used before it had its own engine: names lower-cased, names
    and values stripped, connection-specific fields dropped, credentials
    (``authorization``, ``x-api-key``, ``x-owner-token``) and short ``cookie``
    values marked never-indexed; pseudo-headers first, unique,
    known and complete, ``te`` only ``trailers``, ``host`` / ``:authority``
    consistent, no empty ``:path``. Raises :class:`StreamResetError`.
    """
    fields: list[tuple[bytes, bytes]] = []
    pseudo: dict[bytes, bytes] = {}
    host: bytes | None = None
    for name, value in headers:
        field = name.encode("utf-8", "surrogateescape").lower().strip()
        data = value.encode("utf-8", "surrogateescape").strip()
        if field in CONNECTION_FIELDS:
            continue
        if field[:1] == b":":
            if field in pseudo or field not in _REQUEST_PSEUDO or len(pseudo) < len(fields):
                raise _refused(f"misplaced, repeated or unknown pseudo-header {field!r}")
            pseudo[field] = data
        elif field == b"te" and data.lower() != b"trailers":
            raise _refused(f"invalid value for TE header: {data!r}")
        elif field == b"host":
            if host is not None:
                raise _refused("multiple host headers")
            host = data
        if field in _SECRET_FIELDS or (field == b"cookie" and len(data) < 20):
            fields.append(hpack.NeverIndexedHeaderTuple(field, data))
        else:
            fields.append((field, data))
    method = pseudo.get(b":method")
    plain_connect = method == b"CONNECT" and b":protocol" not in pseudo
    if method is None or (b":protocol" in pseudo and method != b"CONNECT"):
        raise _refused("missing :method, or :protocol without CONNECT")
    if plain_connect:
        if b":scheme" in pseudo or b":path" in pseudo:
            raise _refused("plain CONNECT must not have :scheme or :path")
    elif b":scheme" not in pseudo or b":path" not in pseudo:
        raise _refused("missing :scheme or :path")
    authority = pseudo.get(b":authority", host)
    if authority is None or (host is not None and host != authority):
        raise _refused("missing or mismatched :authority and host")
    if pseudo.get(b":path") == b"":
        raise _refused("an empty :path header is forbidden")
    return PreparedHeaders(fields)


def _refused(problem: str) -> StreamResetError:
    return StreamResetError(f"could not send request headers: {problem}")


def _decode(fields: Fields) -> Headers:
    return [
        (name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
        for name, value in fields
    ]


class EdgeConnection:
    """One HTTP/2 client connection; call :meth:`run` in a task, open streams from others."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream
        self._engine = ClientEngine(self)
        self._streams: dict[int, H2Stream] = {}
        self._wakeup = anyio.Event()
        self._changed: anyio.Event | None = None  # made when a task waits for a change
        self._pings: dict[bytes, anyio.Event] = {}
        self._scope: anyio.CancelScope | None = None
        self._abort_requested = False
        self.goaway: GoAway | None = None
        """The first GOAWAY the edge sent, if any."""
        self.goaway_received = anyio.Event()
        self.retiring = anyio.Event()
        """Set when a drain's replacement took over and this connection is being retired."""
        self.closed = False
        self.outcome = ""
        """Why :meth:`run` ended: ``eof``, ``protocol-error``, ``io-error``, ``goaway`` or ``aborted``."""

    # -- lifecycle -----------------------------------------------------------------

    async def run(self) -> str:
        """Pump frames until EOF, an error, a fatal GOAWAY or :meth:`abort`; returns :attr:`outcome`.

        The transport is always aborted (not gracefully closed) on the way out.
        """
        try:
            async with anyio.create_task_group() as tg:
                self._scope = tg.cancel_scope
                if self._abort_requested:
                    tg.cancel_scope.cancel()
                self._wake_writer()
                tg.start_soon(self._write_loop, tg.cancel_scope)
                await self._read_loop()
                tg.cancel_scope.cancel()
        finally:
            self._close("aborted")
            await anyio.aclose_forcefully(self._stream)
        return self.outcome

    def abort(self) -> None:
        """Drop the connection now (safe from any task, before or during :meth:`run`)."""
        self._abort_requested = True
        self._close("aborted")
        if self._scope is not None:
            self._scope.cancel()

    @property
    def max_header_list_size(self) -> int:
        """The largest header list the edge takes (its SETTINGS, or ``h2``'s default)."""
        return self._engine.max_header_list_size

    @property
    def accepts_streams(self) -> bool:
        """Still open and no GOAWAY received (new streams would be served)."""
        return not self.closed and self.goaway is None

    def _close(self, outcome: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.outcome = outcome
        for stream in list(self._streams.values()):
            stream._on_reset(None, closed=True)
        self._streams.clear()
        for event in self._pings.values():
            event.set()
        self._notify()

    async def _read_loop(self) -> None:
        while not self.closed:
            try:
                data = await self._stream.receive(_READ_SIZE)
            except anyio.EndOfStream:
                self._close("eof")
                return
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                self._close("io-error")
                return
            try:
                self._engine.receive(data)
            except ProtocolError as exc:
                logger.warning("tunnel edge connection: HTTP/2 protocol error: %s", exc)
                self._close("protocol-error")
                return
            self._wake_writer()

    async def _write_loop(self, scope: anyio.CancelScope) -> None:
        while True:
            await self._wakeup.wait()
            # One more scheduling round: frames queued by tasks woken with this one leave together.
            await anyio.lowlevel.checkpoint()
            self._wakeup = anyio.Event()
            data = self._engine.data_to_send()
            if not data:
                continue
            try:
                await self._stream.send(data)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                self._close("io-error")
                scope.cancel()
                return

    def _wake_writer(self) -> None:
        self._wakeup.set()

    def _notify(self) -> None:
        event, self._changed = self._changed, None
        if event is not None:
            event.set()

    async def _wait_change(self) -> None:
        event = self._changed
        if event is None:
            event = self._changed = anyio.Event()
        await event.wait()

    # -- inbound events ------------------------------------------------------------

    def on_head(self, stream_id: int, fields: Fields) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream._on_head(_decode(fields))

    def on_data(self, stream_id: int, data: bytes, flow: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        if stream.bridge:
            stream._credit(flow - len(data))  # padding is never delivered
        else:
            stream._credit(flow)
        if data:
            stream._on_data(data)

    def on_end(self, stream_id: int) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is not None:
            stream._on_end()
        self._notify()

    def on_head_too_large(self, stream_id: int, fields: Fields) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.head_too_large = _decode(fields)

    def on_reset(self, stream_id: int, code: int) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is not None:
            stream._on_reset(code)
        self._notify()

    def on_window(self) -> None:
        self._notify()

    def _credit_stream(self, sid: int, size: int) -> None:
        self._engine.credit(sid, size)
        self._wake_writer()

    def on_ping_ack(self, payload: bytes) -> None:
        event = self._pings.pop(payload, None)
        if event is None:  # an ACK without our payload still proves liveness
            events, self._pings = list(self._pings.values()), {}
            for each in events:
                each.set()
        else:
            event.set()

    def on_goaway(self, code: int, last_stream_id: int, debug: bytes) -> None:
        if self.goaway is None:
            self.goaway = GoAway(code, last_stream_id, debug)
            self.goaway_received.set()
        if code != 0:
            self._close("goaway")
            return
        # A drain: streams up to last_stream_id go on; later ones were never seen.
        for sid in [sid for sid in self._streams if sid > last_stream_id]:
            self._engine.forget(sid)
            self._streams.pop(sid)._on_reset(REFUSED_STREAM)
        self._notify()

    # -- outbound ------------------------------------------------------------------

    def ping(self) -> anyio.Event:
        """Send a PING (8-byte monotonic-ns payload); the event is set on its ACK or on close."""
        event = anyio.Event()
        if self.closed:
            event.set()
            return event
        payload = time.monotonic_ns().to_bytes(8, "big")
        self._pings[payload] = event
        self._engine.ping(payload)
        self._wake_writer()
        return event

    async def open_stream(
        self, headers: Headers | PreparedHeaders, *, end_stream: bool, bridge: bool = False
    ) -> H2Stream:
        """Send a request's HEADERS; waits while the edge's stream limit is reached.

        A header list over the edge's SETTINGS_MAX_HEADER_LIST_SIZE is refused
        here (:class:`StreamResetError`): the edge would drop the connection for it.
        """
        if not isinstance(headers, PreparedHeaders):
            headers = prepare_headers(headers)
        if header_list_size(headers.fields) > self.max_header_list_size:
            raise _refused("the header list is larger than the edge accepts")
        while True:
            if not self.accepts_streams:
                raise ConnectionClosedError("the edge connection no longer accepts streams")
            if self._engine.open_streams < self._engine.max_streams:
                break
            await self._wait_change()
        if headers.encoded is None:
            headers.encoded = self._engine.encode_fields(headers.fields)
        try:
            sid = self._engine.open_stream(
                headers.fields, end_stream=end_stream, encoded=headers.encoded
            )
        except StreamClosedError as exc:
            raise ConnectionClosedError(str(exc)) from exc
        stream = H2Stream(self, sid, bridge=bridge, ended_local=end_stream)
        self._streams[sid] = stream
        self._wake_writer()
        return stream

    async def _send_data(self, stream: H2Stream, data: bytes, end_stream: bool) -> None:
        view = memoryview(data)
        while view:
            if self.closed:
                raise ConnectionClosedError("the edge connection is closed")
            try:
                window = self._engine.send_window(stream.id)
            except StreamClosedError as exc:
                raise StreamResetError("the stream is closed", stream.reset_code) from exc
            size = min(window, self._engine.max_frame_size, len(view))
            if size <= 0:
                await self._wait_change()
                continue
            last = end_stream and size == len(view)
            try:
                self._engine.send_data(stream.id, bytes(view[:size]), end_stream=last)
            except StreamClosedError as exc:
                raise StreamResetError("the stream is closed", stream.reset_code) from exc
            view = view[size:]
            self._wake_writer()
        if end_stream and not data:
            self._end_stream(stream)

    def _end_stream(self, stream: H2Stream) -> None:
        if self.closed:
            raise ConnectionClosedError("the edge connection is closed")
        try:
            self._engine.end_stream(stream.id)
        except StreamClosedError as exc:
            raise StreamResetError("the stream is closed", stream.reset_code) from exc
        self._wake_writer()

    def _reset_stream(self, stream: H2Stream) -> None:
        self._streams.pop(stream.id, None)
        if self.closed:
            return
        self._engine.reset_stream(stream.id, CANCEL)
        self._wake_writer()
        self._notify()


class H2Stream:
    """One client-initiated stream; a bridge stream implements ``BridgeStream``."""

    def __init__(self, conn: EdgeConnection, sid: int, *, bridge: bool, ended_local: bool) -> None:
        self._conn = conn
        self.id = sid
        self.bridge = bridge
        self.status: int | None = None
        self.headers: Headers = []
        self.reset_code: int | None = None
        self.head_too_large: Headers | None = None
        """The leading fields of a response head refused for its size (the stream was reset)."""
        self._data: deque[bytes] = deque()
        self._signal: anyio.Event | None = None  # made when a task waits; set on any news
        self._ended = False
        self._failed: StreamResetError | None = None
        self._ended_local = ended_local
        self._uncredited = 0

    # inbound callbacks (reader task)

    def _on_head(self, headers: Headers) -> None:
        self.headers = [(name, value) for name, value in headers if not name.startswith(":")]
        status = next((value for name, value in headers if name == ":status"), "0")
        self.status = int(status) if status.isdigit() else 0
        self._wake()

    def _on_data(self, data: bytes) -> None:
        self._data.append(data)
        self._wake()

    def _on_end(self) -> None:
        self._ended = True
        self._wake()

    def _on_reset(self, code: int | None, *, closed: bool = False) -> None:
        if self._ended or self._failed is not None:
            return
        self.reset_code = code
        self._failed = (
            ConnectionClosedError("the edge connection closed")
            if closed
            else StreamResetError(f"stream reset by the edge (code {code})", code)
        )
        self._wake()

    def _wake(self) -> None:
        event, self._signal = self._signal, None
        if event is not None:
            event.set()

    async def _wait(self) -> None:
        event = self._signal
        if event is None:
            event = self._signal = anyio.Event()
        await event.wait()

    @property
    def draining(self) -> anyio.Event:
        """Set once this stream's connection is being retired after a drain."""
        return self._conn.retiring

    # reading

    async def response(self) -> tuple[int, Headers]:
        """Wait for the response head; raises :class:`StreamResetError` if none comes."""
        while self.status is None and not self._ended and self._failed is None:
            await self._wait()
        if self.status is None:
            raise self._failed or StreamResetError("stream ended without a response")
        return self.status, self.headers

    async def receive(self) -> bytes:
        """Next DATA bytes; ``b""`` once the edge ended the stream; raises on a reset."""
        while not self._data:
            if self._ended:
                return b""
            if self._failed is not None:
                raise self._failed
            await self._wait()
        return self._data.popleft()

    async def read_body(self, limit: int) -> tuple[bytes, bool]:
        """The whole body, keeping at most ``limit`` bytes; ``(body, too_large)``."""
        parts: list[bytes] = []
        size = 0
        too_large = False
        while chunk := await self.receive():
            size += len(chunk)
            if size > limit:
                too_large = True
                parts.clear()
            elif not too_large:
                parts.append(chunk)
        return b"".join(parts), too_large

    def consumed(self, n: int) -> None:
        """Return stream credit for ``n`` bytes delivered locally (bridge streams)."""
        if self.bridge:
            self._credit(n)

    def _credit(self, n: int) -> None:
        # Batched below a quarter window, so the edge always keeps credit to send.
        if n <= 0:
            return
        self._uncredited += n
        if self._uncredited >= _CREDIT_BATCH:
            size, self._uncredited = self._uncredited, 0
            if not self._ended and self._failed is None:
                self._conn._credit_stream(self.id, size)

    # writing

    async def send(self, data: bytes, *, end_stream: bool = False) -> None:
        """Send DATA within the flow-control windows (waits for credit)."""
        if self._ended_local:
            raise StreamResetError("the stream was already ended")
        if self._failed is not None and not self._ended:
            raise self._failed
        if end_stream:
            self._ended_local = True
        await self._conn._send_data(self, data, end_stream)

    async def end(self) -> None:
        """Send an empty DATA frame with END_STREAM unless already ended."""
        if self._ended_local or self._failed is not None:
            return
        self._ended_local = True
        self._conn._end_stream(self)

    def reset(self) -> None:
        """RST_STREAM(CANCEL) unless the stream is already finished both ways."""
        if (self._ended and self._ended_local) or self._failed is not None:
            return
        self._failed = StreamResetError("stream reset locally", CANCEL)
        self._ended_local = True
        self._conn._reset_stream(self)
        self._wake()
