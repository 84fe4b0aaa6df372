"""Send and forward, with the restrictions on signed-up agents.

``in_reply_to_message_id`` may be the RFC 5322 ``Message-ID`` of a message of
the mailbox (with or without angle brackets) or the Inkbox row id of one (as
the 0.4.4 README passes it); the reply joins that message's thread and gets
``In-Reply-To``/``References`` headers from it. An id that matches nothing is
kept as the ``In-Reply-To`` header and the reply starts a new thread.

Signed-up agents (mailboxes of an identity created by agent signup):

* while **unclaimed** every recipient (to, cc, bcc) must be the signup's
  ``human_email``; anything else answers **403** with
  ``{"error": "recipient_not_allowed", "message", "address", "allowed_recipients"}``;
* sends and forwards are capped per rolling 24 h of the emulator clock,
  **10** unclaimed / **500** claimed; the next one answers **429** with
  ``{"error": "daily_send_limit_exceeded", "message", "limit", "window_seconds",
  "retry_after_seconds"}`` and a ``Retry-After`` header.

Both are checked before anything is stored; the 403 comes first.
"""

from __future__ import annotations

import html
import math
import re
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.identities.records import storage_limit, storage_used

from .delivery import bracketed, send_outbound
from .mailboxes import find_mailbox
from .model import addresses, message_record
from .parse import ForwardRequest, NewAttachment, ReplyAllRequest, SendRequest
from .rules import outbound_block

__all__ = [
    "CLAIMED_DAILY_LIMIT",
    "UNCLAIMED_DAILY_LIMIT",
    "WINDOW_SECONDS",
    "check_storage",
    "forward_message",
    "reply_all_message",
    "send_message",
]

UNCLAIMED_DAILY_LIMIT = 10
CLAIMED_DAILY_LIMIT = 500
WINDOW_SECONDS = 24 * 3600
_FWD = re.compile(r"^\s*(fwd?|fw)\s*:", re.IGNORECASE)
_RE = re.compile(r"^\s*re\s*:", re.IGNORECASE)


def check_signup_limits(db: Db, mailbox: Any, recipients: list[str]) -> None:
    """The unclaimed-recipient rule and the daily cap (see module docstring)."""
    signup = db.one("SELECT * FROM signups WHERE identity_id = ?", (mailbox["agent_identity_id"],))
    if signup is None:
        return
    claimed = signup["claim_status"] == "agent_claimed"
    if not claimed:
        human = str(signup["human_email"])
        for address in recipients:
            if address.strip().lower() != human.lower():
                raise ApiError(
                    403,
                    {
                        "error": "recipient_not_allowed",
                        "message": "Unclaimed agents may only send email to their human "
                        f"({human}) until the human claims them",
                        "address": address,
                        "allowed_recipients": [human],
                    },
                )
    limit = CLAIMED_DAILY_LIMIT if claimed else UNCLAIMED_DAILY_LIMIT
    sent = db.all(
        "SELECT created_at FROM mail_messages WHERE mailbox_id = ? AND direction = 'outbound' "
        "AND created_at > ? ORDER BY created_at",
        (mailbox["id"], db.now - WINDOW_SECONDS),
    )
    if len(sent) >= limit:
        retry = max(1, math.ceil(sent[0]["created_at"] + WINDOW_SECONDS - db.now))
        raise ApiError(
            429,
            {
                "error": "daily_send_limit_exceeded",
                "message": f"This agent may send at most {limit} emails per 24 hours",
                "limit": limit,
                "window_seconds": WINDOW_SECONDS,
                "retry_after_seconds": retry,
            },
            headers={"Retry-After": str(retry)},
        )


def check_storage(
    db: Db,
    mailbox: Any,
    body_text: str | None,
    body_html: str | None,
    attachments: list[NewAttachment],
) -> None:
    """402 ``storage_limit_exceeded`` when storing this message would pass the mailbox's cap."""
    size = len((body_text or "").encode()) + len((body_html or "").encode())
    size += sum(len(a.content) for a in attachments)
    limit = storage_limit(mailbox)
    if storage_used(db, str(mailbox["id"])) + size > limit:
        raise ApiError(
            402,
            {
                "error": "storage_limit_exceeded",
                "message": "This mailbox has reached its plan's storage limit. Delete messages "
                "or threads to free space, or upgrade the plan.",
                "upgrade_url": "https://inkbox.ai/console/billing",
                "limit_bytes": limit,
            },
        )


def _find_parent(db: Db, mailbox: Any, reference: str) -> Any:
    value = reference.strip()
    for candidate in dict.fromkeys((value, bracketed(value))):
        row = db.one(
            "SELECT * FROM mail_messages WHERE mailbox_id = ? AND message_id = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (mailbox["id"], candidate),
        )
        if row is not None:
            return row
    try:
        row_id = str(uuid.UUID(value))
    except ValueError:
        return None
    return db.one(
        "SELECT * FROM mail_messages WHERE mailbox_id = ? AND id = ?", (mailbox["id"], row_id)
    )


def _live_thread(db: Db, thread_id: str) -> str | None:
    row = db.one("SELECT id FROM mail_threads WHERE id = ? AND deleted_at IS NULL", (thread_id,))
    return None if row is None else str(row["id"])


def send_message(db: Db, principal: Principal, key: str, request: SendRequest) -> dict[str, Any]:
    """``POST /api/v1/mail/mailboxes/{email}/messages``."""
    mailbox = find_mailbox(db, principal, key)
    recipients = [*request.to, *request.cc, *request.bcc]
    check_signup_limits(db, mailbox, recipients)
    outbound_block(db, mailbox, recipients)
    in_reply_to: str | None = None
    references: list[str] | None = None
    thread_id: str | None = None
    if request.in_reply_to:
        parent = _find_parent(db, mailbox, request.in_reply_to)
        if parent is not None:
            in_reply_to = str(parent["message_id"])
            parent_refs = parent["references"]
            chain = addresses(parent_refs) or []
            references = [*chain, in_reply_to]
            thread_id = _live_thread(db, str(parent["thread_id"]))
        else:
            in_reply_to = bracketed(request.in_reply_to)
            references = [in_reply_to]
    check_storage(db, mailbox, request.body_text, request.body_html, request.attachments)
    row = send_outbound(
        db,
        mailbox,
        to=request.to,
        cc=request.cc,
        bcc=request.bcc,
        subject=request.subject,
        body_text=request.body_text,
        body_html=request.body_html,
        in_reply_to=in_reply_to,
        references=references,
        thread_id=thread_id,
        attachments=request.attachments,
        event_type="message.sent",
        track_opens=request.track_opens,
    )
    return message_record(row)


def _date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC))


def _preamble(original: Any) -> list[tuple[str, str]]:
    lines = [
        ("From", str(original["from_address"])),
        ("Date", _date(original["created_at"])),
        ("Subject", str(original["subject"] or "")),
        ("To", ", ".join(addresses(original["to_addresses"]) or [])),
    ]
    cc = addresses(original["cc_addresses"])
    if cc:
        lines.append(("Cc", ", ".join(cc)))
    return lines


def _inline_bodies(
    original: Any, note_text: str | None, note_html: str | None
) -> tuple[str | None, str | None]:
    header = "---------- Forwarded message ---------"
    pairs = _preamble(original)
    text_parts = [note_text] if note_text else []
    text_parts.append("\n".join([header, *(f"{k}: {v}" for k, v in pairs), ""]))
    text_parts.append(original["body_text"] or "")
    body_text = "\n\n".join(text_parts)
    body_html: str | None = None
    if note_html or original["body_html"]:
        quoted = "<br>".join(f"{k}: {html.escape(v)}" for k, v in pairs)
        inner = original["body_html"] or html.escape(original["body_text"] or "")
        body_html = (
            note_html or (html.escape(note_text) if note_text else "")
        ) + f'<div class="gmail_quote">{header}<br>{quoted}<br><br>{inner}</div>'
    return body_text, body_html


def _raw_mime(db: Db, original: Any) -> bytes:
    message = EmailMessage()
    message["Message-ID"] = original["message_id"]
    message["From"] = original["from_address"]
    message["To"] = ", ".join(addresses(original["to_addresses"]) or [])
    cc = addresses(original["cc_addresses"])
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = original["subject"] or ""
    message["Date"] = _date(original["created_at"])
    if original["in_reply_to"]:
        message["In-Reply-To"] = original["in_reply_to"]
    refs = addresses(original["references"])
    if refs:
        message["References"] = " ".join(refs)
    message.set_content(original["body_text"] or "")
    if original["body_html"]:
        message.add_alternative(original["body_html"], subtype="html")
    for attachment in _original_attachments(db, original):
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype.split(";")[0] or "octet-stream",
            filename=attachment.filename,
        )
    return message.as_bytes(policy=SMTP)


def _original_attachments(db: Db, original: Any) -> list[NewAttachment]:
    rows = db.all(
        "SELECT * FROM mail_attachments WHERE message_row_id = ? ORDER BY position",
        (original["id"],),
    )
    return [NewAttachment(r["filename"], r["content_type"], bytes(r["content"])) for r in rows]


def forward_message(
    db: Db, principal: Principal, key: str, message_row_id: str, request: ForwardRequest
) -> dict[str, Any]:
    """``POST …/messages/{message_id}/forward``: a new outbound message in a new thread."""
    mailbox = find_mailbox(db, principal, key)
    original = db.one(
        "SELECT * FROM mail_messages WHERE id = ? AND mailbox_id = ?",
        (message_row_id, mailbox["id"]),
    )
    if original is None:
        raise ApiError(404, "Message not found")
    recipients = [*request.to, *request.cc, *request.bcc]
    check_signup_limits(db, mailbox, recipients)
    outbound_block(db, mailbox, recipients)
    subject = request.subject
    if subject is None:
        base = str(original["subject"] or "")
        subject = base if _FWD.match(base) else f"Fwd: {base}"
    if request.mode == "wrapped":
        body_text, body_html = request.body_text, request.body_html
        eml = NewAttachment("forwarded-message.eml", "message/rfc822", _raw_mime(db, original))
        attachments = [eml, *request.attachments]
    else:
        body_text, body_html = _inline_bodies(original, request.body_text, request.body_html)
        originals = (
            _original_attachments(db, original) if request.include_original_attachments else []
        )
        attachments = [*originals, *request.attachments]
    check_storage(db, mailbox, body_text, body_html, attachments)
    row = send_outbound(
        db,
        mailbox,
        to=request.to,
        cc=request.cc,
        bcc=request.bcc,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        in_reply_to=None,
        references=None,
        thread_id=None,
        attachments=attachments,
        event_type="message.forwarded",
        reply_to=request.reply_to,
        track_opens=request.track_opens,
    )
    return message_record(row)


def _reply_all_recipients(mailbox: Any, original: Any) -> tuple[list[str], list[str]]:
    """``(to, cc)`` of a reply to everyone on ``original``, without the mailbox itself."""
    own = str(mailbox["email_address"]).lower()

    def others(values: list[str]) -> list[str]:
        seen: set[str] = {own}
        out: list[str] = []
        for value in values:
            if value.lower() not in seen:
                seen.add(value.lower())
                out.append(value)
        return out

    to = addresses(original["to_addresses"]) or []
    cc = addresses(original["cc_addresses"]) or []
    if original["direction"] == "inbound":
        to = [str(original["reply_to"] or original["from_address"]), *to]
    to = others(to)
    return to, [a for a in others(cc) if a.lower() not in {t.lower() for t in to}]


def reply_all_message(
    db: Db, principal: Principal, key: str, message_row_id: str, request: ReplyAllRequest
) -> dict[str, Any]:
    """``POST …/messages/{message_id}/reply-all``: a reply in the original's thread.

    The recipients are the original's sender (or its Reply-To) and every
    To/Cc address except the mailbox itself; the subject defaults to
    ``Re: {original subject}``.
    """
    mailbox = find_mailbox(db, principal, key)
    original = db.one(
        "SELECT * FROM mail_messages WHERE id = ? AND mailbox_id = ? AND deleted_at IS NULL",
        (message_row_id, mailbox["id"]),
    )
    if original is None:
        raise ApiError(404, "Message not found")
    to, cc = _reply_all_recipients(mailbox, original)
    if not to and not cc:
        raise ApiError(422, "The original message has no recipients to reply to")
    check_signup_limits(db, mailbox, [*to, *cc])
    outbound_block(db, mailbox, [*to, *cc])
    subject = request.subject
    if subject is None:
        base = str(original["subject"] or "")
        subject = base if _RE.match(base) else f"Re: {base}"
    parent_id = str(original["message_id"])
    check_storage(db, mailbox, request.body_text, request.body_html, request.attachments)
    row = send_outbound(
        db,
        mailbox,
        to=to,
        cc=cc,
        bcc=[],
        subject=subject,
        body_text=request.body_text,
        body_html=request.body_html,
        in_reply_to=parent_id,
        references=[*(addresses(original["references"]) or []), parent_id],
        thread_id=_live_thread(db, str(original["thread_id"])),
        attachments=request.attachments,
        event_type="message.sent",
        reply_to=request.reply_to,
    )
    return message_record(row)
