"""HTTP routes of the mail API: parse, authenticate, one store operation.

Cursor pages take ``limit`` 1-100 (default 50; 422 outside) and an opaque
``cursor``; UUID path segments that do not parse answer 422 like FastAPI.
A mailbox ``webhook_url`` answers 422 like the service (webhook subscriptions
replaced it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from inkbox_emulator.accounts.auth import auth
from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.contacts.rules import DIRECTIONS, check_legacy, parse_rule_patch
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.idempotency import idempotent
from inkbox_emulator.core.removed_fields import forbid_removed_field
from inkbox_emulator.core.routing import (
    Query,
    RouteTable,
    bound_routes,
    json_body,
    json_response,
    no_content,
    path_uuid,
)
from inkbox_emulator.core.store import Db, Store
from inkbox_emulator.core.validation import MISSING, Fields, Missing, parse_uuid

from . import domains, mailboxes, messages, rules, sending
from .files import signed_url
from .messages import FOLDERS
from .parse import parse_forward, parse_reply_all, parse_send

__all__ = ["mail_routes"]

M = "/api/v1/mail"
SIGNATURE_MAX = 16384

IDENTITY_RULES = "/api/v1/identities/{handle}/mail-contact-rules"


def _parse_mailbox_patch(data: dict[str, Any]) -> mailboxes.MailboxPatch:
    fields = Fields(data)
    url = forbid_removed_field(fields, "webhook_url")
    mode = fields.literal("filter_mode", ("whitelist", "blacklist"), nullable=False)
    if "display_name" in data:
        fields.error(
            "display_name",
            "extra_forbidden",
            "display_name is no longer a mailbox field; update the agent identity instead",
            data["display_name"],
        )
    signature: dict[str, Any] = {}
    for name in ("signature_html", "signature_text"):
        value = fields.string(name, max_length=SIGNATURE_MAX)
        if not isinstance(value, Missing):
            signature[name] = value
    enabled = fields.raw("signature_enabled")
    if isinstance(enabled, bool):
        signature["signature_enabled"] = enabled
    elif enabled is not MISSING:
        fields.error("signature_enabled", "bool_type", "Input should be a valid boolean", enabled)
    fields.raise_errors()
    return mailboxes.MailboxPatch(
        webhook_url=url, filter_mode=mode if isinstance(mode, str) else MISSING, signature=signature
    )


def email(request: Request) -> str:
    return str(request.path_params["email"])


def on_mailbox(
    store: Store, request: Request, principal: Principal, op: Callable[..., Any], *args: Any
) -> Any:
    """Run ``op(db, mailbox, *args)`` on the path's mailbox in one transaction."""

    def run(db: Db) -> Any:
        mailbox = mailboxes.find_mailbox(db, principal, email(request))
        return op(db, mailbox, *args)

    return store.run(run)


# -- mailboxes -----------------------------------------------------------------


async def list_mailboxes(store: Store, request: Request) -> Response:
    return json_response(store.run(mailboxes.list_mailboxes, auth(store, request)))


async def get_mailbox(store: Store, request: Request) -> Response:
    return json_response(store.run(mailboxes.get_mailbox, auth(store, request), email(request)))


async def update_mailbox(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    patch = _parse_mailbox_patch(await json_body(request, allow_empty=True))
    result = store.run(mailboxes.update_mailbox, principal, email(request), patch)
    return json_response(result)


async def search(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    q = query.string("q", required=True, min_length=1)
    limit = query.integer("limit", default=50, ge=1, le=100)
    query.raise_errors()
    assert q is not None and limit is not None
    return json_response(on_mailbox(store, request, principal, messages.search, q, limit))


# -- messages ------------------------------------------------------------------


async def list_messages(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    limit = query.integer("limit", default=50, ge=1, le=100)
    cursor = query.string("cursor")
    direction = query.literal("direction", ("inbound", "outbound"))
    query.raise_errors()
    result = on_mailbox(store, request, principal, messages.list_messages, limit, cursor, direction)
    return json_response(result)


@idempotent("mail.send", "email")
async def send(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    parsed = parse_send(await json_body(request))
    result = store.run(sending.send_message, principal, email(request), parsed)
    return json_response(result)


async def get_message(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    message_id = path_uuid(request, "message_id")
    api_key = principal.kind in ("admin", "scoped")
    result = on_mailbox(store, request, principal, messages.get_message, message_id, api_key)
    return json_response(result)


async def update_flags(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    message_id = path_uuid(request, "message_id")
    fields = Fields(await json_body(request, allow_empty=True))
    flags: dict[str, bool | None] = {}
    for name in ("is_read", "is_starred"):
        value = fields.raw(name)
        if value is MISSING or value is None:
            flags[name] = None
        elif isinstance(value, bool):
            flags[name] = value
        else:
            fields.error(name, "bool_type", "Input should be a valid boolean", value)
    fields.raise_errors()
    result = on_mailbox(
        store,
        request,
        principal,
        messages.update_flags,
        message_id,
        flags["is_read"],
        flags["is_starred"],
    )
    return json_response(result)


async def delete_message(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    message_id = path_uuid(request, "message_id")
    on_mailbox(store, request, principal, messages.delete_message, message_id)
    return no_content()


@idempotent("mail.forward", "email")
async def forward(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    message_id = path_uuid(request, "message_id")
    parsed = parse_forward(await json_body(request))
    result = store.run(sending.forward_message, principal, email(request), message_id, parsed)
    return json_response(result)


@idempotent("mail.reply_all", "email")
async def reply_all(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    message_id = path_uuid(request, "message_id")
    parsed = parse_reply_all(await json_body(request, allow_empty=True))
    result = store.run(sending.reply_all_message, principal, email(request), message_id, parsed)
    return json_response(result)


async def attachment(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    message_id = path_uuid(request, "message_id")
    filename = str(request.path_params["filename"])
    query = Query(request)
    redirect = query.boolean("redirect", default=False)
    query.raise_errors()
    base = str(request.base_url)

    def link(db: Db, mailbox: Any) -> dict[str, Any]:
        row = messages.find_attachment(db, mailbox, message_id, filename)
        url, ttl = signed_url(db, base, str(row["id"]))
        return {"url": url, "filename": row["filename"], "expires_in": ttl}

    result = on_mailbox(store, request, principal, link)
    if redirect:
        return JSONResponse(result, status_code=302, headers={"Location": result["url"]})
    return json_response(result)


# -- threads -------------------------------------------------------------------


async def list_threads(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    limit = query.integer("limit", default=50, ge=1, le=100)
    cursor = query.string("cursor")
    folder = query.literal("folder", FOLDERS)
    query.raise_errors()
    result = on_mailbox(store, request, principal, messages.list_threads, limit, cursor, folder)
    return json_response(result)


async def folders(store: Store, request: Request) -> Response:
    return json_response(on_mailbox(store, request, auth(store, request), messages.list_folders))


async def get_thread(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    thread_id = path_uuid(request, "thread_id")
    return json_response(on_mailbox(store, request, principal, messages.get_thread, thread_id))


async def update_thread(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    thread_id = path_uuid(request, "thread_id")
    fields = Fields(await json_body(request, allow_empty=True))
    folder = fields.literal("folder", ("inbox", "spam", "archive"), nullable=False)
    fields.raise_errors()
    result = on_mailbox(
        store,
        request,
        principal,
        messages.update_thread,
        thread_id,
        folder if isinstance(folder, str) else None,
    )
    return json_response(result)


async def delete_thread(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    thread_id = path_uuid(request, "thread_id")
    on_mailbox(store, request, principal, messages.delete_thread, thread_id)
    return no_content()


# -- contact rules: identity-keyed, legacy per mailbox ----------------------------


def rule_filters(query: Query) -> tuple[str | None, str | None, str | None, int, int]:
    action = query.literal("action", rules.ACTIONS)
    match_type = query.literal("match_type", rules.MATCH_TYPES)
    direction = query.literal("direction", DIRECTIONS)
    limit = query.integer("limit", ge=1, le=1000)
    offset = query.integer("offset", ge=0)
    return action, match_type, direction, -1 if limit is None else limit, offset or 0


def rule_owner(store: Store, request: Request, principal: Principal) -> tuple[str | None, Any]:
    """``(handle, None)`` on the identity routes, ``(None, mailbox row)`` on legacy ones."""
    if "handle" in request.path_params:
        return str(request.path_params["handle"]), None
    key = str(request.path_params["email"])
    store.run(check_legacy, rules.NEW_ROUTE)  # 410 before anything else
    return None, store.run(mailboxes.find_mailbox, principal, key)


async def list_rules(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, mailbox = rule_owner(store, request, principal)
    query = Query(request)
    filters = rule_filters(query)
    query.raise_errors()
    return json_response(store.run(rules.list_rules, principal, handle, mailbox, filters))


async def create_rule(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, mailbox = rule_owner(store, request, principal)
    fields = Fields(await json_body(request))
    action = fields.literal("action", rules.ACTIONS, nullable=False)
    match_type = fields.literal("match_type", rules.MATCH_TYPES, nullable=False)
    target = fields.string("match_target", required=True, min_length=1, max_length=320)
    direction = fields.literal("direction", DIRECTIONS, nullable=False)
    for name, value in (("action", action), ("match_type", match_type)):
        if value is MISSING:
            fields.missing(name)
    fields.raise_errors()
    assert isinstance(action, str) and isinstance(match_type, str)
    side = direction if isinstance(direction, str) else "both"
    rule = (action, match_type, target, side)
    result = store.run(rules.create_rule, principal, handle, mailbox, rule)
    return json_response(result, 201)


async def get_rule(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, mailbox = rule_owner(store, request, principal)
    rule_id = path_uuid(request, "rule_id")
    return json_response(store.run(rules.get_rule, principal, handle, mailbox, rule_id))


async def update_rule(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, mailbox = rule_owner(store, request, principal)
    rule_id = path_uuid(request, "rule_id")
    fields = Fields(await json_body(request, allow_empty=True))
    change = parse_rule_patch(fields, rules.ACTIONS)
    result = store.run(rules.update_rule, principal, handle, mailbox, rule_id, change)
    return json_response(result)


async def delete_rule(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    handle, mailbox = rule_owner(store, request, principal)
    rule_id = path_uuid(request, "rule_id")
    store.run(rules.delete_rule, principal, handle, mailbox, rule_id)
    return no_content()


async def list_all_rules(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    raw_identity = query.string("agent_identity_id")
    raw_mailbox = query.string("mailbox_id")
    filters = rule_filters(query)
    query.raise_errors()
    identity_id = mailbox_id = None
    if raw_identity is not None:
        identity_id = parse_uuid(raw_identity, ("query", "agent_identity_id"))
    if raw_mailbox is not None:
        mailbox_id = parse_uuid(raw_mailbox, ("query", "mailbox_id"))
    result = store.run(rules.list_all_rules, principal, identity_id, mailbox_id, filters)
    return json_response(result)


# -- domains -------------------------------------------------------------------


async def list_domains(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    status = query.literal("status", domains.DOMAIN_STATUSES)
    query.raise_errors()
    return json_response(store.run(domains.list_domains, principal, status))


async def set_default(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    await json_body(request, allow_empty=True)
    name = str(request.path_params["domain_name"])
    if not name.strip():
        raise ApiError(404, "Sending domain not found")
    return json_response(store.run(domains.set_default_domain, principal, name))


def mail_routes(store: Store) -> list[BaseRoute]:
    """The mail and domain routes, bound to ``store``."""

    box = M + "/mailboxes/{email}"
    message = box + "/messages/{message_id}"
    rule = box + "/contact-rules/{rule_id}"
    table: RouteTable[Store] = [
        (M + "/mailboxes", {"GET": list_mailboxes}),
        (box, {"GET": get_mailbox, "PATCH": update_mailbox}),
        (box + "/search", {"GET": search}),
        (box + "/messages", {"GET": list_messages, "POST": send}),
        (message, {"GET": get_message, "PATCH": update_flags, "DELETE": delete_message}),
        (message + "/forward", {"POST": forward}),
        (message + "/reply-all", {"POST": reply_all}),
        (message + "/attachments/{filename:path}", {"GET": attachment}),
        (box + "/threads", {"GET": list_threads}),
        (box + "/threads/folders", {"GET": folders}),
        (
            box + "/threads/{thread_id}",
            {"GET": get_thread, "PATCH": update_thread, "DELETE": delete_thread},
        ),
        (box + "/contact-rules", {"GET": list_rules, "POST": create_rule}),
        (rule, {"GET": get_rule, "PATCH": update_rule, "DELETE": delete_rule}),
        (M + "/contact-rules", {"GET": list_all_rules}),
        (IDENTITY_RULES, {"GET": list_rules, "POST": create_rule}),
        (
            IDENTITY_RULES + "/{rule_id}",
            {"GET": get_rule, "PATCH": update_rule, "DELETE": delete_rule},
        ),
        ("/api/v1/domains/", {"GET": list_domains}),
        ("/api/v1/domains/{domain_name:path}/set-default", {"POST": set_default}),
    ]
    return bound_routes(store, table)
