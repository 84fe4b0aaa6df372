"""Mailboxes, messages, threads, sending domains and mail contact rules."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from inkbox_async.models._base import extra_field

__all__ = [
    "AttachmentLink",
    "ContactRuleDirection",
    "ContactRuleStatus",
    "Domain",
    "FilterMode",
    "FilterModeChangeNotice",
    "ForwardMode",
    "MailContactRule",
    "MailRuleAction",
    "MailRuleMatchType",
    "Mailbox",
    "Message",
    "MessageDetail",
    "MessageDirection",
    "MessageStatus",
    "SendingDomainStatus",
    "Thread",
    "ThreadDetail",
    "ThreadFolder",
]


class FilterMode(enum.StrEnum):
    """How a mailbox or number treats senders without a contact rule."""

    WHITELIST = "whitelist"
    BLACKLIST = "blacklist"


class MessageDirection(enum.StrEnum):
    """Which way a message went."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(enum.StrEnum):
    """Delivery state of a message."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    FAILED = "failed"
    RECEIVED = "received"
    DELETED = "deleted"


class ForwardMode(enum.StrEnum):
    """``inline`` quotes the original below a note; ``wrapped`` attaches it as message/rfc822."""

    INLINE = "inline"
    WRAPPED = "wrapped"


class ThreadFolder(enum.StrEnum):
    """Thread folders (``blocked`` is assigned by Inkbox only)."""

    INBOX = "inbox"
    SPAM = "spam"
    BLOCKED = "blocked"
    ARCHIVE = "archive"


class MailRuleAction(enum.StrEnum):
    """What a contact rule does."""

    ALLOW = "allow"
    BLOCK = "block"


class MailRuleMatchType(enum.StrEnum):
    """What a contact rule matches."""

    EXACT_EMAIL = "exact_email"
    DOMAIN = "domain"


class ContactRuleStatus(enum.StrEnum):
    """Whether a contact rule applies (rules can no longer be paused: always ``active``)."""

    ACTIVE = "active"
    PAUSED = "paused"


class ContactRuleDirection(enum.StrEnum):
    """Which traffic a contact rule covers (mail and phone rules alike)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    BOTH = "both"


class SendingDomainStatus(enum.StrEnum):
    """Verification state of a custom sending domain (only ``verified`` sends)."""

    NOT_STARTED = "not_started"
    AWAITING_OWNERSHIP = "awaiting_ownership"
    PENDING = "pending"
    DNS_INVALID = "dns_invalid"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    FAILED = "failed"
    PENDING_DKIM_ROTATION = "pending_dkim_rotation"
    DEGRADED = "degraded"
    PENDING_DELETION = "pending_deletion"


@attrs.frozen(kw_only=True)
class FilterModeChangeNotice:
    """Returned when an update actually changed the filter mode."""

    new_filter_mode: FilterMode | str
    redundant_rule_action: str
    redundant_rule_count: int
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Mailbox:
    """A mailbox (every identity owns exactly one)."""

    id: UUID
    email_address: str
    sending_domain: str | None = None
    webhook_url: str | None = None
    filter_mode: FilterMode | str = FilterMode.BLACKLIST
    agent_identity_id: UUID | None = None
    filter_mode_change_notice: FilterModeChangeNotice | None = None
    inbound_filter_mode: FilterMode | str | None = None
    """The filter mode applied to mail received (current wire; None from older servers)."""
    outbound_filter_mode: FilterMode | str | None = None
    """The filter mode applied to mail sent (current wire; None from older servers)."""
    storage_used_bytes: int | None = None
    storage_limit_bytes: int | None = None
    signature_html: str | None = None
    signature_text: str | None = None
    signature_enabled: bool = False
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()

    def __attrs_post_init__(self) -> None:
        if not self.sending_domain and "@" in self.email_address:
            object.__setattr__(self, "sending_domain", self.email_address.rpartition("@")[2])


@attrs.frozen(kw_only=True)
class Message:
    """A message's metadata (lists, send results, thread members, search hits).

    ``first_opened_at`` / ``open_count`` report opens of a message sent with
    ``track_opens=True`` (``first_opened_at`` is the reliable signal; the count
    is approximate, as mail clients prefetch and collapse opens).
    """

    id: UUID
    mailbox_id: UUID
    thread_id: UUID | None = None
    message_id: str | None = None
    from_address: str
    to_addresses: list[str] = attrs.field(factory=list)
    cc_addresses: list[str] | None = None
    subject: str | None = None
    snippet: str | None = None
    direction: MessageDirection | str
    status: MessageStatus | str
    is_read: bool = False
    is_starred: bool = False
    has_attachments: bool = False
    created_at: datetime
    first_opened_at: datetime | None = None
    open_count: int = 0
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class MessageDetail(Message):
    """A message with its bodies and headers."""

    body_text: str | None = None
    body_html: str | None = None
    bcc_addresses: list[str] | None = None
    in_reply_to: str | None = None
    references: list[str] | None = None
    attachment_metadata: list[dict[str, Any]] | None = None
    ses_message_id: str | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Thread:
    """A conversation."""

    id: UUID
    mailbox_id: UUID
    subject: str | None = None
    folder: ThreadFolder | str = ThreadFolder.INBOX
    message_count: int
    last_message_at: datetime
    created_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ThreadDetail(Thread):
    """A conversation with its messages, oldest first."""

    messages: list[Message] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class Domain:
    """A custom sending domain."""

    id: str
    domain: str
    status: SendingDomainStatus | str
    is_default: bool = False
    verified_at: datetime | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class MailContactRule:
    """An allow or block rule on an identity's mail.

    Rules belong to the identity (``agent_identity_id``); ``mailbox_id`` is
    set on rows read through the deprecated per-mailbox calls. ``contact`` is
    the address-book contact the target belongs to, when the API inlines it.
    """

    id: UUID
    agent_identity_id: UUID | None = None
    mailbox_id: UUID | None = None
    action: MailRuleAction | str
    match_type: MailRuleMatchType | str
    match_target: str
    direction: ContactRuleDirection | str = ContactRuleDirection.BOTH
    status: ContactRuleStatus | str = ContactRuleStatus.ACTIVE
    contact: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AttachmentLink:
    """A temporary signed URL for an attachment (``link["url"]`` works too)."""

    url: str
    filename: str | None = None
    expires_in: int | None = None
    extra: dict[str, Any] = extra_field()

    def __getitem__(self, key: str) -> Any:
        if key in ("url", "filename", "expires_in"):
            return getattr(self, key)
        return self.extra[key]
