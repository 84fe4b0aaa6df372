"""Mail contact rules (per mailbox, and per identity with a direction) and the verdict they give on an address.

Rules belong to the agent identity (see ``contacts.rules`` for the shared
semantics) and live under ``/identities/{handle}/mail-contact-rules``, with the
org-wide list ``GET /mail/contact-rules`` (``agent_identity_id`` or the older
``mailbox_id`` filter). The per-mailbox routes of 0.4.4 reach the rules of the
mailbox's identity and show the mailbox's ``mailbox_id``, until the legacy
cutoff. Mail lists are oldest first.

Verdict for one side: among the identity's rules covering that side and
matching an address, an ``exact_email`` match beats a ``domain`` match (the
domain must equal the address's domain, or be a parent of it); on a tie
``block`` wins. With no matching rule the mailbox's ``filter_mode`` decides:
``blacklist`` allows, ``whitelist`` blocks.

Inbound mail that is blocked is stored in a thread in the ``blocked`` folder
and fires no webhook. Outbound, the emulator enforces explicit ``block`` rules
only (``filter_mode`` never restricts sending): a recipient whose verdict
comes from a matching ``block`` rule makes the send fail with **403**
``{"error": "recipient_blocked", "matched_rule_id", "address", "reason"}``.
"""

from __future__ import annotations

from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.contacts import rules
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db

from .model import is_email

__all__ = [
    "ACTIONS",
    "MATCH_TYPES",
    "create_rule",
    "delete_rule",
    "get_rule",
    "list_all_rules",
    "list_rules",
    "outbound_block",
    "update_rule",
    "verdict",
]

ACTIONS = ("allow", "block")
MATCH_TYPES = ("exact_email", "domain")
TABLE = "mail_rules"
NEW_ROUTE = "/api/v1/identities/{handle}/mail-contact-rules"

Filters = tuple[str | None, str | None, str | None, int, int]
"""``(action, match_type, direction, limit, offset)`` (``limit`` -1 = all)."""


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


def _identity(db: Db, principal: Principal, handle: str | None, mailbox: Any) -> Any:
    """The identity of the path: by handle, or (legacy, 410 after the cutoff) the mailbox's."""
    if handle is not None:
        from inkbox_emulator.identities.model import find_identity

        return find_identity(db, principal, handle)
    rules.check_legacy(db, NEW_ROUTE)
    row = db.one("SELECT * FROM identities WHERE id = ?", (mailbox["agent_identity_id"],))
    if row is None:
        raise ApiError(404, "This mailbox belongs to no agent identity")
    return row


def _legacy(mailbox: Any) -> dict[str, Any]:
    return {} if mailbox is None else {"mailbox_id": mailbox["id"]}


def create_rule(
    db: Db,
    principal: Principal,
    handle: str | None,
    mailbox: Any,
    body: tuple[str, str, str, str],
) -> dict[str, Any]:
    """Create on an identity (``handle``) or, legacy, on a mailbox's identity."""
    action, match_type, target, direction = body
    identity = _identity(db, principal, handle, mailbox)
    value = normalize_target(match_type, target)
    row = rules.create_rule(db, principal, TABLE, identity, action, match_type, value, direction)
    return rules.rule_record(row, **_legacy(mailbox))


def list_rules(
    db: Db, principal: Principal, handle: str | None, mailbox: Any, filters: Filters
) -> list[dict[str, Any]]:
    """An identity's (or, legacy, a mailbox's identity's) live rules, oldest first."""
    identity = _identity(db, principal, handle, mailbox)
    rules.require_own(principal, identity)
    rows = rules.list_rules(
        db, TABLE, "agent_identity_id = ?", [identity["id"]], filters, newest_first=False
    )
    return [rules.rule_record(r, **_legacy(mailbox)) for r in rows]


def list_all_rules(
    db: Db,
    principal: Principal,
    agent_identity_id: str | None,
    mailbox_id: str | None,
    filters: Filters,
) -> list[dict[str, Any]]:
    """``GET /api/v1/mail/contact-rules``: org-wide (admin only)."""
    rules.require_admin(principal, "Listing every mail contact rule")
    where, params = "organization_id = ?", list[Any]([principal.organization_id])
    if agent_identity_id is not None:
        where += " AND agent_identity_id = ?"
        params.append(agent_identity_id)
    if mailbox_id is not None:
        where += " AND agent_identity_id = (SELECT agent_identity_id FROM mailboxes WHERE id = ?)"
        params.append(mailbox_id)
    rows = rules.list_rules(db, TABLE, where, params, filters, newest_first=False)
    out = []
    for row in rows:
        # Org-list rows also name the identity's mailbox (for 0.4.4 readers).
        box = db.one(
            "SELECT id FROM mailboxes WHERE agent_identity_id = ? AND status != 'deleted'",
            (row["agent_identity_id"],),
        )
        out.append(rules.rule_record(row, **_legacy(box)))
    return out


def get_rule(
    db: Db, principal: Principal, handle: str | None, mailbox: Any, rule_id: str
) -> dict[str, Any]:
    """One rule."""
    identity = _identity(db, principal, handle, mailbox)
    rules.require_own(principal, identity)
    return rules.rule_record(rules.find_rule(db, TABLE, identity, rule_id), **_legacy(mailbox))


def update_rule(
    db: Db,
    principal: Principal,
    handle: str | None,
    mailbox: Any,
    rule_id: str,
    change: tuple[str | None, str | None, str | None],
) -> dict[str, Any]:
    """PATCH ``(action, direction, apply_to)`` (admin only)."""
    identity = _identity(db, principal, handle, mailbox)
    row = rules.find_rule(db, TABLE, identity, rule_id)
    return rules.rule_record(
        rules.update_rule(db, principal, TABLE, row, *change), **_legacy(mailbox)
    )


def delete_rule(
    db: Db, principal: Principal, handle: str | None, mailbox: Any, rule_id: str
) -> None:
    """Soft delete (admin only)."""
    identity = _identity(db, principal, handle, mailbox)
    rules.delete_rule(db, principal, TABLE, rules.find_rule(db, TABLE, identity, rule_id))


def _matching_rule(db: Db, mailbox: Any, address: str, side: str) -> Any:
    """The deciding active rule for ``address`` (see module docstring), or ``None``."""
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    covering = [
        r
        for r in db.all(
            "SELECT * FROM mail_rules WHERE agent_identity_id = ? AND status = 'active' "
            "AND deleted_at IS NULL ORDER BY created_at, rowid",
            (mailbox["agent_identity_id"],),
        )
        if rules.covers(r["direction"], side)
    ]
    exact = [
        r for r in covering if r["match_type"] == "exact_email" and r["match_target"] == address
    ]
    by_domain = [
        r
        for r in covering
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
    rule = _matching_rule(db, mailbox, address, "inbound")
    if rule is not None:
        return bool(rule["action"] == "allow")
    return bool(mailbox["filter_mode"] != "whitelist")


def outbound_block(db: Db, mailbox: Any, recipients: list[str]) -> None:
    """403 ``recipient_blocked`` when a ``block`` rule decides one of ``recipients``."""
    for address in recipients:
        rule = _matching_rule(db, mailbox, address, "outbound")
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
