"""The tunnel HPACK coders against ``hpack``'s: same fields, bytes, tables and errors.

One :class:`Decoder` (the agent's and the edge's), the agent's
:class:`TablelessEncoder` and the edge's :class:`IndexingEncoder`; nothing
logged; over-long header lists decoded whole; the fixed tables and the
Huffman code checked against ``hpack``'s (its private modules are the
reference here, never imported by the coders themselves).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import Any, cast

import hpack
import pytest
from hpack import (
    Encoder,
    HeaderTuple,
    HPACKDecodingError,
    HPACKError,
    InvalidTableSizeError,
    NeverIndexedHeaderTuple,
    OversizedHeaderListError,
)
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.huffman_table import decode_huffman as hpack_decode_huffman
from hpack.table import HeaderTable

from inkbox_wire.h2_server import MAX_HEADER_LIST, ServerEngine
from inkbox_wire.hpack_codec import Decoder, HeaderListTooLarge, IndexingEncoder, TablelessEncoder
from inkbox_wire.hpack_tables import HUFFMAN_CODES, HUFFMAN_LENGTHS, STATIC_TABLE
from inkbox_wire.huffman import decode_huffman

_HUFFMAN = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
_STATIC = len(HeaderTable.STATIC_TABLE)


def _entries(decoder: hpack.Decoder | Decoder) -> list[tuple[bytes, bytes]]:
    if isinstance(decoder, Decoder):
        return list(decoder.table.entries)
    return list(decoder.header_table.dynamic_entries)


# -- the fixed tables and the Huffman code ----------------------------------------------


def test_the_fixed_tables_are_hpack_s() -> None:
    assert STATIC_TABLE == HeaderTable.STATIC_TABLE
    assert (tuple(REQUEST_CODES), tuple(REQUEST_CODES_LENGTH)) == (HUFFMAN_CODES, HUFFMAN_LENGTHS)


def _huffman_outcome(decode: Any, data: bytes) -> object:
    try:
        return decode(data)
    except HPACKDecodingError:
        return HPACKDecodingError


@pytest.mark.parametrize("seed", range(4))
def test_huffman_decoding_matches_hpack(seed: int) -> None:
    """Valid strings decode alike; damaged ones (EOS, bad or long padding) fail alike."""
    rng = random.Random(seed)
    failures = 0
    for _ in range(3000):
        text = rng.randbytes(rng.randrange(0, 30))
        coded = _HUFFMAN.encode(text)
        assert decode_huffman(coded) == text
        damaged = bytearray(coded)
        if damaged and rng.random() < 0.7:
            damaged[rng.randrange(len(damaged))] = rng.getrandbits(8)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged) + 1)]
        if rng.random() < 0.2:
            damaged += b"\xff" * rng.randrange(1, 5)  # padding of 8 bits or more, or EOS
        expected = _huffman_outcome(hpack_decode_huffman, bytes(damaged))
        assert _huffman_outcome(decode_huffman, bytes(damaged)) == expected, damaged.hex()
        failures += expected is HPACKDecodingError
    assert failures > 100


# -- the decoder against hpack's, with the agent's limits -------------------------------


_NAMES = [
    b":method",
    b":path",
    b":authority",
    b":scheme",
    b"x-api-key",
    b"content-length",
    b"inkbox-request-id",
    b"x-tunnel-id",
    b"cookie",
    b"authorization",
    b"accept",
    b"a" * 200,
]


def _value(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice([b"GET", b"POST", b"/", b"https", b"0", b"", b"gzip, deflate"])
    if roll < 0.6:
        return rng.choice([b"v1", b"v2", b"k" * 50])
    if roll < 0.97:
        return b"%x" % rng.getrandbits(rng.choice([8, 64, 300]))
    return b"z" * 5000  # bigger than the table: clears it


def _field(rng: random.Random) -> object:
    name, value = rng.choice(_NAMES), _value(rng)
    roll = rng.random()
    if roll < 0.1:
        return hpack.NeverIndexedHeaderTuple(name, value)
    if roll < 0.15:
        return (name.decode("latin-1"), value.decode("latin-1"), rng.random() < 0.5)
    if roll < 0.2:
        return hpack.HeaderTuple(name, value)
    return (name, value)


def _outcome(decoder: hpack.Decoder | Decoder, block: bytes) -> tuple[object, list[Any], int]:
    try:
        result: object = [(type(h), tuple(h)) for h in decoder.decode(block, raw=True)]
    except HeaderListTooLarge as exc:
        result = (HeaderListTooLarge, [(type(h), tuple(h)) for h in exc.fields])
    except Exception as exc:  # the same error type (hpack's messages quote the raw block)
        result = type(exc)
    return result, _entries(decoder), decoder.header_table_size


def _expected(reference: hpack.Decoder, block: bytes, limit: int) -> object:
    """hpack's outcome without a limit; over ``limit``: HeaderListTooLarge with the fields
    that fitted (the whole block decoded all the same: the table stays in step)."""
    result, table, size = _outcome(reference, block)
    if isinstance(result, list):
        total = 0
        fitted = []
        for kind, (name, value) in result:
            total += 32 + len(name) + len(value)
            if total <= limit:
                fitted.append((kind, (name, value)))
        if total > limit:
            result = (HeaderListTooLarge, fitted)
    return result, table, size


@pytest.mark.parametrize("seed", range(40))
def test_decoder_matches_hpack(seed: int) -> None:
    rng = random.Random(seed)
    encoder = hpack.Encoder()
    reference, fast = hpack.Decoder(max_header_list_size=1 << 30), Decoder()
    limit = fast.max_header_list_size = rng.choice([300, 65536])
    for _ in range(60):
        if rng.random() < 0.05:
            size = rng.choice([0, 100, 4096])
            encoder.header_table_size = size
        block = encoder.encode([_field(rng) for _ in range(rng.randint(1, 14))])
        if rng.random() < 0.2:  # damaged blocks: same error (or same result) from both
            data = bytearray(block)
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            block = bytes(data[: rng.randint(0, len(data))] if rng.random() < 0.3 else data)
        assert _outcome(fast, block) == _expected(reference, block, limit)


def test_decoder_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    encoder, decoder = hpack.Encoder(), Decoder()
    secret = b"Bearer s3cr3t-t0ken"
    fields = [(b":status", b"200"), (b"authorization", secret), (b"x-" + b"n" * 130, secret)]
    # literals first, then indexed fields (and indexes past 127), plain and Huffman-coded;
    # encoded before capturing: hpack's own encoder logs what it encodes
    blocks = [encoder.encode(fields, huffman=huffman) for huffman in (False, False, True, True)]
    caplog.set_level(logging.DEBUG)
    for block in blocks:
        assert [tuple(h) for h in decoder.decode(block, raw=True)] == fields
    decoder.header_table_size = 100  # evicts (hpack's table names what it evicts)
    assert "s3cr3t" not in caplog.text


def test_decoder_text_mode_is_hpack_s() -> None:
    block = hpack.Encoder().encode([(b":status", b"200"), (b"x-a", b"b")])
    assert Decoder().decode(block) == hpack.Decoder().decode(block)


@pytest.mark.parametrize("seed", range(10))
def test_tableless_encoder_round_trips_through_hpack(seed: int) -> None:
    rng = random.Random(seed)
    encoder, decoder = TablelessEncoder(), hpack.Decoder()
    for _ in range(50):
        fields = [_field(rng) for _ in range(rng.randint(1, 14))]
        fields.append(hpack.NeverIndexedHeaderTuple(b"authorization", b"Bearer x"))
        fields.append((b"x-" + b"n" * rng.randint(1, 300), b"v" * rng.randint(0, 300)))
        decoded = decoder.decode(encoder.encode(fields), raw=True)
        expected = [(_bytes(f[0]), _bytes(f[1])) for f in fields]  # type: ignore[index]
        assert [tuple(h) for h in decoded] == expected
        assert [h.indexable for h in decoded][-2] is False
        assert not decoder.header_table.dynamic_entries  # nothing is ever inserted


def test_tableless_encoder_signals_a_table_size_change_once() -> None:
    encoder = TablelessEncoder()
    fields = [(b":method", b"GET"), (b"x-a", b"1")]
    plain = encoder.encode(fields)
    encoder.header_table_size = 0
    assert encoder.encode(fields) == b"\x20" + plain
    assert encoder.encode(fields) == plain


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


def test_a_list_over_the_limit_is_decoded_whole_and_the_next_block_decodes() -> None:
    encoder, decoder = hpack.Encoder(), Decoder(max_header_list_size=200)
    fields = [(b":status", b"200"), *[(b"x-h%d" % n, b"v%d" % n) for n in range(10)]]
    with pytest.raises(HeaderListTooLarge) as caught:
        decoder.decode(encoder.encode(fields), raw=True)
    assert [tuple(h) for h in caught.value.fields] == fields[:5]  # 42 + 4 * 38 <= 200
    # the encoder indexed every field: the next block refers to them by index only
    again = encoder.encode(fields[3:6])
    assert len(again) == 3
    assert [tuple(h) for h in decoder.decode(again, raw=True)] == fields[3:6]


# -- the decoder against hpack's on every representation (the edge's view) -------------


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


def _state(decoder: hpack.Decoder | Decoder) -> tuple[object, ...]:
    if isinstance(decoder, Decoder):
        size = decoder.table.size
    else:
        size = decoder.header_table._current_size
    return (
        [tuple(entry) for entry in _entries(decoder)],
        decoder.header_table_size,
        size,
        decoder.max_allowed_table_size,
    )


def _edge_outcome(decoder: hpack.Decoder | Decoder, block: bytes, raw: bool = True) -> object:
    try:
        return [(type(h), tuple(h)) for h in decoder.decode(block, raw=raw)]
    except HeaderListTooLarge:
        return OversizedHeaderListError  # raised after the whole block, as the agent needs
    except HPACKError as exc:
        return type(exc)


class _Pair:
    """``hpack.Decoder`` and ours fed the same blocks, compared after each."""

    def __init__(self, max_header_list_size: int = 1 << 16) -> None:
        self.theirs = hpack.Decoder(max_header_list_size)
        self.ours = Decoder(max_header_list_size)
        self.results: list[object] = []

    def set(self, **attrs: int) -> None:
        for name, value in attrs.items():
            setattr(self.theirs, name, value)
            setattr(self.ours, name, value)

    def feed(self, block: bytes, raw: bool = True) -> object:
        expected = _edge_outcome(self.theirs, block, raw)
        got = _edge_outcome(self.ours, block, raw)
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


def _random_field(rng: random.Random, table_size: int) -> bytes:
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
            block += _random_field(rng, pair.table_size)
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
    assert isinstance(conn.decoder, Decoder)
    assert isinstance(conn.encoder, IndexingEncoder)
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
    ours, theirs = IndexingEncoder(), Encoder()
    decoder = hpack.Decoder()
    for round_ in range(400):
        if rng.random() < 0.03:
            size = rng.choice([0, 100, 1024, 4096, 8192])
            ours.header_table_size = size
            theirs.header_table_size = size
            decoder.max_allowed_table_size = max(size, 4096)
        headers = _encoder_headers(rng, round_)
        block = ours.encode(headers)
        assert block == theirs.encode(headers, huffman=False), round_
        assert list(ours.table.entries) == list(theirs.header_table.dynamic_entries)
        assert ours.table.size == theirs.header_table._current_size
        decoded = decoder.decode(block, raw=True)
        assert [tuple(h) for h in decoded] == [
            tuple(x.encode() if isinstance(x, str) else x for x in h[:2])  # type: ignore[index]
            for h in headers
        ]


def test_encoder_dictionaries_and_big_fields() -> None:
    ours, theirs = IndexingEncoder(), Encoder()
    for headers in (
        {"b": "2", ":status": "200", "a": "1"},
        [(b"huge", b"h" * 5000)],  # larger than the table: empties it
        [(b"x" * 200, b"y" * 200), (b"x" * 200, b"y" * 200), (b"x" * 200, b"z")],
        {":status": "200", "b": "2"},
    ):
        assert ours.encode(headers) == theirs.encode(headers, huffman=False)  # type: ignore[arg-type]
        assert list(ours.table.entries) == list(theirs.header_table.dynamic_entries)
    for _ in range(100):  # indices past 126 take more than one octet
        headers = [(f"n{i}".encode(), b"v") for i in range(100)]
        assert ours.encode(headers) == theirs.encode(headers, huffman=False)


def test_indexing_coders_log_nothing_even_when_the_table_evicts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    encoder, decoder = IndexingEncoder(), Decoder()
    secret = b"sk-edge-s3cr3t"
    for n in range(200):  # enough distinct fields to evict from a 4096-byte table
        fields = [(b"x-api-key", secret + b"%d" % n), (b"x-n", b"v" * 50)]
        assert [tuple(h) for h in decoder.decode(encoder.encode(fields), raw=True)] == fields
    decoder.header_table_size = 100  # shrinking (not to 0, which just clears) evicts
    encoder.header_table_size = 100
    assert "s3cr3t" not in caplog.text


def test_a_repeated_table_size_still_signals_the_change() -> None:
    encoder, decoder = IndexingEncoder(), Decoder()
    encoder.header_table_size = 0
    encoder.header_table_size = 0  # a second SETTINGS with the same value
    decoder.max_allowed_table_size = 0
    block = encoder.encode([(b"x-kept", b"yes")])
    assert decoder.decode(block, raw=True) == [(b"x-kept", b"yes")]
    assert decoder.header_table_size == 0
    encoder.header_table_size = 4096
    decoder.max_allowed_table_size = 4096
    assert decoder.decode(encoder.encode([(b"x-kept", b"yes")]), raw=True) == [(b"x-kept", b"yes")]
