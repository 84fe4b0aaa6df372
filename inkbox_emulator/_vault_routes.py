"""HTTP routes of the encrypted vault under ``/api/v1/vault``.

Each handler authenticates, parses (FastAPI-shaped 422s), then runs one store
operation in one transaction. UUID path segments that do not parse answer 422;
``auth_hash`` in a query or path must be 64 hex digits (422 otherwise).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from . import _vault_keys, _vault_secrets
from ._accounts import Principal, authenticate
from ._routing import Handler, Query, json_response, method_route
from ._store import Store
from ._validation import parse_json_object, parse_uuid
from ._vault_model import KEY_TYPES, SECRET_TYPES
from ._vault_parse import (
    parse_auth_hash,
    parse_grant,
    parse_initialize,
    parse_new_secret,
    parse_replace_primary,
    parse_secret_patch,
)

__all__ = ["VAULT_PREFIX", "vault_routes"]

VAULT_PREFIX = "/api/v1/vault"


def vault_routes(store: Store) -> list[BaseRoute]:
    """The vault routes, bound to ``store``."""

    def auth(request: Request) -> Principal:
        return store.run(authenticate, request.headers.get("x-api-key"))

    async def body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
        return parse_json_object(await request.body(), allow_empty=allow_empty)

    def secret_id(request: Request) -> str:
        return parse_uuid(str(request.path_params["secret_id"]), ("path", "secret_id"))

    # -- vault and keys ------------------------------------------------------------

    async def info(request: Request) -> Response:
        return json_response(store.run(_vault_keys.get_info, auth(request)))

    async def initialize(request: Request) -> Response:
        principal = auth(request)
        parsed = parse_initialize(await body(request))
        return json_response(store.run(_vault_keys.initialize, principal, parsed), 201)

    async def unlock(request: Request) -> Response:
        principal = auth(request)
        raw = request.query_params.get("auth_hash")
        auth_hash = None if raw is None else parse_auth_hash(raw, ("query", "auth_hash"))
        return json_response(store.run(_vault_keys.unlock, principal, auth_hash))

    async def list_keys(request: Request) -> Response:
        principal = auth(request)
        query = Query(request)
        key_type = query.literal("type", KEY_TYPES)
        query.raise_errors()
        return json_response(store.run(_vault_keys.list_keys, principal, key_type))

    async def replace_primary(request: Request) -> Response:
        principal = auth(request)
        parsed = parse_replace_primary(await body(request))
        return json_response(store.run(_vault_keys.replace_primary, principal, parsed))

    async def delete_key(request: Request) -> Response:
        principal = auth(request)
        auth_hash = parse_auth_hash(str(request.path_params["auth_hash"]), ("path", "auth_hash"))
        store.run(_vault_keys.delete_key, principal, auth_hash)
        return Response(status_code=204)

    # -- secrets -------------------------------------------------------------------

    async def list_secrets(request: Request) -> Response:
        principal = auth(request)
        query = Query(request)
        secret_type = query.literal("secret_type", SECRET_TYPES)
        query.raise_errors()
        return json_response(store.run(_vault_secrets.list_secrets, principal, secret_type))

    async def create_secret(request: Request) -> Response:
        principal = auth(request)
        parsed = parse_new_secret(await body(request))
        return json_response(store.run(_vault_secrets.create_secret, principal, parsed), 201)

    async def get_secret(request: Request) -> Response:
        principal = auth(request)
        return json_response(store.run(_vault_secrets.get_secret, principal, secret_id(request)))

    async def update_secret(request: Request) -> Response:
        principal = auth(request)
        ident = secret_id(request)
        patch = parse_secret_patch(await body(request, allow_empty=True))
        return json_response(store.run(_vault_secrets.update_secret, principal, ident, patch))

    async def delete_secret(request: Request) -> Response:
        principal = auth(request)
        store.run(_vault_secrets.delete_secret, principal, secret_id(request))
        return Response(status_code=204)

    # -- access rules --------------------------------------------------------------

    async def list_access(request: Request) -> Response:
        principal = auth(request)
        return json_response(store.run(_vault_secrets.list_access, principal, secret_id(request)))

    async def grant_access(request: Request) -> Response:
        principal = auth(request)
        ident = secret_id(request)
        identity_id = parse_grant(await body(request))
        result = store.run(_vault_secrets.grant_access, principal, ident, identity_id)
        return json_response(result, 201)

    async def revoke_access(request: Request) -> Response:
        principal = auth(request)
        ident = secret_id(request)
        identity_id = parse_uuid(str(request.path_params["identity_id"]), ("path", "identity_id"))
        store.run(_vault_secrets.revoke_access, principal, ident, identity_id)
        return Response(status_code=204)

    v = VAULT_PREFIX
    secret = v + "/secrets/{secret_id}"
    table: list[tuple[str, dict[str, Handler]]] = [
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
    return [method_route(path, handlers) for path, handlers in table]
