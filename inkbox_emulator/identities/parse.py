"""Identity request bodies: parsed into typed requests, every problem a FastAPI-shaped 422."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from inkbox_emulator.accounts.handles import handle_problem, normalize_handle
from inkbox_emulator.core.errors import ApiError, value_error
from inkbox_emulator.core.removed_fields import forbid_removed_field
from inkbox_emulator.core.validation import MISSING, Fields, Missing
from inkbox_emulator.phone.numbers import CALL_ACTIONS, check_new_number, forwarding_fields
from inkbox_emulator.vault.secrets import (
    ALL_SECRETS,
)

__all__ = [
    "CreateIdentity",
    "FILTER_CHANNELS",
    "FILTER_MODES",
    "no_dedicated_numbers",
    "optional",
    "parse_create_identity",
    "parse_update_identity",
    "PhoneOptions",
    "UpdateIdentity",
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


def optional(value: str | Missing | None) -> str | None:
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
        client_websocket_url=optional(ws),
        incoming_call_webhook_url=optional(call_hook),
        incoming_text_webhook_url=optional(text_hook),
        forwarding={k: optional(v) for k, v in forwarding.items() if not isinstance(v, Missing)},
    )
    if not nested.errors:
        check_new_number(
            nested,
            action=options.incoming_call_action,
            state=options.state,
            websocket=options.client_websocket_url,
            call_hook=options.incoming_call_webhook_url,
            forwarding=options.forwarding,
        )
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


def no_dedicated_numbers() -> ApiError:
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
        lp = optional(mailbox.string("email_local_part", min_length=1, max_length=64))
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
        display_name=optional(display_name),
        description=description,
        email_local_part=local_part,
        sending_domain=sending_domain,
        tls_mode=tls_mode,
        phone=phone,
        vault_secret_ids=vault_secret_ids,
        settings=settings,
    )


FILTER_MODES = ("whitelist", "blacklist")
FILTER_CHANNELS = ("mail", "phone", "slack")
_SHARED_MODES = ("imessage_filter_mode", *(f"{c}_filter_mode" for c in FILTER_CHANNELS))
_DIRECTIONAL_MODES = tuple(
    f"{c}_{side}_filter_mode" for c in FILTER_CHANNELS for side in ("inbound", "outbound")
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
    for channel in FILTER_CHANNELS:
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
