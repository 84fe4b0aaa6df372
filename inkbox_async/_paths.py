"""Building request paths and query strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

# RFC 3986 pchar minus the characters that would end or split a segment.
_SEGMENT_SAFE = "!$&'()*+,;=:@"


def segment(value: str | UUID) -> str:
    """One path segment, percent-escaped (``/``, ``?``, ``#``, ``%``, spaces...).

    ``@`` and ``+`` stay literal, so handles and email addresses read as the
    hosted API expects them.
    """
    return quote(str(value), safe=_SEGMENT_SAFE)


def query_string(params: Mapping[str, Any]) -> str:
    """Form-style query: ``None`` values dropped, booleans lower-case, a list repeats its key."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                item = "true" if item else "false"
            pairs.append((key, str(item)))
    return urlencode(pairs)
