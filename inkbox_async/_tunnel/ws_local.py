"""The local end of a tunnelled WebSocket: an ASGI app or a URL upstream.

Both third-party sides (the edge's JSON bridge, ``ws_edge``; real frames on
the passthrough plaintext servers) talk to a :class:`LocalWebSocket` in whole
messages, opened with :func:`open_local_websocket`, which raises
:class:`WebSocketRefused` when the target declines or fails the handshake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Protocol

import attrs

from inkbox_async._tunnel.contracts import Headers, TunnelSettings
from inkbox_async._tunnel.headers import local_response_headers
from inkbox_wire.ws_frames import WSMessage

__all__ = [
    "LocalWebSocket",
    "WSHandshake",
    "WebSocketRefused",
    "accept_headers",
    "offered_subprotocols",
    "open_local_websocket",
]

_HANDSHAKE_HEADERS = frozenset(
    {
        "sec-websocket-accept",
        "sec-websocket-extensions",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
    }
)


@attrs.frozen(kw_only=True)
class WSHandshake:
    """The third party's upgrade request, as the local target needs it."""

    raw_target: str
    """Path plus ``?query``, percent-encoding intact."""
    headers: Headers
    """The third party's headers, names lower-case, unfiltered."""
    client_ip: str | None = None
    http_version: str = "1.1"
    wire_encoding: str = "utf-8"
    """How header and path text maps back to bytes (``latin-1`` for raw HTTP/1.1 input)."""

    @property
    def subprotocols(self) -> list[str]:
        """The offered subprotocol tokens, in order."""
        return offered_subprotocols(self.headers)


def offered_subprotocols(headers: Headers) -> list[str]:
    """Tokens of every ``sec-websocket-protocol`` field (comma-separated)."""
    return [
        token.strip()
        for name, value in headers
        if name.lower() == "sec-websocket-protocol"
        for token in value.split(",")
        if token.strip()
    ]


def accept_headers(headers: Iterable[tuple[str, str]]) -> Headers:
    """A target's accept headers minus pseudo, hop-by-hop and ``sec-websocket-*`` ones.

    The chosen subprotocol travels separately (:attr:`LocalWebSocket.subprotocol`).
    """
    return [
        (name, value)
        for name, value in local_response_headers(headers)
        if name not in _HANDSHAKE_HEADERS
    ]


class WebSocketRefused(Exception):
    """The local target did not accept: ``status`` and plain-text ``body`` for the refusal.

    ``failed`` tells an error (app raised, upstream unreachable) from a refusal.
    """

    def __init__(self, status: int, body: str, *, failed: bool = False) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.failed = failed


class LocalWebSocket(Protocol):
    """An accepted local WebSocket, spoken to in whole messages."""

    subprotocol: str | None
    """The subprotocol the target chose."""
    headers: Headers
    """Extra response headers of the accept (hop-by-hop and ``sec-websocket-*`` removed)."""

    async def receive(self) -> WSMessage | None:
        """The next message from the target; a :class:`CloseMessage` when it closed,
        ``None`` when it went away without a closing handshake. Ends the target's side."""
        ...

    async def send(self, message: WSMessage) -> None:
        """Deliver a third-party message; a :class:`CloseMessage` means the third party
        closed (the target then finishes and :meth:`receive` reports how). Never raises
        for a target that is gone."""
        ...


@asynccontextmanager
async def open_local_websocket(
    settings: TunnelSettings, handshake: WSHandshake, *, accept_timeout: float | None
) -> AsyncIterator[LocalWebSocket]:
    """Accept the upgrade at ``settings.options.forward_to``; the target lives inside the block."""
    if callable(settings.options.forward_to):
        from inkbox_async._tunnel.ws_asgi import open_asgi_websocket

        async with open_asgi_websocket(
            settings.options.forward_to, settings, handshake, accept_timeout=accept_timeout
        ) as asgi_ws:
            yield asgi_ws
    else:
        from inkbox_async._tunnel.ws_upstream import open_upstream_websocket

        async with open_upstream_websocket(
            settings, handshake, timeout=accept_timeout or 30.0
        ) as upstream_ws:
            yield upstream_ws
