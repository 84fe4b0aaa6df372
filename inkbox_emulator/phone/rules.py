"""Phone contact rules (per number, and per identity with a direction) and the verdict they give.

Rules belong to the agent identity (see ``contacts.rules`` for the shared
semantics) and live under ``/identities/{handle}/phone-contact-rules``, with
the org-wide list ``GET /phone/contact-rules`` (``agent_identity_id`` or the
older ``phone_number_id`` filter). The per-number routes of 0.4.4
(``/phone/numbers/{id}/contact-rules``) reach the rules of the number's
identity and show the number's ``phone_number_id``, until the legacy cutoff.

Verdict for a remote E.164 number on one of our numbers, for one side
(``inbound`` calls and texts, ``outbound`` sends and calls): among the
identity's rules covering that side for that number, ``block`` wins over
``allow``; with no matching rule, the number's ``filter_mode`` decides
(``blacklist`` lets it through, ``whitelist`` blocks it). Blocked inbound
traffic is stored with ``is_blocked=true`` and fires no webhook; blocked
outbound texts and calls answer **403** ``{"error": "recipient_blocked",
"matched_rule_id", "address", "reason"}`` (``matched_rule_id`` null when the
whitelist default blocked).
"""

from __future__ import annotations

from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.contacts import rules
from inkbox_emulator.core.errors import ApiError, value_error
from inkbox_emulator.core.store import Db

from .model import is_e164

__all__ = [
    "ACTIONS",
    "MATCH_TYPES",
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
TABLE = "phone_rules"
NEW_ROUTE = "/api/v1/identities/{handle}/phone-contact-rules"

Verdict = tuple[bool, str | None]
"""``(allowed, deciding rule id or None)``."""

Filters = tuple[str | None, str | None, str | None, int, int]
"""``(action, match_type, direction, limit, offset)``."""


def _identity(db: Db, principal: Principal, handle: str) -> Any:
    from inkbox_emulator.identities.model import find_identity

    return find_identity(db, principal, handle)


def _owner(db: Db, number: Any) -> Any:
    """The identity of a legacy route's number (410 after the cutoff)."""
    rules.check_legacy(db, NEW_ROUTE)
    row = db.one("SELECT * FROM identities WHERE id = ?", (number["agent_identity_id"],))
    if row is None:
        raise ApiError(404, "This phone number belongs to no agent identity")
    return row


def _target(target: str) -> str:
    value = target.strip()
    if not is_e164(value):
        raise value_error(("body", "match_target"), "match_target must be an E.164 number", target)
    return value


def _records(rows: list[Any], **legacy: Any) -> list[dict[str, Any]]:
    return [rules.rule_record(r, **legacy) for r in rows]


def create_rule(
    db: Db,
    principal: Principal,
    handle: str | None,
    number: Any,
    body: tuple[str, str, str, str],
) -> dict[str, Any]:
    """Create on an identity (``handle``) or, legacy, on a number's identity."""
    action, match_type, target, direction = body
    identity = _identity(db, principal, handle) if handle else _owner(db, number)
    row = rules.create_rule(
        db, principal, TABLE, identity, action, match_type, _target(target), direction
    )
    return rules.rule_record(row, **_legacy(number))


def _legacy(number: Any) -> dict[str, Any]:
    return {} if number is None else {"phone_number_id": number["id"]}


def list_rules(
    db: Db, principal: Principal, handle: str | None, number: Any, filters: Filters
) -> list[dict[str, Any]]:
    """An identity's (or, legacy, a number's identity's) live rules, newest first."""
    identity = _identity(db, principal, handle) if handle else _owner(db, number)
    rules.require_own(principal, identity)
    rows = rules.list_rules(db, TABLE, "agent_identity_id = ?", [identity["id"]], filters)
    return _records(rows, **_legacy(number))


def list_all_rules(
    db: Db,
    principal: Principal,
    agent_identity_id: str | None,
    phone_number_id: str | None,
    filters: Filters,
) -> list[dict[str, Any]]:
    """``GET /api/v1/phone/contact-rules`` (admin only)."""
    rules.require_admin(principal, "Listing every phone contact rule")
    where, params = "organization_id = ?", list[Any]([principal.organization_id])
    if agent_identity_id is not None:
        where += " AND agent_identity_id = ?"
        params.append(agent_identity_id)
    number = None
    if phone_number_id is not None:
        number = db.one(
            "SELECT * FROM phone_numbers WHERE id = ? AND organization_id = ?",
            (phone_number_id, principal.organization_id),
        )
        where += " AND agent_identity_id = ?"
        params.append(number["agent_identity_id"] if number is not None else None)
    rows = rules.list_rules(db, TABLE, where, params, filters)
    if number is not None:
        return _records(rows, phone_number_id=number["id"])
    return _with_numbers(db, rows)


def _with_numbers(db: Db, rows: list[Any]) -> list[dict[str, Any]]:
    """Org-list rows also name the identity's current number (for 0.4.4 readers)."""
    out = []
    for row in rows:
        number = db.one(
            "SELECT id FROM phone_numbers WHERE agent_identity_id = ? AND status != 'released'",
            (row["agent_identity_id"],),
        )
        extra = {} if number is None else {"phone_number_id": number["id"]}
        out.append(rules.rule_record(row, **extra))
    return out


def get_rule(
    db: Db, principal: Principal, handle: str | None, number: Any, rule_id: str
) -> dict[str, Any]:
    """One rule."""
    identity = _identity(db, principal, handle) if handle else _owner(db, number)
    rules.require_own(principal, identity)
    return rules.rule_record(rules.find_rule(db, TABLE, identity, rule_id), **_legacy(number))


def update_rule(
    db: Db,
    principal: Principal,
    handle: str | None,
    number: Any,
    rule_id: str,
    change: tuple[str | None, str | None, str | None],
) -> dict[str, Any]:
    """PATCH ``(action, direction, apply_to)`` (admin only)."""
    identity = _identity(db, principal, handle) if handle else _owner(db, number)
    row = rules.find_rule(db, TABLE, identity, rule_id)
    return rules.rule_record(
        rules.update_rule(db, principal, TABLE, row, *change), **_legacy(number)
    )


def delete_rule(
    db: Db, principal: Principal, handle: str | None, number: Any, rule_id: str
) -> None:
    """Soft delete (admin only)."""
    identity = _identity(db, principal, handle) if handle else _owner(db, number)
    rules.delete_rule(db, principal, TABLE, rules.find_rule(db, TABLE, identity, rule_id))


def verdict(db: Db, number: Any, remote: str, side: str = "inbound") -> Verdict:
    """Whether ``side`` traffic with ``remote`` is allowed on ``number`` (module docstring)."""
    matching = [
        r
        for r in db.all(
            "SELECT id, action, direction FROM phone_rules WHERE agent_identity_id = ? "
            "AND match_target = ? AND status = 'active' AND deleted_at IS NULL "
            "ORDER BY created_at, rowid",
            (number["agent_identity_id"], remote),
        )
        if rules.covers(r["direction"], side)
    ]
    blocks = [r for r in matching if r["action"] == "block"]
    if blocks:
        return False, str(blocks[0]["id"])
    if matching:
        return True, str(matching[0]["id"])
    return number["filter_mode"] != "whitelist", None


def check_outbound(db: Db, number: Any, remote: str) -> None:
    """403 ``recipient_blocked`` when the verdict on ``remote`` blocks an outbound send/call."""
    allowed, rule_id = verdict(db, number, remote, "outbound")
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
