"""What the passthrough plaintext servers parse, and how it becomes a local request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus
from urllib.parse import urlsplit

import attrs

from inkbox_async._tunnel.contracts import Headers, LocalRequest, TunnelSettings
from inkbox_async._tunnel.headers import local_request_headers
from inkbox_async._tunnel.ws_local import WebSocketRefused

__all__ = [
    "PlaintextRequest",
    "local_request",
    "reason_phrase",
    "refusal_status",
]

_NOT_FORWARDED = ("expect",)
"""``Expect: 100-continue`` is answered by the plaintext server itself."""


@attrs.frozen(kw_only=True)
class PlaintextRequest:
    """A request as parsed off a decrypted passthrough connection (the fixtures' shape)."""

    method: str
    target: str
    """The raw request target (path plus ``?query``)."""
    headers: Headers
    """In arrival order, names lower-case (HTTP/2: pseudo-headers included)."""
    is_websocket: bool
    transport: str
    """``h1`` or ``h2``."""


def local_request(
    settings: TunnelSettings, request: PlaintextRequest, body: bytes | AsyncIterator[bytes]
) -> LocalRequest:
    """The forwarder request: ``host`` = the URL target's netloc (or the public host for an
    ASGI app), ``x-forwarded-host``/``-proto``, no ``x-forwarded-for`` (the IP is unknown)."""
    forward_to = settings.options.forward_to
    host = urlsplit(forward_to).netloc if isinstance(forward_to, str) else settings.public_host
    headers = local_request_headers(
        _join_cookies(request.headers),
        host=host,
        public_host=settings.public_host,
        client_ip=None,
        drop=_NOT_FORWARDED,
    )
    return LocalRequest(
        method=request.method,
        raw_path=request.target,
        headers=headers,
        body=body,
        client_ip=None,
    )


def _join_cookies(headers: Headers) -> Headers:
    """HTTP/2 may split ``cookie`` into several fields; HTTP/1.1 wants one (RFC 9113 §8.2.3)."""
    cookies = [value for name, value in headers if name == "cookie"]
    if len(cookies) < 2:
        return headers
    joined: Headers = [(name, value) for name, value in headers if name != "cookie"]
    joined.append(("cookie", "; ".join(cookies)))
    return joined


def reason_phrase(status: int) -> str:
    """The standard reason phrase, empty for unknown codes."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def refusal_status(settings: TunnelSettings, refusal: WebSocketRefused) -> int:
    """Passthrough WS refusals: an ASGI app that failed before accepting is a 500."""
    if callable(settings.options.forward_to) and refusal.failed:
        return 500
    return refusal.status
