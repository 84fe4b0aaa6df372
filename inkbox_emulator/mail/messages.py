"""Reading and organising mail: messages, threads, flags, folders, attachments.

Listing rules: messages newest first, threads by most recent activity, thread
detail oldest first. Deleted messages (status ``deleted``) and deleted threads
are hidden from every list; a deleted message can still be fetched by id and
shows status ``deleted``. Mail in the ``blocked`` folder is quarantined: it
is hidden from the message list, from search and from the thread list unless
``folder=blocked`` is asked for.

Search is full text over subject, addresses and bodies: every query term must
occur (as a word prefix, case-insensitive); hits are ranked by weighted term
frequency (subject x3, addresses x2, body x1), newest first on ties, and
returned as one page.
"""

from __future__ import annotations

import re
from typing import Any

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.routing import decode_cursor, encode_cursor
from inkbox_emulator.core.store import Db

from .model import addresses, message_detail, message_record, thread_record

__all__ = [
    "FOLDERS",
    "delete_message",
    "delete_thread",
    "find_attachment",
    "find_message",
    "get_message",
    "get_thread",
    "list_folders",
    "list_messages",
    "list_threads",
    "search",
    "update_flags",
    "update_thread",
]

FOLDERS = ("inbox", "spam", "blocked", "archive")

_VISIBLE = (
    "m.deleted_at IS NULL AND t.deleted_at IS NULL AND t.folder != 'blocked' AND m.mailbox_id = ?"
)


def _page(items: list[dict[str, Any]], rows: list[Any], limit: int, key: str) -> dict[str, Any]:
    has_more = len(rows) > limit
    cursor = None
    if has_more:
        last = rows[limit - 1]
        cursor = encode_cursor(last[key], last["rowid"])
    return {"items": items[:limit], "next_cursor": cursor, "has_more": has_more}


def list_messages(
    db: Db, mailbox: Any, limit: int, cursor: str | None, direction: str | None
) -> dict[str, Any]:
    """``GET …/messages``: a cursor page, newest first."""
    sql = (
        "SELECT m.*, m.rowid AS rowid FROM mail_messages m JOIN mail_threads t "
        f"ON t.id = m.thread_id WHERE {_VISIBLE}"
    )
    params: list[Any] = [mailbox["id"]]
    if direction is not None:
        sql += " AND m.direction = ?"
        params.append(direction)
    if cursor is not None:
        created, rowid = decode_cursor(cursor, 2)
        sql += " AND (m.created_at < ? OR (m.created_at = ? AND m.rowid < ?))"
        params += [created, created, rowid]
    sql += " ORDER BY m.created_at DESC, m.rowid DESC LIMIT ?"
    rows = db.all(sql, [*params, limit + 1])
    return _page([message_record(r) for r in rows[:limit]], rows, limit, "created_at")


def find_message(db: Db, mailbox: Any, message_row_id: str) -> Any:
    """A message of the mailbox by row id (404 otherwise; deleted ones included)."""
    row = db.one(
        "SELECT * FROM mail_messages WHERE id = ? AND mailbox_id = ?",
        (message_row_id, mailbox["id"]),
    )
    if row is None:
        raise ApiError(404, "Message not found")
    return row


def get_message(
    db: Db, mailbox: Any, message_row_id: str, mark_read: bool = False
) -> dict[str, Any]:
    """``GET …/messages/{message_id}``: MessageDetail.

    ``mark_read`` (API-key callers): an unread inbound message becomes read, as on the
    current service; lists, threads and attachments never change it.
    """
    row = find_message(db, mailbox, message_row_id)
    if mark_read and row["direction"] == "inbound" and not row["is_read"]:
        db.exec("UPDATE mail_messages SET is_read = 1 WHERE id = ?", (row["id"],))
        row = find_message(db, mailbox, message_row_id)
    return message_detail(db, row)


def update_flags(
    db: Db, mailbox: Any, message_row_id: str, is_read: bool | None, is_starred: bool | None
) -> dict[str, Any]:
    """``PATCH …/messages/{message_id}``: read / starred flags."""
    row = find_message(db, mailbox, message_row_id)
    db.exec(
        "UPDATE mail_messages SET is_read = ?, is_starred = ?, updated_at = ? WHERE id = ?",
        (
            int(row["is_read"] if is_read is None else is_read),
            int(row["is_starred"] if is_starred is None else is_starred),
            db.now,
            row["id"],
        ),
    )
    return message_record(db.one("SELECT * FROM mail_messages WHERE id = ?", (row["id"],)))


def delete_message(db: Db, mailbox: Any, message_row_id: str) -> None:
    """``DELETE …/messages/{message_id}``: status ``deleted``, hidden from lists."""
    row = find_message(db, mailbox, message_row_id)
    if row["deleted_at"] is None:
        db.exec(
            "UPDATE mail_messages SET deleted_at = ?, updated_at = ? WHERE id = ?",
            (db.now, db.now, row["id"]),
        )


def find_attachment(db: Db, mailbox: Any, message_row_id: str, filename: str) -> Any:
    """The attachment row named ``filename`` of a message (404 otherwise)."""
    message = find_message(db, mailbox, message_row_id)
    row = db.one(
        "SELECT id, filename, content_type, size FROM mail_attachments "
        "WHERE message_row_id = ? AND filename = ? ORDER BY position LIMIT 1",
        (message["id"], filename),
    )
    if row is None:
        raise ApiError(404, "Attachment not found")
    return row


# -- threads -----------------------------------------------------------------------


def _live_count_sql() -> str:
    return (
        "(SELECT COUNT(*) FROM mail_messages m WHERE m.thread_id = t.id AND m.deleted_at IS NULL)"
    )


def list_threads(
    db: Db, mailbox: Any, limit: int, cursor: str | None, folder: str | None
) -> dict[str, Any]:
    """``GET …/threads``: a cursor page, most recent activity first."""
    sql = (
        "SELECT t.*, t.rowid AS rowid FROM mail_threads t WHERE t.mailbox_id = ? "
        f"AND t.deleted_at IS NULL AND {_live_count_sql()} > 0"
    )
    params: list[Any] = [mailbox["id"]]
    if folder is None:
        sql += " AND t.folder != 'blocked'"
    else:
        sql += " AND t.folder = ?"
        params.append(folder)
    if cursor is not None:
        last_at, rowid = decode_cursor(cursor, 2)
        sql += " AND (t.last_message_at < ? OR (t.last_message_at = ? AND t.rowid < ?))"
        params += [last_at, last_at, rowid]
    sql += " ORDER BY t.last_message_at DESC, t.rowid DESC LIMIT ?"
    rows = db.all(sql, [*params, limit + 1])
    return _page([thread_record(db, r) for r in rows[:limit]], rows, limit, "last_message_at")


def list_folders(db: Db, mailbox: Any) -> list[str]:
    """``GET …/threads/folders``: folders holding at least one live thread, sorted."""
    rows = db.all(
        "SELECT DISTINCT t.folder FROM mail_threads t WHERE t.mailbox_id = ? "
        f"AND t.deleted_at IS NULL AND {_live_count_sql()} > 0 ORDER BY t.folder",
        (mailbox["id"],),
    )
    return [str(r[0]) for r in rows]


def _find_thread(db: Db, mailbox: Any, thread_id: str) -> Any:
    row = db.one(
        "SELECT * FROM mail_threads WHERE id = ? AND mailbox_id = ? AND deleted_at IS NULL",
        (thread_id, mailbox["id"]),
    )
    if row is None:
        raise ApiError(404, "Thread not found")
    return row


def get_thread(db: Db, mailbox: Any, thread_id: str) -> dict[str, Any]:
    """``GET …/threads/{thread_id}``: ThreadDetail, messages oldest first."""
    row = _find_thread(db, mailbox, thread_id)
    messages = db.all(
        "SELECT * FROM mail_messages WHERE thread_id = ? AND deleted_at IS NULL "
        "ORDER BY created_at, rowid",
        (row["id"],),
    )
    return {**thread_record(db, row), "messages": [message_record(m) for m in messages]}


def update_thread(db: Db, mailbox: Any, thread_id: str, folder: str | None) -> dict[str, Any]:
    """``PATCH …/threads/{thread_id}``: move to a folder (``None`` = unchanged)."""
    row = _find_thread(db, mailbox, thread_id)
    if folder is not None:
        db.exec("UPDATE mail_threads SET folder = ? WHERE id = ?", (folder, row["id"]))
    return thread_record(db, db.one("SELECT * FROM mail_threads WHERE id = ?", (row["id"],)))


def delete_thread(db: Db, mailbox: Any, thread_id: str) -> None:
    """``DELETE …/threads/{thread_id}``: the thread and its messages disappear."""
    row = _find_thread(db, mailbox, thread_id)
    db.exec("UPDATE mail_threads SET deleted_at = ? WHERE id = ?", (db.now, row["id"]))
    db.exec(
        "UPDATE mail_messages SET deleted_at = ?, updated_at = ? WHERE thread_id = ? "
        "AND deleted_at IS NULL",
        (db.now, db.now, row["id"]),
    )


# -- search ------------------------------------------------------------------------


def _count(term: str, text: str) -> int:
    return len(re.findall(r"(?<![\w])" + re.escape(term), text))


def search(db: Db, mailbox: Any, q: str, limit: int) -> dict[str, Any]:
    """``GET …/search``: ranked hits, one page."""
    terms = [t for t in re.split(r"\s+", q.lower().strip()) if t]
    rows = db.all(
        "SELECT m.* FROM mail_messages m JOIN mail_threads t ON t.id = m.thread_id "
        f"WHERE {_VISIBLE} ORDER BY m.created_at DESC, m.rowid DESC",
        (mailbox["id"],),
    )
    scored: list[tuple[int, int, Any]] = []
    for position, row in enumerate(rows):
        subject = (row["subject"] or "").lower()
        people = " ".join(
            [
                row["from_address"],
                *(addresses(row["to_addresses"]) or []),
                *(addresses(row["cc_addresses"]) or []),
            ]
        ).lower()
        body = f"{row['body_text'] or ''} {re.sub(r'<[^>]+>', ' ', row['body_html'] or '')}"
        body = body.lower()
        score = 0
        for term in terms:
            hits = 3 * _count(term, subject) + 2 * _count(term, people) + _count(term, body)
            if not hits:
                score = 0
                break
            score += hits
        if score:
            scored.append((-score, position, row))
    scored.sort(key=lambda item: (item[0], item[1]))
    return {
        "items": [message_record(r) for _, _, r in scored[:limit]],
        "next_cursor": None,
        "has_more": False,
    }
