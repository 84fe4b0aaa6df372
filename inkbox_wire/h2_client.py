"""The client end of an HTTP/2 connection, without I/O: the agent's edge link.

It opens the streams (requests) and receives responses. A malformed
response header block resets its stream (a stream error, RFC 9113 §8.1.1),
and so does one whose decoded size is over the SETTINGS_MAX_HEADER_LIST_SIZE
this side announced (decoded to its end first, so the HPACK state stays in
step, RFC 9113 §10.5.1): nothing one response carries can end the
connection. Receive credit for the connection goes back as DATA arrives;
for a stream, when the handler calls :meth:`ClientEngine.credit`.
"""

from __future__ import annotations

from typing import Protocol

from hpack import OversizedHeaderListError

from inkbox_wire.h2_engine import (
    CANCEL,
    CONNECTION_FIELDS,
    DEFAULT_WINDOW,
    ENABLE_CONNECT_PROTOCOL,
    ENABLE_PUSH,
    ENHANCE_YOUR_CALM,
    FLOW_CONTROL_ERROR,
    HEADER_TABLE_SIZE,
    INITIAL_WINDOW_SIZE,
    MAX_CONCURRENT_STREAMS,
    MAX_FRAME,
    MAX_FRAME_SIZE,
    MAX_HEADER_LIST_SIZE,
    MAX_WINDOW,
    PING,
    PREFACE,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    SETTING,
    SETTINGS,
    WINDOW_UPDATE,
    Engine,
    Fields,
    ProtocolError,
    Stream,
    StreamClosedError,
    content_length,
    frame,
    header_list_size,
    valid_trailers,
)
from inkbox_wire.hpack_codec import (
    DEFAULT_MAX_HEADER_LIST,
    Decoder,
    HeaderListTooLarge,
    TablelessEncoder,
)

__all__ = [
    "CANCEL",
    "CONNECTION_FIELDS",
    "ENHANCE_YOUR_CALM",
    "MAX_HEADER_LIST",
    "PROTOCOL_ERROR",
    "REFUSED_STREAM",
    "ClientEngine",
    "Fields",
    "Handler",
    "ProtocolError",
    "StreamClosedError",
    "header_list_size",
]

MAX_HEADER_LIST = DEFAULT_MAX_HEADER_LIST
"""Our SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2 size: name + value + 32 per field).

Also what we assume of a peer that announces none: ``h2`` enforces this
default without announcing it."""
_CREDIT_BATCH = 16384

LOCAL_SETTINGS = (
    (HEADER_TABLE_SIZE, 4096),
    (ENABLE_PUSH, 0),
    (INITIAL_WINDOW_SIZE, DEFAULT_WINDOW),
    (MAX_FRAME_SIZE, MAX_FRAME),
    (ENABLE_CONNECT_PROTOCOL, 0),
    (MAX_CONCURRENT_STREAMS, 100),
    (MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST),
)
"""What the agent announces; the same SETTINGS frame ``h2`` sent for it before."""

_HEAD_METHOD = (b":method", b"HEAD")


class Handler(Protocol):
    """Receives a client connection's inbound events, synchronously, in frame order."""

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


class ClientEngine(Engine):
    """The client side of one HTTP/2 connection; feed :meth:`receive`, drain :meth:`data_to_send`."""

    _handler: Handler
    _encoder: TablelessEncoder

    def __init__(self, handler: Handler) -> None:
        super().__init__(Decoder(MAX_HEADER_LIST), b"")
        self._handler = handler
        self._encoder = TablelessEncoder()
        self._conn_recv = DEFAULT_WINDOW
        self._conn_uncredited = 0
        self._out += PREFACE
        self._out += frame(SETTINGS, 0, 0, b"".join(SETTING.pack(*s) for s in LOCAL_SETTINGS))

    @property
    def max_header_list_size(self) -> int:
        """The peer's SETTINGS_MAX_HEADER_LIST_SIZE (:data:`MAX_HEADER_LIST` until it says)."""
        limit = self.peer_max_header_list_size
        return MAX_HEADER_LIST if limit is None else limit

    # -- outbound -----------------------------------------------------------------------

    def open_stream(self, fields: Fields, *, end_stream: bool, encoded: bytes | None = None) -> int:
        """Send a request header block on a new stream; returns its id.

        ``encoded``: the fields as :meth:`encode_fields` gave them earlier (reusable).
        """
        stream_id = self.highest_stream_id + 2 if self.highest_stream_id else 1
        if stream_id > MAX_WINDOW:
            raise StreamClosedError("stream ids are exhausted on this connection")
        self.highest_stream_id = stream_id
        if encoded is None:
            encoded = self._encoder.fields(fields)
        self._send_block(stream_id, self._encoder.start_block() + encoded, end_stream)
        stream = self._streams[stream_id] = Stream(
            self._initial_window, DEFAULT_WINDOW, local_closed=end_stream
        )
        if fields and fields[0] == _HEAD_METHOD:
            stream.expected = 0  # the response to HEAD has no body, whatever it announces
        return stream_id

    def encode_fields(self, fields: Fields) -> bytes:
        """The HPACK bytes of ``fields``: the same on every connection, so they can be kept."""
        return self._encoder.fields(fields)

    def forget(self, stream_id: int) -> None:
        """Drop a stream's state without telling the peer (beyond a GOAWAY's last id)."""
        self._streams.pop(stream_id, None)

    def credit(self, stream_id: int, size: int) -> None:
        """WINDOW_UPDATE for a stream's receive window (ignored once it is closed remotely)."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.remote_closed or size <= 0:
            return
        stream.recv_window += size
        self._out += frame(WINDOW_UPDATE, 0, stream_id, size.to_bytes(4, "big"))

    def ping(self, payload: bytes) -> None:
        """PING with an 8-byte payload."""
        self._out += frame(PING, 0, 0, payload)

    # -- inbound ------------------------------------------------------------------------

    def _consume(self, flow: int) -> None:
        self._conn_recv -= flow
        if self._conn_recv < 0:
            raise ProtocolError("connection receive window exceeded", FLOW_CONTROL_ERROR)
        self._conn_uncredited += flow
        if self._conn_uncredited >= _CREDIT_BATCH:
            credit, self._conn_uncredited = self._conn_uncredited, 0
            self._conn_recv += credit
            self._out += frame(WINDOW_UPDATE, 0, 0, credit.to_bytes(4, "big"))

    def _head(self, stream_id: int, stream: Stream, fields: Fields, end_stream: int) -> None:
        status = _response_status(fields)
        if status is None or status == 101 or (status < 200 and end_stream):
            self._stream_error(stream_id, PROTOCOL_ERROR)
            return
        if status < 200:
            return  # an informational response
        expected = 0 if stream.expected == 0 else content_length(fields)
        if expected is None or (end_stream and expected > 0):
            self._stream_error(stream_id, PROTOCOL_ERROR)
            return
        stream.headed = True
        stream.expected = expected
        self._handler.on_head(stream_id, fields)
        if end_stream:
            self._remote_end(stream_id, stream)

    def _too_large(self, stream_id: int, exc: OversizedHeaderListError) -> None:
        if not isinstance(exc, HeaderListTooLarge):  # the decoder always decodes whole
            raise ProtocolError(f"header list too large: {exc}", ENHANCE_YOUR_CALM)
        stream = self._streams.get(stream_id)
        if stream is None:
            self._unknown_stream_headers(stream_id, [], 0)
            return
        if not stream.headed and not stream.remote_closed:
            self._handler.on_head_too_large(stream_id, exc.fields)  # type: ignore[arg-type]
        self._stream_error(stream_id, ENHANCE_YOUR_CALM)

    def _ping_acked(self, payload: bytes) -> None:
        self._handler.on_ping_ack(payload)


def _response_status(fields: Fields) -> int | None:
    """The ``:status`` of a well-formed response header block, else ``None``."""
    if not fields or fields[0][0] != b":status":
        return None
    status = fields[0][1]
    if len(status) != 3 or not status.isdigit():
        return None
    return int(status) if valid_trailers(fields[1:]) else None  # the same field rules
