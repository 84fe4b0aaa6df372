"""RFC 6455 frames and the bridge's length-prefixed JSON envelopes.

Pure code, no I/O. :class:`FrameDecoder` is incremental: it buffers partial
frames across ``feed`` calls and accepts masked and unmasked frames (unless
told to require masking). :class:`MessageAssembler` turns data frames into
whole messages, reassembling ``FIN=0`` + CONTINUATION fragments.

Decision on the 0.4.4 quirk "CONTINUATION frames are dropped on the WS
bridge": this SDK reassembles them everywhere (bridge, upstream and
plaintext WebSockets); the agent itself never fragments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
from typing import Any

import attrs

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "BinaryMessage",
    "CloseMessage",
    "EnvelopeDecoder",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "MessageAssembler",
    "TextMessage",
    "WSMessage",
    "DEFAULT_MAX_PAYLOAD",
    "accept_key",
    "decode_envelope",
    "encode_close_payload",
    "encode_envelope",
    "encode_frame",
    "frame_to_message",
    "message_to_frame",
    "parse_close_payload",
    "wire_close_code",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
_KNOWN_OPCODES = frozenset({OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG})
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024
MAX_CLOSE_REASON_BYTES = 123


class FrameError(Exception):
    """A framing violation (maps to close code 1002, or 1007 for invalid UTF-8 text)."""

    def __init__(self, message: str, *, code: int = 1002) -> None:
        super().__init__(message)
        self.code = code


@attrs.frozen
class Frame:
    """One decoded frame; ``payload`` is already unmasked."""

    opcode: int
    payload: bytes
    fin: bool = True


@attrs.frozen
class TextMessage:
    """One complete text message."""

    data: str


@attrs.frozen
class BinaryMessage:
    """One complete binary message."""

    data: bytes


@attrs.frozen
class CloseMessage:
    """A closing handshake (``code`` 1000 when the peer gave none)."""

    code: int = 1000
    reason: str = ""


WSMessage = TextMessage | BinaryMessage | CloseMessage


def _apply_mask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )


def encode_frame(opcode: int, payload: bytes = b"", *, mask: bool, fin: bool = True) -> bytes:
    """One frame in the minimal length form; ``mask=True`` uses a fresh random key."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _apply_mask(payload, key)


def encode_close_payload(code: int, reason: str = "") -> bytes:
    """The CLOSE payload: 2-byte code plus the UTF-8 reason cut to 123 bytes."""
    encoded = reason.encode("utf-8")[:MAX_CLOSE_REASON_BYTES]
    return struct.pack("!H", code) + encoded.decode("utf-8", "ignore").encode("utf-8")


def parse_close_payload(payload: bytes) -> CloseMessage:
    """Code (1000 when absent) and reason of a CLOSE payload; lenient about bad UTF-8."""
    if len(payload) < 2:
        return CloseMessage()
    (code,) = struct.unpack("!H", payload[:2])
    return CloseMessage(code, payload[2:].decode("utf-8", "replace"))


def wire_close_code(code: int) -> int:
    """A code a CLOSE frame may carry: local-only 1006 becomes 1001, other reserved
    or out-of-range codes 1000."""
    if code == 1006:
        return 1001
    if code in (1004, 1005, 1015) or not 1000 <= code <= 4999:
        return 1000
    return code


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 §1.3)."""
    digest = hashlib.sha1(key.encode("ascii") + _WS_GUID).digest()
    return base64.b64encode(digest).decode("ascii")


class FrameDecoder:
    """Incremental frame parser: ``feed`` bytes, get the frames completed so far."""

    def __init__(self, *, require_mask: bool = False, max_payload: int = DEFAULT_MAX_PAYLOAD):
        self._buffer = bytearray()
        self._require_mask = require_mask
        self._max_payload = max_payload

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held back."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Append ``data``; raises :class:`FrameError` on a violation."""
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        if first & 0x70:
            raise FrameError("reserved bits set (no extension was negotiated)")
        opcode = first & 0x0F
        fin = bool(first & 0x80)
        if opcode not in _KNOWN_OPCODES:
            raise FrameError(f"unknown opcode {opcode:#x}")
        masked = bool(second & 0x80)
        if self._require_mask and not masked:
            raise FrameError("unmasked client frame")
        length = second & 0x7F
        offset = 2
        if length == 126:
            if len(buf) < 4:
                return None
            (length,) = struct.unpack_from("!H", buf, 2)
            offset = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            (length,) = struct.unpack_from("!Q", buf, 2)
            if length >> 63:
                raise FrameError("64-bit length with the high bit set")
            offset = 10
        if opcode >= OP_CLOSE and (length > 125 or not fin):
            raise FrameError("oversized or fragmented control frame")
        if length > self._max_payload:
            raise FrameError("frame too large", code=1009)
        key = b""
        if masked:
            if len(buf) < offset + 4:
                return None
            key = bytes(buf[offset : offset + 4])
            offset += 4
        if len(buf) < offset + length:
            return None
        payload = bytes(buf[offset : offset + length])
        del buf[: offset + length]
        if masked:
            payload = _apply_mask(payload, key)
        return Frame(opcode, payload, fin)


class MessageAssembler:
    """Joins data frames into whole messages; control frames pass through as frames."""

    def __init__(self, *, max_message: int = DEFAULT_MAX_PAYLOAD) -> None:
        self._opcode: int | None = None
        self._parts: list[bytes] = []
        self._size = 0
        self._max_message = max_message

    def add(self, frame: Frame) -> Frame | None:
        """A complete message (as one ``FIN`` frame), a control frame, or ``None`` (incomplete)."""
        if frame.opcode >= OP_CLOSE:
            return frame
        if frame.opcode == OP_CONTINUATION:
            if self._opcode is None:
                raise FrameError("continuation frame without a started message")
        elif self._opcode is not None:
            raise FrameError("new data frame inside a fragmented message")
        else:
            if frame.fin:
                return frame
            self._opcode = frame.opcode
        self._parts.append(frame.payload)
        self._size += len(frame.payload)
        if self._size > self._max_message:
            raise FrameError("message too large", code=1009)
        if not frame.fin:
            return None
        opcode, payload = self._opcode, b"".join(self._parts)
        self._opcode, self._parts, self._size = None, [], 0
        return Frame(opcode, payload)


def frame_to_message(frame: Frame) -> WSMessage:
    """A complete TEXT/BINARY/CLOSE frame as a message; invalid UTF-8 text raises (1007)."""
    if frame.opcode == OP_TEXT:
        try:
            return TextMessage(frame.payload.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise FrameError("invalid UTF-8 in a text message", code=1007) from exc
    if frame.opcode == OP_BINARY:
        return BinaryMessage(frame.payload)
    return parse_close_payload(frame.payload)


def message_to_frame(message: WSMessage, *, mask: bool) -> bytes:
    """The wire frame for one message (a CLOSE carries code and reason)."""
    if isinstance(message, TextMessage):
        return encode_frame(OP_TEXT, message.data.encode("utf-8"), mask=mask)
    if isinstance(message, BinaryMessage):
        return encode_frame(OP_BINARY, message.data, mask=mask)
    payload = encode_close_payload(wire_close_code(message.code), message.reason)
    return encode_frame(OP_CLOSE, payload, mask=mask)


# -- inner layer: length-prefixed JSON envelopes ------------------------------------------


def encode_envelope(message: WSMessage) -> bytes:
    """4-byte big-endian length + compact, ASCII-escaped JSON."""
    obj: dict[str, Any]
    if isinstance(message, TextMessage):
        obj = {"type": "text", "data": message.data}
    elif isinstance(message, BinaryMessage):
        obj = {"type": "binary", "data": base64.b64encode(message.data).decode("ascii")}
    else:
        obj = {"type": "close", "code": message.code, "reason": message.reason}
    body = json.dumps(obj, separators=(",", ":")).encode("ascii")
    return struct.pack("!I", len(body)) + body


def decode_envelope(body: bytes) -> WSMessage | None:
    """One envelope's JSON; ``None`` for unparseable JSON, unknown types or bad base64."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict):
        return None
    kind, data = obj.get("type"), obj.get("data")
    if kind == "text" and isinstance(data, str):
        return TextMessage(data)
    if kind == "binary" and isinstance(data, str):
        try:
            return BinaryMessage(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            return None
    if kind == "close":
        code = obj.get("code", 1000)
        reason = obj.get("reason", "")
        return CloseMessage(
            code if isinstance(code, int) and not isinstance(code, bool) else 1000,
            reason if isinstance(reason, str) else "",
        )
    return None


class EnvelopeDecoder:
    """Splits the concatenated outer payload bytes into envelopes (buffers partial ones)."""

    def __init__(self, *, max_envelope: int = DEFAULT_MAX_PAYLOAD) -> None:
        self._buffer = bytearray()
        self._max_envelope = max_envelope

    def feed(self, data: bytes) -> list[WSMessage]:
        """Append outer payload bytes; return the messages completed (bad ones skipped)."""
        self._buffer += data
        messages: list[WSMessage] = []
        buf = self._buffer
        while len(buf) >= 4:
            (length,) = struct.unpack_from("!I", buf)
            if length > self._max_envelope:
                raise FrameError("envelope too large", code=1009)
            if len(buf) < 4 + length:
                break
            body = bytes(buf[4 : 4 + length])
            del buf[: 4 + length]
            message = decode_envelope(body)
            if message is not None:
                messages.append(message)
        return messages
