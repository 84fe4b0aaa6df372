"""A lean HTTP/2 server endpoint without I/O, for the edge's agent connections (RFC 9113).

It does what the tunnel edge needs from HTTP/2 and no more: the client
preface, client-initiated streams, request HEADERS and CONTINUATION, DATA
with flow control both ways, SETTINGS, PING, WINDOW_UPDATE, RST_STREAM and
GOAWAY. The general-purpose ``h2`` state machine spent more CPU per frame
than the rest of the edge's agent side; this one does the same checks on
the frames it receives with a dictionary of open streams and a few
integers.

Inbound events go straight to a :class:`Handler`'s methods. A malformed
request header block resets its stream (a stream error, RFC 9113 §8.1.1);
a connection error queues GOAWAY with its code and raises
:class:`ProtocolError`, after which the connection must be dropped.
:meth:`ServerEngine.goaway` writes a GOAWAY without ending anything: the
streams the agent opens afterwards are still served (an edge's drain relies on
that).
"""

from __future__ import annotations

import re
import struct
from typing import Protocol, cast

from hpack import HPACKError, NeverIndexedHeaderTuple, OversizedHeaderListError

from ._edge_hpack import EdgeDecoder, EdgeEncoder

__all__ = [
    "CANCEL",
    "PROTOCOL_ERROR",
    "REFUSED_STREAM",
    "Handler",
    "ProtocolError",
    "ServerEngine",
    "StreamClosedError",
    "check_request",
    "header_list_size",
]


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

_DATA, _HEADERS, _PRIORITY, _RST_STREAM, _SETTINGS = 0, 1, 2, 3, 4
_PUSH_PROMISE, _PING, _GOAWAY, _WINDOW_UPDATE, _CONTINUATION = 5, 6, 7, 8, 9
_END_STREAM = _ACK = 0x1
_END_HEADERS = 0x4
_PADDED = 0x8
_PRIORITY_FLAG = 0x20

NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
FLOW_CONTROL_ERROR = 0x3
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB

_HEADER_TABLE_SIZE = 0x1
_ENABLE_PUSH = 0x2
_MAX_CONCURRENT_STREAMS = 0x3
_INITIAL_WINDOW_SIZE = 0x4
_MAX_FRAME_SIZE = 0x5
_MAX_HEADER_LIST_SIZE = 0x6
_ENABLE_CONNECT_PROTOCOL = 0x8

DEFAULT_WINDOW = 65535
MAX_WINDOW = 2**31 - 1
MAX_FRAME = 16384  # we never raise SETTINGS_MAX_FRAME_SIZE
RECEIVE_WINDOW = 1 << 20
"""Our SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window."""
CONNECTION_WINDOW = 1 << 24
"""The connection's receive window (raised by a WINDOW_UPDATE right after SETTINGS)."""
MAX_STREAMS = 1000
MAX_HEADER_LIST = 65536  # h2's default limit on a decoded header list
_MAX_BLOCK_FRAMES = 64  # HEADERS + CONTINUATION frames of one block (h2's backlog limit)
_RESETS_KEPT = 1024

LOCAL_SETTINGS = (
    (_HEADER_TABLE_SIZE, 4096),
    (_ENABLE_PUSH, 0),
    (_INITIAL_WINDOW_SIZE, RECEIVE_WINDOW),
    (_MAX_FRAME_SIZE, MAX_FRAME),
    (_ENABLE_CONNECT_PROTOCOL, 1),
    (_MAX_CONCURRENT_STREAMS, MAX_STREAMS),
)
"""What the edge announces: the same SETTINGS frame ``h2`` sent for it before."""

_HEAD = struct.Struct(">IBI")  # length (24 bits) + type, flags, stream id
_SETTING = struct.Struct(">HI")

Fields = list[tuple[bytes, bytes]]


class ProtocolError(Exception):
    """The peer broke the protocol: the connection must end (GOAWAY ``code`` is queued)."""

    def __init__(self, message: str, code: int = PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


class StreamClosedError(Exception):
    """A local operation on a stream that is gone (or already ended locally)."""


class Handler(Protocol):
    """Receives a connection's inbound events, synchronously, in frame order.

    Only streams whose request was reported get ``on_data``, ``on_end`` and
    ``on_reset``; a malformed or refused request is reset without a word.
    """

    def on_request(self, stream_id: int, fields: Fields) -> None:
        """A valid request header block opened a stream (pseudo-headers first)."""

    def on_data(self, stream_id: int, data: bytes, flow: int) -> None:
        """DATA bytes (``flow`` counts padding too: the credit to return)."""

    def on_end(self, stream_id: int) -> None:
        """The peer ended the stream (after its body, or trailers, if any)."""

    def on_reset(self, stream_id: int, code: int) -> None:
        """The stream was reset: by the peer, or here for a stream error."""

    def on_window(self) -> None:
        """Send credit arrived or the peer's settings changed."""

    def on_goaway(self, code: int, last_stream_id: int, debug: bytes) -> None:
        """The peer sent GOAWAY."""

    def withhold_ping_ack(self) -> bool:
        """A PING arrived: whether to leave it unanswered (a fault injection)."""


class _Stream:
    __slots__ = (
        "expected",
        "local_closed",
        "received",
        "recv_window",
        "remote_closed",
        "send_window",
        "unacked",
    )

    def __init__(self, send_window: int, expected: int) -> None:
        self.send_window = send_window
        self.recv_window = RECEIVE_WINDOW
        self.unacked = 0
        self.local_closed = False
        self.remote_closed = False
        self.expected = expected
        """The request's ``content-length`` (-1 without one)."""
        self.received = 0


def _frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return _HEAD.pack(len(payload) << 8 | kind, flags, stream_id) + payload


def _credit(window: int, unacked: int, limit: int) -> tuple[int, int]:
    """h2's window manager: how much credit to return now, and what stays unacknowledged.

    Credit goes back once half the window was consumed, or at once when the
    window is exhausted (and more than a little was consumed).
    """
    if unacked >= limit >> 1 or (window == 0 and unacked > min(1024, limit >> 2)):
        return min(unacked, limit - window), 0
    return 0, unacked


class ServerEngine:
    """The server side of one HTTP/2 connection; feed :meth:`receive`, drain :meth:`data_to_send`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.encoder = EdgeEncoder()
        self.decoder = EdgeDecoder(MAX_HEADER_LIST)
        self._streams: dict[int, _Stream] = {}
        self.highest_stream_id = 0
        """The highest stream id the peer used (a GOAWAY's last stream id)."""
        self._resets: dict[int, None] = {}
        """Streams recently closed by RST_STREAM (either way), oldest first."""
        self._preface = PREFACE
        self._pending = b""
        self._block: tuple[int, int, bytearray] | None = None
        self._block_frames = 0
        self._conn_send = DEFAULT_WINDOW
        self._conn_recv = CONNECTION_WINDOW
        self._conn_unacked = 0
        self._initial_window = DEFAULT_WINDOW
        self.max_frame_size = MAX_FRAME
        """The peer's SETTINGS_MAX_FRAME_SIZE: no frame we send may be larger."""
        self.peer_max_header_list_size: int | None = None
        """The peer's SETTINGS_MAX_HEADER_LIST_SIZE (``None``: it announced no limit)."""
        settings = b"".join(_SETTING.pack(*setting) for setting in LOCAL_SETTINGS)
        increment = CONNECTION_WINDOW - DEFAULT_WINDOW
        self._out = bytearray(_frame(_SETTINGS, 0, 0, settings))
        self._out += _frame(_WINDOW_UPDATE, 0, 0, increment.to_bytes(4, "big"))

    # -- state --------------------------------------------------------------------------

    @property
    def open_streams(self) -> int:
        """Streams not yet closed both ways (they count against MAX_CONCURRENT_STREAMS)."""
        return len(self._streams)

    def data_to_send(self) -> bytes:
        """Every frame queued since the last call, in order."""
        if not self._out:
            return b""
        data = bytes(self._out)
        self._out.clear()
        return data

    def send_window(self, stream_id: int) -> int:
        """How many DATA bytes the stream may send now (both windows).

        Raises :class:`StreamClosedError` if the stream is gone or ended locally.
        """
        stream = self._streams.get(stream_id)
        if stream is None or stream.local_closed:
            raise StreamClosedError(f"stream {stream_id} is closed")
        return min(self._conn_send, stream.send_window)

    # -- outbound -----------------------------------------------------------------------

    def send_headers(self, stream_id: int, fields: Fields, *, end_stream: bool) -> None:
        """Send a response header block (as given: names lowercase, values clean)."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.local_closed:
            raise StreamClosedError(f"stream {stream_id} is closed")
        block = self.encoder.encode(fields)
        flags = _END_STREAM if end_stream else 0
        size = self.max_frame_size
        out = self._out
        if len(block) <= size:
            out += _frame(_HEADERS, flags | _END_HEADERS, stream_id, block)
        else:
            out += _frame(_HEADERS, flags, stream_id, block[:size])
            for start in range(size, len(block), size):
                last = start + size >= len(block)
                chunk = block[start : start + size]
                out += _frame(_CONTINUATION, _END_HEADERS if last else 0, stream_id, chunk)
        if end_stream:
            self._local_end(stream_id, stream)

    def send_data(self, stream_id: int, data: bytes, *, end_stream: bool) -> None:
        """One DATA frame; ``data`` must fit :meth:`send_window` and :attr:`max_frame_size`."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.local_closed:
            raise StreamClosedError(f"stream {stream_id} is closed")
        size = len(data)
        if size > min(self._conn_send, stream.send_window, self.max_frame_size):
            raise ValueError("DATA larger than the flow-control window or frame size")
        stream.send_window -= size
        self._conn_send -= size
        self._out += _frame(_DATA, _END_STREAM if end_stream else 0, stream_id, data)
        if end_stream:
            self._local_end(stream_id, stream)

    def end_stream(self, stream_id: int) -> None:
        """An empty DATA frame with END_STREAM."""
        self.send_data(stream_id, b"", end_stream=True)

    def reset_stream(self, stream_id: int, code: int = CANCEL) -> None:
        """RST_STREAM, unless the stream is already closed both ways (then nothing)."""
        if self._streams.pop(stream_id, None) is not None:
            self._send_reset(stream_id, code)

    def credit(self, stream_id: int, size: int) -> None:
        """Hand ``size`` consumed bytes back to the connection's and the stream's windows
        (WINDOW_UPDATEs batched as ``h2`` does; none for streams the peer ended)."""
        if size <= 0:
            return
        self._credit_connection(size)
        stream = self._streams.get(stream_id)
        if stream is None or stream.remote_closed:
            return
        increment, stream.unacked = _credit(
            stream.recv_window, stream.unacked + size, RECEIVE_WINDOW
        )
        if increment:
            stream.recv_window += increment
            self._out += _frame(_WINDOW_UPDATE, 0, stream_id, increment.to_bytes(4, "big"))

    def goaway(self, code: int, debug: bytes = b"") -> None:
        """Queue GOAWAY (last stream id: the highest the peer used); nothing else changes."""
        payload = self.highest_stream_id.to_bytes(4, "big") + code.to_bytes(4, "big") + debug
        self._out += _frame(_GOAWAY, 0, 0, payload)

    def _credit_connection(self, size: int) -> None:
        increment, self._conn_unacked = _credit(
            self._conn_recv, self._conn_unacked + size, CONNECTION_WINDOW
        )
        if increment:
            self._conn_recv += increment
            self._out += _frame(_WINDOW_UPDATE, 0, 0, increment.to_bytes(4, "big"))

    def _send_reset(self, stream_id: int, code: int) -> None:
        self._out += _frame(_RST_STREAM, 0, stream_id, code.to_bytes(4, "big"))
        self._note_reset(stream_id)

    def _note_reset(self, stream_id: int) -> None:
        resets = self._resets
        resets[stream_id] = None
        if len(resets) > _RESETS_KEPT:
            del resets[next(iter(resets))]

    def _local_end(self, stream_id: int, stream: _Stream) -> None:
        stream.local_closed = True
        if stream.remote_closed:
            del self._streams[stream_id]

    # -- inbound ------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Process received bytes; raises :class:`ProtocolError` on a connection error."""
        if self._preface:
            expected = self._preface
            head = data[: len(expected)]
            if not expected.startswith(head):
                raise ProtocolError("invalid HTTP/2 client preface")  # no GOAWAY, as h2
            self._preface = expected[len(head) :]
            data = data[len(head) :]
        if self._pending:
            data = self._pending + data
        end = len(data)
        position = 0
        unpack = _HEAD.unpack_from
        try:
            while end - position >= 9:
                kind_length, flags, stream_id = unpack(data, position)
                length = kind_length >> 8
                if length > MAX_FRAME:
                    raise ProtocolError(f"frame of {length} bytes", FRAME_SIZE_ERROR)
                stop = position + 9 + length
                if stop > end:
                    break
                payload = data[position + 9 : stop]
                position = stop
                self._on_frame(kind_length & 0xFF, flags, stream_id & 0x7FFFFFFF, payload)
        except ProtocolError as exc:
            self._pending = b""
            self.goaway(exc.code)
            raise
        self._pending = data[position:]

    def _on_frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._block is not None and kind != _CONTINUATION:
            raise ProtocolError("a header block was interrupted")
        if kind == _DATA:
            self._on_data(flags, stream_id, payload)
        elif kind == _HEADERS:
            self._on_headers(flags, stream_id, payload)
        elif kind == _WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif kind == _CONTINUATION:
            self._on_continuation(flags, stream_id, payload)
        elif kind == _SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif kind == _PING:
            self._on_ping(flags, stream_id, payload)
        elif kind == _RST_STREAM:
            self._on_rst_stream(stream_id, payload)
        elif kind == _GOAWAY:
            self._on_goaway(stream_id, payload)
        elif kind == _PRIORITY:
            if stream_id == 0:
                raise ProtocolError("PRIORITY on stream 0")
            if len(payload) != 5:
                raise ProtocolError("malformed PRIORITY frame", FRAME_SIZE_ERROR)
        elif kind == _PUSH_PROMISE:
            raise ProtocolError("PUSH_PROMISE from a client")
        # frames of unknown types are ignored (RFC 9113 §4.1)

    def _known(self, stream_id: int) -> _Stream | None:
        """The stream's state; ``None`` for a closed one; stream 0 and idle ids are errors."""
        stream = self._streams.get(stream_id)
        if stream is None and (
            stream_id == 0 or stream_id > self.highest_stream_id or not stream_id & 1
        ):
            raise ProtocolError(f"a stream frame on idle stream {stream_id}")
        return stream

    def _on_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        stream = self._known(stream_id)
        flow = len(payload)
        data = payload
        if flags & _PADDED:
            if not flow or payload[0] >= flow:
                raise ProtocolError("bad DATA padding")
            data = payload[1 : flow - payload[0]]
        self._conn_recv -= flow
        if self._conn_recv < 0:
            raise ProtocolError("connection receive window exceeded", FLOW_CONTROL_ERROR)
        if stream is None:
            self._credit_connection(flow)  # late DATA on a stream that was reset
            return
        if stream.remote_closed:
            self._credit_connection(flow)
            self._stream_error(stream_id, STREAM_CLOSED)
            return
        stream.recv_window -= flow
        if stream.recv_window < 0:
            self._credit_connection(flow)
            self._stream_error(stream_id, FLOW_CONTROL_ERROR)
            return
        end_stream = flags & _END_STREAM
        if stream.expected >= 0:
            stream.received += len(data)
            if stream.received > stream.expected or (
                end_stream and stream.received != stream.expected
            ):
                self._credit_connection(flow)
                self._stream_error(stream_id, PROTOCOL_ERROR)
                return
        self._handler.on_data(stream_id, data, flow)
        if end_stream:
            self._remote_end(stream_id, stream)

    def _on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError("HEADERS on stream 0")
        start = 0
        stop = len(payload)
        if flags & _PADDED:
            if not payload:
                raise ProtocolError("bad HEADERS padding")
            start = 1
            stop -= payload[0]
        if flags & _PRIORITY_FLAG:
            start += 5
        if start > stop:
            raise ProtocolError("bad HEADERS padding")
        block = payload[start:stop]
        if flags & _END_HEADERS:
            self._on_header_block(flags, stream_id, block)
        else:
            self._block = (stream_id, flags, bytearray(block))
            self._block_frames = 1

    def _on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        pending = self._block
        if pending is None or pending[0] != stream_id:
            raise ProtocolError("unexpected CONTINUATION")
        self._block_frames += 1
        if self._block_frames > _MAX_BLOCK_FRAMES:
            raise ProtocolError("too many CONTINUATION frames")
        block = pending[2]
        block += payload
        if flags & _END_HEADERS:
            self._block = None
            self._on_header_block(pending[1], stream_id, bytes(block))

    def _on_header_block(self, flags: int, stream_id: int, block: bytes) -> None:
        try:  # decoded even for a stream about to be reset: the HPACK state is shared
            fields = cast(Fields, self.decoder.decode(block, raw=True))
        except OversizedHeaderListError as exc:
            raise ProtocolError(f"header list too large: {exc}", ENHANCE_YOUR_CALM) from None
        except HPACKError as exc:
            raise ProtocolError(f"bad header block: {exc}", COMPRESSION_ERROR) from None
        end_stream = flags & _END_STREAM
        stream = self._streams.get(stream_id)
        if stream is None:
            if stream_id > self.highest_stream_id and stream_id & 1:
                self._open(stream_id, fields, end_stream)
            elif stream_id not in self._resets:
                raise ProtocolError(f"HEADERS on stream {stream_id}, which cannot open")
            return  # in flight when the stream was reset: ignored
        if stream.remote_closed:
            self._stream_error(stream_id, STREAM_CLOSED)
        elif end_stream and _valid_trailers(fields) and stream.expected in (-1, stream.received):
            self._remote_end(stream_id, stream)  # trailers: accepted, not delivered
        else:
            self._stream_error(stream_id, PROTOCOL_ERROR)

    def _open(self, stream_id: int, fields: Fields, end_stream: int) -> None:
        self.highest_stream_id = stream_id
        if len(self._streams) >= MAX_STREAMS:
            self._send_reset(stream_id, REFUSED_STREAM)
            return
        checked = check_request(fields)
        if checked is None or (end_stream and checked[1] > 0):
            self._send_reset(stream_id, PROTOCOL_ERROR)
            return
        stream = _Stream(self._initial_window, checked[1])
        self._streams[stream_id] = stream
        self._handler.on_request(stream_id, checked[0])
        if end_stream:
            self._remote_end(stream_id, stream)

    def _remote_end(self, stream_id: int, stream: _Stream) -> None:
        if self._streams.get(stream_id) is not stream:
            return  # the handler reset it meanwhile
        stream.remote_closed = True
        if stream.local_closed:
            del self._streams[stream_id]
        self._handler.on_end(stream_id)

    def _stream_error(self, stream_id: int, code: int) -> None:
        self.reset_stream(stream_id, code)
        self._handler.on_reset(stream_id, code)

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError("malformed WINDOW_UPDATE", FRAME_SIZE_ERROR)
        increment = int.from_bytes(payload, "big") & 0x7FFFFFFF
        if stream_id == 0:
            if increment == 0:
                raise ProtocolError("WINDOW_UPDATE of 0")
            self._conn_send += increment
            if self._conn_send > MAX_WINDOW:
                raise ProtocolError("connection send window overflow", FLOW_CONTROL_ERROR)
        else:
            stream = self._known(stream_id)
            if stream is None:
                return
            if increment == 0:
                self._stream_error(stream_id, PROTOCOL_ERROR)
                return
            stream.send_window += increment
            if stream.send_window > MAX_WINDOW:
                self._stream_error(stream_id, FLOW_CONTROL_ERROR)
                return
        self._handler.on_window()

    def _on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError("SETTINGS on a stream")
        if flags & _ACK:
            if payload:
                raise ProtocolError("SETTINGS ACK with a payload", FRAME_SIZE_ERROR)
            return
        if len(payload) % 6:
            raise ProtocolError("malformed SETTINGS", FRAME_SIZE_ERROR)
        for offset in range(0, len(payload), 6):
            setting, value = _SETTING.unpack_from(payload, offset)
            if setting == _HEADER_TABLE_SIZE:
                self.encoder.header_table_size = value
            elif setting in (_ENABLE_PUSH, _ENABLE_CONNECT_PROTOCOL):
                if value > 1:
                    raise ProtocolError(f"setting {setting:#x} = {value}")
            elif setting == _INITIAL_WINDOW_SIZE:
                self._set_initial_window(value)
            elif setting == _MAX_FRAME_SIZE:
                if not MAX_FRAME <= value <= 2**24 - 1:
                    raise ProtocolError(f"SETTINGS_MAX_FRAME_SIZE = {value}")
                self.max_frame_size = value
            elif setting == _MAX_HEADER_LIST_SIZE:
                self.peer_max_header_list_size = value
        self._out += _frame(_SETTINGS, _ACK, 0)
        self._handler.on_window()

    def _set_initial_window(self, value: int) -> None:
        if value > MAX_WINDOW:
            raise ProtocolError("SETTINGS_INITIAL_WINDOW_SIZE too large", FLOW_CONTROL_ERROR)
        delta = value - self._initial_window
        self._initial_window = value
        for stream in self._streams.values():
            stream.send_window += delta
            if stream.send_window > MAX_WINDOW:
                raise ProtocolError("stream send window overflow", FLOW_CONTROL_ERROR)

    def _on_ping(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError("PING on a stream")
        if len(payload) != 8:
            raise ProtocolError("malformed PING", FRAME_SIZE_ERROR)
        if not flags & _ACK and not self._handler.withhold_ping_ack():
            self._out += _frame(_PING, _ACK, 0, payload)

    def _on_rst_stream(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError("malformed RST_STREAM", FRAME_SIZE_ERROR)
        if self._known(stream_id) is None:
            return
        del self._streams[stream_id]
        self._note_reset(stream_id)
        self._handler.on_reset(stream_id, int.from_bytes(payload, "big"))

    def _on_goaway(self, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError("GOAWAY on a stream")
        if len(payload) < 8:
            raise ProtocolError("malformed GOAWAY", FRAME_SIZE_ERROR)
        last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        code = int.from_bytes(payload[4:8], "big")
        self._handler.on_goaway(code, last, payload[8:])


# -- request header validation ------------------------------------------------------------

_NAME = re.compile(rb"[!-9;-@\[-~]+")  # RFC 9113 §8.2.1: no controls, SP, uppercase, ':', DEL+
_VALUE = re.compile(rb"[^\x00\n\r\t ](?:[^\x00\n\r]*[^\x00\n\r\t ])?")  # non-empty values
_PSEUDO = frozenset([b":method", b":scheme", b":path", b":authority", b":protocol"])
_CONNECTION_FIELDS = frozenset(
    [b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"]
)
_SPECIAL = frozenset([b"te", b"host", b"cookie", b"content-length", *_CONNECTION_FIELDS])
_PLAIN_NAMES: set[bytes] = set()
"""Ordinary field names already found valid (at most ``_PLAIN_NAMES_KEPT``)."""
_PLAIN_NAMES_KEPT = 4096


def header_list_size(fields: Fields) -> int:
    """A header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2):
    the octets of each name and value plus 32 per field."""
    return sum(len(name) + len(value) + 32 for name, value in fields)


def check_request(fields: Fields) -> tuple[Fields, int] | None:
    """A request header block as ``h2`` validated and normalised it, with its
    ``content-length`` (``-1`` without one, ``0`` for HEAD), or ``None`` if malformed.

    Pseudo-headers come first, each known and at most once: ``:method``, then
    ``:scheme`` and a non-empty ``:path`` (ordinary CONNECT has neither,
    extended CONNECT adds ``:protocol``, RFC 8441); ``:authority`` or Host
    (equal if both). Names are lowercase tokens, values have no NUL, CR or LF
    and no surrounding whitespace; no connection-specific fields, ``te`` only
    ``trailers``. Cookie fields are joined into one, last (RFC 9113 §8.2.3).
    """
    pseudo: set[bytes] = set()
    method = authority = host = None
    regular = False
    cookies: list[bytes] | None = None
    length = -1
    bad_length = False
    plain = _PLAIN_NAMES
    value_ok = _VALUE.fullmatch
    for name, value in fields:
        if name in plain:
            regular = True
        elif name[:1] == b":":
            if regular or name in pseudo or name not in _PSEUDO:
                return None
            pseudo.add(name)
            if name == b":method":
                method = value
            elif name == b":authority":
                authority = value
            elif name == b":path" and not value:
                return None
        elif _NAME.fullmatch(name) is None or name in _CONNECTION_FIELDS:
            return None
        elif name == b"cookie":
            if cookies is None:
                cookies = []
            cookies.append(value)
            continue  # checked once joined
        else:
            regular = True
            if name == b"te":
                if value.lower() != b"trailers":
                    return None
            elif name == b"host":
                if host is not None:
                    return None
                host = value
            elif name == b"content-length":
                if not value.isdigit() or (length >= 0 and int(value) != length):
                    bad_length = True  # h2 let that pass for HEAD requests
                else:
                    length = int(value)
            elif len(plain) < _PLAIN_NAMES_KEPT:
                plain.add(name)
        if value and value_ok(value) is None:
            return None
    if method is None:
        return None
    if method == b"CONNECT" and b":protocol" not in pseudo:  # ordinary CONNECT
        if b":scheme" in pseudo or b":path" in pseudo:
            return None
    elif b":scheme" not in pseudo or b":path" not in pseudo:
        return None
    if b":protocol" in pseudo and method != b"CONNECT":
        return None
    if authority is None and host is None:
        return None
    if authority is not None and host is not None and authority != host:
        return None
    if cookies is not None:
        joined = b"; ".join(cookies)
        if joined and value_ok(joined) is None:
            return None
        fields = [field for field in fields if field[0] != b"cookie"]
        fields.append(NeverIndexedHeaderTuple(b"cookie", joined))
    if method == b"HEAD":
        return fields, 0
    return None if bad_length else (fields, length)


def _valid_trailers(fields: Fields) -> bool:
    """Whether a trailer block is well-formed (no pseudo-headers, same field rules)."""
    for name, value in fields:
        if _NAME.fullmatch(name) is None or name in _CONNECTION_FIELDS:
            return False
        if name == b"te" and value.lower() != b"trailers":
            return False
        if value and _VALUE.fullmatch(value) is None:
            return False
    return True
