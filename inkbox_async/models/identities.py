"""Identities, their embedded channels, visibility rows and create options."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from inkbox_async.models._base import extra_field
from inkbox_async.models.mail import FilterMode, FilterModeChangeNotice, Mailbox

IdentityMailbox = Mailbox
"""The mailbox embedded in an identity (the same model as :class:`Mailbox`)."""

__all__ = [
    "ForwardingTargetType",
    "IdentityAccess",
    "IdentityDetail",
    "IdentityMailbox",
    "IdentityPhoneNumber",
    "IdentityPhoneNumberCreateOptions",
    "IdentityStatus",
    "IdentitySummary",
    "IdentityTunnelCreateOptions",
    "IncomingCallAction",
    "PhoneNumberType",
    "SignedCert",
    "TlsMode",
    "Tunnel",
    "TunnelStatus",
    "TunnelSummary",
]


class TlsMode(enum.StrEnum):
    """Where a tunnel's TLS is terminated."""

    EDGE = "edge"
    PASSTHROUGH = "passthrough"


class TunnelStatus(enum.StrEnum):
    """Lifecycle of a tunnel."""

    AWAITING_CERT = "awaiting_cert"
    ACTIVE = "active"
    DELETED = "deleted"


class IdentityStatus(enum.StrEnum):
    """Values of the 0.4.4 ``identity.update(status=...)``, which the service removed."""

    ACTIVE = "active"
    PAUSED = "paused"


class PhoneNumberType(enum.StrEnum):
    """Kinds of phone number (only ``local`` can be provisioned today)."""

    TOLL_FREE = "toll_free"
    LOCAL = "local"


class IncomingCallAction(enum.StrEnum):
    """What happens to an inbound call."""

    AUTO_REJECT = "auto_reject"
    AUTO_ACCEPT = "auto_accept"
    WEBHOOK = "webhook"
    HOSTED_AGENT = "hosted_agent"
    """Inkbox Voice AI answers (configured per identity)."""
    FORWARD = "forward"
    """Forward to ``forwarding_phone_number`` or ``forwarding_sip_uri``."""


class ForwardingTargetType(enum.StrEnum):
    """Where ``incoming_call_action="forward"`` sends calls."""

    PHONE = "phone"
    SIP = "sip"


@attrs.frozen(kw_only=True)
class IdentityPhoneNumber:
    """A phone number bound to an identity."""

    id: UUID
    number: str
    type: PhoneNumberType | str
    status: str
    sms_status: str = "ready"
    sms_error_code: str | None = None
    sms_error_detail: str | None = None
    sms_ready_at: datetime | None = None
    incoming_call_action: IncomingCallAction | str
    client_websocket_url: str | None = None
    incoming_call_webhook_url: str | None = None
    incoming_text_webhook_url: str | None = None
    forwarding_target_type: ForwardingTargetType | str | None = None
    forwarding_phone_number: str | None = None
    forwarding_sip_uri: str | None = None
    filter_mode: FilterMode | str = FilterMode.BLACKLIST
    inbound_filter_mode: FilterMode | str | None = None
    outbound_filter_mode: FilterMode | str | None = None
    state: str | None = None
    agent_identity_id: UUID | None = None
    filter_mode_change_notice: FilterModeChangeNotice | None = None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TunnelSummary:
    """The tunnel as embedded in identity responses (``identity.tunnel``).

    Routing and lifecycle only: the connection state, certificate and
    metadata are on the full :class:`Tunnel` (``inkbox.tunnels.get(tunnel.id)``).
    """

    id: UUID
    tunnel_name: str
    agent_identity_id: UUID | None = None
    tls_mode: TlsMode | str
    status: TunnelStatus | str
    public_host: str
    zone: str
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()

    @property
    def public_url(self) -> str:
        """``https://{public_host}``."""
        return f"https://{self.public_host}"


@attrs.frozen(kw_only=True)
class Tunnel(TunnelSummary):
    """A tunnel with its connection state and certificate (``inkbox.tunnels``).

    Every identity owns one; its public host is ``public_host``.
    """

    organization_id: str | None = None
    cert_pem: str | None = None
    cert_fingerprint_sha256: str | None = None
    cert_expires_at: datetime | None = None
    last_connected_at: datetime | None = None
    last_disconnected_at: datetime | None = None
    last_connected_ip_addr: str | None = None
    currently_connected: bool = False
    metadata: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class SignedCert:
    """A passthrough tunnel's certificate, signed by Inkbox (``tunnels.sign_csr``)."""

    cert_pem: str
    chain_pem: str
    cert_fingerprint_sha256: str
    cert_expires_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class IdentitySummary:
    """An identity without its channels (``list_identities`` items).

    ``email_address`` is the mailbox's address; the service may leave it null
    in a summary, while :class:`IdentityDetail` always has it.
    """

    id: UUID
    organization_id: str
    agent_handle: str
    display_name: str | None = None
    description: str | None = None
    email_address: str | None = None
    imessage_enabled: bool = False
    contact_sharing_enabled: bool = True
    mail_filter_mode: FilterMode | str = FilterMode.BLACKLIST
    phone_filter_mode: FilterMode | str = FilterMode.BLACKLIST
    imessage_filter_mode: FilterMode | str = FilterMode.BLACKLIST
    mail_inbound_filter_mode: FilterMode | str | None = None
    mail_outbound_filter_mode: FilterMode | str | None = None
    phone_inbound_filter_mode: FilterMode | str | None = None
    phone_outbound_filter_mode: FilterMode | str | None = None
    signing_key_configured: bool = False
    signing_key_created_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


def _mailbox_address(detail: IdentityDetail) -> str:
    return detail.mailbox.email_address


@attrs.frozen(kw_only=True)
class IdentityDetail(IdentitySummary):
    """An identity with its mailbox, tunnel summary and optional phone number.

    Every identity has a mailbox and a tunnel (the service creates both with
    it), so ``mailbox``, ``tunnel`` and ``email_address`` are never None here;
    a response without them is refused as malformed. ``email_address`` falls
    back to the mailbox's address when the summary field is absent or null.
    """

    mailbox: IdentityMailbox
    tunnel: TunnelSummary
    phone_number: IdentityPhoneNumber | None = None
    email_address: str = attrs.field(default=attrs.Factory(_mailbox_address, takes_self=True))


@attrs.frozen(kw_only=True)
class IdentityAccess:
    """A 0.4.4 visibility row (``viewer_identity_id`` None: the org-wide wildcard).

    The service removed identity visibility (0.5.13); kept so code typed
    against the 0.4.4 calls still type-checks.
    """

    id: UUID
    target_identity_id: UUID
    viewer_identity_id: UUID | None = None
    created_at: datetime
    extra: dict[str, Any] = extra_field()

    @property
    def is_wildcard(self) -> bool:
        """True for the row that makes the target visible to every identity."""
        return self.viewer_identity_id is None


@attrs.frozen(kw_only=True)
class IdentityTunnelCreateOptions:
    """Tunnel options for ``create_identity(tunnel=...)``."""

    tls_mode: TlsMode | str | None = None


@attrs.frozen(kw_only=True)
class IdentityPhoneNumberCreateOptions:
    """Phone number options for ``create_identity(phone_number=...)``.

    ``incoming_call_action="forward"`` needs ``forwarding_target_type`` and
    the matching ``forwarding_phone_number`` or ``forwarding_sip_uri``.
    ``type="toll_free"`` is no longer offered: it provisions a local number
    with a ``DeprecationWarning``.
    """

    type: PhoneNumberType | str = PhoneNumberType.LOCAL
    incoming_call_action: IncomingCallAction | str = IncomingCallAction.AUTO_REJECT
    state: str | None = None
    client_websocket_url: str | None = None
    incoming_call_webhook_url: str | None = None
    incoming_text_webhook_url: str | None = None
    forwarding_target_type: ForwardingTargetType | str | None = None
    forwarding_phone_number: str | None = None
    forwarding_sip_uri: str | None = None
