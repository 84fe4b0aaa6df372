"""What the inbox's handlers share: the emulator's parts, the CSRF token, the templates."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from inkbox_emulator.core.faults import FaultRegistry
from inkbox_emulator.core.store import Store
from inkbox_emulator.edge.server import TunnelEdge
from inkbox_emulator.webhooks.dispatcher import Dispatcher

from .guard import CsrfToken, page_headers

__all__ = ["REDACTED", "Inbox", "redact_headers"]

REDACTED = "…redacted…"
_SECRET_HEADERS = frozenset(["authorization", "x-api-key", "cookie", "proxy-authorization"])


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with credentials replaced (the inbox never shows an API key or token)."""
    return {k: REDACTED if k.lower() in _SECRET_HEADERS else v for k, v in headers.items()}


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
