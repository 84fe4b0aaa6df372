"""The edge's lean HTTP/2 server engine, against ``h2``'s client as the peer."""

from __future__ import annotations

import contextlib
import random
import struct
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
import pytest
from hyperframe.frame import Frame, GoAwayFrame

from inkbox_wire.h2_server import (
    CANCEL,
    CONNECTION_WINDOW,
    PREFACE,
    PROTOCOL_ERROR,
    RECEIVE_WINDOW,
    REFUSED_STREAM,
    ProtocolError,
    ServerEngine,
    StreamClosedError,
)

from .h2_peers import frame, h2_peer

FLOW_CONTROL_ERROR = 0x3
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB

GET = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"), (b":authority", b"edge")]
POST = [(b":method", b"POST"), *GET[1:]]
WS = [
    (b":method", b"CONNECT"),
    (b":protocol", b"inkbox-tunnel-ws"),
    (b":scheme", b"https"),
    (b":path", b"/_system/ws/br_1"),
    (b":authority", b"edge"),
]
# GET https://edge/ from the static table only (the HPACK states of both sides stay as they were)
STATIC_GET = b"\x82\x87\x84\x01\x04edge"


class Recorder:
    """A handler that keeps every event as a tuple."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.windows = 0
        self.withhold = False
        self.pings = 0
        self.engine: ServerEngine | None = None
        self.reset_on_request = False

    def on_request(self, stream_id: int, fields: list[tuple[bytes, bytes]]) -> None:
        self.events.append(("request", stream_id, fields))
        if self.reset_on_request and self.engine is not None:
            self.engine.reset_stream(stream_id)

    def on_data(self, stream_id: int, data: bytes, flow: int) -> None:
        self.events.append(("data", stream_id, data, flow))

    def on_end(self, stream_id: int) -> None:
        self.events.append(("end", stream_id))

    def on_reset(self, stream_id: int, code: int) -> None:
        self.events.append(("reset", stream_id, code))

    def on_window(self) -> None:
        self.windows += 1

    def on_goaway(self, code: int, last_stream_id: int, debug: bytes) -> None:
        self.events.append(("goaway", code, last_stream_id, debug))

    def withhold_ping_ack(self) -> bool:
        self.pings += 1
        return self.withhold

    def kinds(self) -> list[str]:
        return [event[0] for event in self.events]


class LenientClient(h2.connection.H2Connection):
    """An h2 client that keeps its streams usable after a GOAWAY, as agents do on a
    draining connection (h2 itself refuses every frame after one)."""

    def _receive_goaway_frame(self, frame: Any) -> tuple[list[Any], list[Any]]:
        event = h2.events.ConnectionTerminated()
        event.error_code = frame.error_code
        event.last_stream_id = frame.last_stream_id
        event.additional_data = frame.additional_data or None
        return [], [event]


class Pair:
    """Our server engine wired to an ``h2`` client; :meth:`pump` moves bytes both ways."""

    def __init__(self, *, validate: bool = True, **settings: int) -> None:
        self.handler = Recorder()
        self.server = ServerEngine(self.handler)
        self.handler.engine = self.server
        self.client = h2_peer(LenientClient, client_side=True, validate=validate, settings=settings)
        self.client_events: list[h2.events.Event] = []
        self.pump()

    def pump(self) -> None:
        for _ in range(50):
            to_server = self.client.data_to_send()
            to_client = self.server.data_to_send()
            if not to_server and not to_client:
                return
            if to_server:
                self.server.receive(to_server)
            if to_client:
                self.client_events.extend(self.client.receive_data(to_client))
        raise AssertionError("the peers never went quiet")

    def request(self, fields: list[tuple[bytes, bytes]] = GET, *, end: bool = True) -> int:
        stream_id = self.client.get_next_available_stream_id()
        self.client.send_headers(stream_id, fields, end_stream=end)
        self.pump()
        return stream_id

    def received(self, kind: type[h2.events.Event]) -> list[Any]:
        return [event for event in self.client_events if isinstance(event, kind)]

    def resets(self) -> list[tuple[int, int]]:
        return [(e.stream_id, e.error_code) for e in self.received(h2.events.StreamReset)]

    def raw(self, data: bytes) -> None:
        """Bytes from the client that h2's client would not send itself."""
        self.server.receive(data)
        self.pump()


def parse(data: bytes) -> list[Frame]:
    frames = []
    view = memoryview(data)
    while view:
        parsed, length = Frame.parse_frame_header(view[:9])
        parsed.parse_body(view[9 : 9 + length])
        frames.append(parsed)
        view = view[9 + length :]
    return frames


# -- handshake --------------------------------------------------------------------------


def test_settings_and_connection_window_are_what_h2_sent() -> None:
    reference = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    reference.local_settings = h2.settings.Settings(
        client=False,
        initial_values={
            h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
            h2.settings.SettingCodes.ENABLE_PUSH: 0,
        },
    )
    reference.initiate_connection()
    reference.increment_flow_control_window((1 << 24) - 65535)
    assert ServerEngine(Recorder()).data_to_send() == reference.data_to_send()


def test_handshake_both_ways() -> None:
    pair = Pair(MAX_FRAME_SIZE=20000)
    [changed] = pair.received(h2.events.RemoteSettingsChanged)
    remote = pair.client.remote_settings
    assert remote.enable_connect_protocol == 1
    assert remote.max_concurrent_streams == 1000
    assert remote.initial_window_size == RECEIVE_WINDOW
    assert remote.enable_push == 0
    assert changed.changed_settings  # and the client's SETTINGS were acknowledged:
    assert len(pair.received(h2.events.SettingsAcknowledged)) == 1
    assert pair.client.outbound_flow_control_window == CONNECTION_WINDOW
    assert pair.server.max_frame_size == 20000
    assert pair.handler.windows > 0


def test_a_bad_preface_is_refused_without_goaway() -> None:
    server = ServerEngine(Recorder())
    server.data_to_send()
    server.receive(b"PRI * HTTP/2.0\r\n")  # a preface may arrive in pieces
    with pytest.raises(ProtocolError):
        server.receive(b"\r\nXX\r\n\r\n")
    assert server.data_to_send() == b""
    with pytest.raises(ProtocolError):
        ServerEngine(Recorder()).receive(b"GET / HTTP/1.1\r\n\r\n")


# -- requests and responses --------------------------------------------------------------


def test_request_with_a_body_and_a_response() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.client.send_data(sid, b"hello ")
    pair.client.send_data(sid, b"world", end_stream=True)
    pair.pump()
    assert pair.handler.kinds() == ["request", "data", "data", "end"]
    assert pair.handler.events[0] == ("request", 1, POST)
    assert [e[2] for e in pair.handler.events if e[0] == "data"] == [b"hello ", b"world"]
    pair.server.send_headers(
        sid, [(b":status", b"201"), (b"x-a", b"1"), (b"x-a", b"2")], end_stream=False
    )
    pair.server.send_data(sid, b"body", end_stream=True)
    pair.pump()
    [response] = pair.received(h2.events.ResponseReceived)
    assert list(response.headers) == [(b":status", b"201"), (b"x-a", b"1"), (b"x-a", b"2")]
    assert [e.data for e in pair.received(h2.events.DataReceived)] == [b"body"]
    assert pair.received(h2.events.StreamEnded)[0].stream_id == sid
    assert pair.server.open_streams == 0
    with pytest.raises(StreamClosedError):
        pair.server.send_window(sid)
    with pytest.raises(StreamClosedError):
        pair.server.send_headers(sid, [(b":status", b"200")], end_stream=True)


def test_a_response_may_come_before_the_request_ends() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.server.send_headers(sid, [(b":status", b"404")], end_stream=True)
    pair.pump()
    assert pair.server.open_streams == 1  # half-closed: the client may still send
    pair.client.send_data(sid, b"late", end_stream=True)
    pair.pump()
    assert pair.handler.kinds() == ["request", "data", "end"]
    assert pair.server.open_streams == 0


def test_header_blocks_with_continuation_both_ways() -> None:
    pair = Pair()
    big = b"v" * 40000
    sid = pair.request([*GET, (b"x-big", big)])
    assert pair.handler.events[0] == ("request", sid, [*GET, (b"x-big", big)])
    pair.server.send_headers(sid, [(b":status", b"200"), (b"x-big", big)], end_stream=True)
    out = pair.server.data_to_send()
    assert [type(f).__name__ for f in parse(out)] == ["HeadersFrame"] + ["ContinuationFrame"] * 2
    pair.client_events.extend(pair.client.receive_data(out))
    [response] = pair.received(h2.events.ResponseReceived)
    assert list(response.headers) == [(b":status", b"200"), (b"x-big", big)]


def test_the_hpack_tables_stay_in_step_across_requests_and_table_size_changes() -> None:
    pair = Pair(HEADER_TABLE_SIZE=0)
    fields = [(b":status", b"200"), (b"x-repeat", b"same")]
    for n in range(3):
        sid = pair.request([*GET, (b"x-repeat", b"same"), (b"x-n", str(n).encode())])
        pair.server.send_headers(sid, [*fields, (b"x-n", str(n).encode())], end_stream=True)
        pair.pump()
    pair.client.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 4096})
    pair.pump()
    for n in range(3):
        sid = pair.request([*GET, (b"x-repeat", b"same"), (b"x-n", str(n).encode())])
        pair.server.send_headers(sid, [*fields, (b"x-n", str(n).encode())], end_stream=True)
        pair.pump()
    requests = [dict(e[2]) for e in pair.handler.events if e[0] == "request"]
    assert [r[b"x-n"] for r in requests] == [b"0", b"1", b"2"] * 2
    responses = [dict(e.headers) for e in pair.received(h2.events.ResponseReceived)]
    assert [r[b"x-n"] for r in responses] == [b"0", b"1", b"2"] * 2


def test_extended_connect_opens_a_bridge_stream() -> None:
    pair = Pair()
    sid = pair.request(WS, end=False)
    assert pair.handler.events[0] == ("request", sid, WS)
    pair.server.send_headers(sid, [(b":status", b"200")], end_stream=False)
    pair.server.send_data(sid, b"to agent", end_stream=False)
    pair.client.send_data(sid, b"to edge")
    pair.pump()
    assert [e.data for e in pair.received(h2.events.DataReceived)] == [b"to agent"]
    assert ("data", sid, b"to edge", 7) in pair.handler.events
    pair.client.end_stream(sid)
    pair.server.end_stream(sid)
    pair.pump()
    assert pair.handler.kinds()[-1] == "end"
    assert pair.received(h2.events.StreamEnded)[-1].stream_id == sid
    assert pair.server.open_streams == 0


def test_ordinary_connect_and_host_instead_of_authority_are_requests_too() -> None:
    pair = Pair(validate=False)
    connect = [(b":method", b"CONNECT"), (b":authority", b"example.com:443")]
    first = pair.request(connect, end=False)
    with_host = [*GET[:3], (b"host", b"edge")]
    second = pair.request(with_host)
    assert pair.handler.events[0] == ("request", first, connect)
    assert pair.handler.events[1] == ("request", second, with_host)


def test_split_cookies_are_joined() -> None:
    pair = Pair(validate=False)
    pair.request([*GET, (b"cookie", b"a=1"), (b"x-b", b"2"), (b"cookie", b"b=2")])
    fields = pair.handler.events[0][2]
    assert fields == [*GET, (b"x-b", b"2"), (b"cookie", b"a=1; b=2")]


def test_trailers_end_the_stream_without_being_delivered() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.client.send_data(sid, b"x")
    pair.client.send_headers(sid, [(b"x-trailer", b"1")], end_stream=True)
    pair.pump()
    assert pair.handler.kinds() == ["request", "data", "end"]


def test_padding_and_priority_are_stripped_and_padding_is_counted() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.client.send_data(sid, b"abc", end_stream=True, pad_length=10)
    pair.pump()
    assert ("data", sid, b"abc", 14) in pair.handler.events
    # HEADERS with PADDED and PRIORITY: pad length, dependency + weight, block, padding
    pair.raw(
        frame(
            1,
            0x4 | 0x1 | 0x8 | 0x20,
            3,
            b"\x02" + b"\x00\x00\x00\x00\x10" + STATIC_GET + b"\x00\x00",
        )
    )
    assert pair.handler.events[-2:] == [("request", 3, GET), ("end", 3)]
    pair.raw(frame(2, 0, 5, b"\x00\x00\x00\x03\x10"))  # PRIORITY for an idle stream: ignored
    assert pair.handler.events[-1] == ("end", 3)


def test_frames_may_arrive_split_anywhere() -> None:
    pair = Pair()
    sid = pair.client.get_next_available_stream_id()
    pair.client.send_headers(sid, POST)
    pair.client.send_data(sid, b"split me", end_stream=True)
    for byte in pair.client.data_to_send():
        pair.server.receive(bytes([byte]))
    assert pair.handler.kinds() == ["request", "data", "end"]
    assert pair.handler.events[1][2] == b"split me"


# -- flow control ------------------------------------------------------------------------


def test_send_windows_follow_window_updates_and_settings_changes() -> None:
    pair = Pair(INITIAL_WINDOW_SIZE=10)
    sid = pair.request(POST, end=False)
    pair.server.send_headers(sid, [(b":status", b"200")], end_stream=False)
    assert pair.server.send_window(sid) == 10
    with pytest.raises(ValueError):
        pair.server.send_data(sid, b"x" * 11, end_stream=False)
    pair.server.send_data(sid, b"x" * 10, end_stream=False)
    assert pair.server.send_window(sid) == 0
    pair.pump()
    pair.client.increment_flow_control_window(100, stream_id=sid)
    pair.pump()
    assert pair.server.send_window(sid) == 100
    pair.client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 30})
    pair.pump()
    assert pair.server.send_window(sid) == 120  # the change applies to open streams too
    later = pair.request(POST, end=False)
    pair.server.send_headers(later, [(b":status", b"200")], end_stream=False)
    assert pair.server.send_window(later) == 30
    assert pair.handler.windows > 0


def test_the_connection_window_limits_every_stream() -> None:
    pair = Pair(INITIAL_WINDOW_SIZE=100000)
    streams = [pair.request(POST, end=False) for _ in range(2)]
    for sid in streams:
        pair.server.send_headers(sid, [(b":status", b"200")], end_stream=False)
    pair.server.send_data(streams[0], b"a" * 16384, end_stream=False)
    pair.server.send_data(streams[0], b"a" * 16384, end_stream=False)
    pair.server.send_data(streams[0], b"a" * 16384, end_stream=False)
    assert pair.server.send_window(streams[1]) == 65535 - 3 * 16384
    pair.server.send_data(streams[1], b"b" * (65535 - 3 * 16384), end_stream=False)
    assert pair.server.send_window(streams[0]) == 0
    pair.pump()
    pair.client.increment_flow_control_window(1000)
    pair.pump()
    assert pair.server.send_window(streams[0]) == 1000
    assert pair.server.send_window(streams[1]) == 1000


def test_data_frames_follow_the_peers_max_frame_size() -> None:
    pair = Pair(MAX_FRAME_SIZE=20000, INITIAL_WINDOW_SIZE=40000)
    pair.client.max_inbound_frame_size = 20000  # h2 applies its own setting only once changed
    sid = pair.request(POST, end=False)
    pair.server.send_headers(sid, [(b":status", b"200")], end_stream=False)
    pair.server.send_data(sid, b"z" * 20000, end_stream=True)
    with pytest.raises(StreamClosedError):
        pair.server.send_data(sid, b"", end_stream=True)
    pair.pump()
    assert [len(e.data) for e in pair.received(h2.events.DataReceived)] == [20000]
    other = pair.request(POST, end=False)
    pair.server.send_headers(other, [(b":status", b"200")], end_stream=False)
    with pytest.raises(ValueError):
        pair.server.send_data(other, b"z" * 20001, end_stream=False)


def test_receive_credit_is_returned_in_batches_as_h2_did() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    chunk = b"d" * 16384
    half = RECEIVE_WINDOW // 2
    for _ in range(half // len(chunk)):
        pair.client.send_data(sid, chunk)
    pair.pump()
    assert pair.client.local_flow_control_window(sid) == half
    pair.server.credit(sid, half - 1)
    assert pair.server.data_to_send() == b""  # under half the window: nothing yet
    pair.server.credit(sid, 1)
    [update] = parse(pair.server.data_to_send())
    assert (update.stream_id, update.window_increment) == (sid, half)
    # the connection window is credited once half of it was consumed
    pair.client.receive_data(update.serialize())
    credited = half
    updates = []
    while credited < CONNECTION_WINDOW // 2:
        pair.client.send_data(sid, chunk)
        pair.server.receive(pair.client.data_to_send())
        pair.server.credit(sid, len(chunk))
        credited += len(chunk)
        out = pair.server.data_to_send()
        updates += [f.window_increment for f in parse(out) if f.stream_id == 0]
        pair.client.receive_data(out)
    assert updates == [CONNECTION_WINDOW // 2]


def test_an_exhausted_window_is_credited_early() -> None:
    pair = Pair(INITIAL_WINDOW_SIZE=65535)
    sid = pair.request(POST, end=False)
    chunk = b"d" * 16384
    for _ in range(RECEIVE_WINDOW // len(chunk)):
        pair.client.send_data(sid, chunk)
    pair.pump()
    pair.server.credit(sid, RECEIVE_WINDOW // 2)
    pair.pump()
    for _ in range(RECEIVE_WINDOW // 2 // len(chunk)):
        pair.client.send_data(sid, chunk)
    pair.pump()
    assert pair.client.local_flow_control_window(sid) == 0
    pair.server.credit(sid, 2048)  # the window is empty: more than 1 KiB is enough
    pair.pump()
    assert pair.client.local_flow_control_window(sid) == 2048


def test_no_stream_credit_once_the_peer_ended_the_stream() -> None:
    pair = Pair()
    ended = pair.request(POST, end=False)
    pair.client.send_data(ended, b"d" * 16384, end_stream=True)
    pair.pump()
    pair.server.credit(ended, RECEIVE_WINDOW)
    assert pair.server.data_to_send() == b""
    sid = pair.request(POST, end=False)
    pair.client.send_data(sid, b"d" * 16384)
    pair.pump()
    pair.server.credit(sid, RECEIVE_WINDOW)
    assert [f.stream_id for f in parse(pair.server.data_to_send())] == [sid]


def test_too_much_data_resets_the_stream() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.raw(b"".join(frame(0, 0, sid, b"d" * 16384) for _ in range(RECEIVE_WINDOW // 16384)))
    pair.raw(frame(0, 0, sid, b"!"))
    assert pair.handler.events[-1] == ("reset", sid, FLOW_CONTROL_ERROR)
    assert pair.resets() == [(sid, FLOW_CONTROL_ERROR)]


def test_a_body_longer_or_shorter_than_its_content_length_resets_the_stream() -> None:
    pair = Pair(validate=False)
    longer = pair.request([*POST, (b"content-length", b"3")], end=False)
    pair.client.send_data(longer, b"abcd", end_stream=True)
    shorter = pair.request([*POST, (b"content-length", b"3")], end=False)
    pair.client.send_data(shorter, b"ab", end_stream=True)
    exact = pair.request([*POST, (b"content-length", b"3")], end=False)
    pair.client.send_data(exact, b"a")
    pair.client.send_data(exact, b"bc", end_stream=True)
    pair.pump()
    assert pair.resets() == [(longer, PROTOCOL_ERROR), (shorter, PROTOCOL_ERROR)]
    assert ("end", exact) in pair.handler.events
    assert ("reset", longer, PROTOCOL_ERROR) in pair.handler.events


def test_window_updates_for_streams_reset_on_error_or_ignored() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.raw(frame(8, 0, sid, b"\x00\x00\x00\x00"))  # an increment of 0: a stream error
    assert pair.resets() == [(sid, PROTOCOL_ERROR)]
    pair.raw(frame(8, 0, sid, b"\x00\x00\x00\x01"))  # the stream is closed: ignored
    other = pair.request(POST, end=False)
    pair.raw(frame(8, 0, other, b"\x7f\xff\xff\xff"))  # stream window overflow
    assert pair.resets()[-1] == (other, FLOW_CONTROL_ERROR)
    assert pair.handler.events[-1] == ("reset", other, FLOW_CONTROL_ERROR)


# -- resets ------------------------------------------------------------------------------


def test_reset_by_the_peer() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.client.reset_stream(sid, error_code=CANCEL)
    pair.pump()
    assert pair.handler.events[-1] == ("reset", sid, CANCEL)
    assert pair.server.open_streams == 0
    with pytest.raises(StreamClosedError):
        pair.server.send_headers(sid, [(b":status", b"200")], end_stream=True)


def test_reset_here_and_frames_in_flight_after_it() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.client.send_data(sid, b"in flight")
    pair.client.send_headers(sid, [(b"x-trailer", b"indexed")], end_stream=True)
    in_flight = pair.client.data_to_send()
    pair.server.reset_stream(sid, CANCEL)
    pair.server.reset_stream(sid, CANCEL)  # once only
    assert [f.error_code for f in parse(pair.server.data_to_send())] == [CANCEL]
    pair.server.receive(in_flight)  # DATA and trailers for a reset stream are dropped
    assert pair.handler.kinds() == ["request"]
    again = pair.request([*GET, (b"x-trailer", b"indexed")])  # HPACK still in step
    assert pair.handler.events[-2] == ("request", again, [*GET, (b"x-trailer", b"indexed")])


def test_a_handler_may_reset_a_stream_as_it_opens() -> None:
    pair = Pair()
    pair.handler.reset_on_request = True
    sid = pair.request(POST)
    assert pair.handler.kinds() == ["request"]  # no end for a stream it reset
    assert pair.resets() == [(sid, CANCEL)]


def test_data_after_the_peer_ended_the_stream_resets_it() -> None:
    pair = Pair()
    sid = pair.request(POST)
    pair.raw(frame(0, 0, sid, b"more"))
    assert pair.handler.events[-1] == ("reset", sid, STREAM_CLOSED)
    assert pair.resets() == [(sid, STREAM_CLOSED)]


def test_streams_over_the_limit_are_refused() -> None:
    pair = Pair()
    for _ in range(1000):
        pair.client.send_headers(pair.client.get_next_available_stream_id(), GET)
    pair.pump()
    assert pair.server.open_streams == 1000
    pair.server.receive(frame(1, 0x5, 2001, STATIC_GET))  # h2's client would not open it
    [refused] = parse(pair.server.data_to_send())
    assert (refused.stream_id, refused.error_code) == (2001, REFUSED_STREAM)
    assert pair.handler.events[-1] == ("request", 1999, GET)
    pair.server.reset_stream(1)
    pair.raw(frame(1, 0x5, 2003, STATIC_GET))
    assert pair.handler.events[-2:] == [("request", 2003, GET), ("end", 2003)]


# -- malformed requests ------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        [*GET, (b"X-Upper", b"1")],
        [*GET, (b"connection", b"close")],
        [*GET, (b"te", b"gzip")],
        [*GET, (b"x-a", b" padded")],
        [*GET, (b"x-a", b"line\r\nbreak")],
        [*GET, (b"x-a", b"nul\x00")],
        [*GET, (b"x:a", b"1")],
        [*GET, (b"", b"1")],
        GET[:2] + GET[3:],  # no :path
        [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b""), GET[3]],
        GET[:3],  # neither :authority nor Host
        [*GET[:3], (b"host", b"a"), (b"host", b"a")],
        [*GET, (b"host", b"other")],
        [*GET, (b":status", b"200")],
        [(b"x-a", b"1"), *GET],  # a pseudo-header after a regular one
        [*GET, (b":method", b"GET")],
        [*GET, (b":custom", b"1")],
        [*GET, (b":protocol", b"inkbox-tunnel-ws")],  # :protocol without CONNECT
        WS[:3] + WS[4:],  # extended CONNECT without :path
        [(b":method", b"CONNECT"), (b":scheme", b"https"), (b":authority", b"a:1")],
        [*GET, (b"content-length", b"x")],
        [*GET, (b"content-length", b"1"), (b"content-length", b"2")],
        [*GET, (b"content-length", b"1")],  # END_STREAM on HEADERS: no body at all
    ],
)
def test_a_malformed_request_resets_only_its_stream(fields: list[tuple[bytes, bytes]]) -> None:
    pair = Pair(validate=False)
    before = pair.request(POST, end=False)
    # indexed fields: the next request only decodes if this block was decoded too
    sid = pair.request([*fields, (b"x-indexed", b"kept")])
    assert pair.resets() == [(sid, PROTOCOL_ERROR)]
    assert pair.handler.kinds() == ["request"]  # nothing about a stream it never saw
    after = pair.request([*GET, (b"x-indexed", b"kept")])
    assert pair.handler.events[-2:] == [
        ("request", after, [*GET, (b"x-indexed", b"kept")]),
        ("end", after),
    ]
    pair.client.send_data(before, b"still open", end_stream=True)
    pair.pump()
    assert pair.handler.events[-1] == ("end", before)


@pytest.mark.parametrize(
    "trailers",
    [
        frame(1, 0x4, 1, b"\x40\x01a\x011"),  # trailers without END_STREAM
        frame(1, 0x5, 1, b"\x84"),  # a pseudo-header in trailers
        frame(1, 0x5, 1, b"\x40\x01A\x011"),  # an uppercase name
    ],
)
def test_malformed_trailers_reset_the_stream(trailers: bytes) -> None:
    pair = Pair()
    pair.request(POST, end=False)
    pair.raw(trailers)
    assert pair.resets() == [(1, PROTOCOL_ERROR)]
    assert pair.handler.events[-1] == ("reset", 1, PROTOCOL_ERROR)


def test_headers_after_the_peer_ended_the_stream_reset_it() -> None:
    pair = Pair()
    pair.request(POST)
    pair.raw(frame(1, 0x5, 1, b"\x40\x01a\x011"))
    assert pair.resets() == [(1, STREAM_CLOSED)]


# -- ping, goaway ------------------------------------------------------------------------


def test_pings_are_acknowledged_unless_withheld() -> None:
    pair = Pair()
    pair.client.ping(b"12345678")
    pair.pump()
    assert [e.ping_data for e in pair.received(h2.events.PingAckReceived)] == [b"12345678"]
    pair.handler.withhold = True
    pair.client.ping(b"abcdefgh")
    pair.pump()
    assert len(pair.received(h2.events.PingAckReceived)) == 1
    pair.raw(frame(6, 0x1, 0, b"ackackac"))  # a PING ACK needs no answer and no question
    assert pair.handler.pings == 2


def test_goaway_written_mid_stream_leaves_the_streams_working() -> None:
    pair = Pair()
    first = pair.request(POST, end=False)
    pair.server.goaway(0x1201, b'{"reason":"superseded"}')
    pair.pump()
    [goaway] = pair.received(h2.events.ConnectionTerminated)
    assert goaway.last_stream_id == first
    assert goaway.error_code == 0x1201
    assert goaway.additional_data == b'{"reason":"superseded"}'
    pair.client.send_data(first, b"reply", end_stream=True)
    pair.pump()
    assert pair.handler.events[-2:] == [("data", first, b"reply", 5), ("end", first)]
    pair.server.send_headers(first, [(b":status", b"200")], end_stream=True)
    second = pair.request(POST)  # served as before
    pair.server.send_headers(second, [(b":status", b"200")], end_stream=True)
    pair.server.goaway(0)
    pair.pump()
    assert len(pair.received(h2.events.ResponseReceived)) == 2
    assert pair.received(h2.events.ConnectionTerminated)[-1].last_stream_id == second


def test_goaway_from_the_peer_is_reported() -> None:
    pair = Pair()
    pair.request(POST, end=False)
    pair.raw(frame(7, 0, 0, struct.pack(">II", 0, 2) + b"bye"))
    assert pair.handler.events[-1] == ("goaway", 2, 0, b"bye")


# -- connection errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(0, 0, 0, b"x"), PROTOCOL_ERROR),  # DATA on stream 0
        (frame(0, 0, 9, b"x"), PROTOCOL_ERROR),  # DATA on an idle stream
        (frame(0, 0, 2, b"x"), PROTOCOL_ERROR),  # DATA on a server-initiated id
        (frame(0, 0x8, 1, b"\x05abc"), PROTOCOL_ERROR),  # padding longer than the frame
        (frame(0, 0, 1, b"x" * 16385), FRAME_SIZE_ERROR),  # over our SETTINGS_MAX_FRAME_SIZE
        (frame(1, 0, 3, b"\x82") + frame(0, 0, 1, b""), PROTOCOL_ERROR),  # block interrupted
        (frame(1, 0, 3, b"\x82") + frame(9, 4, 5, b"\x87"), PROTOCOL_ERROR),  # other stream
        (frame(9, 4, 1, b"\x88"), PROTOCOL_ERROR),  # CONTINUATION without HEADERS
        (frame(1, 0, 3, b"\x82") + frame(9, 0, 3, b"") * 64, PROTOCOL_ERROR),  # endless block
        (frame(1, 5, 0, STATIC_GET), PROTOCOL_ERROR),  # HEADERS on stream 0
        (frame(1, 5, 4, STATIC_GET), PROTOCOL_ERROR),  # HEADERS on an even id
        (frame(1, 0x5 | 0x8, 3, b"\xff"), PROTOCOL_ERROR),  # HEADERS padding too long
        (frame(1, 5, 3, b"\xff\xff\xff\xff\xff\xff"), COMPRESSION_ERROR),  # undecodable
        (frame(1, 5, 3, b"\x40\x01a\x7f\x81\x80\x04" + b"v" * 66000), FRAME_SIZE_ERROR),
        (frame(5, 4, 1, b"\x00\x00\x00\x02\x88"), PROTOCOL_ERROR),  # PUSH_PROMISE
        (frame(4, 0, 0, b"\x00\x04\x80\x00\x00\x00"), FLOW_CONTROL_ERROR),  # window too large
        (frame(4, 0, 0, b"\x00\x05\x00\x00\x3f\xff"), PROTOCOL_ERROR),  # MAX_FRAME_SIZE small
        (frame(4, 0, 0, b"\x00\x05\x01\x00\x00\x00"), PROTOCOL_ERROR),  # MAX_FRAME_SIZE large
        (frame(4, 0, 0, b"\x00\x02\x00\x00\x00\x02"), PROTOCOL_ERROR),  # ENABLE_PUSH = 2
        (frame(4, 0, 0, b"\x00\x08\x00\x00\x00\x02"), PROTOCOL_ERROR),  # CONNECT_PROTOCOL 2
        (frame(4, 0, 0, b"\x00"), FRAME_SIZE_ERROR),  # SETTINGS of a wrong length
        (frame(4, 1, 0, b"\x00\x00\x00\x00\x00\x00"), FRAME_SIZE_ERROR),  # ACK with payload
        (frame(4, 0, 1, b""), PROTOCOL_ERROR),  # SETTINGS on a stream
        (frame(6, 0, 0, b"short"), FRAME_SIZE_ERROR),  # PING of a wrong length
        (frame(6, 0, 1, b"12345678"), PROTOCOL_ERROR),  # PING on a stream
        (frame(8, 0, 0, b"\x00\x00\x00\x00"), PROTOCOL_ERROR),  # WINDOW_UPDATE of 0
        (frame(8, 0, 0, b"\x7f\xff\xff\xff"), FLOW_CONTROL_ERROR),  # connection window overflow
        (frame(8, 0, 0, b"\x00\x01"), FRAME_SIZE_ERROR),  # WINDOW_UPDATE of a wrong length
        (frame(8, 0, 7, b"\x00\x00\x00\x01"), PROTOCOL_ERROR),  # WINDOW_UPDATE, idle stream
        (frame(3, 0, 7, b"\x00\x00\x00\x08"), PROTOCOL_ERROR),  # RST_STREAM on an idle stream
        (frame(3, 0, 0, b"\x00\x00\x00\x08"), PROTOCOL_ERROR),  # RST_STREAM on stream 0
        (frame(3, 0, 1, b"\x08"), FRAME_SIZE_ERROR),  # RST_STREAM of a wrong length
        (frame(2, 0, 0, b"\x00\x00\x00\x00\x10"), PROTOCOL_ERROR),  # PRIORITY on stream 0
        (frame(2, 0, 1, b"\x00"), FRAME_SIZE_ERROR),  # PRIORITY of a wrong length
        (frame(7, 0, 1, b"\x00" * 8), PROTOCOL_ERROR),  # GOAWAY on a stream
        (frame(7, 0, 0, b"\x00" * 4), FRAME_SIZE_ERROR),  # GOAWAY too short
    ],
)
def test_connection_errors_send_goaway(data: bytes, code: int) -> None:
    pair = Pair()
    pair.request(POST, end=False)  # stream 1 is open
    with pytest.raises(ProtocolError) as raised:
        pair.server.receive(data)
    assert raised.value.code == code
    [goaway] = parse(pair.server.data_to_send())
    assert isinstance(goaway, GoAwayFrame)
    assert (goaway.last_stream_id, goaway.error_code) == (1, code)


def test_an_oversized_header_list_is_a_connection_error() -> None:
    pair = Pair()
    pair.client.send_headers(1, [*GET, (b"x-big", b"v" * 70000)], end_stream=True)
    with pytest.raises(ProtocolError) as raised:
        pair.server.receive(pair.client.data_to_send())
    assert raised.value.code == ENHANCE_YOUR_CALM


def test_headers_that_cannot_open_a_stream_are_a_connection_error() -> None:
    pair = Pair()
    pair.request(POST)
    pair.server.send_headers(1, [(b":status", b"200")], end_stream=True)  # 1 is closed
    with pytest.raises(ProtocolError):
        pair.server.receive(frame(1, 5, 1, STATIC_GET))
    skipped = Pair()
    skipped.raw(frame(1, 5, 5, STATIC_GET))
    with pytest.raises(ProtocolError):
        skipped.server.receive(frame(1, 5, 3, STATIC_GET))  # ids must increase


def test_overrunning_the_connection_window_is_a_connection_error() -> None:
    pair = Pair()
    streams = [pair.request(POST, end=False) for _ in range(CONNECTION_WINDOW // RECEIVE_WINDOW)]
    chunk = b"d" * 16384
    for sid in streams:
        pair.server.receive(frame(0, 0, sid, chunk) * (RECEIVE_WINDOW // len(chunk)))
    with pytest.raises(ProtocolError) as raised:
        pair.server.receive(frame(0, 0, streams[0], b"!"))
    assert raised.value.code == FLOW_CONTROL_ERROR


def test_a_settings_change_overflowing_a_stream_window_is_a_connection_error() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.raw(frame(8, 0, sid, (2**31 - 1 - 65535).to_bytes(4, "big")))
    assert pair.server.send_window(sid) == 65535  # the connection window is still 65535
    with pytest.raises(ProtocolError) as raised:
        pair.server.receive(frame(4, 0, 0, b"\x00\x04\x00\x01\x00\x00"))
    assert raised.value.code == FLOW_CONTROL_ERROR


def _random_frame(rng: random.Random, open_ids: list[int]) -> bytes:
    kind = rng.choice([0, 0, 1, 1, 2, 3, 4, 6, 7, 8, 9, rng.randrange(256)])
    flags = rng.getrandbits(8)
    stream_id = rng.choice([0, *open_ids, rng.randrange(1, 50), rng.getrandbits(31)])
    roll = rng.random()
    if roll < 0.3:
        payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40)))
    elif roll < 0.6 and kind in (1, 9):  # a real header block, sometimes truncated
        block = hpack.Encoder().encode([*GET, (b"x-a", b"%d" % rng.randrange(9))])
        payload = block[: rng.randrange(len(block) + 1)]
    else:
        size = rng.choice([0, 1, 4, 5, 6, 8, 12, 16384])
        payload = (bytes(rng.getrandbits(8) for _ in range(64)) * (size // 64 + 1))[:size]
    return frame(kind, flags, stream_id, payload)


@pytest.mark.parametrize("seed", range(30))
def test_arbitrary_frames_give_events_or_a_protocol_error(seed: int) -> None:
    """Whatever an agent sends: handler events or ProtocolError, never another exception."""
    rng = random.Random(seed)
    for _ in range(40):
        engine = ServerEngine(Recorder())
        opening = hpack.Encoder()
        wire = PREFACE + frame(4, 0, 0)
        open_ids = [1, 3, 5]
        for stream_id in open_ids:
            wire += frame(1, 4 | (rng.random() < 0.5), stream_id, opening.encode(GET))
        wire += b"".join(_random_frame(rng, open_ids) for _ in range(rng.randrange(1, 12)))
        try:
            for start in range(0, len(wire), step := rng.choice([1, 7, 100, len(wire)])):
                engine.receive(wire[start : start + step])
                engine.data_to_send()
        except ProtocolError:
            continue
        for stream_id in open_ids:  # what is left open still takes local operations
            with contextlib.suppress(StreamClosedError):
                engine.send_headers(stream_id, [(b":status", b"200")], end_stream=False)
            engine.credit(stream_id, 10)
            engine.reset_stream(stream_id)
