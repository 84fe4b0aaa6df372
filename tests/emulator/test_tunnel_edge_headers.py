"""The edge's single-pass check of agent request headers agrees with h2's own pipeline."""

from __future__ import annotations

import random

import pytest
from h2.exceptions import ProtocolError
from h2.utilities import HeaderValidationFlags, normalize_inbound_headers, validate_headers

from inkbox_emulator._edge_agent import plainly_valid_request

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
    b"CONNECT", b"trailers", b"te", b"host", b"cookie", b"connection", b"x", b"\x80", b"~",
]  # fmt: skip


def h2_result(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]] | None:
    try:
        return list(validate_headers(normalize_inbound_headers(headers, REQUEST), REQUEST))
    except ProtocolError:
        return None


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


def test_plain_request_blocks_take_the_fast_path() -> None:
    assert plainly_valid_request(list(BASE))
    assert h2_result(list(BASE)) == BASE


@pytest.mark.parametrize("chunk", range(8))
def test_fast_path_never_accepts_what_h2_would_change_or_reject(chunk: int) -> None:
    fast = 0
    for seed in range(chunk * 2000, (chunk + 1) * 2000):
        headers = mutations(seed)
        if plainly_valid_request(headers):
            fast += 1
            assert h2_result(headers) == headers, headers
    assert fast > 0
