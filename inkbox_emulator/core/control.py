"""The control API under ``/_emulator``: no auth, JSON, same operations as the Python API.

Mail and outside-world routes:

* ``POST /_emulator/mail/inbound`` — inject an inbound email (body: ``to``,
  ``from_address``, ``subject``, ``body_text``, ``body_html``, ``cc``,
  ``attachments``, ``in_reply_to``, ``references``, ``message_id``) → 201 Message;
* ``GET /_emulator/mail/outbox[?organization_id=]`` — external deliveries, oldest first;
* ``POST /_emulator/mail/outcomes`` — ``{pattern, outcome}`` for later deliveries;
* ``GET /_emulator/webhooks/deliveries[?organization_id=&event_type=]`` — every attempt
  (body as ``body_base64`` and ``body_text``);
* ``POST /_emulator/contacts`` — ``{organization_id, name, emails, phones}`` → 201 Contact
  (``phones``: E.164 numbers, matched by text and call webhooks);
* ``POST /_emulator/faults`` → 201 fault, ``GET /_emulator/faults``,
  ``DELETE /_emulator/faults`` (all), ``DELETE /_emulator/faults/{id}``.

Vault:

* ``GET /_emulator/vault/{organization_id}`` — the vault's ids, key ids / types /
  auth hashes, secret metadata and access rules (no ciphertext); 404 for an unknown org.

The tunnel edge's control routes (``/_emulator/tunnel-edge``, ``/_emulator/tunnels/…``,
``/_emulator/tunnel-faults``, ``/_emulator/tunnel-bodies/…``) are in ``tunnels.routes``;
``POST /_emulator/reset`` also drops the edge's connections and faults.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from inkbox_emulator.accounts import model as accounts
from inkbox_emulator.accounts import signup
from inkbox_emulator.contacts import matching
from inkbox_emulator.edge.server import TunnelEdge
from inkbox_emulator.mail import delivery
from inkbox_emulator.mail.parse import parse_inject
from inkbox_emulator.vault import model as vault_model
from inkbox_emulator.webhooks.dispatcher import Dispatcher

from .errors import ApiError
from .faults import FaultRegistry
from .recording import CONTROL_PREFIX
from .routing import ContextHandler, single_method_routes
from .store import Store
from .validation import Fields, Missing, parse_json_object

__all__ = ["attempt_to_wire", "control_routes", "reset_all"]


def reset_all(
    store: Store, faults: FaultRegistry, dispatcher: Dispatcher, edge: TunnelEdge | None = None
) -> None:
    """Wipe every row, the request log, the clock, faults, webhook and tunnel-edge state."""
    dispatcher.reset()
    faults.clear()
    if edge is not None:
        edge.reset()
    store.reset()


def attempt_to_wire(attempt: dict[str, Any]) -> dict[str, Any]:
    """A webhook attempt with its body as base64 and (when UTF-8) text."""
    body: bytes = attempt["body"]
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    wire = {k: v for k, v in attempt.items() if k != "body"}
    wire["body_base64"] = base64.b64encode(body).decode()
    wire["body_text"] = text
    return wire


@dataclass(frozen=True)
class ControlContext:
    """What the control routes act on."""

    store: Store
    faults: FaultRegistry
    dispatcher: Dispatcher
    edge: TunnelEdge | None


def _bool(fields: Fields, name: str) -> bool:
    value = fields.raw(name)
    if value is Missing.MISSING or value is None:
        return False
    if not isinstance(value, bool):
        fields.error(name, "bool_type", "Input should be a valid boolean", value)
        return False
    return value


async def body(request: Request) -> Fields:
    return Fields(parse_json_object(await request.body(), allow_empty=True))


def opt(value: str | Missing | None) -> str | None:
    return None if isinstance(value, Missing) else value


async def health(ctl: ControlContext, request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def create_org(ctl: ControlContext, request: Request) -> Response:
    fields = await body(request)
    name = fields.string("name", max_length=255)
    fields.raise_errors()
    org_id, key = ctl.store.run(accounts.create_org, opt(name))
    return JSONResponse({"organization_id": org_id, "api_key": key}, status_code=201)


async def human_session(ctl: ControlContext, request: Request) -> Response:
    fields = await body(request)
    email = fields.string("email")
    name = fields.string("name")
    fields.raise_errors()
    token = ctl.store.run(
        accounts.create_human_session,
        str(request.path_params["org_id"]),
        opt(email),
        opt(name),
    )
    return JSONResponse({"token": token}, status_code=201)


async def add_domain(ctl: ControlContext, request: Request) -> Response:
    fields = await body(request)
    domain = fields.string("domain", required=True, min_length=1)
    status = fields.literal("status", ("verified", "pending", "failed"), nullable=False)
    is_default = _bool(fields, "is_default")
    fields.raise_errors()
    row = ctl.store.run(
        accounts.add_sending_domain,
        str(request.path_params["org_id"]),
        domain,
        status if isinstance(status, str) else "verified",
        is_default,
    )
    return JSONResponse(row, status_code=201)


async def reset(ctl: ControlContext, request: Request) -> Response:
    await anyio.to_thread.run_sync(reset_all, ctl.store, ctl.faults, ctl.dispatcher, ctl.edge)
    return JSONResponse({"status": "reset"})


# -- mail and the outside world ----------------------------------------------


async def inbound(ctl: ControlContext, request: Request) -> Response:
    parsed = parse_inject(parse_json_object(await request.body()))
    return JSONResponse(ctl.store.run(delivery.inject_inbound, parsed), status_code=201)


async def outbox(ctl: ControlContext, request: Request) -> Response:
    org = request.query_params.get("organization_id")
    return JSONResponse(ctl.store.run(delivery.list_outbox, org))


async def outcomes(ctl: ControlContext, request: Request) -> Response:
    fields = await body(request)
    pattern = fields.string("pattern", required=True, min_length=1)
    outcome = fields.literal("outcome", delivery.OUTCOMES, nullable=False)
    if outcome is Missing.MISSING:
        fields.missing("outcome")
    fields.raise_errors()
    assert isinstance(outcome, str)
    return JSONResponse(ctl.store.run(delivery.set_delivery_outcome, pattern, outcome))


async def opens(ctl: ControlContext, request: Request) -> Response:
    message_id = request.path_params["message_id"]
    return JSONResponse(ctl.store.run(delivery.record_open, message_id), status_code=201)


async def deliveries(ctl: ControlContext, request: Request) -> Response:
    attempts = ctl.dispatcher.attempts(
        request.query_params.get("organization_id"), request.query_params.get("event_type")
    )
    return JSONResponse([attempt_to_wire(a) for a in attempts])


async def contacts(ctl: ControlContext, request: Request) -> Response:
    fields = await body(request)
    org = fields.string("organization_id", required=True, min_length=1)
    name = fields.string("name", required=True, min_length=1)
    emails = fields.raw("emails")
    if emails is Missing.MISSING or emails is None:
        emails = []
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        fields.error("emails", "list_type", "Input should be a valid list of strings", emails)
    phones = fields.raw("phones")
    if phones is Missing.MISSING or phones is None:
        phones = []
    if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
        fields.error("phones", "list_type", "Input should be a valid list of strings", phones)
    fields.raise_errors()
    created = ctl.store.run(matching.add_contact, org, name, emails, phones)
    return JSONResponse(created, status_code=201)


async def add_fault(ctl: ControlContext, request: Request) -> Response:
    fields = await body(request)
    data = fields.data
    try:
        fault_id = ctl.faults.add(
            method=str(data.get("method", "*")),
            path=str(data.get("path", "**")),
            kind=str(data.get("kind", "status")),
            count=int(data.get("count", 1)),
            status=int(data.get("status", 503)),
            retry_after=None if data.get("retry_after") is None else float(data["retry_after"]),
            delay=float(data.get("delay", 0.0)),
        )
    except (TypeError, ValueError) as exc:
        raise ApiError(422, str(exc)) from None
    fault = next(f for f in ctl.faults.list() if f.id == fault_id)
    return JSONResponse(fault.to_wire(), status_code=201)


async def list_faults(ctl: ControlContext, request: Request) -> Response:
    return JSONResponse([f.to_wire() for f in ctl.faults.list()])


async def clear_faults(ctl: ControlContext, request: Request) -> Response:
    ctl.faults.clear()
    return Response(status_code=204)


async def delete_fault(ctl: ControlContext, request: Request) -> Response:
    if not ctl.faults.remove(str(request.path_params["fault_id"])):
        raise ApiError(404, "Fault not found")
    return Response(status_code=204)


async def signups(ctl: ControlContext, request: Request) -> Response:
    return JSONResponse(ctl.store.run(signup.list_signups))


async def approve(ctl: ControlContext, request: Request) -> Response:
    return JSONResponse(ctl.store.run(signup.approve, str(request.path_params["agent_handle"])))


async def requests(ctl: ControlContext, request: Request) -> Response:
    with ctl.store.lock:
        items: list[Any] = [r.to_wire() for r in ctl.store.requests]
    return JSONResponse(items)


async def clear_requests(ctl: ControlContext, request: Request) -> Response:
    with ctl.store.lock:
        ctl.store.requests.clear()
    return Response(status_code=204)


async def clock(ctl: ControlContext, request: Request) -> Response:
    fields = await body(request)
    value = fields.raw("advance_seconds")
    if value is Missing.MISSING:
        fields.missing("advance_seconds")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        fields.error("advance_seconds", "float_type", "Input should be a valid number", value)
    elif value < 0:
        raise ApiError(422, "advance_seconds must not be negative")
    fields.raise_errors()
    now = ctl.store.advance_clock(float(value))
    return JSONResponse({"now": now})


async def vault(ctl: ControlContext, request: Request) -> Response:
    org_id = str(request.path_params["org_id"])
    return JSONResponse(ctl.store.run(vault_model.vault_state, org_id))


def control_routes(
    store: Store, faults: FaultRegistry, dispatcher: Dispatcher, edge: TunnelEdge | None = None
) -> list[BaseRoute]:
    """Routes of the control API, bound to ``store``, the fault registry, the dispatcher and
    the tunnel edge."""
    ctl = ControlContext(store, faults, dispatcher, edge)
    p = CONTROL_PREFIX
    table: list[tuple[str, str, ContextHandler[ControlContext]]] = [
        (f"{p}/health", "GET", health),
        (f"{p}/orgs", "POST", create_org),
        (f"{p}/orgs/{{org_id}}/human-sessions", "POST", human_session),
        (f"{p}/orgs/{{org_id}}/domains", "POST", add_domain),
        (f"{p}/reset", "POST", reset),
        (f"{p}/signups", "GET", signups),
        (f"{p}/signups/{{agent_handle}}/approve", "POST", approve),
        (f"{p}/requests", "GET", requests),
        (f"{p}/requests", "DELETE", clear_requests),
        (f"{p}/clock", "POST", clock),
        (f"{p}/mail/inbound", "POST", inbound),
        (f"{p}/mail/outbox", "GET", outbox),
        (f"{p}/mail/outcomes", "POST", outcomes),
        (f"{p}/mail/messages/{{message_id}}/opens", "POST", opens),
        (f"{p}/webhooks/deliveries", "GET", deliveries),
        (f"{p}/contacts", "POST", contacts),
        (f"{p}/faults", "POST", add_fault),
        (f"{p}/faults", "GET", list_faults),
        (f"{p}/faults", "DELETE", clear_faults),
        (f"{p}/faults/{{fault_id}}", "DELETE", delete_fault),
        (f"{p}/vault/{{org_id}}", "GET", vault),
    ]
    return single_method_routes(ctl, table)
