"""Phone, calls and texts end to end against the emulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, cast

import httpx2
import pytest

from inkbox_async import (
    TEXT_EVENT_TYPES,
    AsyncAgentIdentity,
    AsyncInkbox,
    CallCapacityBusyError,
    CallMode,
    CallOrigin,
    ConcurrentCallsLimitError,
    ConflictError,
    CustomerCampaignRequiredError,
    ForwardingTargetType,
    IncomingCallAction,
    InvalidArgumentError,
    NotFoundError,
    RecipientNotOptedInError,
    RecipientOptedOutError,
    SenderRateLimitedError,
    SenderSmsPendingError,
    SmsDeliveryStatus,
    SmsOptInStatus,
    TextWebhookPayload,
    verify_webhook,
)
from inkbox_emulator import Emulator, OrgCredentials

CUSTOMER = "+15551234567"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def texting_identity(inkbox: AsyncInkbox, emulator: Emulator) -> AsyncAgentIdentity:
    identity = await inkbox.create_identity(unique("texter"))
    number = await identity.provision_phone_number(type="local", state="NY")
    assert number is not None and number.type == "local" and number.state == "NY"
    emulator.mark_sms_ready(str(number.id))
    return identity


def number_of(identity: AsyncAgentIdentity) -> str:
    assert identity.phone_number is not None
    return identity.phone_number.number


async def test_numbers_provision_update_release(inkbox: AsyncInkbox) -> None:
    identity = await inkbox.create_identity(unique("phone"))
    number = await identity.provision_phone_number()
    assert number is not None and number.type == "local" and number.number.startswith("+1")
    assert [n.id for n in await inkbox.phone_numbers.list()] == [number.id]
    assert (await inkbox.phone_numbers.get(number.id)).agent_identity_id == identity.id
    updated = await inkbox.phone_numbers.update(
        number.id,
        incoming_call_action="webhook",
        incoming_call_webhook_url="https://example.com/calls",
    )
    assert updated.incoming_call_action == "webhook"
    accept = await inkbox.phone_numbers.update(
        number.id, incoming_call_action="auto_accept", client_websocket_url="wss://example.com/ws"
    )
    assert accept.client_websocket_url == "wss://example.com/ws"
    forward = await inkbox.phone_numbers.update(
        number.id,
        incoming_call_action="forward",
        forwarding_target_type="phone",
        forwarding_phone_number="+15557654321",
    )
    assert forward.forwarding_target_type == ForwardingTargetType.PHONE
    assert forward.forwarding_phone_number == "+15557654321"
    hosted = await inkbox.phone_numbers.update(
        number.id,
        incoming_call_action="hosted_agent",
        forwarding_target_type=None,
        forwarding_phone_number=None,
    )
    assert hosted.incoming_call_action == IncomingCallAction.HOSTED_AGENT
    assert hosted.forwarding_target_type is None
    switched = await inkbox.phone_numbers.update(number.id, filter_mode="whitelist")
    assert switched.filter_mode == "whitelist" and switched.filter_mode_change_notice is not None
    other = await inkbox.create_identity(unique("local"))
    local = await inkbox.phone_numbers.provision(
        agent_handle=other.agent_handle, type="local", state="CA"
    )
    assert local.sms_status == "pending"
    await inkbox.phone_numbers.release(local.id)
    await identity.release_phone_number()
    assert await inkbox.phone_numbers.list() == []


async def test_sms_rules(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("rules"))
    number = await identity.provision_phone_number(type="local", state="TX")
    assert number is not None and number.sms_status == "pending"
    with pytest.raises(SenderSmsPendingError) as pending:
        await identity.send_text(to=CUSTOMER, text="hi")
    assert pending.value.status_code == 409 and pending.value.code == "sender_sms_pending"
    emulator.mark_sms_ready(str(number.id))
    with pytest.raises(RecipientNotOptedInError):
        await identity.send_text(to=CUSTOMER, text="hi")
    emulator.inject_text(to_number=number.number, from_number=CUSTOMER, text="START")
    sent = await identity.send_text(to=CUSTOMER, text="Hello from Inkbox")
    assert sent.delivery_status == SmsDeliveryStatus.QUEUED and sent.direction == "outbound"
    for n in range(14):
        await identity.send_text(to=CUSTOMER, text=f"update {n}")
    with pytest.raises(SenderRateLimitedError):
        await identity.send_text(to=CUSTOMER, text="one too many")
    emulator.advance_clock(24 * 3600 + 1)
    await identity.send_text(to=CUSTOMER, text="a new day")
    emulator.inject_text(to_number=number.number, from_number=CUSTOMER, text="STOP")
    with pytest.raises(RecipientOptedOutError):
        await identity.send_text(to=CUSTOMER, text="still there?")


async def test_toll_free_is_no_longer_offered(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("tollfree"))
    with pytest.warns(DeprecationWarning, match="type='local'") as warned:
        number = await identity.provision_phone_number(type="toll_free")
    assert warned[0].filename == __file__  # the warning points at the caller's line
    assert number is not None and number.type == "local"
    other = await inkbox.create_identity(unique("tollfree"))
    with pytest.warns(DeprecationWarning, match="toll-free"):
        await inkbox.phone_numbers.provision(agent_handle=other.agent_handle, type="toll_free")
    assert emulator.requests()[-1].json()["type"] == "local"
    with pytest.warns(DeprecationWarning, match="toll-free") as warned:
        created = await inkbox.create_identity(
            unique("tollfree"), phone_number={"type": "toll_free", "state": "TX"}
        )
    assert warned[0].filename == __file__
    assert created.phone_number is not None and created.phone_number.state == "TX"


async def test_texts_conversations_and_webhooks(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    identity = await texting_identity(inkbox, emulator)
    key = await identity.create_signing_key()
    phone = identity.phone_number
    assert phone is not None
    await identity.subscribe_webhook(receiver.url, events=list(TEXT_EVENT_TYPES))
    emulator.inject_text(to_number=phone.number, from_number=CUSTOMER, text="START")
    emulator.inject_text(to_number=phone.number, from_number=CUSTOMER, text="Where is my invoice?")
    sent = await identity.send_text(to=CUSTOMER, text="On its way")

    for event in ("text.received", "text.sent", "text.delivered"):
        headers, body = receiver.wait(event)
        assert verify_webhook(payload=body, headers=headers, secret=key.signing_key)
        payload = cast(TextWebhookPayload, json.loads(body))
        assert payload["data"]["text_message"]["local_phone_number"] == phone.number

    unread = await identity.list_texts(is_read=False)
    assert {t.text for t in unread} >= {"Where is my invoice?"}
    inbound = next(t for t in unread if t.text == "Where is my invoice?")
    assert (await identity.get_text(inbound.id)).text == "Where is my invoice?"
    assert (await identity.mark_text_read(inbound.id)).is_read
    conversations = await identity.list_text_conversations()
    assert [c.remote_phone_number for c in conversations] == [CUSTOMER]
    messages = await identity.get_text_conversation(CUSTOMER, limit=10)
    assert sent.id in {m.id for m in messages}
    state = await identity.mark_text_conversation_read(CUSTOMER)
    assert state["remote_phone_number"] == CUSTOMER and state.is_read
    hits = await inkbox.texts.search(phone.id, q="invoice")
    assert [h.id for h in hits] == [inbound.id]
    assert (await inkbox.texts.update(phone.id, inbound.id, is_read=False)).is_read is False
    # the seed's "delete" (0.4.4 dropped the argument): sent as {"status": "deleted"}
    await inkbox.texts.update(phone.id, inbound.id, status="deleted")
    assert inbound.id not in {t.id for t in await inkbox.texts.list(phone.id)}


async def test_failed_delivery_fires_webhook(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    identity = await texting_identity(inkbox, emulator)
    phone = identity.phone_number
    assert phone is not None
    failing = "+15559876543"
    await identity.subscribe_webhook(receiver.url, events=list(TEXT_EVENT_TYPES))
    emulator.inject_text(to_number=phone.number, from_number=failing, text="START")
    emulator.set_text_outcome(failing, "delivery_failed")
    await identity.send_text(to=failing, text="will fail")
    _, body = receiver.wait("text.delivery_failed")
    message = json.loads(body)["data"]["text_message"]
    assert message["error_code"] and message["failed_at"]


async def test_opt_ins(inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials) -> None:
    identity = await texting_identity(inkbox, emulator)
    emulator.inject_text(to_number=number_of(identity), from_number=CUSTOMER, text="START")
    row = await inkbox.sms_opt_ins.get(CUSTOMER)
    assert row.status == SmsOptInStatus.OPTED_IN and row.source == "sms"
    assert [r.receiver_number for r in await inkbox.sms_opt_ins.list(status="opted_in")] == [
        CUSTOMER
    ]
    with pytest.raises(NotFoundError):
        await inkbox.sms_opt_ins.get("+15550000000")
    with pytest.raises(CustomerCampaignRequiredError):
        await inkbox.sms_opt_ins.opt_out(CUSTOMER)
    emulator.set_customer_campaign(org.organization_id, enabled=True)
    out = await inkbox.sms_opt_ins.opt_out(CUSTOMER)
    assert out.status == "opted_out" and out.source == "api" and out.opted_in_at is None
    assert (await inkbox.sms_opt_ins.opt_in("+15550001111")).status == "opted_in"
    assert len(await inkbox.sms_opt_ins.list(limit=10, offset=0)) == 2


async def test_calls_transcripts_and_rate_limit(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("caller"))
    number = await identity.provision_phone_number()
    assert number is not None
    first = await identity.place_call(
        to_number=CUSTOMER, client_websocket_url="wss://agent.example.com/ws"
    )
    assert first.direction == "outbound" and first.rate_limit is not None
    assert (first.origin, first.mode) == (CallOrigin.DEDICATED_NUMBER, CallMode.CLIENT_WEBSOCKET)
    second = await inkbox.calls.place(
        from_number=number.id, to_number="+15557654321"
    )  # the seed's form
    assert second.local_phone_number == number.number
    assert (
        second.rate_limit is not None
        and second.rate_limit.calls_remaining < first.rate_limit.calls_remaining
    )
    calls = await identity.list_calls(limit=10)
    assert {c.id for c in calls} == {first.id, second.id}
    listed = await inkbox.calls.list(agent_identity_id=identity.id, start_datetime=date.today())
    assert {c.id for c in listed} == {first.id, second.id}
    assert await inkbox.calls.list(agent_identity_id=identity.id, end_datetime="2020-01-01") == []
    assert (await inkbox.calls.get(first.id)).remote_phone_number == CUSTOMER

    emulator.append_transcript(str(first.id), "remote", "I would like a refund please")
    emulator.append_transcript(str(first.id), "local", "Sure, I can help with the refund")
    segments = await identity.list_transcripts(first.id)
    assert [(t.party, t.seq) for t in segments] == [("remote", 0), ("local", 1)]
    assert [t.text for t in await inkbox.transcripts.list(first.id)] == [t.text for t in segments]
    hits = await inkbox.phone_numbers.search_transcripts(number.id, q="refund", party="remote")
    assert [h.party for h in hits] == ["remote"]


async def test_seed_call_reads_warn_and_use_the_current_routes(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("seedcalls"))
    number = await identity.provision_phone_number()
    assert number is not None
    call = await identity.place_call(to_number=CUSTOMER)
    emulator.append_transcript(str(call.id), "remote", "hello")
    emulator.clear_requests()
    with pytest.warns(DeprecationWarning, match=r"calls.list\(agent_identity_id=") as warned:
        calls = await inkbox.calls.list(number.id, limit=10)
    assert warned[0].filename == __file__
    assert [c.id for c in calls] == [call.id]
    with pytest.warns(DeprecationWarning, match=r"inkbox.calls.get\(call_id\)"):
        assert (await inkbox.calls.get(number.id, call.id)).id == call.id
    with pytest.warns(DeprecationWarning, match=r"inkbox.transcripts.list\(call_id\)"):
        assert [t.text for t in await inkbox.transcripts.list(number.id, call.id)] == ["hello"]
    paths = [(r.method, r.path, r.query) for r in emulator.requests()]
    assert paths == [
        ("GET", f"/api/v1/phone/numbers/{number.id}", ""),
        ("GET", "/api/v1/phone/calls", f"limit=10&offset=0&agent_identity_id={identity.id}"),
        ("GET", f"/api/v1/phone/calls/{call.id}", ""),
        ("GET", f"/api/v1/phone/calls/{call.id}/transcripts", ""),
    ]


async def test_hangup_and_hosted_agent_calls(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("hangup"))
    await identity.provision_phone_number()
    call = await identity.place_call(
        to_number=CUSTOMER,
        mode="hosted_agent",
        reason="Confirm tomorrow's appointment",
        on_voicemail="leave_message",
        voicemail_message="Please call us back.",
    )
    assert call.mode == CallMode.HOSTED_AGENT and call.reason == "Confirm tomorrow's appointment"
    assert emulator.requests()[-1].json() == {
        "to_number": CUSTOMER,
        "origination": "dedicated_number",
        "mode": "hosted_agent",
        "from_number": identity.phone_number.number if identity.phone_number else None,
        "on_voicemail": "leave_message",
        "voicemail_message": "Please call us back.",
        "reason": "Confirm tomorrow's appointment",
    }
    ended = await identity.hangup_call(call.id)
    assert ended.status in ("completed", "canceled") and ended.hangup_reason == "local"
    with pytest.raises(ConflictError):
        await inkbox.calls.hangup(call.id)


async def test_inbound_call_routed_by_auto_actions(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("inbound"))
    number = await identity.provision_phone_number()
    assert number is not None
    rejected = emulator.inject_call(to_number=number.number, from_number=CUSTOMER)
    assert (
        rejected["status"] in ("failed", "canceled") or rejected.get("hangup_reason") == "rejected"
    )
    await inkbox.phone_numbers.update(
        number.id,
        incoming_call_action="auto_accept",
        client_websocket_url="wss://agent.example.com/ws",
    )
    answered = emulator.inject_call(to_number=number.number, from_number=CUSTOMER)
    assert answered["status"] in ("answered", "completed")
    inbound = [c for c in await identity.list_calls() if c.direction == "inbound"]
    assert len(inbound) == 2


async def test_bad_phone_input_fails_before_io(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("badphone"))
    await identity.provision_phone_number()
    phone = identity.phone_number
    assert phone is not None
    emulator.clear_requests()
    calls: list[Callable[[], Any]] = [
        lambda: identity.send_text(to="5551234567", text="hi"),
        lambda: identity.send_text(to=CUSTOMER, text=""),
        lambda: identity.send_text(to=CUSTOMER, text="   "),
        lambda: identity.send_text(to=CUSTOMER, text="x" * 1601),
        lambda: identity.place_call(to_number="+1-555-123"),
        lambda: identity.list_calls(limit=0),
        lambda: identity.list_texts(limit=201),
        lambda: identity.list_texts(offset=-1),
        lambda: identity.get_text("nope"),
        lambda: inkbox.phone_numbers.provision(
            agent_handle=identity.agent_handle, type="satellite"
        ),
        lambda: inkbox.phone_numbers.provision(
            agent_handle=identity.agent_handle, type="local", state="ZZ"
        ),
        lambda: inkbox.phone_numbers.update(phone.id, forwarding_target_type="fax"),
        lambda: inkbox.phone_numbers.update(
            phone.id, forwarding_target_type="sip", forwarding_phone_number="+15551234567"
        ),
        lambda: inkbox.phone_numbers.update(phone.id, forwarding_sip_uri="https://pbx.example"),
        lambda: inkbox.phone_numbers.update(
            phone.id, incoming_call_action="forward", forwarding_target_type=None
        ),
        lambda: identity.send_text(to=CUSTOMER, conversation_id=uuid.uuid4(), text="hi"),
        lambda: identity.send_text(to=CUSTOMER),
        lambda: identity.send_text(text="hi"),
        lambda: identity.send_text(to=[], text="hi"),
        lambda: identity.send_text(to=[CUSTOMER, "555"], text="hi"),
        lambda: identity.send_text(to=CUSTOMER, media_urls=["ftp://x/y.png"]),
        lambda: identity.place_call(to_number=CUSTOMER, mode="hosted_agent"),
        lambda: identity.place_call(to_number=CUSTOMER, reason="no hosted agent"),
        lambda: identity.place_call(
            to_number=CUSTOMER, mode="hosted_agent", reason="x", client_websocket_url="wss://a/b"
        ),
        lambda: identity.place_call(to_number=CUSTOMER, voicemail_message="hi"),
        lambda: identity.place_call(to_number=CUSTOMER, origination="satellite"),
        lambda: inkbox.calls.place(to_number=CUSTOMER),
        lambda: inkbox.calls.list(agent_identity_id="nope"),
        lambda: inkbox.calls.list(start_datetime=5),  # type: ignore[arg-type]
        lambda: inkbox.calls.get(),  # type: ignore[call-overload]
        lambda: inkbox.calls.get("nope"),
        lambda: inkbox.calls.hangup("nope"),
        lambda: inkbox.transcripts.list(uuid.uuid4(), "nope"),
        lambda: inkbox.phone_numbers.update(phone.id, incoming_call_action="answer_machine"),
        lambda: inkbox.phone_numbers.update(phone.id, client_websocket_url="http://not-ws"),
        lambda: inkbox.phone_numbers.search_transcripts(phone.id, q="x", party="moderator"),
        lambda: inkbox.sms_opt_ins.get("not a number"),
        lambda: inkbox.sms_opt_ins.list(status="maybe"),
        lambda: inkbox.texts.update(phone.id, uuid.uuid4(), status="archived"),  # type: ignore[arg-type]
        lambda: identity.get_text_conversation("not-a-key"),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError):
            await call()
    assert emulator.requests() == []


async def test_group_texts_media_and_conversation_ids(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await texting_identity(inkbox, emulator)
    other = "+15552223333"
    for who in (CUSTOMER, other):
        emulator.inject_text(to_number=number_of(identity), from_number=who, text="START")
    group = await identity.send_text(
        to=[CUSTOMER, other], text="Team update", media_urls=["https://cdn.example.com/plan.png"]
    )
    assert group.remote_phone_number is None and group.type == "mms"
    assert group.recipients is not None
    assert {r.recipient_phone_number for r in group.recipients} == {CUSTOMER, other}
    assert group.media is not None and group.media[0].url == "https://cdn.example.com/plan.png"
    assert group.conversation_id is not None
    reply = await identity.send_text(conversation_id=group.conversation_id, text="One more thing")
    assert reply.conversation_id == group.conversation_id
    alone = await identity.send_text(to=[CUSTOMER], media_urls=["https://cdn.example.com/a.jpg"])
    assert alone.remote_phone_number == CUSTOMER and alone.text is None

    one_to_one = await identity.list_text_conversations()
    assert {c.remote_phone_number for c in one_to_one} == {CUSTOMER, other}
    assert not any(c.is_group for c in one_to_one)
    every = await identity.list_text_conversations(include_groups=True)
    grouped = next(c for c in every if c.is_group)
    assert grouped.id == group.conversation_id and grouped.remote_phone_number is None
    assert sorted(grouped.participants or []) == sorted([CUSTOMER, other])
    messages = await identity.get_text_conversation(group.conversation_id)
    assert [m.id for m in messages] == [reply.id, group.id]
    state = await identity.mark_text_conversation_read(group.conversation_id)
    assert state.conversation_id == group.conversation_id and state.remote_phone_number is None


async def test_the_concurrent_calls_limit_is_typed() -> None:
    emulator = Emulator(call_status_delay=60).start()  # placed calls stay live
    try:
        org = emulator.create_org()
        async with AsyncInkbox(org.api_key, base_url=emulator.base_url, max_retries=0) as inkbox:
            identity = await inkbox.create_identity(unique("limit"))
            await identity.provision_phone_number()
            for _ in range(10):
                await identity.place_call(to_number=CUSTOMER)
            with pytest.raises(ConcurrentCallsLimitError) as info:
                await identity.place_call(to_number=CUSTOMER)
        refused = emulator.requests()[-1]
        assert refused.path == "/api/v1/phone/place-call"
        assert info.value.status_code == 429 and info.value.code == "concurrent_calls_limit"
        assert info.value.retry_after == 5.0
        assert info.value.idempotency_key == refused.headers.get("idempotency-key")
    finally:
        emulator.close()


async def test_imessage_line_call_without_a_local_number_parses() -> None:
    call_id = "5b0c8f1e-3f0a-4c8e-9a51-2f4d6b7c8e90"
    call: dict[str, Any] = {
        "id": call_id,
        "local_phone_number": None,
        "remote_phone_number": CUSTOMER,
        "direction": "outbound",
        "status": "ringing",
        "origin": "shared_imessage_number",
        "mode": "hosted_agent",
        "forwardings": [],
        "created_at": "2026-10-01T00:00:00Z",
        "updated_at": "2026-10-01T00:00:00Z",
    }
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=call))
    async with AsyncInkbox(
        "ApiKey_test", base_url="https://api.test", transport=transport
    ) as inkbox:
        got = await inkbox.calls.get(call_id)
    assert got.local_phone_number is None and got.origin == CallOrigin.SHARED_IMESSAGE_NUMBER
    assert got.extra == {"forwardings": []}


async def test_busy_call_capacity_is_waited_out_and_the_call_placed_once() -> None:
    emulator = Emulator(call_capacity=1, call_status_delay=0.3).start()
    try:
        org = emulator.create_org()
        async with AsyncInkbox(org.api_key, base_url=emulator.base_url) as inkbox:
            identity = await inkbox.create_identity(unique("busy"))
            await identity.provision_phone_number()
            first = await identity.place_call(to_number=CUSTOMER)
            async with AsyncInkbox(
                org.api_key, base_url=emulator.base_url, max_retries=0
            ) as impatient:
                caller = await impatient.get_identity(identity.agent_handle)
                with pytest.raises(CallCapacityBusyError) as info:
                    await caller.place_call(to_number=CUSTOMER)
            assert info.value.status_code == 503 and info.value.retry_after == 1.0
            # the default client honours Retry-After; the first call ends within a second
            second = await identity.place_call(to_number=CUSTOMER)
            calls = await identity.list_calls()
            assert {c.id for c in calls} == {first.id, second.id}
            attempts = [
                r
                for r in emulator.requests()
                if r.method == "POST" and r.path == "/api/v1/phone/place-call"
            ]
            keys = [r.headers.get("idempotency-key") for r in attempts]
            assert len(attempts) == 4 and keys[2] == keys[3] != keys[1]
    finally:
        emulator.close()
