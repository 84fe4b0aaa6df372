"""When a failed request may be retried, and how long to wait first.

Safe by construction: idempotent methods are retried after connection
failures and on 429/502/503/504; a POST only when it provably never reached
the server (the connection was never made) or was refused with 429 before
being processed. A keyed send (a POST carrying an ``Idempotency-Key``) is
retried like an idempotent method, and on 409 ``idempotency_in_progress``:
the server answers a repeated key with the first answer instead of sending
again. Never a duplicate email, text or call.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from time import time

from inkbox_async._errors import InkboxConnectionError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` delay in seconds (a number or an HTTP date), if any."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare: an HTTP-date Retry-After

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def may_retry_status(
    method: str, status_code: int, *, keyed: bool = False, code: str | None = None
) -> bool:
    """A response status worth retrying for this method (``keyed``: a keyed send)."""
    if keyed and status_code == 409:
        return code == "idempotency_in_progress"
    if method in IDEMPOTENT_METHODS or keyed:
        return status_code in RETRY_STATUSES
    return status_code == 429


def may_retry_error(method: str, error: InkboxConnectionError, *, keyed: bool = False) -> bool:
    """A connection failure worth retrying for this method (``keyed``: a keyed send)."""
    return method in IDEMPOTENT_METHODS or keyed or not error.request_sent


def backoff(attempt: int, retry_after: float | None = None) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based); None: don't retry.

    Honours ``Retry-After`` up to a minute; otherwise capped exponential
    backoff with jitter.
    """
    if retry_after is not None:
        return retry_after if retry_after <= MAX_RETRY_AFTER else None
    delay = min(MAX_DELAY, INITIAL_DELAY * 2.0 ** (attempt - 1))
    return delay * (0.75 + random.random() / 4)
