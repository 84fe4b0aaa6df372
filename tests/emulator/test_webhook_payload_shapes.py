"""Webhook payloads, old and current shapes, against the SDK's TypedDicts and the emulator.

``webhook_payloads/`` holds the service's 0.4.4-era examples (byte-identical,
pinned by hash); ``webhook_payloads_current/`` holds one delivery per event
type in today's shapes, recorded from the emulator by the scenario below (what
the emulator sends, not the service's own bytes). Both must fit the SDK's
webhook TypedDicts exactly (key by key, type by type: the TypedDicts are
written from the service's documented wire shapes), and every delivery the
emulator makes today must have the same keys as the current fixture of its
event type.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inkbox_async import (
    CALL_EVENT_TYPES,
    MAIL_EVENT_TYPES,
    TEXT_EVENT_TYPES,
    CallEndedWebhookPayload,
    MailWebhookPayload,
    PhoneIncomingCallWebhookPayload,
    TextWebhookPayload,
    verify_webhook,
)
from inkbox_emulator import Emulator
from inkbox_emulator.webhooks.context import CONTEXT_CAP_BYTES, _cap
from inkbox_sync import Inkbox

from .conftest import HookServer, wait_until
from .webhook_shapes import key_tree, shape_errors

FIXTURES = Path(__file__).parent.parent / "fixtures"
OLD = FIXTURES / "webhook_payloads"
CURRENT = FIXTURES / "webhook_payloads_current"

OLD_HASHES = {
    "message_bounced.json": "463f97446ae999dcd9a670dd468cfcb02e89a3e3afe5b08b4ac0564a8d29d7fa",
    "message_delivered.json": "097e27cce9af7dc408d5a4ecb3d39fe8021c9937c38dcbef6b1eff6d42dc5b6b",
    "message_failed.json": "f915af265c78cf26e58d81aff5156d4f838f6e1fc1c9c1eccd45a1c6a6c46795",
    "message_forwarded.json": "a80893aff02c468525d2a0bd5825cea8a447952def9a7aa19be0d8c810312499",
    "message_received.json": "40473a33a759fbf297d625837a090df3991a8291720008f8d5c23d79407c9dc8",
    "message_sent.json": "c1a693a666f3de02236651f878857d13b7a63e37cb93c35c68a63161c3a917fa",
    "phone_incoming_call.json": "a355de508b6cb51d9a67228acae0ae2a0712d36507e77db01be4274f31f50272",
    "text_delivered.json": "5f9ced3733adf62886a8d6f5ce19e3f58a6dcbf9ca0dd6f9f727396948603e12",
    "text_delivery_failed.json": "877a9f25448e667d001ce39c7febf66d5444e30f98b857b3f748323903ba68d2",
    "text_delivery_unconfirmed.json": (
        "333d7701eceae4d0115c7d0730b67edc29a82c8049cc3cf093ee9a2520a7b059"
    ),
    "text_received.json": "04496d8be996e2090e86685ad0249223744ab57471dc23f435d388db69af3356",
    "text_sent.json": "8a274871b1e269214a15d26e0e841dba08310a15258ff837de9fad4b0d04f6f3",
}
SUBSCRIBED = [*MAIL_EVENT_TYPES, *TEXT_EVENT_TYPES, *CALL_EVENT_TYPES]
ALL_EVENTS = [*SUBSCRIBED, "phone.incoming_call"]
JANE = "+14155550999"
CONTEXT_CONFIG = {
    "email": {"mode": "count", "count": 5},
    "texts": {"mode": "window", "hours": 24},
    "calls": {"mode": "count", "count": 3},
}


def payload_type(event_type: str) -> Any:
    if event_type.startswith("message."):
        return MailWebhookPayload
    if event_type.startswith("text."):
        return TextWebhookPayload
    return (
        CallEndedWebhookPayload if event_type == "call.ended" else PhoneIncomingCallWebhookPayload
    )


def fixture_name(event_type: str) -> str:
    return event_type.replace(".", "_") + ".json"


# -- the fixtures ------------------------------------------------------------------------


def test_old_fixtures_are_unchanged() -> None:
    found = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in OLD.glob("*.json")}
    assert found == OLD_HASHES


@pytest.mark.parametrize("name", sorted(OLD_HASHES))
def test_old_fixture_fits_the_types(name: str) -> None:
    event_type = name.removesuffix(".json").replace("_", ".", 1)
    payload = json.loads((OLD / name).read_text())
    assert shape_errors(payload, payload_type(event_type)) == []


@pytest.mark.parametrize("event_type", ALL_EVENTS)
def test_current_fixture_fits_the_types(event_type: str) -> None:
    payload = json.loads((CURRENT / fixture_name(event_type)).read_text())
    assert shape_errors(payload, payload_type(event_type)) == []
    parties = payload if event_type == "phone.incoming_call" else payload["data"]
    assert "contact" not in parties
    assert isinstance(parties["contacts"], list) and isinstance(parties["agent_identities"], list)
    if event_type != "phone.incoming_call":
        assert payload["id"].startswith("evt_")
    if event_type.endswith(".received"):
        assert set(payload["data"]["context"]) == {"email", "texts", "calls"}


@pytest.mark.parametrize(
    ("mutate", "complaint"),
    [
        (lambda p: p["data"]["message"].pop("subject"), "$.data.message.subject: missing"),
        (lambda p: p["data"].update(surprise=1), "$.data.surprise: not declared"),
        (lambda p: p["data"]["message"].update(direction="sideways"), "'sideways' not in"),
        (lambda p: p["data"]["context"]["email"].update(items={}), "expected a list"),
    ],
)
def test_the_shape_check_can_fail(mutate: Any, complaint: str) -> None:
    payload = json.loads((CURRENT / "message_received.json").read_text())
    mutate(payload)
    errors = shape_errors(payload, MailWebhookPayload)
    assert errors and any(complaint in e for e in errors), errors


def test_context_cap_drops_the_oldest_items_of_the_largest_block() -> None:
    item = {"id": "x", "text": "y" * 1000}
    context = {
        "texts": {"scope": "conversation", "items": [dict(item, id=str(i)) for i in range(400)]},
        "email": {"scope": "thread", "items": [item], "truncated": False},
    }
    context["texts"]["truncated"] = False
    capped = _cap(context)
    assert len(json.dumps(capped, separators=(",", ":"))) <= CONTEXT_CAP_BYTES
    assert capped["texts"]["truncated"] and capped["texts"]["items"][-1]["id"] == "399"
    assert capped["email"] == {"scope": "thread", "items": [item], "truncated": False}


# -- today's deliveries -------------------------------------------------------------------


class World:
    def __init__(self, emu: Emulator, hooks: HookServer, key: str) -> None:
        self.emu, self.hooks, self.key = emu, hooks, key

    def deliveries(self, event_type: str) -> list[tuple[dict[str, str], dict[str, Any], bytes]]:
        found = []
        for headers, body in list(self.hooks.received):
            payload = json.loads(body)
            if payload.get("event_type", "phone.incoming_call") == event_type:
                found.append((headers, payload, body))
        return found


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The recording scenario: every event type, with history for the contexts."""
    emu = Emulator(call_status_delay=0.5).start()
    hooks = HookServer()
    org = emu.create_org("Shapes")
    ink = Inkbox(api_key=org.api_key, base_url=emu.base_url)
    try:
        me = ink.create_identity(f"shapes-{time.time_ns()}", display_name="Support Bot")
        other = ink.create_identity(f"other-{time.time_ns()}", display_name="Billing Bot")
        for identity in (me, other):
            number = identity.provision_phone_number()
            assert number is not None
            emu.mark_sms_ready(str(number.id))
        me, other = ink.get_identity(me.agent_handle), ink.get_identity(other.agent_handle)
        assert me.phone_number is not None and other.phone_number is not None
        assert me.email_address is not None and other.email_address is not None
        emu.add_contact(org.organization_id, "Jane Doe", emails=["jane@example.com"], phones=[JANE])
        sub = me.subscribe_webhook(hooks.url, events=SUBSCRIBED, context_config=CONTEXT_CONFIG)
        assert sub.signing_key is not None
        ink.phone_numbers.update(
            me.phone_number.id, incoming_call_action="webhook", incoming_call_webhook_url=hooks.url
        )
        world = World(emu, hooks, sub.signing_key)

        call = me.place_call(to_number=JANE)
        time.sleep(0.7)
        emu.append_transcript(str(call.id), "local", "Hi Jane, about order 1234.")
        emu.append_transcript(str(call.id), "remote", "Thanks for calling back.")
        wait_until(lambda: bool(world.deliveries("call.ended")), timeout=10)
        for n in (JANE, "+14155550101", "+14155550102"):
            emu.inject_text(to_number=me.phone_number.number, from_number=n, text="START")
        me.send_text(to=JANE, text="Your order 1234 has shipped.")
        emu.set_text_outcome("+14155550101", "delivery_failed")
        me.send_text(to="+14155550101", text="Reminder")
        emu.set_text_outcome("+14155550102", "delivery_unconfirmed")
        me.send_text(to="+14155550102", text="Reminder")
        emu.inject_email(
            to=me.email_address,
            from_address="jane@example.com",
            subject="Order 1234",
            body_text="Hi",
        )
        wait_until(lambda: bool(world.deliveries("message.received")), timeout=10)
        first = world.deliveries("message.received")[0][1]["data"]["message"]
        emu.set_delivery_outcome("bounce@example.net", "bounced")
        emu.set_delivery_outcome("fail@example.org", "failed")
        me.send_email(
            to=["jane@example.com"],
            cc=[other.email_address],
            subject="Re: Order 1234",
            body_text="It shipped today.",
            in_reply_to_message_id=first["id"],
        )
        me.send_email(to=["bounce@example.net"], subject="Hello", body_text="Hi")
        me.send_email(to=["fail@example.org"], subject="Hello", body_text="Hi")
        me.forward_email(first["id"], to=["billing@example.com"])
        emu.inject_email(
            to=me.email_address,
            from_address="jane@example.com",
            cc=[other.email_address],
            subject="Re: Order 1234",
            body_text="When will it arrive?",
            in_reply_to=first["message_id"],
        )
        emu.inject_text(to_number=me.phone_number.number, from_number=JANE, text="When?")
        emu.inject_call(me.phone_number.number, other.phone_number.number)
        wait_until(lambda: all(world.deliveries(e) for e in ALL_EVENTS), timeout=10)
        yield world
    finally:
        ink.close()
        hooks.close()
        emu.close()


def _about_jane(payload: dict[str, Any]) -> bool:
    data = payload["data"]
    if "text_message" in data:
        return bool(data["recipient_phone_number"] == JANE)
    return "jane@example.com" in data["message"]["to_addresses"]


def _latest(world: World, event_type: str) -> tuple[dict[str, str], dict[str, Any], bytes]:
    """The delivery the fixture was recorded from (deliveries may arrive in any order)."""
    found = world.deliveries(event_type)
    if event_type in ("message.sent", "message.delivered", "text.sent", "text.delivered"):
        found = [d for d in found if _about_jane(d[1])]
    return found[-1] if event_type.endswith(".received") else found[0]


@pytest.mark.parametrize("event_type", ALL_EVENTS)
def test_delivery_matches_the_current_fixture(world: World, event_type: str) -> None:
    headers, payload, body = _latest(world, event_type)
    assert shape_errors(payload, payload_type(event_type)) == []
    fixture = json.loads((CURRENT / fixture_name(event_type)).read_text())
    assert key_tree(payload) == key_tree(fixture)
    assert verify_webhook(payload=body, headers=headers, secret=world.key)


def test_context_only_on_received_events(world: World) -> None:
    for event_type in SUBSCRIBED:
        for _, payload, _ in world.deliveries(event_type):
            assert ("context" in payload["data"]) == event_type.endswith(".received")


def test_mail_context_is_the_thread_oldest_first(world: World) -> None:
    _, payload, _ = _latest(world, "message.received")
    email = payload["data"]["context"]["email"]
    assert email["scope"] == "thread" and email["mode"] == "count" and email["requested"] == 5
    assert [i["snippet"] for i in email["items"]] == ["Hi", "It shipped today."]
    calls = payload["data"]["context"]["calls"]
    assert calls["scope"] == "contact"
    (call,) = calls["items"]
    assert [t["party"] for t in call["transcript"]] == ["local", "remote"]
    assert payload["data"]["message"]["body"] == "When will it arrive?"
    assert payload["data"]["message"]["body_state"] == "complete"


def test_text_context_is_the_conversation(world: World) -> None:
    _, payload, _ = _latest(world, "text.received")
    texts = payload["data"]["context"]["texts"]
    assert texts["scope"] == "conversation" and texts["hours"] == 24
    assert [i["text"] for i in texts["items"]] == ["START", "Your order 1234 has shipped."]
    assert payload["data"]["text_message"]["id"] not in {i["id"] for i in texts["items"]}
    email = payload["data"]["context"]["email"]
    assert email["scope"] == "contact" and len(email["items"]) == 3


def test_call_ended_carries_the_transcript(world: World) -> None:
    _, payload, _ = _latest(world, "call.ended")
    data = payload["data"]
    assert data["call"]["status"] == "completed" and data["call"]["direction"] == "outbound"
    assert [c["name"] for c in data["contacts"]] == ["Jane Doe"]
    assert data["transcript"]["url"] == data["transcript_url"]
    assert data["transcript_url"].startswith(world.emu.base_url + "/api/v1/phone/calls/")
    assert [e["text"] for e in data["transcript"]["entries"]] == [
        "Hi Jane, about order 1234.",
        "Thanks for calling back.",
    ]
