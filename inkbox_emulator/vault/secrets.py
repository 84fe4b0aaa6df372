"""Vault secrets and their access rules.

Secrets are stored as the client sends them: plaintext metadata plus the opaque
base64 ``encrypted_payload``. Identity-scoped keys read only what was granted to
their identity (ungranted secrets answer 404) and may not create, change, delete,
grant or revoke (403). Deleting a secret deletes its access rules; deleting an
identity deletes its rules (see ``identities.model``); identity create may grant secrets
in its own transaction (:func:`grant_on_identity_create`).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.validation import Missing

from .model import (
    access_record,
    access_rows,
    find_secret,
    find_vault,
    require_manager,
    require_vault,
    secret_detail,
    secret_record,
    touch,
    visible_secrets,
)
from .parse import NewSecret, SecretPatch

__all__ = [
    "ALL_SECRETS",
    "create_secret",
    "delete_secret",
    "get_secret",
    "grant_access",
    "grant_on_identity_create",
    "list_access",
    "list_secrets",
    "remove_identity_rules",
    "revoke_access",
    "update_secret",
]

ALL_SECRETS: Literal["*"] = "*"
"""``vault_secret_ids`` value meaning every secret the vault holds now (``"*"``/``"all"``)."""


# -- secrets -------------------------------------------------------------------------------


def list_secrets(db: Db, principal: Principal, secret_type: str | None) -> list[dict[str, Any]]:
    """``GET /secrets[?secret_type=]``: metadata (no payload), oldest first."""
    vault = require_vault(db, principal)
    rows = visible_secrets(db, principal, vault, secret_type)
    return [secret_record(db, principal, r) for r in rows]


def create_secret(db: Db, principal: Principal, request: NewSecret) -> dict[str, Any]:
    """``POST /secrets`` with a client-chosen id (409 when the id exists)."""
    require_manager(principal, "create vault secrets")
    vault = require_vault(db, principal)
    if db.one(
        "SELECT 1 FROM vault_secrets WHERE vault_id = ? AND id = ?", (vault["id"], request.id)
    ):
        raise ApiError(409, f"A vault secret with id '{request.id}' already exists")
    db.insert(
        "vault_secrets",
        {
            "id": request.id,
            "vault_id": vault["id"],
            "name": request.name,
            "description": request.description,
            "secret_type": request.secret_type,
            "encrypted_payload": request.encrypted_payload,
            "created_at": db.now,
            "updated_at": db.now,
        },
    )
    touch(db, vault)
    return secret_record(db, principal, find_secret(db, principal, vault, request.id))


def get_secret(db: Db, principal: Principal, secret_id: str) -> dict[str, Any]:
    """``GET /secrets/{id}``: VaultSecretDetail."""
    vault = require_vault(db, principal)
    return secret_detail(db, principal, find_secret(db, principal, vault, secret_id))


def update_secret(
    db: Db, principal: Principal, secret_id: str, patch: SecretPatch
) -> dict[str, Any]:
    """``PATCH /secrets/{id}``: name, description (null clears), encrypted payload."""
    vault = require_vault(db, principal)
    row = find_secret(db, principal, vault, secret_id)
    require_manager(principal, "change vault secrets")
    sets: dict[str, Any] = {}
    if isinstance(patch.name, str):
        sets["name"] = patch.name
    if not isinstance(patch.description, Missing):
        sets["description"] = patch.description
    if isinstance(patch.encrypted_payload, str):
        sets["encrypted_payload"] = patch.encrypted_payload
    if sets:
        sets["updated_at"] = db.now
        assignments = ", ".join(f"{col} = ?" for col in sets)
        db.exec(
            f"UPDATE vault_secrets SET {assignments} WHERE vault_id = ? AND id = ?",
            (*sets.values(), vault["id"], row["id"]),
        )
        touch(db, vault)
    return secret_record(db, principal, find_secret(db, principal, vault, secret_id))


def delete_secret(db: Db, principal: Principal, secret_id: str) -> None:
    """``DELETE /secrets/{id}``, with its access rules."""
    vault = require_vault(db, principal)
    row = find_secret(db, principal, vault, secret_id)
    require_manager(principal, "delete vault secrets")
    key = (vault["id"], row["id"])
    db.exec("DELETE FROM vault_access_rules WHERE vault_id = ? AND vault_secret_id = ?", key)
    db.exec("DELETE FROM vault_secrets WHERE vault_id = ? AND id = ?", key)
    touch(db, vault)


# -- access rules ----------------------------------------------------------------------------


def _live_identity(db: Db, organization_id: str, identity_id: str) -> Any:
    row = db.one(
        "SELECT id FROM identities WHERE id = ? AND organization_id = ? AND status != 'deleted'",
        (identity_id, organization_id),
    )
    if row is None:
        raise ApiError(404, "Identity not found")
    return row


def _insert_rule(db: Db, vault_id: str, secret_id: str, identity_id: str) -> dict[str, Any]:
    row = {
        "id": str(uuid.uuid4()),
        "vault_id": vault_id,
        "vault_secret_id": secret_id,
        "identity_id": identity_id,
        "created_at": db.now,
    }
    db.insert("vault_access_rules", row)
    return row


def list_access(db: Db, principal: Principal, secret_id: str) -> list[dict[str, Any]]:
    """``GET /secrets/{id}/access`` (scoped keys: their own rule of a granted secret)."""
    vault = require_vault(db, principal)
    row = find_secret(db, principal, vault, secret_id)
    return [access_record(r) for r in access_rows(db, principal, row)]


def grant_access(db: Db, principal: Principal, secret_id: str, identity_id: str) -> dict[str, Any]:
    """``POST /secrets/{id}/access`` (404 unknown secret or identity, 409 already granted)."""
    require_manager(principal, "grant access to vault secrets")
    vault = require_vault(db, principal)
    secret = find_secret(db, principal, vault, secret_id)
    _live_identity(db, principal.organization_id, identity_id)
    if db.one(
        "SELECT 1 FROM vault_access_rules WHERE vault_id = ? AND vault_secret_id = ? "
        "AND identity_id = ?",
        (vault["id"], secret["id"], identity_id),
    ):
        raise ApiError(409, "This identity already has access to this secret")
    return access_record(_insert_rule(db, str(vault["id"]), str(secret["id"]), identity_id))


def revoke_access(db: Db, principal: Principal, secret_id: str, identity_id: str) -> None:
    """``DELETE /secrets/{id}/access/{identity_id}`` (404 when there is no such rule)."""
    require_manager(principal, "revoke access to vault secrets")
    vault = require_vault(db, principal)
    secret = find_secret(db, principal, vault, secret_id)
    removed = db.exec(
        "DELETE FROM vault_access_rules WHERE vault_id = ? AND vault_secret_id = ? "
        "AND identity_id = ?",
        (vault["id"], secret["id"], identity_id),
    )
    if not removed:
        raise ApiError(404, "Access rule not found")


def grant_on_identity_create(
    db: Db,
    organization_id: str,
    identity_id: str,
    secret_ids: tuple[str, ...] | Literal["*"],
) -> None:
    """Grant a new identity the listed secrets (or every current one for ``"*"``).

    Runs inside the identity-create transaction: an unknown id raises a 404 that
    rolls the whole create back.
    """
    vault = find_vault(db, organization_id)
    if secret_ids == ALL_SECRETS:
        wanted: list[str] = (
            []
            if vault is None
            else [
                str(r["id"])
                for r in db.all(
                    "SELECT id FROM vault_secrets WHERE vault_id = ? ORDER BY created_at, rowid",
                    (vault["id"],),
                )
            ]
        )
    else:
        wanted = list(dict.fromkeys(secret_ids))
        known = (
            set()
            if vault is None
            else {
                str(r["id"])
                for r in db.all("SELECT id FROM vault_secrets WHERE vault_id = ?", (vault["id"],))
            }
        )
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise ApiError(404, "Vault secret not found: " + ", ".join(unknown))
    for secret_id in wanted:
        assert vault is not None
        _insert_rule(db, str(vault["id"]), secret_id, identity_id)


def remove_identity_rules(db: Db, identity_id: str) -> int:
    """Delete every access rule of an identity (identity delete); returns how many."""
    return db.exec("DELETE FROM vault_access_rules WHERE identity_id = ?", (identity_id,))
