"""What keeps the web inbox safe to leave open: CSRF tokens, a host check, strict headers.

* Every action is a POST carrying the emulator's CSRF token (a per-emulator random
  secret, written into each page's forms). Another site cannot read a page, so it
  cannot learn the token; a POST without it answers 403.
* A request whose ``Host`` is a DNS name other than ``localhost`` answers 403, so a
  page on another site cannot reach the inbox through DNS rebinding.
* Pages forbid inline script and every remote load (``PAGE_CSP``); an email's HTML
  is only ever served by the body route, under ``BODY_CSP`` (no script at all, no
  remote loads, a sandbox even when opened on its own).
"""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import parse_qs

from starlette.requests import Request

__all__ = [
    "BODY_CSP",
    "PAGE_CSP",
    "CsrfToken",
    "host_allowed",
    "page_headers",
    "parse_form",
    "safe_next",
]

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
"""The inbox's own pages: scripts and styles from the inbox only, nothing remote."""

BODY_CSP = (
    "default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)
"""An email's HTML body: no script, no remote image, font, style or frame; sandboxed."""

_MAX_FORM_BYTES = 1 << 20


def page_headers(csp: str = PAGE_CSP) -> dict[str, str]:
    """The headers every inbox response carries."""
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


class CsrfToken:
    """The per-emulator CSRF secret (never logged: its repr hides it)."""

    def __init__(self) -> None:
        self.value = secrets.token_urlsafe(32)

    def __repr__(self) -> str:
        return "CsrfToken('…')"

    def matches(self, given: str | None) -> bool:
        """Whether ``given`` is the token (constant-time)."""
        return given is not None and secrets.compare_digest(given.encode(), self.value.encode())


def host_allowed(request: Request) -> bool:
    """``Host`` is an IP literal or ``localhost`` (anything else may be DNS rebinding)."""
    host = request.headers.get("host", "")
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    if name.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def parse_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, last value per name (``{}`` if too big)."""
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {name: values[-1] for name, values in parsed.items()}


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to go back to after an action (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
