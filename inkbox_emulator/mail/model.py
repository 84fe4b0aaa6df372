"""Wire records of mail rows (API and webhook shapes) and small mail helpers."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso, iso_or_none

__all__ = [
    "EMAIL_RE",
    "addresses",
    "attachment_metadata",
    "dumps_list",
    "html_text",
    "is_email",
    "message_detail",
    "message_record",
    "party_buckets",
    "snippet_of",
    "thread_record",
    "webhook_message",
]

EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
"""A plain ``local@domain.tld`` address (no display name)."""

SNIPPET_LENGTH = 120


def is_email(value: str) -> bool:
    """Whether ``value`` is a well-formed plain address."""
    local = value.partition("@")[0]
    return bool(EMAIL_RE.fullmatch(value)) and not local.startswith(".") and ".." not in local


def dumps_list(values: list[str] | None) -> str | None:
    """A string list as stored in a TEXT column (``None`` stays NULL)."""
    return None if values is None else json.dumps(values)


def addresses(raw: str | None) -> list[str] | None:
    """A stored address list (``None`` for NULL)."""
    return None if raw is None else list(json.loads(raw))


def html_text(body_html: str | None) -> str | None:
    """The text of an HTML body, tags stripped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", body_html)) if body_html else None


def party_buckets(message: Any) -> list[tuple[str, list[str]]]:
    """The other parties of a stored message, by bucket, as webhooks report them.

    Inbound: ``from`` and ``cc``; outbound: ``to``, ``cc`` and ``bcc``.
    """
    if message["direction"] == "inbound":
        return [
            ("from", [message["from_address"]]),
            ("cc", addresses(message["cc_addresses"]) or []),
        ]
    return [
        ("to", addresses(message["to_addresses"]) or []),
        ("cc", addresses(message["cc_addresses"]) or []),
        ("bcc", addresses(message["bcc_addresses"]) or []),
    ]


def snippet_of(body_text: str | None, body_html: str | None) -> str | None:
    """A one-line preview of the body (plain text preferred, tags stripped from HTML)."""
    text = body_text or html_text(body_html)
    if not text:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_LENGTH else flat[: SNIPPET_LENGTH - 3].rstrip() + "..."


def _status(row: Any) -> str:
    return "deleted" if row["deleted_at"] is not None else str(row["status"])


def message_record(row: Any) -> dict[str, Any]:
    """Message: metadata, no bodies."""
    return {
        "id": row["id"],
        "mailbox_id": row["mailbox_id"],
        "thread_id": row["thread_id"],
        "message_id": row["message_id"],
        "from_address": row["from_address"],
        "to_addresses": addresses(row["to_addresses"]) or [],
        "cc_addresses": addresses(row["cc_addresses"]),
        "subject": row["subject"],
        "snippet": row["snippet"],
        "direction": row["direction"],
        "status": _status(row),
        "is_read": bool(row["is_read"]),
        "is_starred": bool(row["is_starred"]),
        "has_attachments": row["attachment_count"] > 0,
        "created_at": iso(row["created_at"]),
        "first_opened_at": iso_or_none(row["first_opened_at"]),
        "open_count": row["open_count"],
    }


def attachment_metadata(db: Db, message_row_id: str) -> list[dict[str, Any]]:
    """``{filename, content_type, size[, content_id, is_inline]}`` of a message's attachments."""
    rows = db.all(
        "SELECT filename, content_type, size, content_id FROM mail_attachments "
        "WHERE message_row_id = ? ORDER BY position",
        (message_row_id,),
    )
    return [
        {
            "filename": r["filename"],
            "content_type": r["content_type"],
            "size": r["size"],
            **(
                {}
                if r["content_id"] is None
                else {"content_id": r["content_id"], "is_inline": True}
            ),
        }
        for r in rows
    ]


def message_detail(db: Db, row: Any) -> dict[str, Any]:
    """MessageDetail: Message plus bodies and headers."""
    refs = row["references"]
    return {
        **message_record(row),
        "body_text": row["body_text"],
        "body_html": row["body_html"],
        "bcc_addresses": addresses(row["bcc_addresses"]),
        "in_reply_to": row["in_reply_to"],
        "references": None if refs is None else json.loads(refs),
        "attachment_metadata": attachment_metadata(db, row["id"])
        if row["attachment_count"]
        else None,
        "ses_message_id": row["ses_message_id"],
        "updated_at": iso(row["updated_at"]),
    }


def webhook_message(row: Any) -> dict[str, Any]:
    """MailWebhookMessage: exactly 14 keys; ``bcc`` only on outbound."""
    return {
        "id": row["id"],
        "mailbox_id": row["mailbox_id"],
        "thread_id": row["thread_id"],
        "message_id": row["message_id"],
        "from_address": row["from_address"],
        "to_addresses": addresses(row["to_addresses"]) or [],
        "cc_addresses": addresses(row["cc_addresses"]),
        "bcc_addresses": addresses(row["bcc_addresses"])
        if row["direction"] == "outbound"
        else None,
        "subject": row["subject"],
        "snippet": row["snippet"],
        "direction": row["direction"],
        "status": _status(row),
        "has_attachments": row["attachment_count"] > 0,
        "created_at": iso(row["created_at"]),
    }


def thread_record(db: Db, row: Any) -> dict[str, Any]:
    """Thread, without messages."""
    count = db.one(
        "SELECT COUNT(*) FROM mail_messages WHERE thread_id = ? AND deleted_at IS NULL",
        (row["id"],),
    )
    return {
        "id": row["id"],
        "mailbox_id": row["mailbox_id"],
        "subject": row["subject"],
        "folder": row["folder"],
        "message_count": int(count[0]) if count else 0,
        "last_message_at": iso(row["last_message_at"]),
        "created_at": iso(row["created_at"]),
    }
