"""Bridge-stream framing: WebSocket frames and the length-prefixed JSON records.

The DATA bytes of a bridge stream are RFC 6455 frames. On a WebSocket bridge
their payloads form a stream of records, each a 4-byte big-endian length and a
UTF-8 JSON object (``text`` / ``binary`` / ``close``); on a TCP bridge the
payloads are the raw bytes. The edge sends unmasked frames with FIN set and
never uses continuation frames; it accepts masked and unmasked ones.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "EnvelopeReader",
    "Frame",
    "FrameReader",
    "close_payload",
    "decode_binary",
    "encode_envelope",
    "encode_frame",
    "parse_close",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


@dataclass(frozen=True)
class Frame:
    """One decoded RFC 6455 frame (payload unmasked)."""

    fin: bool
    opcode: int
    payload: bytes


def encode_frame(opcode: int, payload: bytes = b"") -> bytes:
    """An unmasked frame with FIN set, in the minimal length form."""
    head = bytearray([0x80 | opcode])
    length = len(payload)
    if length < 126:
        head.append(length)
    elif length < 1 << 16:
        head.append(126)
        head += length.to_bytes(2, "big")
    else:
        head.append(127)
        head += length.to_bytes(8, "big")
    return bytes(head) + payload


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a CLOSE frame: the 2-byte code and the UTF-8 reason (≤ 123 bytes)."""
    return code.to_bytes(2, "big") + reason.encode()[:123]


def parse_close(payload: bytes) -> tuple[int, str]:
    """Code and reason of a CLOSE payload (1005 when it has none)."""
    if len(payload) < 2:
        return 1005, ""
    return int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8", "replace")


class FrameReader:
    """Incremental RFC 6455 frame decoder (masked or unmasked)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; returns every frame now complete."""
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
        masked = bool(buf[1] & 0x80)
        length = buf[1] & 0x7F
        pos = 2
        if length == 126:
            if len(buf) < 4:
                return None
            length = int.from_bytes(buf[2:4], "big")
            pos = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length = int.from_bytes(buf[2:10], "big")
            pos = 10
        key = b""
        if masked:
            if len(buf) < pos + 4:
                return None
            key = bytes(buf[pos : pos + 4])
            pos += 4
        if len(buf) < pos + length:
            return None
        payload = bytes(buf[pos : pos + length])
        if masked:
            payload = _unmask(payload, key)
        frame = Frame(fin=bool(buf[0] & 0x80), opcode=buf[0] & 0x0F, payload=payload)
        del buf[: pos + length]
        return frame


def _unmask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )


def encode_envelope(message: dict[str, Any]) -> bytes:
    """One length-prefixed JSON record."""
    body = json.dumps(message, separators=(",", ":")).encode()
    return len(body).to_bytes(4, "big") + body


class EnvelopeReader:
    """Incremental reader of length-prefixed JSON records; malformed records are skipped."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Add payload bytes; returns every record now complete (valid objects only)."""
        self._buffer += data
        out: list[dict[str, Any]] = []
        while len(self._buffer) >= 4:
            length = int.from_bytes(self._buffer[:4], "big")
            if len(self._buffer) < 4 + length:
                break
            raw = bytes(self._buffer[4 : 4 + length])
            del self._buffer[: 4 + length]
            try:
                message = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(message, dict):
                out.append(message)
        return out


def decode_binary(data: object) -> bytes | None:
    """The bytes of a ``binary`` record's ``data`` (strict padded base64), or ``None``."""
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
