"""``h2``'s server connection, with what one request's header block carries failing only its stream.

``h2`` treats every header problem as a connection error: a request header
list over SETTINGS_MAX_HEADER_LIST_SIZE, a bad field or misplaced
pseudo-header, a bad ``content-length``; one request would end every other
stream of the connection. Here:

* a header list over the limit is still decoded whole (the tunnel :class:`Decoder`
  keeps the HPACK table in step), ``h2`` is handed a stand-in block so its
  stream states stay right, and the stream is recorded as
  :data:`TOO_LARGE` (the server answers 431, RFC 9113 §10.5.1);
* a block that opened a new stream but is malformed leaves that stream
  recorded as :data:`MALFORMED` (the server resets it with PROTOCOL_ERROR,
  RFC 9113 §8.1.1).

Errors on streams that were already open (trailers) stay connection errors.
"""

from __future__ import annotations

from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from hpack import HeaderTuple

from inkbox_wire.hpack_codec import Decoder, HeaderListTooLarge

__all__ = ["MALFORMED", "TOO_LARGE", "StreamTolerantConnection"]

TOO_LARGE = "too-large"
MALFORMED = "malformed"

_REQUEST_STAND_IN = [
    HeaderTuple(b":method", b"GET"),
    HeaderTuple(b":scheme", b"https"),
    HeaderTuple(b":path", b"/"),
    HeaderTuple(b":authority", b"stand-in"),
]
_HEADER_EVENTS = (h2.events.RequestReceived, h2.events.TrailersReceived)


class _StandInDecoder(Decoder):
    """A header list over the limit decodes to :attr:`stand_in` (the table stays in step)."""

    def __init__(self) -> None:
        super().__init__()
        self.stand_in: list[HeaderTuple] = []
        self.too_large = False

    def decode(self, data: bytes, raw: bool = False) -> list[HeaderTuple]:
        try:
            return super().decode(data, raw)
        except HeaderListTooLarge:
            self.too_large = True
            return list(self.stand_in)


class StreamTolerantConnection(h2.connection.H2Connection):
    """An ``h2`` server connection that records per-stream header failures in :attr:`refused`."""

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config)
        self._stand_in = _StandInDecoder()
        self.decoder = self._stand_in  # type: ignore[assignment]  # hpack.Decoder's interface
        self.refused: dict[int, str] = {}
        """Streams to refuse: :data:`TOO_LARGE` or :data:`MALFORMED` (the server pops them)."""

    def _receive_headers_frame(self, frame: Any) -> tuple[list[Any], list[h2.events.Event]]:
        stream_id = frame.stream_id
        known = stream_id in self.streams
        decoder = self._stand_in
        decoder.stand_in = [] if known else _REQUEST_STAND_IN  # empty trailers, or a request
        decoder.too_large = False
        try:
            frames, events = super()._receive_headers_frame(frame)
        except h2.exceptions.ProtocolError:
            stream = self.streams.get(stream_id)
            if known or stream is None or stream.closed:
                raise
            # The block was decoded and opened this stream: only the request is malformed.
            self.refused[stream_id] = MALFORMED
            return [], []
        if decoder.too_large:
            self.refused[stream_id] = TOO_LARGE
            events = [event for event in events if not isinstance(event, _HEADER_EVENTS)]
        return frames, events
