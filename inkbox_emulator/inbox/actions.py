"""The inbox's actions: form POSTs carrying the CSRF token, answered with a redirect.

Each one does what the matching control-API route does (same store operations),
then sends the browser back to the page named by the form's ``next`` field.
"""

from __future__ import annotations

import math
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from inkbox_emulator.accounts import signup
from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.events import WebhookEvent
from inkbox_emulator.core.store import Db
from inkbox_emulator.mail import delivery
from inkbox_emulator.mail.parse import parse_inject
from inkbox_emulator.phone import texts
from inkbox_emulator.phone.call_routing import route_inbound_call
from inkbox_emulator.webhooks import subscriptions as subs

from .context import Inbox
from .guard import parse_form, safe_next

__all__ = [
    "advance_clock",
    "approve_signup",
    "checked_form",
    "clear_faults",
    "inject_call",
    "inject_email",
    "inject_text",
    "replay_delivery",
]


class Forbidden(ApiError):
    """403: an action without the CSRF token, or from another origin."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


async def checked_form(inbox: Inbox, request: Request) -> dict[str, str]:
    """The action's form fields, once its CSRF token and origin check out (403 otherwise)."""
    form = await parse_form(request)  # read first: an unread body would end the connection
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "")
        if origin.partition("://")[2] != host:
            raise Forbidden("cross-origin action refused")
    if not inbox.csrf.matches(form.get("csrf")):
        raise Forbidden("missing or wrong CSRF token: reload the inbox page and try again")
    return form


def _back(form: dict[str, str], default: str = "/") -> Response:
    return RedirectResponse(safe_next(form.get("next"), default), status_code=303)


def _given(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _required(form: dict[str, str], name: str) -> str:
    value = _given(form, name)
    if value is None:
        raise ApiError(422, f"{name} is required")
    return value


async def inject_email(inbox: Inbox, request: Request) -> Response:
    """An email from the outside world to emulator mailboxes (``to``: comma-separated)."""
    form = await checked_form(inbox, request)
    data: dict[str, Any] = {
        "to": [a.strip() for a in _required(form, "to").split(",") if a.strip()],
        "from_address": _required(form, "from_address"),
    }
    for name in ("subject", "body_text", "body_html"):
        value = form.get(name, "")
        if value:
            data[name] = value.replace("\r\n", "\n")
    inbox.store.run(delivery.inject_inbound, parse_inject(data))
    return _back(form)


async def inject_text(inbox: Inbox, request: Request) -> Response:
    """A text from ``from_number`` to the emulator number ``to_number``."""
    form = await checked_form(inbox, request)
    to_number = _required(form, "to_number")
    from_number = _required(form, "from_number")
    inbox.store.run(texts.inject_text, to_number, from_number, _given(form, "text"), [])
    return _back(form)


async def inject_call(inbox: Inbox, request: Request) -> Response:
    """A call from ``from_number`` to the emulator number ``to_number`` (routed as usual)."""
    form = await checked_form(inbox, request)
    to_number = _required(form, "to_number")
    from_number = _required(form, "from_number")
    await anyio.to_thread.run_sync(
        route_inbound_call, inbox.store, inbox.dispatcher, to_number, from_number
    )
    return _back(form)


async def approve_signup(inbox: Inbox, request: Request) -> Response:
    """The human's approval of an agent's signup."""
    form = await checked_form(inbox, request)
    inbox.store.run(signup.approve, str(request.path_params["agent_handle"]))
    return _back(form)


async def advance_clock(inbox: Inbox, request: Request) -> Response:
    """Move the emulator clock forward by ``seconds``."""
    form = await checked_form(inbox, request)
    try:
        seconds = float(_required(form, "seconds"))
    except ValueError:
        raise ApiError(422, "seconds must be a number") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ApiError(422, "seconds must be a finite number, not negative")
    inbox.store.advance_clock(seconds)
    return _back(form)


async def clear_faults(inbox: Inbox, request: Request) -> Response:
    """Remove every fault in force: the API's and the tunnel edge's."""
    form = await checked_form(inbox, request)
    inbox.faults.clear()
    inbox.edge.clear_faults()
    return _back(form)


def _replay_event(db: Db, delivery_id: str) -> WebhookEvent:
    row = db.one("SELECT organization_id FROM webhook_delivery_log WHERE id = ?", (delivery_id,))
    if row is None:
        raise ApiError(404, "Webhook delivery not found")
    return subs.replay_event(db, Principal("admin", str(row["organization_id"])), delivery_id)


async def replay_delivery(inbox: Inbox, request: Request) -> Response:
    """Send a logged delivery again, as ``POST /webhooks/deliveries/{id}/replay`` does."""
    form = await checked_form(inbox, request)
    event = inbox.store.run(_replay_event, str(request.path_params["delivery_id"]))
    if await anyio.to_thread.run_sync(inbox.dispatcher.replay_now, event) is None:
        raise ApiError(409, "The emulator was reset during the replay")
    return _back(form)
