"""Side effects emitted by store operations and released after their transaction commits.

A :class:`WebhookEvent` carries the exact body to POST (built inside the
transaction, so it shows the message as it was when the event happened); a
:class:`DeliveryDue` asks for an outbound message's delivery outcome to be
applied after the emulator's ``delivery_delay``; a :class:`Later` runs a store
operation after a delay (text and call status transitions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .store import Db

__all__ = ["MAIL_EVENT_TYPES", "DeliveryDue", "Later", "WebhookEvent"]

MAIL_EVENT_TYPES = (
    "message.received",
    "message.sent",
    "message.forwarded",
    "message.delivered",
    "message.bounced",
    "message.failed",
)


@dataclass(frozen=True)
class WebhookEvent:
    """One webhook to deliver: where, what, and the exact body bytes."""

    organization_id: str
    url: str
    event_type: str
    body: bytes
    mailbox_id: str | None = None
    phone_number_id: str | None = None
    subscription_id: str | None = None
    """The webhook subscription delivering it (``None``: the incoming-call webhook)."""
    event_id: str | None = None
    """The envelope's ``evt_…`` id (the same on every replay)."""
    signer_identity_id: str | None = None
    """The identity whose signing key signs the delivery."""
    auth_token: str | None = None
    """Sent as ``Authorization: Bearer …`` when set."""
    is_replay: bool = False


@dataclass(frozen=True)
class DeliveryDue:
    """Apply the planned delivery outcome of an outbound message (after the delay)."""

    message_row_id: str


@dataclass(frozen=True)
class Later:
    """Run ``op`` in its own transaction ``delay`` wall-clock seconds after the commit."""

    delay: float
    op: Callable[[Db], None]
