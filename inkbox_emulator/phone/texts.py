"""Texts: sending with the service's SMS rules, delivery, inbound, reads.

Sending checks, in this order, and stores nothing when one fails:

1. the sender's ``sms_status`` is not ``ready`` (10DLC warm-up: ``sms_ready_delay``
   seconds of the emulator clock after creation) → **409** ``sender_sms_pending``
   (only local numbers exist: toll-free provisioning ended);
2. for each recipient: a contact rule or the whitelist default blocks it → **403**
   ``recipient_blocked``; it never texted START to a number of the org → **403**
   ``recipient_not_opted_in``; it texted STOP since → **403** ``recipient_opted_out``;
3. the sender already sent **15** texts in the rolling 24 h of the emulator clock →
   **429** ``sender_rate_limited`` with ``limit``, ``window_seconds``,
   ``retry_after_seconds`` and a ``Retry-After`` header.

Error bodies are ``{"detail": {"error": code, "message": …}}``. The body takes
``to`` (one E.164 number or a list: a group text) or ``conversation_id`` (an
existing conversation's participants), and ``text`` and/or ``media_urls``; a
``to`` that is not E.164, both or neither of ``to`` and ``conversation_id``,
neither text nor media, or a ``text`` that is empty, whitespace only or over
1600 characters, is a 422 (list-shaped ``detail``). Outbound media keep the
URLs given (nothing is fetched).

Conversations: one per remote number, or per set of participants for a group
text (stored under its comma-joined sorted numbers; the record shows
``remote_phone_number: null`` and ``recipients``). Each has a stable
``conversation_id`` (uuid5 of the number and that key), accepted wherever a
remote number is (conversation reads, the read-state PATCH, sends); group
conversations are listed only with ``include_groups=true``.

An accepted text is ``queued``; every ``text_status_delay`` seconds it moves on:
``sent``, then the outcome planned for the recipient (:func:`set_text_outcome`,
default ``delivered``): ``delivered``, ``delivery_failed`` (``error_code``
``30007`` / ``Message filtered by carrier`` unless given) or
``delivery_unconfirmed`` (``failed_at`` set, as in the fixture). Each
transition is delivered as ``text.<status>`` to the webhook subscriptions of the
number's identity (``webhooks.fanout``: the record minus ``is_blocked``, plus the
contacts and identities matching the remote number). Outbound texts always leave the emulator:
:func:`list_sent_texts` shows what the outside world received.

Inbound texts (:func:`inject_text`) are stored unread; START/STOP keywords
update the opt-in registry (``source=sms``); a blocked sender's text is stored
with ``is_blocked=true`` and fires nothing, otherwise ``text.received`` fires.
MMS media are stored and served through signed ``/files`` URLs.

Reads: identity-scoped keys never see blocked rows; the others filter with
``is_blocked``. ``PATCH`` of a text takes ``is_read`` and also the pre-0.4.4
``{"status": "deleted"}``: the text disappears from every
read but still counts toward the daily limit. Conversations group by
remote number; ``unread_count`` and the conversation read-state PATCH concern
inbound texts (outbound texts stay ``is_read=false``, as in the fixtures).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError, value_error
from inkbox_emulator.core.events import Later
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso
from inkbox_emulator.mail.files import signed_url
from inkbox_emulator.webhooks.fanout import emit_text_event

from .model import conversation_id, is_e164, participants, phone_error, text_record
from .numbers import find_number, find_number_by_e164
from .opt_ins import apply_keyword, opt_in_status
from .rules import check_outbound, verdict

__all__ = [
    "DAILY_LIMIT",
    "MAX_TEXT_LENGTH",
    "OUTCOMES",
    "WINDOW_SECONDS",
    "InboundMedia",
    "advance_text",
    "conversation_key",
    "conversation_messages",
    "get_text",
    "inject_text",
    "list_conversations",
    "list_sent_texts",
    "list_texts",
    "mark_conversation",
    "parse_media",
    "search_texts",
    "send_text",
    "set_text_outcome",
    "update_text",
]

DAILY_LIMIT = 15
WINDOW_SECONDS = 24 * 3600
MAX_TEXT_LENGTH = 1600
OUTCOMES = ("delivered", "delivery_failed", "delivery_unconfirmed")
DEFAULT_ERROR = ("30007", "Message filtered by carrier")
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "audio/mpeg": "mp3",
    "text/vcard": "vcf",
    "application/pdf": "pdf",
}


@dataclass(frozen=True)
class InboundMedia:
    """One decoded MMS item of an injected text."""

    content_type: str
    content: bytes


# -- records and webhooks -------------------------------------------------------------


def _media(db: Db, text_id: str) -> list[dict[str, Any]]:
    rows = db.all("SELECT * FROM text_media WHERE text_id = ? ORDER BY position", (text_id,))
    return [
        {
            "content_type": r["content_type"],
            "size": r["size"],
            "url": signed_url(db, db.public_url, str(r["id"]))[0],
        }
        for r in rows
    ]


def _record(db: Db, row: Any) -> dict[str, Any]:
    if row["media_urls"]:
        # Outbound MMS: the emulator keeps the URLs it was given (it fetches nothing).
        media = [
            {"content_type": _guess_type(url), "size": 0, "url": url}
            for url in json.loads(row["media_urls"])
        ]
        return text_record(row, media)
    return text_record(row, _media(db, str(row["id"])) if row["type"] == "mms" else None)


def _guess_type(url: str) -> str:
    extension = url.rsplit("?", 1)[0].rpartition(".")[2].lower()
    by_extension = {v: k for k, v in _EXTENSIONS.items()}
    return by_extension.get("jpg" if extension == "jpeg" else extension, "application/octet-stream")


def _load(db: Db, text_id: str) -> Any:
    return db.one("SELECT * FROM text_messages WHERE id = ?", (text_id,))


def _emit(db: Db, row: Any, event_type: str) -> None:
    number = db.one("SELECT * FROM phone_numbers WHERE id = ?", (row["phone_number_id"],))
    if number is None or number["status"] == "released":
        return
    message = _record(db, row)
    del message["is_blocked"]
    emit_text_event(db, number, message, event_type)


# -- sending ----------------------------------------------------------------------------


def _check_sender(db: Db, number: Any) -> None:
    if number["sms_status"] != "ready":
        raise phone_error(
            409,
            "sender_sms_pending",
            "This number's 10DLC campaign registration is still propagating; try again later",
            sms_status=number["sms_status"],
        )


def _check_recipient(db: Db, number: Any, to: str) -> None:
    check_outbound(db, number, to)
    status = opt_in_status(db, str(number["organization_id"]), to)
    if status is None:
        raise phone_error(
            403,
            "recipient_not_opted_in",
            f"{to} has not opted in: the recipient must first text START to a number of "
            "this organization",
        )
    if status == "opted_out":
        raise phone_error(
            403, "recipient_opted_out", f"{to} texted STOP and no longer receives texts"
        )


def _check_rate(db: Db, number: Any) -> None:
    sent = db.all(
        "SELECT created_at FROM text_messages WHERE phone_number_id = ? AND direction = 'outbound' "
        "AND origin = 'user_initiated' AND created_at > ? ORDER BY created_at",
        (number["id"], db.now - WINDOW_SECONDS),
    )
    if len(sent) >= DAILY_LIMIT:
        retry = max(1, math.ceil(sent[0]["created_at"] + WINDOW_SECONDS - db.now))
        raise ApiError(
            429,
            {
                "error": "sender_rate_limited",
                "message": f"A number may send at most {DAILY_LIMIT} texts per rolling 24 hours",
                "limit": DAILY_LIMIT,
                "window_seconds": WINDOW_SECONDS,
                "retry_after_seconds": retry,
            },
            headers={"Retry-After": str(retry)},
        )


def _planned(db: Db, to: str) -> tuple[str, str | None, str | None]:
    row = db.one("SELECT * FROM text_outcomes WHERE recipient_number = ?", (to,))
    if row is None:
        return "delivered", None, None
    return str(row["outcome"]), row["error_code"], row["error_detail"]


def _insert(db: Db, number: Any, **values: Any) -> str:
    text_id = str(uuid.uuid4())
    db.insert(
        "text_messages",
        {
            "id": text_id,
            "organization_id": number["organization_id"],
            "phone_number_id": number["id"],
            "local_phone_number": number["number"],
            "created_at": db.now,
            "updated_at": db.now,
            **values,
        },
    )
    return text_id


def conversation_key(db: Db, number: Any, key: str) -> str:
    """The stored conversation key of a path or body key: an E.164 number (as is) or a
    conversation id (404 when the number has no such conversation)."""
    if is_e164(key):
        return key
    try:
        wanted = str(uuid.UUID(key))
    except ValueError:
        raise value_error(
            ("path", "remote_number"), "must be an E.164 number or a conversation id", key
        ) from None
    for row in db.all(
        "SELECT DISTINCT remote_phone_number FROM text_messages WHERE phone_number_id = ?",
        (number["id"],),
    ):
        if conversation_id(str(number["id"]), str(row[0])) == wanted:
            return str(row[0])
    raise ApiError(404, "Conversation not found")


def send_text(
    db: Db,
    principal: Principal,
    number_id: str,
    to: list[str] | None,
    text: str | None,
    conversation: str | None = None,
    media_urls: list[str] | None = None,
) -> dict[str, Any]:
    """``POST /api/v1/phone/numbers/{id}/texts`` (see module docstring)."""
    number = find_number(db, principal, number_id)
    recipients = to or participants(conversation_key(db, number, conversation or ""))
    key = ",".join(sorted(set(recipients)))
    _check_sender(db, number)
    for recipient in recipients:
        _check_recipient(db, number, recipient)
    _check_rate(db, number)
    outcome, error_code, error_detail = _planned(db, recipients[0])
    text_id = _insert(
        db,
        number,
        direction="outbound",
        remote_phone_number=key,
        text=text,
        media_urls=json.dumps(media_urls) if media_urls else None,
        type="mms" if media_urls else "sms",
        is_read=0,
        delivery_status="queued",
        origin="user_initiated",
        outcome=json.dumps([outcome, error_code, error_detail]),
    )
    db.emit(Later(db.settings.text_status_delay, partial(advance_text, text_id=text_id)))
    return _record(db, _load(db, text_id))


def advance_text(db: Db, text_id: str) -> None:
    """Move an outbound text one step along its delivery lifecycle and fire the webhook."""
    row = _load(db, text_id)
    if row is None or row["direction"] != "outbound":
        return
    if row["delivery_status"] == "queued":
        db.exec(
            "UPDATE text_messages SET delivery_status = 'sent', sent_at = ?, updated_at = ? "
            "WHERE id = ?",
            (db.now, db.now, text_id),
        )
        _emit(db, _load(db, text_id), "text.sent")
        db.emit(Later(db.settings.text_status_delay, partial(advance_text, text_id=text_id)))
        return
    if row["delivery_status"] != "sent":
        return
    outcome, error_code, error_detail = json.loads(row["outcome"])
    if outcome == "delivered":
        db.exec(
            "UPDATE text_messages SET delivery_status = 'delivered', delivered_at = ?, "
            "updated_at = ? WHERE id = ?",
            (db.now, db.now, text_id),
        )
    elif outcome == "delivery_failed":
        db.exec(
            "UPDATE text_messages SET delivery_status = 'delivery_failed', failed_at = ?, "
            "error_code = ?, error_detail = ?, updated_at = ? WHERE id = ?",
            (
                db.now,
                error_code or DEFAULT_ERROR[0],
                error_detail or DEFAULT_ERROR[1],
                db.now,
                text_id,
            ),
        )
    else:
        db.exec(
            "UPDATE text_messages SET delivery_status = 'delivery_unconfirmed', failed_at = ?, "
            "updated_at = ? WHERE id = ?",
            (db.now, db.now, text_id),
        )
    _emit(db, _load(db, text_id), f"text.{outcome}")


def set_text_outcome(
    db: Db,
    recipient_number: str,
    outcome: str,
    error_code: str | None = None,
    error_detail: str | None = None,
) -> dict[str, Any]:
    """Make later texts to ``recipient_number`` end ``outcome`` (``delivered`` = default)."""
    if not is_e164(recipient_number):
        raise ApiError(422, "recipient_number must be an E.164 number")
    if outcome not in OUTCOMES:
        raise ApiError(422, f"outcome must be one of {', '.join(OUTCOMES)}")
    if outcome == "delivered":
        db.exec("DELETE FROM text_outcomes WHERE recipient_number = ?", (recipient_number,))
    else:
        db.exec(
            "INSERT INTO text_outcomes (recipient_number, outcome, error_code, error_detail) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(recipient_number) DO UPDATE SET "
            "outcome = excluded.outcome, error_code = excluded.error_code, "
            "error_detail = excluded.error_detail",
            (recipient_number, outcome, error_code, error_detail),
        )
    return {
        "recipient_number": recipient_number,
        "outcome": outcome,
        "error_code": error_code,
        "error_detail": error_detail,
    }


def list_sent_texts(db: Db, organization_id: str | None = None) -> list[dict[str, Any]]:
    """Texts the outside world received (every accepted outbound text), oldest first."""
    where, params = "direction = 'outbound'", []
    if organization_id is not None:
        where += " AND organization_id = ?"
        params.append(organization_id)
    rows = db.all(f"SELECT * FROM text_messages WHERE {where} ORDER BY created_at, rowid", params)
    result: list[dict[str, Any]] = []
    for row in rows:
        media = db.all("SELECT * FROM text_media WHERE text_id = ? ORDER BY position", (row["id"],))
        result.append(
            {
                "id": row["id"],
                "organization_id": row["organization_id"],
                "phone_number_id": row["phone_number_id"],
                "from_number": row["local_phone_number"],
                "to_number": row["remote_phone_number"],
                "text": row["text"],
                "type": row["type"],
                "media": [
                    {
                        "content_type": m["content_type"],
                        "size": m["size"],
                        "content_base64": base64.b64encode(m["content"]).decode(),
                    }
                    for m in media
                ],
                "delivery_status": row["delivery_status"],
                "error_code": row["error_code"],
                "error_detail": row["error_detail"],
                "created_at": iso(row["created_at"]),
                "updated_at": iso(row["updated_at"]),
            }
        )
    return result


# -- inbound -------------------------------------------------------------------------------


def parse_media(items: Sequence[Any] | None) -> list[InboundMedia]:
    """Decode ``[{"content_type", "content_base64"}]`` (422 on a malformed item)."""
    result: list[InboundMedia] = []
    for index, item in enumerate(items or []):
        loc = ("body", "media", index)
        if not isinstance(item, dict):
            raise value_error(loc, "a media item must be an object", item)
        content_type = item.get("content_type")
        encoded = item.get("content_base64")
        if not isinstance(content_type, str) or "/" not in content_type:
            raise value_error(
                (*loc, "content_type"), "content_type must be a MIME type", content_type
            )
        if not isinstance(encoded, str):
            raise value_error((*loc, "content_base64"), "content_base64 is required", encoded)
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise value_error(
                (*loc, "content_base64"), "content_base64 is not valid base64", encoded
            ) from None
        result.append(InboundMedia(content_type, content))
    return result


def inject_text(
    db: Db, to_number: str, from_number: str, text: str | None, media: list[InboundMedia]
) -> dict[str, Any]:
    """A text from the outside world to an emulator number; returns the stored TextMessage."""
    if not is_e164(from_number):
        raise value_error(
            ("body", "from_number"), "from_number must be an E.164 number", from_number
        )
    if not is_e164(to_number):
        raise value_error(("body", "to_number"), "to_number must be an E.164 number", to_number)
    if not media and not (text or "").strip():
        raise value_error(("body", "text"), "an inbound text needs a text or media", text)
    if text is not None and len(text) > MAX_TEXT_LENGTH:
        raise value_error(("body", "text"), f"text is longer than {MAX_TEXT_LENGTH}", text)
    number = find_number_by_e164(db, to_number)
    if number is None:
        raise ApiError(404, f"{to_number} is not an active emulator phone number")
    allowed, _ = verdict(db, number, from_number)
    apply_keyword(db, str(number["organization_id"]), from_number, text)
    text_id = _insert(
        db,
        number,
        direction="inbound",
        remote_phone_number=from_number,
        text=text,
        type="mms" if media else "sms",
        is_read=0,
        delivery_status=None,
        origin="user_initiated",
        is_blocked=int(not allowed),
    )
    for position, item in enumerate(media):
        ext = _EXTENSIONS.get(item.content_type.split(";")[0].strip().lower(), "bin")
        db.insert(
            "text_media",
            {
                "id": str(uuid.uuid4()),
                "text_id": text_id,
                "position": position,
                "filename": f"media-{position + 1}.{ext}",
                "content_type": item.content_type,
                "size": len(item.content),
                "content": item.content,
            },
        )
    row = _load(db, text_id)
    if allowed:
        _emit(db, row, "text.received")
    return _record(db, row)


# -- reads -------------------------------------------------------------------------------------


def _visible(principal: Principal, is_blocked: bool | None) -> tuple[str, list[Any]]:
    if principal.kind == "scoped":
        return " AND is_blocked = 0", []
    if is_blocked is None:
        return "", []
    return " AND is_blocked = ?", [int(is_blocked)]


def list_texts(
    db: Db,
    principal: Principal,
    number_id: str,
    limit: int,
    offset: int,
    is_read: bool | None,
    is_blocked: bool | None,
) -> list[dict[str, Any]]:
    """``GET …/texts``: newest first."""
    number = find_number(db, principal, number_id)
    extra, params = _visible(principal, is_blocked)
    if is_read is not None:
        extra += " AND is_read = ?"
        params.append(int(is_read))
    rows = db.all(
        "SELECT * FROM text_messages WHERE phone_number_id = ? AND deleted_at IS NULL"
        f"{extra} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
        [number["id"], *params, limit, offset],
    )
    return [_record(db, r) for r in rows]


def _find_text(db: Db, principal: Principal, number: Any, text_id: str) -> Any:
    extra, params = _visible(principal, None)
    row = db.one(
        f"SELECT * FROM text_messages WHERE id = ? AND phone_number_id = ? "
        f"AND deleted_at IS NULL{extra}",
        [text_id, number["id"], *params],
    )
    if row is None:
        raise ApiError(404, "Text message not found")
    return row


def get_text(db: Db, principal: Principal, number_id: str, text_id: str) -> dict[str, Any]:
    """``GET …/texts/{text_id}``."""
    number = find_number(db, principal, number_id)
    return _record(db, _find_text(db, principal, number, text_id))


def update_text(
    db: Db,
    principal: Principal,
    number_id: str,
    text_id: str,
    is_read: bool | None,
    deleted: bool,
) -> dict[str, Any]:
    """``PATCH …/texts/{text_id}``: ``is_read`` and/or ``status="deleted"``."""
    number = find_number(db, principal, number_id)
    row = _find_text(db, principal, number, text_id)
    if is_read is not None:
        db.exec(
            "UPDATE text_messages SET is_read = ?, updated_at = ? WHERE id = ?",
            (int(is_read), db.now, row["id"]),
        )
    if deleted:
        db.exec(
            "UPDATE text_messages SET deleted_at = ?, updated_at = ? WHERE id = ?",
            (db.now, db.now, row["id"]),
        )
    return _record(db, _load(db, str(row["id"])))


def search_texts(
    db: Db, principal: Principal, number_id: str, q: str, limit: int, is_blocked: bool | None
) -> list[dict[str, Any]]:
    """``GET …/texts/search``: texts containing every word of ``q`` (case-insensitive)."""
    number = find_number(db, principal, number_id)
    extra, params = _visible(principal, is_blocked)
    for term in q.split():
        extra += " AND instr(lower(coalesce(text, '')), ?) > 0"
        params.append(term.lower())
    rows = db.all(
        "SELECT * FROM text_messages WHERE phone_number_id = ? AND deleted_at IS NULL"
        f"{extra} ORDER BY created_at DESC, rowid DESC LIMIT ?",
        [number["id"], *params, limit],
    )
    return [_record(db, r) for r in rows]


def list_conversations(
    db: Db,
    principal: Principal,
    number_id: str,
    limit: int,
    offset: int,
    is_blocked: bool | None,
    include_groups: bool = False,
) -> list[dict[str, Any]]:
    """``GET …/texts/conversations``: one summary per conversation, latest first (group
    conversations only with ``include_groups``)."""
    number = find_number(db, principal, number_id)
    extra, params = _visible(principal, is_blocked)
    rows = db.all(
        "SELECT * FROM text_messages WHERE phone_number_id = ? AND deleted_at IS NULL"
        f"{extra} ORDER BY created_at DESC, rowid DESC",
        [number["id"], *params],
    )
    summaries: dict[str, dict[str, Any]] = {}
    for row in rows:
        remote = str(row["remote_phone_number"])
        group = "," in remote
        if group and not include_groups:
            continue
        summary = summaries.get(remote)
        if summary is None:
            summary = summaries[remote] = {
                "id": conversation_id(str(number["id"]), remote),
                "remote_phone_number": None if group else remote,
                "participants": participants(remote),
                "is_group": group,
                "latest_has_media": row["type"] == "mms",
                "latest_text": row["text"],
                "latest_direction": row["direction"],
                "latest_type": row["type"],
                "latest_message_at": iso(row["created_at"]),
                "unread_count": 0,
                "total_count": 0,
            }
        summary["total_count"] += 1
        if row["direction"] == "inbound" and not row["is_read"]:
            summary["unread_count"] += 1
    return list(summaries.values())[offset : offset + limit]


def conversation_messages(
    db: Db, principal: Principal, number_id: str, remote: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    """``GET …/texts/conversations/{remote}``: newest first (a number or a conversation id)."""
    number = find_number(db, principal, number_id)
    remote = conversation_key(db, number, remote)
    extra, params = _visible(principal, None)
    rows = db.all(
        "SELECT * FROM text_messages WHERE phone_number_id = ? AND remote_phone_number = ? "
        f"AND deleted_at IS NULL{extra} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
        [number["id"], remote, *params, limit, offset],
    )
    return [_record(db, r) for r in rows]


def mark_conversation(
    db: Db, principal: Principal, number_id: str, remote: str, is_read: bool
) -> dict[str, Any]:
    """``PATCH …/texts/conversations/{remote}``: set ``is_read`` on its inbound texts."""
    number = find_number(db, principal, number_id)
    remote = conversation_key(db, number, remote)
    extra, params = _visible(principal, None)
    changed = db.exec(
        "UPDATE text_messages SET is_read = ?, updated_at = ? WHERE phone_number_id = ? "
        "AND remote_phone_number = ? AND direction = 'inbound' AND deleted_at IS NULL "
        f"AND is_read != ?{extra}",
        [int(is_read), db.now, number["id"], remote, int(is_read), *params],
    )
    return {
        "remote_phone_number": None if "," in remote else remote,
        "conversation_id": conversation_id(str(number["id"]), remote),
        "is_read": is_read,
        "updated_count": changed,
    }
