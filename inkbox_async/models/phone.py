"""Phone numbers, calls, transcripts, texts, SMS opt-ins and phone contact rules."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from inkbox_async.models._base import extra_field
from inkbox_async.models.identities import IdentityPhoneNumber
from inkbox_async.models.mail import ContactRuleStatus

__all__ = [
    "CallDirection",
    "CallStatus",
    "ConversationReadState",
    "PhoneCall",
    "PhoneCallWithRateLimit",
    "PhoneContactRule",
    "PhoneNumber",
    "PhoneRuleAction",
    "PhoneRuleMatchType",
    "PhoneTranscript",
    "RateLimitInfo",
    "SmsDeliveryStatus",
    "SmsOptIn",
    "SmsOptInSource",
    "SmsOptInStatus",
    "SmsStatus",
    "TextConversationSummary",
    "TextMediaItem",
    "TextMessage",
    "TextMessageOrigin",
    "TranscriptParty",
]

PhoneNumber = IdentityPhoneNumber
"""A phone number (the same model as the one embedded in an identity)."""


class SmsStatus(enum.StrEnum):
    """Whether a number can send texts yet."""

    PENDING = "pending"
    READY = "ready"
    ASSIGNMENT_FAILED = "assignment_failed"


class SmsDeliveryStatus(enum.StrEnum):
    """Carrier lifecycle of an outbound text."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_UNCONFIRMED = "delivery_unconfirmed"
    SENDING_FAILED = "sending_failed"


class TextMessageOrigin(enum.StrEnum):
    """Who wrote an outbound text."""

    USER_INITIATED = "user_initiated"
    AUTO_REPLY = "auto_reply"


class SmsOptInStatus(enum.StrEnum):
    """Consent state of a recipient."""

    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class SmsOptInSource(enum.StrEnum):
    """How the consent state was set."""

    SMS = "sms"
    API = "api"


class PhoneRuleAction(enum.StrEnum):
    """What a phone contact rule does."""

    ALLOW = "allow"
    BLOCK = "block"


class PhoneRuleMatchType(enum.StrEnum):
    """What a phone contact rule matches."""

    EXACT_NUMBER = "exact_number"


class CallDirection(enum.StrEnum):
    """Which way a call went."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallStatus(enum.StrEnum):
    """Lifecycle of a call."""

    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


class TranscriptParty(enum.StrEnum):
    """Who spoke: ``local`` is your agent, ``remote`` the other party."""

    LOCAL = "local"
    REMOTE = "remote"


@attrs.frozen(kw_only=True)
class PhoneCall:
    """A call."""

    id: UUID
    local_phone_number: str
    remote_phone_number: str
    direction: CallDirection | str
    status: CallStatus | str
    client_websocket_url: str | None = None
    use_inkbox_tts: bool | None = None
    use_inkbox_stt: bool | None = None
    hangup_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    is_blocked: bool = False
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class RateLimitInfo:
    """The organisation's rolling call quota."""

    calls_used: int
    calls_remaining: int
    calls_limit: int
    minutes_used: float
    minutes_remaining: float
    minutes_limit: int
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PhoneCallWithRateLimit(PhoneCall):
    """A placed call and the quota left."""

    rate_limit: RateLimitInfo | None = None


@attrs.frozen(kw_only=True)
class PhoneTranscript:
    """One transcript segment of a call."""

    id: UUID
    call_id: UUID
    seq: int
    ts_ms: int
    party: TranscriptParty | str
    text: str
    created_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TextMediaItem:
    """An MMS attachment behind a temporary signed URL."""

    content_type: str
    size: int
    url: str
    extra: dict[str, Any] = extra_field()


def _media(value: list[TextMediaItem] | None) -> list[TextMediaItem] | None:
    return value or None


@attrs.frozen(kw_only=True)
class TextMessage:
    """An SMS or MMS, with its delivery state when outbound."""

    id: UUID
    direction: str
    local_phone_number: str
    remote_phone_number: str
    text: str | None = None
    type: str
    media: list[TextMediaItem] | None = attrs.field(default=None, converter=_media)
    is_read: bool
    delivery_status: SmsDeliveryStatus | str | None = None
    origin: TextMessageOrigin | str = TextMessageOrigin.USER_INITIATED
    error_code: str | None = None
    error_detail: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    is_blocked: bool = False
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TextConversationSummary:
    """One conversation (a remote number) and its latest message."""

    remote_phone_number: str
    latest_text: str | None = None
    latest_direction: str
    latest_type: str
    latest_message_at: datetime
    unread_count: int
    total_count: int
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ConversationReadState:
    """The result of marking a conversation read (``result["updated_count"]`` works too)."""

    remote_phone_number: str
    is_read: bool
    updated_count: int
    extra: dict[str, Any] = extra_field()

    def __getitem__(self, key: str) -> Any:
        if key in ("remote_phone_number", "is_read", "updated_count"):
            return getattr(self, key)
        return self.extra[key]


@attrs.frozen(kw_only=True)
class SmsOptIn:
    """A recipient's SMS consent state."""

    id: UUID
    organization_id: str
    receiver_number: str
    status: SmsOptInStatus | str
    source: SmsOptInSource | str
    opted_in_at: datetime | None = None
    opted_out_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PhoneContactRule:
    """A per-number allow or block rule."""

    id: UUID
    phone_number_id: UUID
    action: PhoneRuleAction | str
    match_type: PhoneRuleMatchType | str
    match_target: str
    status: ContactRuleStatus | str = ContactRuleStatus.ACTIVE
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()
