"""``Idempotency-Key`` values for sends: one per logical call, reused on its retries."""

from __future__ import annotations

from uuid import uuid4

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError

KEY_MAX = 255


def send_key(value: str | None) -> str:
    """A fresh key (``None``), or the caller's key once checked: 1-255 printable ASCII."""
    if value is None:
        return str(uuid4())
    if not isinstance(value, str):
        raise check.type_error("idempotency_key", "a string", value)
    if not value.strip() or len(value) > KEY_MAX:
        raise InvalidArgumentError("idempotency_key", f"must be 1-{KEY_MAX} characters long")
    if not all(" " <= ch <= "~" for ch in value):
        raise InvalidArgumentError("idempotency_key", "must be printable ASCII")
    return value


def headers(key: str) -> dict[str, str]:
    """The request headers of a keyed send (replay the stored answer on a repeat)."""
    return {"Idempotency-Key": key, "Prefer": "idempotency-replay"}
