"""Phone numbers, calls, transcripts, texts, SMS opt-ins and phone contact rules."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from inkbox_async.models._base import extra_field
from inkbox_async.models.identities import IdentityPhoneNumber
from inkbox_async.models.mail import ContactRuleDirection, ContactRuleStatus

__all__ = [
    "CallDirection",
    "CallMode",
    "CallOrigin",
    "CallStatus",
    "ConversationReadState",
    "HostedAgentAuthorityMode",
    "OnVoicemail",
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
    "TextMessageRecipient",
    "TranscriptParty",
    "VoicemailDetection",
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


class CallOrigin(enum.StrEnum):
    """Which line a call rides: the identity's own number or an iMessage line."""

    DEDICATED_NUMBER = "dedicated_number"
    SHARED_IMESSAGE_NUMBER = "shared_imessage_number"
    DEDICATED_IMESSAGE_NUMBER = "dedicated_imessage_number"


class CallMode(enum.StrEnum):
    """Who drives a call: your WebSocket server or Inkbox Voice AI."""

    CLIENT_WEBSOCKET = "client_websocket"
    HOSTED_AGENT = "hosted_agent"


class HostedAgentAuthorityMode(enum.StrEnum):
    """How broadly Voice AI may act on a call."""

    CONTACT_SCOPED = "contact_scoped"
    YOLO = "yolo"


class OnVoicemail(enum.StrEnum):
    """What an outbound call does when voicemail answers."""

    LEAVE_MESSAGE = "leave_message"
    HANG_UP = "hang_up"
    IGNORE = "ignore"


class VoicemailDetection(enum.StrEnum):
    """The older form of :class:`OnVoicemail` (``enabled`` = hang up, ``disabled`` = ignore)."""

    ENABLED = "enabled"
    DISABLED = "disabled"


class TranscriptParty(enum.StrEnum):
    """Who spoke: ``local`` is your agent, ``remote`` the other party."""

    LOCAL = "local"
    REMOTE = "remote"


@attrs.frozen(kw_only=True)
class PhoneCall:
    """A call (``local_phone_number`` is None on iMessage-line calls)."""

    id: UUID
    local_phone_number: str | None = None
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
    origin: CallOrigin | str | None = None
    mode: CallMode | str | None = None
    reason: str | None = None
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
    phone_number: str | None = None
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
class TextMessageRecipient:
    """One recipient of an outbound (group) text and its own delivery state."""

    recipient_phone_number: str
    delivery_status: SmsDeliveryStatus | str | None = None
    carrier: str | None = None
    line_type: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TextMessage:
    """An SMS or MMS, with its delivery state when outbound.

    ``remote_phone_number`` is None for a group text (see ``recipients``);
    ``conversation_id`` names its conversation.
    """

    id: UUID
    direction: str
    local_phone_number: str
    remote_phone_number: str | None = None
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
    conversation_id: UUID | None = None
    sender_phone_number: str | None = None
    recipients: list[TextMessageRecipient] | None = None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TextConversationSummary:
    """One conversation and its latest message (a group has ``participants``, no remote)."""

    id: UUID | None = None
    remote_phone_number: str | None = None
    participants: list[str] | None = None
    is_group: bool = False
    latest_has_media: bool = False
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

    remote_phone_number: str | None = None
    conversation_id: UUID | None = None
    is_read: bool
    updated_count: int
    extra: dict[str, Any] = extra_field()

    def __getitem__(self, key: str) -> Any:
        if key in ("remote_phone_number", "conversation_id", "is_read", "updated_count"):
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
    """An allow or block rule on an identity's calls and texts.

    Rules belong to the identity (``agent_identity_id``); ``phone_number_id``
    is set on rows read through the deprecated per-number calls.
    """

    id: UUID
    agent_identity_id: UUID | None = None
    phone_number_id: UUID | None = None
    action: PhoneRuleAction | str
    match_type: PhoneRuleMatchType | str
    match_target: str
    direction: ContactRuleDirection | str = ContactRuleDirection.BOTH
    status: ContactRuleStatus | str = ContactRuleStatus.ACTIVE
    contact: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()
