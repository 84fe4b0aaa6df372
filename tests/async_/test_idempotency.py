"""Sends whose answer is lost are retried with their Idempotency-Key and delivered once."""

from __future__ import annotations

import uuid

from inkbox_async import AsyncInkbox
from inkbox_emulator import Emulator, OrgCredentials

CUSTOMER = "+15551230000"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def keyed_posts(emulator: Emulator, path_end: str) -> list[str]:
    """The Idempotency-Key of every recorded POST whose path ends with ``path_end``."""
    return [
        r.headers["idempotency-key"]
        for r in emulator.requests()
        if r.method == "POST" and r.path.endswith(path_end)
    ]


async def test_mail_send_forward_and_reply_all_survive_a_lost_answer(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    bot = await inkbox.create_identity(unique("mail-once"))
    mailbox = f"/api/v1/mail/mailboxes/{bot.email_address}/messages"
    emulator.clear_requests()
    emulator.inject_fault(method="POST", path=mailbox, kind="drop_after")
    sent = await bot.send_email(to=["x@example.com"], subject="exactly once", body_text=".")
    first, retry = keyed_posts(emulator, "/messages")
    assert first == retry  # the retry carried the same key, so the server replayed
    emulator.inject_fault(method="POST", path=f"{mailbox}/*/forward", kind="drop_after")
    await bot.forward_email(sent.id, to=["boss@example.com"])
    emulator.inject_email(to=bot.email_address or "", from_address="c@example.com", subject="Q")
    [inbound] = [m async for m in bot.iter_emails(direction="inbound")]
    emulator.inject_fault(method="POST", path=f"{mailbox}/*/reply-all", kind="drop_after")
    reply = await bot.reply_all(inbound.id, body_text="A")
    assert len(set(keyed_posts(emulator, "/reply-all"))) == 1
    subjects = sorted(o["subject"] for o in emulator.outbox(org.organization_id))
    assert subjects == ["Fwd: exactly once", "Re: Q", "exactly once"]
    assert reply.subject == "Re: Q"


async def test_text_and_call_survive_a_lost_answer(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    identity = await inkbox.create_identity(unique("phone-once"))
    number = await identity.provision_phone_number(type="local")
    assert number is not None
    emulator.mark_sms_ready(str(number.id))
    emulator.inject_text(to_number=number.number, from_number=CUSTOMER, text="START")
    emulator.clear_requests()
    emulator.inject_fault(method="POST", path="/api/v1/phone/numbers/*/texts", kind="drop_after")
    text = await identity.send_text(to=CUSTOMER, text="just once")
    assert len(keyed_posts(emulator, "/texts")) == 2
    assert len(set(keyed_posts(emulator, "/texts"))) == 1
    sent = [t for t in emulator.sent_texts(org.organization_id) if t["text"] == "just once"]
    assert [t["id"] for t in sent] == [str(text.id)]
    emulator.inject_fault(method="POST", path="/api/v1/phone/place-call", kind="drop_after")
    call = await identity.place_call(to_number=CUSTOMER, client_websocket_url="wss://a.test/ws")
    assert len(set(keyed_posts(emulator, "/place-call"))) == 1
    assert len(keyed_posts(emulator, "/place-call")) == 2
    calls = await identity.list_calls()
    assert [c.id for c in calls] == [call.id]
