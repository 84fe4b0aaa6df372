"""Vault rows, their wire records and the lookups every vault operation shares.

The emulator stores only what the hosted service stores: per vault
its id and organisation; per key the client-chosen id, ``key_type``, the wrapped
org key (base64 ciphertext), the ``auth_hash`` and who created it; per secret the
plaintext metadata (``name``, ``description``, ``secret_type``) and the opaque
``encrypted_payload`` (base64, kept exactly as received); and the access rules.
Nothing it could decrypt with ever reaches it. Client-chosen key and secret ids
are unique within one vault (another organisation may reuse them).

Visibility: admin keys and human sessions see every secret of their
organisation's vault; an identity-scoped key sees only the secrets granted to its
identity (anything else answers 404, as if it did not exist) and, inside a
secret's access list, only its own rule.
"""

from __future__ import annotations

from typing import Any

from inkbox_emulator.accounts.model import Principal, require_org
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso

__all__ = [
    "KEY_TYPES",
    "NO_VAULT",
    "SECRET_TYPES",
    "access_record",
    "access_rows",
    "find_secret",
    "find_vault",
    "key_record",
    "require_manager",
    "require_vault",
    "secret_detail",
    "secret_record",
    "touch",
    "vault_info",
    "vault_state",
    "visible_secrets",
]

SECRET_TYPES = ("login", "api_key", "key_pair", "ssh_key", "other")
"""Every ``secret_type`` label the vault accepts."""

KEY_TYPES = ("primary", "recovery")
"""Every ``key_type`` of a vault key."""

NO_VAULT = "Vault has not been initialized for this organization"


# -- lookups -------------------------------------------------------------------------


def find_vault(db: Db, organization_id: str) -> Any:
    """The organisation's vault row, or ``None``."""
    return db.one("SELECT * FROM vaults WHERE organization_id = ?", (organization_id,))


def require_vault(db: Db, principal: Principal) -> Any:
    """The caller's vault row (404 when the organisation has none)."""
    vault = find_vault(db, principal.organization_id)
    if vault is None:
        raise ApiError(404, NO_VAULT)
    return vault


def require_manager(principal: Principal, action: str) -> None:
    """403 for identity-scoped keys, which may read granted secrets but manage nothing."""
    if principal.kind == "scoped":
        raise ApiError(403, f"Agent-scoped API keys cannot {action}")


def touch(db: Db, vault: Any) -> None:
    """Move the vault's ``updated_at`` to now."""
    db.exec("UPDATE vaults SET updated_at = ? WHERE id = ?", (db.now, vault["id"]))


def visible_secrets(
    db: Db, principal: Principal, vault: Any, secret_type: str | None = None
) -> list[Any]:
    """The vault's secret rows the caller may see, oldest first (optionally of one type)."""
    sql = "SELECT s.* FROM vault_secrets s WHERE s.vault_id = ?"
    params: list[Any] = [vault["id"]]
    if secret_type is not None:
        sql += " AND s.secret_type = ?"
        params.append(secret_type)
    if principal.kind == "scoped":
        sql += (
            " AND EXISTS (SELECT 1 FROM vault_access_rules r WHERE r.vault_id = s.vault_id "
            "AND r.vault_secret_id = s.id AND r.identity_id = ?)"
        )
        params.append(principal.identity_id)
    return db.all(sql + " ORDER BY s.created_at, s.rowid", params)


def find_secret(db: Db, principal: Principal, vault: Any, secret_id: str) -> Any:
    """One secret of the caller's vault as the caller may see it (404 otherwise)."""
    row = db.one(
        "SELECT * FROM vault_secrets WHERE id = ? AND vault_id = ?", (secret_id, vault["id"])
    )
    if row is not None and principal.kind == "scoped":
        granted = db.one(
            "SELECT 1 FROM vault_access_rules WHERE vault_id = ? AND vault_secret_id = ? "
            "AND identity_id = ?",
            (vault["id"], secret_id, principal.identity_id),
        )
        row = row if granted else None
    if row is None:
        raise ApiError(404, "Vault secret not found")
    return row


def access_rows(db: Db, principal: Principal, secret: Any) -> list[Any]:
    """A secret's access rules as the caller may see them (scoped keys: their own only)."""
    sql = "SELECT * FROM vault_access_rules WHERE vault_id = ? AND vault_secret_id = ?"
    params: list[Any] = [secret["vault_id"], secret["id"]]
    if principal.kind == "scoped":
        sql += " AND identity_id = ?"
        params.append(principal.identity_id)
    return db.all(sql + " ORDER BY created_at, rowid", params)


# -- wire records --------------------------------------------------------------------


def vault_info(db: Db, principal: Principal, vault: Any) -> dict[str, Any]:
    """VaultInfo: ``key_count`` counts primary keys; ``secret_count`` what the caller sees."""
    counts = {
        str(r["key_type"]): int(r["n"])
        for r in db.all(
            "SELECT key_type, COUNT(*) AS n FROM vault_keys WHERE vault_id = ? GROUP BY key_type",
            (vault["id"],),
        )
    }
    return {
        "id": vault["id"],
        "organization_id": vault["organization_id"],
        "created_at": iso(vault["created_at"]),
        "updated_at": iso(vault["updated_at"]),
        "key_count": counts.get("primary", 0),
        "secret_count": len(visible_secrets(db, principal, vault)),
        "recovery_key_count": counts.get("recovery", 0),
    }


def key_record(row: Any) -> dict[str, Any]:
    """VaultKey: metadata only (no wrapped key, no auth hash)."""
    return {
        "id": row["id"],
        "key_type": row["key_type"],
        "created_by": row["created_by"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def access_record(row: Any) -> dict[str, Any]:
    """AccessRule."""
    return {
        "id": row["id"],
        "vault_secret_id": row["vault_secret_id"],
        "identity_id": row["identity_id"],
        "created_at": iso(row["created_at"]),
    }


def secret_record(db: Db, principal: Principal, row: Any) -> dict[str, Any]:
    """VaultSecret (metadata, no payload) with the inline ``access`` array of newer servers."""
    return {
        "id": row["id"],
        "name": row["name"],
        "secret_type": row["secret_type"],
        "description": row["description"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "access": [access_record(r) for r in access_rows(db, principal, row)],
    }


def secret_detail(db: Db, principal: Principal, row: Any) -> dict[str, Any]:
    """VaultSecretDetail: :func:`secret_record` plus the base64 ``encrypted_payload``."""
    return {**secret_record(db, principal, row), "encrypted_payload": row["encrypted_payload"]}


# -- inspection ----------------------------------------------------------------------


def vault_state(db: Db, organization_id: str) -> dict[str, Any]:
    """Everything the vault of an organisation holds except ciphertext (for tests).

    ``vault_id`` is ``None`` (and the lists empty) when the organisation has no vault;
    an unknown organisation is a 404.
    """
    require_org(db, organization_id)
    vault = find_vault(db, organization_id)
    state: dict[str, Any] = {
        "organization_id": organization_id,
        "vault_id": None,
        "created_at": None,
        "updated_at": None,
        "keys": [],
        "secrets": [],
        "access_rules": [],
    }
    if vault is None:
        return state
    state["vault_id"] = vault["id"]
    state["created_at"] = iso(vault["created_at"])
    state["updated_at"] = iso(vault["updated_at"])
    keys = db.all(
        "SELECT * FROM vault_keys WHERE vault_id = ? ORDER BY created_at, rowid", (vault["id"],)
    )
    state["keys"] = [
        {
            "id": k["id"],
            "key_type": k["key_type"],
            "auth_hash": k["auth_hash"],
            "created_by": k["created_by"],
        }
        for k in keys
    ]
    secrets = db.all(
        "SELECT * FROM vault_secrets WHERE vault_id = ? ORDER BY created_at, rowid",
        (vault["id"],),
    )
    state["secrets"] = [
        {
            "id": s["id"],
            "name": s["name"],
            "secret_type": s["secret_type"],
            "description": s["description"],
        }
        for s in secrets
    ]
    rules = db.all(
        "SELECT * FROM vault_access_rules WHERE vault_id = ? ORDER BY created_at, rowid",
        (vault["id"],),
    )
    state["access_rules"] = [
        {"id": r["id"], "vault_secret_id": r["vault_secret_id"], "identity_id": r["identity_id"]}
        for r in rules
    ]
    return state
