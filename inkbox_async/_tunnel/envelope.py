"""The agent's control-stream shapes: hello, envelopes, replies and bridge opens.

Pure functions: the exact header lists of hello, intake, response POST and
bridge CONNECT streams, and the parsing of hello answers and envelopes.
Header lists start with the pseudo-headers and keep the documented order.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable

import attrs

from inkbox_async._tunnel.contracts import Envelope, Headers, Reply

__all__ = [
    "Hello",
    "HelloRejected",
    "bridge_headers",
    "fixed_reply",
    "hello_headers",
    "intake_headers",
    "parse_envelope",
    "parse_hello",
    "reply_reason",
    "response_headers",
]

logger = logging.getLogger("inkbox.tunnels")

_H_PREFIX = "inkbox-h-"
_PATH_SAFE_ID = re.compile(r"[A-Za-z0-9._~:@!$&'()*+,;=-]{1,256}")
"""Ids the agent echoes into a ``:path`` (request, ws and tcp ids): one safe segment."""
_RESPONSE_DROPPED = frozenset({"content-length", "transfer-encoding"})


def _pseudo(method: str, authority: str, path: str) -> Headers:
    return [(":method", method), (":scheme", "https"), (":authority", authority), (":path", path)]


def hello_headers(authority: str, tunnel_id: str, api_key: str, pool_size: int | None) -> Headers:
    """``POST /_system/hello`` (Step 5); ``x-pool-size`` only when the caller asked for one."""
    headers = [
        *_pseudo("POST", authority, "/_system/hello"),
        ("x-tunnel-id", tunnel_id),
        ("x-api-key", api_key),
        ("content-length", "0"),
    ]
    if pool_size is not None:
        headers.append(("x-pool-size", str(pool_size)))
    return headers


def intake_headers(authority: str, tunnel_id: str, owner_token: str, slot: int) -> Headers:
    """``POST /_system/intake`` for one pool slot (Step 6); no API key."""
    return [
        *_pseudo("POST", authority, "/_system/intake"),
        ("x-tunnel-id", tunnel_id),
        ("x-owner-token", owner_token),
        ("x-pool-slot", str(slot)),
        ("content-length", "0"),
    ]


def reply_reason(reply: Reply) -> str | None:
    """The ``inkbox-reason`` a reply carries among its headers, if any."""
    return next((value for name, value in reply.headers if name.lower() == "inkbox-reason"), None)


def response_headers(
    authority: str, tunnel_id: str, api_key: str, request_id: str, reply: Reply
) -> Headers:
    """``POST /_system/response/{request_id}`` (Step 9).

    Reply headers travel as repeated ``inkbox-h-{name}`` fields in order
    (duplicates kept, never merged), minus ``content-length`` and
    ``transfer-encoding``; a reply's ``inkbox-reason`` is also sent top-level.
    """
    headers = [
        *_pseudo("POST", authority, f"/_system/response/{request_id}"),
        ("x-tunnel-id", tunnel_id),
        ("x-api-key", api_key),
        ("inkbox-status", str(reply.status)),
        ("inkbox-request-id", request_id),
        ("content-length", str(len(reply.body))),
    ]
    for name, value in reply.headers:
        lowered = name.lower()
        if lowered in _RESPONSE_DROPPED or not _valid_field(lowered, value):
            continue
        headers.append((_H_PREFIX + lowered, value))
    reason = reply_reason(reply)
    if reason is not None and _valid_field("inkbox-reason", reason):
        headers.append(("inkbox-reason", reason))
    return headers


def _valid_field(name: str, value: str) -> bool:
    # Fields HTTP/2 cannot carry would make the whole POST fail; drop them instead.
    if not name or name.startswith(":") or any(c in name for c in " \t\r\n\0:"):
        return False
    return not any(c in value for c in "\r\n\0")


def bridge_headers(
    authority: str, tunnel_id: str, api_key: str, path: str, protocol: str, extra: Headers
) -> Headers:
    """Extended CONNECT for a bridge.

    ``extra`` comes from the route handler; ``x-tunnel-id`` and ``x-api-key``
    go after its leading ``sec-websocket-*`` fields, which reproduces both
    documented orders.
    """
    headers = [(":method", "CONNECT"), (":scheme", "https"), (":authority", authority)]
    headers += [(":path", path), (":protocol", protocol)]
    extra = [(name.lower(), value) for name, value in extra]
    split = 0
    while split < len(extra) and extra[split][0].startswith("sec-websocket-"):
        split += 1
    return [
        *headers,
        *extra[:split],
        ("x-tunnel-id", tunnel_id),
        ("x-api-key", api_key),
        *extra[split:],
    ]


def fixed_reply(status: int, reason: str | None, body: str) -> Reply:
    """A reply the agent makes up itself: plain text, reason as ``inkbox-reason``."""
    headers: Headers = [("content-type", "text/plain")] if body else []
    if reason:
        headers.append(("inkbox-reason", reason))
    return Reply(status=status, headers=headers, body=body.encode())


def _path_safe(value: str | None) -> str | None:
    return value if value and _PATH_SAFE_ID.fullmatch(value) else None


def parse_envelope(headers: Iterable[tuple[str, str]], body: bytes = b"") -> Envelope | None:
    """An intake answer's headers as an :class:`Envelope`.

    ``None`` (the envelope is dropped; the intake stream is reset and re-parked)
    without a request id, or when an id would not stay one path segment of the
    ``/_system/...`` path it is echoed into (``/``, ``..``, spaces, controls).
    """
    meta: dict[str, str] = {}
    forwarded: Headers = []
    for name, value in headers:
        lowered = name.lower()
        if lowered.startswith(_H_PREFIX):
            forwarded.append((lowered[len(_H_PREFIX) :], value))
        elif lowered.startswith("inkbox-"):
            meta.setdefault(lowered, value)
    request_id = meta.get("inkbox-request-id")
    if not request_id:
        return None
    if not _PATH_SAFE_ID.fullmatch(request_id):
        logger.warning("dropped an envelope whose request id is not one path segment")
        return None
    return Envelope(
        request_id=request_id,
        method=meta.get("inkbox-method") or "GET",
        path=meta.get("inkbox-path") or "/",
        route_kind=meta.get("inkbox-route-kind") or "webhook",
        forwarded_for=meta.get("inkbox-forwarded-for") or None,
        ws_id=_path_safe(meta.get("inkbox-ws-id")),
        tcp_id=_path_safe(meta.get("inkbox-tcp-id")),
        sni_host=meta.get("inkbox-sni-host") or None,
        body_uri=meta.get("inkbox-body-uri") or None,
        headers=forwarded,
        body=body,
    )


@attrs.frozen
class Hello:
    """What a successful hello hands the connection."""

    owner_token: str = attrs.field(repr=False)
    pool_size: int
    response_deadline: float | None


class HelloRejected(Exception):
    """A hello answer other than a usable 200; ``kind`` says how to react."""

    def __init__(self, kind: str, status: int, detail: str) -> None:
        super().__init__(f"hello answered HTTP {status}: {detail}" if status else detail)
        self.kind = kind
        """``auth`` (401/403), ``superseded`` (409), ``draining`` (503) or ``transient``."""
        self.status = status
        self.detail = detail


def parse_hello(status: int, body: bytes, requested_pool: int | None) -> Hello:
    """Interpret the hello answer (Step 5; 409/503 per Appendix A); raises :class:`HelloRejected`."""
    detail = body[:200].decode("utf-8", "replace")
    payload = _json_object(body)
    if status in (401, 403):
        raise HelloRejected("auth", status, detail)
    if status == 409 and payload.get("reason") == "hello-superseded":
        raise HelloRejected("superseded", status, detail)
    if status == 503:
        raise HelloRejected("draining", status, detail)
    if status != 200:
        raise HelloRejected("transient", status, detail)
    token = payload.get("owner_token")
    if not isinstance(token, str) or not token:
        raise HelloRejected("transient", status, "hello answer without an owner token")
    pool = payload.get("default_pool_size")
    if not isinstance(pool, int) or isinstance(pool, bool) or pool <= 0:
        pool = requested_pool or 1
    deadline = payload.get("response_deadline_seconds")
    if (
        not isinstance(deadline, int | float)
        or isinstance(deadline, bool)
        or not math.isfinite(deadline)
        or deadline <= 0
    ):
        deadline = None
    return Hello(owner_token=token, pool_size=min(pool, 64), response_deadline=deadline)


def _json_object(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body) if body.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
