"""The official 0.7.20 client and ours send the same requests for webhook subscriptions,
webhook deliveries and per-identity signing keys (the current wire)."""

from __future__ import annotations

from typing import Any

from inkbox_emulator import Emulator

from .harness import CURRENT, run


def test_subscriptions_crud(emu: Emulator, portal: Any, receiver: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-hooks")
        created = client.webhooks.subscriptions.create(
            url=receiver.url,
            event_types=["message.received", "message.sent"],
            agent_identity_id=identity.id,
            auth_token="t0ken",
        )
        assert created.signing_key  # the identity's first key comes with its first subscription
        sub_id = created.id
        listed = client.webhooks.subscriptions.list(agent_identity_id=identity.id)
        assert [s.id for s in listed] == [sub_id]
        client.webhooks.subscriptions.list(event_type="message.received", url=receiver.url)
        assert client.webhooks.subscriptions.get(sub_id).url == receiver.url
        client.webhooks.subscriptions.update(sub_id, event_types=["message.received"])
        client.webhooks.subscriptions.update(sub_id, auth_token=None)
        client.webhooks.subscriptions.update(sub_id, url=receiver.url + "/v2", context_config=None)
        client.webhooks.subscriptions.create(
            url=receiver.url, event_types=["message.failed"], mailbox_id=identity.mailbox.id
        )
        client.webhooks.subscriptions.delete(sub_id)
        assert sub_id not in {s.id for s in client.webhooks.subscriptions.list()}

    run(emu, portal, scenario, official=CURRENT)


def test_deliveries_list_and_replay(emu: Emulator, portal: Any, receiver: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-deliveries")
        sub = client.webhooks.subscriptions.create(
            url=receiver.url, event_types=["message.received"], agent_identity_id=identity.id
        )
        emu.inject_email(
            to=identity.email_address, from_address="c@example.com", subject="s", body_text="b"
        )
        emu.wait_for_webhooks(1, event_type="message.received", organization_id=org.organization_id)
        deliveries = client.webhooks.deliveries.list(subscription_id=sub.id)
        assert len(deliveries) == 1 and deliveries[0].replayable
        client.webhooks.deliveries.list(event_type="message.received", success=True, limit=10)
        replayed = client.webhooks.deliveries.replay(deliveries[0].id)
        assert replayed.is_replay and replayed.event_id == deliveries[0].event_id

    run(emu, portal, scenario, official=CURRENT)


def test_identity_signing_key(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-signing")
        assert not identity.get_signing_key_status().configured
        assert identity.create_signing_key().signing_key
        assert identity.get_signing_key_status().configured

    run(emu, portal, scenario, official=CURRENT)
