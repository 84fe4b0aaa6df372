"""When a failed request may be retried, how long to wait, and what its outcome was.

The rule: what a caller is told is what happened. Retrying is safe by
construction, and a failure is only reported as one when the call verifiably
did not take effect; when that cannot be known, :class:`OutcomeUnknownError`
says so.

Retries. Reads (GET/HEAD/OPTIONS) and PUT/PATCH/DELETE are retried after
connection failures and on 429/502/503/504. A keyed send (a POST carrying an
``Idempotency-Key``) is retried like them, and on 409
``idempotency_in_progress``: the service answers a repeated key with the first
answer instead of acting again. Any other POST is retried only when it
provably never reached the service (no connection was made) or was refused
with 429. Never a duplicate email, text or call.

Outcomes. An attempt *may have taken effect* when its request was sent and no
answer came back, or a gateway answered 502/504; a 429 or 503 is a refusal
that did nothing. When such an attempt is followed by a final failure:

- a read: the failure stands (reads change nothing);
- a DELETE answered 404 on a retry: success (what the lost attempt removed is
  gone; that is what was asked);
- a call that declares a verifying read (``verify=`` on the requester's
  request: a key rotation checks that its new key is the primary, a vault
  secret created under its id or an access grant checks that it exists):
  success with what the read found, or the failure when it found nothing;
- PUT/PATCH and keyed sends answered with a 4xx on a retry: that answer
  stands (repeating such a request gives the first one's answer);
- anything else (a 5xx on the retry, retries exhausted on lost answers or
  429s, an unkeyed POST whose answer was lost): :class:`OutcomeUnknownError`,
  naming the method and path (auth hashes masked), the last failure chained;
  the caller must check before acting again.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from time import time
from typing import Any

import attrs

from inkbox_async._errors import InkboxAPIError, InkboxConnectionError, InkboxError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENT_METHODS = SAFE_METHODS | {"PUT", "PATCH", "DELETE"}
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAYBE_PROCESSED_STATUSES = frozenset({502, 504})
"""Gateway answers: the service behind it may have processed the request."""
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


@attrs.frozen
class Verified:
    """A verifying read found the call's effect in place; ``data`` is the answer to report."""

    data: Any = None


class Outcome(enum.Enum):
    """What a final failure after a possibly effective attempt means (see the module doc)."""

    FAILED = "failed"
    DONE = "done"
    VERIFY = "verify"
    UNKNOWN = "unknown"


def may_have_taken_effect(failure: InkboxError) -> bool:
    """Whether the service may have acted on an attempt that ended in ``failure``."""
    if isinstance(failure, InkboxConnectionError):
        return failure.request_sent
    return isinstance(failure, InkboxAPIError) and failure.status_code in MAYBE_PROCESSED_STATUSES


def settle(
    method: str,
    failure: InkboxError,
    *,
    uncertain: bool,
    keyed: bool = False,
    verifiable: bool = False,
) -> Outcome:
    """What the final ``failure`` of a call means; ``uncertain``: an attempt may have acted."""
    if not uncertain or method in SAFE_METHODS:
        return Outcome.FAILED
    status = failure.status_code if isinstance(failure, InkboxAPIError) else None
    if method == "DELETE" and status == 404:
        return Outcome.DONE
    if verifiable:
        return Outcome.VERIFY
    if (
        isinstance(failure, InkboxAPIError)
        and (method in IDEMPOTENT_METHODS or keyed)
        and failure.status_code < 500
        and not may_retry_status(method, failure.status_code, keyed=keyed, code=failure.code)
    ):
        return Outcome.FAILED  # a retry's own answer: repeating gives the first one's
    return Outcome.UNKNOWN


def verified_item(items: object, field: str, value: str) -> Verified | None:
    """The listed item whose ``field`` is ``value`` (ids compared canonically), if any."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and str(item.get(field, "")).lower() == value.lower():
            return Verified(item)
    return None
