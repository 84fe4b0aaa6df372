"""The agent's lean HTTP/2 client engine, against ``h2``'s server as the peer."""

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

from inkbox_wire.h2_client import (
    CANCEL,
    ENHANCE_YOUR_CALM,
    MAX_HEADER_LIST,
    PROTOCOL_ERROR,
    ClientEngine,
    ProtocolError,
    StreamClosedError,
    header_list_size,
)

from .h2_peers import frame, h2_peer

GET = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"), (b":authority", b"edge")]
POST = [(b":method", b"POST"), *GET[1:]]


class Recorder:
    """A handler that keeps every event as a tuple."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_head(self, stream_id: int, fields: list[tuple[bytes, bytes]]) -> None:
        self.events.append(("head", stream_id, fields))

    def on_data(self, stream_id: int, data: bytes, flow: int) -> None:
        self.events.append(("data", stream_id, data, flow))

    def on_end(self, stream_id: int) -> None:
        self.events.append(("end", stream_id))

    def on_reset(self, stream_id: int, code: int) -> None:
        self.events.append(("reset", stream_id, code))

    def on_head_too_large(self, stream_id: int, fields: list[tuple[bytes, bytes]]) -> None:
        self.events.append(("too_large", stream_id, fields))

    def on_window(self) -> None:
        self.events.append(("window",))

    def on_ping_ack(self, payload: bytes) -> None:
        self.events.append(("ping_ack", payload))

    def on_goaway(self, code: int, last_stream_id: int, debug: bytes) -> None:
        self.events.append(("goaway", code, last_stream_id, debug))

    def kinds(self) -> list[str]:
        return [event[0] for event in self.events if event[0] != "window"]


class Pair:
    """Our client engine wired to an ``h2`` server; :meth:`pump` moves bytes both ways."""

    def __init__(self, *, validate: bool = True, **settings: int) -> None:
        self.handler = Recorder()
        self.client = ClientEngine(self.handler)
        self.server = h2_peer(
            h2.connection.H2Connection, client_side=False, validate=validate, settings=settings
        )
        self.server_events: list[h2.events.Event] = []
        self.pump()

    def pump(self) -> None:
        for _ in range(20):
            to_server = self.client.data_to_send()
            to_client = self.server.data_to_send()
            if not to_server and not to_client:
                return
            if to_server:
                self.server_events.extend(self.server.receive_data(to_server))
            if to_client:
                self.client.receive(to_client)
        raise AssertionError("the peers never went quiet")

    def request(self, fields: list[tuple[bytes, bytes]] = GET, *, end: bool = True) -> int:
        stream_id = self.client.open_stream(fields, end_stream=end)
        self.pump()
        return stream_id

    def received(self, kind: type[h2.events.Event]) -> list[Any]:
        return [event for event in self.server_events if isinstance(event, kind)]


def test_preface_and_settings_are_what_h2_sent() -> None:
    reference = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    reference.local_settings = h2.settings.Settings(
        client=True,
        initial_values={
            h2.settings.SettingCodes.ENABLE_PUSH: 0,
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 65536,
        },
    )
    reference.initiate_connection()
    assert ClientEngine(Recorder()).data_to_send() == reference.data_to_send()


def test_request_and_response_with_a_body() -> None:
    pair = Pair()
    sid = pair.request(POST, end=False)
    pair.client.send_data(sid, b"hello", end_stream=True)
    pair.pump()
    [request] = pair.received(h2.events.RequestReceived)
    assert list(request.headers) == POST
    assert [e.data for e in pair.received(h2.events.DataReceived)] == [b"hello"]
    pair.server.send_headers(sid, [(b":status", b"201"), (b"x-a", b"1"), (b"x-a", b"2")])
    pair.server.send_data(sid, b"body", end_stream=True)
    pair.pump()
    assert pair.handler.kinds() == ["head", "data", "end"]
    assert pair.handler.events[-3][2] == [(b":status", b"201"), (b"x-a", b"1"), (b"x-a", b"2")]
    assert pair.client.open_streams == 0
    with pytest.raises(StreamClosedError):
        pair.client.send_window(sid)


def test_big_header_blocks_use_continuation_both_ways() -> None:
    pair = Pair(MAX_HEADER_LIST_SIZE=1 << 20)
    big = b"v" * 40000
    sid = pair.request([*GET, (b"x-big", big)])
    [request] = pair.received(h2.events.RequestReceived)
    assert (b"x-big", big) in list(request.headers)
    pair.server.send_headers(sid, [(b":status", b"200"), (b"x-big", big)], end_stream=True)
    pair.pump()
    assert pair.handler.events[-2] == ("head", sid, [(b":status", b"200"), (b"x-big", big)])


def test_send_windows_follow_settings_and_window_updates() -> None:
    pair = Pair(INITIAL_WINDOW_SIZE=10)
    sid = pair.request(POST, end=False)
    assert pair.client.send_window(sid) == 10
    with pytest.raises(ValueError):
        pair.client.send_data(sid, b"x" * 11, end_stream=False)
    pair.client.send_data(sid, b"x" * 10, end_stream=False)
    assert pair.client.send_window(sid) == 0
    pair.pump()
    pair.server.increment_flow_control_window(100, stream_id=sid)
    pair.pump()
    assert pair.client.send_window(sid) == 100
    pair.server.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 30})
    pair.pump()
    assert pair.client.send_window(sid) == 120  # the change applies to open streams too
    assert ("window",) in pair.handler.events


def test_receive_credit_per_stream_and_for_the_connection() -> None:
    pair = Pair()
    sid = pair.request()
    pair.server.send_headers(sid, [(b":status", b"200")])
    sent = 0
    while sent < 65535:
        chunk = min(16384, 65535 - sent)
        pair.server.send_data(sid, b"y" * chunk)
        sent += chunk
    pair.pump()
    assert pair.server.local_flow_control_window(sid) == 0
    assert pair.server.outbound_flow_control_window >= 49152  # credited in 16 KiB batches
    pair.client.credit(sid, 65535)
    pair.pump()
    assert pair.server.streams[sid].outbound_flow_control_window == 65535


def test_padding_is_stripped_but_counted() -> None:
    pair = Pair()
    sid = pair.request()
    pair.server.send_headers(sid, [(b":status", b"200")])
    pair.server.send_data(sid, b"abc", end_stream=True, pad_length=10)
    pair.pump()
    assert ("data", sid, b"abc", 14) in pair.handler.events


def test_informational_responses_are_skipped_and_trailers_end_the_stream() -> None:
    pair = Pair()
    sid = pair.request()
    pair.server.send_headers(sid, [(b":status", b"103"), (b"link", b"</a>")])
    pair.server.send_headers(sid, [(b":status", b"200")])
    pair.server.send_data(sid, b"x")
    pair.server.send_headers(sid, [(b"x-trailer", b"1")], end_stream=True)
    pair.pump()
    heads = [event for event in pair.handler.events if event[0] == "head"]
    assert pair.handler.kinds() == ["head", "data", "end"]
    assert heads == [("head", sid, [(b":status", b"200")])]


@pytest.mark.parametrize(
    "fields",
    [
        [(b"x-a", b"1")],
        [(b":status", b"20")],
        [(b":status", b"200"), (b"X-Upper", b"1")],
        [(b":status", b"200"), (b"connection", b"close")],
        [(b":status", b"200"), (b"x-a", b" padded ")],
        [(b":status", b"200"), (b"x-a", b"line\r\nbreak")],
        [(b":status", b"200"), (b"te", b"gzip")],
        [(b":status", b"200"), (b":path", b"/")],
        [(b":status", b"101")],
    ],
)
def test_a_malformed_response_resets_only_its_stream(fields: list[tuple[bytes, bytes]]) -> None:
    pair = Pair(validate=False)
    sid = pair.request(end=False)
    informational = fields[0] == (b":status", b"101")  # h2 will not end a stream with it
    pair.server.send_headers(sid, fields, end_stream=not informational)
    pair.pump()
    assert pair.handler.events[-1] == ("reset", sid, PROTOCOL_ERROR)
    assert pair.received(h2.events.StreamReset)[-1].error_code == PROTOCOL_ERROR
    other = pair.request()
    pair.server.send_headers(other, [(b":status", b"200")], end_stream=True)
    pair.pump()
    assert pair.handler.events[-1] == ("end", other)


def test_reset_by_the_peer_and_late_frames_after_a_local_reset() -> None:
    pair = Pair()
    first = pair.request()
    pair.server.reset_stream(first, error_code=CANCEL)
    pair.pump()
    assert pair.handler.events[-1] == ("reset", first, CANCEL)
    second = pair.request()
    pair.server.send_headers(second, [(b":status", b"200")])
    pair.pump()
    pair.client.reset_stream(second)
    # DATA already in flight when our RST_STREAM arrives is dropped, not an error
    pair.client.receive(frame(0, 0, second, b"late"))
    assert pair.handler.events[-1][0] == "head"
    pair.pump()
    assert pair.received(h2.events.StreamReset)[-1].stream_id == second


def test_goaway_is_reported_and_accepted_streams_go_on() -> None:
    pair = Pair()
    sid = pair.request()
    pair.server.send_headers(sid, [(b":status", b"200")])
    pair.pump()
    pair.client.receive(frame(7, 0, 0, struct.pack(">II", sid, 0) + b"drain"))
    assert pair.handler.events[-1] == ("goaway", 0, sid, b"drain")
    pair.client.receive(frame(0, 1, sid, b"rest"))
    assert pair.handler.kinds()[-2:] == ["data", "end"]


def test_pings_both_ways() -> None:
    pair = Pair()
    pair.server.ping(b"12345678")
    pair.pump()
    assert any(isinstance(e, h2.events.PingAckReceived) for e in pair.server_events)
    pair.client.ping(b"abcdefgh")
    pair.pump()
    assert pair.handler.events[-1] == ("ping_ack", b"abcdefgh")


def test_header_table_size_changes_keep_both_sides_in_step() -> None:
    pair = Pair(HEADER_TABLE_SIZE=0)
    for n in range(3):
        pair.request([*GET, (b"x-repeat", b"same"), (b"x-n", str(n).encode())])
    pair.server.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 4096})
    pair.pump()
    for n in range(3):
        pair.request([*GET, (b"x-repeat", b"same"), (b"x-n", str(n).encode())])
    requests = pair.received(h2.events.RequestReceived)
    assert [dict(r.headers)[b"x-n"] for r in requests] == [b"0", b"1", b"2"] * 2


def test_kept_encodings_still_get_the_table_size_update() -> None:
    pair = Pair()
    encoded = pair.client.encode_fields([*GET, (b"x-kept", b"1")])
    pair.client.open_stream(GET, end_stream=True, encoded=encoded)
    pair.pump()
    pair.server.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 0})
    pair.pump()
    pair.client.open_stream(GET, end_stream=True, encoded=encoded)
    pair.pump()  # h2's decoder refuses a block without the size update it now requires
    requests = pair.received(h2.events.RequestReceived)
    assert [dict(r.headers)[b"x-kept"] for r in requests] == [b"1", b"1"]


@pytest.mark.parametrize(
    "data",
    [
        frame(0, 0, 0, b"x"),  # DATA on stream 0
        frame(0, 0, 9, b"x"),  # DATA on an idle stream
        frame(0, 0, 2, b"x"),  # DATA on a server-initiated id
        frame(0, 0, 1, b"x" * 16385),  # larger than the frame size we allow
        frame(1, 0, 1, b"\x88") + frame(0, 0, 1, b""),  # HEADERS interrupted
        frame(9, 4, 1, b"\x88"),  # CONTINUATION without HEADERS
        frame(1, 4, 1, b"\xff\xff\xff\xff\xff\xff"),  # undecodable header block
        frame(4, 0, 0, b"\x00\x04\x80\x00\x00\x00"),  # INITIAL_WINDOW_SIZE too large
        frame(4, 0, 0, b"\x00\x05\x00\x00\x10\x00"),  # MAX_FRAME_SIZE too small
        frame(4, 0, 0, b"\x00"),  # SETTINGS of a wrong length
        frame(4, 1, 0, b"\x00\x00\x00\x00\x00\x00"),  # SETTINGS ACK with a payload
        frame(5, 4, 1, b"\x00\x00\x00\x02\x88"),  # PUSH_PROMISE
        frame(6, 0, 0, b"short"),  # PING of a wrong length
        frame(8, 0, 0, b"\x00\x00\x00\x00"),  # WINDOW_UPDATE of 0 on the connection
        frame(8, 0, 0, b"\x7f\xff\xff\xff"),  # connection window overflow
        frame(7, 0, 1, b"\x00" * 8),  # GOAWAY on a stream
        frame(1, 0, 1, b"\x88") + frame(9, 0, 1, b"") * 64,  # an endless header block
        frame(2, 0, 0, b"\x00\x00\x00\x00\x10"),  # PRIORITY on stream 0
        frame(2, 0, 1, b"\x00"),  # PRIORITY of a wrong length
        frame(1, 5, 3, b"\x88"),  # HEADERS on a stream not opened yet
    ],
)
def test_connection_errors(data: bytes) -> None:
    pair = Pair()
    pair.request(end=False)  # stream 1 is open
    with pytest.raises(ProtocolError) as raised:
        pair.client.receive(data)
    # the GOAWAY is queued with the error's code (no stream of the peer's was accepted)
    goaway = pair.client.data_to_send()
    assert goaway[3] == 7 and goaway[9:17] == struct.pack(">II", 0, raised.value.code)


def test_headers_on_a_closed_stream_are_a_connection_error_unless_it_was_reset() -> None:
    pair = Pair()
    done = pair.request()
    pair.server.send_headers(done, [(b":status", b"200")], end_stream=True)
    pair.pump()
    assert pair.client.open_streams == 0
    with pytest.raises(ProtocolError) as raised:
        pair.client.receive(frame(1, 5, done, b"\x88"))
    assert raised.value.code == PROTOCOL_ERROR
    pair = Pair()
    reset = pair.request()
    pair.client.reset_stream(reset)
    pair.client.receive(frame(1, 5, reset, b"\x88"))  # in flight when the reset left: ignored
    assert pair.handler.kinds() == []


def test_a_handler_may_reset_a_stream_on_its_last_data() -> None:
    pair = Pair()
    sid = pair.request()
    original = pair.handler.on_data

    def on_data(stream_id: int, data: bytes, flow: int) -> None:
        original(stream_id, data, flow)
        pair.client.reset_stream(stream_id)

    pair.handler.on_data = on_data  # type: ignore[method-assign]
    pair.server.send_headers(sid, [(b":status", b"200")])
    pair.server.send_data(sid, b"last", end_stream=True)
    pair.pump()
    assert pair.handler.kinds() == ["head", "data"]  # no "end" for a stream reset meanwhile
    assert pair.client.open_streams == 0


@pytest.mark.parametrize(
    ("head", "body", "ok"),
    [
        ([(b":status", b"200"), (b"content-length", b"4")], b"body", True),
        ([(b":status", b"200"), (b"content-length", b"4")], b"bod", False),
        ([(b":status", b"200"), (b"content-length", b"4")], b"bodies", False),
        ([(b":status", b"200"), (b"content-length", b"x")], b"", False),
        ([(b":status", b"200"), (b"content-length", b"1"), (b"content-length", b"2")], b"", False),
    ],
)
def test_a_body_must_match_its_content_length(
    head: list[tuple[bytes, bytes]], body: bytes, ok: bool
) -> None:
    pair = Pair(validate=False)
    sid = pair.request()
    pair.server.send_headers(sid, head)
    pair.server.send_data(sid, body, end_stream=True)
    pair.pump()
    if ok:
        assert pair.handler.kinds() == ["head", "data", "end"]
    else:
        assert pair.handler.events[-1] == ("reset", sid, PROTOCOL_ERROR)


def test_the_answer_to_head_has_no_body_whatever_its_content_length() -> None:
    pair = Pair()
    sid = pair.request([(b":method", b"HEAD"), *GET[1:]])
    pair.server.send_headers(
        sid, [(b":status", b"200"), (b"content-length", b"10")], end_stream=True
    )
    pair.pump()
    assert pair.handler.kinds() == ["head", "end"]


@pytest.mark.parametrize(
    "trailers",
    [
        [(b"X-Upper", b"1")],
        [(b"connection", b"close")],
        [(b"te", b"gzip")],
        [(b"x-a", b" padded")],
        [(b":status", b"200")],
    ],
)
def test_malformed_trailers_reset_the_stream(trailers: list[tuple[bytes, bytes]]) -> None:
    pair = Pair(validate=False)
    sid = pair.request()
    pair.server.send_headers(sid, [(b":status", b"200")])
    pair.server.send_headers(sid, trailers, end_stream=True)
    pair.pump()
    assert pair.handler.events[-1] == ("reset", sid, PROTOCOL_ERROR)


@pytest.mark.parametrize("field", [(b"te", b"Trailers"), (b"x-empty", b""), (b"x{y}", b"1")])
def test_heads_and_trailers_follow_one_set_of_field_rules(field: tuple[bytes, bytes]) -> None:
    pair = Pair(validate=False)
    sid = pair.request()
    pair.server.send_headers(sid, [(b":status", b"200"), field])
    pair.server.send_headers(sid, [field], end_stream=True)
    pair.pump()
    assert pair.handler.kinds() == ["head", "end"]  # neither block was refused


def test_frames_may_arrive_split_anywhere() -> None:
    pair = Pair()
    sid = pair.client.open_stream(GET, end_stream=True)
    pair.server.receive_data(pair.client.data_to_send())
    pair.server.send_headers(sid, [(b":status", b"200")])
    pair.server.send_data(sid, b"split me", end_stream=True)
    wire = pair.server.data_to_send()
    for byte in wire:
        pair.client.receive(bytes([byte]))
    assert pair.handler.kinds() == ["head", "data", "end"]
    assert pair.handler.events[-2][2] == b"split me"


def test_streams_are_capped_by_the_peer() -> None:
    pair = Pair(MAX_CONCURRENT_STREAMS=1)
    assert pair.client.max_streams == 1
    pair.request(end=False)
    assert pair.client.open_streams == 1


def many_fields(count: int, value: bytes = b"v") -> list[tuple[bytes, bytes]]:
    """``count`` small distinct fields, like a public request's headers in an envelope."""
    return [(b"inkbox-h-x-h%04d" % n, value) for n in range(count)]


def fill_to(size: int) -> list[tuple[bytes, bytes]]:
    """A ``:status 200`` response head whose header list is exactly ``size`` bytes."""
    head = [(b":status", b"200")]
    fields = many_fields((size - header_list_size(head) - 37) // 49)  # 16 + 1 + 32 bytes each
    rest = size - header_list_size(head + fields)  # 37 or more: x-pad takes 5 + 32 + its value
    fields.append((b"x-pad", b"p" * (rest - 37)))
    assert header_list_size(head + fields) == size
    return head + fields


def test_the_header_list_limit_is_announced() -> None:
    pair = Pair()
    assert pair.server.remote_settings.max_header_list_size == MAX_HEADER_LIST == 65536


def test_an_oversized_head_resets_only_its_stream_while_another_is_in_flight() -> None:
    """1,500 envelope headers (about 13 KB on the wire) are over 64 KiB decoded."""
    pair = Pair()
    busy = pair.request()
    pair.server.send_headers(busy, [(b":status", b"200"), (b"x-busy", b"1")])
    pair.server.send_data(busy, b"first half")
    pair.pump()
    big = pair.request()
    fields = [(b":status", b"200"), (b"inkbox-request-id", b"req_1"), *many_fields(1500)]
    assert header_list_size(fields) > MAX_HEADER_LIST
    pair.server.send_headers(big, fields)  # a body would follow
    pair.pump()  # before the fix: ProtocolError, i.e. every stream of the connection lost
    too_large = [event for event in pair.handler.events if event[0] == "too_large"]
    assert len(too_large) == 1 and too_large[0][1] == big
    kept = too_large[0][2]
    assert kept == fields[: len(kept)] and header_list_size(kept) <= MAX_HEADER_LIST
    assert kept[1] == (b"inkbox-request-id", b"req_1")  # the meta fields come first
    assert pair.handler.events[-1] == ("reset", big, ENHANCE_YOUR_CALM)
    [reset] = pair.received(h2.events.StreamReset)
    assert (reset.stream_id, reset.error_code) == (big, ENHANCE_YOUR_CALM)
    # the stream in flight finishes; h2 indexed the big block's fields, so a later head
    # that refers to them by index decodes only if that block was decoded whole
    pair.server.send_data(busy, b"second half", end_stream=True)
    after = pair.request()
    pair.server.send_headers(after, [(b":status", b"200"), *fields[2:5]], end_stream=True)
    pair.pump()
    assert pair.handler.events[-4:] == [
        ("data", busy, b"second half", 11),
        ("end", busy),
        ("head", after, [(b":status", b"200"), *fields[2:5]]),
        ("end", after),
    ]
    assert [e[2] for e in pair.handler.events if e[0] == "data"] == [b"first half", b"second half"]


@pytest.mark.parametrize("over", [False, True])
def test_a_head_just_under_the_limit_passes_one_byte_over_does_not(over: bool) -> None:
    pair = Pair()
    sid = pair.request()
    fields = fill_to(MAX_HEADER_LIST + over)
    pair.server.send_headers(sid, fields, end_stream=True)
    pair.pump()
    if over:
        assert pair.handler.events[-1] == ("reset", sid, ENHANCE_YOUR_CALM)
    else:
        assert pair.handler.events[-2:] == [("head", sid, fields), ("end", sid)]


def test_oversized_trailers_reset_the_stream() -> None:
    pair = Pair()
    sid = pair.request()
    pair.server.send_headers(sid, [(b":status", b"200")])
    pair.server.send_headers(sid, many_fields(1500), end_stream=True)
    pair.pump()
    assert pair.handler.kinds() == ["head", "reset"]  # no too_large: the head was delivered
    assert pair.handler.events[-1] == ("reset", sid, ENHANCE_YOUR_CALM)


@pytest.mark.parametrize("seed", range(12))
def test_oversized_heads_among_other_streams_never_end_the_connection(seed: int) -> None:
    """Random interleavings of ordinary and oversized responses (h2's encoder indexing
    their fields): each stream gets exactly its own outcome, the connection goes on."""
    rng = random.Random(seed)
    pair = Pair()
    expected: dict[int, list[tuple[bytes, bytes]] | None] = {}
    for _ in range(rng.randint(3, 8)):
        sid = pair.request()
        if rng.random() < 0.4:
            fields = fill_to(MAX_HEADER_LIST + rng.choice([1, 100, 20000]))
            expected[sid] = None
        else:
            size = rng.choice([100, 5000, MAX_HEADER_LIST])
            fields = fill_to(size) if size > 100 else [(b":status", b"204"), (b"x-n", b"%d" % sid)]
            expected[sid] = fields
        pair.server.send_headers(sid, fields, end_stream=True)
        if rng.random() < 0.5:
            pair.pump()
    pair.pump()
    heads = {e[1]: e[2] for e in pair.handler.events if e[0] == "head"}
    resets = {e[1]: e[2] for e in pair.handler.events if e[0] == "reset"}
    for sid, outcome in expected.items():
        if outcome is None:
            assert resets[sid] == ENHANCE_YOUR_CALM and sid not in heads
        else:
            assert heads[sid] == outcome and sid not in resets
    assert pair.client.open_streams == 0


def _random_frame(rng: random.Random, open_ids: list[int]) -> bytes:
    kind = rng.choice([0, 0, 1, 1, 2, 3, 4, 6, 7, 8, 9, rng.randrange(256)])
    flags = rng.getrandbits(8)
    stream_id = rng.choice([0, *open_ids, rng.randrange(1, 50), rng.getrandbits(31)])
    roll = rng.random()
    if roll < 0.3:
        payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40)))
    elif roll < 0.6 and kind in (1, 9):  # a real header block, sometimes truncated
        block = hpack.Encoder().encode([(b":status", b"200"), (b"x-a", b"%d" % rng.randrange(9))])
        payload = block[: rng.randrange(len(block) + 1)]
    elif roll < 0.7 and kind in (1, 9):  # ":status 200" by index, over 64 KiB decoded or not
        payload = b"\x88" * rng.choice([1, 1560, 1561, 16000])  # 42 bytes each decoded
    else:
        size = rng.choice([0, 1, 4, 5, 6, 8, 12, 16384])
        payload = bytes(rng.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)
        payload = payload[:size]
    return frame(kind, flags, stream_id, payload)


@pytest.mark.parametrize("seed", range(30))
def test_arbitrary_frames_give_events_or_a_protocol_error(seed: int) -> None:
    """Whatever the peer sends: handler events or ProtocolError, never another exception."""
    rng = random.Random(seed)
    for _ in range(40):
        engine = ClientEngine(Recorder())
        open_ids = [engine.open_stream(GET, end_stream=rng.random() < 0.5) for _ in range(3)]
        wire = b"".join(_random_frame(rng, open_ids) for _ in range(rng.randrange(1, 12)))
        try:
            for start in range(0, len(wire), step := rng.choice([1, 7, 100, len(wire) or 1])):
                engine.receive(wire[start : start + step])
                engine.data_to_send()
        except ProtocolError:
            continue
        for stream_id in open_ids:  # what is left open still takes local operations
            with contextlib.suppress(StreamClosedError):
                engine.send_window(stream_id)
            engine.credit(stream_id, 10)
            engine.reset_stream(stream_id)
