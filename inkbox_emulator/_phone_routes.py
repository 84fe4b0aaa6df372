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

from . import _calls, _phone_numbers, _phone_rules, _sms_opt_ins, _texts
from ._accounts import Principal, authenticate
from ._contact_rules import DIRECTIONS, check_legacy, parse_rule_patch
from ._errors import value_error
from ._idempotency import idempotent
from ._phone_model import is_e164
from ._routing import Handler, Query, json_response, method_route
from ._store import Store
from ._validation import MISSING, Fields, Missing, parse_json_object, parse_uuid

__all__ = ["PHONE_PREFIX", "phone_routes"]

PHONE_PREFIX = "/api/v1/phone"
IDENTITY_RULES = "/api/v1/identities/{handle}/phone-contact-rules"
_OPT_IN_STATUSES = ("opted_in", "opted_out")


def _opt_bool(query: Query, name: str) -> bool | None:
    """A tri-state boolean query parameter: ``None`` when absent."""
    if name not in query.params:
        return None
    return query.boolean(name)


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


def phone_routes(store: Store) -> list[BaseRoute]:
    """The phone routes, bound to ``store``."""

    def auth(request: Request) -> Principal:
        return store.run(authenticate, request.headers.get("x-api-key"))

    async def body(request: Request, *, allow_empty: bool = False) -> Fields:
        return Fields(parse_json_object(await request.body(), allow_empty=allow_empty))

    def pn(request: Request) -> str:
        return parse_uuid(str(request.path_params["pn"]), ("path", "pn"))

    def path_uuid(request: Request, name: str) -> str:
        return parse_uuid(str(request.path_params[name]), ("path", name))

    # -- numbers ------------------------------------------------------------------

    async def list_numbers(request: Request) -> Response:
        return json_response(store.run(_phone_numbers.list_numbers, auth(request)))

    async def provision(request: Request) -> Response:
        principal = auth(request)
        parsed = _phone_numbers.parse_provision((await body(request)).data)
        return json_response(store.run(_phone_numbers.provision_number, principal, parsed), 201)

    async def get_number(request: Request) -> Response:
        principal = auth(request)
        return json_response(store.run(_phone_numbers.get_number, principal, pn(request)))

    async def update_number(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        patch = _phone_numbers.parse_number_patch((await body(request, allow_empty=True)).data)
        return json_response(store.run(_phone_numbers.update_number, principal, number_id, patch))

    async def release_number(request: Request) -> Response:
        principal = auth(request)
        store.run(_phone_numbers.release_number, principal, pn(request))
        return Response(status_code=204)

    async def search_transcripts(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        query = Query(request)
        q = query.string("q", required=True, min_length=1)
        party = query.literal("party", ("local", "remote", "system"))
        limit = query.integer("limit", default=50, ge=1, le=200)
        query.raise_errors()
        assert q is not None and limit is not None
        result = store.run(_calls.search_transcripts, principal, number_id, q, party, limit)
        return json_response(result)

    # -- calls and transcripts ------------------------------------------------------------------

    async def list_calls(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        query = Query(request)
        limit, offset = _page(query)
        is_blocked = _opt_bool(query, "is_blocked")
        query.raise_errors()
        result = store.run(_calls.list_calls, principal, number_id, limit, offset, is_blocked)
        return json_response(result)

    async def get_call(request: Request) -> Response:
        principal = auth(request)
        number_id, call_id = pn(request), path_uuid(request, "call_id")
        return json_response(store.run(_calls.get_call, principal, number_id, call_id))

    async def transcripts(request: Request) -> Response:
        principal = auth(request)
        number_id, call_id = pn(request), path_uuid(request, "call_id")
        return json_response(store.run(_calls.list_transcripts, principal, number_id, call_id))

    async def place_call(request: Request) -> Response:
        principal = auth(request)
        fields = await body(request)
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
        result = store.run(_calls.place_call, principal, sender, to_number, ws, how, why)
        return json_response(result)

    # -- texts -------------------------------------------------------------------------

    async def send_text(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        fields = await body(request)
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
        result = store.run(
            _texts.send_text, principal, number_id, to, message, conversation_id, media
        )
        return json_response(result)

    async def list_texts(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        query = Query(request)
        limit, offset = _page(query)
        is_read = _opt_bool(query, "is_read")
        is_blocked = _opt_bool(query, "is_blocked")
        query.raise_errors()
        result = store.run(
            _texts.list_texts, principal, number_id, limit, offset, is_read, is_blocked
        )
        return json_response(result)

    async def get_text(request: Request) -> Response:
        principal = auth(request)
        number_id, text_id = pn(request), path_uuid(request, "text_id")
        return json_response(store.run(_texts.get_text, principal, number_id, text_id))

    async def update_text(request: Request) -> Response:
        principal = auth(request)
        number_id, text_id = pn(request), path_uuid(request, "text_id")
        fields = await body(request, allow_empty=True)
        is_read = fields.raw("is_read")
        if is_read is not MISSING and is_read is not None and not isinstance(is_read, bool):
            fields.error("is_read", "bool_type", "Input should be a valid boolean", is_read)
        status = fields.literal("status", ("deleted",))
        fields.raise_errors()
        result = store.run(
            _texts.update_text,
            principal,
            number_id,
            text_id,
            is_read if isinstance(is_read, bool) else None,
            status == "deleted",
        )
        return json_response(result)

    async def search_texts(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        query = Query(request)
        q = query.string("q", required=True, min_length=1)
        limit = query.integer("limit", default=50, ge=1, le=200)
        is_blocked = _opt_bool(query, "is_blocked")
        query.raise_errors()
        assert q is not None and limit is not None
        result = store.run(_texts.search_texts, principal, number_id, q, limit, is_blocked)
        return json_response(result)

    async def conversations(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        query = Query(request)
        limit, offset = _page(query)
        is_blocked = _opt_bool(query, "is_blocked")
        groups = query.boolean("include_groups")
        query.raise_errors()
        result = store.run(
            _texts.list_conversations, principal, number_id, limit, offset, is_blocked, groups
        )
        return json_response(result)

    async def conversation(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        remote = str(request.path_params["remote_number"])
        query = Query(request)
        limit, offset = _page(query)
        query.raise_errors()
        result = store.run(
            _texts.conversation_messages, principal, number_id, remote, limit, offset
        )
        return json_response(result)

    async def mark_conversation(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        remote = str(request.path_params["remote_number"])
        fields = await body(request)
        is_read = fields.raw("is_read")
        if is_read is MISSING:
            fields.missing("is_read")
        elif not isinstance(is_read, bool):
            fields.error("is_read", "bool_type", "Input should be a valid boolean", is_read)
        fields.raise_errors()
        result = store.run(_texts.mark_conversation, principal, number_id, remote, is_read)
        return json_response(result)

    # -- SMS opt-ins ------------------------------------------------------------------

    async def list_opt_ins(request: Request) -> Response:
        principal = auth(request)
        query = Query(request)
        status = query.literal("status", _OPT_IN_STATUSES)
        limit, offset = _page(query)
        query.raise_errors()
        result = store.run(_sms_opt_ins.list_opt_ins, principal, status, limit, offset)
        return json_response(result)

    async def get_opt_in(request: Request) -> Response:
        principal = auth(request)
        receiver = str(request.path_params["receiver_number"])
        return json_response(store.run(_sms_opt_ins.get_opt_in, principal, receiver))

    def opt_writer(status: str) -> Handler:
        async def write(request: Request) -> Response:
            principal = auth(request)
            receiver = _path_e164(str(request.path_params["receiver_number"]), "receiver_number")
            result = store.run(_sms_opt_ins.write_opt_in, principal, receiver, status)
            return json_response(result)

        return write

    # -- contact rules: identity-keyed, legacy per number ---------------------------

    def rule_filters(query: Query) -> tuple[str | None, str | None, str | None, int, int]:
        action = query.literal("action", _phone_rules.ACTIONS)
        match_type = query.literal("match_type", _phone_rules.MATCH_TYPES)
        direction = query.literal("direction", DIRECTIONS)
        limit, offset = _page(query)
        return action, match_type, direction, limit, offset

    def owner(request: Request, principal: Principal) -> tuple[str | None, Any]:
        """``(handle, None)`` on the identity routes, ``(None, number row)`` on legacy ones."""
        if "handle" in request.path_params:
            return str(request.path_params["handle"]), None
        number_id = pn(request)
        store.run(check_legacy, _phone_rules.NEW_ROUTE)  # 410 before anything else
        return None, store.run(_phone_numbers.find_number, principal, number_id)

    async def list_rules(request: Request) -> Response:
        principal = auth(request)
        handle, number = owner(request, principal)
        query = Query(request)
        filters = rule_filters(query)
        query.raise_errors()
        result = store.run(_phone_rules.list_rules, principal, handle, number, filters)
        return json_response(result)

    async def create_rule(request: Request) -> Response:
        principal = auth(request)
        handle, number = owner(request, principal)
        fields = await body(request)
        action = fields.literal("action", _phone_rules.ACTIONS, nullable=False)
        match_type = fields.literal("match_type", _phone_rules.MATCH_TYPES, nullable=False)
        target = fields.string("match_target", required=True, min_length=1, max_length=32)
        direction = fields.literal("direction", DIRECTIONS, nullable=False)
        if action is MISSING:
            fields.missing("action")
        fields.raise_errors()
        assert isinstance(action, str)
        kind = match_type if isinstance(match_type, str) else "exact_number"
        side = direction if isinstance(direction, str) else "both"
        result = store.run(
            _phone_rules.create_rule, principal, handle, number, (action, kind, target, side)
        )
        return json_response(result, 201)

    async def get_rule(request: Request) -> Response:
        principal = auth(request)
        handle, number = owner(request, principal)
        rule_id = path_uuid(request, "rule_id")
        return json_response(store.run(_phone_rules.get_rule, principal, handle, number, rule_id))

    async def update_rule(request: Request) -> Response:
        principal = auth(request)
        handle, number = owner(request, principal)
        rule_id = path_uuid(request, "rule_id")
        change = parse_rule_patch(await body(request, allow_empty=True), _phone_rules.ACTIONS)
        result = store.run(_phone_rules.update_rule, principal, handle, number, rule_id, change)
        return json_response(result)

    async def delete_rule(request: Request) -> Response:
        principal = auth(request)
        handle, number = owner(request, principal)
        rule_id = path_uuid(request, "rule_id")
        store.run(_phone_rules.delete_rule, principal, handle, number, rule_id)
        return Response(status_code=204)

    async def list_all_rules(request: Request) -> Response:
        principal = auth(request)
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
        result = store.run(_phone_rules.list_all_rules, principal, identity_id, number_id, filters)
        return json_response(result)

    # -- calls by id (the current routes) ----------------------------------------------------

    async def list_identity_calls(request: Request) -> Response:
        principal = auth(request)
        query = Query(request)
        limit, offset = _page(query)
        raw_identity = query.string("agent_identity_id")
        is_blocked = _opt_bool(query, "is_blocked")
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
            _calls.list_identity_calls,
            principal,
            identity_id,
            limit,
            offset,
            is_blocked,
            window,
        )
        return json_response(result)

    async def call_by_id(request: Request) -> Response:
        principal = auth(request)
        call_id = path_uuid(request, "call_id")
        return json_response(store.run(_calls.get_call_by_id, principal, call_id))

    async def transcripts_by_id(request: Request) -> Response:
        principal = auth(request)
        call_id = path_uuid(request, "call_id")
        return json_response(store.run(_calls.transcripts_by_id, principal, call_id))

    async def hangup(request: Request) -> Response:
        principal = auth(request)
        call_id = path_uuid(request, "call_id")
        return json_response(store.run(_calls.hangup_call, principal, call_id))

    P = PHONE_PREFIX
    number = P + "/numbers/{pn}"
    texts = number + "/texts"
    table: list[tuple[str, dict[str, Handler]]] = [
        (P + "/numbers", {"GET": list_numbers, "POST": provision}),
        (number, {"GET": get_number, "PATCH": update_number, "DELETE": release_number}),
        (number + "/search", {"GET": search_transcripts}),
        (number + "/calls", {"GET": list_calls}),
        (number + "/calls/{call_id}", {"GET": get_call}),
        (number + "/calls/{call_id}/transcripts", {"GET": transcripts}),
        (P + "/place-call", {"POST": idempotent(store, "call.place")(place_call)}),
        (texts, {"GET": list_texts, "POST": idempotent(store, "text.send", "pn")(send_text)}),
        (texts + "/search", {"GET": search_texts}),
        (texts + "/conversations", {"GET": conversations}),
        (
            texts + "/conversations/{remote_number}",
            {"GET": conversation, "PATCH": mark_conversation},
        ),
        (texts + "/{text_id}", {"GET": get_text, "PATCH": update_text}),
        (P + "/sms-opt-ins", {"GET": list_opt_ins}),
        (P + "/sms-opt-ins/{receiver_number}", {"GET": get_opt_in}),
        (P + "/sms-opt-ins/{receiver_number}/opt-in", {"POST": opt_writer("opted_in")}),
        (P + "/sms-opt-ins/{receiver_number}/opt-out", {"POST": opt_writer("opted_out")}),
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
    return [method_route(path, handlers) for path, handlers in table]
