"""Agent-handle rules and signup handle derivation."""

from __future__ import annotations

import re
import secrets

__all__ = ["derive_signup_handle", "handle_problem", "normalize_handle"]

_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
MIN_LEN = 3
MAX_LEN = 63


def normalize_handle(raw: str) -> str:
    """Strip one leading ``@`` and lower-case (what the server does to every handle)."""
    return (raw[1:] if raw.startswith("@") else raw).lower()


def handle_problem(handle: str) -> str | None:
    """Why a normalised handle breaks the rules, or ``None`` when it is valid."""
    if not MIN_LEN <= len(handle) <= MAX_LEN:
        return f"agent_handle must be {MIN_LEN}-{MAX_LEN} characters long"
    if not _HANDLE.fullmatch(handle):
        return (
            "agent_handle may contain only lower-case letters, digits and hyphens, "
            "and must start and end with a letter or digit"
        )
    if "--" in handle:
        return "agent_handle must not contain consecutive hyphens"
    return None


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", normalize_handle(text.strip()))
    return re.sub(r"-{2,}", "-", slug).strip("-")


def derive_signup_handle(requested: str | None, display_name: str | None) -> str:
    """A fresh signup handle: a slug of the request (or display name, or ``agent``) + ``-xxxxxx``."""
    base = _slug(requested or "") or _slug(display_name or "") or "agent"
    base = base[: MAX_LEN - 7].rstrip("-") or "agent"
    return f"{base}-{secrets.token_hex(3)}"
