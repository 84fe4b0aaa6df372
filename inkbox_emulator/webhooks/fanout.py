"""Mail and text events fanned out to the webhook subscriptions that want them.

Since the service dropped ``webhook_url`` / ``incoming_text_webhook_url``,
every mail and text event is delivered only through
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
from collections.abc import Callable
from typing import Any

from inkbox_emulator.contacts.matching import match_contacts, match_phone_contact
from inkbox_emulator.core.events import WebhookEvent
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso
from inkbox_emulator.mail.model import html_text, party_buckets, webhook_message
from inkbox_emulator.phone.model import call_record

from .context import ContextTrigger, context_builder

__all__ = [
    "WEBHOOK_BODY_CHARS",
    "emit_call_ended",
    "emit_mail_event",
    "emit_text_event",
    "fan_out",
    "phone_parties",
]

WEBHOOK_BODY_CHARS = 16_384
"""The most body characters a ``message.received`` delivery carries inline."""


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
    context: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """Queue one signed delivery of the event per matching subscription.

    ``context`` builds ``data.context`` from a subscription's
    ``context_config`` (only for the ``*.received`` events that carry one).
    """
    subscriptions = _subscriptions(
        db, organization_id, event_type, identity_id, mailbox_id, phone_number_id
    )
    if not subscriptions:
        return
    event_id = "evt_" + uuid.uuid4().hex
    envelope = {"id": event_id, "event_type": event_type, "timestamp": iso(db.now), "data": data}
    plain = json.dumps(envelope, separators=(",", ":")).encode()
    for sub in subscriptions:
        body = plain
        if context is not None and sub["context_config"] is not None:
            with_context = {**data, "context": context(json.loads(sub["context_config"]))}
            body = json.dumps({**envelope, "data": with_context}, separators=(",", ":")).encode()
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
    buckets = party_buckets(message)
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


def _body_fields(message: Any, received: bool) -> dict[str, Any]:
    """The optional body fields: filled on ``message.received``, null on other events."""
    fields: dict[str, Any] = dict.fromkeys(
        ("body", "body_state", "body_truncated", "body_total_chars", "body_included_chars")
    )
    if not received:
        return fields
    text = message["body_text"] or html_text(message["body_html"]) or ""
    if not text:
        return {**fields, "body_state": "unavailable"}
    included = text[:WEBHOOK_BODY_CHARS]
    cut = len(included) < len(text)
    return {
        "body": included,
        "body_state": "truncated" if cut else "complete",
        "body_truncated": cut,
        "body_total_chars": len(text),
        "body_included_chars": len(included),
    }


def emit_mail_event(db: Db, mailbox: Any, message: Any, event_type: str) -> None:
    """Deliver a mail event of ``mailbox`` to the subscriptions that want it."""
    organization_id = str(mailbox["organization_id"])
    received = event_type == "message.received"
    contacts = [_with_memories(c) for c in match_contacts(db, organization_id, message)]
    data = {
        "message": {
            **webhook_message(message),
            "email_address": mailbox["email_address"],
            **_body_fields(message, received),
        },
        "contacts": contacts,
        "agent_identities": _mail_identities(db, organization_id, message),
    }
    trigger = ContextTrigger(
        organization_id=organization_id,
        identity_id=mailbox["agent_identity_id"],
        kind="mail",
        trigger_id=str(message["id"]),
        created_at=float(message["created_at"]),
        thread_id=message["thread_id"],
        contact_id=contacts[0]["id"] if contacts else None,
    )
    fan_out(
        db,
        organization_id=organization_id,
        event_type=event_type,
        data=data,
        identity_id=mailbox["agent_identity_id"],
        mailbox_id=str(mailbox["id"]),
        context=context_builder(db, trigger) if received else None,
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
    received = event_type == "text.received"
    trigger = ContextTrigger(
        organization_id=organization_id,
        identity_id=owner,
        kind="text",
        trigger_id=str(message["id"]),
        created_at=db.now,
        phone_number_id=str(number["id"]),
        remote_number=remote,
        contact_id=contacts[0]["id"] if contacts else None,
    )
    fan_out(
        db,
        organization_id=organization_id,
        event_type=event_type,
        data=data,
        identity_id=owner,
        phone_number_id=str(number["id"]),
        context=context_builder(db, trigger) if received else None,
    )


_CALL_KEYS = (
    "id",
    "origin",
    "local_phone_number",
    "remote_phone_number",
    "direction",
    "status",
    "hangup_reason",
    "started_at",
    "ended_at",
    "created_at",
    "updated_at",
    "mode",
    "reason",
)


def emit_call_ended(db: Db, call: Any) -> None:
    """Deliver ``call.ended`` for a stored call row that just ended (never a blocked one)."""
    if call["is_blocked"]:
        return
    number = db.one("SELECT * FROM phone_numbers WHERE id = ?", (call["phone_number_id"],))
    if number is None:
        return
    organization_id = str(number["organization_id"])
    owner = number["agent_identity_id"]
    record = call_record(call)
    started, ended = call["started_at"], call["ended_at"]
    turns = db.all(
        "SELECT party, text, ts_ms FROM phone_transcripts WHERE call_id = ? ORDER BY seq",
        (call["id"],),
    )
    url = f"{db.public_url}/api/v1/phone/calls/{call['id']}/transcripts"
    contacts, identities = phone_parties(db, organization_id, call["remote_phone_number"], owner)
    data = {
        "call": {
            **{key: record[key] for key in _CALL_KEYS},
            "duration_seconds": None if started is None or ended is None else int(ended - started),
        },
        "contacts": contacts,
        "agent_identities": identities,
        "transcript": {
            "entries": [
                {"party": t["party"], "text": t["text"], "ts_ms": t["ts_ms"]} for t in turns
            ],
            "abridged": False,
            "url": url,
        }
        if turns
        else None,
        "transcript_url": url,
    }
    fan_out(
        db,
        organization_id=organization_id,
        event_type="call.ended",
        data=data,
        identity_id=owner,
        phone_number_id=str(number["id"]),
    )
