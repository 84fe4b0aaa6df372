"""The ASGI application: the public Inkbox API routes plus the control API, and the web inbox.

Each surface's routes live in its own package (``accounts/routes.py``,
``mail/routes.py``, ...); this module assembles them behind the fault injection
and request recording middlewares; the web inbox (``inbox/``) is served beside them at
``/`` and ``/inbox/…``, outside both.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from inkbox_emulator.accounts.routes import account_routes
from inkbox_emulator.contacts.note_routes import note_routes
from inkbox_emulator.contacts.routes import contact_routes
from inkbox_emulator.edge.hub import EdgeSettings
from inkbox_emulator.edge.server import TunnelEdge
from inkbox_emulator.identities.routes import identity_routes
from inkbox_emulator.inbox.routes import WithInbox, inbox_app
from inkbox_emulator.mail.files import file_routes
from inkbox_emulator.mail.routes import mail_routes
from inkbox_emulator.phone.control import phone_control_routes
from inkbox_emulator.phone.routes import phone_routes
from inkbox_emulator.tunnels.routes import tunnel_control_routes, tunnel_routes
from inkbox_emulator.vault.routes import vault_routes
from inkbox_emulator.webhooks.dispatcher import Dispatcher
from inkbox_emulator.webhooks.routes import webhook_routes

from .control import control_routes
from .errors import ApiError
from .faults import FaultMiddleware, FaultRegistry
from .recording import RecordingMiddleware
from .store import Store

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


def build_app(
    store: Store,
    faults: FaultRegistry | None = None,
    dispatcher: Dispatcher | None = None,
    edge: TunnelEdge | None = None,
) -> WithInbox:
    """The complete ASGI app (public API, control API, fault injection, request recording,
    web inbox)."""
    faults = faults if faults is not None else FaultRegistry()
    dispatcher = dispatcher if dispatcher is not None else Dispatcher(store)
    edge = edge if edge is not None else TunnelEdge(store, EdgeSettings(store.settings.tunnel_zone))
    app = Starlette(
        routes=[
            *control_routes(store, faults, dispatcher, edge),
            *tunnel_control_routes(edge),
            *phone_control_routes(store, dispatcher),
            *account_routes(store),
            *identity_routes(store),
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
    api = RecordingMiddleware(FaultMiddleware(app, faults), store)
    return WithInbox(api, inbox_app(store, faults, dispatcher, edge))
