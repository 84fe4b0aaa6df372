"""``data.context``: the conversation history a subscription asked for.

A subscription's ``context_config`` names up to three classes (``email``,
``texts``, ``calls``), each ``{mode: "count", count: N}`` (the last N items)
or ``{mode: "window", hours: H}`` (the items of the last H hours). Only
``*.received`` events carry context. Each configured class becomes one block
``{scope, items, truncated, mode, requested | hours[, skipped]}``: items are
oldest first and never include the trigger itself.

Scopes: mail on a mail trigger is the message's ``thread``; texts on a text
trigger are the ``conversation`` with the same remote number; every other
pairing (and calls always) is the ``contact`` scope, the remote party's
address-book contact (or, for a text trigger, its phone number). A class the
emulator cannot resolve ships ``items: []`` with ``skipped``: ``no_contact``
(no matching contact) or ``no_resource`` (the identity has no mailbox or
number for that class). The whole value is capped at 256 KB by dropping the
oldest items of the largest block and setting ``truncated``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso, iso_or_none
from inkbox_emulator.mail.model import addresses

__all__ = ["CONTEXT_CAP_BYTES", "TEXT_ITEM_CHARS", "ContextTrigger", "context_builder"]

CONTEXT_CAP_BYTES = 256 * 1024
TEXT_ITEM_CHARS = 1000
"""Texts longer than this are cut in context items (``text_truncated``)."""


@dataclass(frozen=True)
class ContextTrigger:
    """The received message a context is built around."""

    organization_id: str
    identity_id: str | None
    kind: str  # "mail" or "text"
    trigger_id: str
    created_at: float
    thread_id: str | None = None
    phone_number_id: str | None = None
    remote_number: str | None = None
    contact_id: str | None = None


Items = list[dict[str, Any]]


def _contact(db: Db, contact_id: str | None) -> Any:
    if contact_id is None:
        return None
    return db.one("SELECT emails, phones FROM contacts WHERE id = ?", (contact_id,))


def _identity_resource(db: Db, table: str, trigger: ContextTrigger) -> Any:
    gone = "released" if table == "phone_numbers" else "deleted"
    return db.one(
        f"SELECT * FROM {table} WHERE agent_identity_id = ? AND status != ? "
        "ORDER BY created_at LIMIT 1",
        (trigger.identity_id, gone),
    )


def _mail_item(row: Any, mailbox_address: str) -> dict[str, Any]:
    return {
        "id": row["id"],
        "direction": row["direction"],
        "from_address": row["from_address"],
        "to_addresses": addresses(row["to_addresses"]) or [],
        "created_at": iso(row["created_at"]),
        "subject": row["subject"],
        "snippet": row["snippet"],
        "email_address": mailbox_address,
        "_at": row["created_at"],
    }


def _text_item(db: Db, row: Any) -> dict[str, Any]:
    text = str(row["text"] or "")
    media = db.one("SELECT COUNT(*) FROM text_media WHERE text_id = ?", (row["id"],))
    count = int(media[0]) if media is not None else 0
    inbound = row["direction"] == "inbound"
    return {
        "id": row["id"],
        "channel": "sms",
        "direction": row["direction"],
        "text": text[:TEXT_ITEM_CHARS],
        "text_truncated": len(text) > TEXT_ITEM_CHARS,
        "created_at": iso(row["created_at"]),
        "sender": row["remote_phone_number"] if inbound else row["local_phone_number"],
        "status": row["delivery_status"],
        "media": {"count": count} if count else None,
        "_at": row["created_at"],
    }


def _call_item(db: Db, row: Any) -> dict[str, Any]:
    turns = db.all(
        "SELECT party, text, ts_ms FROM phone_transcripts WHERE call_id = ? ORDER BY seq",
        (row["id"],),
    )
    started, ended = row["started_at"], row["ended_at"]
    return {
        "call_id": row["id"],
        "abridged": False,
        "transcript": [
            {"party": t["party"], "text": t["text"], "ts_ms": t["ts_ms"]} for t in turns
        ],
        "direction": row["direction"],
        "remote_number": row["remote_phone_number"],
        "duration": None if started is None or ended is None else int(ended - started),
        "started_at": iso_or_none(started),
        "_at": row["created_at"],
    }


def _email_items(db: Db, trigger: ContextTrigger) -> tuple[str, Items | str]:
    if trigger.kind == "mail":
        rows = db.all(
            "SELECT m.*, b.email_address AS mailbox_address FROM mail_messages m "
            "JOIN mailboxes b ON b.id = m.mailbox_id "
            "WHERE m.thread_id = ? AND m.id != ? AND m.deleted_at IS NULL",
            (trigger.thread_id, trigger.trigger_id),
        )
        return "thread", [_mail_item(r, r["mailbox_address"]) for r in rows]
    mailbox = _identity_resource(db, "mailboxes", trigger)
    if mailbox is None:
        return "contact", "no_resource"
    contact = _contact(db, trigger.contact_id)
    if contact is None:
        return "contact", "no_contact"
    wanted = {str(e).lower() for e in json.loads(contact["emails"])}
    rows = db.all(
        "SELECT * FROM mail_messages WHERE mailbox_id = ? AND deleted_at IS NULL",
        (mailbox["id"],),
    )
    parties = (
        {str(r["from_address"]).lower(), *(a.lower() for a in addresses(r["to_addresses"]) or [])}
        for r in rows
    )
    return "contact", [
        _mail_item(r, mailbox["email_address"])
        for r, who in zip(rows, parties, strict=True)
        if who & wanted
    ]


def _remote_numbers(db: Db, trigger: ContextTrigger) -> list[str] | str:
    if trigger.kind == "text":
        return [trigger.remote_number] if trigger.remote_number else "no_contact"
    contact = _contact(db, trigger.contact_id)
    return "no_contact" if contact is None else [str(p) for p in json.loads(contact["phones"])]


def _phone_rows(db: Db, table: str, trigger: ContextTrigger) -> list[Any] | str:
    number_id = trigger.phone_number_id
    if number_id is None:
        number = _identity_resource(db, "phone_numbers", trigger)
        if number is None:
            return "no_resource"
        number_id = str(number["id"])
    remotes = _remote_numbers(db, trigger)
    if isinstance(remotes, str):
        return remotes
    marks = ", ".join("?" * len(remotes)) or "NULL"
    deleted = " AND deleted_at IS NULL" if table == "text_messages" else ""
    return db.all(
        f"SELECT * FROM {table} WHERE phone_number_id = ? AND is_blocked = 0 "
        f"AND id != ? AND remote_phone_number IN ({marks}){deleted}",
        (number_id, trigger.trigger_id, *remotes),
    )


def _text_items(db: Db, trigger: ContextTrigger) -> tuple[str, Items | str]:
    scope = "conversation" if trigger.kind == "text" else "contact"
    rows = _phone_rows(db, "text_messages", trigger)
    return scope, rows if isinstance(rows, str) else [_text_item(db, r) for r in rows]


def _calls_items(db: Db, trigger: ContextTrigger) -> tuple[str, Items | str]:
    rows = _phone_rows(db, "phone_calls", trigger)
    return "contact", rows if isinstance(rows, str) else [_call_item(db, r) for r in rows]


_CLASSES: dict[str, Callable[[Db, ContextTrigger], tuple[str, Items | str]]] = {
    "email": _email_items,
    "texts": _text_items,
    "calls": _calls_items,
}


def _block(db: Db, trigger: ContextTrigger, klass: str, config: dict[str, Any]) -> dict[str, Any]:
    scope, found = _CLASSES[klass](db, trigger)
    block: dict[str, Any] = {
        "scope": scope,
        "items": [],
        "truncated": False,
        "mode": config["mode"],
    }
    if config["mode"] == "count":
        block["requested"] = int(config["count"])
    else:
        block["hours"] = int(config["hours"])
    if isinstance(found, str):
        block["skipped"] = found
        return block
    items = sorted(
        (i for i in found if i["_at"] <= trigger.created_at), key=lambda i: float(i["_at"])
    )
    if config["mode"] == "count":
        items = items[-int(config["count"]) :]
    else:
        items = [i for i in items if i["_at"] >= db.now - int(config["hours"]) * 3600]
    block["items"] = [{k: v for k, v in i.items() if k != "_at"} for i in items]
    return block


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def _cap(context: dict[str, Any]) -> dict[str, Any]:
    while _size(context) > CONTEXT_CAP_BYTES:
        largest = max(context.values(), key=_size)
        if not largest["items"]:
            break
        largest["items"].pop(0)
        largest["truncated"] = True
    return context


def context_builder(db: Db, trigger: ContextTrigger) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``context_config → data.context`` for this trigger (only configured classes appear)."""

    def build(config: dict[str, Any]) -> dict[str, Any]:
        return _cap(
            {
                klass: _block(db, trigger, klass, value)
                for klass, value in config.items()
                if value is not None and klass in _CLASSES
            }
        )

    return build
