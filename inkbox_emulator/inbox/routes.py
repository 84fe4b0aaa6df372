"""The web inbox's routes and the ASGI app serving them beside the API.

``/`` is the inbox's home; every other page, action and asset is under ``/inbox/``
(and ``/favicon.ico``, which browsers fetch on their own).
:class:`WithInbox` sends those paths to the inbox and everything else to the API
app, so inbox traffic is never recorded in ``requests()`` nor hit by injected faults.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.faults import FaultRegistry
from inkbox_emulator.core.routing import ContextHandler, single_method_routes
from inkbox_emulator.core.store import Store
from inkbox_emulator.edge.server import TunnelEdge
from inkbox_emulator.webhooks.dispatcher import Dispatcher

from . import actions, pages
from .context import Inbox
from .guard import host_allowed, page_headers

__all__ = ["INBOX_PREFIX", "WithInbox", "inbox_app", "is_inbox_path"]

INBOX_PREFIX = "/inbox"
_OWN_PATHS = frozenset(["/", INBOX_PREFIX, "/favicon.ico"])
"""Served by the inbox outside its prefix (a browser asks for ``/favicon.ico`` by itself)."""


def is_inbox_path(path: str) -> bool:
    """Whether the inbox (not the API) serves ``path``."""
    return path in _OWN_PATHS or path.startswith(INBOX_PREFIX + "/")


def _routes(inbox: Inbox) -> list[BaseRoute]:
    p = INBOX_PREFIX
    o = f"{p}/orgs/{{org_id}}"
    a = f"{p}/actions"
    table: list[tuple[str, str, ContextHandler[Inbox]]] = [
        ("/", "GET", pages.index),
        (p, "GET", pages.index),
        ("/favicon.ico", "GET", pages.favicon),
        (f"{p}/live", "GET", pages.live),
        (f"{p}/static/{{name}}", "GET", pages.static),
        (o, "GET", pages.org),
        (f"{o}/texts", "GET", pages.texts),
        (f"{o}/calls", "GET", pages.calls),
        (f"{o}/webhooks", "GET", pages.webhooks),
        (f"{o}/tunnels", "GET", pages.tunnels),
        (f"{o}/vault", "GET", pages.vault),
        (f"{p}/mailboxes/{{mailbox_id}}", "GET", pages.mailbox),
        (f"{p}/threads/{{thread_id}}", "GET", pages.thread),
        (f"{p}/messages/{{message_id}}/body", "GET", pages.body),
        (f"{p}/attachments/{{attachment_id}}", "GET", pages.attachment),
        (f"{p}/requests", "GET", pages.requests_page),
        (f"{a}/email", "POST", actions.inject_email),
        (f"{a}/text", "POST", actions.inject_text),
        (f"{a}/call", "POST", actions.inject_call),
        (f"{a}/signups/{{agent_handle}}/approve", "POST", actions.approve_signup),
        (f"{a}/clock", "POST", actions.advance_clock),
        (f"{a}/faults/clear", "POST", actions.clear_faults),
        (f"{a}/deliveries/{{delivery_id}}/replay", "POST", actions.replay_delivery),
    ]
    return single_method_routes(inbox, table)


def _detail(detail: object) -> str:
    if isinstance(detail, str):
        return detail
    return json.dumps(detail, indent=2, ensure_ascii=False)


def inbox_app(
    store: Store, faults: FaultRegistry, dispatcher: Dispatcher, edge: TunnelEdge
) -> ASGIApp:
    """The inbox's own Starlette app (HTML error pages, host check)."""
    inbox = Inbox(store, faults, dispatcher, edge)

    def error_page(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            status, detail = exc.status, _detail(exc.detail)
        elif isinstance(exc, HTTPException):
            status, detail = exc.status_code, str(exc.detail)
        else:
            status, detail = 500, "Internal Server Error"
        return inbox.render(request, "error.html", status=status, code=status, detail=detail)

    app = Starlette(
        routes=_routes(inbox),
        exception_handlers={ApiError: error_page, HTTPException: error_page, Exception: error_page},
    )

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not host_allowed(Request(scope)):
            refused = Response(
                "The inbox answers only to localhost or an IP address (Host header refused).",
                status_code=403,
                media_type="text/plain; charset=utf-8",
                headers=page_headers(),
            )
            await refused(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded


class WithInbox:
    """Routes ``/`` and ``/inbox/…`` to the inbox, everything else to the API app
    (``app``, as every other wrapper of the emulator names what it wraps)."""

    def __init__(self, app: ASGIApp, inbox: ASGIApp) -> None:
        self.app = app
        self.inbox = inbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_inbox_path(scope["path"]):
            await self.inbox(scope, receive, send)
        else:
            await self.app(scope, receive, send)
