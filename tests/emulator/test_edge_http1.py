"""The public listener's HTTP/1.1 parser and serializer, and the listener around them."""

from __future__ import annotations

import asyncio
import contextlib
import random
from types import SimpleNamespace
from typing import Any

import pytest

from inkbox_emulator.edge import public as _edge_public
from inkbox_emulator.edge.http1 import (
    MAX_HEAD,
    BadRequest,
    InvalidHeader,
    Request,
    RequestReader,
    encode_head,
)
from inkbox_emulator.edge.hub import Reply
from inkbox_emulator.tunnels.model import DataPlaneTunnel

HOST = b"Host: t.zone\r\n"


def wire(line: bytes, *fields: bytes, body: bytes = b"") -> bytes:
    return line + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n" + body


def parse_all(
    raw: bytes, *, step: int = 0, max_head: int = MAX_HEAD
) -> list[tuple[Request, bytes]]:
    """Every complete request in ``raw``, fed whole or ``step`` bytes at a time."""
    reader = RequestReader(max_head)
    pieces = [raw[i : i + step] for i in range(0, len(raw), step)] if step else [raw]
    out: list[tuple[Request, bytes]] = []
    request: Request | None = None
    for piece in pieces:
        reader.feed(piece)
        while True:
            if request is None:
                request = reader.next_request()
                if request is None:
                    break
            body = reader.next_body()
            if body is None:
                break
            out.append((request, body))
            request = None
    return out


def parse_one(raw: bytes) -> tuple[Request, bytes]:
    requests = parse_all(raw)
    assert len(requests) == 1
    return requests[0]


# -- heads -----------------------------------------------------------------------------


def test_simple_get() -> None:
    request, body = parse_one(wire(b"GET /a?b=1 HTTP/1.1", b"Host: t.zone", b"Accept: */*"))
    assert (request.method, request.target, request.version) == (b"GET", b"/a?b=1", b"1.1")
    assert request.headers == [(b"host", b"t.zone"), (b"accept", b"*/*")]
    assert request.host == b"t.zone"
    assert request.keep_alive
    assert not request.expects_continue
    assert not request.chunked
    assert (request.length, body) == (0, b"")


def test_fields_lower_cased_trimmed_repeats_and_order_kept() -> None:
    request, _ = parse_one(
        wire(
            b"get / HTTP/1.1",
            b"X-B: 1",
            b"Host: T.Zone",
            b"x-b:2",
            b"X-Thing: \t a  B \t",
            b"X-Empty:",
            b"X-Blank: \t ",
            b"X-Text: caf\xc3\xa9",
            b"X-B: 4",
        )
    )
    assert request.method == b"get"
    assert request.host == b"T.Zone"
    assert request.headers == [
        (b"x-b", b"1"),
        (b"host", b"T.Zone"),
        (b"x-b", b"2"),
        (b"x-thing", b"a  B"),
        (b"x-empty", b""),
        (b"x-blank", b""),
        (b"x-text", b"caf\xc3\xa9"),
        (b"x-b", b"4"),
    ]


VALID = [
    wire(b"GET / HTTP/1.1", b"Host: t.zone"),
    wire(b"POST /p HTTP/1.1", b"Host: t.zone", b"Content-Length: 5", body=b"hello"),
    wire(
        b"PUT /c HTTP/1.1",
        b"Host: t.zone",
        b"Transfer-Encoding: chunked",
        body=b"5\r\nhello\r\n1;ext=1\r\n \r\nA  \r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
    ),
    b"GET /lf HTTP/1.1\nHost: t.zone\nX-A: 1\n\n",
    b"GET /mixed HTTP/1.1\r\nHost: t.zone\nX-A: 1\r\n\n",
    wire(b"OPTIONS * HTTP/1.1", b"Host: t.zone"),
    wire(b"GET http://t.zone/x HTTP/1.1", b"Host: t.zone"),
]


@pytest.mark.parametrize("raw", VALID)
@pytest.mark.parametrize("step", [1, 2, 3, 7, 64])
def test_dribbled_bytes_parse_as_whole(raw: bytes, step: int) -> None:
    assert parse_all(raw, step=step) == parse_all(raw)
    assert len(parse_all(raw)) == 1


def test_bare_lf_line_endings() -> None:
    request, _ = parse_one(b"GET /lf HTTP/1.1\nHost: t.zone\r\nX-A: 1\n\n")
    assert request.headers == [(b"host", b"t.zone"), (b"x-a", b"1")]
    request, _ = parse_one(b"GET /lf HTTP/1.1\nHost: t.zone\n\r\n")
    assert request.headers == [(b"host", b"t.zone")]


def test_the_first_blank_line_ends_the_head() -> None:
    # a bare-LF blank line ends the head even when a CRLF one follows: no hidden fields
    raw = b"GET / HTTP/1.1\nHost: t.zone\n\nX-Smuggled: 1\r\n\r\n"
    reader = RequestReader()
    reader.feed(raw)
    request = reader.next_request()
    assert request is not None
    assert request.headers == [(b"host", b"t.zone")]
    assert reader.next_body() == b""
    with pytest.raises(BadRequest):
        reader.next_request()


@pytest.mark.parametrize(
    "raw",
    [
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: one", b"  two"),  # obsolete folding
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: one", b"\ttwo"),
        wire(b"GET / HTTP/1.1", b" X-A: one", b"Host: t.zone"),
        wire(b"GET / HTTP/1.1", b"Host : t.zone"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"Garbage"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b": v"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X(A): v"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: a\x00b"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: a\rb"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: ab\r"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: a\x0bb"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: a\x01b"),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: a\x7fb"),
        wire(b"GET / HTTP/1.1", b"Host: t.\x00zone"),
        wire(b"GET  / HTTP/1.1", b"Host: t.zone"),
        wire(b"GET / HTTP/1.1 ", b"Host: t.zone"),
        wire(b"GET /", b"Host: t.zone"),
        wire(b"GET\t/ HTTP/1.1", b"Host: t.zone"),
        wire(b"GET /caf\xc3\xa9 HTTP/1.1", b"Host: t.zone"),
        wire(b"G@T / HTTP/1.1", b"Host: t.zone"),
        wire(b"GET / http/1.1", b"Host: t.zone"),
        wire(b"GET / HTTP/1.10", b"Host: t.zone"),
        wire(b"GET / HTTP/1.1"),  # no Host
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"host: t.zone"),
        b" " + wire(b"GET / HTTP/1.1", b"Host: t.zone"),
        b"\r\r\n" + wire(b"GET / HTTP/1.1", b"Host: t.zone"),
    ],
)
def test_malformed_heads_refused(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_all(raw)
    with pytest.raises(BadRequest):
        parse_all(raw, step=1)


@pytest.mark.parametrize("step", [0, 1])
def test_empty_lines_before_a_request_line_are_ignored(step: int) -> None:
    first = b"\r\n\n" + wire(b"GET /a HTTP/1.1", b"Host: t.zone")
    second = b"\r\n" + wire(b"GET /b HTTP/1.1", b"Host: t.zone")
    requests = parse_all(first + second, step=step)
    assert [request.target for request, _ in requests] == [b"/a", b"/b"]
    assert parse_all(b"\r\n\r\n", step=step) == []


def test_a_tls_hello_is_refused_at_its_first_byte() -> None:
    reader = RequestReader()
    reader.feed(b"\x16\x03\x01")
    with pytest.raises(BadRequest):
        reader.next_request()


def test_incomplete_head_waits() -> None:
    reader = RequestReader()
    reader.feed(b"GET / HTTP/1.1\r\nHost: t.zo")
    assert reader.next_request() is None
    assert reader.buffered == 26
    reader.feed(b"ne\r\n\r")
    assert reader.next_request() is None
    reader.feed(b"\n")
    request = reader.next_request()
    assert request is not None
    assert request.host == b"t.zone"
    assert reader.buffered == 0


# -- versions, keep-alive, Expect ------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fields", "keep_alive"),
    [
        (b"GET / HTTP/1.1", [], True),
        (b"GET / HTTP/1.1", [b"Connection: close"], False),
        (b"GET / HTTP/1.1", [b"Connection: Keep-Alive, CLOSE"], False),
        (b"GET / HTTP/1.1", [b"Connection: keep-alive", b"Connection: close"], False),
        (b"GET / HTTP/1.1", [b"Connection: upgrade"], True),
        (b"GET / HTTP/1.0", [], False),
        (b"GET / HTTP/1.0", [b"Connection: keep-alive"], False),  # as h11: 1.0 always closes
        (b"GET / HTTP/1.2", [], True),
    ],
)
def test_keep_alive(line: bytes, fields: list[bytes], keep_alive: bool) -> None:
    request, _ = parse_one(wire(line, b"Host: t.zone", *fields))
    assert request.keep_alive is keep_alive
    assert request.version == line[-3:]


def test_http10_needs_no_host() -> None:
    request, _ = parse_one(wire(b"GET / HTTP/1.0"))
    assert (request.host, request.headers, request.keep_alive) == (b"", [], False)


@pytest.mark.parametrize(
    ("line", "value", "expected"),
    [
        (b"POST / HTTP/1.1", b"100-continue", True),
        (b"POST / HTTP/1.1", b"100-Continue", True),
        (b"POST / HTTP/1.1", b"foo, 100-continue", True),
        (b"POST / HTTP/1.1", b"foo", False),
        (b"POST / HTTP/1.0", b"100-continue", False),
    ],
)
def test_expect_100_continue(line: bytes, value: bytes, expected: bool) -> None:
    reader = RequestReader()
    reader.feed(wire(line, b"Host: t.zone", b"Expect: " + value, b"Content-Length: 3"))
    request = reader.next_request()
    assert request is not None
    assert request.expects_continue is expected
    assert reader.next_body() is None  # the body comes after the 100
    reader.feed(b"abc")
    assert reader.next_body() == b"abc"


# -- Content-Length and Transfer-Encoding ------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "forwarded"),
    [
        ([b"Content-Length: 3"], [(b"content-length", b"3")]),
        ([b"Content-Length: 003"], [(b"content-length", b"003")]),
        ([b"Content-Length: 3, 3"], [(b"content-length", b"3")]),
        (
            [b"Content-Length: 3", b"X: 1", b"content-length: 3"],
            [(b"content-length", b"3"), (b"x", b"1")],
        ),
    ],
)
def test_content_length(fields: list[bytes], forwarded: list[tuple[bytes, bytes]]) -> None:
    request, body = parse_one(wire(b"POST / HTTP/1.1", b"Host: t.zone", *fields, body=b"abc"))
    assert (request.length, body) == (3, b"abc")
    assert request.headers[1:] == forwarded


@pytest.mark.parametrize(
    "fields",
    [
        [b"Content-Length: 3", b"Content-Length: 4"],
        [b"Content-Length: 3, 4"],
        [b"Content-Length: 3,"],
        [b"Content-Length: 3", b"Content-Length: 03"],
        [b"Content-Length: +3"],
        [b"Content-Length: -1"],
        [b"Content-Length: 0x3"],
        [b"Content-Length: 3 4"],
        [b"Content-Length:"],
        [b"Content-Length: \xd9\xa3"],  # a non-ASCII digit
        [b"Content-Length: " + b"1" * 21],
        [b"Transfer-Encoding: gzip"],
        [b"Transfer-Encoding: identity"],
        [b"Transfer-Encoding: gzip, chunked"],
        [b"Transfer-Encoding: chunked, chunked"],
        [b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
        [b"Content-Length: 3", b"Transfer-Encoding: chunked"],  # smuggling: refused, not resolved
        [b"Transfer-Encoding: chunked", b"Content-Length: 3"],
        [b"Transfer-Encoding: chunked", b"Content-Length: 0"],
    ],
)
def test_framing_conflicts_and_invalid_values_refused(fields: list[bytes]) -> None:
    with pytest.raises(BadRequest):
        parse_all(wire(b"POST / HTTP/1.1", b"Host: t.zone", *fields, body=b"0\r\n\r\n"))


def test_twenty_digit_length_waits_for_its_body() -> None:
    reader = RequestReader()
    reader.feed(wire(b"POST / HTTP/1.1", b"Host: t.zone", b"Content-Length: " + b"0" * 19 + b"9"))
    request = reader.next_request()
    assert request is not None
    assert request.length == 9
    assert reader.next_body() is None


def test_content_length_body_arrives_in_pieces() -> None:
    reader = RequestReader()
    reader.feed(wire(b"POST / HTTP/1.1", b"Host: t.zone", b"Content-Length: 10", body=b"0123"))
    assert reader.next_request() is not None
    assert reader.next_body() is None
    reader.feed(b"456789NEXT")
    assert reader.next_body() == b"0123456789"
    assert reader.take_rest() == b"NEXT"


# -- chunked bodies --------------------------------------------------------------------


def chunked(body: bytes) -> bytes:
    return wire(b"POST / HTTP/1.1", b"Host: t.zone", b"Transfer-Encoding: Chunked", body=body)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"0\r\n\r\n", b""),
        (b"5;name=value;x\r\nhello\r\n0;last\r\n\r\n", b"hello"),
        (b"5 \t\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", b"0123456789" * 2),
        (b"00005\r\nhello\r\n000\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n0\r\nX-T: 1\r\nY-T: 2\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n0\r\n\n", b"hello"),
        (b"5\r\nhello\r\n0\r\nX-T: 1\n\n", b"hello"),
        (b"3\r\n\r\n\r\r\n0\r\n\r\n", b"\r\n\r"),  # CR/LF inside chunk data are data
    ],
)
@pytest.mark.parametrize("step", [0, 1, 3])
def test_chunked_bodies(chunks: bytes, expected: bytes, step: int) -> None:
    raw = chunked(chunks) + wire(b"GET /next HTTP/1.1", b"Host: t.zone")
    (first, body), (second, _) = parse_all(raw, step=step)
    assert first.chunked
    assert (b"transfer-encoding", b"chunked") in first.headers  # lower-cased, as h11 gave it
    assert body == expected
    assert second.target == b"/next"


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"5 ;x\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"1" * 21 + b"\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXX0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5;a\x00\r\nhello\r\n0\r\n\r\n",
        b"5;a\rb\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\r\n0\r\nX T: 1\r\n\r\n",
        b"5\r\nhello\r\n0\r\nX-T: 1\r\n folded\r\n\r\n",
        b"5\r\nhello\r\n0\r\nX-T: \x01\r\n\r\n",
    ],
)
@pytest.mark.parametrize("step", [0, 1])
def test_malformed_chunked_bodies_refused(chunks: bytes, step: int) -> None:
    with pytest.raises(BadRequest):
        parse_all(chunked(chunks), step=step)


def test_chunk_data_is_not_scanned_for_framing() -> None:
    payload = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"
    raw = chunked(b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
    ((_, body),) = parse_all(raw)
    assert body == payload


def test_incomplete_chunked_body_waits() -> None:
    reader = RequestReader()
    reader.feed(chunked(b"5\r\nhel"))
    assert reader.next_request() is not None
    assert reader.next_body() is None
    reader.feed(b"lo\r")
    assert reader.next_body() is None
    reader.feed(b"\n0\r\n")
    assert reader.next_body() is None
    reader.feed(b"\r\n")
    assert reader.next_body() == b"hello"


# -- limits ----------------------------------------------------------------------------


def head_of_size(size: int) -> bytes:
    start = b"GET / HTTP/1.1\r\nHost: t.zone\r\nX-Pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


@pytest.mark.parametrize("step", [0, 1000, 4096])
def test_head_limit(step: int) -> None:
    ((request, _),) = parse_all(head_of_size(MAX_HEAD), step=step)
    assert len(request.headers[1][1]) > 60_000
    with pytest.raises(BadRequest):
        parse_all(head_of_size(MAX_HEAD + 1), step=step)


def test_incomplete_head_over_the_limit_is_refused_early() -> None:
    reader = RequestReader(max_head=100)
    reader.feed(b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 70)
    assert reader.next_request() is None
    reader.feed(b"a" * 20)
    with pytest.raises(BadRequest):
        reader.next_request()


def test_chunk_size_line_and_trailer_limits() -> None:
    reader = RequestReader(max_head=100)
    reader.feed(chunked(b"5;" + b"e" * 101))
    assert reader.next_request() is not None
    with pytest.raises(BadRequest):
        reader.next_body()
    reader = RequestReader(max_head=100)
    reader.feed(chunked(b"0\r\nX-T: " + b"e" * 101))
    assert reader.next_request() is not None
    with pytest.raises(BadRequest):
        reader.next_body()


def test_bodies_are_not_limited_by_the_head_limit() -> None:
    body = b"x" * 1000
    raw = wire(b"POST / HTTP/1.1", b"Host: t.zone", b"Content-Length: 1000", body=body)
    ((_, got),) = parse_all(raw, max_head=100)
    assert got == body
    ((_, got),) = parse_all(chunked(b"3e8\r\n" + body + b"\r\n0\r\n\r\n"), max_head=100)
    assert got == body


# -- pipelining and upgrades -----------------------------------------------------------


def test_pipelined_requests_in_order() -> None:
    raw = (
        wire(b"POST /a HTTP/1.1", b"Host: t.zone", b"Content-Length: 3", body=b"abc")
        + wire(b"GET /b HTTP/1.1", b"Host: t.zone")
        + chunked(b"2\r\nhi\r\n0\r\n\r\n")
        + wire(b"HEAD /d HTTP/1.1", b"Host: t.zone", b"Connection: close")
        + b"GET /e HT"
    )
    for step in (0, 1, 5):
        requests = parse_all(raw, step=step)
        assert [(r.method, r.target, b) for r, b in requests] == [
            (b"POST", b"/a", b"abc"),
            (b"GET", b"/b", b""),
            (b"POST", b"/", b"hi"),
            (b"HEAD", b"/d", b""),
        ]
        assert [r.keep_alive for r, _ in requests] == [True, True, True, False]


def test_upgrade_leaves_the_following_bytes() -> None:
    reader = RequestReader()
    reader.feed(
        wire(
            b"GET /ws HTTP/1.1",
            b"Host: t.zone",
            b"Upgrade: websocket",
            b"Connection: Upgrade",
            b"Sec-WebSocket-Key: abc",
        )
        + b"\x81\x85frame"
    )
    request = reader.next_request()
    assert request is not None
    assert (b"upgrade", b"websocket") in request.headers
    assert reader.next_body() == b""
    assert reader.take_rest() == b"\x81\x85frame"
    assert reader.buffered == 0


# -- response heads --------------------------------------------------------------------


def test_encode_head() -> None:
    head = encode_head(
        200, b"OK", [(b"content-type", b"text/plain"), (b"x-a", b"1"), (b"x-a", b"")]
    )
    assert head == b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-a: 1\r\nx-a: \r\n\r\n"
    assert encode_head(101, b"", []) == b"HTTP/1.1 101 \r\n\r\n"


def test_encode_head_puts_host_first_as_h11_did() -> None:
    head = encode_head(200, b"OK", [(b"x-a", b"1"), (b"Host", b"h"), (b"x-b", b"2")])
    assert head == b"HTTP/1.1 200 OK\r\nHost: h\r\nx-a: 1\r\nx-b: 2\r\n\r\n"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"x bad", b"v"),
        (b"", b"v"),
        (b"x:y", b"v"),
        (b"x", b" lead"),
        (b"x", b"trail\t"),
        (b"x", b"a\x00b"),
        (b"x", b"a\r\nInjected: 1"),
        (b"x", b"a\nb"),
        (b"x", b"a\x0bb"),
    ],
)
def test_encode_head_refuses_invalid_fields(name: bytes, value: bytes) -> None:
    with pytest.raises(InvalidHeader):
        encode_head(200, b"OK", [(name, value)])


def test_encode_head_passes_what_h11_passed() -> None:
    head = encode_head(200, b"OK", [(b"x", b"a \t b\x01\x7f\xff")])
    assert head == b"HTTP/1.1 200 OK\r\nx: a \t b\x01\x7f\xff\r\n\r\n"


# -- the listener ----------------------------------------------------------------------

DEFAULT_REPLY = Reply(
    200, [(b"content-type", b"text/plain"), (b"x-a", b"1"), (b"x-a", b"2")], b"hello"
)


class FakeHub:
    """Just enough of TunnelHub: one edge tunnel at ``t.zone``, replies by path."""

    def __init__(self, replies: dict[bytes, Reply] | None = None) -> None:
        self.settings = SimpleNamespace(offload_threshold=1 << 30, bridge_wait=1.0)
        self.store = SimpleNamespace(public_url=None)
        self.replies = replies or {}
        self.envelopes: list[tuple[list[tuple[bytes, bytes]], bytes]] = []

    def tunnel_by_host(self, host: str) -> DataPlaneTunnel | None:
        if host != "t.zone":
            return None
        return DataPlaneTunnel("tun_1", "org_1", "t", "edge", "active", "t.zone")

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_1"

    async def exchange(
        self, tunnel_id: str, request_id: str, envelope: list[tuple[bytes, bytes]], body: bytes
    ) -> Reply:
        self.envelopes.append((envelope, body))
        return self.replies.get(dict(envelope)[b"inkbox-path"], DEFAULT_REPLY)

    def open_bridge(self, kind: str, tunnel_id: str) -> Any:
        return SimpleNamespace(id="br_1")

    def close_bridge(self, bridge: Any) -> None:
        pass


class FakeWriter:
    def __init__(self) -> None:
        self.data = bytearray()
        self.transport = SimpleNamespace(is_closing=lambda: False)

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        pass

    def get_extra_info(self, name: str) -> Any:
        return ("192.0.2.1", 1234)


def serve(raw: bytes, hub: FakeHub | None = None) -> tuple[bytes, FakeHub]:
    hub = hub or FakeHub()
    writer = FakeWriter()

    async def run() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        await _edge_public.serve_public(hub, reader, writer)  # type: ignore[arg-type]

    asyncio.run(run())
    return bytes(writer.data), hub


OK = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-a: 1\r\nx-a: 2\r\n"
    b"content-length: 5\r\n\r\nhello"
)
BAD_REQUEST = (
    b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"inkbox-reason: bad-request\r\ncontent-length: 11\r\nconnection: close\r\n\r\nbad request"
)


def test_listener_pipelines_and_builds_envelopes() -> None:
    first_request = wire(
        b"POST /a?x=1 HTTP/1.1",
        b"Host: t.zone",
        b"X-B: 1",
        b"X-Forwarded-For: 9.9.9.9",
        b"x-b: 2",
        b"Content-Length: 3",
        body=b"abc",
    )
    raw = first_request + wire(b"GET /b HTTP/1.1", b"Host: t.zone")
    out, hub = serve(raw)
    assert out == OK + OK
    (first, body), (second, _) = hub.envelopes
    assert first == [
        (b"inkbox-request-id", b"req_1"),
        (b"inkbox-method", b"POST"),
        (b"inkbox-path", b"/a?x=1"),
        (b"inkbox-route-kind", b"webhook"),
        (b"inkbox-forwarded-for", b"192.0.2.1"),
        (b"inkbox-h-host", b"t.zone"),
        (b"inkbox-h-x-b", b"1"),
        (b"inkbox-h-x-b", b"2"),
        (b"inkbox-h-content-length", b"3"),
    ]
    assert body == b"abc"
    assert dict(second)[b"inkbox-path"] == b"/b"


def test_listener_connection_close_and_http10() -> None:
    close = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    later = wire(b"GET /never HTTP/1.1", b"Host: t.zone")
    out, hub = serve(wire(b"GET / HTTP/1.1", b"Host: t.zone", b"Connection: close") + later)
    assert (out, len(hub.envelopes)) == (close, 1)
    out, hub = serve(wire(b"GET / HTTP/1.0", b"Host: t.zone", b"Connection: keep-alive") + later)
    assert (out, len(hub.envelopes)) == (close, 1)


def test_listener_head_and_204() -> None:
    hub = FakeHub({b"/none": Reply(204, [(b"x-a", b"1")], b"ignored")})
    out, _ = serve(
        wire(b"HEAD / HTTP/1.1", b"Host: t.zone") + wire(b"GET /none HTTP/1.1", b"Host: t.zone"),
        hub,
    )
    assert out == OK[: -len(b"hello")] + b"HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n"


def test_listener_sends_100_continue_first() -> None:
    raw = wire(b"POST / HTTP/1.1", b"Host: t.zone", b"Expect: 100-continue", b"Content-Length: 3")
    out, hub = serve(raw + b"abc")
    assert out == b"HTTP/1.1 100 \r\n\r\n" + OK
    assert hub.envelopes[0][1] == b"abc"


@pytest.mark.parametrize(
    "raw",
    [
        wire(
            b"POST / HTTP/1.1", b"Host: t.zone", b"Content-Length: 3", b"Transfer-Encoding: chunked"
        ),
        wire(b"GET / HTTP/1.1", b"Host: t.zone", b"X-A: one", b" two"),
        chunked(b"zz\r\nhello\r\n0\r\n\r\n"),
        b"GET / HTTP/1.1\r\nHost: t.zo",  # the caller closed mid-head
        b"\x16\x03\x01\x02\x00",
    ],
)
def test_listener_answers_400_and_closes(raw: bytes) -> None:
    out, hub = serve(raw + wire(b"GET / HTTP/1.1", b"Host: t.zone"))
    assert out == BAD_REQUEST
    assert hub.envelopes == []


def test_listener_closes_quietly_at_eof() -> None:
    out, hub = serve(b"")
    assert (out, hub.envelopes) == (b"", [])
    out, hub = serve(wire(b"POST / HTTP/1.1", b"Host: t.zone", b"Content-Length: 10", body=b"abc"))
    assert (out, hub.envelopes) == (b"", [])


def test_listener_replaces_an_invalid_agent_reply() -> None:
    hub = FakeHub({b"/": Reply(200, [(b"x-bad", b"a\r\nInjected: 1")], b"body")})
    out, _ = serve(wire(b"GET / HTTP/1.1", b"Host: t.zone"), hub)
    assert out.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert b"Injected" not in out
    assert b"inkbox-reason: bad-agent-reply" in out


def test_listener_hands_bytes_after_the_upgrade_to_the_websocket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed: list[bytes] = []

    class Session:
        def __init__(self, caller: Any, bridge: Any, ws: Any) -> None:
            pass

        async def run(self) -> None:
            pass

    def ws_connection(kind: Any, trailing_data: bytes) -> None:
        handed.append(trailing_data)

    monkeypatch.setattr(_edge_public, "_WebSocketSession", Session)
    monkeypatch.setattr(_edge_public, "WsConnection", ws_connection)
    hub = FakeHub({b"/ws": Reply(200, [(b"x-ws", b"1")], b"")})
    upgrade = wire(
        b"GET /ws HTTP/1.1",
        b"Host: t.zone",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    )
    out, _ = serve(upgrade + b"\x81\x85frame" + HOST, hub)
    assert out == (
        b"HTTP/1.1 101 \r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nx-ws: 1\r\n\r\n"
    )
    assert handed == [b"\x81\x85frame" + HOST]


@pytest.mark.parametrize("seed", range(20))
def test_arbitrary_bytes_give_requests_or_bad_request(seed: int) -> None:
    """Mutated requests fed in random pieces: requests or BadRequest, never another exception."""
    rng = random.Random(seed)
    samples = [
        wire(b"POST /a HTTP/1.1", b"Host: t.zone", b"Content-Length: 3", body=b"abc"),
        wire(b"POST /c HTTP/1.1", b"Host: t.zone", b"Transfer-Encoding: chunked")
        + b"3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        wire(b"GET /b HTTP/1.0", b"Host: t.zone", b"Expect: 100-continue", b"Connection: x"),
    ]
    for _ in range(300):
        data = bytearray(b"".join(rng.choice(samples) for _ in range(rng.randrange(1, 4))))
        for _ in range(rng.randrange(0, 4)):
            data[rng.randrange(len(data))] = rng.choice(b"\x00\r\n :;\t0aZ\x7f\xff")
        step = rng.choice([1, 3, 17, len(data)])
        with contextlib.suppress(BadRequest):
            parse_all(bytes(data), step=step)
