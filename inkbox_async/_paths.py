"""Building request paths and query strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError

# RFC 3986 pchar minus the characters that would end or split a segment.
_SEGMENT_SAFE = "!$&'()*+,;=:@"


def segment(value: str | UUID, *, argument: str = "path segment") -> str:
    """One path segment, percent-escaped (``/``, ``?``, ``#``, ``%``, spaces...).

    ``@`` and ``+`` stay literal, so handles and email addresses read as the
    hosted API expects them. Every caller-given path argument goes through
    here, named by ``argument``: an empty value, ``.`` and ``..`` (which
    servers resolve to another path, escaped or not) and control characters
    are refused with :class:`InvalidArgumentError`.
    """
    return quote(path_argument(argument, str(value)), safe=_SEGMENT_SAFE)


def path_argument(argument: str, value: str) -> str:
    """``value`` if it can be one path segment (see :func:`segment`), unescaped."""
    if value in ("", ".", ".."):
        raise InvalidArgumentError(argument, f"{value!r} is not a valid path segment")
    return check.line(argument, value)


def query_string(params: Mapping[str, Any]) -> str:
    """Form-style query: ``None`` values dropped, booleans lower-case, a list repeats its key."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                item = "true" if item else "false"
            pairs.append((key, check.sendable(key, str(item))))
    return urlencode(pairs)
