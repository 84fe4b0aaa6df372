"""Webhook contact matching over the address book, and the control API's ``add_contact``.

Matching, as the service does it: inbound events resolve ``from`` and every
``cc``; outbound events resolve every ``to``, ``cc`` and ``bcc``. Entries keep
the address's casing from the message, appear once per (bucket, address), are
ordered ``from``, ``to``, ``cc``, ``bcc``, and the list is empty when more than
50 distinct normalised addresses would have to be resolved. Text and call
webhooks carry one ``contact`` (``{id, name}`` or ``None``): the oldest contact
of the org listing the remote E.164 number among its ``phones``.
Contacts come from the address book (``contacts.address_book``:
created through the API, imported from vCards, or seeded here); mail matches
only see the contacts visible to the identity that owns the mailbox, and merged
contacts never match.
"""

from __future__ import annotations

import json
import re
from typing import Any

from inkbox_emulator.accounts.model import require_org
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.mail.model import is_email, party_buckets

from .address_book import contact_record, insert_contact, visible_contact_ids

__all__ = ["MAX_RESOLVED", "add_contact", "match_contacts", "match_phone_contact"]

MAX_RESOLVED = 50
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def add_contact(
    db: Db,
    organization_id: str,
    name: str,
    emails: list[str],
    phones: list[str] | None = None,
) -> dict[str, Any]:
    """Create a contact of the org with a display name, email addresses and E.164 numbers."""
    require_org(db, organization_id)
    if not name.strip():
        raise ApiError(422, "name must not be empty")
    bad = [e for e in emails if not is_email(e.strip())]
    if bad:
        raise ApiError(422, f"not valid email addresses: {', '.join(bad)}")
    numbers = [p.strip() for p in phones or []]
    bad = [p for p in numbers if not _E164.fullmatch(p)]
    if bad:
        raise ApiError(422, f"not valid E.164 phone numbers: {', '.join(bad)}")
    card: dict[str, Any] = {"preferred_name": name}
    if emails:
        card["emails"] = [
            {"value": e.strip(), "label": None, "is_primary": i == 0} for i, e in enumerate(emails)
        ]
    if numbers:
        card["phones"] = [
            {"value_e164": p, "label": None, "is_primary": i == 0} for i, p in enumerate(numbers)
        ]
    return contact_record(db, insert_contact(db, organization_id, card, "wildcard"))


def match_contacts(db: Db, organization_id: str, message: Any) -> list[dict[str, Any]]:
    """The ``contacts`` list of a mail webhook for a stored message row."""
    buckets = party_buckets(message)
    wanted = {a.strip().lower() for _, values in buckets for a in values}
    if not wanted or len(wanted) > MAX_RESOLVED:
        return []
    index: dict[str, Any] = {}
    owner = db.one("SELECT agent_identity_id FROM mailboxes WHERE id = ?", (message["mailbox_id"],))
    visible = visible_contact_ids(
        db, organization_id, owner["agent_identity_id"] if owner else None
    )
    rows = db.all(
        "SELECT * FROM contacts WHERE organization_id = ? ORDER BY created_at, rowid",
        (organization_id,),
    )
    for row in rows:
        if row["id"] not in visible:
            continue
        for email in json.loads(row["emails"]):
            index.setdefault(str(email).lower(), row)
    result: list[dict[str, Any]] = []
    for bucket, values in buckets:
        seen: set[str] = set()
        for value in values:
            key = value.strip().lower()
            contact = index.get(key)
            if contact is None or key in seen:
                continue
            seen.add(key)
            result.append(
                {"bucket": bucket, "address": value, "id": contact["id"], "name": contact["name"]}
            )
    return result


def match_phone_contact(
    db: Db, organization_id: str, number: str, identity_id: str | None = None
) -> dict[str, Any] | None:
    """The ``WebhookContact`` (``{id, name}``) of the org's oldest contact listing ``number``.

    With ``identity_id``, only contacts visible to that identity are considered.
    """
    visible = visible_contact_ids(db, organization_id, identity_id)
    rows = db.all(
        "SELECT id, name, phones FROM contacts WHERE organization_id = ? "
        "ORDER BY created_at, rowid",
        (organization_id,),
    )
    for row in rows:
        if row["id"] in visible and number in json.loads(row["phones"]):
            return {"id": row["id"], "name": row["name"]}
    return None
