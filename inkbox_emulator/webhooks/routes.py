"""HTTP routes of webhook subscriptions, deliveries, the catalog and signing keys.

Bodies are checked like the service's pydantic models (FastAPI-shaped 422s):
``url`` an http(s) URL; ``event_types`` a non-empty list of distinct catalog
names (``phone.incoming_call`` is refused: it is the number's synchronous
call-control setting); exactly one of ``agent_identity_id`` / ``mailbox_id`` /
``phone_number_id``; ``context_config`` classes ``email`` / ``texts`` /
``calls``, each ``{mode: "count", count: 1..50}`` or ``{mode: "window",
hours: 1..168}`` or null. Logic and storage live in ``webhooks.subscriptions``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from inkbox_emulator.accounts.auth import auth
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.routing import (
    Query,
    RouteTable,
    bound_routes,
    json_body,
    json_response,
    no_content,
    path_uuid,
)
from inkbox_emulator.core.store import Store
from inkbox_emulator.core.validation import MISSING, Fields, Missing, parse_uuid

from . import subscriptions as subs
from .dispatcher import Dispatcher

__all__ = ["webhook_routes"]

_OWNERS = ("agent_identity_id", "mailbox_id", "phone_number_id")
_CONTEXT_LIMITS = {"count": ("count", 50), "window": ("hours", 168)}
_INCOMING_CALL = "phone.incoming_call"


def _url(fields: Fields, *, required: bool) -> str | Missing | None:
    if "url" not in fields.data and required:
        fields.missing("url")
        return None
    value = fields.string("url", max_length=2048)
    if value is None:
        fields.error("url", "string_type", "Input should be a valid string", None)
        return None
    if isinstance(value, str):
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
            fields.error(
                "url", "url_parsing", "Input should be a valid URL with an http(s) scheme", value
            )
    return value


def _event_types(fields: Fields, *, required: bool) -> list[str] | None:
    if "event_types" not in fields.data:
        if required:
            fields.missing("event_types")
        return None
    value = fields.data["event_types"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fields.error("event_types", "list_type", "Input should be a valid list of strings", value)
        return None
    if not value:
        fields.error(
            "event_types",
            "too_short",
            "List should have at least 1 item after validation, not 0",
            value,
            field_type="List",
            min_length=1,
            actual_length=0,
        )
        return None
    problem = None
    if len(set(value)) != len(value):
        problem = "event_types must not contain duplicates"
    elif _INCOMING_CALL in value:
        problem = (
            f"{_INCOMING_CALL} is not delivered through subscriptions; configure the "
            "number's incoming-call action instead"
        )
    else:
        unknown = [v for v in value if v not in subs.EVENT_CATALOG]
        if unknown:
            problem = f"unknown event types: {', '.join(unknown)}"
    if problem is not None:
        fields.error("event_types", "value_error", f"Value error, {problem}", value, error=problem)
        return None
    return list(value)


def _context_config(fields: Fields) -> dict[str, Any] | Missing | None:
    if "context_config" not in fields.data:
        return MISSING
    value = fields.data["context_config"]
    if value is None:
        return None
    problem = None
    if not isinstance(value, dict):
        problem = "context_config must be an object"
    else:
        for klass, entry in value.items():
            if klass not in ("email", "texts", "calls"):
                problem = f"unknown context class {klass!r}"
            elif entry is not None:
                mode = entry.get("mode") if isinstance(entry, dict) else None
                if not isinstance(mode, str) or mode not in _CONTEXT_LIMITS:
                    problem = f"context_config.{klass}.mode must be 'count' or 'window'"
                    continue
                key, top = _CONTEXT_LIMITS[mode]
                amount = entry.get(key)
                if set(entry) != {"mode", key} or not (
                    isinstance(amount, int) and not isinstance(amount, bool) and 1 <= amount <= top
                ):
                    problem = f"context_config.{klass} needs {key} between 1 and {top}"
    if problem is not None:
        fields.error("context_config", "value_error", f"Value error, {problem}", value)
        return None
    return dict(value)


def _parse_create(data: dict[str, Any]) -> subs.NewSubscription:
    fields = Fields(data)
    url = _url(fields, required=True)
    event_types = _event_types(fields, required=True)
    owners = {name: fields.uuid(name) for name in _OWNERS}
    given = [name for name, value in owners.items() if isinstance(value, str)]
    if len(given) != 1:
        problem = "exactly one of agent_identity_id, mailbox_id or phone_number_id is required"
        fields.error(None, "value_error", f"Value error, {problem}", data, error=problem)
    context = _context_config(fields)
    token = fields.string("auth_token", min_length=1, max_length=1024)
    fields.raise_errors()
    assert isinstance(url, str) and event_types is not None

    def owner(name: str) -> str | None:
        value = owners[name]
        return value if isinstance(value, str) else None

    return subs.NewSubscription(
        url=url,
        event_types=event_types,
        agent_identity_id=owner("agent_identity_id"),
        mailbox_id=owner("mailbox_id"),
        phone_number_id=owner("phone_number_id"),
        context_config=context if isinstance(context, dict) else None,
        auth_token=token if isinstance(token, str) else None,
    )


def _parse_patch(data: dict[str, Any]) -> subs.SubscriptionPatch:
    fields = Fields(data)
    url = _url(fields, required=False)
    if "event_types" in data and data["event_types"] is None:
        fields.error("event_types", "list_type", "Input should be a valid list", None)
    event_types = _event_types(fields, required=False)
    for name in _OWNERS:
        if name in data:
            fields.error(name, "extra_forbidden", "Extra inputs are not permitted", data[name])
    context = _context_config(fields)
    token = fields.string("auth_token", min_length=1, max_length=1024)
    fields.raise_errors()
    return subs.SubscriptionPatch(
        url=url if isinstance(url, str) else None,
        event_types=event_types,
        context_config=context if isinstance(context, dict) else None,
        clear_context_config=context is None,
        auth_token=token if isinstance(token, str) else None,
        clear_auth_token=token is None,
    )


def identity_scope(request: Request) -> bool:
    query = Query(request)
    scope = query.literal("scope", ("identity",))
    query.raise_errors()
    return scope == "identity"


def handle(request: Request) -> str:
    return str(request.path_params["agent_handle"])


# -- subscriptions -------------------------------------------------------------


async def list_subscriptions(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    owners = {name: query.string(name) for name in _OWNERS}
    scope = query.literal("scope", ("identity",))
    url, event_type = query.string("url"), query.string("event_type")
    query.raise_errors()
    if sum(v is not None for v in owners.values()) > 1:
        problem = "agent_identity_id, mailbox_id and phone_number_id are mutually exclusive"
        raise ApiError(
            422,
            [
                {
                    "type": "value_error",
                    "loc": ["query"],
                    "msg": f"Value error, {problem}",
                    "input": dict(request.query_params),
                    "ctx": {"error": problem},
                }
            ],
        )
    ids = {
        name: None if value is None else parse_uuid(value, ("query", name))
        for name, value in owners.items()
    }
    query_filter = subs.SubscriptionFilter(
        agent_identity_id=ids["agent_identity_id"],
        mailbox_id=ids["mailbox_id"],
        phone_number_id=ids["phone_number_id"],
        url=url,
        event_type=event_type,
        identity_scope=scope == "identity",
    )
    return json_response(store.run(subs.list_subscriptions, principal, query_filter))


async def create_subscription(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    parsed = _parse_create(await json_body(request))
    return json_response(store.run(subs.create_subscription, principal, parsed), 201)


async def get_subscription(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    sub_id = path_uuid(request, "subscription_id")
    return json_response(store.run(subs.get_subscription, principal, sub_id))


async def update_subscription(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    sub_id = path_uuid(request, "subscription_id")
    scoped = identity_scope(request)
    patch = _parse_patch(await json_body(request))
    return json_response(store.run(subs.update_subscription, principal, sub_id, patch, scoped))


async def delete_subscription(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    sub_id = path_uuid(request, "subscription_id")
    store.run(subs.delete_subscription, principal, sub_id, identity_scope(request))
    return no_content()


async def catalog(store: Store, request: Request) -> Response:
    auth(store, request)
    return json_response(subs.catalog())


# -- deliveries ------------------------------------------------------------------


async def list_deliveries(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    sub_id = query.string("subscription_id")
    number_id = query.string("phone_number_id")
    event_type = query.string("event_type")
    success = query.optional_boolean("success")
    limit = query.integer("limit", default=50, ge=1, le=200)
    offset = query.integer("offset", default=0, ge=0)
    query.raise_errors()
    query_filter = subs.DeliveryFilter(
        subscription_id=None
        if sub_id is None
        else parse_uuid(sub_id, ("query", "subscription_id")),
        phone_number_id=None
        if number_id is None
        else parse_uuid(number_id, ("query", "phone_number_id")),
        event_type=event_type,
        success=success,
        limit=limit or 50,
        offset=offset or 0,
    )
    return json_response(store.run(subs.list_deliveries, principal, query_filter))


async def replay(store: Store, request: Request, dispatcher: Dispatcher) -> Response:
    principal = auth(store, request)
    delivery_id = path_uuid(request, "delivery_id")
    event = store.run(subs.replay_event, principal, delivery_id)
    # The POST blocks (up to the webhook timeout) and its receiver may call back into the API.
    row_id = await anyio.to_thread.run_sync(dispatcher.replay_now, event)
    if row_id is None:
        raise ApiError(409, "The emulator was reset during the replay")
    return json_response(store.run(subs.delivery_by_id, row_id))


# -- signing keys ------------------------------------------------------------------


async def org_signing_key(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    await json_body(request, allow_empty=True)
    sunset = store.settings.org_signing_keys_sunset
    return json_response(store.run(subs.org_signing_key, principal, sunset), 201)


async def create_identity_key(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    await json_body(request, allow_empty=True)
    result = store.run(subs.create_identity_signing_key, principal, handle(request))
    return json_response(result, 201)


async def identity_key_status(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(subs.identity_signing_key_status, principal, handle(request)))


def webhook_routes(store: Store, dispatcher: Dispatcher) -> list[BaseRoute]:
    """The webhook and signing-key routes, bound to ``store`` and ``dispatcher``."""

    w = "/api/v1/webhooks"
    table: RouteTable[Store] = [
        (f"{w}/subscriptions", {"GET": list_subscriptions, "POST": create_subscription}),
        (
            f"{w}/subscriptions/{{subscription_id}}",
            {"GET": get_subscription, "PATCH": update_subscription, "DELETE": delete_subscription},
        ),
        (f"{w}/deliveries", {"GET": list_deliveries}),
        (
            f"{w}/deliveries/{{delivery_id}}/replay",
            {"POST": partial(replay, dispatcher=dispatcher)},
        ),
        (f"{w}/catalog", {"GET": catalog}),
        ("/api/v1/signing-keys", {"POST": org_signing_key}),
        (
            "/api/v1/identities/{agent_handle}/signing-key",
            {"GET": identity_key_status, "POST": create_identity_key},
        ),
    ]
    return bound_routes(store, table)
