"""The 0.4.4 webhook URLs of mailboxes and numbers, mapped onto webhook subscriptions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from inkbox_async import (
    MAIL_EVENT_TYPES,
    TEXT_EVENT_TYPES,
    AsyncAgentIdentity,
    AsyncInkbox,
    verify_webhook,
)
from inkbox_emulator import Emulator

CUSTOMER = "+15550001111"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def email_of(identity: AsyncAgentIdentity) -> str:
    assert identity.email_address is not None
    return identity.email_address


async def texting_identity(inkbox: AsyncInkbox, emulator: Emulator) -> AsyncAgentIdentity:
    identity = await inkbox.create_identity(unique("seedhooks"))
    number = await identity.provision_phone_number()
    assert number is not None
    emulator.mark_sms_ready(str(number.id))
    return identity


async def test_seed_mailbox_webhook_url_becomes_a_subscription(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    identity = await inkbox.create_identity(unique("seed"))
    key = (await identity.create_signing_key()).signing_key
    before = len(emulator.requests())
    with pytest.warns(DeprecationWarning, match=r"identity\.subscribe_webhook") as warned:
        mailbox = await inkbox.mailboxes.update(email_of(identity), webhook_url=receiver.url)
    assert warned[0].filename == __file__
    assert mailbox.email_address == email_of(identity)
    (sub,) = await identity.list_webhook_subscriptions()
    assert sub.url == receiver.url and set(sub.event_types) == set(MAIL_EVENT_TYPES)
    assert all(b"webhook_url" not in r.body for r in emulator.requests()[before:])

    emulator.inject_email(to=email_of(identity), from_address="a@example.com", subject="Seed")
    headers, body = receiver.wait("message.received")
    assert verify_webhook(payload=body, headers=headers, secret=key)

    # Setting it again moves the same subscription; None removes it.
    with pytest.warns(DeprecationWarning):
        await inkbox.mailboxes.update(email_of(identity), webhook_url=receiver.url + "/v2")
    assert [s.url for s in await identity.list_webhook_subscriptions()] == [receiver.url + "/v2"]
    with pytest.warns(DeprecationWarning):
        await inkbox.mailboxes.update(email_of(identity), webhook_url=None, filter_mode="whitelist")
    assert await identity.list_webhook_subscriptions() == []
    assert (await inkbox.mailboxes.get(email_of(identity))).filter_mode == "whitelist"


async def test_seed_incoming_text_webhook_url_becomes_a_subscription(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    identity = await texting_identity(inkbox, emulator)
    phone = identity.phone_number
    assert phone is not None
    with pytest.warns(DeprecationWarning, match="incoming_text_webhook_url"):
        await inkbox.phone_numbers.update(phone.id, incoming_text_webhook_url=receiver.url)
    (sub,) = await identity.list_webhook_subscriptions()
    assert set(sub.event_types) == set(TEXT_EVENT_TYPES)
    key = (await identity.create_signing_key()).signing_key
    emulator.inject_text(to_number=phone.number, from_number=CUSTOMER, text="Seed text")
    headers, body = receiver.wait("text.received")
    assert verify_webhook(payload=body, headers=headers, secret=key)
    with pytest.warns(DeprecationWarning):
        await inkbox.phone_numbers.update(phone.id, incoming_text_webhook_url=None)
    assert await identity.list_webhook_subscriptions() == []

    with pytest.warns(DeprecationWarning, match="incoming_text_webhook_url"):
        created = await inkbox.create_identity(
            unique("seedphone"), phone_number={"incoming_text_webhook_url": receiver.url}
        )
    (sub,) = await created.list_webhook_subscriptions()
    assert sub.url == receiver.url and set(sub.event_types) == set(TEXT_EVENT_TYPES)
