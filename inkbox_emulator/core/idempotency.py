"""``Idempotency-Key`` on the send routes: a repeated request replays the first answer.

A keyed request is scoped to (organisation, operation, sender): the mailbox of
a mail send, forward or reply-all, the number of a text, the organisation for
a call. Its fingerprint is the request path plus the JSON body. Within seven
days (emulator clock):

* same key, same fingerprint, finished → the stored answer again, with
  ``Idempotent-Replayed: true``; nothing is sent twice;
* same key, another fingerprint → 409 ``idempotency_key_reused``;
* same key while the first request still runs → 409 ``idempotency_in_progress``
  (``Retry-After: 1``);
* a key that is not 1-255 printable ASCII characters → 422.

Only successful (2xx) answers are stored; after an error the key is free
again, so a retry runs the request anew. Requests without the header are
processed as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from inkbox_emulator.accounts.model import authenticate

from .errors import ApiError
from .routing import ContextHandler
from .store import Db, Store

__all__ = ["RETENTION_SECONDS", "begin", "idempotent"]

RETENTION_SECONDS = 7 * 24 * 3600
HEADER = "idempotency-key"


def _key_problem(key: str) -> str | None:
    if not key.strip() or len(key) > 255:
        return "Idempotency-Key must be 1-255 characters long"
    if not all(" " <= ch <= "~" for ch in key):
        return "Idempotency-Key must contain only printable ASCII characters"
    return None


def _fingerprint(path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()


def begin(
    db: Db, organization_id: str, scope: str, key: str, fingerprint: str
) -> tuple[int, bytes] | None:
    """Claim a key: ``None`` when the request should run, or the stored ``(status, body)``.

    Raises the 409s of the module docstring.
    """
    row = db.one(
        "SELECT * FROM idempotency_keys WHERE organization_id = ? AND scope = ? AND key = ?",
        (organization_id, scope, key),
    )
    if row is not None and row["created_at"] <= db.now - RETENTION_SECONDS:
        db.exec(
            "DELETE FROM idempotency_keys WHERE organization_id = ? AND scope = ? AND key = ?",
            (organization_id, scope, key),
        )
        row = None
    if row is None:
        db.insert(
            "idempotency_keys",
            {
                "organization_id": organization_id,
                "scope": scope,
                "key": key,
                "fingerprint": fingerprint,
                "state": "in_progress",
                "created_at": db.now,
            },
        )
        return None
    if row["fingerprint"] != fingerprint:
        raise ApiError(
            409,
            {
                "error": "idempotency_key_reused",
                "message": "This Idempotency-Key was already used with a different request; "
                "use a new key for a new message.",
            },
        )
    if row["state"] == "in_progress":
        raise ApiError(
            409,
            {
                "error": "idempotency_in_progress",
                "message": "A request with this Idempotency-Key is still being processed; "
                "retry shortly with the same key.",
            },
            headers={"Retry-After": "1"},
        )
    return int(row["status"]), bytes(row["body"])


def _finish(db: Db, organization_id: str, scope: str, key: str, status: int, body: bytes) -> None:
    db.exec(
        "UPDATE idempotency_keys SET state = 'done', status = ?, body = ? "
        "WHERE organization_id = ? AND scope = ? AND key = ?",
        (status, body, organization_id, scope, key),
    )


def _release(db: Db, organization_id: str, scope: str, key: str) -> None:
    db.exec(
        "DELETE FROM idempotency_keys WHERE organization_id = ? AND scope = ? AND key = ? "
        "AND state = 'in_progress'",
        (organization_id, scope, key),
    )


def idempotent(
    operation: str, sender: str | None = None
) -> Callable[[ContextHandler[Store]], ContextHandler[Store]]:
    """Wrap a send route's handler; ``sender`` names the path parameter of the sender."""

    def wrap(handler: ContextHandler[Store]) -> ContextHandler[Store]:
        async def keyed(store: Store, request: Request) -> Response:
            key = request.headers.get(HEADER)
            if key is None:
                return await handler(store, request)
            problem = _key_problem(key)
            if problem is not None:
                raise ApiError(
                    422,
                    [
                        {
                            "type": "value_error",
                            "loc": ["header", "Idempotency-Key"],
                            "msg": f"Value error, {problem}",
                            "input": key,
                            "ctx": {"error": problem},
                        }
                    ],
                )
            try:
                principal = store.run(authenticate, request.headers.get("x-api-key"))
            except ApiError:
                return await handler(store, request)  # answers the 401 itself
            org = principal.organization_id
            owner = "" if sender is None else str(request.path_params[sender]).lower()
            scope = f"{operation}:{owner}"
            fingerprint = _fingerprint(request.url.path, await request.body())
            stored = store.run(begin, org, scope, key, fingerprint)
            if stored is not None:
                status, body = stored
                return Response(
                    body,
                    status_code=status,
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
            try:
                response = await handler(store, request)
            except BaseException:
                store.run(_release, org, scope, key)
                raise
            if 200 <= response.status_code < 300:
                store.run(_finish, org, scope, key, response.status_code, bytes(response.body))
            else:
                store.run(_release, org, scope, key)
            return response

        return keyed

    return wrap
