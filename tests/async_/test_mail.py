"""Mail end to end against the emulator: identity helpers and org-level resources."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any, cast

import httpx2
import pytest

from inkbox_async import (
    MAIL_EVENT_TYPES,
    UNSET,
    AsyncAgentIdentity,
    AsyncInkbox,
    Attachment,
    IdempotencyKeyReusedError,
    InkboxConnectionError,
    InternalServerError,
    InvalidArgumentError,
    MailWebhookPayload,
    MessageDirection,
    NotFoundError,
    PermissionDeniedError,
    SendingDomainStatus,
    StorageLimitExceededError,
    ThreadFolder,
    verify_webhook,
)
from inkbox_emulator import Emulator, OrgCredentials


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def pair(inkbox: AsyncInkbox) -> tuple[AsyncAgentIdentity, AsyncAgentIdentity]:
    return await inkbox.create_identity(unique("alice")), await inkbox.create_identity(
        unique("bob")
    )


def address(identity: AsyncAgentIdentity) -> str:
    assert identity.email_address is not None
    return identity.email_address


async def test_local_delivery_threads_and_replies(inkbox: AsyncInkbox) -> None:
    alice, bob = await pair(inkbox)
    sent = await alice.send_email(
        to=[address(bob)],
        subject="Quarterly numbers",
        body_text="Hi Bob, the numbers are in.",
        body_html="<p>Hi Bob, the numbers are in.</p>",
        cc=["carol@example.com"],
        bcc=["archive@example.com"],
    )
    assert sent.direction == MessageDirection.OUTBOUND and sent.message_id

    inbound = [m async for m in bob.iter_emails(direction="inbound")]
    assert [m.subject for m in inbound] == ["Quarterly numbers"]
    assert inbound[0].from_address == address(alice) and not inbound[0].is_read
    detail = await bob.get_message(inbound[0].id)
    assert detail.body_text == "Hi Bob, the numbers are in."
    assert not detail.bcc_addresses

    # reply by Inkbox id, as the seed README does: the SDK sends the Message-ID
    reply = await bob.send_email(
        to=[address(alice)],
        subject="Re: Quarterly numbers",
        body_text="Thanks!",
        in_reply_to_message_id=inbound[0].id,
    )
    assert reply.thread_id == inbound[0].thread_id
    alice_inbox = [m async for m in alice.iter_emails(direction="inbound")]
    assert [m.subject for m in alice_inbox] == ["Re: Quarterly numbers"]
    assert alice_inbox[0].thread_id == sent.thread_id

    assert sent.thread_id is not None
    thread = await alice.get_thread(sent.thread_id)
    assert [m.subject for m in thread.messages] == ["Quarterly numbers", "Re: Quarterly numbers"]
    assert thread.message_count == 2

    # reply by RFC 5322 Message-ID
    again = await alice.send_email(
        to=[address(bob)],
        subject="Re: Re: Quarterly numbers",
        body_text="Welcome",
        in_reply_to_message_id=alice_inbox[0].message_id,
    )
    assert again.thread_id == sent.thread_id


async def test_unread_and_mark_read(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    bot = await inkbox.create_identity(unique("reader"))
    for n in range(3):
        emulator.inject_email(
            to=address(bot), from_address="customer@example.com", subject=f"Q{n}", body_text="?"
        )
    unread = [m async for m in bot.iter_unread_emails()]
    assert len(unread) == 3
    await bot.mark_emails_read([m.id for m in unread[:2]])
    assert [m.subject for m in [m async for m in bot.iter_unread_emails()]] == [unread[2].subject]


async def test_pagination_over_many_pages(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    bot = await inkbox.create_identity(unique("pages"))
    for n in range(7):
        emulator.inject_email(
            to=address(bot), from_address="a@example.com", subject=f"m{n}", body_text="."
        )
    subjects = [m.subject async for m in bot.iter_emails(page_size=2)]
    assert subjects == [f"m{n}" for n in reversed(range(7))]  # newest first, no repeats
    threads = [t async for t in inkbox.threads.list(address(bot), page_size=3)]
    assert len(threads) == 7


async def test_attachments_and_signed_urls(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    alice, bob = await pair(inkbox)
    data = b"%PDF-1.4 quarterly report"
    await alice.send_email(
        to=[address(bob)],
        subject="See attached",
        body_text="attached",
        attachments=[
            Attachment.from_bytes("report q3.pdf", data, "application/pdf"),
            {
                "filename": "notes.txt",
                "content_type": "text/plain",
                "content_base64": base64.b64encode(b"hi").decode(),
            },
        ],
    )
    (message,) = [m async for m in bob.iter_emails()]
    assert message.has_attachments
    link = await inkbox.messages.get_attachment(address(bob), message.id, "report q3.pdf")
    assert link["url"] == link.url and link.expires_in
    async with httpx2.AsyncClient() as http:
        assert (await http.get(link.url)).content == data
        emulator.advance_clock((link.expires_in or 0) + 1)
        assert (await http.get(link.url)).status_code >= 400
    redirected = await inkbox.messages.get_attachment(
        address(bob), message.id, "notes.txt", redirect=True
    )
    assert redirected.url.startswith("http")


async def test_org_level_messages_and_threads(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    bot = await inkbox.create_identity(unique("org"))
    email = address(bot)
    emulator.inject_email(
        to=email, from_address="x@example.com", subject="invoice 42", body_text="please pay"
    )
    emulator.inject_email(
        to=email, from_address="y@example.com", subject="hello", body_text="hi there"
    )
    messages = [m async for m in inkbox.messages.list(email)]
    first = next(m for m in messages if m.subject == "invoice 42")
    assert (await inkbox.messages.get(email, first.id)).body_text == "please pay"
    assert (await inkbox.messages.mark_read(email, first.id)).is_read
    assert not (await inkbox.messages.mark_unread(email, first.id)).is_read
    assert (await inkbox.messages.star(email, first.id)).is_starred
    assert not (await inkbox.messages.unstar(email, first.id)).is_starred
    flagged = await inkbox.messages.update_flags(email, first.id, is_read=True, is_starred=True)
    assert flagged.is_read and flagged.is_starred

    hits = await inkbox.mailboxes.search(email, q="invoice", limit=10)
    assert [h.subject for h in hits] == ["invoice 42"]

    assert first.thread_id is not None
    moved = await inkbox.threads.update(email, first.thread_id, folder=ThreadFolder.ARCHIVE)
    assert moved.folder == "archive"
    assert "archive" in await inkbox.threads.list_folders(email)
    archived = [t async for t in inkbox.threads.list(email, folder="archive")]
    assert [t.id for t in archived] == [first.thread_id]
    await inkbox.threads.update(email, first.thread_id)  # nothing to change

    await inkbox.messages.delete(email, first.id)
    assert first.id not in {m.id async for m in inkbox.messages.list(email)}
    other = next(m for m in messages if m.subject == "hello")
    assert other.thread_id is not None
    await inkbox.threads.delete(email, other.thread_id)
    assert other.thread_id not in {t.id async for t in inkbox.threads.list(email)}


async def test_mailboxes_resource(inkbox: AsyncInkbox) -> None:
    bot = await inkbox.create_identity(unique("mbx"))
    email = address(bot)
    assert email in {m.email_address for m in await inkbox.mailboxes.list()}
    mailbox = await inkbox.mailboxes.get(email)
    assert mailbox.agent_identity_id == bot.id and mailbox.sending_domain == email.split("@")[1]
    switched = await inkbox.mailboxes.update(email, filter_mode="whitelist")
    assert switched.filter_mode == "whitelist" and switched.filter_mode_change_notice is not None
    assert (await inkbox.mailboxes.update(email, filter_mode=UNSET)).filter_mode == "whitelist"


async def test_forward_and_outbox(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    bot = await inkbox.create_identity(unique("fwd"))
    emulator.inject_email(
        to=address(bot), from_address="client@example.com", subject="Contract", body_text="v2"
    )
    (original,) = [m async for m in bot.iter_emails()]
    forwarded = await bot.forward_email(
        original.id, to=["lawyer@example.com"], body_text="FYI", mode="wrapped"
    )
    assert forwarded.thread_id != original.thread_id
    assert forwarded.subject == "Fwd: Contract"
    outbox = emulator.outbox(org.organization_id)
    assert [(o["to_addresses"], o["subject"]) for o in outbox] == [
        (["lawyer@example.com"], "Fwd: Contract")
    ]


async def test_delivery_outcomes(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    bot = await inkbox.create_identity(unique("out"))
    emulator.set_delivery_outcome("@bounce.example", "bounced")
    ok = await bot.send_email(to=["someone@example.com"], subject="one", body_text=".")
    bad = await bot.send_email(to=["nobody@bounce.example"], subject="two", body_text=".")
    email = address(bot)

    async def status(message_id: uuid.UUID) -> str:
        return str((await inkbox.messages.get(email, message_id)).status)

    deadline = time.monotonic() + 5
    while (await status(ok.id), await status(bad.id)) != ("delivered", "bounced"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


async def test_signed_webhooks_verify(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    hooks = receiver
    bot = await inkbox.create_identity(unique("hook"))
    key = await bot.create_signing_key()
    await bot.subscribe_webhook(hooks.url, events=list(MAIL_EVENT_TYPES))
    await bot.send_email(to=["customer@example.com"], subject="Shipped", body_text="1Z999")
    emulator.inject_email(
        to=address(bot), from_address="customer@example.com", subject="Thanks", body_text="!"
    )
    for event in ("message.sent", "message.delivered", "message.received"):
        headers, body = hooks.wait(event)
        assert verify_webhook(payload=body, headers=headers, secret=key.signing_key)
        assert not verify_webhook(payload=body, headers=headers, secret="whsec_wrong")
        payload = cast(MailWebhookPayload, json.loads(body))
        assert payload["data"]["message"]["mailbox_id"] == str(
            bot.mailbox.id if bot.mailbox else None
        )
        assert isinstance(payload["data"]["contacts"], list)


async def test_domains(inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials) -> None:
    name = f"{unique('mail')}.acme.com"
    emulator.add_sending_domain(org.organization_id, name)
    emulator.add_sending_domain(
        org.organization_id, f"{unique('pending')}.acme.com", status="pending"
    )
    verified = await inkbox.domains.list(status=SendingDomainStatus.VERIFIED)
    assert [d.domain for d in verified] == [name]
    assert len(await inkbox.domains.list()) == 2
    assert await inkbox.domains.set_default(name) == name
    assert (await inkbox.domains.list(status="verified"))[0].is_default
    assert await inkbox.domains.set_default("inkboxmail.com") is None


async def test_send_is_never_duplicated(emulator: Emulator, org: OrgCredentials) -> None:
    # Without automatic retries, a lost answer surfaces with the send's key; sending again
    # with that key replays the first answer instead of sending a second email.
    async with AsyncInkbox(
        api_key=org.api_key, base_url=emulator.base_url, max_retries=0
    ) as inkbox:
        bot = await inkbox.create_identity(unique("once"))
        path = f"/api/v1/mail/mailboxes/{address(bot)}/messages"
        emulator.inject_fault(method="POST", path=path, kind="drop_after", count=1)
        with pytest.raises(InkboxConnectionError) as info:
            await bot.send_email(to=["x@example.com"], subject="once", body_text=".")
        assert info.value.request_sent
        key = info.value.idempotency_key
        assert key is not None
        again = await bot.send_email(
            to=["x@example.com"], subject="once", body_text=".", idempotency_key=key
        )
        with pytest.raises(IdempotencyKeyReusedError) as reused:
            await bot.send_email(
                to=["x@example.com"], subject="changed", body_text=".", idempotency_key=key
            )
        assert reused.value.idempotency_key == key
        emulator.inject_fault(method="POST", path=path, kind="status", status=503, count=1)
        with pytest.raises(InternalServerError):
            await bot.send_email(to=["x@example.com"], subject="refused", body_text=".")
    sent = emulator.outbox(org.organization_id)
    assert [o["subject"] for o in sent] == ["once"]
    assert again.subject == "once"


async def test_reads_retried_through_faults(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    bot = await inkbox.create_identity(unique("retry"))
    emulator.inject_fault(
        method="GET", path=f"/api/v1/mail/mailboxes/{address(bot)}", kind="drop_before", count=1
    )
    assert (await inkbox.mailboxes.get(address(bot))).email_address == address(bot)
    emulator.inject_fault(
        method="GET",
        path="/api/v1/mail/mailboxes",
        kind="status",
        status=503,
        retry_after=0,
        count=2,
    )
    assert await inkbox.mailboxes.list()
    emulator.clear_faults()


async def test_unclaimed_agent_may_only_email_its_human(emulator: Emulator) -> None:
    result = await AsyncInkbox.signup(
        "human@example.com", note_to_human="hi", base_url=emulator.base_url
    )
    async with AsyncInkbox(result.api_key, base_url=emulator.base_url) as agent:
        me = await agent.get_identity(result.agent_handle)
        await me.send_email(to=["human@example.com"], subject="hello", body_text="it's me")
        with pytest.raises(PermissionDeniedError) as info:
            await me.send_email(to=["stranger@example.com"], subject="spam", body_text=".")
        assert info.value.code


async def test_bad_mail_input_fails_before_io(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    bot = await inkbox.create_identity(unique("bad"))
    emulator.clear_requests()
    good = {"filename": "a.txt", "content_type": "text/plain", "content_base64": "aGk="}
    calls = [
        lambda: bot.send_email(to=[], subject="s", body_text="b"),
        lambda: bot.send_email(to="a@example.com", subject="s"),  # type: ignore[arg-type]
        lambda: bot.send_email(to=["not an address"], subject="s"),
        lambda: bot.send_email(to=["a@example.com"], cc=["@nope"], subject="s"),
        lambda: bot.send_email(to=["a@example.com"], subject="x" * 999),
        lambda: bot.send_email(
            to=["a@example.com"], subject="s", attachments=[{**good, "content_base64": "***"}]
        ),
        lambda: bot.send_email(
            to=["a@example.com"], subject="s", attachments=[{**good, "filename": ""}]
        ),
        lambda: bot.send_email(
            to=["a@example.com"], subject="s", attachments=[{**good, "filename": "x.exe"}]
        ),
        lambda: bot.send_email(
            to=["a@example.com"],
            subject="s",
            attachments=[{"content_type": "text/plain", "content_base64": "aGk="}],
        ),
        lambda: bot.forward_email(uuid.uuid4()),
        lambda: bot.forward_email(uuid.uuid4(), to=["a@example.com"], mode="sideways"),
        lambda: bot.get_message("not-a-uuid"),
        lambda: bot.mark_emails_read(["nope"]),
        lambda: inkbox.threads.update(address(bot), uuid.uuid4(), folder="blocked"),
        lambda: inkbox.mailboxes.update(address(bot), filter_mode="greylist"),
        lambda: inkbox.mailboxes.update(address(bot), webhook_url="ftp://x"),
        lambda: inkbox.mailboxes.search(address(bot), q="x", limit=0),
        lambda: inkbox.domains.list(status="bogus"),
        lambda: inkbox.mail_contact_rules.create(
            address(bot), action="block", match_type="domain", match_target="a@b.com"
        ),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError):
            await call()
    with pytest.raises(InvalidArgumentError):
        bot.iter_emails(page_size=101)
    with pytest.raises(InvalidArgumentError):
        inkbox.messages.list(address(bot), direction="sideways")
    assert emulator.requests() == []


PIXEL = Attachment.from_bytes("chart.png", b"\x89PNG....", "image/png", content_id="chart1")


async def test_track_opens_and_inline_images(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    bot = await inkbox.create_identity(unique("inline"))
    emulator.clear_requests()
    sent = await bot.send_email(
        to=["reader@example.com"],
        subject="Chart",
        body_html='<p><img src="cid:chart1"></p>',
        attachments=[PIXEL, {**PIXEL_DICT, "content_id": "chart2"}],
        track_opens=True,
    )
    [request] = emulator.requests()
    body = request.json()
    assert body["track_opens"] is True
    assert [a["content_id"] for a in body["attachments"]] == ["chart1", "chart2"]
    assert request.headers["idempotency-key"] and request.headers["prefer"] == "idempotency-replay"
    assert sent.has_attachments
    emulator.clear_requests()
    forwarded = await bot.forward_email(sent.id, to=["boss@example.com"], track_opens=True)
    assert emulator.requests()[0].json()["track_opens"] is True
    assert forwarded.subject == "Fwd: Chart"
    plain = await bot.send_email(to=["reader@example.com"], subject="plain", body_text="x")
    assert "track_opens" not in emulator.requests()[-1].json()  # only sent when asked for
    assert plain.subject == "plain"

    # a recipient opens both: only the tracked send counts it
    assert sent.open_count == 0 and sent.first_opened_at is None
    emulator.open_email(str(sent.id))
    emulator.open_email(str(sent.id))
    emulator.open_email(str(plain.id))
    opened = await bot.get_message(sent.id)
    assert opened.open_count == 2 and opened.first_opened_at is not None
    untracked = await bot.get_message(plain.id)
    assert untracked.open_count == 0 and untracked.first_opened_at is None
    assert [
        (a["filename"], a.get("content_id"), a.get("is_inline"))
        for a in opened.attachment_metadata or []
    ] == [("chart.png", "chart1", True), ("c.png", "chart2", True)]


PIXEL_DICT = {"filename": "c.png", "content_type": "image/png", "content_base64": "iVBORw=="}


async def test_reply_all_resolves_recipients_and_threads(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    bot = await inkbox.create_identity(unique("replyall"))
    emulator.inject_email(
        to=[address(bot), "colleague@example.com"],
        from_address="customer@example.com",
        subject="Question",
        body_text="Can you help?",
        cc=["manager@example.com"],
    )
    [inbound] = [m async for m in bot.iter_emails(direction="inbound")]
    emulator.clear_requests()
    reply = await bot.reply_all(inbound.id, body_text="Sure!", body_html="<p>Sure!</p>")
    [request] = emulator.requests()
    assert request.path.endswith(f"/messages/{inbound.id}/reply-all")
    assert request.json() == {"body_text": "Sure!", "body_html": "<p>Sure!</p>"}
    assert request.headers["idempotency-key"]
    assert reply.subject == "Re: Question"
    assert reply.thread_id == inbound.thread_id
    assert reply.to_addresses == ["customer@example.com", "colleague@example.com"]
    assert reply.cc_addresses == ["manager@example.com"]
    out = [o for o in emulator.outbox(org.organization_id) if o["subject"] == "Re: Question"]
    assert len(out) == 1
    again = await inkbox.messages.reply_all(
        address(bot), inbound.id, subject="Custom", body_text="2", reply_to="desk@example.com"
    )
    assert again.subject == "Custom"
    with pytest.raises(NotFoundError):
        await bot.reply_all(uuid.uuid4(), body_text="nobody")


async def test_storage_limit_is_typed(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    bot = await inkbox.create_identity(unique("full"))
    mailbox = await inkbox.mailboxes.get(address(bot))
    assert (mailbox.storage_used_bytes, mailbox.storage_limit_bytes) == (0, 1024**3)
    emulator.set_storage_limit(address(bot), 10)
    with pytest.raises(StorageLimitExceededError) as info:
        await bot.send_email(to=["x@example.com"], subject="big", body_text="x" * 11)
    assert info.value.status_code == 402
    assert info.value.limit_bytes == 10
    assert info.value.upgrade_url and info.value.upgrade_url.startswith("https://")
    assert info.value.message
    assert info.value.idempotency_key is not None
    assert emulator.outbox(org.organization_id) == []


async def test_send_options_checked_before_io(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    bot = await inkbox.create_identity(unique("checks"))
    emulator.clear_requests()
    inline = {**PIXEL_DICT, "content_id": "c1"}
    bad_calls = [
        (
            lambda: bot.send_email(
                to=["a@example.com"], subject="s", body_text="t", track_opens=True
            ),
            "track_opens",
        ),
        (
            lambda: bot.send_email(to=["a@example.com"], subject="s", track_opens="yes"),
            "track_opens",
        ),  # type: ignore[arg-type]
        (
            lambda: bot.send_email(
                to=["a@example.com"], subject="s", body_text="t", attachments=[inline]
            ),
            "attachments[0].content_id",
        ),
        (
            lambda: bot.send_email(
                to=["a@example.com"],
                subject="s",
                body_html="<p/>",
                attachments=[{**inline, "content_type": "application/pdf"}],
            ),
            "attachments[0].content_id",
        ),
        (
            lambda: bot.send_email(
                to=["a@example.com"], subject="s", body_html="<p/>", attachments=[inline, inline]
            ),
            "attachments[1].content_id",
        ),
        (
            lambda: bot.forward_email(
                uuid.uuid4(), to=["a@example.com"], additional_attachments=[inline]
            ),
            "additional_attachments[0].content_id",
        ),
        (
            lambda: bot.forward_email(
                uuid.uuid4(), to=["a@example.com"], mode="wrapped", track_opens=True
            ),
            "track_opens",
        ),
        (
            lambda: bot.send_email(to=["a@example.com"], subject="s", idempotency_key=""),
            "idempotency_key",
        ),
        (
            lambda: bot.send_email(to=["a@example.com"], subject="s", idempotency_key="é"),
            "idempotency_key",
        ),
        (lambda: bot.reply_all("not-a-uuid"), "message_id"),
        (lambda: bot.reply_all(uuid.uuid4(), reply_to="nope"), "reply_to"),
        (lambda: bot.reply_all(uuid.uuid4(), attachments=[inline]), "attachments[0].content_id"),
    ]
    for call, argument in bad_calls:
        with pytest.raises(InvalidArgumentError) as info:
            await call()
        assert info.value.argument == argument
    assert emulator.requests() == []


async def test_mailbox_signature_and_current_fields(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    bot = await inkbox.create_identity(unique("sig"))
    emulator.clear_requests()
    updated = await inkbox.mailboxes.update(
        address(bot), signature_text="-- Bot", signature_html="<p>Bot</p>", signature_enabled=True
    )
    assert emulator.requests()[0].json() == {
        "signature_html": "<p>Bot</p>",
        "signature_text": "-- Bot",
        "signature_enabled": True,
    }
    assert (updated.signature_text, updated.signature_enabled) == ("-- Bot", True)
    cleared = await inkbox.mailboxes.update(address(bot), signature_html=None)
    assert cleared.signature_html is None and cleared.signature_text == "-- Bot"
    assert cleared.inbound_filter_mode == cleared.outbound_filter_mode == "blacklist"
    emulator.clear_requests()
    for bad in ({"signature_text": "x" * 16385}, {"signature_enabled": "yes"}):
        with pytest.raises(InvalidArgumentError):
            await inkbox.mailboxes.update(address(bot), **bad)  # type: ignore[arg-type]
    assert emulator.requests() == []


async def test_reading_one_inbound_message_marks_it_read(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    bot = await inkbox.create_identity(unique("reader"))
    emulator.inject_email(to=address(bot), from_address="c@example.com", subject="New")
    [listed] = [m async for m in bot.iter_unread_emails()]  # listing leaves it unread
    assert listed.is_read is False
    detail = await bot.get_message(listed.id)
    assert detail.is_read is True
    assert [m async for m in bot.iter_unread_emails()] == []
