"""Contact rules keyed by agent identity: what mail and phone rules share.

A rule belongs to an identity (``agent_identity_id``) and covers a
``direction``: ``inbound``, ``outbound`` or ``both`` (the default). Rows are
``{id, agent_identity_id, action, match_type, match_target, direction,
status: "active", contact: null, created_at, updated_at}``.

Create: a rule with the same ``(match_type, match_target)`` and action as a
live one *extends* it (its direction becomes ``both``) when it covers the
other side, and is a **409** ``{"existing_rule_id", "message"}`` when the side
is already covered (by any action). PATCH takes ``action`` and/or
``direction``, or ``action`` with ``apply_to`` (one side of a ``both`` rule:
that side is split off into a new rule with the new action, which is
returned); ``apply_to`` without ``action`` or with ``direction`` is a 422, as
is an empty body. Deletes are soft.

Access: list, get and create accept admin keys, human sessions and claimed
identity-scoped keys on their own identity; update, delete and the org-wide
lists are admin-only (403).

Legacy routes (per mailbox / per number) answer with the same rows plus the
``mailbox_id`` / ``phone_number_id`` of the path, until :data:`LEGACY_CUTOFF`
(2026-08-31T00:00:00Z, their announced sunset; ``Emulator(legacy_rules_until=...)``
moves it) on the emulator clock; from then on they answer **410** naming the
identity-keyed route (:func:`check_legacy`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError, value_error
from inkbox_emulator.core.store import Db, Settings
from inkbox_emulator.core.times import iso
from inkbox_emulator.core.validation import Fields, Missing

__all__ = [
    "DIRECTIONS",
    "LEGACY_CUTOFF",
    "check_legacy",
    "covers",
    "create_rule",
    "delete_rule",
    "find_rule",
    "list_rules",
    "parse_rule_patch",
    "rule_record",
    "update_rule",
]

DIRECTIONS = ("inbound", "outbound", "both")
LEGACY_CUTOFF = datetime(2026, 8, 31, tzinfo=UTC).timestamp()
"""When the per-mailbox and per-number rule routes stop answering (their announced sunset)."""
assert Settings.legacy_rules_until == LEGACY_CUTOFF


def check_legacy(db: Db, replacement: str) -> None:
    """410 once the emulator clock reaches the settings' ``legacy_rules_until`` (by default
    :data:`LEGACY_CUTOFF`): the route is answered like a removed one."""
    if db.now >= db.settings.legacy_rules_until:
        raise ApiError(
            410,
            {
                "error": "endpoint_removed",
                "message": "Per-mailbox and per-number contact rules were removed on "
                f"2026-08-31; use {replacement}",
                "replacement": replacement,
            },
        )


def covers(direction: str, side: str) -> bool:
    """Whether a rule with ``direction`` applies to ``side`` traffic."""
    return direction in (side, "both")


def rule_record(row: Any, **legacy: Any) -> dict[str, Any]:
    """The rule row (``legacy`` adds ``mailbox_id`` / ``phone_number_id`` on old routes)."""
    return {
        "id": row["id"],
        "agent_identity_id": row["agent_identity_id"],
        **legacy,
        "action": row["action"],
        "match_type": row["match_type"],
        "match_target": row["match_target"],
        "direction": row["direction"],
        "status": row["status"],
        "contact": None,
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def require_admin(principal: Principal, what: str) -> None:
    """403 unless an admin key or a human session calls."""
    if not principal.is_org_admin:
        raise ApiError(403, f"{what} requires an admin-scoped API key")


def require_own(principal: Principal, identity: Any) -> None:
    """403 for unclaimed keys and for scoped keys of another identity."""
    if principal.kind != "scoped":
        return
    if not principal.claimed:
        raise ApiError(403, "Unclaimed agents cannot manage contact rules")
    if identity["id"] != principal.identity_id:
        raise ApiError(403, "Agent-scoped API keys may only manage their own contact rules")


def _live(db: Db, table: str, identity_id: str, match_type: str, target: str) -> list[Any]:
    return db.all(
        f"SELECT * FROM {table} WHERE agent_identity_id = ? AND match_type = ? "
        "AND match_target = ? AND deleted_at IS NULL ORDER BY created_at, rowid",
        (identity_id, match_type, target),
    )


def _duplicate(row: Any, target: str) -> ApiError:
    return ApiError(
        409,
        {
            "existing_rule_id": row["id"],
            "message": f"A {row['match_type']} rule for {target} already covers "
            f"{row['direction']} traffic of this identity",
        },
    )


def create_rule(
    db: Db,
    principal: Principal,
    table: str,
    identity: Any,
    action: str,
    match_type: str,
    target: str,
    direction: str,
) -> Any:
    """Add (or extend) a rule; returns the row (see module docstring)."""
    require_own(principal, identity)
    for row in _live(db, table, str(identity["id"]), match_type, target):
        overlap = direction == "both" or covers(row["direction"], direction)
        if overlap or row["direction"] == "both":
            raise _duplicate(row, target)
        if row["action"] == action:
            db.exec(
                f"UPDATE {table} SET direction = 'both', updated_at = ? WHERE id = ?",
                (db.now, row["id"]),
            )
            return db.one(f"SELECT * FROM {table} WHERE id = ?", (row["id"],))
    rule_id = str(uuid.uuid4())
    db.insert(
        table,
        {
            "id": rule_id,
            "organization_id": identity["organization_id"],
            "agent_identity_id": identity["id"],
            "direction": direction,
            "action": action,
            "match_type": match_type,
            "match_target": target,
            "status": "active",
            "created_at": db.now,
            "updated_at": db.now,
        },
    )
    return db.one(f"SELECT * FROM {table} WHERE id = ?", (rule_id,))


def list_rules(
    db: Db,
    table: str,
    where: str,
    params: list[Any],
    filters: tuple[str | None, str | None, str | None, int, int],
    *,
    newest_first: bool = True,
) -> list[Any]:
    """Live rules matching ``where`` and ``(action, match_type, direction, limit, offset)``
    (``limit`` -1 = all)."""
    action, match_type, direction, limit, offset = filters
    for column, value in (("action", action), ("match_type", match_type)):
        if value is not None:
            where += f" AND {column} = ?"
            params.append(value)
    if direction is not None:
        # A filter on one side also lists the rules covering both.
        where += " AND direction IN (?, 'both')" if direction != "both" else " AND direction = ?"
        params.append(direction)
    sql = f"SELECT * FROM {table} WHERE {where} AND deleted_at IS NULL "
    sql += "ORDER BY created_at DESC, rowid DESC" if newest_first else "ORDER BY created_at, rowid"
    sql += " LIMIT ? OFFSET ?"
    return db.all(sql, [*params, limit, offset])


def find_rule(db: Db, table: str, identity: Any, rule_id: str) -> Any:
    """A live rule of the identity (404 otherwise)."""
    row = db.one(
        f"SELECT * FROM {table} WHERE id = ? AND agent_identity_id = ? AND deleted_at IS NULL",
        (rule_id, identity["id"]),
    )
    if row is None:
        raise ApiError(404, "Contact rule not found")
    return row


def update_rule(
    db: Db,
    principal: Principal,
    table: str,
    row: Any,
    action: str | None,
    direction: str | None,
    apply_to: str | None,
) -> Any:
    """PATCH a rule (admin only); returns the row that now carries the change."""
    require_admin(principal, "Updating a contact rule")
    if apply_to is not None:
        if not covers(row["direction"], apply_to):
            raise ApiError(422, f"The rule covers {row['direction']} traffic only, not {apply_to}")
        if row["direction"] == apply_to:
            direction = None
        else:
            other = "outbound" if apply_to == "inbound" else "inbound"
            db.exec(
                f"UPDATE {table} SET direction = ?, updated_at = ? WHERE id = ?",
                (other, db.now, row["id"]),
            )
            split = dict(row)
            split.update(id=str(uuid.uuid4()), direction=apply_to, action=action)
            split.update(created_at=db.now, updated_at=db.now, deleted_at=None)
            db.insert(table, split)
            return db.one(f"SELECT * FROM {table} WHERE id = ?", (split["id"],))
    db.exec(
        f"UPDATE {table} SET action = ?, direction = ?, updated_at = ? WHERE id = ?",
        (action or row["action"], direction or row["direction"], db.now, row["id"]),
    )
    return db.one(f"SELECT * FROM {table} WHERE id = ?", (row["id"],))


def delete_rule(db: Db, principal: Principal, table: str, row: Any) -> None:
    """Soft-delete a rule (admin only)."""
    require_admin(principal, "Deleting a contact rule")
    db.exec(
        f"UPDATE {table} SET deleted_at = ?, updated_at = ? WHERE id = ?",
        (db.now, db.now, row["id"]),
    )


def parse_rule_patch(
    fields: Fields, actions: tuple[str, ...]
) -> tuple[str | None, str | None, str | None]:
    """``(action, direction, apply_to)`` of a rule PATCH (422 as the module docstring says)."""
    action = fields.literal("action", actions, nullable=False)
    direction = fields.literal("direction", DIRECTIONS, nullable=False)
    apply_to = fields.literal("apply_to", ("inbound", "outbound"), nullable=False)
    fields.raise_errors()
    out = tuple(None if isinstance(v, Missing) else v for v in (action, direction, apply_to))
    action_, direction_, apply_to_ = out
    if action_ is None and direction_ is None:
        raise value_error(("body",), "Provide action or direction", fields.data)
    if apply_to_ is not None and (action_ is None or direction_ is not None):
        raise value_error(
            ("body", "apply_to"),
            "apply_to requires action and cannot be combined with direction",
            apply_to_,
        )
    return action_, direction_, apply_to_
