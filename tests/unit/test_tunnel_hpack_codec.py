"""The agent's HPACK encoder emits exactly ``hpack.Encoder``'s bytes."""

from __future__ import annotations

import logging
import random

import hpack
import pytest
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

from inkbox_async._tunnel.hpack_codec import FastDecoder, FastEncoder, _Huffman

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


@pytest.mark.parametrize("seed", range(40))
def test_same_bytes_and_table_as_hpack(seed: int) -> None:
    rng = random.Random(seed)
    reference, fast = hpack.Encoder(), FastEncoder()
    for _ in range(80):
        if rng.random() < 0.05:
            size = rng.choice([0, 100, 256, 4096, 8000])
            reference.header_table_size = size
            fast.header_table_size = size
        block = [_field(rng) for _ in range(rng.randint(1, 14))]
        huffman = rng.random() < 0.8
        assert fast.encode(block, huffman=huffman) == reference.encode(block, huffman=huffman)
        assert list(fast.header_table.dynamic_entries) == list(
            reference.header_table.dynamic_entries
        )


def test_many_unique_values_keep_the_index_small() -> None:
    reference, fast = hpack.Encoder(), FastEncoder()
    for n in range(5000):
        block = [(b":path", b"/_system/response/%d" % n), (b"x-api-key", b"key")]
        assert fast.encode(block) == reference.encode(block)
    assert len(fast._pairs) <= 2 * len(fast.header_table.dynamic_entries) + 65


def test_dict_headers_are_encoded_like_hpack() -> None:
    headers = {b"x-b": b"2", b":method": b"GET"}
    assert FastEncoder().encode(headers) == hpack.Encoder().encode(headers)


def test_huffman_code_matches_hpack() -> None:
    rng = random.Random(7)
    reference = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
    fast = _Huffman()
    for _ in range(2000):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
        assert fast.encode(data) == reference.encode(data)


def _outcome(decoder: hpack.Decoder, block: bytes) -> object:
    try:
        result: object = [(type(h), tuple(h)) for h in decoder.decode(block, raw=True)]
    except Exception as exc:  # the same error type (hpack's messages quote the raw block)
        result = type(exc)
    return result, list(decoder.header_table.dynamic_entries), decoder.header_table_size


@pytest.mark.parametrize("seed", range(40))
def test_decoder_matches_hpack(seed: int) -> None:
    rng = random.Random(seed)
    encoder = hpack.Encoder()
    reference, fast = hpack.Decoder(), FastDecoder()
    reference.max_header_list_size = fast.max_header_list_size = rng.choice([300, 65536])
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
        assert _outcome(fast, block) == _outcome(reference, block)


def test_decoder_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    encoder, decoder = hpack.Encoder(), FastDecoder()
    secret = b"Bearer s3cr3t-t0ken"
    fields = [(b":status", b"200"), (b"authorization", secret), (b"x-" + b"n" * 130, secret)]
    for huffman in (False, True):  # literals first, then indexed fields (and indexes past 127)
        for _ in range(2):
            block = encoder.encode(fields, huffman=huffman)
            assert [tuple(h) for h in decoder.decode(block, raw=True)] == fields
    assert "s3cr3t" not in caplog.text


def test_decoder_text_mode_is_hpack_s() -> None:
    block = hpack.Encoder().encode([(b":status", b"200"), (b"x-a", b"b")])
    assert FastDecoder().decode(block) == hpack.Decoder().decode(block)
