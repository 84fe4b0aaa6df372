"""Timestamps: the store keeps epoch seconds; the wire shows ISO-8601 with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "iso_or_none"]


def iso(epoch: float) -> str:
    """Format epoch seconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    dt = datetime.fromtimestamp(epoch, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_or_none(epoch: float | None) -> str | None:
    """:func:`iso`, passing ``None`` through."""
    return None if epoch is None else iso(epoch)
