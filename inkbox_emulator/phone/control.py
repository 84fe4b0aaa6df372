"""Control routes of the phone emulation (no auth, JSON), mirroring the Python API.

* ``POST /_emulator/phone/texts/inbound`` — ``{to_number, from_number, text?, media?}``
  (media: ``[{content_type, content_base64}]``) → 201 TextMessage;
* ``GET /_emulator/phone/texts/sent[?organization_id=]`` — texts the outside world got;
* ``POST /_emulator/phone/texts/outcomes`` — ``{recipient_number, outcome, error_code?,
  error_detail?}`` for later texts to that number;
* ``POST /_emulator/phone/campaigns`` — ``{organization_id, enabled?}`` (default true);
* ``POST /_emulator/phone/numbers/{phone_number_id}/sms-ready`` — end the warm-up now;
* ``POST /_emulator/phone/calls/inbound`` — ``{to_number, from_number}`` → 201 PhoneCall
  plus ``routing`` (answers after the incoming-call webhook, when there is one, replied);
* ``POST /_emulator/phone/calls/{call_id}/transcripts`` — ``{party, text}`` → 201
  PhoneTranscript.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from inkbox_emulator.core.recording import CONTROL_PREFIX
from inkbox_emulator.core.routing import ContextHandler, single_method_routes
from inkbox_emulator.core.store import Store
from inkbox_emulator.core.validation import MISSING, Fields, Missing, parse_json_object
from inkbox_emulator.webhooks.dispatcher import Dispatcher

from . import calls, numbers, opt_ins, texts
from .call_routing import route_inbound_call

__all__ = ["phone_control_routes"]


@dataclass(frozen=True)
class PhoneControl:
    """What the phone control routes act on."""

    store: Store
    dispatcher: Dispatcher


async def body(request: Request) -> Fields:
    return Fields(parse_json_object(await request.body(), allow_empty=True))


def opt(value: str | Missing | None) -> str | None:
    return None if isinstance(value, Missing) else value


async def inbound_text(ctl: PhoneControl, request: Request) -> Response:
    fields = await body(request)
    to_number = fields.string("to_number", required=True)
    from_number = fields.string("from_number", required=True)
    text = fields.string("text")
    media = fields.raw("media")
    if media is not MISSING and media is not None and not isinstance(media, list):
        fields.error("media", "list_type", "Input should be a valid list", media)
    fields.raise_errors()
    items = texts.parse_media(media if isinstance(media, list) else None)
    result = ctl.store.run(texts.inject_text, to_number, from_number, opt(text), items)
    return JSONResponse(result, status_code=201)


async def sent(ctl: PhoneControl, request: Request) -> Response:
    org = request.query_params.get("organization_id")
    return JSONResponse(ctl.store.run(texts.list_sent_texts, org))


async def outcomes(ctl: PhoneControl, request: Request) -> Response:
    fields = await body(request)
    recipient = fields.string("recipient_number", required=True)
    outcome = fields.literal("outcome", texts.OUTCOMES, nullable=False)
    if outcome is MISSING:
        fields.missing("outcome")
    error_code = fields.string("error_code")
    error_detail = fields.string("error_detail")
    fields.raise_errors()
    assert isinstance(outcome, str)
    result = ctl.store.run(
        texts.set_text_outcome, recipient, outcome, opt(error_code), opt(error_detail)
    )
    return JSONResponse(result)


async def campaigns(ctl: PhoneControl, request: Request) -> Response:
    fields = await body(request)
    org = fields.string("organization_id", required=True, min_length=1)
    enabled: Any = fields.raw("enabled")
    if enabled is MISSING or enabled is None:
        enabled = True
    elif not isinstance(enabled, bool):
        fields.error("enabled", "bool_type", "Input should be a valid boolean", enabled)
    fields.raise_errors()
    return JSONResponse(ctl.store.run(opt_ins.set_customer_campaign, org, bool(enabled)))


async def sms_ready(ctl: PhoneControl, request: Request) -> Response:
    number_id = str(request.path_params["phone_number_id"])
    return JSONResponse(ctl.store.run(numbers.mark_sms_ready, number_id))


async def inbound_call(ctl: PhoneControl, request: Request) -> Response:
    fields = await body(request)
    to_number = fields.string("to_number", required=True)
    from_number = fields.string("from_number", required=True)
    fields.raise_errors()
    result = await anyio.to_thread.run_sync(
        route_inbound_call, ctl.store, ctl.dispatcher, to_number, from_number
    )
    return JSONResponse(result, status_code=201)


async def transcript(ctl: PhoneControl, request: Request) -> Response:
    fields = await body(request)
    party = fields.string("party", required=True)
    text = fields.string("text", required=True)
    fields.raise_errors()
    call_id = str(request.path_params["call_id"])
    result = ctl.store.run(calls.append_transcript, call_id, party, text)
    return JSONResponse(result, status_code=201)


def phone_control_routes(store: Store, dispatcher: Dispatcher) -> list[BaseRoute]:
    """The ``/_emulator/phone`` routes, bound to ``store`` and the webhook dispatcher."""

    ctl = PhoneControl(store, dispatcher)
    p = f"{CONTROL_PREFIX}/phone"
    table: list[tuple[str, str, ContextHandler[PhoneControl]]] = [
        (f"{p}/texts/inbound", "POST", inbound_text),
        (f"{p}/texts/sent", "GET", sent),
        (f"{p}/texts/outcomes", "POST", outcomes),
        (f"{p}/campaigns", "POST", campaigns),
        (f"{p}/numbers/{{phone_number_id}}/sms-ready", "POST", sms_ready),
        (f"{p}/calls/inbound", "POST", inbound_call),
        (f"{p}/calls/{{call_id}}/transcripts", "POST", transcript),
    ]
    return single_method_routes(ctl, table)
