"""Webhook subscriptions, signed deliveries, the delivery log and replays, end to end."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, cast

import pytest

from inkbox_async import (
    MAIL_EVENT_TYPES,
    TEXT_EVENT_TYPES,
    AsyncAgentIdentity,
    AsyncInkbox,
    ConflictError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    MailWebhookPayload,
    NotFoundError,
    SigningKeyPerIdentityError,
    TextWebhookPayload,
    UnprocessableEntityError,
    verify_webhook,
)
from inkbox_emulator import Emulator, OrgCredentials

CUSTOMER = "+15550001111"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def texting_identity(inkbox: AsyncInkbox, emulator: Emulator) -> AsyncAgentIdentity:
    identity = await inkbox.create_identity(unique("hooks"))
    number = await identity.provision_phone_number()
    assert number is not None
    emulator.mark_sms_ready(str(number.id))
    return identity


def email_of(identity: AsyncAgentIdentity) -> str:
    assert identity.email_address is not None
    return identity.email_address


def number_of(identity: AsyncAgentIdentity) -> str:
    assert identity.phone_number is not None
    return identity.phone_number.number


async def test_identity_subscription_signs_mail_and_text_and_replays(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials, receiver: Any
) -> None:
    identity = await texting_identity(inkbox, emulator)
    assert not (await identity.signing_key_status()).configured
    sub = await identity.subscribe_webhook(receiver.url, auth_token="hook-token")
    key = sub.signing_key
    assert key is not None and key not in repr(sub) and "hook-token" not in repr(sub)
    assert set(sub.event_types) == {*MAIL_EVENT_TYPES, *TEXT_EVENT_TYPES}
    assert sub.owner_identity_id == identity.id and sub.has_auth_token
    status = await identity.signing_key_status()
    assert status.configured and status.created_at is not None
    assert [s.id for s in await identity.list_webhook_subscriptions()] == [sub.id]

    emulator.inject_email(
        to=email_of(identity), from_address="customer@example.com", subject="Hello", body_text="Hi"
    )
    headers, body = receiver.wait("message.received")
    assert verify_webhook(payload=body, headers=headers, secret=key)
    assert headers["Authorization"] == "Bearer hook-token"
    mail = cast(MailWebhookPayload, json.loads(body))
    assert mail["id"].startswith("evt_")
    assert mail["data"]["message"]["subject"] == "Hello"
    assert mail["data"]["contacts"] == [] and mail["data"].get("agent_identities") == []

    emulator.inject_text(to_number=number_of(identity), from_number=CUSTOMER, text="Ping")
    headers, body = receiver.wait("text.received")
    assert verify_webhook(payload=body, headers=headers, secret=key)
    text = cast(TextWebhookPayload, json.loads(body))
    message = text["data"]["text_message"]
    assert message["text"] == "Ping" and message["remote_phone_number"] == CUSTOMER
    assert message.get("sender_phone_number") == CUSTOMER
    assert text["data"].get("recipient_phone_number") == number_of(identity)
    assert text["data"].get("contacts") == []

    emulator.wait_for_webhooks(2, organization_id=org.organization_id)  # logged after the POST
    logged = await inkbox.webhooks.deliveries.list(subscription_id=sub.id, success=True)
    by_type = {d.event_type: d for d in logged}
    assert {"message.received", "text.received"} <= set(by_type)
    original = by_type["message.received"]
    assert original.response_status == 200 and original.replayable and not original.is_replay
    assert original.event_id == mail["id"]
    assert json.loads(original.request_payload) == mail

    # A rotated key signs the replay; the envelope id stays the same.
    rotated = await identity.create_signing_key()
    assert rotated.signing_key != key
    replayed = await inkbox.webhooks.deliveries.replay(original.id)
    assert replayed.is_replay and replayed.event_id == original.event_id
    assert replayed.id != original.id
    headers, body = receiver.wait_count("message.received", 2)[1]
    assert json.loads(body)["id"] == mail["id"]
    assert verify_webhook(payload=body, headers=headers, secret=rotated.signing_key)
    assert not verify_webhook(payload=body, headers=headers, secret=key)
    replays = await inkbox.webhooks.deliveries.list(event_type="message.received")
    assert [d.is_replay for d in replays][:2] == [True, False]


async def test_subscriptions_crud_and_filters(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    identity = await texting_identity(inkbox, emulator)
    subs = inkbox.webhooks.subscriptions
    mail = await subs.create(
        receiver.url,
        ["message.received"],
        agent_identity_id=identity.id,
        context_config={"email": {"mode": "count", "count": 5}},
    )
    assert mail.signing_key is not None
    texts = await subs.create(receiver.url, list(TEXT_EVENT_TYPES), agent_identity_id=identity.id)
    assert texts.signing_key is None  # the identity has its key already
    mixed = await subs.create(
        receiver.url, ["message.sent", "text.sent"], agent_identity_id=identity.id
    )
    assert mail.context_config is not None
    assert mail.context_config["email"] == {"mode": "count", "count": 5}

    # Without scope, subscriptions mixing families stay out (as on the service).
    listed = await subs.list(agent_identity_id=identity.id)
    assert {s.id for s in listed} == {mail.id, texts.id}
    everything = await subs.list(agent_identity_id=identity.id, scope="identity")
    assert {s.id for s in everything} == {mail.id, texts.id, mixed.id}
    assert [s.id for s in await subs.list(event_type="message.received")] == [mail.id]

    got = await subs.get(mail.id)
    assert got.url == receiver.url and got.event_types == ["message.received"]
    changed = await subs.update(
        mail.id, event_types=["message.received", "message.sent"], auth_token="t0k"
    )
    assert changed.event_types == ["message.received", "message.sent"] and changed.has_auth_token
    cleared = await subs.update(mail.id, context_config=None, auth_token=None)
    assert cleared.context_config is None and not cleared.has_auth_token
    assert cleared.event_types == ["message.received", "message.sent"]

    with pytest.raises(ConflictError):
        await subs.delete(mixed.id)
    await subs.update(mixed.id, url=receiver.url + "/mixed", scope="identity")
    await subs.delete(mixed.id, scope="identity")
    other = await inkbox.create_identity(unique("other"))
    with pytest.raises(InvalidArgumentError, match="subscription_id"):
        await other.unsubscribe_webhook(texts.id)  # not its own: nothing deleted
    assert (await subs.get(texts.id)).id == texts.id
    await identity.unsubscribe_webhook(texts.id)
    await subs.delete(mail.id)
    with pytest.raises(NotFoundError):
        await subs.get(mail.id)
    assert await identity.list_webhook_subscriptions() == []


async def test_bad_arguments_fail_before_any_request(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("strict"))
    subs = inkbox.webhooks.subscriptions
    before = len(emulator.requests())
    bad_calls: list[tuple[str, Callable[[], Any]]] = [
        ("agent_identity_id", lambda: subs.create("https://x.example/h", ["message.received"])),
        (
            "agent_identity_id",
            lambda: subs.create(
                "https://x.example/h",
                ["message.received"],
                agent_identity_id=identity.id,
                mailbox_id=identity.id,
            ),
        ),
        (
            "event_types",
            lambda: subs.create("https://x.example/h", [], agent_identity_id=identity.id),
        ),
        (
            "event_types",
            lambda: subs.create(
                "https://x.example/h", ["text.sent", "text.sent"], agent_identity_id=identity.id
            ),
        ),
        (
            "event_types",
            lambda: subs.create(
                "https://x.example/h", ["phone.incoming_call"], agent_identity_id=identity.id
            ),
        ),
        (
            "url",
            lambda: subs.create("ftp://x.example/h", ["text.sent"], agent_identity_id=identity.id),
        ),
        (
            "context_config['email']",
            lambda: subs.create(
                "https://x.example/h",
                ["message.received"],
                agent_identity_id=identity.id,
                context_config={"email": {"mode": "count", "count": 51}},
            ),
        ),
        (
            "mailbox_id / agent_identity_id",
            lambda: subs.list(mailbox_id=identity.id, agent_identity_id=identity.id),
        ),
        ("limit", lambda: inkbox.webhooks.deliveries.list(limit=0)),
        ("delivery_id", lambda: inkbox.webhooks.deliveries.replay("not-a-uuid")),
        ("url", lambda: subs.update(str(uuid.uuid4()), url=None)),  # type: ignore[arg-type]
    ]
    for argument, call in bad_calls:
        with pytest.raises(InvalidArgumentError) as caught:
            await call()
        assert argument in str(caught.value)
    with pytest.raises(InvalidArgumentTypeError):
        await subs.create("https://x.example/h", "message.received", agent_identity_id=identity.id)
    assert len(emulator.requests()) == before


async def test_incoming_call_deliveries_are_logged_not_replayable(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    identity = await texting_identity(inkbox, emulator)
    phone = identity.phone_number
    assert phone is not None
    await identity.create_signing_key()
    await inkbox.phone_numbers.update(
        phone.id, incoming_call_action="webhook", incoming_call_webhook_url=receiver.url
    )
    emulator.inject_call(to_number=phone.number, from_number=CUSTOMER)
    rows = await inkbox.webhooks.deliveries.list(phone_number_id=phone.id)
    assert [r.event_type for r in rows] == ["phone.incoming_call"]
    assert not rows[0].replayable and rows[0].replay_unavailable_reason
    payload = json.loads(rows[0].request_payload)
    assert payload["contacts"] == [] and payload["agent_identities"] == []
    with pytest.raises(UnprocessableEntityError):
        await inkbox.webhooks.deliveries.replay(rows[0].id)


async def test_org_signing_key_is_per_identity_now(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    with (
        pytest.warns(DeprecationWarning, match=r"identity\.create_signing_key\(\)"),
        pytest.raises(SigningKeyPerIdentityError) as caught,
    ):
        await inkbox.create_signing_key()
    # The service retired the route after 2026-08-31; the emulator's clock is past it.
    assert caught.value.status_code == 410 and caught.value.code == "endpoint_sunset"
