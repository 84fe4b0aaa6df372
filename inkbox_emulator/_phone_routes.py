"""HTTP routes of the phone API (phone.md §7: N1-N6, C1-C3, T1, X1-X8, O1-O4, R1-R6).

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
from ._errors import value_error
from ._idempotency import idempotent
from ._phone_model import is_e164
from ._routing import Handler, Query, json_response, method_route
from ._store import Db, Store
from ._validation import MISSING, Fields, Missing, parse_json_object, parse_uuid

__all__ = ["PHONE_PREFIX", "phone_routes"]

PHONE_PREFIX = "/api/v1/phone"
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

    # -- numbers (N1-N6) ------------------------------------------------------------------

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

    # -- calls (C1-C3, T1) ------------------------------------------------------------------

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
        from_number = _e164(fields, "from_number")
        to_number = _e164(fields, "to_number")
        websocket = fields.string("client_websocket_url", max_length=2048)
        fields.raise_errors()
        ws = None if isinstance(websocket, Missing) else websocket
        result = store.run(_calls.place_call, principal, from_number, to_number, ws)
        return json_response(result)

    # -- texts (X1-X8) -------------------------------------------------------------------------

    async def send_text(request: Request) -> Response:
        principal = auth(request)
        number_id = pn(request)
        fields = await body(request)
        to = _e164(fields, "to")
        text = fields.string("text", required=True, min_length=1, max_length=1600)
        if text and not text.strip():
            fields.error(
                "text",
                "value_error",
                "Value error, text must contain non-whitespace characters",
                text,
                error="blank text",
            )
        fields.raise_errors()
        return json_response(store.run(_texts.send_text, principal, number_id, to, text))

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
        query.raise_errors()
        result = store.run(
            _texts.list_conversations, principal, number_id, limit, offset, is_blocked
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

    # -- SMS opt-ins (O1-O4) ------------------------------------------------------------------

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

    # -- contact rules (R1-R6) ------------------------------------------------------------------

    def rule_filters(query: Query) -> tuple[str | None, str | None, int, int]:
        action = query.literal("action", _phone_rules.ACTIONS)
        match_type = query.literal("match_type", _phone_rules.MATCH_TYPES)
        limit, offset = _page(query)
        return action, match_type, limit, offset

    def on_number(request: Request, principal: Principal, op: Any, *args: Any) -> Any:
        number_id = pn(request)

        def run(db: Db) -> Any:
            number = _phone_numbers.find_number(db, principal, number_id)
            return op(db, principal, number, *args)

        return store.run(run)

    async def list_rules(request: Request) -> Response:
        principal = auth(request)
        query = Query(request)
        filters = rule_filters(query)
        query.raise_errors()
        return json_response(on_number(request, principal, _phone_rules.list_rules, *filters))

    async def create_rule(request: Request) -> Response:
        principal = auth(request)
        fields = await body(request)
        action = fields.literal("action", _phone_rules.ACTIONS, nullable=False)
        match_type = fields.literal("match_type", _phone_rules.MATCH_TYPES, nullable=False)
        target = fields.string("match_target", required=True, min_length=1, max_length=32)
        if action is MISSING:
            fields.missing("action")
        fields.raise_errors()
        assert isinstance(action, str)
        kind = match_type if isinstance(match_type, str) else "exact_number"
        result = on_number(request, principal, _phone_rules.create_rule, action, kind, target)
        return json_response(result, 201)

    async def get_rule(request: Request) -> Response:
        principal = auth(request)
        rule_id = path_uuid(request, "rule_id")
        return json_response(on_number(request, principal, _phone_rules.get_rule, rule_id))

    async def update_rule(request: Request) -> Response:
        principal = auth(request)
        rule_id = path_uuid(request, "rule_id")
        fields = await body(request, allow_empty=True)
        action = fields.literal("action", _phone_rules.ACTIONS, nullable=False)
        status = fields.literal("status", _phone_rules.STATUSES, nullable=False)
        fields.raise_errors()
        result = on_number(
            request,
            principal,
            _phone_rules.update_rule,
            rule_id,
            action if isinstance(action, str) else None,
            status if isinstance(status, str) else None,
        )
        return json_response(result)

    async def delete_rule(request: Request) -> Response:
        principal = auth(request)
        rule_id = path_uuid(request, "rule_id")
        on_number(request, principal, _phone_rules.delete_rule, rule_id)
        return Response(status_code=204)

    async def list_all_rules(request: Request) -> Response:
        principal = auth(request)
        query = Query(request)
        raw_number = query.string("phone_number_id")
        filters = rule_filters(query)
        query.raise_errors()
        number_id = None
        if raw_number is not None:
            number_id = parse_uuid(raw_number, ("query", "phone_number_id"))
        result = store.run(_phone_rules.list_all_rules, principal, number_id, *filters)
        return json_response(result)

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
        (number + "/contact-rules", {"GET": list_rules, "POST": create_rule}),
        (
            number + "/contact-rules/{rule_id}",
            {"GET": get_rule, "PATCH": update_rule, "DELETE": delete_rule},
        ),
        (P + "/contact-rules", {"GET": list_all_rules}),
    ]
    return [method_route(path, handlers) for path, handlers in table]
