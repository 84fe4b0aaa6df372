"""Webhook subscriptions, their delivery log and per-identity signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal, TypedDict
from uuid import UUID

import attrs

from inkbox_async._logging import redacted
from inkbox_async.models._base import extra_field

__all__ = [
    "CALL_EVENT_TYPES",
    "MAIL_EVENT_TYPES",
    "TEXT_EVENT_TYPES",
    "SigningKeyStatus",
    "WebhookContextConfig",
    "WebhookContextCount",
    "WebhookContextWindow",
    "WebhookDelivery",
    "WebhookSubscription",
    "WebhookSubscriptionCreated",
]

MAIL_EVENT_TYPES: Final = (
    "message.received",
    "message.sent",
    "message.forwarded",
    "message.delivered",
    "message.bounced",
    "message.failed",
)
"""Every mail event a subscription can carry."""

TEXT_EVENT_TYPES: Final = (
    "text.received",
    "text.sent",
    "text.delivered",
    "text.delivery_failed",
    "text.delivery_unconfirmed",
)
"""Every SMS/MMS event a subscription can carry."""

CALL_EVENT_TYPES: Final = ("call.ended",)
"""Call-lifecycle events (the synchronous incoming-call webhook is a number setting instead)."""


class WebhookContextCount(TypedDict):
    """Send the last ``count`` items (1-50) of a class with each received event."""

    mode: Literal["count"]
    count: int


class WebhookContextWindow(TypedDict):
    """Send the items of the last ``hours`` hours (1-168) with each received event."""

    mode: Literal["window"]
    hours: int


class WebhookContextConfig(TypedDict, total=False):
    """Conversation history attached to received events, per class (omit or None: none)."""

    email: WebhookContextCount | WebhookContextWindow | None
    texts: WebhookContextCount | WebhookContextWindow | None
    calls: WebhookContextCount | WebhookContextWindow | None


@attrs.frozen(kw_only=True)
class WebhookSubscription:
    """Where events of an identity (or, legacy, of a mailbox or number) are POSTed.

    ``owner_identity_id`` is the identity whose signing key signs the
    deliveries. ``auth_token`` is the bearer token sent with each delivery
    (``None`` when unset); it never shows in the repr.
    """

    id: UUID
    organization_id: str
    url: str
    event_types: list[str]
    status: str
    created_at: datetime
    updated_at: datetime
    agent_identity_id: UUID | None = None
    mailbox_id: UUID | None = None
    phone_number_id: UUID | None = None
    owner_identity_id: UUID | None = None
    context_config: dict[str, Any] | None = None
    has_auth_token: bool = False
    auth_token: str | None = attrs.field(default=None, repr=redacted)
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class WebhookSubscriptionCreated(WebhookSubscription):
    """A new subscription; ``signing_key`` is set (once) when it minted the identity's key.

    Store that key: it verifies every delivery and is never shown again
    (``identity.create_signing_key()`` rotates it).
    """

    signing_key: str | None = attrs.field(default=None, repr=redacted)


@attrs.frozen(kw_only=True)
class WebhookDelivery:
    """One logged delivery attempt: the signed body sent and what the receiver answered.

    ``replayable`` is False for incoming-call deliveries
    (``replay_unavailable_reason`` says why); ``is_replay`` marks rows made by
    ``deliveries.replay``. ``response_status``/``response_body`` are None when
    the request failed in transport (``error_detail`` says how).
    """

    id: UUID
    organization_id: str
    event_id: str
    event_type: str
    url: str
    request_payload: str
    is_replay: bool
    created_at: datetime
    webhook_subscription_id: UUID | None = None
    phone_number_id: UUID | None = None
    response_status: int | None = None
    response_body: str | None = None
    error_detail: str | None = None
    duration_ms: int | None = None
    replayable: bool = False
    replay_unavailable_reason: str | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class SigningKeyStatus:
    """Whether an identity has a webhook signing key, and since when (never the key)."""

    configured: bool
    created_at: datetime | None = None
    extra: dict[str, Any] = extra_field()
