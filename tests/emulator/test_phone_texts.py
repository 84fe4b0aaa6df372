"""Texts: the SMS rules of phone.md §6, delivery lifecycle webhooks, inbound, reads."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from inkbox import verify_webhook  # type: ignore[import-untyped]

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_emulator.webhooks.signing import signature

from .conftest import HookServer, as_key, scoped_key, wait_until
from .phone_support import (
    TEXT_KEYS,
    P,
    fixture,
    new_number,
    opted_in,
    ready_number,
    remote,
    send,
    wait_status,
)

# Text-message fields of the current wire beyond the 0.4.4 fixtures.
NEW = {"conversation_id", "recipients", "sender_phone_number"}


def detail(response: httpx2.Response) -> dict[str, Any]:
    value: dict[str, Any] = response.json()["detail"]
    return value


def test_sender_rules(emu: Emulator, admin: httpx2.Client) -> None:
    local = new_number(admin, "local")
    who = opted_in(emu, local)
    pending = send(admin, local["id"], who)
    assert pending.status_code == 409
    assert detail(pending)["error"] == "sender_sms_pending"
    emu.advance_clock(1.01)  # sms_ready_delay=1.0 s of the emulator clock
    assert admin.get(f"{P}/numbers/{local['id']}").json()["sms_status"] == "ready"
    assert send(admin, local["id"], who).status_code == 200
    other = new_number(admin, "local")
    assert emu.mark_sms_ready(other["id"])["sms_status"] == "ready"


def test_recipient_opt_in_and_opt_out(emu: Emulator, admin: httpx2.Client) -> None:
    number = ready_number(emu, admin)
    sibling = ready_number(emu, admin)
    stranger = remote()
    response = send(admin, number["id"], stranger)
    assert response.status_code == 403
    assert detail(response)["error"] == "recipient_not_opted_in"
    # START to any number of the org counts
    emu.inject_text(sibling["number"], stranger, "  start ")
    assert send(admin, number["id"], stranger).status_code == 200
    emu.inject_text(number["number"], stranger, "STOP")
    stopped = send(admin, number["id"], stranger)
    assert stopped.status_code == 403
    assert detail(stopped)["error"] == "recipient_opted_out"
    emu.inject_text(number["number"], stranger, "Start")
    assert send(admin, number["id"], stranger).status_code == 200
    # opt-ins are per organisation
    other_org = emu.create_org()
    with httpx2.Client(
        base_url=emu.base_url, headers={"X-API-Key": other_org.api_key}, timeout=10
    ) as other:
        theirs = ready_number(emu, other)
        assert detail(send(other, theirs["id"], stranger))["error"] == "recipient_not_opted_in"


def test_rolling_daily_limit(emu: Emulator, admin: httpx2.Client) -> None:
    number = ready_number(emu, admin)
    who = opted_in(emu, number)
    for i in range(15):
        assert send(admin, number["id"], who, f"n{i}").status_code == 200
    limited = send(admin, number["id"], who)
    assert limited.status_code == 429
    assert detail(limited)["error"] == "sender_rate_limited"
    assert detail(limited)["limit"] == 15
    assert int(limited.headers["Retry-After"]) > 24 * 3600 - 60
    # another sender of the org is not limited
    other = ready_number(emu, admin)
    assert send(admin, other["id"], who).status_code == 200
    emu.advance_clock(12 * 3600)
    assert send(admin, number["id"], who).status_code == 429
    emu.advance_clock(12 * 3600 + 1)
    assert send(admin, number["id"], who).status_code == 200
    assert len([t for t in emu.sent_texts() if t["phone_number_id"] == number["id"]]) == 16


def test_blocked_recipient(emu: Emulator, admin: httpx2.Client) -> None:
    number = ready_number(emu, admin)
    who = opted_in(emu, number)
    rules = f"/api/v1/identities/{number['handle']}/phone-contact-rules"
    rule = admin.post(rules, json={"action": "block", "match_target": who}).json()
    response = send(admin, number["id"], who)
    assert response.status_code == 403
    assert detail(response) == {
        "error": "recipient_blocked",
        "matched_rule_id": rule["id"],
        "address": who,
        "reason": "outbound block rule matched",
    }
    admin.delete(f"{rules}/{rule['id']}")
    admin.patch(f"{P}/numbers/{number['id']}", json={"filter_mode": "whitelist"})
    whitelisted = send(admin, number["id"], who)
    assert whitelisted.status_code == 403
    assert detail(whitelisted)["matched_rule_id"] is None
    assert detail(whitelisted)["reason"] == "filter_mode=whitelist with no allow rule"
    admin.post(rules, json={"action": "allow", "match_target": who})
    assert send(admin, number["id"], who).status_code == 200


def test_body_validation(emu: Emulator, admin: httpx2.Client) -> None:
    number = ready_number(emu, admin)
    who = opted_in(emu, number)
    url = f"{P}/numbers/{number['id']}/texts"
    for body in (
        {"to": who},
        {"text": "hi"},
        {"to": who, "text": ""},
        {"to": who, "text": "   \n"},
        {"to": who, "text": "x" * 1601},
        {"to": "5551234", "text": "hi"},
        {"to": who, "text": 5},
    ):
        response = admin.post(url, json=body)
        assert response.status_code == 422, body
        assert isinstance(response.json()["detail"], list)
    assert admin.post(url, json={"to": who, "text": "x" * 1600}).status_code == 200


@pytest.mark.parametrize(
    ("outcome", "events"),
    [
        ("delivered", ["text.sent", "text.delivered"]),
        ("delivery_failed", ["text.sent", "text.delivery_failed"]),
        ("delivery_unconfirmed", ["text.sent", "text.delivery_unconfirmed"]),
    ],
)
def test_lifecycle_webhooks(
    emu: Emulator,
    admin: httpx2.Client,
    org: OrgCredentials,
    hooks: HookServer,
    fixtures_dir: Path,
    outcome: str,
    events: list[str],
) -> None:
    number = ready_number(emu, admin, incoming_text_webhook_url=hooks.url)
    secret = number["signing_key"]
    who = opted_in(emu, number)
    emu.set_text_outcome(who, outcome)
    contact = emu.add_contact(org.organization_id, "Jane Doe", phones=[who])
    emu.wait_for_webhooks(1, event_type="text.received", organization_id=org.organization_id)
    queued = send(admin, number["id"], who, "Thanks for reaching out!").json()
    assert set(queued) == TEXT_KEYS
    assert queued["delivery_status"] == "queued"
    assert queued["direction"] == "outbound"
    assert queued["origin"] == "user_initiated"
    assert queued["sent_at"] is queued["delivered_at"] is queued["failed_at"] is None
    final = wait_status(
        admin, f"{P}/numbers/{number['id']}/texts/{queued['id']}", outcome, "delivery_status"
    )
    wait_until(lambda: len(hooks.received) >= 3)
    time.sleep(0.1)
    assert len(hooks.received) == 3  # received (START), sent, outcome
    payloads = [json.loads(body) for _, body in hooks.received]
    assert [p["event_type"] for p in payloads] == ["text.received", *events]
    for headers, body in hooks.received:
        assert verify_webhook(payload=body, headers=headers, secret=secret)
        low = {k.lower(): v for k, v in headers.items()}
        expected = signature(secret, low["x-inkbox-request-id"], low["x-inkbox-timestamp"], body)
        assert low["x-inkbox-signature"] == expected
    for payload in payloads[1:]:
        sample = fixture(fixtures_dir, payload["event_type"].replace(".", "_") + ".json")
        assert set(payload) == set(sample) | {"id"}  # the current envelope adds its id
        assert set(sample["data"]) - {"contact"} <= set(payload["data"])
        assert set(payload["data"]["text_message"]) == set(sample["data"]["text_message"]) | NEW
        assert "is_blocked" not in payload["data"]["text_message"]
        assert [(c["id"], c["name"]) for c in payload["data"]["contacts"]] == [
            (contact["id"], "Jane Doe")
        ]
        message = payload["data"]["text_message"]
        assert message["id"] == queued["id"]
        assert message["local_phone_number"] == number["number"]
        assert message["remote_phone_number"] == who
        for key in ("sent_at", "delivered_at", "failed_at", "error_code", "error_detail"):
            assert (message[key] is None) == (sample["data"]["text_message"][key] is None), key
    sent_event = payloads[1]["data"]["text_message"]
    assert sent_event["delivery_status"] == "sent"
    last = payloads[2]["data"]["text_message"]
    assert last["delivery_status"] == outcome
    assert {k: v for k, v in final.items() if k != "is_blocked"} == last
    if outcome == "delivery_failed":
        assert (last["error_code"], last["error_detail"]) == (
            "30007",
            "Message filtered by carrier",
        )
    outside = [t for t in emu.sent_texts(org.organization_id) if t["id"] == queued["id"]]
    assert outside[0]["to_number"] == who
    assert outside[0]["delivery_status"] == outcome
    assert outside[0]["text"] == "Thanks for reaching out!"


def test_custom_failure_code(emu: Emulator, admin: httpx2.Client) -> None:
    number = ready_number(emu, admin)
    who = opted_in(emu, number)
    emu.set_text_outcome(who, "delivery_failed", error_code="30003", error_detail="Unreachable")
    text = send(admin, number["id"], who).json()
    path = f"{P}/numbers/{number['id']}/texts/{text['id']}"
    failed = wait_status(admin, path, "delivery_failed", "delivery_status")
    assert (failed["error_code"], failed["error_detail"]) == ("30003", "Unreachable")
    assert failed["sent_at"] is not None and failed["failed_at"] is not None
    emu.set_text_outcome(who, "delivered")
    again = send(admin, number["id"], who).json()
    path = f"{P}/numbers/{number['id']}/texts/{again['id']}"
    assert wait_status(admin, path, "delivered", "delivery_status")["error_code"] is None


def test_inbound_text_webhook_and_mms(
    emu: Emulator,
    admin: httpx2.Client,
    org: OrgCredentials,
    hooks: HookServer,
    fixtures_dir: Path,
) -> None:
    number = new_number(admin, "local", incoming_text_webhook_url=hooks.url)
    secret = number["signing_key"]
    who = remote()
    stored = emu.inject_text(number["number"], who, "Hi, is anyone there?")
    assert set(stored) == TEXT_KEYS
    assert stored["direction"] == "inbound"
    assert stored["delivery_status"] is None
    assert stored["is_read"] is False
    jpeg = b"\xff\xd8\xff" + b"x" * 100
    control = httpx2.post(
        f"{emu.base_url}/_emulator/phone/texts/inbound",
        json={
            "to_number": number["number"],
            "from_number": who,
            "media": [
                {"content_type": "image/jpeg", "content_base64": base64.b64encode(jpeg).decode()}
            ],
        },
    )
    assert control.status_code == 201, control.text
    mms = control.json()
    assert mms["type"] == "mms"
    assert mms["text"] is None
    assert [(m["content_type"], m["size"]) for m in mms["media"]] == [("image/jpeg", 103)]
    assert httpx2.get(mms["media"][0]["url"]).content == jpeg
    tampered = mms["media"][0]["url"].replace("signature=", "signature=0")
    assert httpx2.get(tampered).status_code == 403
    deliveries = emu.wait_for_webhooks(
        2, event_type="text.received", organization_id=org.organization_id
    )
    sample = fixture(fixtures_dir, "text_received.json")
    for delivery in deliveries:
        body = delivery["body"]
        assert verify_webhook(payload=body, headers=delivery["headers"], secret=secret)
        payload = json.loads(body)
        assert set(payload["data"]["text_message"]) == set(sample["data"]["text_message"]) | NEW
        assert payload["data"]["contacts"] == []
        assert delivery["phone_number_id"] == number["id"]
    assert json.loads(deliveries[1]["body"])["data"]["text_message"]["media"][0]["size"] == 103
    listed = admin.get(f"{P}/numbers/{number['id']}/texts").json()
    assert [t["id"] for t in listed] == [mms["id"], stored["id"]]
    for bad in (
        {"to_number": number["number"], "from_number": who},
        {"to_number": number["number"], "from_number": "555", "text": "x"},
        {
            "to_number": number["number"],
            "from_number": who,
            "media": [{"content_type": "image/png", "content_base64": "%%%"}],
        },
    ):
        assert (
            httpx2.post(f"{emu.base_url}/_emulator/phone/texts/inbound", json=bad).status_code
            == 422
        )
    missing = {"to_number": "+19999999999", "from_number": who, "text": "x"}
    assert (
        httpx2.post(f"{emu.base_url}/_emulator/phone/texts/inbound", json=missing).status_code
        == 404
    )


def test_blocked_inbound_is_hidden_from_agents(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials, hooks: HookServer
) -> None:
    number = new_number(admin, "local", incoming_text_webhook_url=hooks.url)
    spammer, friend = remote(), remote()
    admin.post(
        f"/api/v1/identities/{number['handle']}/phone-contact-rules",
        json={"action": "block", "match_target": spammer},
    )
    blocked = emu.inject_text(number["number"], spammer, "buy now")
    ok = emu.inject_text(number["number"], friend, "hello")
    assert blocked["is_blocked"] is True and ok["is_blocked"] is False
    emu.wait_for_webhooks(1, event_type="text.received", organization_id=org.organization_id)
    time.sleep(0.1)
    assert len(hooks.received) == 1
    base = f"{P}/numbers/{number['id']}/texts"
    assert len(admin.get(base).json()) == 2
    assert [t["id"] for t in admin.get(base, params={"is_blocked": "true"}).json()] == [
        blocked["id"]
    ]
    assert [t["id"] for t in admin.get(base, params={"is_blocked": False}).json()] == [ok["id"]]
    scoped = as_key(admin, scoped_key(admin, number["agent_identity_id"]))
    assert [t["id"] for t in admin.get(base, params={"is_blocked": True}, **scoped).json()] == [
        ok["id"]
    ]
    assert admin.get(f"{base}/{blocked['id']}", **scoped).status_code == 404
    convs = admin.get(f"{base}/conversations", params={"is_blocked": False}).json()
    assert [c["remote_phone_number"] for c in convs] == [friend]
    assert admin.get(f"{base}/search", params={"q": "buy"}, **scoped).json() == []
    assert len(admin.get(f"{base}/search", params={"q": "buy"}).json()) == 1


def test_reads_flags_conversations_and_search(emu: Emulator, admin: httpx2.Client) -> None:
    number = ready_number(emu, admin)
    alice, bob = remote(), remote()
    emu.inject_text(number["number"], alice, "START")
    first = emu.inject_text(number["number"], alice, "Where is my Order?")
    out = send(admin, number["id"], alice, "Your order shipped").json()
    bob_text = emu.inject_text(number["number"], bob, "hello there")
    base = f"{P}/numbers/{number['id']}/texts"

    assert admin.get(f"{base}/{first['id']}").json() == first
    assert admin.get(f"{base}/{out['id']}").json()["direction"] == "outbound"
    assert admin.get(f"{base}/00000000-0000-0000-0000-000000000000").status_code == 404
    assert admin.get(f"{base}/nope").status_code == 422

    unread = admin.get(base, params={"is_read": "false"}).json()
    assert {t["id"] for t in unread} >= {first["id"], bob_text["id"]}
    marked = admin.patch(f"{base}/{first['id']}", json={"is_read": True}).json()
    assert marked["is_read"] is True
    assert first["id"] not in [t["id"] for t in admin.get(base, params={"is_read": False}).json()]
    assert admin.patch(f"{base}/{first['id']}", json={}).json()["is_read"] is True
    assert admin.patch(f"{base}/{first['id']}", json={"is_read": "yes"}).status_code == 422
    assert admin.patch(f"{base}/{first['id']}", json={"status": "archived"}).status_code == 422

    convs = admin.get(f"{base}/conversations").json()
    assert [c["remote_phone_number"] for c in convs] == [bob, alice]
    assert set(convs[0]) == {
        "id",
        "participants",
        "is_group",
        "latest_has_media",
        "remote_phone_number",
        "latest_text",
        "latest_direction",
        "latest_type",
        "latest_message_at",
        "unread_count",
        "total_count",
    }
    alice_conv = convs[1]
    assert alice_conv["latest_text"] == "Your order shipped"
    assert alice_conv["latest_direction"] == "outbound"
    assert alice_conv["latest_type"] == "sms"
    assert alice_conv["total_count"] == 3
    assert alice_conv["unread_count"] == 1  # START is still unread
    assert len(admin.get(f"{base}/conversations", params={"limit": 1, "offset": 1}).json()) == 1

    thread = admin.get(f"{base}/conversations/{alice}").json()
    assert [t["id"] for t in thread][:2] == [out["id"], first["id"]]
    assert len(admin.get(f"{base}/conversations/{alice}", params={"limit": 1}).json()) == 1
    assert admin.get(f"{base}/conversations/%2B{alice[1:]}").json() == thread
    result = admin.patch(f"{base}/conversations/{alice}", json={"is_read": True}).json()
    assert result == {
        "remote_phone_number": alice,
        "conversation_id": alice_conv["id"],
        "is_read": True,
        "updated_count": 1,
    }
    by_id = admin.get(f"{base}/conversations/{alice_conv['id']}").json()
    assert [t["id"] for t in by_id] == [t["id"] for t in thread]
    again = admin.patch(f"{base}/conversations/{alice}", json={"is_read": True}).json()
    assert again["updated_count"] == 0
    assert admin.patch(f"{base}/conversations/{alice}", json={}).status_code == 422

    found = admin.get(f"{base}/search", params={"q": "ORDER"}).json()
    assert [t["id"] for t in found] == [out["id"], first["id"]]
    assert [t["id"] for t in admin.get(f"{base}/search", params={"q": "my order"}).json()] == [
        first["id"]
    ]
    assert len(admin.get(f"{base}/search", params={"q": "order", "limit": 1}).json()) == 1

    # the pre-0.4.4 delete: PATCH {"status": "deleted"}
    gone = admin.patch(f"{base}/{bob_text['id']}", json={"status": "deleted"})
    assert gone.status_code == 200
    assert admin.get(f"{base}/{bob_text['id']}").status_code == 404
    assert bob not in [c["remote_phone_number"] for c in admin.get(f"{base}/conversations").json()]
