"""Small wire-level values shared by both flavours' engines and transports."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs

from inkbox_async._errors import InvalidArgumentError

if TYPE_CHECKING:
    import httpx2

USER_AGENT = "inkbox-sdk-python/0.1.0"

NO_BODY: Any = object()
"""Marks a request sent without a body (distinct from a JSON ``null`` body)."""


@attrs.frozen
class EngineResponse:
    """A fully read HTTP response."""

    status_code: int
    headers: dict[str, str]
    content: bytes


def json_body(value: Any) -> bytes:
    """A request body as strict JSON in UTF-8.

    The backstop behind the argument checks: NaN and infinities (not JSON)
    and lone surrogates (not encodable) raise :class:`InvalidArgumentError`
    before anything is sent, never a raw ``ValueError``/``UnicodeEncodeError``.
    """
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(
            "request body", f"contains a lone surrogate U+{ord(exc.object[exc.start]):04X}"
        ) from None
    except ValueError as exc:
        raise InvalidArgumentError("request body", f"is not strict JSON ({exc})") from None


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what an error message may show of it."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def header_dict(headers: httpx2.Headers) -> dict[str, str]:
    """Response headers as a dict of lower-case names, repeated ones joined by ``", "``.

    What ``dict(headers)`` gives, in one pass instead of a scan per name.
    """
    found: dict[str, str] = {}
    for name, value in headers.multi_items():
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found
