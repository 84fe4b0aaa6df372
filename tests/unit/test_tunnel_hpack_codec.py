"""The agent's HPACK coders: hpack's results, nothing logged, over-long lists decoded whole."""

from __future__ import annotations

import logging
import random
from typing import Any

import hpack
import pytest

from inkbox_async._tunnel.hpack_codec import FastDecoder, HeaderListTooLarge, TablelessEncoder

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


def _outcome(decoder: hpack.Decoder, block: bytes) -> tuple[object, list[Any], int]:
    try:
        result: object = [(type(h), tuple(h)) for h in decoder.decode(block, raw=True)]
    except HeaderListTooLarge as exc:
        result = (HeaderListTooLarge, [(type(h), tuple(h)) for h in exc.fields])
    except Exception as exc:  # the same error type (hpack's messages quote the raw block)
        result = type(exc)
    return result, list(decoder.header_table.dynamic_entries), decoder.header_table_size


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
    reference, fast = hpack.Decoder(max_header_list_size=1 << 30), FastDecoder()
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
    encoder, decoder = hpack.Encoder(), FastDecoder()
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
    assert FastDecoder().decode(block) == hpack.Decoder().decode(block)


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
    encoder, decoder = hpack.Encoder(), FastDecoder(max_header_list_size=200)
    fields = [(b":status", b"200"), *[(b"x-h%d" % n, b"v%d" % n) for n in range(10)]]
    with pytest.raises(HeaderListTooLarge) as caught:
        decoder.decode(encoder.encode(fields), raw=True)
    assert [tuple(h) for h in caught.value.fields] == fields[:5]  # 42 + 4 * 38 <= 200
    # the encoder indexed every field: the next block refers to them by index only
    again = encoder.encode(fields[3:6])
    assert len(again) == 3
    assert [tuple(h) for h in decoder.decode(again, raw=True)] == fields[3:6]
