"""Whoami, signing keys, API keys and agent signup."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal
from uuid import UUID

import attrs

from inkbox_async._logging import redacted
from inkbox_async.models._base import extra_field

__all__ = [
    "AUTH_SUBTYPE_ADMIN_SCOPED",
    "AUTH_SUBTYPE_AGENT_SCOPED_CLAIMED",
    "AUTH_SUBTYPE_AGENT_SCOPED_UNCLAIMED",
    "AgentSignupResendResponse",
    "AgentSignupResponse",
    "AgentSignupRestrictions",
    "AgentSignupStatusResponse",
    "AgentSignupVerifyResponse",
    "ApiKey",
    "CreatedApiKey",
    "SigningKey",
    "WhoamiApiKeyResponse",
    "WhoamiJwtResponse",
    "WhoamiResponse",
]

AUTH_SUBTYPE_ADMIN_SCOPED: Final = "api_key.admin_scoped"
AUTH_SUBTYPE_AGENT_SCOPED_CLAIMED: Final = "api_key.agent_scoped.claimed"
AUTH_SUBTYPE_AGENT_SCOPED_UNCLAIMED: Final = "api_key.agent_scoped.unclaimed"


@attrs.frozen(kw_only=True)
class WhoamiApiKeyResponse:
    """``whoami()`` for an API key."""

    auth_type: Literal["api_key"] = "api_key"
    auth_subtype: str | None = None
    organization_id: str | None = None
    created_by: str | None = None
    creator_type: str | None = None
    key_id: str | None = None
    label: str | None = None
    description: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    extra: dict[str, Any] = extra_field()

    @property
    def is_admin(self) -> bool:
        """True for an organisation-wide (admin-scoped) key."""
        return self.auth_subtype == AUTH_SUBTYPE_ADMIN_SCOPED


@attrs.frozen(kw_only=True)
class WhoamiJwtResponse:
    """``whoami()`` for a console (JWT) session."""

    auth_type: str = "jwt"
    auth_subtype: str | None = None
    user_id: str | None = None
    email: str | None = None
    name: str | None = None
    organization_id: str | None = None
    org_role: str | None = None
    org_slug: str | None = None
    extra: dict[str, Any] = extra_field()


WhoamiResponse = WhoamiApiKeyResponse | WhoamiJwtResponse


@attrs.frozen(kw_only=True)
class SigningKey:
    """A webhook signing key (an identity's; 0.4.4: the organisation's), shown once."""

    signing_key: str = attrs.field(repr=redacted)
    created_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ApiKey:
    """An API key record (never the secret)."""

    id: str
    organization_id: str
    created_by: str
    creator_type: str
    scoped_identity_id: UUID | None = None
    label: str
    description: str | None = None
    status: str
    last4: str
    display_prefix: str
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CreatedApiKey:
    """A new API key: ``api_key`` is the secret, shown once."""

    api_key: str = attrs.field(repr=redacted)
    record: ApiKey
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AgentSignupResponse:
    """The result of ``signup()``: save ``api_key``, it is shown once."""

    email_address: str
    organization_id: str
    api_key: str = attrs.field(repr=redacted)
    agent_handle: str
    claim_status: str
    human_email: str
    message: str
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AgentSignupVerifyResponse:
    """The result of ``verify_signup()``."""

    claim_status: str
    organization_id: str
    message: str
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AgentSignupResendResponse:
    """The result of ``resend_signup_verification()``."""

    claim_status: str
    organization_id: str
    message: str
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AgentSignupRestrictions:
    """What a signed-up agent may do."""

    max_sends_per_day: int
    allowed_recipients: list[str] = attrs.field(factory=list)
    can_receive: bool
    can_create_mailboxes: bool
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AgentSignupStatusResponse:
    """The result of ``get_signup_status()``."""

    claim_status: str
    human_state: str
    human_email: str
    restrictions: AgentSignupRestrictions
    extra: dict[str, Any] = extra_field()
