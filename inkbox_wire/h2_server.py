"""The server end of an HTTP/2 connection, without I/O: the edge's agent connections.

It expects the client preface, lets the peer open streams (requests,
extended CONNECT included) and answers them. A malformed request header
block resets its stream (a stream error, RFC 9113 §8.1.1); what counts as
malformed is what ``h2`` refused (:func:`check_request`), and a header list
over ``h2``'s default limit is a connection error, as it was with ``h2``.
Receive credit goes back in batches as ``h2`` returned it, once the handler
calls :meth:`ServerEngine.credit` for what it consumed. :meth:`ServerEngine.goaway`
writes a GOAWAY without ending anything: the streams the agent opens
afterwards are still served (an edge's drain relies on that).
"""

from __future__ import annotations

from typing import Protocol

from hpack import NeverIndexedHeaderTuple, OversizedHeaderListError

from inkbox_wire.h2_engine import (
    CANCEL,
    CONNECTION_FIELDS,
    DEFAULT_WINDOW,
    ENABLE_CONNECT_PROTOCOL,
    ENABLE_PUSH,
    ENHANCE_YOUR_CALM,
    FIELD_NAME,
    FIELD_VALUE,
    FLOW_CONTROL_ERROR,
    HEADER_TABLE_SIZE,
    INITIAL_WINDOW_SIZE,
    MAX_CONCURRENT_STREAMS,
    MAX_FRAME,
    MAX_FRAME_SIZE,
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
    frame,
    header_list_size,
)
from inkbox_wire.hpack_codec import DEFAULT_MAX_HEADER_LIST, Decoder, IndexingEncoder

__all__ = [
    "CANCEL",
    "CONNECTION_WINDOW",
    "Fields",
    "MAX_HEADER_LIST",
    "PREFACE",
    "PROTOCOL_ERROR",
    "RECEIVE_WINDOW",
    "REFUSED_STREAM",
    "Handler",
    "ProtocolError",
    "ServerEngine",
    "StreamClosedError",
    "check_request",
    "header_list_size",
]

RECEIVE_WINDOW = 1 << 20
"""Our SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window."""
CONNECTION_WINDOW = 1 << 24
"""The connection's receive window (raised by a WINDOW_UPDATE right after SETTINGS)."""
MAX_STREAMS = 1000
MAX_HEADER_LIST = DEFAULT_MAX_HEADER_LIST

LOCAL_SETTINGS = (
    (HEADER_TABLE_SIZE, 4096),
    (ENABLE_PUSH, 0),
    (INITIAL_WINDOW_SIZE, RECEIVE_WINDOW),
    (MAX_FRAME_SIZE, MAX_FRAME),
    (ENABLE_CONNECT_PROTOCOL, 1),
    (MAX_CONCURRENT_STREAMS, MAX_STREAMS),
)
"""What the edge announces: the same SETTINGS frame ``h2`` sent for it before."""


class Handler(Protocol):
    """Receives a server connection's inbound events, synchronously, in frame order.

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


def _credit(window: int, unacked: int, limit: int) -> tuple[int, int]:
    """h2's window manager: how much credit to return now, and what stays unacknowledged.

    Credit goes back once half the window was consumed, or at once when the
    window is exhausted (and more than a little was consumed).
    """
    if unacked >= limit >> 1 or (window == 0 and unacked > min(1024, limit >> 2)):
        return min(unacked, limit - window), 0
    return 0, unacked


class ServerEngine(Engine):
    """The server side of one HTTP/2 connection; feed :meth:`receive`, drain :meth:`data_to_send`."""

    _handler: Handler
    _encoder: IndexingEncoder
    _serves = True

    def __init__(self, handler: Handler) -> None:
        super().__init__(Decoder(MAX_HEADER_LIST), PREFACE)
        self._handler = handler
        self._encoder = IndexingEncoder()
        self._conn_recv = CONNECTION_WINDOW
        self._conn_unacked = 0
        settings = b"".join(SETTING.pack(*setting) for setting in LOCAL_SETTINGS)
        increment = CONNECTION_WINDOW - DEFAULT_WINDOW
        self._out += frame(SETTINGS, 0, 0, settings)
        self._out += frame(WINDOW_UPDATE, 0, 0, increment.to_bytes(4, "big"))

    @property
    def encoder(self) -> IndexingEncoder:
        """The HPACK encoder of this side's header blocks."""
        return self._encoder

    @property
    def decoder(self) -> Decoder:
        """The HPACK decoder of the peer's header blocks."""
        return self._decoder

    # -- outbound -----------------------------------------------------------------------

    def send_headers(self, stream_id: int, fields: Fields, *, end_stream: bool) -> None:
        """Send a response header block (as given: names lowercase, values clean)."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.local_closed:
            raise StreamClosedError(f"stream {stream_id} is closed")
        self._send_block(stream_id, self._encoder.encode(fields), end_stream)
        if end_stream:
            self._local_end(stream_id, stream)

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
            self._out += frame(WINDOW_UPDATE, 0, stream_id, increment.to_bytes(4, "big"))

    # -- inbound ------------------------------------------------------------------------

    def _consume(self, flow: int) -> None:
        self._conn_recv -= flow
        if self._conn_recv < 0:
            raise ProtocolError("connection receive window exceeded", FLOW_CONTROL_ERROR)

    def _discard(self, flow: int) -> None:
        self._credit_connection(flow)

    def _credit_connection(self, flow: int) -> None:
        increment, self._conn_unacked = _credit(
            self._conn_recv, self._conn_unacked + flow, CONNECTION_WINDOW
        )
        if increment:
            self._conn_recv += increment
            self._out += frame(WINDOW_UPDATE, 0, 0, increment.to_bytes(4, "big"))

    def _too_large(self, stream_id: int, exc: OversizedHeaderListError) -> None:
        raise ProtocolError(f"header list too large: {exc}", ENHANCE_YOUR_CALM)

    def _unknown_stream_headers(self, stream_id: int, fields: Fields, end_stream: int) -> None:
        if stream_id > self.highest_stream_id and stream_id & 1:
            self._open(stream_id, fields, end_stream)
        else:
            super()._unknown_stream_headers(stream_id, fields, end_stream)

    def _open(self, stream_id: int, fields: Fields, end_stream: int) -> None:
        self.highest_stream_id = stream_id
        if len(self._streams) >= MAX_STREAMS:
            self._send_reset(stream_id, REFUSED_STREAM)
            return
        checked = check_request(fields)
        if checked is None or (end_stream and checked[1] > 0):
            self._send_reset(stream_id, PROTOCOL_ERROR)
            return
        stream = Stream(self._initial_window, RECEIVE_WINDOW, local_closed=False)
        stream.headed = True
        stream.expected = checked[1]
        self._streams[stream_id] = stream
        self._handler.on_request(stream_id, checked[0])
        if end_stream:
            self._remote_end(stream_id, stream)

    def _withhold_ping_ack(self) -> bool:
        return self._handler.withhold_ping_ack()


# -- request header validation ------------------------------------------------------------

_PSEUDO = frozenset([b":method", b":scheme", b":path", b":authority", b":protocol"])
_PLAIN_NAMES: set[bytes] = set()
"""Ordinary field names already found valid (at most ``_PLAIN_NAMES_KEPT``)."""
_PLAIN_NAMES_KEPT = 4096


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
    value_ok = FIELD_VALUE.fullmatch
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
        elif FIELD_NAME.fullmatch(name) is None or name in CONNECTION_FIELDS:
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
