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

``data.context`` (:class:`WebhookContext`) is the conversation history a
subscription asked for with ``context_config``; it rides only ``*.received``
events. ``call.ended`` (:class:`CallEndedWebhookPayload`) is delivered to
subscriptions like mail and text events; the inbound-call request
(:class:`PhoneIncomingCallWebhookPayload`) is a different, flat payload that
the reply decides.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "CallEndedWebhookData",
    "CallEndedWebhookPayload",
    "CallWebhookEventType",
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
    "WebhookCallTranscript",
    "WebhookContact",
    "WebhookContext",
    "WebhookContextBlock",
    "WebhookContextCallItem",
    "WebhookContextMailItem",
    "WebhookContextMode",
    "WebhookContextScope",
    "WebhookContextSkipReason",
    "WebhookContextTextItem",
    "WebhookMailAgentIdentity",
    "WebhookMailContact",
    "WebhookPhoneCall",
    "WebhookTranscriptEntry",
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
CallWebhookEventType = Literal["call.ended"]
WebhookContextMode = Literal["count", "window"]
WebhookContextScope = Literal["thread", "conversation", "contact"]
WebhookContextSkipReason = Literal["no_contact", "no_resource", "unavailable"]


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


class WebhookContextMailItem(TypedDict):
    """One message of the ``email`` context: metadata and snippet, never the body.

    Fetch the whole message with ``email_address`` and ``id``.
    """

    id: str
    direction: str
    from_address: str
    to_addresses: list[str]
    created_at: str
    subject: str | None
    snippet: str | None
    email_address: NotRequired[str | None]


class WebhookContextTextItem(TypedDict):
    """One text of the ``texts`` context (long texts are cut: ``text_truncated``)."""

    id: str
    channel: Literal["sms", "imessage"]
    direction: str
    text: str
    text_truncated: bool
    created_at: str
    sender: str | None
    status: str | None
    media: dict[Literal["count"], int] | None


class WebhookTranscriptEntry(TypedDict, total=False):
    """A transcript turn (``party``, ``text``, ``ts_ms``) or the abridgment marker.

    Tell them apart with ``"marker" in entry``.
    """

    party: str
    text: str
    ts_ms: int
    phone_number: str | None
    truncated: bool
    marker: Literal["abridged"]
    omitted_turns: int
    omitted_ms: int


class WebhookContextCallItem(TypedDict):
    """One call of the ``calls`` context with its (possibly abridged) transcript."""

    call_id: str
    abridged: bool
    transcript: list[WebhookTranscriptEntry]
    direction: str | None
    remote_number: str | None
    duration: int | None
    started_at: str | None


class WebhookContextBlock(TypedDict):
    """One class of ``data.context``: items oldest first, the triggering message excluded.

    ``mode`` and ``requested`` (count mode) or ``hours`` (window mode) echo
    the subscription's ``context_config``; a class that could not be
    resolved has no items and says why in ``skipped``.
    """

    scope: WebhookContextScope
    items: list[WebhookContextMailItem | WebhookContextTextItem | WebhookContextCallItem]
    truncated: bool
    mode: NotRequired[WebhookContextMode]
    requested: NotRequired[int]
    hours: NotRequired[int]
    skipped: NotRequired[WebhookContextSkipReason]


class WebhookContext(TypedDict, total=False):
    """``data.context``: only the classes the subscription configured appear."""

    email: WebhookContextBlock
    texts: WebhookContextBlock
    calls: WebhookContextBlock


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
    context: NotRequired[WebhookContext]


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
    context: NotRequired[WebhookContext]
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


class WebhookPhoneCall(TypedDict):
    """The call of a ``call.ended`` event (``duration_seconds`` is None if it never connected)."""

    id: str
    origin: str
    local_phone_number: str | None
    remote_phone_number: str
    direction: CallDirectionWire
    status: CallStatusWire
    hangup_reason: HangupReasonWire | None
    started_at: str | None
    ended_at: str | None
    created_at: str
    updated_at: str
    duration_seconds: int | None
    mode: NotRequired[str]
    reason: NotRequired[str | None]
    hosted_agent_authority_mode: NotRequired[str | None]
    voicemail_detection: NotRequired[str | None]
    on_voicemail: NotRequired[str | None]
    forwardings: NotRequired[list[dict[str, Any]]]
    connections: NotRequired[list[dict[str, Any]]]


class WebhookCallTranscript(TypedDict):
    """The inline transcript of an ended call; ``url`` is the verbatim record."""

    entries: list[WebhookTranscriptEntry]
    abridged: bool
    url: str


class CallEndedWebhookData(TypedDict):
    """``data`` of ``call.ended``: the call, who the caller is, and its transcript.

    ``transcript`` is None when none was captured; ``transcript_url`` is
    always there (fetch it with a key that can read the call).
    """

    call: WebhookPhoneCall
    contacts: list[WebhookContact]
    agent_identities: list[WebhookAgentIdentity]
    transcript: WebhookCallTranscript | None
    transcript_url: str
    outcome: NotRequired[str | None]
    post_call_action_items: NotRequired[list[dict[str, Any]]]


class CallEndedWebhookPayload(TypedDict):
    """A ``call.ended`` delivery; ``id`` is the event's id, stable across replays."""

    id: str
    event_type: CallWebhookEventType
    timestamp: str
    data: CallEndedWebhookData
