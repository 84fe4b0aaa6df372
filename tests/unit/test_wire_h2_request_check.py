"""The edge's check of agent request headers agrees with h2's own pipeline."""

from __future__ import annotations

import random

import pytest
from h2.exceptions import ProtocolError
from h2.utilities import HeaderValidationFlags, normalize_inbound_headers, validate_headers

from inkbox_wire.h2_server import check_request

REQUEST = HeaderValidationFlags(
    is_client=False, is_trailer=False, is_response_header=False, is_push_promise=False
)
BASE = [
    (b":method", b"POST"),
    (b":scheme", b"https"),
    (b":path", b"/_system/response/req_1"),
    (b":authority", b"edge.inkboxwire.com"),
    (b"x-api-key", b"ApiKey_x.secret"),
    (b"inkbox-status", b"200"),
    (b"inkbox-h-content-type", b"text/plain; charset=utf-8"),
    (b"inkbox-h-empty", b""),
]
PIECES = [
    b"", b" ", b"\t", b"\x00", b"\r", b"\n", b"A", b"a", b":", b"-", b"\x7f", b"\xff", b"/",
    b"CONNECT", b"HEAD", b"trailers", b"Trailers", b"te", b"host", b"cookie", b"connection",
    b"x", b"\x80", b"~", b":protocol", b":status", b":authority", b"content-length", b"12",
]  # fmt: skip


def h2_result(headers: list[tuple[bytes, bytes]]) -> tuple[list[tuple[bytes, bytes]], int] | None:
    """What h2 made of a request block: its fields and expected body length, or ``None``."""
    try:
        fields = list(validate_headers(normalize_inbound_headers(headers, REQUEST), REQUEST))
    except ProtocolError:
        return None
    if dict(fields)[b":method"] == b"HEAD":
        return fields, 0
    lengths = {value for name, value in fields if name == b"content-length"}
    if not all(value.isdigit() for value in lengths) or len({int(v) for v in lengths}) > 1:
        return None  # h2 raised for these too (H2Stream._initialize_content_length)
    return fields, int(lengths.pop()) if lengths else -1


def mutations(seed: int) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    headers = list(BASE)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        index = rng.randrange(len(headers))
        name, value = headers[index]
        piece = rng.choice(PIECES)
        if op == 0:
            headers[index] = (name, rng.choice([piece + value, value + piece, piece]))
        elif op == 1:
            headers[index] = (rng.choice([piece + name, name + piece, piece]), value)
        elif op == 2:
            del headers[index]
        elif op == 3:
            headers.insert(index, headers[rng.randrange(len(headers))])
        elif op == 4:
            headers.insert(index, (rng.choice([piece, b"x-" + piece, b":" + piece]), piece))
        else:
            headers.insert(index, (rng.choice(PIECES), rng.choice(PIECES)))
    return headers


def test_plain_request_blocks_pass_unchanged() -> None:
    assert check_request(list(BASE)) == (BASE, -1)
    assert h2_result(list(BASE)) == (BASE, -1)


@pytest.mark.parametrize(
    "headers",
    [
        [(b":method", b"CONNECT"), (b":protocol", b"inkbox-tunnel-ws"), *BASE[1:]],
        [(b":method", b"CONNECT"), (b":authority", b"example.com:443")],
        [*BASE, (b"cookie", b"a=1"), (b"x-b", b"2"), (b"cookie", b"b=2")],
        [*BASE, (b"content-length", b"5"), (b"content-length", b"5")],
        [(b":method", b"HEAD"), *BASE[1:], (b"content-length", b"x")],
        [*BASE[:3], (b"host", b"edge.inkboxwire.com")],
    ],
)
def test_requests_h2_accepted_are_accepted(headers: list[tuple[bytes, bytes]]) -> None:
    assert h2_result(headers) is not None
    assert check_request(headers) == h2_result(headers)


@pytest.mark.parametrize("chunk", range(8))
def test_check_agrees_with_h2_on_mutated_blocks(chunk: int) -> None:
    accepted = rejected = 0
    for seed in range(chunk * 2000, (chunk + 1) * 2000):
        headers = mutations(seed)
        expected = h2_result(headers)
        assert check_request(list(headers)) == expected, headers
        if expected is None:
            rejected += 1
        else:
            accepted += 1
    assert accepted > 0 and rejected > 0
