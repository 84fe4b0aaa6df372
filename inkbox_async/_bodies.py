"""Request bodies for identity and account calls, validated before any I/O.

Pure functions shared by both flavours; each returns the exact JSON body the
hosted API expects (its key order; omitted and null fields as it tells them apart).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.identities import (
    IdentityPhoneNumberCreateOptions,
    IdentityTunnelCreateOptions,
    IncomingCallAction,
    TlsMode,
)
from inkbox_async.models.mail import FilterMode

DISPLAY_NAME_MAX = 255
DESCRIPTION_MAX = 1000
LABEL_MAX = 255
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)

TunnelOption = IdentityTunnelCreateOptions | Mapping[str, Any]
PhoneOption = IdentityPhoneNumberCreateOptions | Mapping[str, Any]


def _options(argument: str, value: Any, cls: type[Any]) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return cls(**value)
        except TypeError as exc:
            raise InvalidArgumentError(
                argument, f"unknown option in {dict(value)!r} ({exc})"
            ) from None
    raise check.type_error(argument, f"a {cls.__name__} or a dict", value)


def tunnel_options(value: TunnelOption) -> dict[str, Any]:
    """The nested ``tunnel`` object (the README's dict form is accepted too)."""
    options = _options("tunnel", value, IdentityTunnelCreateOptions)
    if options.tls_mode is None:
        return {}
    return {"tls_mode": check.choice("tunnel.tls_mode", options.tls_mode, TlsMode)}


def phone_options(value: PhoneOption) -> dict[str, Any]:
    """The nested ``phone_number`` object, checked like the official client does.

    ``type="toll_free"`` warns and is sent as ``local`` (the only type offered).
    """
    from inkbox_async._phone_bodies import forwarding, number_type, us_state

    options = _options("phone_number", value, IdentityPhoneNumberCreateOptions)
    # Frames above number_type's: here, identity_create, create_identity, the user's line.
    kind = number_type("phone_number.type", options.type, stacklevel=5)
    action = check.choice(
        "phone_number.incoming_call_action", options.incoming_call_action, IncomingCallAction
    )
    body: dict[str, Any] = {"type": kind, "incoming_call_action": action}
    if options.state is not None:
        body["state"] = us_state("phone_number.state", options.state)
    if options.client_websocket_url is not None:
        body["client_websocket_url"] = check.url(
            "phone_number.client_websocket_url", options.client_websocket_url, schemes=("wss", "ws")
        )
    elif action == IncomingCallAction.AUTO_ACCEPT:
        raise InvalidArgumentError(
            "phone_number.client_websocket_url",
            "is required with incoming_call_action='auto_accept'",
        )
    if options.incoming_call_webhook_url is not None:
        body["incoming_call_webhook_url"] = check.url(
            "phone_number.incoming_call_webhook_url",
            options.incoming_call_webhook_url,
            schemes=("https", "http"),
        )
    elif action == IncomingCallAction.WEBHOOK:
        raise InvalidArgumentError(
            "phone_number.incoming_call_webhook_url",
            "is required with incoming_call_action='webhook'",
        )
    body.update(
        forwarding(
            "phone_number.",
            options.forwarding_target_type,
            options.forwarding_phone_number,
            options.forwarding_sip_uri,
        )
    )
    target = body.get("forwarding_target_type")
    if target is None and (
        body.get("forwarding_phone_number") is not None
        or body.get("forwarding_sip_uri") is not None
    ):
        raise InvalidArgumentError(
            "phone_number.forwarding_target_type", "is required when a forwarding target is set"
        )
    if action == IncomingCallAction.FORWARD and target is None:
        raise InvalidArgumentError(
            "phone_number.forwarding_target_type", "is required with incoming_call_action='forward'"
        )
    wanted = {"phone": "forwarding_phone_number", "sip": "forwarding_sip_uri"}.get(str(target))
    if wanted is not None and body.get(wanted) is None:
        raise InvalidArgumentError(f"phone_number.{wanted}", f"is required for {target} forwarding")
    for key in [k for k, v in body.items() if k.startswith("forwarding_") and v is None]:
        del body[key]
    # No longer on the wire: create_identity maps it onto a webhook subscription.
    legacy_text_hook(options)
    return body


def legacy_text_hook(value: PhoneOption | None) -> str | None:
    """The 0.4.4 ``phone_number.incoming_text_webhook_url`` option, checked (or None)."""
    if value is None:
        return None
    options = _options("phone_number", value, IdentityPhoneNumberCreateOptions)
    if options.incoming_text_webhook_url is None:
        return None
    return check.url(
        "phone_number.incoming_text_webhook_url",
        options.incoming_text_webhook_url,
        schemes=("https", "http"),
    )


def vault_secret_ids(value: Any) -> str | list[str]:
    """``"*"``/``"all"``, one secret id, or a list of secret ids."""
    if isinstance(value, str) and value in ("*", "all"):
        return value
    if isinstance(value, str | UUID):
        return check.uuid("vault_secret_ids", value)
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [check.uuid(f"vault_secret_ids[{i}]", v) for i, v in enumerate(value)]
    raise check.type_error("vault_secret_ids", "'*', a secret id or a list of secret ids", value)


def identity_create(
    agent_handle: str,
    *,
    display_name: str | None,
    description: str | Unset | None,
    email_local_part: str | None,
    sending_domain: str | Unset | None,
    tunnel: TunnelOption | None,
    phone_number: PhoneOption | None,
    vault_secret_ids_: Any,
    imessage_enabled: bool | None = None,
    contact_sharing_enabled: bool | None = None,
    claim_imessage_number: bool = False,
) -> dict[str, Any]:
    """Body of ``POST /api/v1/identities/``."""
    body: dict[str, Any] = {"agent_handle": check.handle("agent_handle", agent_handle)}
    if display_name is not None:
        body["display_name"] = check.line("display_name", display_name, max_length=DISPLAY_NAME_MAX)
    if description is not UNSET:
        body["description"] = check.optional_text(
            "description", description, max_length=DESCRIPTION_MAX, allow_empty=True
        )
    if imessage_enabled is not None:
        body["imessage_enabled"] = check.boolean("imessage_enabled", imessage_enabled)
    if contact_sharing_enabled is not None:
        body["contact_sharing_enabled"] = check.boolean(
            "contact_sharing_enabled", contact_sharing_enabled
        )
    if check.boolean("claim_imessage_number", claim_imessage_number):
        if imessage_enabled is not True:
            raise InvalidArgumentError("claim_imessage_number", "needs imessage_enabled=True")
        body["claim_imessage_number"] = True
    mailbox: dict[str, Any] = {}
    if email_local_part is not None:
        mailbox["email_local_part"] = check.line(
            "email_local_part", email_local_part, max_length=64
        )
    if sending_domain is not UNSET:
        mailbox["sending_domain"] = check.optional_text(
            "sending_domain", sending_domain, max_length=253, single_line=True
        )
    if mailbox:
        body["mailbox"] = mailbox
    if tunnel is not None:
        body["tunnel"] = tunnel_options(tunnel)
    if phone_number is not None:
        body["phone_number"] = phone_options(phone_number)
    if vault_secret_ids_ is not None:
        body["vault_secret_ids"] = vault_secret_ids(vault_secret_ids_)
    return body


_FILTER_CHANNELS = ("mail", "phone", "slack")


def identity_update(
    *,
    display_name: str | Unset | None,
    description: str | Unset | None,
    imessage_enabled: bool | None = None,
    contact_sharing_enabled: bool | None = None,
    imessage_number_id: UUID | str | Unset | None = UNSET,
    claim_imessage_number: bool = False,
    filter_modes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Body of ``PATCH /api/v1/identities/{handle}`` (``{}`` when nothing changes).

    ``filter_modes`` maps ``{channel}_filter_mode`` /
    ``{channel}_{inbound,outbound}_filter_mode`` names to a mode or None
    (not sent). The 0.4.4 rename and ``status`` are not on the current wire.
    """
    body: dict[str, Any] = {}
    if display_name is not UNSET:
        body["display_name"] = check.optional_text(
            "display_name", display_name, max_length=DISPLAY_NAME_MAX, single_line=True
        )
    if description is not UNSET:
        body["description"] = check.optional_text(
            "description", description, max_length=DESCRIPTION_MAX, allow_empty=True
        )
    if imessage_enabled is not None:
        body["imessage_enabled"] = check.boolean("imessage_enabled", imessage_enabled)
    if contact_sharing_enabled is not None:
        body["contact_sharing_enabled"] = check.boolean(
            "contact_sharing_enabled", contact_sharing_enabled
        )
    if check.boolean("claim_imessage_number", claim_imessage_number):
        if imessage_number_id is not UNSET:
            raise InvalidArgumentError(
                "claim_imessage_number", "cannot be combined with imessage_number_id"
            )
        if imessage_enabled is False:
            raise InvalidArgumentError(
                "claim_imessage_number", "cannot be set while disabling iMessage"
            )
        body["claim_imessage_number"] = True
    if imessage_number_id is not UNSET:
        if imessage_number_id is not None and imessage_enabled is False:
            raise InvalidArgumentError(
                "imessage_number_id", "cannot be set while disabling iMessage"
            )
        body["imessage_number_id"] = check.optional_uuid("imessage_number_id", imessage_number_id)
    body.update(_filter_modes(dict(filter_modes or {})))
    return body


def _filter_modes(modes: dict[str, Any]) -> dict[str, str]:
    """The filter-mode fields of the identity PATCH, in a stable order."""
    out: dict[str, str] = {}
    given = {name: value for name, value in modes.items() if value is not None}
    for channel in ("imessage", *_FILTER_CHANNELS):
        name = f"{channel}_filter_mode"
        if name in given:
            out[name] = check.choice(name, given[name], FilterMode)
    for channel in _FILTER_CHANNELS:
        shared = f"{channel}_filter_mode"
        if channel == "phone" and shared not in given:
            shared = "imessage_filter_mode"
        for side in ("inbound", "outbound"):
            name = f"{channel}_{side}_filter_mode"
            if name not in given:
                continue
            if shared in given:
                raise InvalidArgumentError(
                    name, f"cannot be combined with {shared} (it sets both directions)"
                )
            out[name] = check.choice(name, given[name], FilterMode)
    phone, imessage = out.get("phone_filter_mode"), out.get("imessage_filter_mode")
    if phone is not None and imessage is not None and phone != imessage:
        raise InvalidArgumentError("imessage_filter_mode", "must agree with phone_filter_mode")
    return out


def api_key_create(
    *, label: str, description: str | None, scoped_identity_id: UUID | str | None
) -> dict[str, Any]:
    """Body of ``POST /api/v1/api-keys``."""
    body: dict[str, Any] = {"label": check.text("label", label, max_length=LABEL_MAX)}
    if description is not None:
        body["description"] = check.text("description", description, max_length=DESCRIPTION_MAX)
    if scoped_identity_id is not None:
        body["scoped_identity_id"] = check.uuid("scoped_identity_id", scoped_identity_id)
    return body


def signup(
    *,
    human_email: str,
    note_to_human: str,
    display_name: str | None,
    agent_handle: str | None,
    email_local_part: str | None,
) -> dict[str, Any]:
    """Body of ``POST /api/v1/agent-signup``."""
    body: dict[str, Any] = {
        "human_email": check.email_address("human_email", human_email),
        "note_to_human": check.text("note_to_human", note_to_human, max_length=2000),
    }
    if display_name is not None:
        body["display_name"] = check.line("display_name", display_name, max_length=DISPLAY_NAME_MAX)
    if agent_handle is not None:
        body["agent_handle"] = check.handle("agent_handle", agent_handle)
    if email_local_part is not None:
        body["email_local_part"] = check.line("email_local_part", email_local_part, max_length=64)
    return body


def message_id_list(values: object) -> list[UUID | str]:
    """``message_ids`` as a list (a lone string is refused, not split into characters)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise check.type_error("message_ids", "a list of message ids", values)
    return list(values)
