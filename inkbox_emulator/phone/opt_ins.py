"""The SMS opt-in registry and the org's 10DLC campaign switch.

One row per (organisation, receiver number). An inbound ``START`` (also
``UNSTOP``) to any number of the org opts the sender in, an inbound ``STOP``
(also ``STOPALL``, ``UNSUBSCRIBE``, ``CANCEL``, ``END``, ``QUIT``) opts it out,
both with ``source=sms`` (keywords are matched on the whole trimmed body,
case-insensitively). Reads are for admin keys and human sessions (403 for
identity-scoped keys). Writes (opt in, opt out) are admin-only and answer **409**
``customer_campaign_required`` unless the org runs its own campaign
(:func:`set_customer_campaign`, a control switch); they record ``source=api``.
"""

from __future__ import annotations

import uuid
from typing import Any

from inkbox_emulator.accounts.model import Principal, require_org
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db

from .model import opt_in_record, phone_error

__all__ = [
    "START_KEYWORDS",
    "STOP_KEYWORDS",
    "apply_keyword",
    "get_opt_in",
    "has_customer_campaign",
    "list_opt_ins",
    "opt_in_status",
    "set_customer_campaign",
    "write_opt_in",
]

START_KEYWORDS = frozenset({"START", "UNSTOP"})
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})


def _require_reader(principal: Principal) -> None:
    if not principal.is_org_admin:
        raise ApiError(403, "Reading SMS opt-ins requires an admin-scoped API key")


def _row(db: Db, organization_id: str, receiver: str) -> Any:
    return db.one(
        "SELECT * FROM sms_opt_ins WHERE organization_id = ? AND receiver_number = ?",
        (organization_id, receiver),
    )


def _upsert(db: Db, organization_id: str, receiver: str, status: str, source: str) -> Any:
    opted_in = status == "opted_in"
    stamp_in, stamp_out = (db.now, None) if opted_in else (None, db.now)
    existing = _row(db, organization_id, receiver)
    if existing is None:
        db.insert(
            "sms_opt_ins",
            {
                "id": str(uuid.uuid4()),
                "organization_id": organization_id,
                "receiver_number": receiver,
                "status": status,
                "source": source,
                "opted_in_at": stamp_in,
                "opted_out_at": stamp_out,
                "created_at": db.now,
                "updated_at": db.now,
            },
        )
    else:
        db.exec(
            "UPDATE sms_opt_ins SET status = ?, source = ?, opted_in_at = ?, opted_out_at = ?, "
            "updated_at = ? WHERE id = ?",
            (status, source, stamp_in, stamp_out, db.now, existing["id"]),
        )
    return _row(db, organization_id, receiver)


def opt_in_status(db: Db, organization_id: str, receiver: str) -> str | None:
    """``opted_in``, ``opted_out`` or ``None`` (never texted START)."""
    row = _row(db, organization_id, receiver)
    return None if row is None else str(row["status"])


def apply_keyword(db: Db, organization_id: str, sender: str, text: str | None) -> str | None:
    """Record an inbound START/STOP keyword; returns the new status or ``None``."""
    keyword = (text or "").strip().upper()
    if keyword in START_KEYWORDS:
        return str(_upsert(db, organization_id, sender, "opted_in", "sms")["status"])
    if keyword in STOP_KEYWORDS:
        return str(_upsert(db, organization_id, sender, "opted_out", "sms")["status"])
    return None


def list_opt_ins(
    db: Db, principal: Principal, status: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """``GET /api/v1/phone/sms-opt-ins``: most recently updated first."""
    _require_reader(principal)
    where, params = "organization_id = ?", [principal.organization_id]
    if status is not None:
        where += " AND status = ?"
        params.append(status)
    rows = db.all(
        f"SELECT * FROM sms_opt_ins WHERE {where} ORDER BY updated_at DESC, rowid DESC "
        "LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [opt_in_record(r) for r in rows]


def get_opt_in(db: Db, principal: Principal, receiver: str) -> dict[str, Any]:
    """``GET /api/v1/phone/sms-opt-ins/{receiver}`` (404 when no row exists)."""
    _require_reader(principal)
    row = _row(db, principal.organization_id, receiver)
    if row is None:
        raise ApiError(404, "No SMS opt-in record for this receiver")
    return opt_in_record(row)


def has_customer_campaign(db: Db, organization_id: str) -> bool:
    """Whether the org runs its own customer-managed 10DLC campaign."""
    return (
        db.one("SELECT 1 FROM sms_campaigns WHERE organization_id = ?", (organization_id,))
        is not None
    )


def write_opt_in(db: Db, principal: Principal, receiver: str, status: str) -> dict[str, Any]:
    """``POST …/sms-opt-ins/{receiver}/opt-in`` and ``…/opt-out`` (``source=api``)."""
    if not principal.is_org_admin:
        raise ApiError(403, "Changing SMS opt-ins requires an admin-scoped API key")
    if not has_customer_campaign(db, principal.organization_id):
        raise phone_error(
            409,
            "customer_campaign_required",
            "Opt-in writes need the organization's own 10DLC campaign; orgs on the Inkbox "
            "default campaign share consent state, which only the recipient's START/STOP changes",
        )
    return opt_in_record(_upsert(db, principal.organization_id, receiver, status, "api"))


def set_customer_campaign(db: Db, organization_id: str, enabled: bool = True) -> dict[str, Any]:
    """Turn the org's own 10DLC campaign on or off (control API)."""
    require_org(db, organization_id)
    if enabled:
        db.exec(
            "INSERT OR IGNORE INTO sms_campaigns (organization_id, created_at) VALUES (?, ?)",
            (organization_id, db.now),
        )
    else:
        db.exec("DELETE FROM sms_campaigns WHERE organization_id = ?", (organization_id,))
    return {"organization_id": organization_id, "customer_campaign": enabled}
