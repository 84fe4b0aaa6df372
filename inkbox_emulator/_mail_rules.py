"""Mail contact rules (mail.md §6) and the verdict they give on an address.

Verdict: among the mailbox's *active* rules matching an address, an
``exact_email`` match beats a ``domain`` match (the domain must equal the
address's domain, or be a parent of it); on a tie ``block`` wins. With no
matching rule the mailbox's ``filter_mode`` decides: ``blacklist`` allows,
``whitelist`` blocks.

Inbound mail that is blocked is stored in a thread in the ``blocked`` folder
and fires no webhook. Outbound, the emulator enforces explicit ``block`` rules
only (``filter_mode`` never restricts sending): a recipient whose verdict
comes from a matching ``block`` rule makes the send fail with **403**
``{"error": "recipient_blocked", "matched_rule_id", "address", "reason"}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from ._accounts import Principal
from ._errors import ApiError
from ._mail_model import is_email
from ._store import Db
from ._times import iso

__all__ = [
    "ACTIONS",
    "MATCH_TYPES",
    "STATUSES",
    "create_rule",
    "delete_rule",
    "get_rule",
    "list_all_rules",
    "list_rules",
    "outbound_block",
    "rule_record",
    "update_rule",
    "verdict",
]

ACTIONS = ("allow", "block")
MATCH_TYPES = ("exact_email", "domain")
STATUSES = ("active", "paused")


def rule_record(row: Any) -> dict[str, Any]:
    """MailContactRule (mail.md §7.7)."""
    return {
        "id": row["id"],
        "mailbox_id": row["mailbox_id"],
        "action": row["action"],
        "match_type": row["match_type"],
        "match_target": row["match_target"],
        "status": row["status"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _require_admin(principal: Principal, what: str) -> None:
    if not principal.is_org_admin:
        raise ApiError(403, f"{what} requires an admin-scoped API key")


def normalize_target(match_type: str, target: str) -> str:
    """Lower-case and check a match target (422 when it does not fit the match type)."""
    value = target.strip().lower()
    if match_type == "exact_email":
        if not is_email(value):
            raise ApiError(
                422,
                [
                    {
                        "type": "value_error",
                        "loc": ["body", "match_target"],
                        "msg": "Value error, match_target must be an email address for "
                        "match_type 'exact_email'",
                        "input": target,
                        "ctx": {"error": "invalid email address"},
                    }
                ],
            )
    elif "@" in value or "." not in value or " " in value or value.startswith("."):
        raise ApiError(
            422,
            [
                {
                    "type": "value_error",
                    "loc": ["body", "match_target"],
                    "msg": "Value error, match_target must be a bare domain (e.g. spam.example) "
                    "for match_type 'domain'",
                    "input": target,
                    "ctx": {"error": "invalid domain"},
                }
            ],
        )
    return value


def create_rule(
    db: Db, principal: Principal, mailbox: Any, action: str, match_type: str, target: str
) -> dict[str, Any]:
    """``POST …/contact-rules`` (409 with ``existing_rule_id`` on a duplicate)."""
    value = normalize_target(match_type, target)
    existing = db.one(
        "SELECT id FROM mail_rules WHERE mailbox_id = ? AND match_type = ? AND match_target = ? "
        "AND deleted_at IS NULL",
        (mailbox["id"], match_type, value),
    )
    if existing is not None:
        raise ApiError(
            409,
            {
                "existing_rule_id": existing["id"],
                "message": f"A {match_type} rule for '{value}' already exists on this mailbox",
            },
        )
    row = {
        "id": str(uuid.uuid4()),
        "organization_id": principal.organization_id,
        "mailbox_id": mailbox["id"],
        "action": action,
        "match_type": match_type,
        "match_target": value,
        "status": "active",
        "created_at": db.now,
        "updated_at": db.now,
    }
    db.insert("mail_rules", row)
    return rule_record(row)


def _filtered(
    db: Db,
    where: str,
    params: list[Any],
    action: str | None,
    match_type: str | None,
    limit: int | None,
    offset: int | None,
) -> list[dict[str, Any]]:
    if action is not None:
        where += " AND action = ?"
        params.append(action)
    if match_type is not None:
        where += " AND match_type = ?"
        params.append(match_type)
    sql = f"SELECT * FROM mail_rules WHERE {where} ORDER BY created_at, rowid"
    sql += " LIMIT ? OFFSET ?"
    params += [-1 if limit is None else limit, offset or 0]
    return [rule_record(r) for r in db.all(sql, params)]


def list_rules(
    db: Db,
    mailbox: Any,
    action: str | None = None,
    match_type: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> list[dict[str, Any]]:
    """``GET …/contact-rules``: the mailbox's live rules, oldest first."""
    return _filtered(
        db,
        "mailbox_id = ? AND deleted_at IS NULL",
        [mailbox["id"]],
        action,
        match_type,
        limit,
        offset,
    )


def list_all_rules(
    db: Db,
    principal: Principal,
    mailbox_id: str | None = None,
    action: str | None = None,
    match_type: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> list[dict[str, Any]]:
    """``GET /api/v1/mail/contact-rules``: org-wide (admin only)."""
    _require_admin(principal, "Listing every mail contact rule")
    where, params = "organization_id = ? AND deleted_at IS NULL", [principal.organization_id]
    if mailbox_id is not None:
        where += " AND mailbox_id = ?"
        params.append(mailbox_id)
    return _filtered(db, where, params, action, match_type, limit, offset)


def _find(db: Db, mailbox: Any, rule_id: str) -> Any:
    row = db.one(
        "SELECT * FROM mail_rules WHERE id = ? AND mailbox_id = ? AND deleted_at IS NULL",
        (rule_id, mailbox["id"]),
    )
    if row is None:
        raise ApiError(404, "Contact rule not found")
    return row


def get_rule(db: Db, mailbox: Any, rule_id: str) -> dict[str, Any]:
    """``GET …/contact-rules/{rule_id}``."""
    return rule_record(_find(db, mailbox, rule_id))


def update_rule(
    db: Db,
    principal: Principal,
    mailbox: Any,
    rule_id: str,
    action: str | None,
    status: str | None,
) -> dict[str, Any]:
    """``PATCH …/contact-rules/{rule_id}`` (admin only; ``None`` = unchanged)."""
    _require_admin(principal, "Updating a mail contact rule")
    row = _find(db, mailbox, rule_id)
    db.exec(
        "UPDATE mail_rules SET action = ?, status = ?, updated_at = ? WHERE id = ?",
        (action or row["action"], status or row["status"], db.now, row["id"]),
    )
    return rule_record(db.one("SELECT * FROM mail_rules WHERE id = ?", (row["id"],)))


def delete_rule(db: Db, principal: Principal, mailbox: Any, rule_id: str) -> None:
    """``DELETE …/contact-rules/{rule_id}`` (admin only; soft delete)."""
    _require_admin(principal, "Deleting a mail contact rule")
    row = _find(db, mailbox, rule_id)
    db.exec(
        "UPDATE mail_rules SET deleted_at = ?, updated_at = ? WHERE id = ?",
        (db.now, db.now, row["id"]),
    )


def _matching_rule(db: Db, mailbox: Any, address: str) -> Any:
    """The deciding active rule for ``address`` (see module docstring), or ``None``."""
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    rules = db.all(
        "SELECT * FROM mail_rules WHERE mailbox_id = ? AND status = 'active' "
        "AND deleted_at IS NULL ORDER BY created_at, rowid",
        (mailbox["id"],),
    )
    exact = [r for r in rules if r["match_type"] == "exact_email" and r["match_target"] == address]
    by_domain = [
        r
        for r in rules
        if r["match_type"] == "domain"
        and (domain == r["match_target"] or domain.endswith("." + r["match_target"]))
    ]
    for group in (exact, by_domain):
        if group:
            blocks = [r for r in group if r["action"] == "block"]
            return blocks[0] if blocks else group[0]
    return None


def verdict(db: Db, mailbox: Any, address: str) -> bool:
    """Whether inbound mail from ``address`` is delivered (True) or blocked (False)."""
    rule = _matching_rule(db, mailbox, address)
    if rule is not None:
        return bool(rule["action"] == "allow")
    return bool(mailbox["filter_mode"] != "whitelist")


def outbound_block(db: Db, mailbox: Any, recipients: list[str]) -> None:
    """403 ``recipient_blocked`` when a ``block`` rule decides one of ``recipients``."""
    for address in recipients:
        rule = _matching_rule(db, mailbox, address)
        if rule is not None and rule["action"] == "block":
            raise ApiError(
                403,
                {
                    "error": "recipient_blocked",
                    "matched_rule_id": rule["id"],
                    "address": address,
                    "reason": f"{address} is blocked by a mail contact rule of this mailbox",
                },
            )
