"""Request bodies and queries for contacts and notes, validated before any I/O (pure).

Card items may be the model classes or plain dicts; a dict is sent as given
(it is already in wire form, as the official client allows), after a check of
the keys this SDK can check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._phone_bodies import e164
from inkbox_async._sentinel import UNSET
from inkbox_async.models.contacts import (
    ContactAddress,
    ContactChannelAccessUpdate,
    ContactCreatePermissions,
    ContactCustomField,
    ContactDate,
    ContactEmail,
    ContactOrder,
    ContactPhone,
    ContactReviewStatus,
    ContactWebsite,
)
from inkbox_async.models.notes import NoteOrder

CONTACT_QUERY_MAX = 100
CONTACT_OFFSET_MAX = 10_000
CONTACT_LIMIT_MAX = 1000
EXPORT_MAX = 25
NOTE_QUERY_MAX = 200
NOTE_LIMIT_MAX = 200
VCARD_MAX_BYTES = 5 * 1024 * 1024
VCARD_CONTENT_TYPES = ("text/vcard", "text/x-vcard")
_LISTS = ("contactable", "inbound_contactable", "outbound_contactable")
LOOKUP_FILTERS = ("email", "email_contains", "email_domain", "phone", "phone_contains")

NAME_FIELDS = (
    "preferred_name",
    "name_prefix",
    "given_name",
    "middle_name",
    "family_name",
    "name_suffix",
    "company_name",
    "job_title",
    "notes",
)
LIST_FIELDS = ("emails", "phones", "websites", "dates", "addresses", "custom_fields")


def _iso_date(argument: str, value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = check.text(argument, value)
    try:
        date.fromisoformat(text)
    except ValueError:
        raise InvalidArgumentError(argument, f"{text!r} is not a YYYY-MM-DD date") from None
    return text


def _label(argument: str, value: object, body: dict[str, Any]) -> None:
    if value is not None:
        body["label"] = check.text(argument, value, allow_empty=True)


def _email(argument: str, item: object) -> dict[str, Any]:
    if isinstance(item, ContactEmail):
        body: dict[str, Any] = {"value": check.email_address(f"{argument}.value", item.value)}
        _label(f"{argument}.label", item.label, body)
        if check.boolean(f"{argument}.is_primary", item.is_primary):
            body["is_primary"] = True
        return body
    raw = _raw(argument, item, ContactEmail)
    if "value" in raw:
        check.email_address(f"{argument}.value", raw["value"])
    return raw


def _phone(argument: str, item: object) -> dict[str, Any]:
    if isinstance(item, ContactPhone):
        body: dict[str, Any] = {"value_e164": e164(f"{argument}.value", item.value)}
        _label(f"{argument}.label", item.label, body)
        if check.boolean(f"{argument}.is_primary", item.is_primary):
            body["is_primary"] = True
        return body
    raw = _raw(argument, item, ContactPhone)
    if "value_e164" in raw:
        e164(f"{argument}.value_e164", raw["value_e164"])
    return raw


def _website(argument: str, item: object) -> dict[str, Any]:
    if isinstance(item, ContactWebsite):
        body: dict[str, Any] = {"url": check.text(f"{argument}.value", item.value)}
        _label(f"{argument}.label", item.label, body)
        return body
    return _raw(argument, item, ContactWebsite)


def _date(argument: str, item: object) -> dict[str, Any]:
    if isinstance(item, ContactDate):
        body: dict[str, Any] = {"date": _iso_date(f"{argument}.value", item.value)}
        _label(f"{argument}.label", item.label, body)
        return body
    return _raw(argument, item, ContactDate)


def _address(argument: str, item: object) -> dict[str, Any]:
    if isinstance(item, ContactAddress):
        body: dict[str, Any] = {}
        for name in ("label", "street", "city", "region", "country"):
            value = getattr(item, name)
            if value is not None:
                body[name] = check.text(f"{argument}.{name}", value, allow_empty=True)
        if item.postal_code is not None:
            body["postal"] = check.text(f"{argument}.postal_code", item.postal_code)
        return body
    return _raw(argument, item, ContactAddress)


def _custom_field(argument: str, item: object) -> dict[str, Any]:
    if isinstance(item, ContactCustomField):
        return {
            "label": check.text(f"{argument}.label", item.label),
            "value": check.text(f"{argument}.value", item.value, allow_empty=True),
        }
    return _raw(argument, item, ContactCustomField)


def _raw(argument: str, item: object, cls: type) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise check.type_error(argument, f"a {cls.__name__} or a dict", item)
    return dict(check.json_value(argument, item))


_ITEMS = {
    "emails": _email,
    "phones": _phone,
    "websites": _website,
    "dates": _date,
    "addresses": _address,
    "custom_fields": _custom_field,
}


def _items(argument: str, value: object) -> list[dict[str, Any]]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise check.type_error(argument, "a list", value)
    convert = _ITEMS[argument]
    return [convert(f"{argument}[{i}]", item) for i, item in enumerate(value)]


def card(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The card part of a create body: every field that is not None, in wire form."""
    body: dict[str, Any] = {}
    for name in NAME_FIELDS:
        if fields[name] is not None:
            body[name] = check.text(name, fields[name], allow_empty=True)
    if fields["birthday"] is not None:
        body["birthday"] = _iso_date("birthday", fields["birthday"])
    for name in LIST_FIELDS:
        if fields[name] is not None:
            body[name] = _items(name, fields[name])
    return body


def card_patch(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch: UNSET leaves a field out, None clears it, a list replaces the whole list."""
    body: dict[str, Any] = {}
    for name in NAME_FIELDS:
        value = fields[name]
        if value is not UNSET:
            body[name] = None if value is None else check.text(name, value, allow_empty=True)
    birthday = fields["birthday"]
    if birthday is not UNSET:
        body["birthday"] = None if birthday is None else _iso_date("birthday", birthday)
    for name in LIST_FIELDS:
        value = fields[name]
        if value is not UNSET:
            body[name] = None if value is None else _items(name, value)
    review = fields["review_status"]
    if review is not UNSET:
        body["review_status"] = check.choice("review_status", review, ContactReviewStatus)
    return body


def _address_map(argument: str, value: object) -> dict[str, bool]:
    if not isinstance(value, Mapping):
        raise check.type_error(argument, "a dict of address to bool", value)
    return {
        check.text(f"{argument} key", key): check.boolean(f"{argument}[{key!r}]", allowed)
        for key, allowed in value.items()
    }


def _channel(argument: str, value: object) -> dict[str, Any]:
    if not isinstance(value, ContactChannelAccessUpdate):
        raise check.type_error(argument, "a ContactChannelAccessUpdate", value)
    body: dict[str, Any] = {}
    if value.visible is not None:
        body["visible"] = check.boolean(f"{argument}.visible", value.visible)
    lists = {name: getattr(value, name) for name in _LISTS if getattr(value, name) is not UNSET}
    if "contactable" in lists and len(lists) > 1:
        raise InvalidArgumentError(
            f"{argument}.contactable", "cannot be combined with the directional lists"
        )
    for name, addresses in lists.items():
        if isinstance(addresses, str) or not isinstance(addresses, list | tuple):
            raise check.type_error(f"{argument}.{name}", "a list of addresses", addresses)
        body[name] = [check.text(f"{argument}.{name}[{i}]", a) for i, a in enumerate(addresses)]
    if value.visible is False and any(body.get(name) for name in lists):
        raise InvalidArgumentError(argument, "a hidden channel cannot have contactable addresses")
    return body


def permissions(value: object) -> dict[str, Any]:
    """The ``permissions`` object of ``POST /contacts/with-permissions``."""
    if not isinstance(value, ContactCreatePermissions):
        raise check.type_error("permissions", "a ContactCreatePermissions", value)
    body: dict[str, Any] = {"identity_id": check.uuid("permissions.identity_id", value.identity_id)}
    if value.emails is not None:
        body["emails"] = _address_map("permissions.emails", value.emails)
    if value.phones is not None:
        body["phones"] = _address_map("permissions.phones", value.phones)
    for name in ("profile", "memories"):
        flag = getattr(value, name)
        if flag is not None:
            body[name] = check.boolean(f"permissions.{name}", flag)
    if ("emails" in body or "phones" in body) and (
        value.email is not None or value.phone is not None
    ):
        raise InvalidArgumentError(
            "permissions", "use the address maps (emails/phones) or the groups (email/phone)"
        )
    for name in ("email", "phone"):
        group = getattr(value, name)
        if group is not None:
            body[name] = _channel(f"permissions.{name}", group)
    groups = [body.get(name, {}) for name in ("email", "phone")]
    enabled = (
        body.get("memories") is True
        or any(any(body.get(name, {}).values()) for name in ("emails", "phones"))
        or any(
            group.get("visible") is True or any(group.get(k) for k in _LISTS) for group in groups
        )
    )
    if body.get("profile") is False and enabled:
        raise InvalidArgumentError(
            "permissions.profile", "cannot be False while email, phone or memories is enabled"
        )
    return body


def contact_list_query(
    *,
    q: str | None,
    order: ContactOrder | str | None,
    limit: int | None,
    offset: int | None,
    review_status: Sequence[ContactReviewStatus | str] | ContactReviewStatus | str | None,
) -> dict[str, Any]:
    """The query of ``GET /contacts``."""
    params: dict[str, Any] = {}
    if q is not None:
        params["q"] = check.text("q", q, max_length=CONTACT_QUERY_MAX)
    if order is not None:
        params["order"] = check.choice("order", order, ContactOrder)
    if limit is not None:
        params["limit"] = check.int_range("limit", limit, 1, CONTACT_LIMIT_MAX)
    if offset is not None:
        params["offset"] = check.int_range("offset", offset, 0, CONTACT_OFFSET_MAX)
    if review_status is not None:
        statuses = [review_status] if isinstance(review_status, str) else review_status
        if not isinstance(statuses, Sequence) or not statuses:
            raise InvalidArgumentError("review_status", "must name at least one status")
        params["review_status"] = [
            check.choice(f"review_status[{i}]", s, ContactReviewStatus)
            for i, s in enumerate(statuses)
        ]
    return params


def lookup_query(filters: Mapping[str, object]) -> dict[str, str]:
    """The one filter of ``GET /contacts/lookup``."""
    given = {name: value for name, value in filters.items() if value is not None}
    if len(given) != 1:
        named = ", ".join(LOOKUP_FILTERS)
        found = f" (got {', '.join(given)})" if given else ""
        raise InvalidArgumentError("lookup", f"pass exactly one of {named}{found}")
    [(name, value)] = given.items()
    if name == "email":
        return {name: check.email_address(name, value)}
    if name == "phone":
        return {name: e164(name, value)}
    return {name: check.text(name, value, max_length=320)}


def id_list(argument: str, value: object, *, maximum: int | None = None) -> list[str]:
    """A non-empty list of UUIDs, as strings."""
    if isinstance(value, str | bytes | UUID) or not isinstance(value, Sequence):
        raise check.type_error(argument, "a list of ids", value)
    if not value:
        raise InvalidArgumentError(argument, "must not be empty")
    if maximum is not None and len(value) > maximum:
        raise InvalidArgumentError(argument, f"takes at most {maximum} ids, got {len(value)}")
    return [check.uuid(f"{argument}[{i}]", item) for i, item in enumerate(value)]


def merge(contact_id: str, losing_contact_ids: object, field_sources: object) -> dict[str, Any]:
    """The body of ``POST /contacts/{id}/merge``."""
    losing = id_list("losing_contact_ids", losing_contact_ids)
    if contact_id in losing:
        raise InvalidArgumentError("losing_contact_ids", "must not contain the surviving contact")
    sources: dict[str, str] = {}
    if field_sources is not None:
        if not isinstance(field_sources, Mapping):
            raise check.type_error(
                "field_sources", "a dict of field name to contact id", field_sources
            )
        allowed = {contact_id, *losing}
        for name, source in field_sources.items():
            sources[check.text("field_sources key", name)] = source_id = check.uuid(
                f"field_sources[{name!r}]", source
            )
            if source_id not in allowed:
                raise InvalidArgumentError(
                    f"field_sources[{name!r}]", "must be one of the contacts being merged"
                )
    return {"losing_contact_ids": losing, "field_sources": sources}


def vcard_content(content: object, content_type: object) -> tuple[bytes, str]:
    """The raw upload of ``POST /contacts/import`` and its media type."""
    if isinstance(content, str):
        data = content.encode("utf-8")
    elif isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
    else:
        raise check.type_error("content", "str or bytes", content)
    if not data.strip():
        raise InvalidArgumentError("content", "must contain at least one vCard")
    if len(data) > VCARD_MAX_BYTES:
        raise InvalidArgumentError(
            "content", f"must be at most {VCARD_MAX_BYTES} bytes (5 MiB), got {len(data)}"
        )
    kind = check.text("content_type", content_type)
    if kind.split(";")[0].strip().lower() not in VCARD_CONTENT_TYPES:
        raise InvalidArgumentError("content_type", f"{kind!r} is not one of {VCARD_CONTENT_TYPES}")
    return data, kind


def note_list_query(
    *,
    q: str | None,
    identity_id: UUID | str | None,
    limit: int | None,
    offset: int | None,
    order: NoteOrder | str | None,
) -> dict[str, Any]:
    """The query of ``GET /notes``."""
    params: dict[str, Any] = {}
    if q is not None:
        params["q"] = check.text("q", q, max_length=NOTE_QUERY_MAX)
    if identity_id is not None:
        params["identity_id"] = check.uuid("identity_id", identity_id)
    if limit is not None:
        params["limit"] = check.int_range("limit", limit, 1, NOTE_LIMIT_MAX)
    if offset is not None:
        params["offset"] = check.int_range("offset", offset, 0, 10**9)
    if order is not None:
        params["order"] = check.choice("order", order, NoteOrder)
    return params


def note_create(body: object, title: object) -> dict[str, Any]:
    """The body of ``POST /notes``."""
    payload: dict[str, Any] = {"body": check.text("body", body)}
    if title is not None:
        payload["title"] = check.text("title", title, allow_empty=True)
    return payload


def note_patch(title: object, body: object) -> dict[str, Any]:
    """The merge patch of ``PATCH /notes/{id}`` (a note's body cannot be cleared)."""
    payload: dict[str, Any] = {}
    if title is not UNSET:
        payload["title"] = None if title is None else check.text("title", title, allow_empty=True)
    if body is not UNSET:
        if body is None:
            raise InvalidArgumentError("body", "cannot be cleared (a note needs a body)")
        payload["body"] = check.text("body", body)
    return payload
