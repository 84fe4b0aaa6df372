"""HTTP routes of the phone API (numbers, calls, transcripts, texts, opt-ins, rules), plus
the current wire's ``/phone/calls`` routes and identity-keyed phone contact rules.

Each handler authenticates, validates the path, query and body (FastAPI-shaped
422s: ``limit`` 1-200, default 50; ``offset`` >= 0, default 0; UUID path
segments; E.164 numbers), then runs one store operation in one transaction.
Lists are bare JSON arrays. ``POST /numbers`` and ``POST …/contact-rules``
answer 201, deletes 204, everything else 200.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from inkbox_emulator.accounts.auth import auth
from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.contacts.rules import DIRECTIONS, check_legacy, parse_rule_patch
from inkbox_emulator.core.errors import value_error
from inkbox_emulator.core.idempotency import idempotent
from inkbox_emulator.core.routing import (
    Query,
    RouteTable,
    body_fields,
    bound_routes,
    json_response,
    no_content,
    path_uuid,
)
from inkbox_emulator.core.store import Store
from inkbox_emulator.core.validation import MISSING, Fields, Missing, parse_uuid

from . import calls, numbers, opt_ins, rules, texts
from .model import is_e164

__all__ = ["PHONE_PREFIX", "phone_routes"]

PHONE_PREFIX = "/api/v1/phone"
IDENTITY_RULES = "/api/v1/identities/{handle}/phone-contact-rules"
_OPT_IN_STATUSES = ("opted_in", "opted_out")


def _page(query: Query) -> tuple[int, int]:
    limit = query.integer("limit", default=50, ge=1, le=200)
    offset = query.integer("offset", default=0, ge=0)
    return limit or 50, offset or 0


def _e164(fields: Fields, name: str) -> str:
    value = fields.string(name, required=True)
    if value and not is_e164(value):
        fields.error(
            name,
            "value_error",
            f"Value error, {name} must be an E.164 number such as +15551234567",
            value,
            error="invalid E.164 number",
        )
    return value


def _path_e164(value: str, name: str) -> str:
    if not is_e164(value):
        raise value_error(("path", name), f"{name} must be an E.164 number", value)
    return value


def _recipients(fields: Fields) -> list[str] | None:
    """``to``: one E.164 number or a non-empty list of them (None when absent)."""
    value = fields.raw("to")
    if value is MISSING or value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not items or not all(is_e164(v) for v in items):
        fields.error(
            "to",
            "value_error",
            "Value error, to must be an E.164 number or a non-empty list of them",
            value,
            error="invalid recipients",
        )
        return None
    return [str(v) for v in items]


def _media_urls(fields: Fields) -> list[str] | None:
    value = fields.raw("media_urls")
    if value is MISSING or value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, str) and v.startswith(("https://", "http://")) for v in value
    ):
        fields.error("media_urls", "value_error", "Value error, media_urls must be URLs", value)
        return None
    return [str(v) for v in value]


ORIGINATIONS = ("dedicated_number", "shared_imessage_number", "dedicated_imessage_number")
CALL_MODES = ("client_websocket", "hosted_agent")
ON_VOICEMAIL = ("leave_message", "hang_up", "ignore")


def _call_shape_problem(
    origination: str,
    mode: str,
    from_number: str | None,
    websocket: str | None,
    reason: str | None,
    on_voicemail: str | None,
) -> tuple[str, str] | None:
    """The conditional shape of a place-call body: ``(field, problem)`` or None."""
    if origination != "dedicated_number":
        return "origination", f"{origination} calls need an iMessage line, which the emulator lacks"
    if from_number is None:
        return "from_number", "from_number is required for dedicated_number origination"
    if not is_e164(from_number):
        return "from_number", "from_number must be an E.164 number"
    if mode == "hosted_agent" and not reason:
        return "reason", "reason is required with mode=hosted_agent"
    if mode == "hosted_agent" and websocket is not None:
        return "client_websocket_url", "client_websocket_url does not go with mode=hosted_agent"
    if mode != "hosted_agent" and reason is not None:
        return "reason", "reason is only valid with mode=hosted_agent"
    if on_voicemail not in ("unset", "leave_message"):
        return "voicemail_message", "voicemail_message needs on_voicemail=leave_message"
    return None


def pn(request: Request) -> str:
    return path_uuid(request, "pn")


# -- numbers ------------------------------------------------------------------


async def list_numbers(store: Store, request: Request) -> Response:
    return json_response(store.run(numbers.list_numbers, auth(store, request)))


async def provision(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    parsed = numbers.parse_provision((await body_fields(request)).data)
    return json_response(store.run(numbers.provision_number, principal, parsed), 201)


async def get_number(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(numbers.get_number, principal, pn(request)))


async def update_number(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    patch = numbers.parse_number_patch((await body_fields(request, allow_empty=True)).data)
    return json_response(store.run(numbers.update_number, principal, number_id, patch))


async def release_number(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    store.run(numbers.release_number, principal, pn(request))
    return no_content()


async def search_transcripts(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    query = Query(request)
    q = query.string("q", required=True, min_length=1)
    party = query.literal("party", ("local", "remote", "system"))
    limit = query.integer("limit", default=50, ge=1, le=200)
    query.raise_errors()
    assert q is not None and limit is not None
    result = store.run(calls.search_transcripts, principal, number_id, q, party, limit)
    return json_response(result)


# -- calls and transcripts ------------------------------------------------------------------


async def list_calls(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    query = Query(request)
    limit, offset = _page(query)
    is_blocked = query.optional_boolean("is_blocked")
    query.raise_errors()
    result = store.run(calls.list_calls, principal, number_id, limit, offset, is_blocked)
    return json_response(result)


async def get_call(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id, call_id = pn(request), path_uuid(request, "call_id")
    return json_response(store.run(calls.get_call, principal, number_id, call_id))


async def transcripts(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id, call_id = pn(request), path_uuid(request, "call_id")
    return json_response(store.run(calls.list_transcripts, principal, number_id, call_id))


@idempotent("call.place")
async def place_call(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    fields = await body_fields(request)
    to_number = _e164(fields, "to_number")
    origination = fields.literal("origination", ORIGINATIONS, nullable=False)
    mode = fields.literal("mode", CALL_MODES, nullable=False)
    from_number = fields.string("from_number", max_length=16)
    websocket = fields.string("client_websocket_url", max_length=2048)
    reason = fields.string("reason", max_length=4000)
    fields.literal("hosted_agent_authority_mode", ("contact_scoped", "yolo"), nullable=False)
    fields.literal("voicemail_detection", ("enabled", "disabled"), nullable=False)
    on_voicemail = fields.literal("on_voicemail", ON_VOICEMAIL, nullable=False)
    message = fields.string("voicemail_message", max_length=1000)
    fields.uuid("agent_identity_id")
    fields.raise_errors()
    how = mode if isinstance(mode, str) else "client_websocket"
    ws = None if isinstance(websocket, Missing) else websocket
    why = None if isinstance(reason, Missing) else reason
    problem = _call_shape_problem(
        origination if isinstance(origination, str) else "dedicated_number",
        how,
        None if isinstance(from_number, Missing) else from_number,
        ws,
        why,
        (on_voicemail if isinstance(on_voicemail, str) else None)
        if isinstance(message, str)
        else "unset",
    )
    if problem is not None:
        raise value_error(("body", problem[0]), problem[1], fields.data.get(problem[0]))
    sender = from_number if isinstance(from_number, str) else None
    result = store.run(calls.place_call, principal, sender, to_number, ws, how, why)
    return json_response(result)


# -- texts -------------------------------------------------------------------------


@idempotent("text.send", "pn")
async def send_text(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    fields = await body_fields(request)
    to = _recipients(fields)
    conversation = fields.uuid("conversation_id")
    text = fields.string("text", min_length=1, max_length=1600)
    if isinstance(text, str) and text and not text.strip():
        fields.error(
            "text",
            "value_error",
            "Value error, text must contain non-whitespace characters",
            text,
            error="blank text",
        )
    media = _media_urls(fields)
    fields.raise_errors()
    conversation_id = conversation if isinstance(conversation, str) else None
    message = text if isinstance(text, str) else None
    if (to is None) == (conversation_id is None):
        raise value_error(("body", "to"), "give exactly one of to and conversation_id", None)
    if message is None and not media:
        raise value_error(("body", "text"), "send text, media_urls or both", None)
    result = store.run(texts.send_text, principal, number_id, to, message, conversation_id, media)
    return json_response(result)


async def list_texts(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    query = Query(request)
    limit, offset = _page(query)
    is_read = query.optional_boolean("is_read")
    is_blocked = query.optional_boolean("is_blocked")
    query.raise_errors()
    result = store.run(texts.list_texts, principal, number_id, limit, offset, is_read, is_blocked)
    return json_response(result)


async def get_text(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id, text_id = pn(request), path_uuid(request, "text_id")
    return json_response(store.run(texts.get_text, principal, number_id, text_id))


async def update_text(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id, text_id = pn(request), path_uuid(request, "text_id")
    fields = await body_fields(request, allow_empty=True)
    is_read = fields.raw("is_read")
    if is_read is not MISSING and is_read is not None and not isinstance(is_read, bool):
        fields.error("is_read", "bool_type", "Input should be a valid boolean", is_read)
    status = fields.literal("status", ("deleted",))
    fields.raise_errors()
    result = store.run(
        texts.update_text,
        principal,
        number_id,
        text_id,
        is_read if isinstance(is_read, bool) else None,
        status == "deleted",
    )
    return json_response(result)


async def search_texts(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    query = Query(request)
    q = query.string("q", required=True, min_length=1)
    limit = query.integer("limit", default=50, ge=1, le=200)
    is_blocked = query.optional_boolean("is_blocked")
    query.raise_errors()
    assert q is not None and limit is not None
    result = store.run(texts.search_texts, principal, number_id, q, limit, is_blocked)
    return json_response(result)


async def conversations(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    query = Query(request)
    limit, offset = _page(query)
    is_blocked = query.optional_boolean("is_blocked")
    groups = query.boolean("include_groups")
    query.raise_errors()
    result = store.run(
        texts.list_conversations, principal, number_id, limit, offset, is_blocked, groups
    )
    return json_response(result)


async def conversation(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    remote = str(request.path_params["remote_number"])
    query = Query(request)
    limit, offset = _page(query)
    query.raise_errors()
    result = store.run(texts.conversation_messages, principal, number_id, remote, limit, offset)
    return json_response(result)


async def mark_conversation(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    number_id = pn(request)
    remote = str(request.path_params["remote_number"])
    fields = await body_fields(request)
    is_read = fields.raw("is_read")
    if is_read is MISSING:
        fields.missing("is_read")
    elif not isinstance(is_read, bool):
        fields.error("is_read", "bool_type", "Input should be a valid boolean", is_read)
    fields.raise_errors()
    result = store.run(texts.mark_conversation, principal, number_id, remote, is_read)
    return json_response(result)


# -- SMS opt-ins ------------------------------------------------------------------


async def list_opt_ins(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    status = query.literal("status", _OPT_IN_STATUSES)
    limit, offset = _page(query)
    query.raise_errors()
    result = store.run(opt_ins.list_opt_ins, principal, status, limit, offset)
    return json_response(result)


async def get_opt_in(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    receiver = str(request.path_params["receiver_number"])
    return json_response(store.run(opt_ins.get_opt_in, principal, receiver))


async def _write_opt_in(store: Store, request: Request, status: str) -> Response:
    principal = auth(store, request)
    receiver = _path_e164(str(request.path_params["receiver_number"]), "receiver_number")
    return json_response(store.run(opt_ins.write_opt_in, principal, receiver, status))


async def opt_in(store: Store, request: Request) -> Response:
    return await _write_opt_in(store, request, "opted_in")


async def opt_out(store: Store, request: Request) -> Response:
    return await _write_opt_in(store, request, "opted_out")


# -- contact rules: identity-keyed, legacy per number ---------------------------


def rule_filters(query: Query) -> tuple[str | None, str | None, str | None, int, int]:
    action = query.literal("action", rules.ACTIONS)
    match_type = query.literal("match_type", rules.MATCH_TYPES)
    direction = query.literal("direction", DIRECTIONS)
    limit, offset = _page(query)
    return action, match_type, direction, limit, offset


def owner(store: Store, request: Request, principal: Principal) -> tuple[str | None, Any]:
    """``(handle, None)`` on the identity routes, ``(None, number row)`` on legacy ones."""
    if "handle" in request.path_params:
        return str(request.path_params["handle"]), None
    number_id = pn(request)
    store.run(check_legacy, rules.NEW_ROUTE)  # 410 before anything else
    return None, store.run(numbers.find_number, principal, number_id)


async def list_rules(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, number = owner(store, request, principal)
    query = Query(request)
    filters = rule_filters(query)
    query.raise_errors()
    result = store.run(rules.list_rules, principal, handle, number, filters)
    return json_response(result)


async def create_rule(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, number = owner(store, request, principal)
    fields = await body_fields(request)
    action = fields.literal("action", rules.ACTIONS, nullable=False)
    match_type = fields.literal("match_type", rules.MATCH_TYPES, nullable=False)
    target = fields.string("match_target", required=True, min_length=1, max_length=32)
    direction = fields.literal("direction", DIRECTIONS, nullable=False)
    if action is MISSING:
        fields.missing("action")
    fields.raise_errors()
    assert isinstance(action, str)
    kind = match_type if isinstance(match_type, str) else "exact_number"
    side = direction if isinstance(direction, str) else "both"
    result = store.run(rules.create_rule, principal, handle, number, (action, kind, target, side))
    return json_response(result, 201)


async def get_rule(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, number = owner(store, request, principal)
    rule_id = path_uuid(request, "rule_id")
    return json_response(store.run(rules.get_rule, principal, handle, number, rule_id))


async def update_rule(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, number = owner(store, request, principal)
    rule_id = path_uuid(request, "rule_id")
    change = parse_rule_patch(await body_fields(request, allow_empty=True), rules.ACTIONS)
    result = store.run(rules.update_rule, principal, handle, number, rule_id, change)
    return json_response(result)


async def delete_rule(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, number = owner(store, request, principal)
    rule_id = path_uuid(request, "rule_id")
    store.run(rules.delete_rule, principal, handle, number, rule_id)
    return no_content()


async def list_all_rules(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    raw_identity = query.string("agent_identity_id")
    raw_number = query.string("phone_number_id")
    filters = rule_filters(query)
    query.raise_errors()
    identity_id = number_id = None
    if raw_identity is not None:
        identity_id = parse_uuid(raw_identity, ("query", "agent_identity_id"))
    if raw_number is not None:
        number_id = parse_uuid(raw_number, ("query", "phone_number_id"))
    result = store.run(rules.list_all_rules, principal, identity_id, number_id, filters)
    return json_response(result)


# -- calls by id (the current routes) ----------------------------------------------------


async def list_identity_calls(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    limit, offset = _page(query)
    raw_identity = query.string("agent_identity_id")
    is_blocked = query.optional_boolean("is_blocked")
    window = (
        query.string("start_datetime"),
        query.string("end_datetime"),
        query.string("tz"),
    )
    query.raise_errors()
    identity_id = None
    if raw_identity is not None:
        identity_id = parse_uuid(raw_identity, ("query", "agent_identity_id"))
    result = store.run(
        calls.list_identity_calls,
        principal,
        identity_id,
        limit,
        offset,
        is_blocked,
        window,
    )
    return json_response(result)


async def call_by_id(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    call_id = path_uuid(request, "call_id")
    return json_response(store.run(calls.get_call_by_id, principal, call_id))


async def transcripts_by_id(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    call_id = path_uuid(request, "call_id")
    return json_response(store.run(calls.transcripts_by_id, principal, call_id))


async def hangup(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    call_id = path_uuid(request, "call_id")
    return json_response(store.run(calls.hangup_call, principal, call_id))


def phone_routes(store: Store) -> list[BaseRoute]:
    """The phone routes, bound to ``store``."""

    P = PHONE_PREFIX
    number = P + "/numbers/{pn}"
    sms = number + "/texts"
    table: RouteTable[Store] = [
        (P + "/numbers", {"GET": list_numbers, "POST": provision}),
        (number, {"GET": get_number, "PATCH": update_number, "DELETE": release_number}),
        (number + "/search", {"GET": search_transcripts}),
        (number + "/calls", {"GET": list_calls}),
        (number + "/calls/{call_id}", {"GET": get_call}),
        (number + "/calls/{call_id}/transcripts", {"GET": transcripts}),
        (P + "/place-call", {"POST": place_call}),
        (sms, {"GET": list_texts, "POST": send_text}),
        (sms + "/search", {"GET": search_texts}),
        (sms + "/conversations", {"GET": conversations}),
        (
            sms + "/conversations/{remote_number}",
            {"GET": conversation, "PATCH": mark_conversation},
        ),
        (sms + "/{text_id}", {"GET": get_text, "PATCH": update_text}),
        (P + "/sms-opt-ins", {"GET": list_opt_ins}),
        (P + "/sms-opt-ins/{receiver_number}", {"GET": get_opt_in}),
        (P + "/sms-opt-ins/{receiver_number}/opt-in", {"POST": opt_in}),
        (P + "/sms-opt-ins/{receiver_number}/opt-out", {"POST": opt_out}),
        (P + "/calls", {"GET": list_identity_calls}),
        (P + "/calls/{call_id}", {"GET": call_by_id}),
        (P + "/calls/{call_id}/transcripts", {"GET": transcripts_by_id}),
        (P + "/calls/{call_id}/hangup", {"POST": hangup}),
        (number + "/contact-rules", {"GET": list_rules, "POST": create_rule}),
        (
            number + "/contact-rules/{rule_id}",
            {"GET": get_rule, "PATCH": update_rule, "DELETE": delete_rule},
        ),
        (P + "/contact-rules", {"GET": list_all_rules}),
        (IDENTITY_RULES, {"GET": list_rules, "POST": create_rule}),
        (
            IDENTITY_RULES + "/{rule_id}",
            {"GET": get_rule, "PATCH": update_rule, "DELETE": delete_rule},
        ),
    ]
    return bound_routes(store, table)
