"""Mail and text events fanned out to the webhook subscriptions that want them.

Since the service dropped ``webhook_url`` / ``incoming_text_webhook_url``
(changes-0.7.20.md §5), every mail and text event is delivered only through
webhook subscriptions: each active subscription of the owning identity (or a
legacy one owned by the event's mailbox or phone number) whose
``event_types`` lists the event gets one signed POST. One event has one
envelope ``id`` (``evt_…``), the same in every subscription's delivery and in
every replay.

Payload shapes (current wire): mail ``data`` is ``{message, contacts,
agent_identities}``; text ``data`` is ``{text_message, contacts,
agent_identities, recipient_phone_number}`` where the message also carries
``conversation_id``, ``sender_phone_number`` and ``recipients`` (``null`` for
one-to-one texts). ``recipient_phone_number`` is the number the event is
about on the receiving side: the remote number of an outbound text, our own
number for an inbound one. Contacts come from the address book (visible to
the owning identity) as ``{id, name, memories}``; ``agent_identities`` are the
org's other live identities whose address or number takes part.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ._contacts import match_contacts, match_phone_contact
from ._events import WebhookEvent
from ._mail_model import addresses, webhook_message
from ._store import Db
from ._times import iso

__all__ = ["emit_mail_event", "emit_text_event", "fan_out", "phone_parties"]


def _subscriptions(
    db: Db,
    organization_id: str,
    event_type: str,
    identity_id: str | None,
    mailbox_id: str | None,
    phone_number_id: str | None,
) -> list[Any]:
    rows = db.all(
        "SELECT * FROM webhook_subscriptions WHERE organization_id = ? AND status = 'active' "
        "AND ((owner_identity_id IS NOT NULL AND owner_identity_id = ?) "
        "OR (mailbox_id IS NOT NULL AND mailbox_id = ?) "
        "OR (phone_number_id IS NOT NULL AND phone_number_id = ?)) "
        "ORDER BY created_at, rowid",
        (organization_id, identity_id, mailbox_id, phone_number_id),
    )
    return [r for r in rows if event_type in json.loads(r["event_types"])]


def fan_out(
    db: Db,
    *,
    organization_id: str,
    event_type: str,
    data: dict[str, Any],
    identity_id: str | None,
    mailbox_id: str | None = None,
    phone_number_id: str | None = None,
) -> None:
    """Queue one signed delivery of the event per matching subscription."""
    subscriptions = _subscriptions(
        db, organization_id, event_type, identity_id, mailbox_id, phone_number_id
    )
    if not subscriptions:
        return
    event_id = "evt_" + uuid.uuid4().hex
    envelope = {"id": event_id, "event_type": event_type, "timestamp": iso(db.now), "data": data}
    body = json.dumps(envelope, separators=(",", ":")).encode()
    for sub in subscriptions:
        db.emit(
            WebhookEvent(
                organization_id=organization_id,
                url=str(sub["url"]),
                event_type=event_type,
                body=body,
                mailbox_id=mailbox_id,
                phone_number_id=phone_number_id,
                subscription_id=str(sub["id"]),
                event_id=event_id,
                signer_identity_id=sub["owner_identity_id"],
                auth_token=sub["auth_token"],
            )
        )


def _with_memories(contact: dict[str, Any]) -> dict[str, Any]:
    return {**contact, "memories": []}


def _identity_entry(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "agent_handle": row["agent_handle"],
        "display_name": row["display_name"],
    }


def _mail_identities(db: Db, organization_id: str, message: Any) -> list[dict[str, Any]]:
    """Identities of the org whose mailbox address appears (same buckets as contacts)."""
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
    rows = db.all(
        "SELECT i.*, m.email_address AS mailbox_address FROM identities i "
        "JOIN mailboxes m ON m.agent_identity_id = i.id "
        "WHERE i.organization_id = ? AND i.status != 'deleted' AND m.status != 'deleted'",
        (organization_id,),
    )
    by_address = {str(r["mailbox_address"]).lower(): r for r in rows}
    owner = _mailbox_owner(db, message)
    result: list[dict[str, Any]] = []
    for bucket, values in buckets:
        seen: set[str] = set()
        for value in values:
            key = value.strip().lower()
            row = by_address.get(key)
            if row is None or key in seen or row["id"] == owner:
                continue
            seen.add(key)
            result.append({"bucket": bucket, "address": value, **_identity_entry(row)})
    return result


def _mailbox_owner(db: Db, message: Any) -> str | None:
    row = db.one("SELECT agent_identity_id FROM mailboxes WHERE id = ?", (message["mailbox_id"],))
    return None if row is None else row["agent_identity_id"]


def emit_mail_event(db: Db, mailbox: Any, message: Any, event_type: str) -> None:
    """Deliver a mail event of ``mailbox`` to the subscriptions that want it."""
    organization_id = str(mailbox["organization_id"])
    data = {
        "message": webhook_message(message),
        "contacts": [_with_memories(c) for c in match_contacts(db, organization_id, message)],
        "agent_identities": _mail_identities(db, organization_id, message),
    }
    fan_out(
        db,
        organization_id=organization_id,
        event_type=event_type,
        data=data,
        identity_id=mailbox["agent_identity_id"],
        mailbox_id=str(mailbox["id"]),
    )


def phone_parties(
    db: Db, organization_id: str, remote_number: str | None, owner_identity_id: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(contacts, agent_identities)`` matching a remote phone number."""
    if not remote_number:
        return [], []
    contact = match_phone_contact(db, organization_id, remote_number, owner_identity_id)
    rows = db.all(
        "SELECT i.* FROM identities i JOIN phone_numbers p ON p.agent_identity_id = i.id "
        "WHERE i.organization_id = ? AND i.status != 'deleted' AND p.status != 'released' "
        "AND p.number = ? ORDER BY i.created_at",
        (organization_id, remote_number),
    )
    identities = [_identity_entry(r) for r in rows if r["id"] != owner_identity_id]
    return ([_with_memories(contact)] if contact else []), identities


def emit_text_event(db: Db, number: Any, message: dict[str, Any], event_type: str) -> None:
    """Deliver a text event of ``number`` (``message``: the record minus ``is_blocked``)."""
    organization_id = str(number["organization_id"])
    owner = number["agent_identity_id"]
    inbound = message["direction"] == "inbound"
    remote = message.get("remote_phone_number")
    message = {
        **message,
        "conversation_id": message.get("conversation_id"),
        "sender_phone_number": message.get(
            "sender_phone_number", remote if inbound else message["local_phone_number"]
        ),
        "recipients": message.get("recipients"),
    }
    contacts, identities = phone_parties(db, organization_id, remote, owner)
    data = {
        "text_message": message,
        "contacts": contacts,
        "agent_identities": identities,
        "recipient_phone_number": message["local_phone_number"] if inbound else remote,
    }
    fan_out(
        db,
        organization_id=organization_id,
        event_type=event_type,
        data=data,
        identity_id=owner,
        phone_number_id=str(number["id"]),
    )
