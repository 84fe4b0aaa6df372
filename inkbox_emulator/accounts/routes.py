"""HTTP routes of the account: whoami, API keys and agent signup.

Each handler authenticates (signup itself excepted), parses (FastAPI-shaped
422s), then runs one store operation in one transaction.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.routing import RouteTable, body_fields, bound_routes, json_response
from inkbox_emulator.core.store import Store
from inkbox_emulator.core.validation import Fields, Missing

from . import model, signup
from .auth import auth

__all__ = ["account_routes"]

SIGNUP = "/api/v1/agent-signup"


async def whoami(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(model.whoami, principal))


async def create_api_key(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    fields = await body_fields(request)
    label = fields.string("label", required=True, min_length=1, max_length=255)
    description = fields.string("description", max_length=1000)
    scoped = fields.uuid("scoped_identity_id")
    fields.raise_errors()
    if not principal.claimed:
        raise ApiError(403, "Unclaimed agents cannot create API keys")
    created = store.run(
        model.create_api_key,
        principal,
        label,
        None if isinstance(description, Missing) else description,
        None if isinstance(scoped, Missing) else scoped,
    )
    return json_response(created, 201)


def _check_human_email(fields: Fields, value: str) -> None:
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        fields.error(
            "human_email",
            "value_error",
            "value is not a valid email address: An email address must have an @-sign "
            "and a domain.",
            value,
            reason="invalid email address",
        )


async def register(store: Store, request: Request) -> Response:
    fields = await body_fields(request)
    human_email = fields.string("human_email", required=True, max_length=320)
    note = fields.string("note_to_human", required=True, max_length=2000)
    display_name = fields.string("display_name", max_length=255)
    agent_handle = fields.string("agent_handle", max_length=63)
    fields.string("email_local_part", max_length=64)
    if isinstance(human_email, str) and human_email:
        _check_human_email(fields, human_email)
    fields.raise_errors()
    result = store.run(
        signup.register,
        human_email,
        note,
        None if isinstance(display_name, Missing) else display_name,
        None if isinstance(agent_handle, Missing) else agent_handle,
    )
    return json_response(result, 201)


async def verify(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    fields = await body_fields(request)
    code = fields.string("verification_code", required=True)
    fields.raise_errors()
    result = store.run(signup.verify, principal, code)
    if isinstance(result, ApiError):
        raise result
    return json_response(result)


async def resend(store: Store, request: Request) -> Response:
    return json_response(store.run(signup.resend, auth(store, request)))


async def status(store: Store, request: Request) -> Response:
    return json_response(store.run(signup.status, auth(store, request)))


def account_routes(store: Store) -> list[BaseRoute]:
    """The account and signup routes, bound to ``store``."""
    table: RouteTable[Store] = [
        ("/api/whoami", {"GET": whoami}),
        ("/api/v1/api-keys", {"POST": create_api_key}),
        (SIGNUP, {"POST": register}),
        (SIGNUP + "/verify", {"POST": verify}),
        (SIGNUP + "/resend-verification", {"POST": resend}),
        (SIGNUP + "/status", {"GET": status}),
    ]
    return bound_routes(store, table)
