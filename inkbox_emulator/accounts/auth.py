"""Who is calling: the principal behind a request's API key."""

from __future__ import annotations

from starlette.requests import Request

from inkbox_emulator.core.store import Store

from .model import Principal, authenticate

__all__ = ["auth"]


def auth(store: Store, request: Request) -> Principal:
    """The caller of ``request`` (401 without a valid ``X-API-Key``)."""
    return store.run(authenticate, request.headers.get("x-api-key"))
