"""HTTP routes of the address book under ``/api/v1/contacts``.

Bodies are checked like the service's FastAPI models (one 422 listing every
problem); the vCard import takes the raw ``text/vcard`` body. Path ids that
are not UUIDs answer 422.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

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

from . import address_book as book
from .vcard import MAX_CARDS, decode, dump_card, dump_cards, parse_cards

__all__ = ["CONTACTS_PREFIX", "contact_routes", "parse_card"]

CONTACTS_PREFIX = "/api/v1/contacts"
MAX_UPLOAD = 5 * 1024 * 1024
MAX_BULK = 100
MAX_EXPORT = 25
MAX_ACCESS_IDS = 500
_VCARD_TYPES = ("text/vcard", "text/x-vcard")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_EMAIL = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")
_TEXT_MAX = {"notes": 10_000}
_ITEM_KEYS = {
    "emails": ("value", "label", "is_primary"),
    "phones": ("value_e164", "label", "is_primary"),
    "websites": ("url", "label"),
    "dates": ("date", "label"),
    "addresses": ("label", "street", "city", "region", "postal", "country"),
    "custom_fields": ("label", "value"),
}
_REQUIRED = {
    "emails": ("value",),
    "phones": ("value_e164",),
    "websites": ("url",),
    "dates": ("date",),
    "addresses": (),
    "custom_fields": ("label", "value"),
}


def _date(fields: Fields, name: str, value: object) -> str | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    fields.error(name, "date_from_datetime_parsing", "Input should be a valid date", value)
    return None


def _item(fields: Fields, name: str, index: int, raw: object) -> dict[str, Any] | None:
    loc = (*fields.loc, name, index)
    if not isinstance(raw, dict):
        fields.errors.append(
            {
                "type": "model_attributes_type",
                "loc": list(loc),
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": raw,
            }
        )
        return None
    item = Fields(raw, loc, fields.errors)
    out: dict[str, Any] = {}
    for key in _ITEM_KEYS[name]:
        if key == "is_primary":
            flag = raw.get(key, False)
            if not isinstance(flag, bool):
                item.error(key, "bool_type", "Input should be a valid boolean", flag)
            out[key] = flag is True
            continue
        value: str | Missing | None
        if key in _REQUIRED[name]:
            value = item.string(key, required=True, max_length=2048)
        else:
            value = item.string(key, max_length=2048)
        if isinstance(value, Missing):
            value = None
        if (
            value is not None
            and key == "value"
            and name == "emails"
            and not _EMAIL.fullmatch(value)
        ):
            item.error(key, "value_error", "Value error, not a valid email address", value)
        if value is not None and key == "value_e164" and not _E164.fullmatch(value):
            item.error(key, "value_error", "Value error, not an E.164 phone number", value)
        if value is not None and key == "date" and name == "dates":
            value = _date(item, key, value)
        out[key] = value
    return out


def parse_card(data: dict[str, Any], *, patch: bool = False) -> dict[str, Any]:
    """The card fields of a create body (absent or null fields left out) or of a merge patch
    (present fields kept, null meaning clear). Raises the 422 listing every problem."""
    fields = Fields(data)
    card: dict[str, Any] = {}
    for name in book.NAME_FIELDS:
        value = fields.string(name, max_length=_TEXT_MAX.get(name, 255))
        if not isinstance(value, Missing) and (value is not None or patch):
            card[name] = value
    if "birthday" in data:
        raw = data["birthday"]
        if raw is None or raw == "":
            if patch:
                card["birthday"] = None
        else:
            card["birthday"] = _date(fields, "birthday", raw)
    for name in book.LIST_FIELDS:
        raw = fields.raw(name)
        if raw is MISSING or (raw is None and not patch):
            continue
        if raw is None:
            card[name] = None
        elif not isinstance(raw, list):
            fields.error(name, "list_type", "Input should be a valid list", raw)
        else:
            items = [_item(fields, name, i, r) for i, r in enumerate(raw)]
            card[name] = [i for i in items if i is not None]
    if patch:
        review = fields.literal("review_status", ("unreviewed", "confirmed"), nullable=False)
        if isinstance(review, str):
            card["review_status"] = review
    fields.raise_errors()
    return card


def _access_ids(fields: Fields) -> book.Access:
    raw = fields.raw("access_identity_ids")
    if raw is MISSING or raw is None:
        return "wildcard"
    if not isinstance(raw, list):
        fields.error("access_identity_ids", "list_type", "Input should be a valid list", raw)
        return []
    if len(raw) > MAX_ACCESS_IDS:
        fields.error(
            "access_identity_ids",
            "too_long",
            f"List should have at most {MAX_ACCESS_IDS} items after validation, not {len(raw)}",
            raw,
        )
    ids: list[str] = []
    for index, value in enumerate(raw):
        try:
            ids.append(parse_uuid(str(value), ("body", "access_identity_ids", index)))
        except ApiError as exc:
            assert isinstance(exc.detail, list)
            fields.errors.extend(exc.detail)
    return ids


def _permissions_access(fields: Fields) -> book.Access:
    permissions = fields.obj("permissions")
    if not isinstance(permissions, Fields):
        if permissions is MISSING or permissions is None:
            fields.missing("permissions")
        return []
    identity = permissions.uuid("identity_id")
    if identity is MISSING or (identity is None and "identity_id" in permissions.data):
        permissions.missing("identity_id")
    for name in ("emails", "phones"):
        raw = permissions.raw(name)
        if raw is not MISSING and not (
            isinstance(raw, dict) and all(isinstance(v, bool) for v in raw.values())
        ):
            permissions.error(name, "dict_type", "Input should be a valid dictionary", raw)
    for name in ("profile", "memories"):
        raw = permissions.raw(name)
        if raw is not MISSING and not isinstance(raw, bool):
            permissions.error(name, "bool_type", "Input should be a valid boolean", raw)
    if not isinstance(identity, str) or permissions.data.get("profile") is False:
        return []
    return [identity]


def _id_list(data: dict[str, Any], name: str, maximum: int) -> list[str]:
    fields = Fields(data)
    raw = fields.raw(name)
    ids: list[str] = []
    if raw is MISSING:
        fields.missing(name)
    elif not isinstance(raw, list):
        fields.error(name, "list_type", "Input should be a valid list", raw)
    elif not 1 <= len(raw) <= maximum:
        fields.error(
            name,
            "too_short" if not raw else "too_long",
            f"List should have between 1 and {maximum} items, not {len(raw)}",
            raw,
        )
    else:
        for index, value in enumerate(raw):
            try:
                ids.append(parse_uuid(str(value), ("body", name, index)))
            except ApiError as exc:
                assert isinstance(exc.detail, list)
                fields.errors.extend(exc.detail)
    fields.raise_errors()
    return ids


def contact_id(request: Request) -> str:
    params = request.path_params
    raw = params["contact_id"] if "contact_id" in params else params["contact_ref"]
    return parse_uuid(str(raw), ("path", "contact_id"))


async def list_contacts(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    query = Query(request)
    q = query.string("q")
    if q is not None and len(q) > 100:
        query.errors.append(
            _query_item("q", "string_too_long", "String should have at most 100 characters", q)
        )
    order = query.literal("order", ("name", "recent")) or "name"
    limit = query.integer("limit", default=50, ge=1, le=1000)
    offset = query.integer("offset", default=0, ge=0, le=10_000)
    statuses = request.query_params.getlist("review_status")
    for status in statuses:
        if status not in ("unreviewed", "confirmed"):
            query.errors.append(
                _query_item(
                    "review_status",
                    "enum",
                    "Input should be 'unreviewed' or 'confirmed'",
                    status,
                )
            )
    query.raise_errors()
    assert limit is not None and offset is not None
    result = store.run(
        book.list_contacts,
        principal,
        q=q,
        order=order,
        limit=limit,
        offset=offset,
        review_status=statuses,
    )
    return json_response(result)


async def lookup(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    given = [(k, v) for k, v in request.query_params.multi_items() if k in _LOOKUPS]
    if len(given) != 1:
        raise ApiError(
            422,
            "Pass exactly one of email, email_contains, email_domain, phone, phone_contains",
        )
    [(field, value)] = given
    if not value.strip():
        raise ApiError(422, f"{field} must not be empty")
    if field == "phone" and not _E164.fullmatch(value):
        raise ApiError(422, "phone must be an E.164 number such as +15551234567")
    return json_response(store.run(book.lookup_contacts, principal, field, value))


async def create(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    data = await json_body(request)
    card = parse_card(data)
    fields = Fields(data)
    access = _access_ids(fields)
    fields.raise_errors()
    return json_response(store.run(book.create_contact, principal, card, access), 201)


async def create_with_permissions(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    data = await json_body(request)
    card = parse_card(data)
    fields = Fields(data)
    access = _permissions_access(fields)
    fields.raise_errors()
    result = store.run(book.create_contact, principal, card, access, with_permissions=True)
    return json_response(result, 201)


async def get(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(book.get_contact, principal, contact_id(request)))


async def update(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = contact_id(request)
    patch = parse_card(await json_body(request, allow_empty=True), patch=True)
    return json_response(store.run(book.update_contact, principal, ident, patch))


async def delete(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    store.run(book.delete_contact, principal, contact_id(request))
    return no_content()


async def merge(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = contact_id(request)
    data = await json_body(request)
    losing = _id_list(data, "losing_contact_ids", MAX_BULK)
    fields = Fields(data)
    raw_sources = fields.raw("field_sources")
    sources: dict[str, str] = {}
    if raw_sources not in (MISSING, None):
        if not isinstance(raw_sources, dict):
            fields.error(
                "field_sources", "dict_type", "Input should be a valid dictionary", raw_sources
            )
        else:
            for name, value in raw_sources.items():
                try:
                    sources[name] = parse_uuid(str(value), ("body", "field_sources", name))
                except ApiError as exc:
                    assert isinstance(exc.detail, list)
                    fields.errors.extend(exc.detail)
    fields.raise_errors()
    result = store.run(book.merge_contacts, principal, ident, losing, sources)
    return json_response(result)


async def bulk_delete(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ids = _id_list(await json_body(request), "contact_ids", MAX_BULK)
    return json_response(store.run(book.bulk_delete, principal, ids))


async def list_access(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    return json_response(store.run(book.list_access, principal, contact_id(request)))


async def grant(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = contact_id(request)
    fields = Fields(await json_body(request))
    if "identity_id" not in fields.data:
        fields.missing("identity_id")
    identity = fields.uuid("identity_id")
    fields.raise_errors()
    target = identity if isinstance(identity, str) else None
    return json_response(store.run(book.grant_access, principal, ident, target), 201)


async def revoke(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ident = contact_id(request)
    identity = path_uuid(request, "identity_id")
    store.run(book.revoke_access, principal, ident, identity)
    return no_content()


async def import_vcards(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in _VCARD_TYPES:
        raise ApiError(415, "Send vCards as text/vcard (or text/x-vcard)")
    raw = await request.body()
    if len(raw) > MAX_UPLOAD:
        raise ApiError(413, "The upload is larger than 5 MiB")
    cards = parse_cards(decode(raw))
    if not cards:
        raise ApiError(422, "No vCards found (expected BEGIN:VCARD ... END:VCARD)")
    if len(cards) > MAX_CARDS:
        raise ApiError(422, f"At most {MAX_CARDS} vCards per upload, got {len(cards)}")
    return json_response(store.run(book.import_cards, principal, cards))


async def get_or_export(store: Store, request: Request) -> Response:
    """``GET /contacts/{id}`` (JSON) or ``GET /contacts/{id}.vcf`` (one vCard 4.0 card)."""
    raw = str(request.path_params["contact_ref"])
    if not raw.endswith(".vcf"):
        return await get(store, request)
    principal = auth(store, request)
    ident = parse_uuid(raw.removesuffix(".vcf"), ("path", "contact_id"))
    contact = store.run(book.export_one, principal, ident)
    return Response(dump_card(contact), media_type="text/vcard; charset=utf-8")


async def export_many(store: Store, request: Request) -> Response:
    principal = auth(store, request)
    ids = _id_list(await json_body(request), "contact_ids", MAX_EXPORT)
    contacts = store.run(book.export_many, principal, ids)
    return json_response(
        {
            "content_type": "text/vcard",
            "contact_count": len(contacts),
            "vcard": dump_cards(contacts),
        }
    )


def contact_routes(store: Store) -> list[BaseRoute]:
    """The address-book routes, bound to ``store``."""

    base = CONTACTS_PREFIX
    table: RouteTable[Store] = [
        (base, {"GET": list_contacts, "POST": create}),
        (base + "/lookup", {"GET": lookup}),
        (base + "/with-permissions", {"POST": create_with_permissions}),
        (base + "/bulk-delete", {"POST": bulk_delete}),
        (base + "/vcard-export", {"POST": export_many}),
        (base + "/import", {"POST": import_vcards}),
        (base + "/{contact_ref}", {"GET": get_or_export, "PATCH": update, "DELETE": delete}),
        (base + "/{contact_id}/merge", {"POST": merge}),
        (base + "/{contact_id}/access", {"GET": list_access, "POST": grant}),
        (base + "/{contact_id}/access/{identity_id}", {"DELETE": revoke}),
    ]
    return bound_routes(store, table)


_LOOKUPS = ("email", "email_contains", "email_domain", "phone", "phone_contains")


def _query_item(name: str, type_: str, msg: str, value: object) -> dict[str, Any]:
    return {"type": type_, "loc": ["query", name], "msg": msg, "input": value}
