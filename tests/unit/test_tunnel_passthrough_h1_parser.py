"""The passthrough HTTP/1.1 request parser and chunked decoder (tunnels.md §4.5)."""

from __future__ import annotations

import pytest

from inkbox_async._tunnel.plaintext_h1 import (
    ChunkedDecoder,
    H1ParseError,
    parse_h1_request,
    parse_request_head,
)


def test_websocket_upgrade_detected() -> None:
    request, framing = parse_request_head(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: abc"
    )
    assert request.is_websocket
    assert framing.kind == "none"
    request, _ = parse_request_head(b"GET /ws HTTP/1.1\r\nUpgrade: websocket")
    assert not request.is_websocket, "no Sec-WebSocket-Key"


def test_content_length_body_and_raw_target_kept() -> None:
    request, body = parse_h1_request(
        b"PUT /a%2Fb?x=%20 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcNEXT"
    )
    assert (request.method, request.target, body) == ("PUT", "/a%2Fb?x=%20", b"abc")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A: one\ntwo\r\n\r\n",  # a bare LF inside a value
        b"GET / HTTP/1.1\r\nX-A: nul\x00\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A\n: x\r\n\r\n",  # a name ending in LF
        b"GET / HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n",  # a Latin-1 superscript digit
    ],
)
def test_malformed_requests(raw: bytes) -> None:
    with pytest.raises(H1ParseError):
        parse_h1_request(raw)


def test_chunked_extensions_trailers_and_leftover() -> None:
    wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\nGET / HTTP/1.1"
    decoder = ChunkedDecoder()
    chunks: list[bytes] = []
    for index in range(len(wire)):
        chunks += decoder.feed(wire[index : index + 1])
        if decoder.done:
            leftover = decoder.leftover + wire[index + 1 :]
            break
    assert b"".join(chunks) == b"Wikipedia"
    assert leftover == b"GET / HTTP/1.1"


@pytest.mark.parametrize(
    "wire", [b"zz\r\n", b"-1\r\n", b"3\r\nabcXX", b"0x3\r\n", b"1_0\r\n", b"\r\n"]
)
def test_chunked_violations(wire: bytes) -> None:
    with pytest.raises(H1ParseError):
        ChunkedDecoder().feed(wire)
