"""The raw JSON shapes of webhook deliveries, as TypedDicts and Literal unions.

``cast(MailWebhookPayload, json.loads(raw_body))`` needs no transformation:
keys are snake_case as on the wire, datetimes stay strings, and enum-like
fields are ``Literal`` unions that narrow under mypy and pyright. ``| None``
marks a value that may be JSON null.

The shapes follow the current service: the envelope's stable ``id``
(``evt_…``, the same on a replay), ``contacts`` plus ``agent_identities``
on every event, the text message's ``conversation_id`` / ``sender_phone_number``
/ ``recipients``. Keys that only some deliveries carry (``companion``,
``context``, the optional mail body fields) are ``NotRequired``, and so are
the keys of the 0.4.4 shapes the service replaced (text and call
``contact``), so payloads recorded from older servers still type-check.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

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
    "TextMessageRecipientWire",
    "TextWebhookPayload",
    "WebhookAgentIdentity",
    "WebhookContact",
    "WebhookMailAgentIdentity",
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


class TextMessageRecipientWire(TypedDict):
    """Delivery state of one recipient of a group text."""

    recipient_phone_number: str
    delivery_status: SmsDeliveryStatusWire | None
    carrier: str | None
    line_type: str | None
    error_code: str | None
    error_detail: str | None
    sent_at: str | None
    delivered_at: str | None
    failed_at: str | None


class WebhookContact(TypedDict):
    """An address-book contact matching the remote party of a text or call.

    ``name`` is None when the contact has none on file; ``memories`` (newest
    first) is absent from older payloads.
    """

    id: str
    name: str | None
    memories: NotRequired[list[str]]


class WebhookAgentIdentity(TypedDict):
    """Another identity of the organisation that is the remote party of a text or call."""

    id: str
    agent_handle: str
    display_name: str | None


class WebhookMailContact(TypedDict):
    """An address-book match for one address of one bucket of a message."""

    bucket: MailContactBucket
    address: str
    id: str
    name: str | None
    memories: NotRequired[list[str]]


class WebhookMailAgentIdentity(TypedDict):
    """An identity of the organisation matching one address of one bucket of a message."""

    bucket: MailContactBucket
    address: str
    id: str
    agent_handle: str
    display_name: str | None


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
    email_address: NotRequired[str | None]
    body: NotRequired[str | None]
    body_state: NotRequired[Literal["complete", "truncated", "unavailable"] | None]
    body_truncated: NotRequired[bool | None]
    body_total_chars: NotRequired[int | None]
    body_included_chars: NotRequired[int | None]


class MailWebhookData(TypedDict):
    """``data`` of a mail event (``context`` only when the subscription asked for it)."""

    message: MailWebhookMessage
    contacts: list[WebhookMailContact]
    agent_identities: NotRequired[list[WebhookMailAgentIdentity]]
    context: NotRequired[dict[str, Any]]


class MailWebhookPayload(TypedDict):
    """A mail webhook delivery; ``id`` is the event's id, stable across replays."""

    id: NotRequired[str]
    companion: NotRequired[dict[str, Any]]
    event_type: MailWebhookEventType
    timestamp: str
    data: MailWebhookData


class TextWebhookMessage(TypedDict):
    """The text message of a text event, with its full delivery state."""

    id: str
    direction: TextDirectionWire
    local_phone_number: str
    remote_phone_number: str | None
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
    conversation_id: NotRequired[str | None]
    sender_phone_number: NotRequired[str | None]
    recipients: NotRequired[list[TextMessageRecipientWire] | None]
    created_at: str
    updated_at: str


class TextWebhookData(TypedDict):
    """``data`` of a text event: the message and who the remote party is.

    ``contacts`` / ``agent_identities`` replaced 0.4.4's single ``contact``.
    """

    text_message: TextWebhookMessage
    contacts: NotRequired[list[WebhookContact]]
    agent_identities: NotRequired[list[WebhookAgentIdentity]]
    recipient_phone_number: NotRequired[str | None]
    context: NotRequired[dict[str, Any]]
    contact: NotRequired[WebhookContact | None]


class TextWebhookPayload(TypedDict):
    """A text webhook delivery; ``id`` is the event's id, stable across replays."""

    id: NotRequired[str]
    companion: NotRequired[dict[str, Any]]
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
    contacts: NotRequired[list[WebhookContact]]
    agent_identities: NotRequired[list[WebhookAgentIdentity]]
    contact: NotRequired[WebhookContact | None]
