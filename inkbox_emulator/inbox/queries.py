"""Read-only views of the store for the inbox's pages (each runs in one ``Store.run``).

They return plain dicts and lists for the templates; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.mail.model import addresses

__all__ = [
    "attachment",
    "calls",
    "deliveries",
    "fingerprint",
    "mailbox_threads",
    "message",
    "org_overview",
    "orgs",
    "search_messages",
    "text_conversations",
    "thread",
    "tunnels",
]

_LIVE_TABLES = (
    "mail_messages",
    "text_messages",
    "phone_calls",
    "phone_transcripts",
    "webhook_delivery_log",
    "signups",
    "identities",
    "tunnels",
)


def _dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]


def _org(db: Db, org_id: str) -> dict[str, Any]:
    row = db.one("SELECT id, name, slug, created_at FROM orgs WHERE id = ?", (org_id,))
    if row is None:
        raise ApiError(404, "Organization not found")
    return dict(row)


def fingerprint(db: Db) -> str:
    """Changes whenever a row the live pages show is added or changed."""
    parts = []
    for table in _LIVE_TABLES:
        row = db.one(f"SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM {table}")
        assert row is not None
        parts.append(f"{row[0]}.{row[1]}")
    updated = db.one(
        "SELECT (SELECT COALESCE(MAX(updated_at), 0) FROM mail_messages), "
        "(SELECT COALESCE(MAX(updated_at), 0) FROM text_messages), "
        "(SELECT COALESCE(MAX(updated_at), 0) FROM phone_calls), "
        "(SELECT COALESCE(MAX(updated_at), 0) FROM tunnels)"
    )
    assert updated is not None
    parts.extend(f"{value:.3f}" for value in updated)
    return "-".join(parts)


def orgs(db: Db) -> list[dict[str, Any]]:
    """Every organisation with its number of identities, oldest first."""
    return _dicts(
        db.all(
            "SELECT o.id, o.name, o.created_at, "
            "(SELECT COUNT(*) FROM identities i WHERE i.organization_id = o.id "
            "AND i.status != 'deleted') AS identities "
            "FROM orgs o ORDER BY o.created_at, o.rowid"
        )
    )


def org_overview(db: Db, org_id: str) -> dict[str, Any]:
    """An org's identities, each with its mailbox, numbers and tunnels; its other mailboxes."""
    org = _org(db, org_id)
    identities = _dicts(
        db.all(
            "SELECT id, agent_handle, display_name, status, email_address, created_at "
            "FROM identities WHERE organization_id = ? AND status != 'deleted' "
            "ORDER BY created_at, rowid",
            (org_id,),
        )
    )
    mailboxes = _dicts(
        db.all(
            "SELECT m.id, m.email_address, m.agent_identity_id, m.status, "
            "(SELECT COUNT(*) FROM mail_messages x WHERE x.mailbox_id = m.id "
            "AND x.deleted_at IS NULL) AS messages, "
            "(SELECT COUNT(*) FROM mail_messages x WHERE x.mailbox_id = m.id "
            "AND x.deleted_at IS NULL AND x.is_read = 0 AND x.direction = 'inbound') AS unread "
            "FROM mailboxes m WHERE m.organization_id = ? AND m.status != 'deleted' "
            "ORDER BY m.created_at, m.rowid",
            (org_id,),
        )
    )
    numbers = _dicts(
        db.all(
            "SELECT id, number, agent_identity_id, status, sms_status, incoming_call_action "
            "FROM phone_numbers WHERE organization_id = ? AND released_at IS NULL "
            "ORDER BY created_at, rowid",
            (org_id,),
        )
    )
    tunnel_rows = _dicts(
        db.all(
            "SELECT id, tunnel_name, agent_identity_id, status, public_host, tls_mode, "
            "last_connected_at FROM tunnels WHERE organization_id = ? AND status != 'deleted' "
            "ORDER BY created_at, rowid",
            (org_id,),
        )
    )
    for identity in identities:
        own = identity["id"]
        identity["mailboxes"] = [m for m in mailboxes if m["agent_identity_id"] == own]
        identity["numbers"] = [n for n in numbers if n["agent_identity_id"] == own]
        identity["tunnels"] = [t for t in tunnel_rows if t["agent_identity_id"] == own]
    owned = {i["id"] for i in identities}
    signups = _dicts(
        db.all(
            "SELECT agent_handle, human_email, claim_status, created_at FROM signups "
            "WHERE organization_id = ? ORDER BY created_at, rowid",
            (org_id,),
        )
    )
    return {
        "org": org,
        "identities": identities,
        "mailboxes": mailboxes,
        "numbers": numbers,
        "tunnels": tunnel_rows,
        "unowned_mailboxes": [m for m in mailboxes if m["agent_identity_id"] not in owned],
        "unowned_numbers": [n for n in numbers if n["agent_identity_id"] not in owned],
        "signups": signups,
    }


def _mailbox(db: Db, mailbox_id: str) -> dict[str, Any]:
    row = db.one(
        "SELECT id, organization_id, email_address, status FROM mailboxes WHERE id = ?",
        (mailbox_id,),
    )
    if row is None:
        raise ApiError(404, "Mailbox not found")
    return dict(row)


def mailbox_threads(db: Db, mailbox_id: str) -> dict[str, Any]:
    """A mailbox and its threads, newest activity first."""
    mailbox = _mailbox(db, mailbox_id)
    threads = _dicts(
        db.all(
            "SELECT t.id, t.subject, t.folder, t.last_message_at, "
            "(SELECT COUNT(*) FROM mail_messages m WHERE m.thread_id = t.id "
            "AND m.deleted_at IS NULL) AS messages, "
            "(SELECT COUNT(*) FROM mail_messages m WHERE m.thread_id = t.id "
            "AND m.deleted_at IS NULL AND m.is_read = 0 AND m.direction = 'inbound') AS unread, "
            "(SELECT m.from_address FROM mail_messages m WHERE m.thread_id = t.id "
            "AND m.deleted_at IS NULL ORDER BY m.created_at DESC, m.rowid DESC LIMIT 1) "
            "AS last_from "
            "FROM mail_threads t WHERE t.mailbox_id = ? AND t.deleted_at IS NULL "
            "ORDER BY t.last_message_at DESC, t.rowid DESC LIMIT 500",
            (mailbox_id,),
        )
    )
    return {"mailbox": mailbox, "org": _org(db, mailbox["organization_id"]), "threads": threads}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_messages(db: Db, mailbox_id: str, query: str) -> list[dict[str, Any]]:
    """Messages of a mailbox whose subject, addresses or text contain ``query``."""
    _mailbox(db, mailbox_id)
    pattern = _like(query)
    columns = ("subject", "body_text", "body_html", "from_address", "to_addresses")
    where = " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns)
    return _dicts(
        db.all(
            "SELECT id, thread_id, subject, from_address, direction, created_at, snippet "
            f"FROM mail_messages WHERE mailbox_id = ? AND deleted_at IS NULL AND ({where}) "
            "ORDER BY created_at DESC, rowid DESC LIMIT 200",
            (mailbox_id, *([pattern] * len(columns))),
        )
    )


def _message_view(db: Db, row: Any) -> dict[str, Any]:
    view = dict(row)
    for column in ("to_addresses", "cc_addresses", "bcc_addresses"):
        view[column] = addresses(row[column]) or []
    view["attachments"] = _dicts(
        db.all(
            "SELECT id, filename, content_type, size, content_id FROM mail_attachments "
            "WHERE message_row_id = ? ORDER BY position",
            (row["id"],),
        )
    )
    return view


def thread(db: Db, thread_id: str) -> dict[str, Any]:
    """A thread with every message (headers, text, attachments), oldest first."""
    row = db.one(
        "SELECT id, mailbox_id, subject, folder FROM mail_threads WHERE id = ?", (thread_id,)
    )
    if row is None:
        raise ApiError(404, "Thread not found")
    mailbox = _mailbox(db, row["mailbox_id"])
    messages = db.all(
        "SELECT * FROM mail_messages WHERE thread_id = ? AND deleted_at IS NULL "
        "ORDER BY created_at, rowid",
        (thread_id,),
    )
    return {
        "thread": dict(row),
        "mailbox": mailbox,
        "org": _org(db, mailbox["organization_id"]),
        "messages": [_message_view(db, m) for m in messages],
    }


def message(db: Db, message_id: str) -> dict[str, Any]:
    """One stored message (404 when unknown)."""
    row = db.one("SELECT * FROM mail_messages WHERE id = ?", (message_id,))
    if row is None:
        raise ApiError(404, "Message not found")
    return _message_view(db, row)


def attachment(db: Db, attachment_id: str) -> dict[str, Any]:
    """One attachment with its content (404 when unknown)."""
    row = db.one(
        "SELECT filename, content_type, content FROM mail_attachments WHERE id = ?",
        (attachment_id,),
    )
    if row is None:
        raise ApiError(404, "Attachment not found")
    return dict(row)


def text_conversations(db: Db, org_id: str) -> dict[str, Any]:
    """An org's texts grouped by conversation (its number and the other party)."""
    org = _org(db, org_id)
    rows = _dicts(
        db.all(
            "SELECT id, direction, local_phone_number, remote_phone_number, text, type, "
            "delivery_status, is_read, is_blocked, media_urls, created_at FROM text_messages "
            "WHERE organization_id = ? AND deleted_at IS NULL ORDER BY created_at, rowid",
            (org_id,),
        )
    )
    conversations: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["local_phone_number"], row["remote_phone_number"])
        conversations.setdefault(key, []).append(row)
    listed: list[dict[str, Any]] = [
        {"local": local, "remote": remote, "texts": texts}
        for (local, remote), texts in conversations.items()
    ]
    listed.sort(key=lambda c: c["texts"][-1]["created_at"], reverse=True)
    return {"org": org, "conversations": listed, "numbers": _numbers(db, org_id)}


def _numbers(db: Db, org_id: str) -> list[dict[str, Any]]:
    return _dicts(
        db.all(
            "SELECT id, number FROM phone_numbers WHERE organization_id = ? "
            "AND released_at IS NULL ORDER BY created_at, rowid",
            (org_id,),
        )
    )


def calls(db: Db, org_id: str) -> dict[str, Any]:
    """An org's calls, newest first, each with its transcript."""
    org = _org(db, org_id)
    rows = _dicts(
        db.all(
            "SELECT id, direction, local_phone_number, remote_phone_number, status, "
            "hangup_reason, is_blocked, started_at, ended_at, created_at FROM phone_calls "
            "WHERE organization_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 200",
            (org_id,),
        )
    )
    for row in rows:
        row["transcript"] = _dicts(
            db.all(
                "SELECT seq, ts_ms, party, text FROM phone_transcripts WHERE call_id = ? "
                "ORDER BY seq",
                (row["id"],),
            )
        )
    return {"org": org, "calls": rows, "numbers": _numbers(db, org_id)}


def deliveries(db: Db, org_id: str) -> dict[str, Any]:
    """An org's webhook delivery attempts (the delivery log), newest first."""
    org = _org(db, org_id)
    rows = _dicts(
        db.all(
            "SELECT * FROM webhook_delivery_log WHERE organization_id = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT 300",
            (org_id,),
        )
    )
    return {"org": org, "deliveries": rows}


def tunnels(db: Db, org_id: str) -> dict[str, Any]:
    """An org's tunnels."""
    org = _org(db, org_id)
    rows = _dicts(
        db.all(
            "SELECT id, tunnel_name, status, public_host, tls_mode, last_connected_at, "
            "last_connected_ip_addr, created_at FROM tunnels WHERE organization_id = ? "
            "AND status != 'deleted' ORDER BY created_at, rowid",
            (org_id,),
        )
    )
    return {"org": org, "tunnels": rows}


def org_name(db: Db, org_id: str) -> dict[str, Any]:
    """The org row (404 when unknown)."""
    return _org(db, org_id)
