"""Small wire-level values shared by both flavours' engines and transports."""

from __future__ import annotations

from typing import Any

import attrs

USER_AGENT = "inkbox-sdk-python/0.1.0"

NO_BODY: Any = object()
"""Marks a request sent without a body (distinct from a JSON ``null`` body)."""


@attrs.frozen
class EngineResponse:
    """A fully read HTTP response."""

    status_code: int
    headers: dict[str, str]
    content: bytes
