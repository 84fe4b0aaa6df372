"""Agent self-signup: register, verify, resend, status, approval."""

from __future__ import annotations

import secrets
from typing import Any

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.identities.model import provision_identity
from inkbox_emulator.identities.parse import CreateIdentity

from .handles import derive_signup_handle
from .model import Principal, insert_api_key

__all__ = [
    "CODE_TTL_SECONDS",
    "MAX_ATTEMPTS",
    "RESEND_COOLDOWN_SECONDS",
    "approve",
    "list_signups",
    "register",
    "resend",
    "signup_code",
    "status",
    "verify",
]

MAX_ATTEMPTS = 5
"""Wrong codes allowed before a resend is required."""
RESEND_COOLDOWN_SECONDS = 300
"""Minimum time between two codes (emulator clock)."""
CODE_TTL_SECONDS = 48 * 3600
"""How long a verification code stays valid."""

CLAIMED = "agent_claimed"
UNCLAIMED = "agent_unclaimed"


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def register(
    db: Db,
    human_email: str,
    note_to_human: str,
    display_name: str | None = None,
    agent_handle: str | None = None,
) -> dict[str, Any]:
    """``POST /api/v1/agent-signup``: new org, identity, mailbox, tunnel, unclaimed key, code."""
    org_id = "org_" + secrets.token_hex(12)
    db.insert(
        "orgs",
        {
            "id": org_id,
            "name": display_name or "Agent signup",
            "slug": org_id.lower().replace("_", "-"),
            "owner_user_id": "user_" + secrets.token_hex(12),
            "created_at": db.now,
        },
    )
    for _ in range(20):
        handle = derive_signup_handle(agent_handle, display_name)
        if not db.one(
            "SELECT 1 FROM identities WHERE agent_handle = ? AND status != 'deleted'", (handle,)
        ) and not db.one(
            "SELECT 1 FROM tunnels WHERE tunnel_name = ? AND status != 'deleted'", (handle,)
        ):
            break
    identity = provision_identity(
        db,
        org_id,
        CreateIdentity(agent_handle=handle, display_name=display_name, sending_domain=None),
    )
    secret, record = insert_api_key(
        db,
        org_id,
        created_by=identity["id"],
        creator_type="agent",
        label=f"Agent signup key for {handle}",
        scoped_identity_id=identity["id"],
    )
    db.insert(
        "signups",
        {
            "identity_id": identity["id"],
            "organization_id": org_id,
            "agent_handle": handle,
            "api_key_id": record["id"],
            "human_email": human_email,
            "note_to_human": note_to_human,
            "verification_code": _new_code(),
            "code_issued_at": db.now,
            "failed_attempts": 0,
            "claim_status": UNCLAIMED,
            "created_at": db.now,
        },
    )
    return {
        "email_address": identity["email_address"],
        "organization_id": org_id,
        "api_key": secret,
        "agent_handle": handle,
        "claim_status": UNCLAIMED,
        "human_email": human_email,
        "message": (
            f"A 6-digit verification code was sent to {human_email}. Ask your human for it and "
            "submit it to /api/v1/agent-signup/verify to claim this agent."
        ),
    }


def _signup_for(db: Db, principal: Principal) -> Any:
    row = None
    if principal.kind == "scoped":
        row = db.one("SELECT * FROM signups WHERE identity_id = ?", (principal.identity_id,))
    if row is None:
        raise ApiError(404, "No agent signup is associated with this API key")
    return row


def _claim(db: Db, identity_id: str) -> None:
    db.exec(
        "UPDATE signups SET claim_status = ?, claimed_at = ? WHERE identity_id = ?",
        (CLAIMED, db.now, identity_id),
    )


def verify(db: Db, principal: Principal, code: str) -> dict[str, Any] | ApiError:
    """``POST /api/v1/agent-signup/verify``.

    A wrong code is *returned* as an :class:`ApiError` (not raised) so that the
    transaction commits the incremented attempt counter; the caller raises it.
    """
    row = _signup_for(db, principal)
    if row["claim_status"] == CLAIMED:
        raise ApiError(409, "This agent has already been claimed")
    if row["failed_attempts"] >= MAX_ATTEMPTS:
        raise ApiError(
            429,
            "Too many failed verification attempts; request a new code with resend-verification",
        )
    if db.now - row["code_issued_at"] > CODE_TTL_SECONDS:
        raise ApiError(422, "Verification code has expired; request a new one")
    if not secrets.compare_digest(code.strip(), row["verification_code"]):
        db.exec(
            "UPDATE signups SET failed_attempts = failed_attempts + 1 WHERE identity_id = ?",
            (row["identity_id"],),
        )
        return ApiError(422, "Invalid verification code")
    _claim(db, row["identity_id"])
    return {
        "claim_status": CLAIMED,
        "organization_id": row["organization_id"],
        "message": "Verification succeeded; the agent is now claimed and its restrictions are lifted.",
    }


def resend(db: Db, principal: Principal) -> dict[str, Any]:
    """``POST /api/v1/agent-signup/resend-verification``: new code, 300 s cooldown."""
    row = _signup_for(db, principal)
    if row["claim_status"] == CLAIMED:
        raise ApiError(409, "This agent has already been claimed")
    elapsed = db.now - row["code_issued_at"]
    if elapsed < RESEND_COOLDOWN_SECONDS:
        remaining = int(RESEND_COOLDOWN_SECONDS - elapsed + 0.999)
        raise ApiError(
            429,
            f"A verification code was sent recently; try again in {remaining} seconds",
            headers={"Retry-After": str(remaining)},
        )
    db.exec(
        "UPDATE signups SET verification_code = ?, code_issued_at = ?, failed_attempts = 0 "
        "WHERE identity_id = ?",
        (_new_code(), db.now, row["identity_id"]),
    )
    return {
        "claim_status": row["claim_status"],
        "organization_id": row["organization_id"],
        "message": f"A new verification code was sent to {row['human_email']}.",
    }


def status(db: Db, principal: Principal) -> dict[str, Any]:
    """``GET /api/v1/agent-signup/status``."""
    row = _signup_for(db, principal)
    claimed = row["claim_status"] == CLAIMED
    return {
        "claim_status": row["claim_status"],
        "human_state": "human_account_verified" if claimed else "human_no_account",
        "human_email": row["human_email"],
        "restrictions": {
            "max_sends_per_day": 500 if claimed else 10,
            "allowed_recipients": [] if claimed else [row["human_email"]],
            "can_receive": True,
            "can_create_mailboxes": False,
        },
    }


def _record(row: Any) -> dict[str, Any]:
    return {
        "agent_handle": row["agent_handle"],
        "human_email": row["human_email"],
        "organization_id": row["organization_id"],
        "verification_code": row["verification_code"],
        "claim_status": row["claim_status"],
        "api_key_id": row["api_key_id"],
    }


def list_signups(db: Db) -> list[dict[str, Any]]:
    """Every signup (control API / ``Emulator.signups()``), oldest first."""
    return [_record(r) for r in db.all("SELECT * FROM signups ORDER BY created_at, rowid")]


def _by_handle(db: Db, agent_handle: str) -> Any:
    row = db.one(
        "SELECT * FROM signups WHERE agent_handle = ?", (agent_handle.lstrip("@").lower(),)
    )
    if row is None:
        raise ApiError(404, "Signup not found")
    return row


def signup_code(db: Db, agent_handle: str) -> str:
    """The current verification code of a signup."""
    return str(_by_handle(db, agent_handle)["verification_code"])


def approve(db: Db, agent_handle: str) -> dict[str, Any]:
    """Human approval in the console: the signup becomes claimed."""
    row = _by_handle(db, agent_handle)
    _claim(db, row["identity_id"])
    return _record(_by_handle(db, agent_handle))
