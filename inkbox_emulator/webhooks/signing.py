"""Webhook signing: what the emulator does before each delivery."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

__all__ = ["sign", "signature", "signing_headers"]

_PREFIX = "whsec_"


def _key(secret: str) -> bytes:
    """UTF-8 bytes of the secret with exactly one leading ``whsec_`` removed."""
    return (secret[len(_PREFIX) :] if secret.startswith(_PREFIX) else secret).encode()


def signature(secret: str, request_id: str, timestamp: str, body: bytes) -> str:
    """The ``X-Inkbox-Signature`` value: ``sha256=`` + lower-case hex HMAC-SHA256.

    The signed message is ``"<request_id>.<timestamp>."`` followed by the raw body.
    """
    message = f"{request_id}.{timestamp}.".encode() + body
    return "sha256=" + hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def signing_headers(
    secret: str, body: bytes, *, request_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """The three ``X-Inkbox-*`` headers for one delivery of ``body``.

    ``request_id`` defaults to a fresh UUID4 and ``timestamp`` to the current
    Unix time in whole seconds.
    """
    rid = request_id if request_id is not None else str(uuid.uuid4())
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Inkbox-Request-ID": rid,
        "X-Inkbox-Timestamp": ts,
        "X-Inkbox-Signature": signature(secret, rid, ts, body),
    }


def sign(secret: str | None, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers for a delivery; empty (unsigned) when the org has no signing key yet."""
    if not secret:
        return {}
    return signing_headers(secret, body, timestamp=timestamp)
