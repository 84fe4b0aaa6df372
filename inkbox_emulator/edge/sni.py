"""Reading the SNI out of a TLS ClientHello without consuming it.

The edge peeks (``MSG_PEEK``) at a new connection's first bytes, so the same
bytes are still there for the TLS handshake or for a passthrough tunnel.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

__all__ = ["ClientHello", "parse_client_hello", "peek_client_hello"]

_HANDSHAKE = 0x16
_CLIENT_HELLO = 0x01
_SERVER_NAME = 0x0000
_MAX_HELLO = 64 * 1024


@dataclass(frozen=True)
class ClientHello:
    """The outcome of parsing a connection's first bytes."""

    complete: bool
    """The whole ClientHello is present (or the bytes are certainly not one)."""
    is_tls: bool
    sni: str | None = None


def _handshake_bytes(data: bytes) -> tuple[bytes, bool]:
    """Concatenated handshake-record payloads, and whether the input looks like TLS."""
    out = bytearray()
    pos = 0
    while pos < len(data):
        if data[pos] != _HANDSHAKE or (pos + 1 < len(data) and data[pos + 1] != 0x03):
            return bytes(out), pos > 0
        if pos + 5 > len(data):
            break
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        out += data[pos + 5 : pos + 5 + length]
        pos += 5 + length
    return bytes(out), True


def _server_name(extensions: bytes) -> str | None:
    pos = 0
    while pos + 4 <= len(extensions):
        kind = int.from_bytes(extensions[pos : pos + 2], "big")
        length = int.from_bytes(extensions[pos + 2 : pos + 4], "big")
        body = extensions[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if kind != _SERVER_NAME or len(body) < 2:
            continue
        inner = 2
        while inner + 3 <= len(body):
            name_type = body[inner]
            name_len = int.from_bytes(body[inner + 1 : inner + 3], "big")
            name = body[inner + 3 : inner + 3 + name_len]
            inner += 3 + name_len
            if name_type == 0:
                return name.decode("ascii", "replace").lower().rstrip(".")
    return None


def parse_client_hello(data: bytes) -> ClientHello:
    """Parse as much of a ClientHello as ``data`` holds."""
    handshake, is_tls = _handshake_bytes(data)
    if not is_tls:
        return ClientHello(complete=True, is_tls=False)
    if len(handshake) < 4:
        return ClientHello(complete=len(data) >= _MAX_HELLO, is_tls=True)
    if handshake[0] != _CLIENT_HELLO:
        return ClientHello(complete=True, is_tls=False)
    length = int.from_bytes(handshake[1:4], "big")
    if len(handshake) < 4 + length:
        return ClientHello(complete=len(data) >= _MAX_HELLO, is_tls=True)
    hello = handshake[4 : 4 + length]
    try:
        pos = 2 + 32
        pos += 1 + hello[pos]
        pos += 2 + int.from_bytes(hello[pos : pos + 2], "big")
        pos += 1 + hello[pos]
        ext_len = int.from_bytes(hello[pos : pos + 2], "big")
        extensions = hello[pos + 2 : pos + 2 + ext_len]
    except IndexError:
        return ClientHello(complete=True, is_tls=True)
    return ClientHello(complete=True, is_tls=True, sni=_server_name(extensions))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def peek_client_hello(sock: socket.socket, timeout: float) -> ClientHello | None:
    """Peek until a whole ClientHello is visible; ``None`` on EOF or timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = -1
    while loop.time() < deadline:
        try:
            data = sock.recv(_MAX_HELLO, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            data = None
        except OSError:
            return None
        if data == b"":
            return None
        if data is not None:
            parsed = parse_client_hello(data)
            if parsed.complete:
                return parsed
            if len(data) == seen:
                await asyncio.sleep(0.005)  # partial hello: readable stays set until more arrives
                continue
            seen = len(data)
            continue
        readable: asyncio.Future[None] = loop.create_future()
        loop.add_reader(sock.fileno(), _resolve, readable)
        try:
            await asyncio.wait_for(readable, max(0.0, deadline - loop.time()))
        except TimeoutError:
            return None
        finally:
            loop.remove_reader(sock.fileno())
    return None
