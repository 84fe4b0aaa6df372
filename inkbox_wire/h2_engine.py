"""What both ends of a tunnel HTTP/2 connection share (RFC 9113), without I/O.

:class:`Engine` holds one connection's state: the open streams (a
dictionary and a few integers each), both flow-control windows, the peer's
settings and the HPACK coders. It parses received bytes into frames, checks
them and answers what the protocol answers by itself (SETTINGS and PING
acknowledgements); the two roles (:mod:`inkbox_wire.h2_client` for the
agent, :mod:`inkbox_wire.h2_server` for the edge) add what differs: who
opens streams, which header blocks are well-formed, how receive credit goes
back. The general-purpose ``h2`` state machine spends more CPU per frame
than the rest of a tunnel's request path together.

A stream error resets its stream and is reported to the handler; a
connection error queues GOAWAY with its code and raises
:class:`ProtocolError`, after which the connection must be dropped. A
GOAWAY, either way, does not end anything by itself: the streams already
accepted keep working (an edge's drain relies on that).
"""

from __future__ import annotations

import re
import struct
from typing import Any, Protocol

from hpack import HPACKError, OversizedHeaderListError

from inkbox_wire.hpack_codec import Decoder

__all__ = [
    "CANCEL",
    "CONNECTION_FIELDS",
    "ENHANCE_YOUR_CALM",
    "FLOW_CONTROL_ERROR",
    "FRAME_SIZE_ERROR",
    "MAX_FRAME",
    "PREFACE",
    "PROTOCOL_ERROR",
    "REFUSED_STREAM",
    "STREAM_CLOSED",
    "Engine",
    "Fields",
    "ProtocolError",
    "StreamClosedError",
    "header_list_size",
    "valid_trailers",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS = 0, 1, 2, 3, 4
PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 5, 6, 7, 8, 9
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
FLOW_CONTROL_ERROR = 0x3
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB

HEADER_TABLE_SIZE = 0x1
ENABLE_PUSH = 0x2
MAX_CONCURRENT_STREAMS = 0x3
INITIAL_WINDOW_SIZE = 0x4
MAX_FRAME_SIZE = 0x5
MAX_HEADER_LIST_SIZE = 0x6
ENABLE_CONNECT_PROTOCOL = 0x8

DEFAULT_WINDOW = 65535
MAX_WINDOW = 2**31 - 1
MAX_FRAME = 16384
"""Our SETTINGS_MAX_FRAME_SIZE, never raised: no frame we receive may be larger."""
MAX_BLOCK_FRAMES = 64
"""HEADERS + CONTINUATION frames of one header block (``h2``'s limit): at most 1 MiB."""
_RESETS_KEPT = 1024

_HEAD = struct.Struct(">IBI")  # length (24 bits) + type, flags, stream id
SETTING = struct.Struct(">HI")

FIELD_NAME = re.compile(rb"[!-9;-@\[-~]+")
"""RFC 9113 §8.2.1: no controls, SP, uppercase, ':' or octets from DEL up."""
FIELD_VALUE = re.compile(rb"[^\x00\n\r\t ](?:[^\x00\n\r]*[^\x00\n\r\t ])?")
"""A non-empty field value: no NUL, CR or LF, no surrounding whitespace."""
CONNECTION_FIELDS = frozenset(
    {b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"}
)
"""Connection-specific fields: never in an HTTP/2 header block (RFC 9113 §8.2.2)."""

Fields = list[tuple[bytes, bytes]]


class ProtocolError(Exception):
    """The peer broke the protocol: the connection must end (GOAWAY ``code`` is queued)."""

    def __init__(self, message: str, code: int = PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


class StreamClosedError(Exception):
    """A local operation on a stream that is gone (or already ended locally)."""


class Handler(Protocol):
    """The events both roles report, synchronously, in frame order."""

    def on_data(self, stream_id: int, data: bytes, flow: int) -> None:
        """DATA bytes (``flow`` counts padding too: the credit it took)."""

    def on_end(self, stream_id: int) -> None:
        """The peer ended the stream (after its body, or trailers, if any)."""

    def on_reset(self, stream_id: int, code: int) -> None:
        """The stream was reset: by the peer, or here for a stream error."""

    def on_window(self) -> None:
        """Send credit arrived or the peer's settings changed."""

    def on_goaway(self, code: int, last_stream_id: int, debug: bytes) -> None:
        """The peer sent GOAWAY."""


class Stream:
    """One open stream's state."""

    __slots__ = (
        "expected",
        "headed",
        "local_closed",
        "received",
        "recv_window",
        "remote_closed",
        "send_window",
        "unacked",
    )

    def __init__(self, send_window: int, recv_window: int, *, local_closed: bool) -> None:
        self.send_window = send_window
        self.recv_window = recv_window
        self.unacked = 0
        """Consumed bytes not yet handed back (a server batches its WINDOW_UPDATEs)."""
        self.local_closed = local_closed
        self.remote_closed = False
        self.headed = False
        """Whether the peer's (final) header block arrived: DATA may follow."""
        self.expected = -1
        """The peer's ``content-length`` (-1 without one)."""
        self.received = 0
        """DATA bytes received (without padding)."""


def header_list_size(fields: Fields) -> int:
    """A header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2):
    the octets of each name and value plus 32 per field."""
    return sum(len(name) + len(value) + 32 for name, value in fields)


def valid_trailers(fields: Fields) -> bool:
    """Whether a trailer block is well-formed: no pseudo-headers, valid names and values,
    no connection-specific fields, ``te`` only ``trailers``."""
    for name, value in fields:
        if FIELD_NAME.fullmatch(name) is None or name in CONNECTION_FIELDS:
            return False
        if name == b"te" and value.lower() != b"trailers":
            return False
        if value and FIELD_VALUE.fullmatch(value) is None:
            return False
    return True


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame's bytes."""
    return _HEAD.pack(len(payload) << 8 | kind, flags, stream_id) + payload


class Engine:
    """One HTTP/2 connection's state and frame checks; feed :meth:`receive`, drain
    :meth:`data_to_send`. Subclasses add a role."""

    _handler: Handler
    _encoder: Any
    """An encoder of :mod:`inkbox_wire.hpack_codec` (its ``header_table_size`` follows the peer)."""
    _serves = False
    """Whether the peer opens the streams (a GOAWAY's last stream id is then the highest)."""

    def __init__(self, decoder: Decoder, preface: bytes) -> None:
        self._decoder = decoder
        self._streams: dict[int, Stream] = {}
        self.highest_stream_id = 0
        """The highest stream id opened on this connection."""
        self._resets: dict[int, None] = {}
        """Streams recently closed by RST_STREAM (either way), oldest first."""
        self._preface = preface
        """What is still expected of the peer's connection preface."""
        self._out = bytearray()
        self._pending = b""
        self._block: tuple[int, int, bytearray] | None = None
        self._block_frames = 0
        self._conn_send = DEFAULT_WINDOW
        self._initial_window = DEFAULT_WINDOW
        self.max_frame_size = MAX_FRAME
        """The peer's SETTINGS_MAX_FRAME_SIZE: no frame we send may be larger."""
        self.max_streams = 2**31
        """The peer's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says)."""
        self.peer_max_header_list_size: int | None = None
        """The peer's SETTINGS_MAX_HEADER_LIST_SIZE (``None``: it announced no limit)."""

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
        self._out += frame(DATA, END_STREAM if end_stream else 0, stream_id, data)
        if end_stream:
            self._local_end(stream_id, stream)

    def end_stream(self, stream_id: int) -> None:
        """An empty DATA frame with END_STREAM."""
        self.send_data(stream_id, b"", end_stream=True)

    def reset_stream(self, stream_id: int, code: int = CANCEL) -> None:
        """RST_STREAM, unless the stream is already closed both ways (then nothing)."""
        if self._streams.pop(stream_id, None) is not None:
            self._send_reset(stream_id, code)

    def goaway(self, code: int, debug: bytes = b"") -> None:
        """Queue GOAWAY (last stream id: the highest the peer opened); nothing else changes."""
        last = self.highest_stream_id if self._serves else 0
        self._out += frame(GOAWAY, 0, 0, last.to_bytes(4, "big") + code.to_bytes(4, "big") + debug)

    def _send_block(self, stream_id: int, block: bytes, end_stream: bool) -> None:
        """A header block: HEADERS, then CONTINUATION frames if it is larger than a frame."""
        flags = END_STREAM if end_stream else 0
        size = self.max_frame_size
        out = self._out
        if len(block) <= size:
            out += frame(HEADERS, flags | END_HEADERS, stream_id, block)
            return
        out += frame(HEADERS, flags, stream_id, block[:size])
        for start in range(size, len(block), size):
            last = start + size >= len(block)
            chunk = block[start : start + size]
            out += frame(CONTINUATION, END_HEADERS if last else 0, stream_id, chunk)

    def _send_reset(self, stream_id: int, code: int) -> None:
        self._out += frame(RST_STREAM, 0, stream_id, code.to_bytes(4, "big"))
        self._note_reset(stream_id)

    def _note_reset(self, stream_id: int) -> None:
        resets = self._resets
        resets[stream_id] = None
        if len(resets) > _RESETS_KEPT:
            del resets[next(iter(resets))]

    def _local_end(self, stream_id: int, stream: Stream) -> None:
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
        if self._block is not None and kind != CONTINUATION:
            raise ProtocolError("a header block was interrupted")
        if kind == DATA:
            self._on_data(flags, stream_id, payload)
        elif kind == HEADERS:
            self._on_headers(flags, stream_id, payload)
        elif kind == WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif kind == CONTINUATION:
            self._on_continuation(flags, stream_id, payload)
        elif kind == SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif kind == PING:
            self._on_ping(flags, stream_id, payload)
        elif kind == RST_STREAM:
            self._on_rst_stream(stream_id, payload)
        elif kind == GOAWAY:
            self._on_goaway(stream_id, payload)
        elif kind == PRIORITY:
            if stream_id == 0:
                raise ProtocolError("PRIORITY on stream 0")
            if len(payload) != 5:
                raise ProtocolError("malformed PRIORITY frame", FRAME_SIZE_ERROR)
        elif kind == PUSH_PROMISE:
            raise ProtocolError("PUSH_PROMISE, which this connection does not allow")
        # frames of unknown types are ignored (RFC 9113 §4.1)

    def _known(self, stream_id: int) -> Stream | None:
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
        if flags & PADDED:
            if not flow or payload[0] >= flow:
                raise ProtocolError("bad DATA padding")
            data = payload[1 : flow - payload[0]]
        self._consume(flow)
        if stream is None:
            self._discard(flow)  # late DATA on a stream that was reset
            return
        if stream.remote_closed:
            self._discard(flow)
            self._stream_error(stream_id, STREAM_CLOSED)
            return
        if not stream.headed:
            self._discard(flow)
            self._stream_error(stream_id, PROTOCOL_ERROR)
            return
        stream.recv_window -= flow
        if stream.recv_window < 0:
            self._discard(flow)
            self._stream_error(stream_id, FLOW_CONTROL_ERROR)
            return
        end_stream = flags & END_STREAM
        if stream.expected >= 0:
            stream.received += len(data)
            if stream.received > stream.expected or (
                end_stream and stream.received != stream.expected
            ):
                self._discard(flow)
                self._stream_error(stream_id, PROTOCOL_ERROR)
                return
        self._handler.on_data(stream_id, data, flow)
        if end_stream:
            self._remote_end(stream_id, stream)

    def _consume(self, flow: int) -> None:
        """``flow`` DATA bytes arrived: take them from the connection's receive window."""
        raise NotImplementedError

    def _discard(self, flow: int) -> None:
        """``flow`` DATA bytes were dropped, not delivered: their credit is the engine's."""

    def _on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError("HEADERS on stream 0")
        start = 0
        stop = len(payload)
        if flags & PADDED:
            if not payload:
                raise ProtocolError("bad HEADERS padding")
            start = 1
            stop -= payload[0]
        if flags & PRIORITY_FLAG:
            start += 5
        if start > stop:
            raise ProtocolError("bad HEADERS padding")
        block = payload[start:stop]
        if flags & END_HEADERS:
            self._on_header_block(flags, stream_id, block)
        else:
            self._block = (stream_id, flags, bytearray(block))
            self._block_frames = 1

    def _on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        pending = self._block
        if pending is None or pending[0] != stream_id:
            raise ProtocolError("unexpected CONTINUATION")
        self._block_frames += 1
        if self._block_frames > MAX_BLOCK_FRAMES:
            raise ProtocolError("too many CONTINUATION frames")
        block = pending[2]
        block += payload
        if flags & END_HEADERS:
            self._block = None
            self._on_header_block(pending[1], stream_id, bytes(block))

    def _on_header_block(self, flags: int, stream_id: int, block: bytes) -> None:
        # decoded even for a stream that is closed or about to be reset: the HPACK state
        # is the connection's
        try:
            fields: Fields = self._decoder.decode(block, raw=True)  # type: ignore[assignment]
        except OversizedHeaderListError as exc:
            self._too_large(stream_id, exc)
            return
        except HPACKError as exc:
            raise ProtocolError(f"bad header block: {exc}", COMPRESSION_ERROR) from None
        stream = self._streams.get(stream_id)
        if stream is None:
            self._unknown_stream_headers(stream_id, fields, flags & END_STREAM)
        elif stream.remote_closed:
            self._stream_error(stream_id, STREAM_CLOSED)
        elif stream.headed:
            self._trailers(stream_id, stream, fields, flags & END_STREAM)
        else:
            self._head(stream_id, stream, fields, flags & END_STREAM)

    def _too_large(self, stream_id: int, exc: OversizedHeaderListError) -> None:
        """A header list over our limit (decoded whole when it is a ``HeaderListTooLarge``)."""
        raise NotImplementedError

    def _unknown_stream_headers(self, stream_id: int, fields: Fields, end_stream: int) -> None:
        """HEADERS on a stream that is not open: only one reset here may see them."""
        if stream_id == 0 or stream_id > self.highest_stream_id or not stream_id & 1:
            raise ProtocolError(f"HEADERS on idle stream {stream_id}")
        if stream_id not in self._resets:
            raise ProtocolError(f"HEADERS on stream {stream_id}, which is closed")

    def _head(self, stream_id: int, stream: Stream, fields: Fields, end_stream: int) -> None:
        """The first header block on a stream this side opened (a response)."""
        raise NotImplementedError

    def _trailers(self, stream_id: int, stream: Stream, fields: Fields, end_stream: int) -> None:
        """A header block after the head: trailers, accepted if well-formed, not delivered."""
        if end_stream and valid_trailers(fields) and stream.expected in (-1, stream.received):
            self._remote_end(stream_id, stream)
        else:
            self._stream_error(stream_id, PROTOCOL_ERROR)

    def _remote_end(self, stream_id: int, stream: Stream) -> None:
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
        if flags & ACK:
            if payload:
                raise ProtocolError("SETTINGS ACK with a payload", FRAME_SIZE_ERROR)
            return
        if len(payload) % 6:
            raise ProtocolError("malformed SETTINGS", FRAME_SIZE_ERROR)
        for offset in range(0, len(payload), 6):
            setting, value = SETTING.unpack_from(payload, offset)
            if setting == HEADER_TABLE_SIZE:
                self._encoder.header_table_size = value
            elif setting in (ENABLE_PUSH, ENABLE_CONNECT_PROTOCOL):
                if value > 1:
                    raise ProtocolError(f"setting {setting:#x} = {value}")
            elif setting == MAX_CONCURRENT_STREAMS:
                self.max_streams = value
            elif setting == INITIAL_WINDOW_SIZE:
                self._set_initial_window(value)
            elif setting == MAX_FRAME_SIZE:
                if not MAX_FRAME <= value <= 2**24 - 1:
                    raise ProtocolError(f"SETTINGS_MAX_FRAME_SIZE = {value}")
                self.max_frame_size = value
            elif setting == MAX_HEADER_LIST_SIZE:
                self.peer_max_header_list_size = value
        self._out += frame(SETTINGS, ACK, 0)
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
        if flags & ACK:
            self._ping_acked(payload)
        elif not self._withhold_ping_ack():
            self._out += frame(PING, ACK, 0, payload)

    def _ping_acked(self, payload: bytes) -> None:
        """A PING this side sent was acknowledged."""

    def _withhold_ping_ack(self) -> bool:
        """A PING arrived: whether to leave it unanswered."""
        return False

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


def content_length(fields: Fields) -> int | None:
    """A header block's ``content-length`` (-1 without one), ``None`` if malformed (not
    digits, or values that disagree)."""
    length = -1
    for name, value in fields:
        if name == b"content-length":
            if not value.isdigit() or (length >= 0 and int(value) != length):
                return None
            length = int(value)
    return length
