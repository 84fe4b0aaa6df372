"""Mailboxes: lookup with visibility rules, list, get, update.

Visibility: admin keys and human sessions reach every live mailbox of their
organisation. An identity-scoped key reaches only its own identity's mailbox:
another mailbox of the same organisation answers **403** (it exists, the key
may not use it); a mailbox of another organisation, or none at all, answers
**404**. The list endpoint shows a scoped key its own mailbox only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.validation import MISSING, Missing
from inkbox_emulator.identities.records import mailbox_record

__all__ = ["MailboxPatch", "find_mailbox", "get_mailbox", "list_mailboxes", "update_mailbox"]


@dataclass(frozen=True)
class MailboxPatch:
    """A parsed mailbox PATCH body (MISSING = leave unchanged)."""

    webhook_url: str | Missing | None = MISSING
    filter_mode: str | Missing = MISSING
    signature: dict[str, Any] = field(default_factory=dict)
    """The ``signature_html`` / ``signature_text`` / ``signature_enabled`` keys sent."""


def find_mailbox(db: Db, principal: Principal, key: str) -> Any:
    """The live mailbox named by a path key (full address, or local part within the org)."""
    key = key.strip()
    if "@" in key:
        row = db.one(
            "SELECT * FROM mailboxes WHERE lower(email_address) = lower(?) AND status != 'deleted'",
            (key,),
        )
    else:
        row = db.one(
            "SELECT * FROM mailboxes WHERE organization_id = ? AND status != 'deleted' "
            "AND lower(substr(email_address, 1, instr(email_address, '@') - 1)) = lower(?) "
            "ORDER BY created_at LIMIT 1",
            (principal.organization_id, key),
        )
    if row is None or row["organization_id"] != principal.organization_id:
        raise ApiError(404, "Mailbox not found")
    if principal.kind == "scoped" and row["agent_identity_id"] != principal.identity_id:
        raise ApiError(
            403, "This API key is scoped to another identity and cannot use this mailbox"
        )
    return row


def list_mailboxes(db: Db, principal: Principal) -> list[dict[str, Any]]:
    """``GET /api/v1/mail/mailboxes``: the caller's live mailboxes, oldest first."""
    rows = db.all(
        "SELECT * FROM mailboxes WHERE organization_id = ? AND status != 'deleted' "
        "ORDER BY created_at, rowid",
        (principal.organization_id,),
    )
    if principal.kind == "scoped":
        rows = [r for r in rows if r["agent_identity_id"] == principal.identity_id]
    return [mailbox_record(r, db) for r in rows]


def get_mailbox(db: Db, principal: Principal, key: str) -> dict[str, Any]:
    """``GET /api/v1/mail/mailboxes/{email}``."""
    return mailbox_record(find_mailbox(db, principal, key), db)


def update_mailbox(db: Db, principal: Principal, key: str, patch: MailboxPatch) -> dict[str, Any]:
    """``PATCH /api/v1/mail/mailboxes/{email}``: webhook URL and (admin only) filter mode."""
    row = find_mailbox(db, principal, key)
    notice: dict[str, Any] | None = None
    sets: dict[str, Any] = {}
    if isinstance(patch.filter_mode, str):
        if not principal.is_org_admin:
            raise ApiError(403, "Changing filter_mode requires an admin-scoped API key")
        if patch.filter_mode != row["filter_mode"]:
            sets["filter_mode"] = patch.filter_mode
            redundant = "block" if patch.filter_mode == "whitelist" else "allow"
            count = db.one(
                "SELECT COUNT(*) FROM mail_rules WHERE agent_identity_id = ? AND action = ? "
                "AND status = 'active' AND deleted_at IS NULL",
                (row["agent_identity_id"], redundant),
            )
            notice = {
                "new_filter_mode": patch.filter_mode,
                "redundant_rule_action": redundant,
                "redundant_rule_count": int(count[0]) if count else 0,
            }
    if not isinstance(patch.webhook_url, Missing):
        sets["webhook_url"] = patch.webhook_url
    if patch.signature:
        settings = {**json.loads(row["settings"] or "{}"), **patch.signature}
        sets["settings"] = json.dumps(settings, sort_keys=True)
    if sets:
        sets["updated_at"] = db.now
        assignments = ", ".join(f"{col} = ?" for col in sets)
        db.exec(f"UPDATE mailboxes SET {assignments} WHERE id = ?", (*sets.values(), row["id"]))
    record = mailbox_record(db.one("SELECT * FROM mailboxes WHERE id = ?", (row["id"],)), db)
    record["filter_mode_change_notice"] = notice
    return record
