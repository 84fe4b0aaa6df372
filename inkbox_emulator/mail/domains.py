"""Custom sending domains: list, and choose the org default (admin only).

``set-default`` with the emulator's platform mail domain clears the custom
default (the answer is ``{"default_domain": null}``); a domain the org does
not have answers 404, one that is not ``verified`` answers 422.
"""

from __future__ import annotations

from typing import Any

from inkbox_emulator.accounts.model import Principal, domain_record, require_org_admin
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db

__all__ = ["DOMAIN_STATUSES", "list_domains", "set_default_domain"]

DOMAIN_STATUSES = (
    "not_started",
    "awaiting_ownership",
    "pending",
    "dns_invalid",
    "verifying",
    "verified",
    "failed",
    "pending_dkim_rotation",
    "degraded",
    "pending_deletion",
)


def list_domains(db: Db, principal: Principal, status: str | None = None) -> list[dict[str, Any]]:
    """``GET /api/v1/domains/``: the caller org's domains, oldest first."""
    sql = "SELECT * FROM sending_domains WHERE organization_id = ?"
    params: list[Any] = [principal.organization_id]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return [domain_record(r) for r in db.all(sql + " ORDER BY created_at, rowid", params)]


def set_default_domain(db: Db, principal: Principal, name: str) -> dict[str, Any]:
    """``POST /api/v1/domains/{name}/set-default``."""
    require_org_admin(principal, "change the default sending domain")
    domain = name.strip().lower()
    if domain == db.settings.mail_domain:
        db.exec(
            "UPDATE sending_domains SET is_default = 0 WHERE organization_id = ?",
            (principal.organization_id,),
        )
        return {"default_domain": None}
    row = db.one(
        "SELECT * FROM sending_domains WHERE organization_id = ? AND domain = ?",
        (principal.organization_id, domain),
    )
    if row is None:
        raise ApiError(404, f"Sending domain '{domain}' not found")
    if row["status"] != "verified":
        raise ApiError(422, f"Sending domain '{domain}' is not verified and cannot be the default")
    db.exec(
        "UPDATE sending_domains SET is_default = (id = ?) WHERE organization_id = ?",
        (row["id"], principal.organization_id),
    )
    return {"default_domain": domain}
