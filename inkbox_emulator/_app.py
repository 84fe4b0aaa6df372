"""The ASGI application: the public Inkbox API routes plus the control API.

Routes are thin: authenticate, parse the body (FastAPI-shaped 422s), then run
one store operation in one transaction.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from . import _accounts, _identities, _signup
from ._accounts import Principal
from ._control import control_routes
from ._edge import TunnelEdge
from ._edge_hub import EdgeSettings
from ._errors import ApiError
from ._faults import FaultMiddleware, FaultRegistry
from ._recording import RecordingMiddleware
from ._routing import Handler, method_route
from ._store import Store
from ._tunnel_routes import tunnel_control_routes, tunnel_routes
from ._validation import Fields, Missing, parse_json_object
from .contacts.note_routes import note_routes
from .contacts.routes import contact_routes
from .mail.files import file_routes
from .mail.routes import mail_routes
from .phone.control import phone_control_routes
from .phone.routes import phone_routes
from .vault.routes import vault_routes
from .webhooks.dispatcher import Dispatcher
from .webhooks.routes import webhook_routes

__all__ = ["build_app"]

_STATUS_TEXT = {404: "Not Found", 405: "Method Not Allowed"}


def _error_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)
    assert isinstance(exc, HTTPException)
    detail = _STATUS_TEXT.get(exc.status_code, exc.detail)
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug in a route: a bare 500, never the exception or its traceback."""
    return JSONResponse({"detail": "Internal Server Error"}, status_code=500)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def _no_content() -> Response:
    return Response(status_code=204)


def public_routes(store: Store) -> list[BaseRoute]:
    """The routes of the public Inkbox API served by the emulator."""

    def auth(request: Request) -> Principal:
        return store.run(_accounts.authenticate, request.headers.get("x-api-key"))

    async def body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
        return parse_json_object(await request.body(), allow_empty=allow_empty)

    def handle(request: Request) -> str:
        return str(request.path_params["agent_handle"])

    # -- account ---------------------------------------------------------------

    async def whoami(request: Request) -> Response:
        principal = auth(request)
        return _json(store.run(_accounts.whoami, principal))

    async def api_keys(request: Request) -> Response:
        principal = auth(request)
        fields = Fields(await body(request))
        label = fields.string("label", required=True, min_length=1, max_length=255)
        description = fields.string("description", max_length=1000)
        scoped = fields.uuid("scoped_identity_id")
        fields.raise_errors()
        if not principal.claimed:
            raise ApiError(403, "Unclaimed agents cannot create API keys")
        created = store.run(
            _accounts.create_api_key,
            principal,
            label,
            None if isinstance(description, Missing) else description,
            None if isinstance(scoped, Missing) else scoped,
        )
        return _json(created, 201)

    # -- identities ------------------------------------------------------------

    async def create_identity(request: Request) -> Response:
        principal = auth(request)
        parsed = _identities.parse_create_identity(await body(request))
        if not principal.claimed:
            raise ApiError(403, "Unclaimed agents cannot create identities")
        return _json(store.run(_identities.create_identity, principal, parsed), 201)

    async def list_identities(request: Request) -> Response:
        return _json(store.run(_identities.list_identities, auth(request)))

    async def get_identity(request: Request) -> Response:
        return _json(store.run(_identities.get_identity, auth(request), handle(request)))

    async def update_identity(request: Request) -> Response:
        principal = auth(request)
        parsed = _identities.parse_update_identity(await body(request))
        key = request.headers.get("idempotency-key")
        result = store.run(_identities.update_identity, principal, handle(request), parsed, key)
        return _json(result)

    async def delete_identity(request: Request) -> Response:
        store.run(_identities.delete_identity, auth(request), handle(request))
        return _no_content()

    async def release_phone(request: Request) -> Response:
        store.run(_identities.release_phone_number, auth(request), handle(request))
        return _no_content()

    # -- agent signup ----------------------------------------------------------

    async def signup(request: Request) -> Response:
        fields = Fields(await body(request))
        human_email = fields.string("human_email", required=True, max_length=320)
        note = fields.string("note_to_human", required=True, max_length=2000)
        display_name = fields.string("display_name", max_length=255)
        agent_handle = fields.string("agent_handle", max_length=63)
        fields.string("email_local_part", max_length=64)
        if isinstance(request_email := human_email, str) and request_email:
            local, _, domain = request_email.partition("@")
            if not local or "." not in domain or " " in request_email:
                fields.error(
                    "human_email",
                    "value_error",
                    "value is not a valid email address: An email address must have an @-sign "
                    "and a domain.",
                    request_email,
                    reason="invalid email address",
                )
        fields.raise_errors()
        result = store.run(
            _signup.register,
            human_email,
            note,
            None if isinstance(display_name, Missing) else display_name,
            None if isinstance(agent_handle, Missing) else agent_handle,
        )
        return _json(result, 201)

    async def signup_verify(request: Request) -> Response:
        principal = auth(request)
        fields = Fields(await body(request))
        code = fields.string("verification_code", required=True)
        fields.raise_errors()
        result = store.run(_signup.verify, principal, code)
        if isinstance(result, ApiError):
            raise result
        return _json(result)

    async def signup_resend(request: Request) -> Response:
        return _json(store.run(_signup.resend, auth(request)))

    async def signup_status(request: Request) -> Response:
        return _json(store.run(_signup.status, auth(request)))

    ident = "/api/v1/identities/{agent_handle}"
    table: list[tuple[str, dict[str, Handler]]] = [
        ("/api/whoami", {"GET": whoami}),
        ("/api/v1/api-keys", {"POST": api_keys}),
        ("/api/v1/identities/", {"GET": list_identities, "POST": create_identity}),
        (ident, {"GET": get_identity, "PATCH": update_identity, "DELETE": delete_identity}),
        (ident + "/phone_number", {"DELETE": release_phone}),
        ("/api/v1/agent-signup", {"POST": signup}),
        ("/api/v1/agent-signup/verify", {"POST": signup_verify}),
        ("/api/v1/agent-signup/resend-verification", {"POST": signup_resend}),
        ("/api/v1/agent-signup/status", {"GET": signup_status}),
    ]
    return [method_route(path, handlers) for path, handlers in table]


def build_app(
    store: Store,
    faults: FaultRegistry | None = None,
    dispatcher: Dispatcher | None = None,
    edge: TunnelEdge | None = None,
) -> RecordingMiddleware:
    """The complete ASGI app (public API, control API, fault injection, request recording)."""
    faults = faults if faults is not None else FaultRegistry()
    dispatcher = dispatcher if dispatcher is not None else Dispatcher(store)
    edge = edge if edge is not None else TunnelEdge(store, EdgeSettings(store.settings.tunnel_zone))
    app = Starlette(
        routes=[
            *control_routes(store, faults, dispatcher, edge),
            *tunnel_control_routes(edge),
            *phone_control_routes(store, dispatcher),
            *public_routes(store),
            *tunnel_routes(store, edge),
            *mail_routes(store),
            *phone_routes(store),
            *vault_routes(store),
            *file_routes(store),
            *contact_routes(store),
            *note_routes(store),
            *webhook_routes(store, dispatcher),
        ],
        exception_handlers={
            ApiError: _error_response,
            HTTPException: _error_response,
            Exception: _internal_error,
        },
    )
    return RecordingMiddleware(FaultMiddleware(app, faults), store)
