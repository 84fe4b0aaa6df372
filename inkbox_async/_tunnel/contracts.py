"""The shapes the tunnel runtime's parts exchange.

The agent core (connection, hello, intake pool, reconnect) hands each
envelope to a route handler; handlers answer through an :class:`EdgeSession`
and reach the local target through a :class:`Forwarder`. Nothing here does I/O.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import attrs

if TYPE_CHECKING:
    from inkbox_async._tunnel.options import ConnectOptions

__all__ = [
    "ASGIApp",
    "BridgeRefusedError",
    "BridgeStream",
    "EdgeSession",
    "Envelope",
    "ForwardError",
    "Forwarder",
    "Headers",
    "LocalRequest",
    "LocalResponse",
    "MIB",
    "Reply",
    "RouteHandler",
    "TunnelAttribute",
    "TunnelSettings",
]

Headers = list[tuple[str, str]]
"""Header fields in order, duplicates kept, names lower-case."""

ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[MutableMapping[str, Any]]],
        Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]

MIB = 1024 * 1024


@attrs.frozen(kw_only=True)
class TunnelSettings:
    """Everything the data plane needs, fixed by ``connect()`` (no control-plane I/O after it).

    ``options`` are the user's ``connect()`` arguments as resolved once; the
    rest is what ``connect()`` learned from the control plane.
    """

    options: ConnectOptions
    tunnel_id: str
    api_key: str = attrs.field(repr=False)
    public_host: str
    zone_host: str
    """The data-plane zone's host: sent as ``:authority`` and as TLS SNI."""
    edge_host: str
    edge_port: int = 443
    tls_mode: str = "edge"
    passthrough_ssl_context: ssl.SSLContext | None = None
    """Server context (key + Inkbox-signed chain) for passthrough tunnels."""
    ping_interval: float = 20.0
    ping_timeout: float = 10.0
    backoff_base: float = 1.0
    backoff_cap: float = 30.0


@attrs.frozen(kw_only=True)
class Envelope:
    """One public request delivered on a parked intake."""

    request_id: str
    method: str = "GET"
    path: str = "/"
    route_kind: str = "webhook"
    forwarded_for: str | None = None
    ws_id: str | None = None
    tcp_id: str | None = None
    sni_host: str | None = None
    body_uri: str | None = None
    headers: Headers = attrs.field(factory=list)
    """The ``inkbox-h-*`` fields with the prefix removed."""
    body: bytes = b""


@attrs.frozen(kw_only=True)
class Reply:
    """What is POSTed to ``/_system/response/{request_id}``."""

    status: int
    headers: Headers = attrs.field(factory=list)
    body: bytes = b""


class BridgeRefusedError(Exception):
    """The edge did not answer a bridge CONNECT with 200 in time."""


class TunnelAttribute(anyio.TypedAttributeSet):
    """What a plaintext stream terminated over a bridge tells its server (``extra()``)."""

    draining: anyio.Event = anyio.typed_attribute()
    """Set once the edge connection carrying the stream retires after a drain."""


class BridgeStream(Protocol):
    """One extended-CONNECT stream (``/_system/ws/…`` or ``/_system/tcp/…``) after its 200."""

    @property
    def draining(self) -> anyio.Event:
        """Set once the connection carrying the bridge is retired after a drain (Appendix A)."""
        ...

    async def receive(self) -> bytes:
        """Next DATA bytes; ``b""`` once the edge ended the stream; raises on a reset."""
        ...

    def consumed(self, n: int) -> None:
        """Return flow-control credit for ``n`` bytes actually delivered locally."""
        ...

    async def send(self, data: bytes, *, end_stream: bool = False) -> None:
        """Send DATA within the flow-control windows (waits for credit)."""
        ...

    async def end(self) -> None:
        """Send an empty DATA frame with END_STREAM unless already ended."""
        ...

    def reset(self) -> None:
        """RST_STREAM(CANCEL)."""
        ...


class EdgeSession(Protocol):
    """The live connection a handler answers through."""

    settings: TunnelSettings
    response_deadline: float | None
    """``response_deadline_seconds`` from hello (``None`` when absent or <= 0)."""

    async def post_reply(self, request_id: str, reply: Reply) -> None:
        """POST the reply (Step 9); logs, never raises, on a failed POST."""
        ...

    async def open_bridge(
        self, path: str, protocol: str, headers: Headers, *, timeout: float | None
    ) -> BridgeStream:
        """Extended CONNECT to ``path``; raises :class:`BridgeRefusedError` unless 200 in time."""
        ...


@attrs.frozen(kw_only=True)
class LocalRequest:
    """A request for the local target, headers already filtered and forwarded-* injected."""

    method: str
    raw_path: str
    """Path plus ``?query``, percent-encoding intact."""
    headers: Headers
    body: bytes | AsyncIterator[bytes]
    client_ip: str | None


@attrs.frozen(kw_only=True)
class LocalResponse:
    """The local target's answer; ``body`` streams (hop-by-hop headers already removed)."""

    status: int
    headers: Headers
    body: AsyncIterator[bytes]


class ForwardError(Exception):
    """The local target could not be reached or failed before its response head."""


class Forwarder(Protocol):
    """Sends a :class:`LocalRequest` to ``forward_to`` (a URL or an ASGI app).

    ``async with forwarder.open(request) as response:`` — the local work (an
    upstream HTTP exchange or the ASGI app's task) lives inside the block and
    is finished or cancelled when it exits. Raises :class:`ForwardError`.
    """

    def open(self, request: LocalRequest) -> AbstractAsyncContextManager[LocalResponse]:
        """Start the request; the response head is available on entry."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


RouteHandler = Callable[[EdgeSession, Envelope, Forwarder], Awaitable[None]]
"""``ws-upgrade`` and ``tcp-stream`` handlers; they own the envelope until they return."""
