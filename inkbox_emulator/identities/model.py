"""Agent identities and their mailbox / tunnel / phone number.

The 0.4.4 visibility routes (``/identities/{h}/access``) are gone from the
service (0.5.13) and from here: they answer 404 like any unknown route. An
identity-scoped key sees its own identity; admin keys see all of them.

Request bodies are parsed by the ``parse_*`` functions (422s), then applied by
the operations, which ``Store.run`` executes in one transaction: identity,
mailbox, tunnel, phone number and vault access rules (``vault_secret_ids``) are
written step by step and any failure rolls every step back. Deleting an identity
also deletes its vault access rules."""

from __future__ import annotations

import json
import uuid
from typing import Any

from inkbox_emulator.accounts.handles import normalize_handle
from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError, handle_unavailable
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.validation import Missing
from inkbox_emulator.phone.allocation import insert_number
from inkbox_emulator.vault.secrets import (
    grant_on_identity_create,
    remove_identity_rules,
)

from .parse import CreateIdentity, UpdateIdentity, no_dedicated_numbers, optional
from .records import channel_rows, detail, identity_settings, summary

__all__ = [
    "create_identity",
    "delete_identity",
    "ensure_handle_free",
    "find_identity",
    "get_identity",
    "list_identities",
    "provision_identity",
    "release_phone_number",
    "update_identity",
]


def _live(db: Db, organization_id: str, handle: str) -> Any:
    return db.one(
        "SELECT * FROM identities WHERE organization_id = ? AND agent_handle = ? "
        "AND status != 'deleted'",
        (organization_id, handle),
    )


def _visible_ids(db: Db, principal: Principal) -> set[str] | None:
    """Identity ids a scoped key may see (``None`` = everything in the org)."""
    if principal.kind != "scoped":
        return None
    rows = db.all(
        "SELECT DISTINCT target_identity_id FROM identity_access WHERE organization_id = ? "
        "AND (viewer_identity_id IS NULL OR viewer_identity_id = ?)",
        (principal.organization_id, principal.identity_id),
    )
    return {str(r[0]) for r in rows} | {str(principal.identity_id)}


def find_identity(db: Db, principal: Principal, raw_handle: str) -> Any:
    """The live identity named in a path, as the caller may see it (404 otherwise)."""
    row = _live(db, principal.organization_id, normalize_handle(raw_handle))
    visible = _visible_ids(db, principal)
    if row is None or (visible is not None and row["id"] not in visible):
        raise ApiError(404, "Identity not found")
    return row


def ensure_handle_free(db: Db, handle: str, *, exclude_identity_id: str | None = None) -> None:
    """409 ``handle_unavailable`` if a live identity, tunnel or platform mailbox holds it."""
    if db.one(
        "SELECT 1 FROM identities WHERE agent_handle = ? AND status != 'deleted' AND id IS NOT ?",
        (handle, exclude_identity_id),
    ):
        raise handle_unavailable(handle, "identities")
    if db.one(
        "SELECT 1 FROM tunnels WHERE tunnel_name = ? AND status != 'deleted' "
        "AND agent_identity_id IS NOT ?",
        (handle, exclude_identity_id),
    ):
        raise handle_unavailable(handle, "tunnels")
    if db.one(
        "SELECT 1 FROM mailboxes WHERE email_address = ? AND status != 'deleted' "
        "AND agent_identity_id IS NOT ?",
        (f"{handle}@{db.settings.mail_domain}", exclude_identity_id),
    ):
        raise handle_unavailable(handle, "mail")


def _resolve_sending_domain(
    db: Db, organization_id: str, requested: str | Missing | None
) -> str | None:
    """The custom domain a new mailbox uses, or ``None`` for the platform domain."""
    if requested is None or requested == db.settings.mail_domain:
        return None
    if isinstance(requested, Missing):
        row = db.one(
            "SELECT domain FROM sending_domains WHERE organization_id = ? AND is_default = 1 "
            "AND status = 'verified'",
            (organization_id,),
        )
        return None if row is None else str(row["domain"])
    row = db.one(
        "SELECT status FROM sending_domains WHERE organization_id = ? AND domain = ?",
        (organization_id, requested),
    )
    if row is None or row["status"] != "verified":
        raise ApiError(
            422,
            f"Sending domain '{requested}' is not a verified sending domain of this organization",
        )
    return requested


def provision_identity(db: Db, organization_id: str, request: CreateIdentity) -> dict[str, Any]:
    """Write identity, mailbox, tunnel (and phone number); returns IdentityDetail.

    Must run inside a transaction: a failure at any step raises and the
    caller's transaction rolls every row back.
    """
    handle = request.agent_handle
    ensure_handle_free(db, handle)
    if request.settings.get("claim_imessage_number"):
        raise no_dedicated_numbers()
    identity_id = str(uuid.uuid4())
    now = db.now
    settings = {k: v for k, v in request.settings.items() if k != "claim_imessage_number"}
    db.insert(
        "identities",
        {
            "id": identity_id,
            "organization_id": organization_id,
            "agent_handle": handle,
            "display_name": request.display_name if request.display_name is not None else handle,
            "description": optional(request.description),
            "email_address": None,
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "settings": json.dumps(settings, sort_keys=True),
        },
    )
    custom = _resolve_sending_domain(db, organization_id, request.sending_domain)
    if custom is None:
        address, domain = f"{handle}@{db.settings.mail_domain}", db.settings.mail_domain
    else:
        address, domain = f"{request.email_local_part or handle}@{custom}", custom
    if db.one(
        "SELECT 1 FROM mailboxes WHERE email_address = ? AND status != 'deleted'", (address,)
    ):
        raise handle_unavailable(handle, "mail")
    db.insert(
        "mailboxes",
        {
            "id": str(uuid.uuid4()),
            "organization_id": organization_id,
            "agent_identity_id": identity_id,
            "email_address": address,
            "sending_domain": domain,
            "webhook_url": None,
            "filter_mode": "blacklist",
            "status": "active",
            "created_at": now,
            "updated_at": now,
        },
    )
    db.exec("UPDATE identities SET email_address = ? WHERE id = ?", (address, identity_id))
    zone = db.settings.tunnel_zone
    db.insert(
        "tunnels",
        {
            "id": str(uuid.uuid4()),
            "organization_id": organization_id,
            "agent_identity_id": identity_id,
            "tunnel_name": handle,
            "tls_mode": request.tls_mode,
            "status": "active" if request.tls_mode == "edge" else "awaiting_cert",
            "public_host": f"{handle}.{zone}",
            "zone": zone,
            "metadata": "{}",
            "created_at": now,
            "updated_at": now,
        },
    )
    if request.phone is not None:
        phone = request.phone
        insert_number(
            db,
            organization_id,
            identity_id,
            type_=phone.type,
            state=phone.state,
            incoming_call_action=phone.incoming_call_action,
            client_websocket_url=phone.client_websocket_url,
            incoming_call_webhook_url=phone.incoming_call_webhook_url,
            incoming_text_webhook_url=phone.incoming_text_webhook_url,
            forwarding=phone.forwarding,
        )
    if request.vault_secret_ids is not None:
        grant_on_identity_create(db, organization_id, identity_id, request.vault_secret_ids)
    row = db.one("SELECT * FROM identities WHERE id = ?", (identity_id,))
    return detail(db, row)


# -- operations ------------------------------------------------------------------


def create_identity(db: Db, principal: Principal, request: CreateIdentity) -> dict[str, Any]:
    """``POST /api/v1/identities/``."""
    if principal.kind == "scoped":
        raise ApiError(403, "Agent-scoped API keys cannot create identities")
    return provision_identity(db, principal.organization_id, request)


def list_identities(db: Db, principal: Principal) -> list[dict[str, Any]]:
    """``GET /api/v1/identities/`` (scoped keys: themselves plus what they were granted)."""
    rows = db.all(
        "SELECT * FROM identities WHERE organization_id = ? AND status != 'deleted' "
        "ORDER BY created_at, rowid",
        (principal.organization_id,),
    )
    visible = _visible_ids(db, principal)
    return [summary(db, r) for r in rows if visible is None or r["id"] in visible]


def get_identity(db: Db, principal: Principal, handle: str) -> dict[str, Any]:
    """``GET /api/v1/identities/{handle}``."""
    return detail(db, find_identity(db, principal, handle))


def update_identity(
    db: Db, principal: Principal, handle: str, request: UpdateIdentity, idempotency_key: str | None
) -> dict[str, Any]:
    """``PATCH /api/v1/identities/{handle}``: returns the full identity detail.

    Filter modes need an admin key. The emulator has no dedicated iMessage
    numbers: attaching one by id answers 404, claiming one answers 402
    ``dedicated_imessage_number_quota_exceeded`` (a claim without an
    ``Idempotency-Key`` is a 422).
    """
    row = find_identity(db, principal, handle)
    ident = str(row["id"])
    if principal.kind == "scoped" and principal.identity_id != ident:
        raise ApiError(403, "Agent-scoped API keys may only update their own identity")
    changes = dict(request.settings)
    modes = {k: v for k, v in changes.items() if k.endswith("_filter_mode")}
    if modes and not principal.is_org_admin:
        raise ApiError(403, "Changing filter modes requires an admin-scoped API key")
    if changes.pop("claim_imessage_number", False):
        if idempotency_key is None:
            raise ApiError(422, "claim_imessage_number requires an Idempotency-Key header")
        raise no_dedicated_numbers()
    number = changes.pop("imessage_number_id", None)
    if number is not None:
        raise ApiError(404, "iMessage number not found")
    settings = identity_settings(row)
    mailbox, phone = channel_rows(db, ident)
    for channel, channel_row, table in (
        ("mail", mailbox, "mailboxes"),
        ("phone", phone, "phone_numbers"),
    ):
        shared = modes.get(f"{channel}_filter_mode") or (
            modes.get("imessage_filter_mode") if channel == "phone" else None
        )
        if shared is not None:
            settings.pop(f"{channel}_inbound_filter_mode", None)
            settings.pop(f"{channel}_outbound_filter_mode", None)
            settings[f"{channel}_filter_mode"] = shared
            if channel_row is not None:
                db.exec(
                    f"UPDATE {table} SET filter_mode = ?, updated_at = ? WHERE id = ?",
                    (shared, db.now, channel_row["id"]),
                )
    if "slack_filter_mode" in modes:
        settings.pop("slack_inbound_filter_mode", None)
        settings.pop("slack_outbound_filter_mode", None)
    for name, value in changes.items():
        if name in ("mail_filter_mode", "phone_filter_mode", "imessage_filter_mode"):
            continue
        settings[name] = value
    sets: dict[str, Any] = {"settings": json.dumps(settings, sort_keys=True)}
    if not isinstance(request.display_name, Missing):
        sets["display_name"] = request.display_name
    if not isinstance(request.description, Missing):
        sets["description"] = request.description
    sets["updated_at"] = db.now
    assignments = ", ".join(f"{col} = ?" for col in sets)
    db.exec(f"UPDATE identities SET {assignments} WHERE id = ?", (*sets.values(), ident))
    return detail(db, db.one("SELECT * FROM identities WHERE id = ?", (ident,)))


def delete_identity(db: Db, principal: Principal, handle: str) -> None:
    """``DELETE /api/v1/identities/{handle}`` with its cascade."""
    if principal.kind == "scoped":
        raise ApiError(403, "Agent-scoped API keys cannot delete identities")
    row = find_identity(db, principal, handle)
    ident, now = row["id"], db.now
    db.exec(
        "UPDATE identities SET status = 'deleted', deleted_at = ?, updated_at = ? WHERE id = ?",
        (now, now, ident),
    )
    db.exec(
        "UPDATE mailboxes SET status = 'deleted', updated_at = ? WHERE agent_identity_id = ? "
        "AND status != 'deleted'",
        (now, ident),
    )
    db.exec(
        "UPDATE tunnels SET status = 'deleted', updated_at = ? WHERE agent_identity_id = ? "
        "AND status != 'deleted'",
        (now, ident),
    )
    _release_numbers(db, ident)
    db.exec(
        "UPDATE api_keys SET status = 'revoked', revoked_at = ?, updated_at = ? "
        "WHERE scoped_identity_id = ? AND status != 'revoked'",
        (now, now, ident),
    )
    db.exec(
        "DELETE FROM identity_access WHERE target_identity_id = ? OR viewer_identity_id = ?",
        (ident, ident),
    )
    remove_identity_rules(db, ident)
    db.exec(
        "UPDATE webhook_subscriptions SET status = 'deleted', updated_at = ? "
        "WHERE owner_identity_id = ? AND status != 'deleted'",
        (now, ident),
    )


def _release_numbers(db: Db, identity_id: str) -> int:
    return db.exec(
        "UPDATE phone_numbers SET status = 'released', released_at = ?, updated_at = ? "
        "WHERE agent_identity_id = ? AND status != 'released'",
        (db.now, db.now, identity_id),
    )


def release_phone_number(db: Db, principal: Principal, handle: str) -> None:
    """``DELETE /api/v1/identities/{handle}/phone_number``."""
    row = find_identity(db, principal, handle)
    if principal.kind == "scoped" and principal.identity_id != row["id"]:
        raise ApiError(403, "Agent-scoped API keys may only release their own phone number")
    if not _release_numbers(db, row["id"]):
        raise ApiError(404, "Identity has no phone number")
