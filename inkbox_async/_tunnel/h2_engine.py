"""A lean HTTP/2 client endpoint without I/O, for the agent's edge connection (RFC 9113).

It does exactly what the edge link needs and no more: client-initiated
streams, HEADERS and CONTINUATION, DATA with flow control both ways,
SETTINGS, PING, WINDOW_UPDATE, RST_STREAM and GOAWAY. The general-purpose
``h2`` state machine spends more CPU per frame than the rest of the agent's
request path together; this one does the same checks on the frames it
receives, with a dictionary of open streams and a few integers.

Inbound events go straight to a :class:`Handler`'s methods. A malformed
response header block resets its stream (a stream error, RFC 9113 §8.1.1),
and so does one whose decoded size is over the SETTINGS_MAX_HEADER_LIST_SIZE
this side announced (decoded to its end first, so the HPACK state stays in
step, RFC 9113 §10.5.1): nothing one response carries can end the connection. A
connection error raises :class:`ProtocolError`, after which the
connection must be dropped. A GOAWAY is reported and does not end anything
by itself: streams the peer accepted keep working (an edge's drain relies
on that).
"""

from __future__ import annotations

import re
import struct
from typing import Protocol

from hpack import HPACKError

from inkbox_async._tunnel.hpack_codec import FastDecoder, HeaderListTooLarge, TablelessEncoder

__all__ = [
    "CANCEL",
    "CONNECTION_FIELDS",
    "ENHANCE_YOUR_CALM",
    "MAX_HEADER_LIST",
    "PROTOCOL_ERROR",
    "REFUSED_STREAM",
    "ClientEngine",
    "Handler",
    "ProtocolError",
    "StreamClosedError",
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
MAX_HEADER_LIST = 65536
"""Our SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2 size: name + value + 32 per field).

Also what we assume of a peer that announces none: ``h2`` enforces this
default without announcing it."""
_MAX_HEADER_BLOCK = 1 << 20  # HEADERS + CONTINUATION bytes kept before giving up
_CREDIT_BATCH = 16384

LOCAL_SETTINGS = (
    (_HEADER_TABLE_SIZE, 4096),
    (_ENABLE_PUSH, 0),
    (_INITIAL_WINDOW_SIZE, DEFAULT_WINDOW),
    (_MAX_FRAME_SIZE, MAX_FRAME),
    (_ENABLE_CONNECT_PROTOCOL, 0),
    (_MAX_CONCURRENT_STREAMS, 100),
    (_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST),
)
"""What the agent announces; the same SETTINGS frame ``h2`` sent for it before."""

_HEAD = struct.Struct(">IBI")  # length (24 bits) + type, flags, stream id
_SETTING = struct.Struct(">HI")
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
_VALUE = re.compile(rb"(?:[^\x00\r\n\t ](?:[^\x00\r\n]*[^\x00\r\n\t ])?)?")
CONNECTION_FIELDS = frozenset(
    {b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"}
)
"""Connection-specific fields: never in an HTTP/2 header block (RFC 9113 §8.2.2)."""

Fields = list[tuple[bytes, bytes]]


class ProtocolError(Exception):
    """The peer broke the protocol: the connection must end (with ``code``)."""

    def __init__(self, message: str, code: int = PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


class StreamClosedError(Exception):
    """A local operation on a stream that is gone (or already ended locally)."""


class Handler(Protocol):
    """Receives a connection's inbound events, synchronously, in frame order."""

    def on_head(self, stream_id: int, fields: Fields) -> None:
        """The final response header block (pseudo-header ``:status`` first)."""

    def on_data(self, stream_id: int, data: bytes, flow: int) -> None:
        """DATA bytes (``flow`` counts padding too: the credit it took)."""

    def on_end(self, stream_id: int) -> None:
        """The peer ended the stream."""

    def on_reset(self, stream_id: int, code: int) -> None:
        """The stream was reset: by the peer, or here for a stream error."""

    def on_head_too_large(self, stream_id: int, fields: Fields) -> None:
        """A response header block over our limit; ``fields``: its leading fields that fit.

        :meth:`on_reset` follows at once (the stream is reset with ENHANCE_YOUR_CALM).
        """

    def on_window(self) -> None:
        """Send credit or the peer's settings changed."""

    def on_ping_ack(self, payload: bytes) -> None:
        """A PING this side sent was acknowledged."""

    def on_goaway(self, code: int, last_stream_id: int, debug: bytes) -> None:
        """The peer sent GOAWAY."""


class _Stream:
    __slots__ = ("headed", "local_closed", "recv_window", "remote_closed", "send_window")

    def __init__(self, send_window: int, local_closed: bool) -> None:
        self.send_window = send_window
        self.recv_window = DEFAULT_WINDOW
        self.local_closed = local_closed
        self.remote_closed = False
        self.headed = False


def header_list_size(fields: Fields) -> int:
    """A header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2)."""
    return sum(len(name) + len(value) + 32 for name, value in fields)


def _frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return _HEAD.pack(len(payload) << 8 | kind, flags, stream_id) + payload


class ClientEngine:
    """The client side of one HTTP/2 connection; feed :meth:`receive`, drain :meth:`data_to_send`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._encoder = TablelessEncoder()
        self._decoder = FastDecoder()
        self._decoder.max_header_list_size = MAX_HEADER_LIST
        self._streams: dict[int, _Stream] = {}
        self._next_id = 1
        self._out = bytearray()
        self._pending = b""
        self._continuation: tuple[int, int, bytearray] | None = None
        self._conn_send = DEFAULT_WINDOW
        self._conn_recv = DEFAULT_WINDOW
        self._conn_uncredited = 0
        self._initial_window = DEFAULT_WINDOW
        self.max_frame_size = MAX_FRAME
        """The peer's SETTINGS_MAX_FRAME_SIZE: no DATA frame may be larger."""
        self.max_streams = 2**31
        """The peer's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says)."""
        self.max_header_list_size = MAX_HEADER_LIST
        """The peer's SETTINGS_MAX_HEADER_LIST_SIZE (:data:`MAX_HEADER_LIST` until it says)."""
        self._out += PREFACE
        self._out += _frame(_SETTINGS, 0, 0, b"".join(_SETTING.pack(*s) for s in LOCAL_SETTINGS))

    # -- state --------------------------------------------------------------------------

    @property
    def open_streams(self) -> int:
        """Streams not yet closed both ways (they count against the peer's limit)."""
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

    def open_stream(self, fields: Fields, *, end_stream: bool, encoded: bytes | None = None) -> int:
        """Send a request header block on a new stream; returns its id.

        ``encoded``: the fields as :meth:`encode_fields` gave them earlier (reusable).
        """
        stream_id = self._next_id
        if stream_id > MAX_WINDOW:
            raise StreamClosedError("stream ids are exhausted on this connection")
        self._next_id = stream_id + 2
        if encoded is None:
            encoded = self._encoder.fields(fields)
        block = self._encoder.start_block() + encoded
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
        self._streams[stream_id] = _Stream(self._initial_window, end_stream)
        return stream_id

    def encode_fields(self, fields: Fields) -> bytes:
        """The HPACK bytes of ``fields``: the same on every connection, so they can be kept."""
        return self._encoder.fields(fields)

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
        """RST_STREAM, unless the stream is already closed both ways."""
        if self._streams.pop(stream_id, None) is not None:
            self._out += _frame(_RST_STREAM, 0, stream_id, code.to_bytes(4, "big"))

    def forget(self, stream_id: int) -> None:
        """Drop a stream's state without telling the peer (beyond a GOAWAY's last id)."""
        self._streams.pop(stream_id, None)

    def credit(self, stream_id: int, size: int) -> None:
        """WINDOW_UPDATE for a stream's receive window (ignored once it is closed remotely)."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.remote_closed or size <= 0:
            return
        stream.recv_window += size
        self._out += _frame(_WINDOW_UPDATE, 0, stream_id, size.to_bytes(4, "big"))

    def ping(self, payload: bytes) -> None:
        """PING with an 8-byte payload."""
        self._out += _frame(_PING, 0, 0, payload)

    def _local_end(self, stream_id: int, stream: _Stream) -> None:
        stream.local_closed = True
        if stream.remote_closed:
            del self._streams[stream_id]

    # -- inbound ------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Process received bytes; raises :class:`ProtocolError` on a connection error."""
        if self._pending:
            data = self._pending + data
        end = len(data)
        position = 0
        unpack = _HEAD.unpack_from
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
        self._pending = data[position:]

    def _on_frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._continuation is not None and kind != _CONTINUATION:
            raise ProtocolError("a header block was interrupted")
        if kind == _DATA:
            self._on_data(flags, stream_id, payload)
        elif kind == _HEADERS:
            self._on_headers(flags, stream_id, payload)
        elif kind == _CONTINUATION:
            self._on_continuation(flags, stream_id, payload)
        elif kind == _WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif kind == _SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif kind == _PING:
            self._on_ping(flags, stream_id, payload)
        elif kind == _RST_STREAM:
            self._on_rst_stream(stream_id, payload)
        elif kind == _GOAWAY:
            self._on_goaway(stream_id, payload)
        elif kind == _PRIORITY:
            if stream_id == 0 or len(payload) != 5:
                raise ProtocolError("malformed PRIORITY frame")
        elif kind == _PUSH_PROMISE:
            raise ProtocolError("PUSH_PROMISE although push is disabled")
        # frames of unknown types are ignored (RFC 9113 §4.1)

    def _known(self, stream_id: int) -> _Stream | None:
        """The stream's state; ``None`` for a closed one; idle or even ids are errors."""
        if stream_id == 0:
            raise ProtocolError("a stream frame on stream 0")
        stream = self._streams.get(stream_id)
        if stream is None and (stream_id >= self._next_id or not stream_id & 1):
            raise ProtocolError(f"a frame on idle stream {stream_id}")
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
        self._conn_uncredited += flow
        if self._conn_uncredited >= _CREDIT_BATCH:
            credit, self._conn_uncredited = self._conn_uncredited, 0
            self._conn_recv += credit
            self._out += _frame(_WINDOW_UPDATE, 0, 0, credit.to_bytes(4, "big"))
        if stream is None:
            return  # late DATA on a stream this side reset
        if stream.remote_closed:
            self._stream_error(stream_id, STREAM_CLOSED)
            return
        if not stream.headed:
            self._stream_error(stream_id, PROTOCOL_ERROR)
            return
        stream.recv_window -= flow
        if stream.recv_window < 0:
            self._stream_error(stream_id, FLOW_CONTROL_ERROR)
            return
        self._handler.on_data(stream_id, data, flow)
        if flags & _END_STREAM:
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
            self._continuation = (stream_id, flags, bytearray(block))

    def _on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        pending = self._continuation
        if pending is None or pending[0] != stream_id:
            raise ProtocolError("unexpected CONTINUATION")
        block = pending[2]
        block += payload
        if len(block) > _MAX_HEADER_BLOCK:
            raise ProtocolError("header block too large")
        if flags & _END_HEADERS:
            self._continuation = None
            self._on_header_block(pending[1], stream_id, bytes(block))

    def _on_header_block(self, flags: int, stream_id: int, block: bytes) -> None:
        try:  # decoded even for a closed stream: the HPACK state is the connection's
            fields: Fields = self._decoder.decode(block, raw=True)  # type: ignore[assignment]
        except HeaderListTooLarge as exc:  # decoded to the end: only the stream fails
            self._head_too_large(stream_id, exc.fields)  # type: ignore[arg-type]
            return
        except HPACKError as exc:
            raise ProtocolError(f"bad header block: {exc}", COMPRESSION_ERROR) from None
        stream = self._known(stream_id)
        if stream is None:
            return
        if stream.remote_closed:
            self._stream_error(stream_id, STREAM_CLOSED)
            return
        end_stream = bool(flags & _END_STREAM)
        if stream.headed:  # trailers: accepted, not delivered
            if not end_stream or any(name[:1] == b":" for name, _ in fields):
                self._stream_error(stream_id, PROTOCOL_ERROR)
                return
        else:
            status = _response_status(fields)
            if status is None or status == 101 or (status < 200 and end_stream):
                self._stream_error(stream_id, PROTOCOL_ERROR)
                return
            if status < 200:
                return  # an informational response
            stream.headed = True
            self._handler.on_head(stream_id, fields)
        if end_stream:
            self._remote_end(stream_id, stream)

    def _head_too_large(self, stream_id: int, fields: Fields) -> None:
        stream = self._known(stream_id)
        if stream is None:
            return
        if not stream.headed and not stream.remote_closed:
            self._handler.on_head_too_large(stream_id, fields)
        self._stream_error(stream_id, ENHANCE_YOUR_CALM)

    def _remote_end(self, stream_id: int, stream: _Stream) -> None:
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
                self._encoder.header_table_size = value
            elif setting in (_ENABLE_PUSH, _ENABLE_CONNECT_PROTOCOL):
                if value > 1:
                    raise ProtocolError(f"setting {setting:#x} = {value}")
            elif setting == _MAX_CONCURRENT_STREAMS:
                self.max_streams = value
            elif setting == _INITIAL_WINDOW_SIZE:
                self._set_initial_window(value)
            elif setting == _MAX_FRAME_SIZE:
                if not MAX_FRAME <= value <= 2**24 - 1:
                    raise ProtocolError(f"SETTINGS_MAX_FRAME_SIZE = {value}")
                self.max_frame_size = value
            elif setting == _MAX_HEADER_LIST_SIZE:
                self.max_header_list_size = value
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
        if flags & _ACK:
            self._handler.on_ping_ack(payload)
        else:
            self._out += _frame(_PING, _ACK, 0, payload)

    def _on_rst_stream(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError("malformed RST_STREAM", FRAME_SIZE_ERROR)
        if self._known(stream_id) is None:
            return
        del self._streams[stream_id]
        self._handler.on_reset(stream_id, int.from_bytes(payload, "big"))

    def _on_goaway(self, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError("GOAWAY on a stream")
        if len(payload) < 8:
            raise ProtocolError("malformed GOAWAY", FRAME_SIZE_ERROR)
        last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        code = int.from_bytes(payload[4:8], "big")
        self._handler.on_goaway(code, last, payload[8:])


def _response_status(fields: Fields) -> int | None:
    """The ``:status`` of a well-formed response header block, else ``None``."""
    if not fields or fields[0][0] != b":status":
        return None
    status = fields[0][1]
    if len(status) != 3 or not status.isdigit():
        return None
    name_ok = _NAME.fullmatch
    value_ok = _VALUE.fullmatch
    for name, value in fields[1:]:
        if name_ok(name) is None or value_ok(value) is None or name in CONNECTION_FIELDS:
            return None
        if name == b"te" and value != b"trailers":
            return None
    return int(status)
