"""Side effects emitted by store operations and released after their transaction commits.

A :class:`WebhookEvent` carries the exact body to POST (built inside the
transaction, so it shows the message as it was when the event happened); a
:class:`DeliveryDue` asks for an outbound message's delivery outcome to be
applied after the emulator's ``delivery_delay``; a :class:`Later` runs a store
operation after a delay (text and call status transitions).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._contacts import match_contacts
from ._mail_model import webhook_message
from ._store import Db
from ._times import iso

__all__ = ["MAIL_EVENT_TYPES", "DeliveryDue", "Later", "WebhookEvent", "emit_mail_event"]

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


@dataclass(frozen=True)
class DeliveryDue:
    """Apply the planned delivery outcome of an outbound message (after the delay)."""

    message_row_id: str


@dataclass(frozen=True)
class Later:
    """Run ``op`` in its own transaction ``delay`` wall-clock seconds after the commit."""

    delay: float
    op: Callable[[Db], None]


def emit_mail_event(db: Db, mailbox: Any, message: Any, event_type: str) -> None:
    """Queue a mail webhook for ``message`` when its mailbox has a ``webhook_url``."""
    url = mailbox["webhook_url"]
    if not url:
        return
    envelope = {
        "event_type": event_type,
        "timestamp": iso(db.now),
        "data": {
            "message": webhook_message(message),
            "contacts": match_contacts(db, mailbox["organization_id"], message),
        },
    }
    body = json.dumps(envelope, separators=(",", ":")).encode()
    db.emit(
        WebhookEvent(
            organization_id=str(mailbox["organization_id"]),
            mailbox_id=str(mailbox["id"]),
            url=str(url),
            event_type=event_type,
            body=body,
        )
    )
