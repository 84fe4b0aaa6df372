"""Org address-book contacts (seeded through the control API) and webhook contact matching.

Matching follows webhooks.md §3.4: inbound events resolve ``from`` and every
``cc``; outbound events resolve every ``to``, ``cc`` and ``bcc``. Entries keep
the address's casing from the message, appear once per (bucket, address), are
ordered ``from``, ``to``, ``cc``, ``bcc``, and the list is empty when more than
50 distinct normalised addresses would have to be resolved. Text and call
webhooks carry one ``contact`` (``{id, name}`` or ``None``): the oldest contact
of the org listing the remote E.164 number among its ``phones``
(webhooks.md §5). The emulator's contacts are visible to every identity of the
org (wildcard access).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from ._accounts import require_org
from ._errors import ApiError
from ._mail_model import addresses, is_email
from ._store import Db
from ._times import iso

__all__ = ["MAX_RESOLVED", "add_contact", "contact_record", "match_contacts", "match_phone_contact"]

MAX_RESOLVED = 50
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def contact_record(row: Any) -> dict[str, Any]:
    """A Contact (account.md §6.8) with the fields the emulator keeps."""
    emails = json.loads(row["emails"])
    phones = json.loads(row["phones"])
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "preferred_name": row["name"],
        "emails": [
            {"label": None, "value": value, "is_primary": index == 0}
            for index, value in enumerate(emails)
        ],
        "phones": [
            {"label": None, "value_e164": value, "is_primary": index == 0}
            for index, value in enumerate(phones)
        ],
        "status": "active",
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


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
    row = {
        "id": str(uuid.uuid4()),
        "organization_id": organization_id,
        "name": name,
        "emails": json.dumps([e.strip() for e in emails]),
        "phones": json.dumps(numbers),
        "created_at": db.now,
        "updated_at": db.now,
    }
    db.insert("contacts", row)
    return contact_record(row)


def match_contacts(db: Db, organization_id: str, message: Any) -> list[dict[str, Any]]:
    """The ``contacts`` list of a mail webhook for a stored message row."""
    if message["direction"] == "inbound":
        buckets = [
            ("from", [message["from_address"]]),
            ("cc", addresses(message["cc_addresses"]) or []),
        ]
    else:
        buckets = [
            ("to", addresses(message["to_addresses"]) or []),
            ("cc", addresses(message["cc_addresses"]) or []),
            ("bcc", addresses(message["bcc_addresses"]) or []),
        ]
    wanted = {a.strip().lower() for _, values in buckets for a in values}
    if not wanted or len(wanted) > MAX_RESOLVED:
        return []
    index: dict[str, Any] = {}
    rows = db.all(
        "SELECT * FROM contacts WHERE organization_id = ? ORDER BY created_at, rowid",
        (organization_id,),
    )
    for row in rows:
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


def match_phone_contact(db: Db, organization_id: str, number: str) -> dict[str, Any] | None:
    """The ``WebhookContact`` (``{id, name}``) of the org's oldest contact listing ``number``."""
    rows = db.all(
        "SELECT id, name, phones FROM contacts WHERE organization_id = ? "
        "ORDER BY created_at, rowid",
        (organization_id,),
    )
    for row in rows:
        if number in json.loads(row["phones"]):
            return {"id": row["id"], "name": row["name"]}
    return None
