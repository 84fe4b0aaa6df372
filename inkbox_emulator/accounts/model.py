"""Organisations, credentials, authentication, whoami, signing keys, API keys, domains.

Every function takes a :class:`~inkbox_emulator.core.store.Db` first and is run by
``Store.run`` inside one transaction.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso, iso_or_none

__all__ = [
    "Principal",
    "add_sending_domain",
    "authenticate",
    "create_api_key",
    "create_human_session",
    "create_org",
    "create_signing_key",
    "current_signing_key",
    "insert_api_key",
    "org_is_unclaimed",
    "resume_org",
    "whoami",
]

PrincipalKind = Literal["admin", "scoped", "human"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: an admin key, an identity-scoped key, or a human console session."""

    kind: PrincipalKind
    organization_id: str
    key_id: str | None = None
    identity_id: str | None = None
    user_id: str | None = None
    claimed: bool = True

    @property
    def is_org_admin(self) -> bool:
        """Admin keys and human sessions may manage the whole organisation."""
        return self.kind in ("admin", "human")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "org"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- organisations ---------------------------------------------------------


def create_org(db: Db, name: str | None = None) -> tuple[str, str]:
    """Create an organisation with an admin key; returns ``(organization_id, api_key)``."""
    org_id = "org_" + secrets.token_hex(12)
    name = name or f"Emulator org {org_id[4:12]}"
    owner = "user_" + secrets.token_hex(12)
    db.insert(
        "orgs",
        {
            "id": org_id,
            "name": name,
            "slug": _slugify(name),
            "owner_user_id": owner,
            "created_at": db.now,
        },
    )
    secret, _ = insert_api_key(
        db, org_id, created_by=owner, creator_type="human", label="Emulator admin key"
    )
    return org_id, secret


def resume_org(db: Db, organization_id: str, api_key: str) -> str | None:
    """An admin key of an org made by an earlier run on this database: ``api_key`` while it is
    a live admin key of the org, else a newly minted one; None when the org does not exist."""
    org = db.one("SELECT owner_user_id FROM orgs WHERE id = ?", (organization_id,))
    if org is None:
        return None
    row = db.one(
        "SELECT * FROM api_keys WHERE id = ? AND organization_id = ?",
        (api_key.split(".", 1)[0], organization_id),
    )
    if (
        row is not None
        and secrets.compare_digest(row["secret_hash"], _hash(api_key))
        and row["status"] == "active"
        and row["scoped_identity_id"] is None
        and (row["expires_at"] is None or row["expires_at"] > db.now)
    ):
        return api_key
    secret, _ = insert_api_key(
        db,
        organization_id,
        created_by=str(org["owner_user_id"]),
        creator_type="human",
        label="Emulator admin key",
    )
    return secret


def require_org(db: Db, organization_id: str) -> Any:
    """The org row, or a 404."""
    row = db.one("SELECT * FROM orgs WHERE id = ?", (organization_id,))
    if row is None:
        raise ApiError(404, "Organization not found")
    return row


def org_is_unclaimed(db: Db, organization_id: str) -> bool:
    """Whether the org came from an agent signup that no human has claimed yet."""
    row = db.one(
        "SELECT 1 FROM signups WHERE organization_id = ? AND claim_status != 'agent_claimed'",
        (organization_id,),
    )
    return row is not None


# -- credentials -------------------------------------------------------------


def insert_api_key(
    db: Db,
    organization_id: str,
    *,
    created_by: str,
    creator_type: str,
    label: str,
    description: str | None = None,
    scoped_identity_id: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Mint a key; stores only its hash. Returns ``(secret, record)``."""
    key_uuid = str(uuid.uuid4())
    key_id = f"ApiKey_{key_uuid}"
    secret = f"{key_id}.secret_{secrets.token_urlsafe(24)}"
    row = {
        "id": key_id,
        "organization_id": organization_id,
        "secret_hash": _hash(secret),
        "created_by": created_by,
        "creator_type": creator_type,
        "scoped_identity_id": scoped_identity_id,
        "label": label,
        "description": description,
        "status": "active",
        "last4": secret[-4:],
        "display_prefix": f"ApiKey_{key_uuid[:8]}",
        "last_used_at": None,
        "expires_at": None,
        "revoked_at": None,
        "created_at": db.now,
        "updated_at": db.now,
    }
    db.insert("api_keys", row)
    return secret, api_key_record(row)


def api_key_record(row: Any) -> dict[str, Any]:
    """The wire ``ApiKey`` record."""
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "created_by": row["created_by"],
        "creator_type": row["creator_type"],
        "scoped_identity_id": row["scoped_identity_id"],
        "label": row["label"],
        "description": row["description"],
        "status": row["status"],
        "last4": row["last4"],
        "display_prefix": row["display_prefix"],
        "last_used_at": iso_or_none(row["last_used_at"]),
        "expires_at": iso_or_none(row["expires_at"]),
        "revoked_at": iso_or_none(row["revoked_at"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def create_human_session(
    db: Db, organization_id: str, email: str | None = None, name: str | None = None
) -> str:
    """Mint a console (JWT-shaped) credential for a human member of the org."""
    org = require_org(db, organization_id)
    email = email or "owner@example.com"
    existing = db.one(
        "SELECT user_id FROM human_sessions WHERE organization_id = ? AND email = ?",
        (organization_id, email),
    )
    if existing is not None:
        user_id = str(existing["user_id"])
    elif not db.one("SELECT 1 FROM human_sessions WHERE organization_id = ?", (organization_id,)):
        user_id = str(org["owner_user_id"])
    else:
        user_id = "user_" + secrets.token_hex(12)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {
        "sub": user_id,
        "org_id": organization_id,
        "iat": int(db.now),
        "jti": secrets.token_hex(8),
    }
    token = f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(32))}"
    db.insert(
        "human_sessions",
        {
            "token_hash": _hash(token),
            "organization_id": organization_id,
            "user_id": user_id,
            "email": email,
            "name": name,
            "created_at": db.now,
        },
    )
    return token


def authenticate(db: Db, credential: str | None) -> Principal:
    """Resolve an ``X-API-Key`` value (401 when missing or invalid); marks keys as used."""
    if not credential:
        raise ApiError(401, "Missing API key")
    if credential.startswith("ApiKey_"):
        key_id = credential.split(".", 1)[0]
        row = db.one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        if (
            row is None
            or not secrets.compare_digest(row["secret_hash"], _hash(credential))
            or row["status"] != "active"
            or (row["expires_at"] is not None and row["expires_at"] <= db.now)
        ):
            raise ApiError(401, "Invalid API key")
        db.exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (db.now, key_id))
        org_id = str(row["organization_id"])
        scoped = row["scoped_identity_id"]
        return Principal(
            kind="scoped" if scoped else "admin",
            organization_id=org_id,
            key_id=key_id,
            identity_id=scoped,
            claimed=not org_is_unclaimed(db, org_id),
        )
    session = db.one("SELECT * FROM human_sessions WHERE token_hash = ?", (_hash(credential),))
    if session is None:
        raise ApiError(401, "Invalid API key")
    return Principal(
        kind="human",
        organization_id=str(session["organization_id"]),
        user_id=str(session["user_id"]),
    )


def whoami(db: Db, principal: Principal) -> dict[str, Any]:
    """``GET /api/whoami``: the API-key shape or, for human sessions, the JWT shape."""
    if principal.kind == "human":
        session = db.one(
            "SELECT * FROM human_sessions WHERE organization_id = ? AND user_id = ?",
            (principal.organization_id, principal.user_id),
        )
        org = require_org(db, principal.organization_id)
        return {
            "auth_type": "jwt",
            "auth_subtype": "clerk",
            "user_id": principal.user_id,
            "email": session["email"] if session else None,
            "name": session["name"] if session else None,
            "organization_id": principal.organization_id,
            "org_role": "admin",
            "org_slug": org["slug"],
        }
    row = db.one("SELECT * FROM api_keys WHERE id = ?", (principal.key_id,))
    assert row is not None
    if principal.kind == "admin":
        subtype = "api_key.admin_scoped"
    elif principal.claimed:
        subtype = "api_key.agent_scoped.claimed"
    else:
        subtype = "api_key.agent_scoped.unclaimed"
    return {
        "auth_type": "api_key",
        "auth_subtype": subtype,
        "organization_id": row["organization_id"],
        "created_by": row["created_by"],
        "creator_type": row["creator_type"],
        "key_id": row["id"],
        "label": row["label"],
        "description": row["description"],
        "created_at": float(row["created_at"]),
        "last_used_at": None if row["last_used_at"] is None else float(row["last_used_at"]),
        "expires_at": None if row["expires_at"] is None else float(row["expires_at"]),
    }


# -- signing keys ------------------------------------------------------------


def require_org_admin(principal: Principal, action: str) -> None:
    """403 unless the caller is an admin key or a human session."""
    if not principal.is_org_admin:
        raise ApiError(403, f"Agent-scoped API keys cannot {action}")


def create_signing_key(db: Db, principal: Principal) -> dict[str, Any]:
    """``POST /api/v1/signing-keys``: create or rotate the org's webhook signing key."""
    require_org_admin(principal, "manage webhook signing keys")
    secret = "whsec_" + _b64(secrets.token_bytes(24))
    db.exec(
        "INSERT INTO signing_keys (organization_id, secret, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT(organization_id) DO UPDATE SET secret = excluded.secret, "
        "created_at = excluded.created_at",
        (principal.organization_id, secret, db.now),
    )
    return {"signing_key": secret, "created_at": iso(db.now)}


def current_signing_key(db: Db, organization_id: str) -> str | None:
    """The org's current signing key (with its ``whsec_`` prefix), or ``None``."""
    row = db.one("SELECT secret FROM signing_keys WHERE organization_id = ?", (organization_id,))
    return None if row is None else str(row["secret"])


# -- API keys ----------------------------------------------------------------


def create_api_key(
    db: Db,
    principal: Principal,
    label: str,
    description: str | None,
    scoped_identity_id: str | None,
) -> dict[str, Any]:
    """``POST /api/v1/api-keys``: mint a key (admin keys must scope it)."""
    if principal.kind == "scoped":
        raise ApiError(403, "Agent-scoped API keys cannot create API keys")
    if scoped_identity_id is None and principal.kind != "human":
        raise ApiError(
            403,
            "Admin-scoped API keys may only create identity-scoped keys; pass scoped_identity_id",
        )
    if scoped_identity_id is not None:
        identity = db.one(
            "SELECT id FROM identities WHERE id = ? AND organization_id = ? AND status != 'deleted'",
            (scoped_identity_id, principal.organization_id),
        )
        if identity is None:
            raise ApiError(404, "Identity not found")
    if principal.kind == "human":
        created_by = str(principal.user_id)
    else:
        creator = db.one("SELECT created_by FROM api_keys WHERE id = ?", (principal.key_id,))
        created_by = str(creator["created_by"]) if creator else ""
    secret, record = insert_api_key(
        db,
        principal.organization_id,
        created_by=created_by,
        creator_type="human",
        label=label,
        description=description,
        scoped_identity_id=scoped_identity_id,
    )
    return {"api_key": secret, "record": record}


# -- sending domains ---------------------------------------------------------


def domain_record(row: Any) -> dict[str, Any]:
    """The wire ``Domain`` record."""
    return {
        "id": row["id"],
        "domain": row["domain"],
        "status": row["status"],
        "is_default": bool(row["is_default"]),
        "verified_at": iso_or_none(row["verified_at"]),
    }


def add_sending_domain(
    db: Db, organization_id: str, domain: str, status: str = "verified", is_default: bool = False
) -> dict[str, Any]:
    """Register (or update) a custom sending domain of an org."""
    require_org(db, organization_id)
    domain = domain.strip().lower()
    if not domain or "@" in domain or "/" in domain:
        raise ApiError(422, "domain must be a bare domain name such as mail.acme.com")
    if is_default:
        db.exec(
            "UPDATE sending_domains SET is_default = 0 WHERE organization_id = ?",
            (organization_id,),
        )
    verified_at = db.now if status == "verified" else None
    existing = db.one(
        "SELECT id FROM sending_domains WHERE organization_id = ? AND domain = ?",
        (organization_id, domain),
    )
    if existing is None:
        db.insert(
            "sending_domains",
            {
                "id": f"sending_domain_{uuid.uuid4()}",
                "organization_id": organization_id,
                "domain": domain,
                "status": status,
                "is_default": int(is_default),
                "verified_at": verified_at,
                "created_at": db.now,
            },
        )
    else:
        db.exec(
            "UPDATE sending_domains SET status = ?, is_default = ?, "
            "verified_at = COALESCE(verified_at, ?) WHERE id = ?",
            (status, int(is_default), verified_at, existing["id"]),
        )
    row = db.one(
        "SELECT * FROM sending_domains WHERE organization_id = ? AND domain = ?",
        (organization_id, domain),
    )
    return domain_record(row)
