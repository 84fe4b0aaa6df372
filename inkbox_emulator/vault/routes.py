"""HTTP routes of the encrypted vault under ``/api/v1/vault``.

Each handler authenticates, parses (FastAPI-shaped 422s), then runs one store
operation in one transaction. UUID path segments that do not parse answer 422;
``auth_hash`` in a query or path must be 64 hex digits (422 otherwise).
"""

from __future__ import annotations

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

from . import keys, secrets
from .model import KEY_TYPES, SECRET_TYPES
from .parse import (
    parse_auth_hash,
    parse_grant,
    parse_initialize,
    parse_new_secret,
    parse_replace_primary,
    parse_secret_patch,
)

__all__ = ["VAULT_PREFIX", "vault_routes"]

VAULT_PREFIX = "/api/v1/vault"


def secret_id(request: Request) -> str:
    return path_uuid(request, "secret_id")


# -- vault and keys ------------------------------------------------------------


async def info(store: Store, request: Request) -> Response:
    return json_response(store.run(keys.get_info, auth(store, request)))


async def initialize(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    parsed = parse_initialize(await json_body(request))
    return json_response(store.run(keys.initialize, principal, parsed), 201)


async def unlock(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    raw = request.query_params.get("auth_hash")
    auth_hash = None if raw is None else parse_auth_hash(raw, ("query", "auth_hash"))
    return json_response(store.run(keys.unlock, principal, auth_hash))


async def list_keys(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    key_type = query.literal("type", KEY_TYPES)
    query.raise_errors()
    return json_response(store.run(keys.list_keys, principal, key_type))


async def replace_primary(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    parsed = parse_replace_primary(await json_body(request))
    return json_response(store.run(keys.replace_primary, principal, parsed))


async def delete_key(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    auth_hash = parse_auth_hash(str(request.path_params["auth_hash"]), ("path", "auth_hash"))
    store.run(keys.delete_key, principal, auth_hash)
    return no_content()


# -- secrets -------------------------------------------------------------------


async def list_secrets(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    secret_type = query.literal("secret_type", SECRET_TYPES)
    query.raise_errors()
    return json_response(store.run(secrets.list_secrets, principal, secret_type))


async def create_secret(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    parsed = parse_new_secret(await json_body(request))
    return json_response(store.run(secrets.create_secret, principal, parsed), 201)


async def get_secret(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(secrets.get_secret, principal, secret_id(request)))


async def update_secret(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = secret_id(request)
    patch = parse_secret_patch(await json_body(request, allow_empty=True))
    return json_response(store.run(secrets.update_secret, principal, ident, patch))


async def delete_secret(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    store.run(secrets.delete_secret, principal, secret_id(request))
    return no_content()


# -- access rules --------------------------------------------------------------


async def list_access(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(secrets.list_access, principal, secret_id(request)))


async def grant_access(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = secret_id(request)
    identity_id = parse_grant(await json_body(request))
    result = store.run(secrets.grant_access, principal, ident, identity_id)
    return json_response(result, 201)


async def revoke_access(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = secret_id(request)
    identity_id = path_uuid(request, "identity_id")
    store.run(secrets.revoke_access, principal, ident, identity_id)
    return no_content()


def vault_routes(store: Store) -> list[BaseRoute]:
    """The vault routes, bound to ``store``."""

    v = VAULT_PREFIX
    secret = v + "/secrets/{secret_id}"
    table: RouteTable[Store] = [
        (v + "/info", {"GET": info}),
        (v + "/initialize", {"POST": initialize}),
        (v + "/unlock", {"GET": unlock}),
        (v + "/keys", {"GET": list_keys}),
        (v + "/keys/primary", {"PUT": replace_primary}),
        (v + "/keys/{auth_hash}", {"DELETE": delete_key}),
        (v + "/secrets", {"GET": list_secrets, "POST": create_secret}),
        (secret, {"GET": get_secret, "PATCH": update_secret, "DELETE": delete_secret}),
        (secret + "/access", {"GET": list_access, "POST": grant_access}),
        (secret + "/access/{identity_id}", {"DELETE": revoke_access}),
    ]
    return bound_routes(store, table)
