"""Temporary signed attachment URLs: ``GET /files/{token}?expires=…&signature=…``.

The token is a mail attachment id or a text (MMS) media item id.

``signature`` is the lower-case hex HMAC-SHA256 of ``"{token}.{expires}"``
under a per-emulator secret; ``expires`` is epoch seconds on the emulator
clock. A missing or wrong signature answers **403**; a valid URL past its
expiry (e.g. after ``advance_clock``) answers **410**. A good URL answers the
bytes with the attachment's ``Content-Type`` and a ``Content-Disposition``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from inkbox_emulator.core.store import Db, Store

__all__ = ["FILES_PREFIX", "file_routes", "signed_url"]

FILES_PREFIX = "/files"


def _signature(secret: bytes, token: str, expires: int) -> str:
    return hmac.new(secret, f"{token}.{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(db: Db, base_url: str, attachment_id: str) -> tuple[str, int]:
    """A signed URL for an attachment and its lifetime in seconds."""
    ttl = db.settings.attachment_url_ttl
    expires = int(db.now) + ttl
    sig = _signature(db.settings.files_secret, attachment_id, expires)
    url = f"{base_url.rstrip('/')}{FILES_PREFIX}/{attachment_id}?expires={expires}&signature={sig}"
    return url, ttl


def _load(db: Db, token: str) -> Any:
    row = db.one(
        "SELECT filename, content_type, content FROM mail_attachments WHERE id = ?", (token,)
    )
    if row is None:
        row = db.one(
            "SELECT filename, content_type, content FROM text_media WHERE id = ?", (token,)
        )
    return row


def file_routes(store: Store) -> list[BaseRoute]:
    """The route serving signed attachment URLs."""

    async def serve(request: Request) -> Response:
        token = str(request.path_params["token"])
        raw_expires = request.query_params.get("expires", "")
        given = request.query_params.get("signature", "")
        try:
            expires = int(raw_expires)
        except ValueError:
            return JSONResponse({"detail": "Invalid or missing signature"}, status_code=403)
        expected = _signature(store.settings.files_secret, token, expires)
        # compare_digest refuses non-ASCII text: compare the UTF-8 bytes instead.
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            return JSONResponse({"detail": "Invalid or missing signature"}, status_code=403)
        if store.now() > expires:
            return JSONResponse({"detail": "This link has expired"}, status_code=410)
        row = store.run(_load, token)
        if row is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        disposition = f"attachment; filename*=UTF-8''{quote(row['filename'])}"
        return Response(
            bytes(row["content"]),
            media_type=row["content_type"],
            headers={"Content-Disposition": disposition},
        )

    return [Route(f"{FILES_PREFIX}/{{token}}", serve, methods=["GET"])]
