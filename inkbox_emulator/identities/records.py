"""Identity responses: the JSON records of an identity and of its mailbox, tunnel and phone number."""

from __future__ import annotations

import json
from typing import Any

from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso, iso_or_none
from inkbox_emulator.phone.model import number_record

from .parse import FILTER_CHANNELS

__all__ = [
    "channel_rows",
    "detail",
    "filter_modes",
    "identity_settings",
    "mailbox_record",
    "phone_record",
    "set_storage_limit",
    "storage_limit",
    "STORAGE_LIMIT_BYTES",
    "storage_used",
    "summary",
    "tunnel_record",
    "tunnel_summary",
]


def identity_settings(row: Any) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row["settings"] or "{}")
    return value


def channel_rows(db: Db, identity_id: str) -> tuple[Any, Any]:
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
    settings = identity_settings(row)
    mailbox, phone = channel_rows(db, str(row["id"]))
    shared = {
        "mail": str(mailbox["filter_mode"]) if mailbox else settings.get("mail_filter_mode"),
        "phone": str(phone["filter_mode"]) if phone else settings.get("phone_filter_mode"),
        "slack": settings.get("slack_filter_mode"),
    }
    modes: dict[str, str] = {}
    for channel in FILTER_CHANNELS:
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
    settings = identity_settings(row)
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
    return int(identity_settings(row).get("storage_limit_bytes", STORAGE_LIMIT_BYTES))


def set_storage_limit(db: Db, email_address: str, limit_bytes: int) -> None:
    """Set one live mailbox's storage cap (control API; ``ValueError`` if there is none)."""
    row = db.one(
        "SELECT * FROM mailboxes WHERE lower(email_address) = lower(?) AND status != 'deleted'",
        (email_address,),
    )
    if row is None:
        raise ValueError(f"no live mailbox {email_address!r}")
    settings = {**identity_settings(row), "storage_limit_bytes": int(limit_bytes)}
    db.exec(
        "UPDATE mailboxes SET settings = ? WHERE id = ?",
        (json.dumps(settings, sort_keys=True), row["id"]),
    )


def mailbox_record(row: Any, db: Db | None = None) -> dict[str, Any]:
    """IdentityMailbox / Mailbox, with the current service's fields.

    Without ``db`` the storage use reads 0 and the directions follow ``filter_mode``.
    """
    settings = identity_settings(row)
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
    mailbox, phone = channel_rows(db, str(ident))
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
