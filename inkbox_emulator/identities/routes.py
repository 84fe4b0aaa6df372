"""HTTP routes of agent identities under ``/api/v1/identities``.

Each handler authenticates, parses (FastAPI-shaped 422s), then runs one store
operation in one transaction.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from inkbox_emulator.accounts.auth import auth
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.routing import (
    RouteTable,
    bound_routes,
    json_body,
    json_response,
    no_content,
)
from inkbox_emulator.core.store import Store

from . import model
from .parse import parse_create_identity, parse_update_identity

__all__ = ["identity_routes"]

IDENTITY = "/api/v1/identities/{agent_handle}"


def _handle(request: Request) -> str:
    return str(request.path_params["agent_handle"])


async def create_identity(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    parsed = parse_create_identity(await json_body(request))
    if not principal.claimed:
        raise ApiError(403, "Unclaimed agents cannot create identities")
    return json_response(store.run(model.create_identity, principal, parsed), 201)


async def list_identities(store: Store, request: Request) -> Response:
    return json_response(store.run(model.list_identities, auth(store, request)))


async def get_identity(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(model.get_identity, principal, _handle(request)))


async def update_identity(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    parsed = parse_update_identity(await json_body(request))
    key = request.headers.get("idempotency-key")
    result = store.run(model.update_identity, principal, _handle(request), parsed, key)
    return json_response(result)


async def delete_identity(store: Store, request: Request) -> Response:
    store.run(model.delete_identity, auth(store, request), _handle(request))
    return no_content()


async def release_phone(store: Store, request: Request) -> Response:
    store.run(model.release_phone_number, auth(store, request), _handle(request))
    return no_content()


def identity_routes(store: Store) -> list[BaseRoute]:
    """The identity routes, bound to ``store``."""
    table: RouteTable[Store] = [
        ("/api/v1/identities/", {"GET": list_identities, "POST": create_identity}),
        (IDENTITY, {"GET": get_identity, "PATCH": update_identity, "DELETE": delete_identity}),
        (IDENTITY + "/phone_number", {"DELETE": release_phone}),
    ]
    return bound_routes(store, table)
