"""The edge's HPACK coders against ``hpack``'s: same fields, bytes, tables and errors."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import Any, cast

import pytest
from hpack import (
    Decoder,
    Encoder,
    HeaderTuple,
    HPACKDecodingError,
    HPACKError,
    InvalidTableSizeError,
    NeverIndexedHeaderTuple,
)
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.table import HeaderTable

from inkbox_emulator._edge_h2 import MAX_HEADER_LIST, ServerEngine
from inkbox_emulator._edge_hpack import EdgeDecoder, EdgeEncoder

_HUFFMAN = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
_STATIC = len(HeaderTable.STATIC_TABLE)


def _int(value: int, prefix: int, flags: int = 0) -> bytes:
    """RFC 7541 §5.1 integer with ``prefix`` bits, ``flags`` in the first octet's high bits."""
    top = (1 << prefix) - 1
    if value < top:
        return bytes([flags | value])
    out = bytearray([flags | top])
    value -= top
    while value >= 0x80:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _str(text: bytes, huffman: bool) -> bytes:
    if huffman:
        coded = _HUFFMAN.encode(text)
        return _int(len(coded), 7, 0x80) + coded
    return _int(len(text), 7) + text


def _literal(
    kind: str, name: bytes | int, value: bytes, *, huffman_name: bool, huffman_value: bool
) -> bytes:
    """A literal field: ``kind`` is ``incremental``, ``none`` or ``never``; ``name`` an index
    or a literal name."""
    flags, prefix = {"incremental": (0x40, 6), "none": (0x00, 4), "never": (0x10, 4)}[kind]
    if isinstance(name, int):
        head = _int(name, prefix, flags)
    else:
        head = bytes([flags]) + _str(name, huffman_name)
    return head + _str(value, huffman_value)


def _state(decoder: Decoder) -> tuple[object, ...]:
    table = decoder.header_table
    return (
        [tuple(entry) for entry in table.dynamic_entries],
        table.maxsize,
        table._current_size,
        decoder.max_allowed_table_size,
    )


def _outcome(decoder: Decoder, block: bytes, raw: bool = True) -> object:
    try:
        return [(type(h), tuple(h)) for h in decoder.decode(block, raw=raw)]
    except HPACKError as exc:
        return type(exc)


class _Pair:
    """``hpack.Decoder`` and ``EdgeDecoder`` fed the same blocks, compared after each."""

    def __init__(self, max_header_list_size: int = 1 << 16) -> None:
        self.theirs = Decoder(max_header_list_size)
        self.ours = EdgeDecoder(max_header_list_size)
        self.results: list[object] = []

    def set(self, **attrs: int) -> None:
        for name, value in attrs.items():
            setattr(self.theirs, name, value)
            setattr(self.ours, name, value)

    def feed(self, block: bytes, raw: bool = True) -> object:
        expected = _outcome(self.theirs, block, raw)
        got = _outcome(self.ours, block, raw)
        assert got == expected, block.hex()
        assert _state(self.ours) == _state(self.theirs), block.hex()
        self.results.append(expected)
        return expected

    @property
    def table_size(self) -> int:
        return len(self.theirs.header_table.dynamic_entries)


def _names(rng: random.Random) -> bytes:
    return rng.choice(
        [
            b"x-api-key",
            b"x-tunnel-id",
            b"inkbox-status",
            b"inkbox-h-content-type",
            b"inkbox-h-set-cookie",
            b"content-length",
            b"custom-" + str(rng.randrange(50)).encode(),
            bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz-0123456789") for _ in range(40)),
        ]
    )


def _values(rng: random.Random) -> bytes:
    choice = rng.randrange(6)
    if choice == 0:
        return b""
    if choice == 1:
        return str(rng.randrange(10**6)).encode()
    if choice == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if choice == 3:
        return b"v" * rng.choice([126, 127, 128, 300, 5000])  # multi-octet lengths, big entries
    return b"req_" + rng.randbytes(12).hex().encode()


def _field(rng: random.Random, table_size: int) -> bytes:
    """One random field representation (indices sometimes past the end of the table)."""
    index_limit = _STATIC + table_size + (2 if rng.random() < 0.05 else 0)
    kind = rng.randrange(5)
    if kind == 0:
        return _int(rng.randrange(1, index_limit + 1), 7, 0x80)
    literal = rng.choice(["incremental", "none", "never"])
    name: bytes | int = _names(rng) if kind < 3 else rng.randrange(1, index_limit + 1)
    return _literal(
        literal,
        name,
        _values(rng),
        huffman_name=rng.random() < 0.5,
        huffman_value=rng.random() < 0.5,
    )


def _blocks(rng: random.Random, pair: _Pair, count: int) -> Iterator[bytes]:
    for _ in range(count):
        block = bytearray()
        if rng.random() < 0.1:
            block += _int(rng.choice([0, 64, 300, 2048, 4096]), 5, 0x20)
        for _ in range(rng.randrange(1, 12)):
            block += _field(rng, pair.table_size)
        yield bytes(block)


@pytest.mark.parametrize("seed", range(8))
def test_random_blocks_match_hpack(seed: int) -> None:
    rng = random.Random(seed)
    pair = _Pair()
    for block in _blocks(rng, pair, 300):
        pair.feed(block)
    outcomes = pair.results
    assert sum(isinstance(r, list) for r in outcomes) > 200  # mostly valid blocks
    assert any(not isinstance(r, list) for r in outcomes)  # some bad indices


@pytest.mark.parametrize("huffman", [True, False])
def test_encoder_output_matches_hpack(huffman: bool) -> None:
    """Blocks as hpack's own encoder writes them: indexing, eviction, never-indexed fields
    and table size updates."""
    rng = random.Random(7)
    encoder = Encoder()
    pair = _Pair()
    for round_ in range(400):
        if round_ % 50 == 25:
            encoder.header_table_size = rng.choice([0, 256, 1024, 4096])
        headers: list[object] = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":path", b"/_system/response/req_" + str(round_).encode()),
            (b":authority", b"inkboxwire.com"),
            NeverIndexedHeaderTuple(b"x-api-key", b"ApiKey_" + str(round_ % 3).encode()),
            (b"x-tunnel-id", b"6f1c0d7e-0000-4000-8000-00000000000" + str(round_ % 2).encode()),
            (b"inkbox-status", str(rng.choice([200, 201, 404, 500])).encode()),
        ]
        headers += [(_names(rng), _values(rng)) for _ in range(rng.randrange(4))]
        result = pair.feed(encoder.encode(headers, huffman=huffman))
        assert isinstance(result, list)
        assert result[4][0] is NeverIndexedHeaderTuple


def test_literal_without_indexing_and_indexed_names() -> None:
    pair = _Pair()
    block = (
        _literal("none", b"plain", b"value", huffman_name=False, huffman_value=False)
        + _literal("none", 4, b"/path", huffman_name=False, huffman_value=True)
        + _literal("never", 23, b"secret", huffman_name=False, huffman_value=False)
        + _literal("incremental", b"kept", b"yes", huffman_name=True, huffman_value=True)
        + _int(_STATIC + 1, 7, 0x80)
        + _literal("incremental", _STATIC + 1, b"again", huffman_name=False, huffman_value=False)
        + _int(_STATIC + 2, 7, 0x80)
    )
    result = pair.feed(block)
    assert isinstance(result, list)
    assert [h for _, h in result] == [
        (b"plain", b"value"),
        (b":path", b"/path"),
        (b"authorization", b"secret"),
        (b"kept", b"yes"),
        (b"kept", b"yes"),
        (b"kept", b"again"),
        (b"kept", b"yes"),
    ]
    assert result[2][0] is NeverIndexedHeaderTuple
    assert pair.table_size == 2


def test_table_size_updates_and_eviction() -> None:
    pair = _Pair()
    big = b"x" * 1000
    for n in range(6):
        pair.feed(
            _literal(
                "incremental", b"k" + bytes([48 + n]), big, huffman_name=False, huffman_value=False
            )
        )
    assert pair.table_size == 3  # entries of 1034 octets in 4096
    pair.feed(_int(2048, 5, 0x20) + _int(_STATIC + 1, 7, 0x80))
    assert pair.table_size == 1
    pair.feed(_int(0, 5, 0x20) + _int(4096, 5, 0x20))  # two updates at the start: allowed
    assert pair.table_size == 0
    pair.feed(
        _literal("incremental", b"huge", b"y" * 5000, huffman_name=False, huffman_value=False)
    )
    assert pair.table_size == 0  # larger than the whole table: it empties the table
    pair.set(max_allowed_table_size=1024)
    assert pair.feed(_int(2, 7, 0x80)) is InvalidTableSizeError  # still 4096: must shrink
    assert pair.feed(_int(4096, 5, 0x20)) is InvalidTableSizeError  # above the new maximum
    assert isinstance(pair.feed(_int(512, 5, 0x20) + _int(2, 7, 0x80)), list)
    assert pair.feed(_int(2, 7, 0x80) + _int(256, 5, 0x20)) is HPACKDecodingError  # too late


def test_errors_match_hpack() -> None:
    pair = _Pair(max_header_list_size=200)
    cases = [
        b"\x80",  # index 0
        _int(_STATIC + 1, 7, 0x80),  # empty dynamic table
        b"\xff",  # integer cut short
        b"\xff\xff\xff\xff\xff\xff\x01",  # integer too long
        b"\xff\x80\x80\x80\x01",
        b"\x40",  # literal without its name
        b"\x40\x05ab",  # name cut short
        b"\x40\x01a",  # value missing
        b"\x40\x01a\x03ab",  # value cut short
        b"\x40\x81\x00\x01a",  # invalid Huffman
        b"\x00\x01a\x81\xff",  # EOS in Huffman
        _literal("none", b"n", b"v" * 300, huffman_name=False, huffman_value=False),  # list size
        b"\x82" * 10,
    ]
    for case in cases:
        assert not isinstance(pair.feed(case), list), case.hex()
    pair.feed(b"\x82\x86")


@pytest.mark.parametrize("seed", range(4))
def test_truncated_and_mutated_blocks_match_hpack(seed: int) -> None:
    rng = random.Random(100 + seed)
    source = _Pair()
    blocks = list(_blocks(rng, source, 60))
    for block in blocks:
        for cut in sorted(rng.sample(range(len(block) + 1), min(len(block) + 1, 12))):
            pair = _Pair()
            pair.feed(block[:cut])
        mutated = bytearray(block)
        for _ in range(3):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        _Pair().feed(bytes(mutated))


def test_unicode_decoding_matches_hpack() -> None:
    pair = _Pair()
    block = _literal(
        "incremental", b"name", "välue".encode(), huffman_name=True, huffman_value=False
    )
    assert pair.feed(block, raw=False) == [(HeaderTuple, ("name", "välue"))]
    pair.feed(
        _literal("none", b"bad", b"\xff\xfe", huffman_name=False, huffman_value=False), raw=False
    )
    pair.feed(_int(_STATIC + 1, 7, 0x80) + b"\x82", raw=False)


def test_edge_connection_uses_it_with_h2s_limits() -> None:
    conn = ServerEngine(cast(Any, None))
    assert isinstance(conn.decoder, EdgeDecoder)
    assert isinstance(conn.encoder, EdgeEncoder)
    assert conn.decoder.max_header_list_size == MAX_HEADER_LIST == 65536
    assert conn.decoder.max_allowed_table_size == 4096


# -- encoder -------------------------------------------------------------------------


def _encoder_headers(rng: random.Random, round_: int) -> list[object]:
    headers: list[object] = [(b":status", rng.choice([b"200", b"200", b"401", b"503"]))]
    for _ in range(rng.randrange(10)):
        name, value = _names(rng), _values(rng)
        shape = rng.randrange(6)
        if shape == 0:
            headers.append(NeverIndexedHeaderTuple(name, value))
        elif shape == 1:
            headers.append((name, value, rng.random() < 0.5))
        elif shape == 2:
            headers.append(HeaderTuple(name, value))
        elif shape == 3:
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        else:
            headers.append((name, value))
    headers += [
        (b"inkbox-request-id", b"req_" + str(round_).encode()),
        (b"content-type", rng.choice([b"application/json", b"text/plain"])),
        (b"content-length", str(rng.randrange(300)).encode()),
        (b"inkbox-reason", b"intake-superseded"),
    ]
    return headers


@pytest.mark.parametrize("seed", range(6))
def test_encoder_matches_hpack_without_huffman(seed: int) -> None:
    rng = random.Random(seed)
    ours, theirs = EdgeEncoder(), Encoder()
    decoder = Decoder()
    for round_ in range(400):
        if rng.random() < 0.03:
            size = rng.choice([0, 100, 1024, 4096, 8192])
            ours.header_table_size = size
            theirs.header_table_size = size
            decoder.max_allowed_table_size = max(size, 4096)
        headers = _encoder_headers(rng, round_)
        block = ours.encode(headers)
        assert block == theirs.encode(headers, huffman=False), round_
        assert list(ours.header_table.dynamic_entries) == list(theirs.header_table.dynamic_entries)
        assert ours.header_table._current_size == theirs.header_table._current_size
        decoded = decoder.decode(block, raw=True)
        assert [tuple(h) for h in decoded] == [
            tuple(x.encode() if isinstance(x, str) else x for x in h[:2])  # type: ignore[index]
            for h in headers
        ]


def test_encoder_dictionaries_and_big_fields() -> None:
    ours, theirs = EdgeEncoder(), Encoder()
    for headers in (
        {"b": "2", ":status": "200", "a": "1"},
        [(b"huge", b"h" * 5000)],  # larger than the table: empties it
        [(b"x" * 200, b"y" * 200), (b"x" * 200, b"y" * 200), (b"x" * 200, b"z")],
        {":status": "200", "b": "2"},
    ):
        assert ours.encode(headers) == theirs.encode(headers, huffman=False)  # type: ignore[arg-type]
        assert list(ours.header_table.dynamic_entries) == list(theirs.header_table.dynamic_entries)
    for _ in range(100):  # indices past 126 take more than one octet
        headers = [(f"n{i}".encode(), b"v") for i in range(100)]
        assert ours.encode(headers) == theirs.encode(headers, huffman=False)


def test_nothing_is_logged_even_when_the_table_evicts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    encoder, decoder = EdgeEncoder(), EdgeDecoder()
    secret = b"sk-edge-s3cr3t"
    for n in range(200):  # enough distinct fields to evict from a 4096-byte table
        fields = [(b"x-api-key", secret + b"%d" % n), (b"x-n", b"v" * 50)]
        assert [tuple(h) for h in decoder.decode(encoder.encode(fields), raw=True)] == fields
    decoder.header_table_size = 100  # shrinking (not to 0, which just clears) evicts
    encoder.header_table_size = 100
    assert "s3cr3t" not in caplog.text
