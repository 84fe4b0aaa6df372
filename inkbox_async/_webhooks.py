"""Verifying the signature of webhook deliveries (pure, shared by both flavours)."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

from inkbox_async._errors import (
    InvalidArgumentError,
    InvalidArgumentTypeError,
    WebhookVerificationError,
)
from inkbox_async._logging import logger

__all__ = [
    "DEFAULT_TOLERANCE",
    "ReplayGuard",
    "sign_webhook",
    "verify_webhook",
    "verify_webhook_or_raise",
]

DEFAULT_TOLERANCE = 300.0
"""Seconds a delivery's timestamp may differ from now before it is rejected."""

_PREFIX = "sha256="
_WELL_FORMED = re.compile(r"sha256=[0-9a-fA-F]{64}")
_SIGNATURE = "X-Inkbox-Signature"
_REQUEST_ID = "X-Inkbox-Request-Id"
_TIMESTAMP = "X-Inkbox-Timestamp"


class _HasItems(Protocol):
    def items(self) -> Any: ...


class ReplayGuard:
    """Remembers delivery ids so a delivery replayed within the window is refused.

    Share one instance between calls of :func:`verify_webhook`; it is
    thread-safe and forgets ids older than ``window`` seconds.
    """

    def __init__(self, window: float = DEFAULT_TOLERANCE, *, max_entries: int = 100_000) -> None:
        if _seconds("window", window) < 0:
            raise InvalidArgumentError("window", f"must be >= 0 seconds, got {window!r}")
        self._window = window
        self._max = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_sighting(self, request_id: str, now: float) -> bool:
        """Record ``request_id``; False if it was already seen within the window."""
        with self._lock:
            while self._seen:
                oldest_id, seen_at = next(iter(self._seen.items()))
                if now - seen_at <= self._window and len(self._seen) < self._max:
                    break
                del self._seen[oldest_id]
            if request_id in self._seen:
                return False
            self._seen[request_id] = now
            return True


def _seconds(argument: str, value: object) -> float:
    """A finite number of seconds: NaN would make every comparison pass."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentTypeError(argument, f"expected seconds, got {type(value).__name__}")
    if not math.isfinite(value):
        raise InvalidArgumentError(argument, f"must be a finite number of seconds, got {value!r}")
    return float(value)


def _secret_key(secret: str) -> bytes:
    return secret.removeprefix("whsec_").encode("utf-8")


def sign_webhook(*, payload: bytes, secret: str, request_id: str, timestamp: str) -> str:
    """The ``X-Inkbox-Signature`` value for a delivery (``sha256=<hex>``)."""
    message = f"{request_id}.{timestamp}.".encode() + payload
    return _PREFIX + hmac.new(_secret_key(secret), message, hashlib.sha256).hexdigest()


def verify_webhook(
    *,
    payload: bytes,
    headers: _HasItems,
    secret: str,
    tolerance: float | None = DEFAULT_TOLERANCE,
    replay_guard: ReplayGuard | None = None,
    now: float | None = None,
) -> bool:
    """True when a webhook delivery was signed by Inkbox with ``secret``.

    ``payload`` must be the raw request body bytes (re-serialised JSON does not
    verify). ``headers`` is any mapping-like object with ``items()`` (Starlette,
    Flask and plain dicts all work); names are matched case-insensitively.
    ``secret`` may carry a ``whsec_`` prefix.

    Stale deliveries (``X-Inkbox-Timestamp`` more than ``tolerance`` seconds
    from now) are rejected; pass ``tolerance=None`` for the 0.4.4 behaviour of
    no freshness check. With a :class:`ReplayGuard`, a delivery id seen before
    is rejected too. A malformed or missing header gives False, never an
    exception; why it was rejected is logged at DEBUG on the ``inkbox``
    logger, and :func:`verify_webhook_or_raise` raises it instead.
    """
    try:
        verify_webhook_or_raise(
            payload=payload,
            headers=headers,
            secret=secret,
            tolerance=tolerance,
            replay_guard=replay_guard,
            now=now,
        )
    except WebhookVerificationError as exc:
        logger.debug("webhook delivery rejected: %s", exc)
        return False
    return True


def verify_webhook_or_raise(
    *,
    payload: bytes,
    headers: _HasItems,
    secret: str,
    tolerance: float | None = DEFAULT_TOLERANCE,
    replay_guard: ReplayGuard | None = None,
    now: float | None = None,
) -> None:
    """Like :func:`verify_webhook`, but a rejected delivery raises and says why.

    Raises :class:`~inkbox_async.WebhookVerificationError` whose ``reason`` is
    one of ``"missing_header"`` (``header`` names it),
    ``"malformed_signature"``, ``"bad_signature"`` (wrong secret or altered
    body), ``"bad_timestamp"``, ``"stale_timestamp"`` or ``"replayed"``. The
    secret and the signature are never part of the error.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise InvalidArgumentTypeError(
            "payload", f"expected the raw body as bytes, got {type(payload).__name__}"
        )
    if not isinstance(secret, str):
        raise InvalidArgumentTypeError("secret", f"expected a str, got {type(secret).__name__}")
    if not secret.removeprefix("whsec_"):
        raise InvalidArgumentError("secret", "must not be empty")
    if tolerance is not None:
        _seconds("tolerance", tolerance)
        if tolerance < 0:
            raise InvalidArgumentError(
                "tolerance", f"must be >= 0 seconds or None, got {tolerance!r}"
            )
    if now is not None:
        _seconds("now", now)
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    for name in (_SIGNATURE, _REQUEST_ID, _TIMESTAMP):
        if name.lower() not in lowered:
            raise WebhookVerificationError("missing_header", header=name)
    signature = lowered[_SIGNATURE.lower()]
    request_id = lowered[_REQUEST_ID.lower()]
    timestamp = lowered[_TIMESTAMP.lower()]
    if not _WELL_FORMED.fullmatch(signature):
        raise WebhookVerificationError("malformed_signature")
    expected = sign_webhook(
        payload=bytes(payload), secret=secret, request_id=request_id, timestamp=timestamp
    )
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        raise WebhookVerificationError("bad_signature")
    current = time.time() if now is None else now
    if tolerance is not None:
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise WebhookVerificationError("bad_timestamp") from None
        if abs(current - sent_at) > tolerance:
            raise WebhookVerificationError("stale_timestamp")
    if replay_guard is not None and not replay_guard.first_sighting(request_id, current):
        raise WebhookVerificationError("replayed")
