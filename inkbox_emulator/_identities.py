"""Agent identities, their mailbox / tunnel / phone number, and visibility grants.

Request bodies are parsed by the ``parse_*`` functions (422s), then applied by
the operations, which ``Store.run`` executes in one transaction: identity,
mailbox, tunnel, phone number and vault access rules (``vault_secret_ids``) are
written step by step and any failure rolls every step back. Deleting an identity
also deletes its vault access rules.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from ._accounts import Principal
from ._errors import ApiError, handle_unavailable, value_error
from ._handles import handle_problem, normalize_handle
from ._phone_model import number_record
from ._phones import AREA_CODES, insert_number
from ._store import Db
from ._times import iso, iso_or_none
from ._validation import MISSING, Fields, Missing
from ._vault_secrets import ALL_SECRETS, grant_on_identity_create, remove_identity_rules

__all__ = [
    "CreateIdentity",
    "PhoneOptions",
    "UpdateIdentity",
    "create_identity",
    "delete_identity",
    "get_identity",
    "grant_access",
    "list_access",
    "list_identities",
    "parse_create_identity",
    "parse_update_identity",
    "provision_identity",
    "release_phone_number",
    "revoke_access",
    "update_identity",
]

_LOCAL_PART = re.compile(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?")
_CALL_ACTIONS = ("auto_reject", "auto_accept", "webhook")


# -- request parsing -------------------------------------------------------------


@dataclass(frozen=True)
class PhoneOptions:
    """The nested ``phone_number`` object of identity create."""

    type: str = "toll_free"
    incoming_call_action: str = "auto_reject"
    state: str | None = None
    client_websocket_url: str | None = None
    incoming_call_webhook_url: str | None = None
    incoming_text_webhook_url: str | None = None


@dataclass(frozen=True)
class CreateIdentity:
    """A parsed identity-create body."""

    agent_handle: str
    display_name: str | None = None
    description: str | Missing | None = MISSING
    email_local_part: str | None = None
    sending_domain: str | Missing | None = MISSING
    tls_mode: str = "edge"
    phone: PhoneOptions | None = None
    vault_secret_ids: tuple[str, ...] | Literal["*"] | None = None
    """Secrets to grant the new identity: ids, ``"*"`` for every current secret, or none."""


@dataclass(frozen=True)
class UpdateIdentity:
    """A parsed identity PATCH body (MISSING = leave unchanged)."""

    agent_handle: str | Missing = MISSING
    display_name: str | Missing | None = MISSING
    description: str | Missing | None = MISSING
    status: str | Missing = MISSING


def _opt(value: str | Missing | None) -> str | None:
    return None if isinstance(value, Missing) else value


def _check_handle(fields: Fields, raw: str) -> str:
    handle = normalize_handle(raw)
    problem = handle_problem(handle)
    if problem is not None:
        fields.error("agent_handle", "value_error", f"Value error, {problem}", raw, error=problem)
    return handle


def _parse_vault_ids(fields: Fields) -> tuple[str, ...] | Literal["*"] | None:
    """``vault_secret_ids``: ``"*"``/``"all"``, one secret UUID, or a list of them."""
    value = fields.raw("vault_secret_ids")
    if value is MISSING or value is None:
        return None
    if isinstance(value, str) and value in ("*", "all"):
        return ALL_SECRETS
    items = value if isinstance(value, list) else [value]
    ids: list[str] = []
    for index, item in enumerate(items):
        try:
            ids.append(str(uuid.UUID(item)))
        except (ValueError, TypeError, AttributeError):
            loc = (
                ("body", "vault_secret_ids")
                if not isinstance(value, list)
                else ("body", "vault_secret_ids", index)
            )
            raise value_error(
                loc, "vault_secret_ids must be '*', 'all', a secret UUID or a list of UUIDs", value
            ) from None
    return tuple(ids)


def _parse_phone(fields: Fields) -> PhoneOptions | None:
    nested = fields.obj("phone_number")
    if not isinstance(nested, Fields):
        return None
    type_ = nested.literal("type", ("toll_free", "local"), nullable=False)
    action = nested.literal("incoming_call_action", _CALL_ACTIONS, nullable=False)
    state = nested.string("state", max_length=2)
    ws = nested.string("client_websocket_url")
    call_hook = nested.string("incoming_call_webhook_url")
    text_hook = nested.string("incoming_text_webhook_url")
    options = PhoneOptions(
        type=type_ if isinstance(type_, str) else "toll_free",
        incoming_call_action=action if isinstance(action, str) else "auto_reject",
        state=state.upper() if isinstance(state, str) and state else None,
        client_websocket_url=_opt(ws),
        incoming_call_webhook_url=_opt(call_hook),
        incoming_text_webhook_url=_opt(text_hook),
    )
    if nested.errors:
        return options
    if options.state is not None:
        if options.type == "toll_free":
            nested.error(
                "state",
                "value_error",
                "Value error, state is only valid for local numbers",
                options.state,
            )
        elif options.state not in AREA_CODES:
            nested.error(
                "state",
                "value_error",
                "Value error, state must be a two-letter US state code",
                options.state,
            )
    if options.incoming_call_action == "auto_accept" and not options.client_websocket_url:
        nested.error(
            "client_websocket_url",
            "value_error",
            "Value error, client_websocket_url is required when incoming_call_action is auto_accept",
            None,
        )
    if options.incoming_call_action == "webhook" and not options.incoming_call_webhook_url:
        nested.error(
            "incoming_call_webhook_url",
            "value_error",
            "Value error, incoming_call_webhook_url is required when incoming_call_action is webhook",
            None,
        )
    return options


def parse_create_identity(data: dict[str, Any]) -> CreateIdentity:
    """Validate an identity-create body (every problem reported in one 422)."""
    fields = Fields(data)
    raw_handle = fields.string("agent_handle", required=True)
    handle = ""
    if isinstance(data.get("agent_handle"), str):
        handle = _check_handle(fields, raw_handle)
    display_name = fields.string("display_name", max_length=255)
    description = fields.string("description")
    local_part: str | None = None
    sending_domain: str | Missing | None = MISSING
    mailbox = fields.obj("mailbox")
    if isinstance(mailbox, Fields):
        lp = _opt(mailbox.string("email_local_part", min_length=1, max_length=64))
        if lp:
            local_part = lp.lower()
            if not _LOCAL_PART.fullmatch(local_part):
                mailbox.error(
                    "email_local_part", "value_error", "Value error, invalid email local part", lp
                )
        sd = mailbox.string("sending_domain", min_length=1, max_length=253)
        sending_domain = sd.lower() if isinstance(sd, str) else sd
    tls_mode = "edge"
    tunnel = fields.obj("tunnel")
    if isinstance(tunnel, Fields):
        mode = tunnel.literal("tls_mode", ("edge", "passthrough"))
        tls_mode = mode if isinstance(mode, str) else "edge"
    phone = _parse_phone(fields)
    fields.raise_errors()
    vault_secret_ids = _parse_vault_ids(fields)
    return CreateIdentity(
        agent_handle=handle,
        display_name=_opt(display_name),
        description=description,
        email_local_part=local_part,
        sending_domain=sending_domain,
        tls_mode=tls_mode,
        phone=phone,
        vault_secret_ids=vault_secret_ids,
    )


def parse_update_identity(data: dict[str, Any]) -> UpdateIdentity:
    """Validate an identity PATCH body."""
    fields = Fields(data)
    raw_handle = fields.string("agent_handle")
    handle: str | Missing = MISSING
    if raw_handle is None:
        fields.error("agent_handle", "string_type", "Input should be a valid string", None)
    elif isinstance(raw_handle, str):
        handle = _check_handle(fields, raw_handle)
    display_name = fields.string("display_name", max_length=255)
    description = fields.string("description")
    status = fields.literal("status", ("active", "paused"), nullable=False)
    fields.raise_errors()
    return UpdateIdentity(
        agent_handle=handle,
        display_name=display_name,
        description=description,
        status=status if isinstance(status, str) else MISSING,
    )


# -- wire records ------------------------------------------------------------------


def summary(row: Any) -> dict[str, Any]:
    """IdentitySummary (identities.md §5.1)."""
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "agent_handle": row["agent_handle"],
        "display_name": row["display_name"],
        "description": row["description"],
        "email_address": row["email_address"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def mailbox_record(row: Any) -> dict[str, Any]:
    """IdentityMailbox (identities.md §5.3)."""
    return {
        "id": row["id"],
        "email_address": row["email_address"],
        "sending_domain": row["sending_domain"],
        "webhook_url": row["webhook_url"],
        "filter_mode": row["filter_mode"],
        "agent_identity_id": row["agent_identity_id"],
        "filter_mode_change_notice": None,
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def tunnel_record(row: Any, connected: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Tunnel (identities.md §5.5); ``connected``: ids of tunnels an agent serves right now."""
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "tunnel_name": row["tunnel_name"],
        "tls_mode": row["tls_mode"],
        "cert_pem": row["cert_pem"],
        "cert_fingerprint_sha256": row["cert_fingerprint_sha256"],
        "cert_expires_at": iso_or_none(row["cert_expires_at"]),
        "status": row["status"],
        "last_connected_at": iso_or_none(row["last_connected_at"]),
        "last_connected_ip_addr": row["last_connected_ip_addr"],
        "currently_connected": str(row["id"]) in connected,
        "public_host": row["public_host"],
        "zone": row["zone"],
        "metadata": json.loads(row["metadata"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def phone_record(row: Any, now: float) -> dict[str, Any]:
    """IdentityPhoneNumber (identities.md §5.4): the same record as ``GET /phone/numbers``."""
    return number_record(row, now)


def access_record(row: Any) -> dict[str, Any]:
    """IdentityAccess (identities.md §5.6)."""
    return {
        "id": row["id"],
        "target_identity_id": row["target_identity_id"],
        "viewer_identity_id": row["viewer_identity_id"],
        "created_at": iso(row["created_at"]),
    }


def detail(db: Db, row: Any) -> dict[str, Any]:
    """IdentityDetail (identities.md §5.2): summary plus live mailbox, phone number, tunnel."""
    ident = row["id"]
    mailbox = db.one(
        "SELECT * FROM mailboxes WHERE agent_identity_id = ? AND status != 'deleted'", (ident,)
    )
    phone = db.one(
        "SELECT * FROM phone_numbers WHERE agent_identity_id = ? AND status != 'released'",
        (ident,),
    )
    tunnel = db.one(
        "SELECT * FROM tunnels WHERE agent_identity_id = ? AND status != 'deleted'", (ident,)
    )
    return {
        **summary(row),
        "mailbox": mailbox_record(mailbox) if mailbox else None,
        "phone_number": phone_record(phone, db.now) if phone else None,
        "tunnel": tunnel_record(tunnel, db.settings.connected_tunnels()) if tunnel else None,
    }


# -- lookups and rules -------------------------------------------------------------


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
    identity_id = str(uuid.uuid4())
    now = db.now
    db.insert(
        "identities",
        {
            "id": identity_id,
            "organization_id": organization_id,
            "agent_handle": handle,
            "display_name": request.display_name if request.display_name is not None else handle,
            "description": _opt(request.description),
            "email_address": None,
            "status": "active",
            "created_at": now,
            "updated_at": now,
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
    return [summary(r) for r in rows if visible is None or r["id"] in visible]


def get_identity(db: Db, principal: Principal, handle: str) -> dict[str, Any]:
    """``GET /api/v1/identities/{handle}``."""
    return detail(db, find_identity(db, principal, handle))


def update_identity(
    db: Db, principal: Principal, handle: str, request: UpdateIdentity
) -> dict[str, Any]:
    """``PATCH /api/v1/identities/{handle}``: rename also renames the tunnel."""
    row = find_identity(db, principal, handle)
    ident = str(row["id"])
    if principal.kind == "scoped" and principal.identity_id != ident:
        raise ApiError(403, "Agent-scoped API keys may only update their own identity")
    sets: dict[str, Any] = {}
    if isinstance(request.agent_handle, str) and request.agent_handle != row["agent_handle"]:
        new = request.agent_handle
        ensure_handle_free(db, new, exclude_identity_id=ident)
        sets["agent_handle"] = new
        db.exec(
            "UPDATE tunnels SET tunnel_name = ?, public_host = ? || '.' || zone, updated_at = ? "
            "WHERE agent_identity_id = ? AND status != 'deleted'",
            (new, new, db.now, ident),
        )
    if not isinstance(request.display_name, Missing):
        sets["display_name"] = request.display_name
    if not isinstance(request.description, Missing):
        sets["description"] = request.description
    if isinstance(request.status, str):
        sets["status"] = request.status
    sets["updated_at"] = db.now
    assignments = ", ".join(f"{col} = ?" for col in sets)
    db.exec(f"UPDATE identities SET {assignments} WHERE id = ?", (*sets.values(), ident))
    return summary(db.one("SELECT * FROM identities WHERE id = ?", (ident,)))


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


# -- visibility --------------------------------------------------------------------


def _admin_target(db: Db, principal: Principal, handle: str) -> Any:
    if principal.kind == "scoped":
        raise ApiError(403, "Managing identity visibility requires an admin-scoped key")
    return find_identity(db, principal, handle)


def list_access(db: Db, principal: Principal, handle: str) -> list[dict[str, Any]]:
    """``GET /api/v1/identities/{handle}/access``."""
    target = _admin_target(db, principal, handle)
    rows = db.all(
        "SELECT * FROM identity_access WHERE target_identity_id = ? ORDER BY created_at, rowid",
        (target["id"],),
    )
    return [access_record(r) for r in rows]


def grant_access(
    db: Db, principal: Principal, handle: str, viewer_identity_id: str | None
) -> dict[str, Any]:
    """``POST /api/v1/identities/{handle}/access`` (``None`` = reset to one wildcard row)."""
    target = _admin_target(db, principal, handle)
    target_id = str(target["id"])
    row = {
        "id": str(uuid.uuid4()),
        "organization_id": principal.organization_id,
        "target_identity_id": target_id,
        "viewer_identity_id": viewer_identity_id,
        "created_at": db.now,
    }
    if viewer_identity_id is None:
        db.exec("DELETE FROM identity_access WHERE target_identity_id = ?", (target_id,))
        db.insert("identity_access", row)
        return access_record(row)
    if viewer_identity_id == target_id:
        raise ApiError(422, "An identity cannot be granted visibility of itself")
    if not db.one(
        "SELECT 1 FROM identities WHERE id = ? AND organization_id = ? AND status != 'deleted'",
        (viewer_identity_id, principal.organization_id),
    ):
        raise ApiError(404, "Viewer identity not found")
    if db.one(
        "SELECT 1 FROM identity_access WHERE target_identity_id = ? AND viewer_identity_id IS NULL",
        (target_id,),
    ):
        raise ApiError(
            409,
            {
                "error": "redundant_grant",
                "detail": "Every identity in the organization can already see this identity "
                "(wildcard grant); revoke the wildcard before granting individual viewers.",
            },
        )
    if db.one(
        "SELECT 1 FROM identity_access WHERE target_identity_id = ? AND viewer_identity_id = ?",
        (target_id, viewer_identity_id),
    ):
        raise ApiError(409, "Access already granted")
    db.insert("identity_access", row)
    return access_record(row)


def revoke_access(db: Db, principal: Principal, handle: str, viewer_identity_id: str) -> None:
    """``DELETE /api/v1/identities/{handle}/access/{viewer_identity_id}``."""
    target = _admin_target(db, principal, handle)
    removed = db.exec(
        "DELETE FROM identity_access WHERE target_identity_id = ? AND viewer_identity_id = ?",
        (target["id"], viewer_identity_id),
    )
    if not removed:
        raise ApiError(404, "Access grant not found")
