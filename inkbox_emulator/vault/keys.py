"""The vault itself and its keys: info, initialize, unlock, list, replace the primary, delete.

Rules:

* a vault has exactly one primary key at a time plus its recovery keys; every
  key's ``auth_hash`` is unique within the vault;
* ``GET /unlock?auth_hash=`` answers 200 with ``wrapped_org_encryption_key: null``
  when no key has that hash (the official clients handle exactly that case);
  without ``auth_hash`` it answers the plural ``wrapped_org_encryption_keys`` form;
* ``PUT /keys/primary`` proves knowledge with ``current_auth_hash`` (must be the
  primary's; the old primary is deleted) or ``recovery_auth_hash`` (must be a
  recovery key's; it is consumed and the current primary deleted). A hash that
  does not match answers **403** and changes nothing;
* ``DELETE /keys/{auth_hash}`` removes a recovery key; the primary key answers
  **409** (replace it instead — deleting it would leave the vault without one);
* identity-scoped keys may read (info, keys, unlock) but manage nothing (403).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db

from .model import (
    find_vault,
    key_record,
    require_manager,
    require_vault,
    secret_detail,
    touch,
    vault_info,
    visible_secrets,
)
from .parse import InitializeVault, KeyMaterial, ReplacePrimary

__all__ = ["delete_key", "get_info", "initialize", "list_keys", "replace_primary", "unlock"]


def _actor(db: Db, principal: Principal) -> str | None:
    """The user id recorded as ``created_by`` (the human, or the human behind an admin key)."""
    if principal.kind == "human":
        return principal.user_id
    row = db.one("SELECT created_by FROM api_keys WHERE id = ?", (principal.key_id,))
    return None if row is None else str(row["created_by"])


def _insert_key(db: Db, vault_id: str, key: KeyMaterial, created_by: str | None) -> None:
    db.insert(
        "vault_keys",
        {
            "id": key.id,
            "vault_id": vault_id,
            "key_type": key.key_type,
            "wrapped_org_encryption_key": key.wrapped_org_encryption_key,
            "auth_hash": key.auth_hash,
            "created_by": created_by,
            "created_at": db.now,
            "updated_at": db.now,
        },
    )


def get_info(db: Db, principal: Principal) -> dict[str, Any]:
    """``GET /info`` (404 when the organisation has no vault)."""
    return vault_info(db, principal, require_vault(db, principal))


def initialize(db: Db, principal: Principal, request: InitializeVault) -> dict[str, Any]:
    """``POST /initialize``: create the vault with its primary and recovery keys."""
    require_manager(principal, "initialize the vault")
    if find_vault(db, principal.organization_id) is not None:
        raise ApiError(409, "This organization already has a vault")
    keys = [request.vault_key, *request.recovery_keys]
    vault_id = str(uuid.uuid4())
    db.insert(
        "vaults",
        {
            "id": vault_id,
            "organization_id": principal.organization_id,
            "created_at": db.now,
            "updated_at": db.now,
        },
    )
    actor = _actor(db, principal)
    for key in keys:
        _insert_key(db, vault_id, key, actor)
    return {
        "vault_id": vault_id,
        "vault_key_id": request.vault_key.id,
        "recovery_key_count": len(request.recovery_keys),
    }


def unlock(db: Db, principal: Principal, auth_hash: str | None) -> dict[str, Any]:
    """``GET /unlock``: the wrapped org key of the key with ``auth_hash`` (``null`` when none
    matches) or, without ``auth_hash``, every key's; plus the caller's encrypted secrets."""
    vault = require_vault(db, principal)
    encrypted = [secret_detail(db, principal, r) for r in visible_secrets(db, principal, vault)]
    if auth_hash is None:
        rows = db.all(
            "SELECT * FROM vault_keys WHERE vault_id = ? "
            "ORDER BY key_type = 'recovery', created_at, rowid",
            (vault["id"],),
        )
        return {
            "wrapped_org_encryption_key": None,
            "wrapped_org_encryption_keys": [
                {
                    "id": r["id"],
                    "auth_hash": r["auth_hash"],
                    "wrapped_org_encryption_key": r["wrapped_org_encryption_key"],
                }
                for r in rows
            ],
            "encrypted_secrets": encrypted,
        }
    row = db.one(
        "SELECT wrapped_org_encryption_key FROM vault_keys WHERE vault_id = ? AND auth_hash = ?",
        (vault["id"], auth_hash),
    )
    return {
        "wrapped_org_encryption_key": None if row is None else row["wrapped_org_encryption_key"],
        "wrapped_org_encryption_keys": None,
        "encrypted_secrets": encrypted,
    }


def list_keys(db: Db, principal: Principal, key_type: str | None) -> list[dict[str, Any]]:
    """``GET /keys[?type=primary|recovery]``: metadata only, oldest first."""
    vault = require_vault(db, principal)
    sql = "SELECT * FROM vault_keys WHERE vault_id = ?"
    params: list[Any] = [vault["id"]]
    if key_type is not None:
        sql += " AND key_type = ?"
        params.append(key_type)
    return [key_record(r) for r in db.all(sql + " ORDER BY created_at, rowid", params)]


def replace_primary(db: Db, principal: Principal, request: ReplacePrimary) -> dict[str, Any]:
    """``PUT /keys/primary``: register a new primary key, proven by the current primary's hash
    (old primary deleted) or a recovery key's hash (recovery key consumed, primary deleted)."""
    require_manager(principal, "replace the primary vault key")
    vault = require_vault(db, principal)
    primary = db.one(
        "SELECT * FROM vault_keys WHERE vault_id = ? AND key_type = 'primary'", (vault["id"],)
    )
    removed: list[str] = [] if primary is None else [str(primary["id"])]
    if request.current_auth_hash is not None:
        if primary is None or not secrets.compare_digest(
            str(primary["auth_hash"]), request.current_auth_hash
        ):
            raise ApiError(403, "current_auth_hash does not match the current primary vault key")
    else:
        recovery = db.one(
            "SELECT id FROM vault_keys WHERE vault_id = ? AND key_type = 'recovery' "
            "AND auth_hash = ?",
            (vault["id"], request.recovery_auth_hash),
        )
        if recovery is None:
            raise ApiError(403, "recovery_auth_hash does not match any recovery key of this vault")
        removed.append(str(recovery["id"]))
    if db.one("SELECT 1 FROM vault_keys WHERE vault_id = ? AND id = ?", (vault["id"], request.id)):
        raise ApiError(409, f"Vault key id '{request.id}' is already in use")
    clash = db.one(
        "SELECT id FROM vault_keys WHERE vault_id = ? AND auth_hash = ?",
        (vault["id"], request.auth_hash),
    )
    if clash is not None and clash["id"] not in removed:
        raise ApiError(409, "auth_hash is already registered to another key of this vault")
    for key_id in removed:
        db.exec("DELETE FROM vault_keys WHERE vault_id = ? AND id = ?", (vault["id"], key_id))
    new = KeyMaterial(
        id=request.id,
        wrapped_org_encryption_key=request.wrapped_org_encryption_key,
        auth_hash=request.auth_hash,
        key_type="primary",
    )
    _insert_key(db, str(vault["id"]), new, _actor(db, principal))
    touch(db, vault)
    return key_record(
        db.one("SELECT * FROM vault_keys WHERE vault_id = ? AND id = ?", (vault["id"], request.id))
    )


def delete_key(db: Db, principal: Principal, auth_hash: str) -> None:
    """``DELETE /keys/{auth_hash}``: remove a recovery key (the primary answers 409)."""
    require_manager(principal, "delete vault keys")
    vault = require_vault(db, principal)
    row = db.one(
        "SELECT * FROM vault_keys WHERE vault_id = ? AND auth_hash = ?", (vault["id"], auth_hash)
    )
    if row is None:
        raise ApiError(404, "Vault key not found")
    if row["key_type"] == "primary":
        raise ApiError(
            409,
            "The primary vault key cannot be deleted; replace it with PUT /api/v1/vault/keys/primary",
        )
    db.exec("DELETE FROM vault_keys WHERE vault_id = ? AND id = ?", (vault["id"], row["id"]))
    touch(db, vault)
