"""The raw JSON shapes of webhook deliveries, as TypedDicts and Literal unions.

``cast(MailWebhookPayload, json.loads(raw_body))`` needs no transformation:
keys are snake_case as on the wire, datetimes stay strings, and enum-like
fields are ``Literal`` unions that narrow under mypy and pyright. Every key is
always present; ``| None`` marks a value that may be JSON null.
"""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = [
    "CallDirectionWire",
    "CallStatusWire",
    "HangupReasonWire",
    "MailContactBucket",
    "MailWebhookData",
    "MailWebhookEventType",
    "MailWebhookMessage",
    "MailWebhookPayload",
    "MessageDirectionWire",
    "MessageStatusWire",
    "PhoneIncomingCallWebhookPayload",
    "RateLimitInfoWire",
    "SmsDeliveryStatusWire",
    "TextDirectionWire",
    "TextMediaItemWire",
    "TextMessageOriginWire",
    "TextTypeWire",
    "TextWebhookData",
    "TextWebhookEventType",
    "TextWebhookMessage",
    "TextWebhookPayload",
    "WebhookContact",
    "WebhookMailContact",
]

MessageDirectionWire = Literal["inbound", "outbound"]
MessageStatusWire = Literal[
    "queued", "sent", "delivered", "bounced", "failed", "received", "deleted"
]
TextDirectionWire = Literal["inbound", "outbound"]
TextTypeWire = Literal["sms", "mms"]
SmsDeliveryStatusWire = Literal[
    "queued", "sent", "delivered", "delivery_failed", "delivery_unconfirmed", "sending_failed"
]
TextMessageOriginWire = Literal["user_initiated", "auto_reply"]
CallDirectionWire = Literal["outbound", "inbound"]
CallStatusWire = Literal["initiated", "ringing", "answered", "completed", "failed", "canceled"]
HangupReasonWire = Literal["local", "remote", "max_duration", "voicemail", "rejected"]
MailWebhookEventType = Literal[
    "message.received",
    "message.sent",
    "message.forwarded",
    "message.delivered",
    "message.bounced",
    "message.failed",
]
MailContactBucket = Literal["from", "to", "cc", "bcc"]
TextWebhookEventType = Literal[
    "text.received",
    "text.sent",
    "text.delivered",
    "text.delivery_failed",
    "text.delivery_unconfirmed",
]


class TextMediaItemWire(TypedDict):
    """One MMS attachment (a temporary signed URL)."""

    content_type: str
    size: int
    url: str


class RateLimitInfoWire(TypedDict):
    """Call quota of the number."""

    calls_used: int
    calls_remaining: int
    calls_limit: int
    minutes_used: float
    minutes_remaining: float
    minutes_limit: int


class WebhookContact(TypedDict):
    """The address-book contact matching the remote party of a text or call."""

    id: str
    name: str


class WebhookMailContact(TypedDict):
    """An address-book match for one address of one bucket of a message."""

    bucket: MailContactBucket
    address: str
    id: str
    name: str


class MailWebhookMessage(TypedDict):
    """The message of a mail event (``bcc_addresses`` only on outbound events)."""

    id: str
    mailbox_id: str
    thread_id: str | None
    message_id: str | None
    from_address: str
    to_addresses: list[str]
    cc_addresses: list[str] | None
    bcc_addresses: list[str] | None
    subject: str | None
    snippet: str | None
    direction: MessageDirectionWire
    status: MessageStatusWire
    has_attachments: bool
    created_at: str | None


class MailWebhookData(TypedDict):
    """``data`` of a mail event."""

    message: MailWebhookMessage
    contacts: list[WebhookMailContact]


class MailWebhookPayload(TypedDict):
    """A mail webhook delivery."""

    event_type: MailWebhookEventType
    timestamp: str
    data: MailWebhookData


class TextWebhookMessage(TypedDict):
    """The text message of a text event, with its full delivery state."""

    id: str
    direction: TextDirectionWire
    local_phone_number: str
    remote_phone_number: str
    text: str | None
    type: TextTypeWire
    media: list[TextMediaItemWire] | None
    is_read: bool
    delivery_status: SmsDeliveryStatusWire | None
    origin: TextMessageOriginWire
    error_code: str | None
    error_detail: str | None
    sent_at: str | None
    delivered_at: str | None
    failed_at: str | None
    created_at: str
    updated_at: str


class TextWebhookData(TypedDict):
    """``data`` of a text event."""

    text_message: TextWebhookMessage
    contact: WebhookContact | None


class TextWebhookPayload(TypedDict):
    """A text webhook delivery."""

    event_type: TextWebhookEventType
    timestamp: str
    data: TextWebhookData


class PhoneIncomingCallWebhookPayload(TypedDict):
    """The flat (no envelope) inbound-call delivery; the reply decides the call."""

    id: str
    local_phone_number: str
    remote_phone_number: str
    direction: Literal["inbound"]
    status: CallStatusWire
    client_websocket_url: str | None
    use_inkbox_tts: bool | None
    use_inkbox_stt: bool | None
    hangup_reason: HangupReasonWire | None
    started_at: str | None
    ended_at: str | None
    created_at: str
    updated_at: str
    rate_limit: RateLimitInfoWire | None
    contact: WebhookContact | None
