"""HTTP routes of notes under ``/api/v1/notes``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from inkbox_emulator.accounts.auth import auth
from inkbox_emulator.core.routing import (
    Query,
    RouteTable,
    bound_routes,
    json_body,
    json_response,
    no_content,
    path_uuid,
)
from inkbox_emulator.core.store import Store
from inkbox_emulator.core.validation import Fields, Missing, parse_uuid

from . import notes

__all__ = ["NOTES_PREFIX", "note_routes"]

NOTES_PREFIX = "/api/v1/notes"
TITLE_MAX = 500
BODY_MAX = 100_000
QUERY_MAX = 200


def note_id(request: Request) -> str:
    return path_uuid(request, "note_id")


async def list_notes(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    q = query.string("q")
    if q is not None and len(q) > QUERY_MAX:
        query.errors.append(
            {
                "type": "string_too_long",
                "loc": ["query", "q"],
                "msg": f"String should have at most {QUERY_MAX} characters",
                "input": q,
            }
        )
    raw_identity = request.query_params.get("identity_id")
    identity = None
    if raw_identity is not None:
        identity = parse_uuid(raw_identity, ("query", "identity_id"))
    limit = query.integer("limit", default=50, ge=1, le=200)
    offset = query.integer("offset", default=0, ge=0)
    order = query.literal("order", ("recent", "created")) or "recent"
    query.raise_errors()
    assert limit is not None and offset is not None
    result = store.run(
        notes.list_notes,
        principal,
        q=q,
        identity_id=identity,
        limit=limit,
        offset=offset,
        order=order,
    )
    return json_response(result)


async def create(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    fields = Fields(await json_body(request))
    text = fields.string("body", required=True, min_length=1, max_length=BODY_MAX)
    title = fields.string("title", max_length=TITLE_MAX)
    fields.raise_errors()
    created = store.run(
        notes.create_note, principal, text, None if isinstance(title, Missing) else title
    )
    return json_response(created, 201)


async def get(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(notes.get_note, principal, note_id(request)))


async def update(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = note_id(request)
    fields = Fields(await json_body(request, allow_empty=True))
    patch: dict[str, Any] = {}
    title = fields.string("title", max_length=TITLE_MAX)
    if not isinstance(title, Missing):
        patch["title"] = title
    if "body" in fields.data:
        patch["body"] = fields.string("body", required=True, min_length=1, max_length=BODY_MAX)
    fields.raise_errors()
    return json_response(store.run(notes.update_note, principal, ident, patch))


async def delete(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    store.run(notes.delete_note, principal, note_id(request))
    return no_content()


async def list_access(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(notes.list_note_access, principal, note_id(request)))


async def grant(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = note_id(request)
    fields = Fields(await json_body(request))
    identity = fields.uuid("identity_id")
    if isinstance(identity, Missing) or (identity is None and not fields.errors):
        fields.missing("identity_id")
    fields.raise_errors()
    assert isinstance(identity, str)
    return json_response(store.run(notes.grant_note, principal, ident, identity), 201)


async def revoke(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = note_id(request)
    identity = path_uuid(request, "identity_id")
    store.run(notes.revoke_note, principal, ident, identity)
    return no_content()


def note_routes(store: Store) -> list[BaseRoute]:
    """The notes routes, bound to ``store``."""

    base = NOTES_PREFIX
    table: RouteTable[Store] = [
        (base, {"GET": list_notes, "POST": create}),
        (base + "/{note_id}", {"GET": get, "PATCH": update, "DELETE": delete}),
        (base + "/{note_id}/access", {"GET": list_access, "POST": grant}),
        (base + "/{note_id}/access/{identity_id}", {"DELETE": revoke}),
    ]
    return bound_routes(store, table)
