"""What the inbox's handlers share: the emulator's parts, the CSRF token, the templates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from inkbox_emulator.core.faults import FaultRegistry
from inkbox_emulator.core.store import Store
from inkbox_emulator.edge.server import TunnelEdge
from inkbox_emulator.webhooks.dispatcher import Dispatcher

from .guard import CsrfToken, page_headers

__all__ = [
    "REDACTED",
    "Inbox",
    "mask_secret",
    "redact_body",
    "redact_headers",
    "redact_path",
    "redact_query",
]

REDACTED = "…redacted…"
_SECRET_HEADERS = frozenset(["authorization", "x-api-key", "cookie", "proxy-authorization"])
_SECRET_FIELDS = frozenset(
    [
        "auth_hash",
        "current_auth_hash",
        "new_auth_hash",
        "recovery_auth_hash",
        "auth_token",
        "access_token",
        "refresh_token",
        "api_key",
        "token",
        "password",
        "signature",
        "secret",
        "signing_key",
        "wrapped_org_encryption_key",
        "encrypted_payload",
    ]
)
"""Query parameters and JSON keys (at any depth) whose values the inbox masks."""
_SECRET_SEGMENT = re.compile(r"(?<=/api/v1/vault/keys/)(?!primary(?:/|$))[^/]+")
"""A path segment that is a secret: the auth hash of ``DELETE /api/v1/vault/keys/{auth_hash}``."""
_SHOWN_TAIL = 6


def mask_secret(value: object) -> str:
    """A secret as the inbox shows it: ``…`` and its last characters when it is long
    enough to keep them private (to tell two apart), else :data:`REDACTED`."""
    text = value if isinstance(value, str) else None
    if text is None or len(text) < 4 * _SHOWN_TAIL:
        return REDACTED
    return "…" + text[-_SHOWN_TAIL:]


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with credentials replaced (the inbox never shows an API key or token)."""
    return {k: REDACTED if k.lower() in _SECRET_HEADERS else v for k, v in headers.items()}


def redact_path(path: str) -> str:
    """A request path with a secret segment masked."""
    return _SECRET_SEGMENT.sub(lambda match: mask_secret(match.group()), path)


def redact_query(query: str) -> str:
    """A raw query string with the value of each secret parameter masked."""
    parts = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if sep and unquote_plus(name).lower() in _SECRET_FIELDS:
            part = f"{name}={mask_secret(unquote_plus(value))}"
        parts.append(part)
    return "&".join(parts)


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: mask_secret(v) if k.lower() in _SECRET_FIELDS else _redact_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact_body(text: str) -> str:
    """A request body with the value of each secret JSON key masked, at any depth (JSON
    without one, and any other text, as given)."""
    lowered = text.lower()
    if not any(name in lowered for name in _SECRET_FIELDS):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return text
    redacted = _redact_json(data)
    return text if redacted == data else json.dumps(redacted, ensure_ascii=False)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty(text: str | None) -> str:
    """JSON text indented when it parses, else as given."""
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("inkbox_emulator.inbox", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["pretty"] = _pretty
    return env


@dataclass(frozen=True)
class Inbox:
    """The emulator parts the inbox reads and drives."""

    store: Store
    faults: FaultRegistry
    dispatcher: Dispatcher
    edge: TunnelEdge
    csrf: CsrfToken = field(default_factory=CsrfToken)
    templates: Environment = field(default_factory=_environment, repr=False)

    def render(self, request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        """An HTML page from template ``name`` (autoescaped), with the inbox's headers."""
        template = self.templates.get_template(name)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        html = template.render(
            csrf=self.csrf.value,
            here=here,
            now=self.store.now(),
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=page_headers())
