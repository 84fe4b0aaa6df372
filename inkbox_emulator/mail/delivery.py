"""Storing mail: threads, outbound messages, local delivery, inbound mail, the outbox.

Threading: a message joins the thread of the newest message of the same
mailbox whose RFC 5322 ``Message-ID`` is its ``In-Reply-To`` or, failing
that, one of its ``References`` (last first); otherwise it starts a thread.
Blocked inbound mail only threads with other blocked mail (folder
``blocked``). New inbound mail brings an archived thread back to the inbox.

Outbound mail is stored with status ``sent``. Every recipient that is a live
emulator mailbox (any organisation) gets an inbound copy at once (same
``Message-ID``, no BCC list, subject to that mailbox's contact rules). The
other recipients form one **outbox** entry: what the outside world received.
After the emulator's ``delivery_delay`` the planned outcome is applied to the
outbox entry and the message (``delivered``, ``bounced`` or ``failed``, from
:func:`set_delivery_outcome` patterns; ``failed`` beats ``bounced`` beats
``delivered``) and the matching ``message.*`` webhook fires.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.events import DeliveryDue
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso
from inkbox_emulator.webhooks.fanout import emit_mail_event

from .model import (
    addresses,
    dumps_list,
    is_email,
    message_detail,
    message_record,
    snippet_of,
)
from .parse import InjectRequest, NewAttachment
from .rules import verdict

__all__ = [
    "OUTCOMES",
    "complete_delivery",
    "deliver_inbound",
    "inject_inbound",
    "list_outbox",
    "local_mailbox",
    "new_message_id",
    "record_open",
    "send_outbound",
    "set_delivery_outcome",
]

OUTCOMES = ("delivered", "bounced", "failed")


def new_message_id(db: Db) -> str:
    """A fresh RFC 5322 ``Message-ID`` on the platform mail domain."""
    return f"<{uuid.uuid4()}@{db.settings.mail_domain}>"


def bracketed(message_id: str) -> str:
    """``<id>`` form of a Message-ID given with or without angle brackets."""
    value = message_id.strip()
    return value if value.startswith("<") and value.endswith(">") else f"<{value}>"


def local_mailbox(db: Db, address: str) -> Any:
    """The live emulator mailbox with this address (any organisation), or ``None``."""
    return db.one(
        "SELECT * FROM mailboxes WHERE lower(email_address) = lower(?) AND status != 'deleted'",
        (address.strip(),),
    )


def _unique(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        key = value.strip().lower()
        if key not in seen:
            seen.add(key)
            result.append(value.strip())
    return result


def find_thread(db: Db, mailbox_id: str, ids: list[str], *, blocked: bool) -> str | None:
    """The live thread of the newest message whose Message-ID is one of ``ids`` (in order)."""
    for message_id in ids:
        row = db.one(
            "SELECT m.thread_id FROM mail_messages m JOIN mail_threads t ON t.id = m.thread_id "
            "WHERE m.mailbox_id = ? AND m.message_id = ? AND t.deleted_at IS NULL "
            "AND (t.folder = 'blocked') = ? ORDER BY m.created_at DESC, m.rowid DESC LIMIT 1",
            (mailbox_id, message_id, int(blocked)),
        )
        if row is not None:
            return str(row["thread_id"])
    return None


def new_thread(db: Db, mailbox_id: str, subject: str | None, folder: str = "inbox") -> str:
    """Create an empty thread; returns its id."""
    thread_id = str(uuid.uuid4())
    db.insert(
        "mail_threads",
        {
            "id": thread_id,
            "mailbox_id": mailbox_id,
            "subject": subject,
            "folder": folder,
            "last_message_at": db.now,
            "created_at": db.now,
        },
    )
    return thread_id


def insert_message(
    db: Db,
    mailbox: Any,
    thread_id: str,
    *,
    message_id: str,
    from_address: str,
    to: list[str],
    cc: list[str] | None,
    bcc: list[str] | None,
    subject: str | None,
    body_text: str | None,
    body_html: str | None,
    direction: str,
    status: str,
    in_reply_to: str | None,
    references: list[str] | None,
    attachments: list[NewAttachment],
    reply_to: str | None = None,
    track_opens: bool = False,
) -> Any:
    """Store one message (and its attachments) in ``thread_id``; returns the row."""
    row_id = str(uuid.uuid4())
    db.insert(
        "mail_messages",
        {
            "id": row_id,
            "mailbox_id": mailbox["id"],
            "thread_id": thread_id,
            "message_id": message_id,
            "from_address": from_address,
            "to_addresses": json.dumps(to),
            "cc_addresses": dumps_list(cc or None),
            "bcc_addresses": dumps_list(bcc or None),
            "reply_to": reply_to,
            "subject": subject,
            "body_text": body_text,
            "body_html": body_html,
            "snippet": snippet_of(body_text, body_html),
            "attachment_count": len(attachments),
            "direction": direction,
            "status": status,
            "is_read": int(direction == "outbound"),
            "is_starred": 0,
            "in_reply_to": in_reply_to,
            '"references"': dumps_list(references or None),
            "ses_message_id": f"ses-{secrets.token_hex(12)}" if direction == "outbound" else None,
            "track_opens": int(track_opens),
            "created_at": db.now,
            "updated_at": db.now,
        },
    )
    for position, attachment in enumerate(attachments):
        db.insert(
            "mail_attachments",
            {
                "id": str(uuid.uuid4()),
                "message_row_id": row_id,
                "position": position,
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": len(attachment.content),
                "content": attachment.content,
                "content_id": attachment.content_id,
            },
        )
    if direction == "inbound":
        db.exec(
            "UPDATE mail_threads SET folder = 'inbox' WHERE id = ? AND folder = 'archive'",
            (thread_id,),
        )
    db.exec("UPDATE mail_threads SET last_message_at = ? WHERE id = ?", (db.now, thread_id))
    return db.one("SELECT * FROM mail_messages WHERE id = ?", (row_id,))


def deliver_inbound(
    db: Db,
    mailbox: Any,
    *,
    message_id: str,
    from_address: str,
    to: list[str],
    cc: list[str] | None,
    subject: str | None,
    body_text: str | None,
    body_html: str | None,
    in_reply_to: str | None,
    references: list[str] | None,
    attachments: list[NewAttachment],
    reply_to: str | None = None,
) -> Any:
    """Store an inbound message in ``mailbox`` (threading, contact rules, webhook)."""
    allowed = verdict(db, mailbox, from_address)
    chain = ([in_reply_to] if in_reply_to else []) + list(reversed(references or []))
    thread_id = find_thread(db, mailbox["id"], chain, blocked=not allowed)
    if thread_id is None:
        thread_id = new_thread(db, mailbox["id"], subject, "inbox" if allowed else "blocked")
    row = insert_message(
        db,
        mailbox,
        thread_id,
        message_id=message_id,
        from_address=from_address,
        to=to,
        cc=cc,
        bcc=None,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        direction="inbound",
        status="received",
        in_reply_to=in_reply_to,
        references=references,
        attachments=attachments,
        reply_to=reply_to,
    )
    if allowed:
        emit_mail_event(db, mailbox, row, "message.received")
    return row


def _planned_outcome(db: Db, recipients: list[str]) -> str:
    outcomes = set()
    for address in recipients:
        key = address.strip().lower()
        for pattern in (key, "@" + key.rpartition("@")[2]):
            row = db.one("SELECT outcome FROM delivery_outcomes WHERE pattern = ?", (pattern,))
            if row is not None:
                outcomes.add(str(row["outcome"]))
                break
    for outcome in ("failed", "bounced"):
        if outcome in outcomes:
            return outcome
    return "delivered"


def send_outbound(
    db: Db,
    mailbox: Any,
    *,
    to: list[str],
    cc: list[str],
    bcc: list[str],
    subject: str | None,
    body_text: str | None,
    body_html: str | None,
    in_reply_to: str | None,
    references: list[str] | None,
    thread_id: str | None,
    attachments: list[NewAttachment],
    event_type: str,
    reply_to: str | None = None,
    track_opens: bool = False,
) -> Any:
    """Store an outbound message, deliver local copies, queue the outside delivery."""
    message_id = new_message_id(db)
    if thread_id is None:
        thread_id = new_thread(db, mailbox["id"], subject)
    row = insert_message(
        db,
        mailbox,
        thread_id,
        message_id=message_id,
        from_address=mailbox["email_address"],
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        direction="outbound",
        status="sent",
        in_reply_to=in_reply_to,
        references=references,
        attachments=attachments,
        reply_to=reply_to,
        track_opens=track_opens,
    )
    external: list[str] = []
    for address in _unique([*to, *cc, *bcc]):
        target = local_mailbox(db, address)
        if target is None:
            external.append(address)
            continue
        deliver_inbound(
            db,
            target,
            message_id=message_id,
            from_address=mailbox["email_address"],
            to=to,
            cc=cc or None,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            in_reply_to=in_reply_to,
            references=references,
            attachments=attachments,
            reply_to=reply_to,
        )
    if external:
        db.insert(
            "mail_outbox",
            {
                "id": str(uuid.uuid4()),
                "organization_id": mailbox["organization_id"],
                "mailbox_id": mailbox["id"],
                "message_row_id": row["id"],
                "recipients": json.dumps(external),
                "outcome": _planned_outcome(db, external),
                "status": "sent",
                "created_at": db.now,
                "updated_at": db.now,
            },
        )
    emit_mail_event(db, mailbox, row, event_type)
    db.emit(DeliveryDue(message_row_id=str(row["id"])))
    return row


def complete_delivery(db: Db, message_row_id: str) -> None:
    """Apply the planned outcome of a ``sent`` message and fire its webhook."""
    row = db.one("SELECT * FROM mail_messages WHERE id = ?", (message_row_id,))
    if row is None or row["status"] != "sent":
        return
    outbox = db.one("SELECT * FROM mail_outbox WHERE message_row_id = ?", (message_row_id,))
    outcome = str(outbox["outcome"]) if outbox is not None else "delivered"
    db.exec(
        "UPDATE mail_messages SET status = ?, updated_at = ? WHERE id = ?",
        (outcome, db.now, message_row_id),
    )
    if outbox is not None:
        db.exec(
            "UPDATE mail_outbox SET status = ?, updated_at = ? WHERE id = ?",
            (outcome, db.now, outbox["id"]),
        )
    mailbox = db.one("SELECT * FROM mailboxes WHERE id = ?", (row["mailbox_id"],))
    updated = db.one("SELECT * FROM mail_messages WHERE id = ?", (message_row_id,))
    if mailbox is not None and mailbox["status"] != "deleted":
        emit_mail_event(db, mailbox, updated, f"message.{outcome}")


def set_delivery_outcome(db: Db, pattern: str, outcome: str) -> dict[str, str]:
    """Make outside deliveries to an address (or ``@domain``) end with ``outcome``.

    ``delivered`` removes the override (the default outcome).
    """
    key = pattern.strip().lower()
    if outcome not in OUTCOMES:
        raise ApiError(422, f"outcome must be one of {', '.join(OUTCOMES)}")
    domain = key[1:] if key.startswith("@") else None
    if (domain is not None and ("." not in domain or "@" in domain)) or (
        domain is None and not is_email(key)
    ):
        raise ApiError(422, "pattern must be an email address or '@domain'")
    if outcome == "delivered":
        db.exec("DELETE FROM delivery_outcomes WHERE pattern = ?", (key,))
    else:
        db.exec(
            "INSERT INTO delivery_outcomes (pattern, outcome) VALUES (?, ?) "
            "ON CONFLICT(pattern) DO UPDATE SET outcome = excluded.outcome",
            (key, outcome),
        )
    return {"pattern": key, "outcome": outcome}


def _outbox_record(db: Db, entry: Any) -> dict[str, Any]:
    message: Any = db.one("SELECT * FROM mail_messages WHERE id = ?", (entry["message_row_id"],))
    attachments = db.all(
        "SELECT * FROM mail_attachments WHERE message_row_id = ? ORDER BY position",
        (entry["message_row_id"],),
    )
    refs = message["references"]
    return {
        "id": entry["id"],
        "organization_id": entry["organization_id"],
        "mailbox_id": entry["mailbox_id"],
        "message_row_id": entry["message_row_id"],
        "message_id": message["message_id"],
        "from_address": message["from_address"],
        "to_addresses": addresses(message["to_addresses"]) or [],
        "cc_addresses": addresses(message["cc_addresses"]) or [],
        "bcc_addresses": addresses(message["bcc_addresses"]) or [],
        "recipients": json.loads(entry["recipients"]),
        "reply_to": message["reply_to"],
        "subject": message["subject"],
        "body_text": message["body_text"],
        "body_html": message["body_html"],
        "attachments": [
            {
                "filename": a["filename"],
                "content_type": a["content_type"],
                "size": a["size"],
                "content_base64": base64.b64encode(a["content"]).decode(),
            }
            for a in attachments
        ],
        "in_reply_to": message["in_reply_to"],
        "references": [] if refs is None else json.loads(refs),
        "status": entry["status"],
        "created_at": iso(entry["created_at"]),
        "updated_at": iso(entry["updated_at"]),
    }


def list_outbox(db: Db, organization_id: str | None = None) -> list[dict[str, Any]]:
    """External deliveries, oldest first (optionally of one organisation)."""
    if organization_id is None:
        rows = db.all("SELECT * FROM mail_outbox ORDER BY created_at, rowid")
    else:
        rows = db.all(
            "SELECT * FROM mail_outbox WHERE organization_id = ? ORDER BY created_at, rowid",
            (organization_id,),
        )
    return [_outbox_record(db, r) for r in rows]


def inject_inbound(db: Db, request: InjectRequest) -> dict[str, Any]:
    """Mail from the outside world to every emulator mailbox among ``to`` and ``cc``.

    Returns the stored copy of the first such mailbox (MessageDetail shape);
    404 when no recipient is an emulator mailbox.
    """
    targets = [m for m in (local_mailbox(db, a) for a in _unique([*request.to, *request.cc])) if m]
    if not targets:
        raise ApiError(404, "None of the recipients is an emulator mailbox")
    domain = request.from_address.rpartition("@")[2]
    rfc_id = bracketed(request.message_id) if request.message_id else f"<{uuid.uuid4()}@{domain}>"
    rows = [
        deliver_inbound(
            db,
            mailbox,
            message_id=rfc_id,
            from_address=request.from_address,
            to=request.to,
            cc=request.cc or None,
            subject=request.subject,
            body_text=request.body_text,
            body_html=request.body_html,
            in_reply_to=bracketed(request.in_reply_to) if request.in_reply_to else None,
            references=[bracketed(r) for r in request.references] or None,
            attachments=request.attachments,
        )
        for mailbox in targets
    ]
    return message_detail(db, rows[0])


def record_open(db: Db, message_row_id: str) -> dict[str, Any]:
    """A recipient opened a sent message: count it when the send asked for ``track_opens``."""
    row = db.one("SELECT * FROM mail_messages WHERE id = ?", (message_row_id,))
    if row is None or row["direction"] != "outbound":
        raise ApiError(404, "No sent message with that id")
    if row["track_opens"]:
        db.exec(
            "UPDATE mail_messages SET open_count = open_count + 1, "
            "first_opened_at = COALESCE(first_opened_at, ?), updated_at = ? WHERE id = ?",
            (db.now, db.now, message_row_id),
        )
    return message_record(db.one("SELECT * FROM mail_messages WHERE id = ?", (message_row_id,)))
