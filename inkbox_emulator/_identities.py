"""Agent identities and their mailbox / tunnel / phone number.

The 0.4.4 visibility routes (``/identities/{h}/access``) are gone from the
service (0.5.13) and from here: they answer 404 like any unknown route. An
identity-scoped key sees its own identity; admin keys see all of them.

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
from dataclasses import dataclass, field
from typing import Any, Literal

from ._accounts import Principal
from ._errors import ApiError, handle_unavailable, value_error
from ._handles import handle_problem, normalize_handle
from ._removed_fields import forbid_removed_field
from ._store import Db
from ._times import iso, iso_or_none
from ._validation import MISSING, Fields, Missing
from .phone.allocation import AREA_CODES, insert_number
from .phone.model import number_record
from .phone.numbers import CALL_ACTIONS, FORWARDING, forwarding_fields, forwarding_problem
from .vault.secrets import ALL_SECRETS, grant_on_identity_create, remove_identity_rules

__all__ = [
    "CreateIdentity",
    "PhoneOptions",
    "UpdateIdentity",
    "create_identity",
    "delete_identity",
    "filter_modes",
    "get_identity",
    "list_identities",
    "parse_create_identity",
    "parse_update_identity",
    "provision_identity",
    "release_phone_number",
    "storage_limit",
    "set_storage_limit",
    "storage_used",
    "summary",
    "tunnel_summary",
    "update_identity",
]

_LOCAL_PART = re.compile(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?")
_CALL_ACTIONS = CALL_ACTIONS


# -- request parsing -------------------------------------------------------------


@dataclass(frozen=True)
class PhoneOptions:
    """The nested ``phone_number`` object of identity create."""

    type: str = "local"
    incoming_call_action: str = "auto_reject"
    state: str | None = None
    client_websocket_url: str | None = None
    incoming_call_webhook_url: str | None = None
    incoming_text_webhook_url: str | None = None
    forwarding: dict[str, str | None] = field(default_factory=dict)
    """``forwarding_target_type`` / ``forwarding_phone_number`` / ``forwarding_sip_uri``."""


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
    settings: dict[str, Any] = field(default_factory=dict)
    """``imessage_enabled`` / ``contact_sharing_enabled`` / ``claim_imessage_number`` as sent."""


@dataclass(frozen=True)
class UpdateIdentity:
    """A parsed identity PATCH body (MISSING = leave unchanged; ``settings``: given keys only)."""

    display_name: str | Missing | None = MISSING
    description: str | Missing | None = MISSING
    settings: dict[str, Any] = field(default_factory=dict)
    """``imessage_enabled``, ``contact_sharing_enabled``, ``imessage_number_id``,
    ``claim_imessage_number`` and the ``*_filter_mode`` fields that were sent."""


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
    # Only local numbers are offered: "toll_free" is a 422 like any unknown type.
    nested.literal("type", ("local",), nullable=False)
    action = nested.literal("incoming_call_action", _CALL_ACTIONS, nullable=False)
    forwarding = forwarding_fields(nested)
    state = nested.string("state", max_length=2)
    ws = nested.string("client_websocket_url")
    call_hook = nested.string("incoming_call_webhook_url")
    text_hook = forbid_removed_field(nested, "incoming_text_webhook_url")
    options = PhoneOptions(
        type="local",
        incoming_call_action=action if isinstance(action, str) else "auto_reject",
        state=state.upper() if isinstance(state, str) and state else None,
        client_websocket_url=_opt(ws),
        incoming_call_webhook_url=_opt(call_hook),
        incoming_text_webhook_url=_opt(text_hook),
        forwarding={k: _opt(v) for k, v in forwarding.items() if not isinstance(v, Missing)},
    )
    if nested.errors:
        return options
    if options.state is not None and options.state not in AREA_CODES:
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
    problem = forwarding_problem(
        options.incoming_call_action, *(options.forwarding.get(name) for name in FORWARDING)
    )
    if problem is not None:
        nested.error("forwarding_target_type", "value_error", f"Value error, {problem}", None)
    return options


def _parse_imessage(fields: Fields) -> dict[str, Any]:
    """``imessage_enabled``, ``contact_sharing_enabled`` and ``claim_imessage_number``."""
    settings: dict[str, Any] = {}
    for name in ("imessage_enabled", "contact_sharing_enabled"):
        value = fields.raw(name)
        if value is MISSING:
            continue
        if isinstance(value, bool):
            settings[name] = value
        else:
            fields.error(name, "bool_type", "Input should be a valid boolean", value)
    claim = fields.raw("claim_imessage_number")
    if claim is True:
        settings["claim_imessage_number"] = True
    elif claim is not MISSING:
        fields.error(
            "claim_imessage_number", "literal_error", "Input should be True", claim, expected="True"
        )
    return settings


def _no_dedicated_numbers() -> ApiError:
    """The emulator's plan includes no dedicated iMessage numbers."""
    return ApiError(
        402,
        {
            "error": "dedicated_imessage_number_quota_exceeded",
            "message": "This organization's plan includes no dedicated iMessage numbers.",
            "number_type": "dedicated",
            "limit": 0,
            "current": 0,
            "upgrade_url": "https://inkbox.ai/console/billing",
            "contact_email": "support@inkbox.ai",
        },
    )


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
    settings = _parse_imessage(fields)
    fields.raise_errors()
    if settings.get("claim_imessage_number") and settings.get("imessage_enabled") is not True:
        raise value_error(("body",), "claim_imessage_number requires imessage_enabled", data)
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
        settings=settings,
    )


FILTER_MODES = ("whitelist", "blacklist")
_FILTER_CHANNELS = ("mail", "phone", "slack")
_SHARED_MODES = ("imessage_filter_mode", *(f"{c}_filter_mode" for c in _FILTER_CHANNELS))
_DIRECTIONAL_MODES = tuple(
    f"{c}_{side}_filter_mode" for c in _FILTER_CHANNELS for side in ("inbound", "outbound")
)
_REMOVED_FIELDS = {
    "agent_handle": "an identity's handle can no longer be changed",
    "status": "identities can no longer be paused",
}


def parse_update_identity(data: dict[str, Any]) -> UpdateIdentity:
    """Validate an identity PATCH body (the removed ``agent_handle``/``status`` are 422s)."""
    fields = Fields(data)
    for name, why in _REMOVED_FIELDS.items():
        if name in data:
            fields.error(
                name, "extra_forbidden", f"Extra inputs are not permitted ({why})", data[name]
            )
    display_name = fields.string("display_name", max_length=255)
    description = fields.string("description")
    settings: dict[str, Any] = _parse_imessage(fields)
    number = fields.raw("imessage_number_id")
    if number is not MISSING:
        if number is None:
            settings["imessage_number_id"] = None
        else:
            try:
                settings["imessage_number_id"] = str(uuid.UUID(str(number)))
            except ValueError:
                fields.error(
                    "imessage_number_id", "uuid_parsing", "Input should be a valid UUID", number
                )
    for name in (*_SHARED_MODES, *_DIRECTIONAL_MODES):
        mode = fields.literal(name, FILTER_MODES, nullable=False)
        if isinstance(mode, str):
            settings[name] = mode
    fields.raise_errors()
    if "claim_imessage_number" in settings and "imessage_number_id" in settings:
        raise value_error(
            ("body",), "claim_imessage_number cannot be combined with imessage_number_id", data
        )
    for channel in _FILTER_CHANNELS:
        shared = [f"{channel}_filter_mode"] + (
            ["imessage_filter_mode"] if channel == "phone" else []
        )
        if any(n in settings for n in shared) and any(
            f"{channel}_{side}_filter_mode" in settings for side in ("inbound", "outbound")
        ):
            raise value_error(
                ("body",), f"Cannot combine shared and directional {channel} filter modes", data
            )
    phone, imessage = settings.get("phone_filter_mode"), settings.get("imessage_filter_mode")
    if phone is not None and imessage is not None and phone != imessage:
        raise value_error(("body",), "phone_filter_mode and imessage_filter_mode must agree", data)
    return UpdateIdentity(display_name=display_name, description=description, settings=settings)


# -- wire records ------------------------------------------------------------------


def _settings(row: Any) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row["settings"] or "{}")
    return value


def _channel_rows(db: Db, identity_id: str) -> tuple[Any, Any]:
    mailbox = db.one(
        "SELECT * FROM mailboxes WHERE agent_identity_id = ? AND status != 'deleted'",
        (identity_id,),
    )
    phone = db.one(
        "SELECT * FROM phone_numbers WHERE agent_identity_id = ? AND status != 'released'",
        (identity_id,),
    )
    return mailbox, phone


def filter_modes(db: Db, row: Any) -> dict[str, str]:
    """The identity's effective filter modes, shared and per direction.

    ``mail_filter_mode`` mirrors its mailbox's ``filter_mode`` and
    ``phone_filter_mode`` its number's (when it has one); a direction set on
    its own overrides the shared mode for that direction only.
    """
    settings = _settings(row)
    mailbox, phone = _channel_rows(db, str(row["id"]))
    shared = {
        "mail": str(mailbox["filter_mode"]) if mailbox else settings.get("mail_filter_mode"),
        "phone": str(phone["filter_mode"]) if phone else settings.get("phone_filter_mode"),
        "slack": settings.get("slack_filter_mode"),
    }
    modes: dict[str, str] = {}
    for channel in _FILTER_CHANNELS:
        base = shared[channel] or "blacklist"
        inbound = settings.get(f"{channel}_inbound_filter_mode") or base
        outbound = settings.get(f"{channel}_outbound_filter_mode") or base
        modes[f"{channel}_filter_mode"] = inbound if inbound == outbound else base
        modes[f"{channel}_inbound_filter_mode"] = inbound
        modes[f"{channel}_outbound_filter_mode"] = outbound
    modes["imessage_filter_mode"] = modes["phone_filter_mode"]
    return modes


def summary(db: Db, row: Any) -> dict[str, Any]:
    """IdentitySummary, with the current service's settings fields."""
    settings = _settings(row)
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "agent_handle": row["agent_handle"],
        "display_name": row["display_name"],
        "description": row["description"],
        "email_address": row["email_address"],
        "imessage_enabled": bool(settings.get("imessage_enabled", False)),
        "contact_sharing_enabled": bool(settings.get("contact_sharing_enabled", True)),
        **filter_modes(db, row),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


STORAGE_LIMIT_BYTES = 1024**3
"""Every emulated mailbox's storage cap (1 GiB), unless a test lowers it in the settings."""


def storage_used(db: Db, mailbox_id: str) -> int:
    """Bytes a mailbox stores: message bodies plus attachments of live messages."""
    row = db.one(
        "SELECT COALESCE(SUM(LENGTH(CAST(COALESCE(body_text, '') AS BLOB)) "
        "+ LENGTH(CAST(COALESCE(body_html, '') AS BLOB))), 0) FROM mail_messages "
        "WHERE mailbox_id = ? AND deleted_at IS NULL",
        (mailbox_id,),
    )
    files = db.one(
        "SELECT COALESCE(SUM(a.size), 0) FROM mail_attachments a JOIN mail_messages m "
        "ON m.id = a.message_row_id WHERE m.mailbox_id = ? AND m.deleted_at IS NULL",
        (mailbox_id,),
    )
    return int(row[0] if row else 0) + int(files[0] if files else 0)


def storage_limit(row: Any) -> int:
    """A mailbox's storage cap in bytes."""
    return int(_settings(row).get("storage_limit_bytes", STORAGE_LIMIT_BYTES))


def set_storage_limit(db: Db, email_address: str, limit_bytes: int) -> None:
    """Set one live mailbox's storage cap (control API; ``ValueError`` if there is none)."""
    row = db.one(
        "SELECT * FROM mailboxes WHERE lower(email_address) = lower(?) AND status != 'deleted'",
        (email_address,),
    )
    if row is None:
        raise ValueError(f"no live mailbox {email_address!r}")
    settings = {**_settings(row), "storage_limit_bytes": int(limit_bytes)}
    db.exec(
        "UPDATE mailboxes SET settings = ? WHERE id = ?",
        (json.dumps(settings, sort_keys=True), row["id"]),
    )


def mailbox_record(row: Any, db: Db | None = None) -> dict[str, Any]:
    """IdentityMailbox / Mailbox, with the current service's fields.

    Without ``db`` the storage use reads 0 and the directions follow ``filter_mode``.
    """
    settings = _settings(row)
    inbound = outbound = str(row["filter_mode"])
    if db is not None and row["agent_identity_id"]:
        owner = db.one("SELECT * FROM identities WHERE id = ?", (row["agent_identity_id"],))
        if owner is not None:
            modes = filter_modes(db, owner)
            inbound, outbound = (
                modes["mail_inbound_filter_mode"],
                modes["mail_outbound_filter_mode"],
            )
    return {
        "id": row["id"],
        "email_address": row["email_address"],
        "sending_domain": row["sending_domain"],
        "webhook_url": row["webhook_url"],
        "filter_mode": row["filter_mode"],
        "inbound_filter_mode": inbound,
        "outbound_filter_mode": outbound,
        "agent_identity_id": row["agent_identity_id"],
        "filter_mode_change_notice": None,
        "storage_used_bytes": 0 if db is None else storage_used(db, str(row["id"])),
        "storage_limit_bytes": storage_limit(row),
        "signature_html": settings.get("signature_html"),
        "signature_text": settings.get("signature_text"),
        "signature_enabled": bool(settings.get("signature_enabled", False)),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def tunnel_record(row: Any, connected: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Tunnel; ``connected``: ids of tunnels an agent serves right now."""
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
        "last_disconnected_at": None,
        "agent_identity_id": row["agent_identity_id"],
        "currently_connected": str(row["id"]) in connected,
        "public_host": row["public_host"],
        "zone": row["zone"],
        "metadata": json.loads(row["metadata"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def tunnel_summary(row: Any) -> dict[str, Any]:
    """The tunnel as identity responses embed it: routing and lifecycle, no cert or state.

    Deviation: the service's summary has no ``organization_id``; the emulator
    keeps it because the yanked 0.4.4 client (still the conformance peer for
    unchanged calls) cannot parse an identity without it. Current clients
    ignore it.
    """
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "tunnel_name": row["tunnel_name"],
        "agent_identity_id": row["agent_identity_id"],
        "tls_mode": row["tls_mode"],
        "status": row["status"],
        "public_host": row["public_host"],
        "zone": row["zone"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def phone_record(row: Any, now: float) -> dict[str, Any]:
    """IdentityPhoneNumber: the same record as ``GET /phone/numbers``."""
    return number_record(row, now)


def detail(db: Db, row: Any) -> dict[str, Any]:
    """IdentityDetail: summary plus live mailbox, phone number and the tunnel summary."""
    ident = row["id"]
    mailbox, phone = _channel_rows(db, str(ident))
    tunnel = db.one(
        "SELECT * FROM tunnels WHERE agent_identity_id = ? AND status != 'deleted'", (ident,)
    )
    return {
        **summary(db, row),
        "mailbox": mailbox_record(mailbox, db) if mailbox else None,
        "phone_number": phone_record(phone, db.now) if phone else None,
        "tunnel": tunnel_summary(tunnel) if tunnel else None,
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
    if request.settings.get("claim_imessage_number"):
        raise _no_dedicated_numbers()
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
            "description": _opt(request.description),
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
        raise _no_dedicated_numbers()
    number = changes.pop("imessage_number_id", None)
    if number is not None:
        raise ApiError(404, "iMessage number not found")
    settings = _settings(row)
    mailbox, phone = _channel_rows(db, ident)
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
