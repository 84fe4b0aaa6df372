"""The organisation's address book: contacts, their access rows, merge, bulk delete, vCards.

Storage: one ``contacts`` row per contact. ``card`` holds the card fields in
wire form, ``meta`` the review/provenance fields of the
current wire, ``status`` is ``active`` or ``merged``;
``name``, ``emails`` and ``phones`` mirror the display name, the email
addresses and the E.164 numbers for webhook matching (``contacts.matching``).

Visibility: admin keys and humans see every contact of the organisation; an
identity-scoped key sees the contacts with a wildcard access row (identity
null) or a row for its identity. A plain create gets the wildcard; a create
``with-permissions`` gets one row for the named identity (none when its
``profile`` is false), so the contact is hidden from the other identities'
keys; the 0.4.4 ``access_identity_ids`` still works as it did.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso, iso_or_none

from .vcard import ParsedCard, display_name

__all__ = [
    "LIST_FIELDS",
    "SCALAR_FIELDS",
    "Access",
    "bulk_delete",
    "contact_record",
    "create_contact",
    "delete_contact",
    "export_many",
    "export_one",
    "get_contact",
    "grant_access",
    "import_cards",
    "list_access",
    "list_contacts",
    "lookup_contacts",
    "merge_contacts",
    "revoke_access",
    "update_contact",
    "visible_contact_ids",
]

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
SCALAR_FIELDS = (*NAME_FIELDS, "birthday")
LIST_FIELDS = ("emails", "phones", "websites", "dates", "addresses", "custom_fields")
SEARCHED = ("preferred_name", "given_name", "family_name", "company_name", "job_title", "notes")

Access = Literal["wildcard"] | list[str]
"""Who may see a new contact: every identity, or the listed identity ids (maybe none)."""

_NOT_FOUND = "Contact not found"


# -- records -------------------------------------------------------------------


def _card(row: Any) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(row["card"])
    if not card:
        # A contact seeded before the address book kept only a name, emails and phones.
        card = {
            "preferred_name": row["name"] or None,
            "emails": [
                {"value": v, "label": None, "is_primary": i == 0}
                for i, v in enumerate(json.loads(row["emails"]))
            ],
            "phones": [
                {"value_e164": v, "label": None, "is_primary": i == 0}
                for i, v in enumerate(json.loads(row["phones"]))
            ],
        }
    return card


def _access_rows(db: Db, contact_id: str) -> list[Any]:
    return db.all(
        "SELECT * FROM contact_access WHERE contact_id = ? ORDER BY created_at, rowid",
        (contact_id,),
    )


def _access_record(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "contact_id": row["contact_id"],
        "identity_id": row["identity_id"],
        "created_at": iso(row["created_at"]),
    }


def contact_record(db: Db, row: Any) -> dict[str, Any]:
    """The wire Contact: the 0.4.4 fields plus the ones the current service added."""
    card = _card(row)
    meta: dict[str, Any] = json.loads(row["meta"])
    record: dict[str, Any] = {"id": row["id"], "organization_id": row["organization_id"]}
    for name in SCALAR_FIELDS:
        record[name] = card.get(name)
    for name in LIST_FIELDS:
        record[name] = card.get(name) or []
    review = meta.get("review_status", "confirmed")
    record.update(
        {
            "access": [_access_record(a) for a in _access_rows(db, row["id"])],
            "status": row["status"],
            "creation_source": meta.get("creation_source", "manual"),
            "review_status": review,
            "reviewed_at": iso_or_none(meta.get("reviewed_at")),
            "reviewed_by": meta.get("reviewed_by"),
            "preferred_name_source": meta.get("preferred_name_source", "manual"),
            "preferred_name_locked_at": None,
            "created_by_identity_id": meta.get("created_by_identity_id"),
            "merged_into_contact_id": meta.get("merged_into_contact_id"),
            "is_auto_created": False,
            "is_confirmed": review == "confirmed",
            "memory_count": 0,
            "latest_memory": None,
            "slack_accounts": [],
            "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
        }
    )
    return record


# -- visibility ----------------------------------------------------------------


def visible_contact_ids(db: Db, organization_id: str, identity_id: str | None) -> set[str]:
    """Ids of the org's active contacts an identity's key sees (every one for ``None``)."""
    if identity_id is None:
        rows = db.all(
            "SELECT id FROM contacts WHERE organization_id = ? AND status = 'active'",
            (organization_id,),
        )
    else:
        rows = db.all(
            "SELECT DISTINCT c.id FROM contacts c JOIN contact_access a ON a.contact_id = c.id "
            "WHERE c.organization_id = ? AND c.status = 'active' "
            "AND (a.identity_id IS NULL OR a.identity_id = ?)",
            (organization_id, identity_id),
        )
    return {str(r["id"]) for r in rows}


def _scope(principal: Principal) -> str | None:
    return None if principal.is_org_admin else principal.identity_id


def _visible_rows(db: Db, principal: Principal) -> list[Any]:
    ids = visible_contact_ids(db, principal.organization_id, _scope(principal))
    rows = db.all(
        "SELECT * FROM contacts WHERE organization_id = ? AND status = 'active' "
        "ORDER BY created_at, rowid",
        (principal.organization_id,),
    )
    return [r for r in rows if r["id"] in ids]


def _find(db: Db, principal: Principal, contact_id: str, *, merged_ok: bool = False) -> Any:
    row = db.one(
        "SELECT * FROM contacts WHERE id = ? AND organization_id = ?",
        (contact_id, principal.organization_id),
    )
    if row is None or (row["status"] != "active" and not merged_ok):
        raise ApiError(404, _NOT_FOUND)
    if principal.is_org_admin:
        return row
    grant = db.one(
        "SELECT 1 FROM contact_access WHERE contact_id = ? "
        "AND (identity_id IS NULL OR identity_id = ?)",
        (contact_id, principal.identity_id),
    )
    if grant is None:
        raise ApiError(404, _NOT_FOUND)
    return row


def _require_admin(principal: Principal, what: str) -> None:
    if not principal.is_org_admin:
        raise ApiError(403, f"Only admin API keys and console users can {what}")


def _require_identity(db: Db, organization_id: str, identity_id: str) -> None:
    row = db.one(
        "SELECT 1 FROM identities WHERE id = ? AND organization_id = ? AND status != 'deleted'",
        (identity_id, organization_id),
    )
    if row is None:
        raise ApiError(404, "Identity not found")


# -- writes ----------------------------------------------------------------------


def _mirror(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": display_name(card) or "",
        "emails": json.dumps([e["value"] for e in card.get("emails") or []]),
        "phones": json.dumps([p["value_e164"] for p in card.get("phones") or []]),
    }


def _insert_access(db: Db, contact_id: str, identity_id: str | None) -> None:
    db.insert(
        "contact_access",
        {
            "id": str(uuid.uuid4()),
            "contact_id": contact_id,
            "identity_id": identity_id,
            "created_at": db.now,
        },
    )


def insert_contact(
    db: Db,
    organization_id: str,
    card: dict[str, Any],
    access: Access,
    *,
    source: str = "manual",
    creator_identity_id: str | None = None,
) -> Any:
    """Store a contact and its access rows; returns the row."""
    contact_id = str(uuid.uuid4())
    meta = {
        "creation_source": source,
        "review_status": "confirmed",
        "preferred_name_source": "vcard" if source == "vcard" else "manual",
        "created_by_identity_id": creator_identity_id,
    }
    db.insert(
        "contacts",
        {
            "id": contact_id,
            "organization_id": organization_id,
            **_mirror(card),
            "card": json.dumps(card),
            "meta": json.dumps(meta),
            "status": "active",
            "created_at": db.now,
            "updated_at": db.now,
        },
    )
    if access == "wildcard":
        _insert_access(db, contact_id, None)
    else:
        for identity_id in dict.fromkeys(access):
            _insert_access(db, contact_id, identity_id)
    row = db.one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
    assert row is not None
    return row


def create_contact(
    db: Db,
    principal: Principal,
    card: dict[str, Any],
    access: Access = "wildcard",
    *,
    with_permissions: bool = False,
) -> dict[str, Any]:
    """``POST /contacts`` (and ``/contacts/with-permissions``, admin keys only)."""
    if with_permissions or access != "wildcard":
        _require_admin(principal, "choose who sees a contact")
    for identity_id in access if access != "wildcard" else []:
        _require_identity(db, principal.organization_id, identity_id)
    row = insert_contact(
        db, principal.organization_id, card, access, creator_identity_id=principal.identity_id
    )
    return contact_record(db, row)


def _save(db: Db, row: Any, card: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
    db.exec(
        "UPDATE contacts SET name = ?, emails = ?, phones = ?, card = ?, meta = ?, updated_at = ? "
        "WHERE id = ?",
        (
            *_mirror(card).values(),
            json.dumps(card),
            json.dumps(meta if meta is not None else json.loads(row["meta"])),
            db.now,
            row["id"],
        ),
    )


def update_contact(
    db: Db, principal: Principal, contact_id: str, patch: dict[str, Any]
) -> dict[str, Any]:
    """``PATCH /contacts/{id}``: a JSON merge patch over the card (null clears)."""
    row = _find(db, principal, contact_id)
    card = _card(row)
    meta: dict[str, Any] = json.loads(row["meta"])
    for name, value in patch.items():
        if name == "review_status":
            meta["review_status"] = value
            meta["reviewed_at"] = db.now
            meta["reviewed_by"] = principal.identity_id or principal.user_id or principal.key_id
        elif value is None or value == []:
            card.pop(name, None)
        else:
            card[name] = value
    _save(db, row, card, meta)
    return get_contact(db, principal, contact_id)


def get_contact(db: Db, principal: Principal, contact_id: str) -> dict[str, Any]:
    """``GET /contacts/{id}`` (a merged contact still answers, with ``merged_into_contact_id``)."""
    return contact_record(db, _find(db, principal, contact_id, merged_ok=True))


def delete_contact(db: Db, principal: Principal, contact_id: str) -> None:
    """``DELETE /contacts/{id}``."""
    row = _find(db, principal, contact_id)
    db.exec("DELETE FROM contacts WHERE id = ?", (row["id"],))


def bulk_delete(db: Db, principal: Principal, contact_ids: Sequence[str]) -> dict[str, Any]:
    """``POST /contacts/bulk-delete``: one outcome per id, never a failure for the whole call."""
    results: list[dict[str, Any]] = []
    for contact_id in dict.fromkeys(contact_ids):
        try:
            delete_contact(db, principal, contact_id)
        except ApiError as exc:
            results.append(
                {
                    "contact_id": contact_id,
                    "status": "error",
                    "error": str(exc.detail),
                    "error_code": "not_found",
                }
            )
        else:
            results.append(
                {"contact_id": contact_id, "status": "deleted", "error": None, "error_code": None}
            )
    deleted = sum(1 for r in results if r["status"] == "deleted")
    return {"deleted_count": deleted, "error_count": len(results) - deleted, "results": results}


def _key(name: str, item: dict[str, Any]) -> Any:
    if name == "emails":
        return str(item["value"]).lower()
    if name == "phones":
        return item["value_e164"]
    return json.dumps({k: v for k, v in item.items() if k != "is_primary"}, sort_keys=True)


def merge_contacts(
    db: Db,
    principal: Principal,
    contact_id: str,
    losing_ids: list[str],
    field_sources: dict[str, str],
) -> dict[str, Any]:
    """``POST /contacts/{id}/merge``: fold the losing contacts into the surviving one.

    Scalars keep the surviving contact's value unless ``field_sources`` names
    another contact for that field (an empty value is filled from the losing
    contacts in order); lists are combined without duplicates; access rows are
    combined (a wildcard wins). Losing contacts become ``merged``.
    """
    _require_admin(principal, "merge contacts")
    winner = _find(db, principal, contact_id)
    if contact_id in losing_ids:
        raise ApiError(422, "losing_contact_ids must not contain the surviving contact")
    losers = [_find(db, principal, i) for i in dict.fromkeys(losing_ids)]
    rows = {r["id"]: r for r in [winner, *losers]}
    for name, source in field_sources.items():
        if name not in SCALAR_FIELDS:
            raise ApiError(422, f"field_sources: {name!r} is not a mergeable field")
        if source not in rows:
            raise ApiError(422, f"field_sources: {source} is not one of the merged contacts")
    cards = {i: _card(r) for i, r in rows.items()}
    merged = dict(cards[contact_id])
    for name in SCALAR_FIELDS:
        if name in field_sources:
            merged[name] = cards[field_sources[name]].get(name)
        elif merged.get(name) is None:
            merged[name] = next(
                (cards[r["id"]][name] for r in losers if cards[r["id"]].get(name)), None
            )
        if merged.get(name) is None:
            merged.pop(name, None)
    for name in LIST_FIELDS:
        combined: dict[Any, dict[str, Any]] = {}
        for i in [contact_id, *(r["id"] for r in losers)]:
            for item in cards[i].get(name) or []:
                combined.setdefault(_key(name, item), dict(item))
        items = list(combined.values())
        if name in ("emails", "phones"):
            seen_primary = False
            for item in items:
                item["is_primary"] = bool(item.get("is_primary")) and not seen_primary
                seen_primary = seen_primary or item["is_primary"]
        if items:
            merged[name] = items
    _save(db, winner, merged)
    grants = [a["identity_id"] for r in rows.values() for a in _access_rows(db, r["id"])]
    db.exec("DELETE FROM contact_access WHERE contact_id = ?", (contact_id,))
    if None in grants:
        _insert_access(db, contact_id, None)
    else:
        for identity_id in dict.fromkeys(grants):
            _insert_access(db, contact_id, identity_id)
    for loser in losers:
        meta = json.loads(loser["meta"])
        meta["merged_into_contact_id"] = contact_id
        db.exec(
            "UPDATE contacts SET status = 'merged', meta = ?, updated_at = ? WHERE id = ?",
            (json.dumps(meta), db.now, loser["id"]),
        )
    return get_contact(db, principal, contact_id)


# -- reads -----------------------------------------------------------------------


def list_contacts(
    db: Db,
    principal: Principal,
    *,
    q: str | None,
    order: str,
    limit: int,
    offset: int,
    review_status: list[str],
) -> list[dict[str, Any]]:
    """``GET /contacts``: visible contacts, searched, filtered, ordered and paged."""
    rows = _visible_rows(db, principal)
    chosen: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
    for row in rows:
        card = _card(row)
        meta = json.loads(row["meta"])
        if q is not None:
            needle = q.lower()
            if not any(needle in str(card.get(f) or "").lower() for f in SEARCHED):
                continue
        if review_status and meta.get("review_status", "confirmed") not in review_status:
            continue
        chosen.append((row, card, meta))
    if order == "recent":
        chosen.reverse()  # among equal timestamps, the newest contact first
        chosen.sort(key=lambda c: -float(c[0]["updated_at"]))
    else:
        chosen.sort(key=lambda c: (display_name(c[1]) or "").casefold())
    return [contact_record(db, row) for row, _, _ in chosen[offset : offset + limit]]


def lookup_contacts(db: Db, principal: Principal, field: str, value: str) -> list[dict[str, Any]]:
    """``GET /contacts/lookup``: visible contacts with one matching email or phone."""
    wanted = value.strip().lower()
    digits = "".join(ch for ch in wanted if ch.isdigit())

    def matches(card: dict[str, Any]) -> bool:
        emails = [str(e["value"]).lower() for e in card.get("emails") or []]
        phones = [str(p["value_e164"]) for p in card.get("phones") or []]
        if field == "email":
            return wanted in emails
        if field == "email_contains":
            return any(wanted in e for e in emails)
        if field == "email_domain":
            domain = wanted.removeprefix("@")
            return any(e.rpartition("@")[2] == domain for e in emails)
        if field == "phone":
            return value in phones
        return bool(digits) and any(digits in p for p in phones)

    return [contact_record(db, r) for r in _visible_rows(db, principal) if matches(_card(r))]


# -- access rows (0.4.4 wire; the current service keeps them as metadata) -----------


def list_access(db: Db, principal: Principal, contact_id: str) -> list[dict[str, Any]]:
    """``GET /contacts/{id}/access``."""
    row = _find(db, principal, contact_id)
    return [_access_record(a) for a in _access_rows(db, row["id"])]


def grant_access(
    db: Db, principal: Principal, contact_id: str, identity_id: str | None
) -> dict[str, Any]:
    """``POST /contacts/{id}/access``: one identity, or ``None`` to reset to the wildcard."""
    _require_admin(principal, "grant access to contacts")
    row = _find(db, principal, contact_id)
    rows = _access_rows(db, row["id"])
    wildcard = any(a["identity_id"] is None for a in rows)
    if identity_id is None:
        if wildcard:
            raise _redundant("the contact is already visible to every identity")
        db.exec("DELETE FROM contact_access WHERE contact_id = ?", (row["id"],))
    else:
        _require_identity(db, principal.organization_id, identity_id)
        if wildcard:
            raise _redundant("the contact is visible to every identity already (wildcard)")
        if any(a["identity_id"] == identity_id for a in rows):
            raise ApiError(409, "Access already granted")
    _insert_access(db, row["id"], identity_id)
    created = _access_rows(db, row["id"])[-1]
    return _access_record(created)


def _redundant(message: str) -> ApiError:
    return ApiError(409, {"error": "redundant_grant", "detail": message})


def revoke_access(db: Db, principal: Principal, contact_id: str, identity_id: str) -> None:
    """``DELETE /contacts/{id}/access/{identity_id}``.

    An identity's key may revoke only its own grant. Revoking one identity of
    a wildcard contact first turns the wildcard into one row per identity.
    """
    if not principal.is_org_admin and principal.identity_id != identity_id:
        raise ApiError(403, "An identity-scoped key can only revoke its own access")
    row = _find(db, principal, contact_id)
    rows = _access_rows(db, row["id"])
    if any(a["identity_id"] is None for a in rows):
        db.exec("DELETE FROM contact_access WHERE contact_id = ?", (row["id"],))
        others = db.all(
            "SELECT id FROM identities WHERE organization_id = ? AND status != 'deleted' "
            "AND id != ? ORDER BY created_at, rowid",
            (principal.organization_id, identity_id),
        )
        for other in others:
            _insert_access(db, row["id"], str(other["id"]))
        return
    if not db.exec(
        "DELETE FROM contact_access WHERE contact_id = ? AND identity_id = ?",
        (row["id"], identity_id),
    ):
        raise ApiError(404, "Access grant not found")


# -- vCards ------------------------------------------------------------------------


def import_cards(db: Db, principal: Principal, cards: list[ParsedCard]) -> dict[str, Any]:
    """``POST /contacts/import``: create the readable cards, report the others by index."""
    results: list[dict[str, Any]] = []
    for parsed in cards:
        if parsed.error is not None:
            results.append(
                {"index": parsed.index, "status": "error", "contact": None, "error": parsed.error}
            )
            continue
        row = insert_contact(
            db,
            principal.organization_id,
            parsed.card,
            "wildcard",
            source="vcard",
            creator_identity_id=principal.identity_id,
        )
        results.append(
            {
                "index": parsed.index,
                "status": "created",
                "contact": contact_record(db, row),
                "error": None,
            }
        )
    created = sum(1 for r in results if r["status"] == "created")
    return {"created_count": created, "error_count": len(results) - created, "results": results}


def export_one(db: Db, principal: Principal, contact_id: str) -> dict[str, Any]:
    """The contact ``GET /contacts/{id}.vcf`` writes as a card."""
    return contact_record(db, _find(db, principal, contact_id))


def export_many(db: Db, principal: Principal, contact_ids: list[str]) -> list[dict[str, Any]]:
    """The contacts ``POST /contacts/vcard-export`` writes, in the order asked."""
    return [contact_record(db, _find(db, principal, i)) for i in dict.fromkeys(contact_ids)]
