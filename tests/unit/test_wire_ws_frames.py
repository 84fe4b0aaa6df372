"""RFC 6455 frame codec and the bridge's length-prefixed JSON envelopes (tunnels.md §3.3)."""

from __future__ import annotations

import json
import struct

import pytest

from inkbox_wire.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    BinaryMessage,
    CloseMessage,
    EnvelopeDecoder,
    Frame,
    FrameDecoder,
    FrameError,
    MessageAssembler,
    TextMessage,
    accept_key,
    encode_envelope,
    encode_frame,
    frame_to_message,
    message_to_frame,
    parse_close_payload,
    wire_close_code,
)


def test_verified_text_envelope_bytes() -> None:
    envelope = encode_envelope(TextMessage("echo:hello"))
    assert envelope == b"\x00\x00\x00\x23" + b'{"type":"text","data":"echo:hello"}'
    frame = encode_frame(OP_BINARY, envelope, mask=True)
    assert frame[:2] == b"\x82\xa7"
    assert len(frame) == 2 + 4 + 39
    assert FrameDecoder().feed(frame) == [Frame(OP_BINARY, envelope)]


@pytest.mark.parametrize(
    ("length", "header_len"), [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)]
)
@pytest.mark.parametrize("mask", [True, False])
def test_length_forms_round_trip(length: int, header_len: int, mask: bool) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    wire = encode_frame(OP_BINARY, payload, mask=mask)
    assert len(wire) == header_len + (4 if mask else 0) + length
    assert bool(wire[1] & 0x80) == mask
    assert FrameDecoder().feed(wire) == [Frame(OP_BINARY, payload)]


def test_decoder_buffers_partial_frames_byte_by_byte() -> None:
    wire = (
        encode_frame(OP_TEXT, b"hi", mask=True)
        + encode_frame(OP_BINARY, b"x" * 70000, mask=True)
        + encode_frame(OP_PING, b"p", mask=False)
    )
    decoder = FrameDecoder()
    frames: list[Frame] = []
    for index in range(0, len(wire), 7):
        frames += decoder.feed(wire[index : index + 7])
    assert frames == [
        Frame(OP_TEXT, b"hi"),
        Frame(OP_BINARY, b"x" * 70000),
        Frame(OP_PING, b"p"),
    ]
    assert decoder.buffered == 0


def test_decoder_several_frames_in_one_chunk() -> None:
    wire = b"".join(encode_frame(OP_TEXT, str(i).encode(), mask=False) for i in range(5))
    assert [f.payload for f in FrameDecoder().feed(wire)] == [b"0", b"1", b"2", b"3", b"4"]


@pytest.mark.parametrize(
    "wire",
    [
        b"\xc2\x00",  # RSV1 set
        b"\x83\x00",  # unknown opcode 3
        b"\x09\x00",  # fragmented PING
        b"\x89\x7e\x00\x7e" + b"x" * 126,  # oversized control frame
        b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00",  # 64-bit length with MSB
    ],
)
def test_decoder_rejects_violations(wire: bytes) -> None:
    with pytest.raises(FrameError) as caught:
        FrameDecoder().feed(wire)
    assert caught.value.code == 1002


def test_require_mask() -> None:
    with pytest.raises(FrameError):
        FrameDecoder(require_mask=True).feed(encode_frame(OP_TEXT, b"x", mask=False))
    assert FrameDecoder(require_mask=True).feed(encode_frame(OP_TEXT, b"x", mask=True))


def test_max_payload() -> None:
    with pytest.raises(FrameError) as caught:
        FrameDecoder(max_payload=10).feed(encode_frame(OP_BINARY, b"x" * 11, mask=False)[:4])
    assert caught.value.code == 1009


def test_assembler_reassembles_continuations_around_control_frames() -> None:
    assembler = MessageAssembler()
    assert assembler.add(Frame(OP_TEXT, b"he", fin=False)) is None
    assert assembler.add(Frame(OP_PING, b"")) == Frame(OP_PING, b"")
    assert assembler.add(Frame(OP_CONTINUATION, b"ll", fin=False)) is None
    assert assembler.add(Frame(OP_CONTINUATION, b"o")) == Frame(OP_TEXT, b"hello")
    assert assembler.add(Frame(OP_BINARY, b"z")) == Frame(OP_BINARY, b"z")


def test_assembler_violations() -> None:
    with pytest.raises(FrameError):
        MessageAssembler().add(Frame(OP_CONTINUATION, b"x"))
    assembler = MessageAssembler()
    assembler.add(Frame(OP_TEXT, b"a", fin=False))
    with pytest.raises(FrameError):
        assembler.add(Frame(OP_BINARY, b"b"))


def test_messages_and_close_payloads() -> None:
    assert frame_to_message(Frame(OP_TEXT, "é".encode())) == TextMessage("é")
    with pytest.raises(FrameError) as caught:
        frame_to_message(Frame(OP_TEXT, b"\xff"))
    assert caught.value.code == 1007
    assert parse_close_payload(b"") == CloseMessage(1000, "")
    assert parse_close_payload(struct.pack("!H", 4001) + b"bye") == CloseMessage(4001, "bye")
    close = message_to_frame(CloseMessage(4001, "r" * 200), mask=False)
    assert close[0] == 0x80 | OP_CLOSE
    assert len(close) == 2 + 2 + 123
    assert wire_close_code(1006) == 1001
    assert wire_close_code(1005) == 1000
    assert wire_close_code(4001) == 4001


def test_accept_key_rfc_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_envelope_shapes_are_compact_and_ascii() -> None:
    def body(message: TextMessage | BinaryMessage | CloseMessage) -> bytes:
        encoded = encode_envelope(message)
        assert struct.unpack("!I", encoded[:4])[0] == len(encoded) - 4
        return encoded[4:]

    assert body(BinaryMessage(b"\x00\xff")) == b'{"type":"binary","data":"AP8="}'
    assert body(CloseMessage(4001, "bye")) == b'{"type":"close","code":4001,"reason":"bye"}'
    assert body(TextMessage("é")) == b'{"type":"text","data":"\\u00e9"}'


def test_envelope_decoder_spans_and_skips() -> None:
    def raw(obj: object) -> bytes:
        data = json.dumps(obj).encode()
        return struct.pack("!I", len(data)) + data

    stream = (
        raw({"type": "text", "data": "a"})
        + struct.pack("!I", 3)
        + b"{no"  # unparseable: skipped
        + raw({"type": "mystery"})  # unknown type: ignored
        + raw({"type": "binary", "data": "AP8"})  # unpadded base64: dropped
        + raw({"type": "binary", "data": "AP8="})
        + raw({"type": "close"})  # code defaults to 1000
        + raw({"type": "text", "data": "é"})
    )
    decoder = EnvelopeDecoder()
    messages = []
    for index in range(0, len(stream), 5):
        messages += decoder.feed(stream[index : index + 5])
    assert messages == [
        TextMessage("a"),
        BinaryMessage(b"\x00\xff"),
        CloseMessage(1000, ""),
        TextMessage("é"),
    ]
