"""Phone contact rules (phone.md §4.6, R1-R6) and the verdict they give on a remote number.

Verdict for a remote E.164 number on one of our numbers: among the number's
*active* ``exact_number`` rules for it, ``block`` wins over ``allow``; with no
matching rule, ``filter_mode`` decides (``blacklist`` lets it through,
``whitelist`` blocks it). The same verdict governs inbound texts and calls
(blocked ones are stored with ``is_blocked=true`` and fire no webhook) and
outbound texts and calls, which answer **403** ``{"error": "recipient_blocked",
"matched_rule_id", "address", "reason"}`` (``matched_rule_id`` null when the
whitelist default blocked).

Access: list, get and create accept admin keys, human sessions and claimed
identity-scoped keys on their own number (unclaimed keys: 403); update,
delete and the org-wide list are admin-only (403). A duplicate (same
match_type and match_target among the number's non-deleted rules, paused ones
included) answers **409** ``{"existing_rule_id", "message"}``. Lists are bare
arrays, newest first.
"""

from __future__ import annotations

import uuid
from typing import Any

from ._accounts import Principal
from ._errors import ApiError, value_error
from ._phone_model import is_e164, rule_record
from ._store import Db

__all__ = [
    "ACTIONS",
    "MATCH_TYPES",
    "STATUSES",
    "Verdict",
    "check_outbound",
    "create_rule",
    "delete_rule",
    "get_rule",
    "list_all_rules",
    "list_rules",
    "update_rule",
    "verdict",
]

ACTIONS = ("allow", "block")
MATCH_TYPES = ("exact_number",)
STATUSES = ("active", "paused")

Verdict = tuple[bool, str | None]
"""``(allowed, deciding rule id or None)``."""


def _require_admin(principal: Principal, what: str) -> None:
    if not principal.is_org_admin:
        raise ApiError(403, f"{what} requires an admin-scoped API key")


def _require_claimed(principal: Principal) -> None:
    if not principal.claimed:
        raise ApiError(403, "Unclaimed agents cannot manage phone contact rules")


def create_rule(
    db: Db, principal: Principal, number: Any, action: str, match_type: str, target: str
) -> dict[str, Any]:
    """``POST …/contact-rules`` (409 with ``existing_rule_id`` on a duplicate)."""
    _require_claimed(principal)
    value = target.strip()
    if not is_e164(value):
        raise value_error(("body", "match_target"), "match_target must be an E.164 number", target)
    existing = db.one(
        "SELECT id FROM phone_rules WHERE phone_number_id = ? AND match_type = ? "
        "AND match_target = ? AND deleted_at IS NULL",
        (number["id"], match_type, value),
    )
    if existing is not None:
        raise ApiError(
            409,
            {
                "existing_rule_id": existing["id"],
                "message": f"A {match_type} rule for {value} already exists on this number",
            },
        )
    row = {
        "id": str(uuid.uuid4()),
        "organization_id": number["organization_id"],
        "phone_number_id": number["id"],
        "action": action,
        "match_type": match_type,
        "match_target": value,
        "status": "active",
        "created_at": db.now,
        "updated_at": db.now,
    }
    db.insert("phone_rules", row)
    return rule_record(row)


def _filtered(
    db: Db,
    where: str,
    params: list[Any],
    action: str | None,
    match_type: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    if action is not None:
        where += " AND action = ?"
        params.append(action)
    if match_type is not None:
        where += " AND match_type = ?"
        params.append(match_type)
    sql = f"SELECT * FROM phone_rules WHERE {where} ORDER BY created_at DESC, rowid DESC"
    return [rule_record(r) for r in db.all(sql + " LIMIT ? OFFSET ?", [*params, limit, offset])]


def list_rules(
    db: Db,
    principal: Principal,
    number: Any,
    action: str | None,
    match_type: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """``GET …/numbers/{id}/contact-rules``."""
    _require_claimed(principal)
    where = "phone_number_id = ? AND deleted_at IS NULL"
    return _filtered(db, where, [number["id"]], action, match_type, limit, offset)


def list_all_rules(
    db: Db,
    principal: Principal,
    phone_number_id: str | None,
    action: str | None,
    match_type: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """``GET /api/v1/phone/contact-rules`` (admin only)."""
    _require_admin(principal, "Listing every phone contact rule")
    where, params = "organization_id = ? AND deleted_at IS NULL", [principal.organization_id]
    if phone_number_id is not None:
        where += " AND phone_number_id = ?"
        params.append(phone_number_id)
    return _filtered(db, where, params, action, match_type, limit, offset)


def _find(db: Db, number: Any, rule_id: str) -> Any:
    row = db.one(
        "SELECT * FROM phone_rules WHERE id = ? AND phone_number_id = ? AND deleted_at IS NULL",
        (rule_id, number["id"]),
    )
    if row is None:
        raise ApiError(404, "Contact rule not found")
    return row


def get_rule(db: Db, principal: Principal, number: Any, rule_id: str) -> dict[str, Any]:
    """``GET …/contact-rules/{rule_id}``."""
    _require_claimed(principal)
    return rule_record(_find(db, number, rule_id))


def update_rule(
    db: Db,
    principal: Principal,
    number: Any,
    rule_id: str,
    action: str | None,
    status: str | None,
) -> dict[str, Any]:
    """``PATCH …/contact-rules/{rule_id}`` (admin only; ``None`` = unchanged)."""
    _require_admin(principal, "Updating a phone contact rule")
    row = _find(db, number, rule_id)
    db.exec(
        "UPDATE phone_rules SET action = ?, status = ?, updated_at = ? WHERE id = ?",
        (action or row["action"], status or row["status"], db.now, row["id"]),
    )
    return rule_record(db.one("SELECT * FROM phone_rules WHERE id = ?", (row["id"],)))


def delete_rule(db: Db, principal: Principal, number: Any, rule_id: str) -> None:
    """``DELETE …/contact-rules/{rule_id}`` (admin only; soft delete frees the slot)."""
    _require_admin(principal, "Deleting a phone contact rule")
    row = _find(db, number, rule_id)
    db.exec(
        "UPDATE phone_rules SET deleted_at = ?, updated_at = ? WHERE id = ?",
        (db.now, db.now, row["id"]),
    )


def verdict(db: Db, number: Any, remote: str) -> Verdict:
    """Whether traffic with ``remote`` is allowed on ``number`` (see module docstring)."""
    rules = db.all(
        "SELECT id, action FROM phone_rules WHERE phone_number_id = ? AND match_target = ? "
        "AND status = 'active' AND deleted_at IS NULL ORDER BY created_at, rowid",
        (number["id"], remote),
    )
    blocks = [r for r in rules if r["action"] == "block"]
    if blocks:
        return False, str(blocks[0]["id"])
    if rules:
        return True, str(rules[0]["id"])
    return number["filter_mode"] != "whitelist", None


def check_outbound(db: Db, number: Any, remote: str) -> None:
    """403 ``recipient_blocked`` when the verdict on ``remote`` blocks an outbound send/call."""
    allowed, rule_id = verdict(db, number, remote)
    if allowed:
        return
    reason = (
        "outbound block rule matched"
        if rule_id is not None
        else "filter_mode=whitelist with no allow rule"
    )
    raise ApiError(
        403,
        {
            "error": "recipient_blocked",
            "matched_rule_id": rule_id,
            "address": remote,
            "reason": reason,
        },
    )
