"""Header filtering and the forwarded-* headers the agent injects."""

from __future__ import annotations

from collections.abc import Iterable

from inkbox_async._tunnel.contracts import Headers

__all__ = [
    "FORWARDED_NAMES",
    "HOP_BY_HOP_REQUEST",
    "HOP_BY_HOP_RESPONSE",
    "local_request_headers",
    "local_response_headers",
]

HOP_BY_HOP_REQUEST = frozenset(
    {
        "host",
        "connection",
        "upgrade",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "proxy-authenticate",
        "proxy-authorization",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
    }
)
HOP_BY_HOP_RESPONSE = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
    }
)
FORWARDED_NAMES = frozenset(
    {"host", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-for", "forwarded"}
)


def local_request_headers(
    forwarded: Iterable[tuple[str, str]],
    *,
    host: str,
    public_host: str,
    client_ip: str | None,
    forwarded_header: bool = True,
    drop: Iterable[str] = (),
) -> Headers:
    """Headers for the local target: injected ``host``/``x-forwarded-*`` first, then the caller's.

    The caller's own forwarded-* values (possibly spoofed), pseudo-headers,
    hop-by-hop headers and any name in ``drop`` are discarded.
    """
    result: Headers = [
        ("host", host),
        ("x-forwarded-host", public_host),
        ("x-forwarded-proto", "https"),
    ]
    if client_ip:
        result.append(("x-forwarded-for", client_ip))
        if forwarded_header:
            result.append(("forwarded", f"for={client_ip}"))
    dropped = HOP_BY_HOP_REQUEST | FORWARDED_NAMES | {name.lower() for name in drop}
    for name, value in forwarded:
        lowered = name.lower()
        if lowered.startswith(":") or lowered in dropped:
            continue
        result.append((lowered, value))
    return result


def local_response_headers(headers: Iterable[tuple[str, str]]) -> Headers:
    """The local target's response headers minus pseudo and hop-by-hop ones (duplicates kept)."""
    return [
        (name.lower(), value)
        for name, value in headers
        if not name.startswith(":") and name.lower() not in HOP_BY_HOP_RESPONSE
    ]
