"""The official ``inkbox`` 0.4.4 client drives the mail API of the emulator."""

from __future__ import annotations

import base64
import json

import httpx2
from inkbox import Inkbox, InkboxAPIError, verify_webhook  # type: ignore[import-untyped]
from inkbox.mail.types import SendingDomainStatus  # type: ignore[import-untyped]

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import HookServer, unique, wait_until


def test_official_client_mail_tour(emu: Emulator, org: OrgCredentials) -> None:
    emu.add_sending_domain(org.organization_id, f"{unique('mail')}.official.test")
    with Inkbox(org.api_key, base_url=emu.base_url) as client:
        alice = client.create_identity(unique("alice"))
        bob = client.create_identity(unique("bob"))
        sent = alice.send_email(
            to=[bob.email_address],
            subject="Hello Bob",
            body_text="first",
            attachments=[
                {
                    "filename": "n.txt",
                    "content_type": "text/plain",
                    "content_base64": base64.b64encode(b"note").decode(),
                }
            ],
        )
        assert sent.direction == "outbound"
        for n in range(3):
            emu.inject_email(
                to=bob.email_address, from_address="c@example.com", subject=f"x{n}", body_text="."
            )
        inbox = list(bob.iter_emails(page_size=2))
        assert [m.subject for m in inbox] == ["x2", "x1", "x0", "Hello Bob"]
        hello = inbox[-1]
        detail = client.messages.get(bob.email_address, hello.id)
        assert detail.body_text == "first" and detail.in_reply_to is None
        bob.mark_emails_read([str(hello.id)])
        assert [m.subject for m in bob.iter_unread_emails()] == ["x2", "x1", "x0"]
        reply = bob.send_email(
            to=[alice.email_address],
            subject="Re: Hello Bob",
            body_text="back",
            in_reply_to_message_id=hello.message_id,
        )
        thread = bob.get_thread(str(reply.thread_id))
        assert [m.subject for m in thread.messages] == ["Hello Bob", "Re: Hello Bob"]
        forwarded = bob.forward_email(str(hello.id), to=["partner@example.com"], body_text="FYI")
        assert forwarded.subject == "Fwd: Hello Bob" and forwarded.thread_id != hello.thread_id
        hits = client.mailboxes.search(bob.email_address, q="hello")
        assert {h.subject for h in hits} >= {"Hello Bob", "Re: Hello Bob"}
        link = client.messages.get_attachment(bob.email_address, hello.id, "n.txt")
        redirected = client.messages.get_attachment(
            bob.email_address, hello.id, "n.txt", redirect=True
        )
        with httpx2.Client() as http:
            assert http.get(link["url"]).content == b"note"
            assert http.get(redirected["url"]).content == b"note"
        box = client.mailboxes.update(bob.email_address, filter_mode="whitelist")
        assert box.filter_mode == "whitelist" and box.filter_mode_change_notice is not None
        assert [m.email_address for m in client.mailboxes.list()] == [
            alice.email_address,
            bob.email_address,
        ]
        domains = client.domains.list(status=SendingDomainStatus.VERIFIED)
        assert len(domains) == 1
        assert client.domains.set_default(domains[0].domain) == domains[0].domain
        assert client.domains.set_default("inkboxmail.com") is None
        # 0.4.4's per-mailbox rule routes were removed on 2026-08-31 (the emulator clock
        # is past it): they answer 410 naming the identity-keyed route.
        try:
            client.mail_contact_rules.list(bob.email_address)
        except InkboxAPIError as exc:
            assert exc.status_code == 410
            assert exc.detail["replacement"].endswith("/mail-contact-rules")
        else:  # pragma: no cover
            raise AssertionError("expected a 410")
        threads = list(client.threads.list(bob.email_address, page_size=2))
        assert len(threads) == 5
        assert "inbox" in client.threads.list_folders(bob.email_address)


def test_official_client_webhook_round_trip(emu: Emulator, org: OrgCredentials) -> None:
    hooks = HookServer()
    try:
        with Inkbox(org.api_key, base_url=emu.base_url) as client:
            bot = client.create_identity(unique("hooked"))
            # 0.4.4's webhook_url and org signing key are gone from the wire: a subscription
            # and the identity's key take their place; 0.4.4's verify_webhook still verifies.
            raw = httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": org.api_key})
            with raw:
                subscription = {
                    "url": hooks.url,
                    "event_types": ["message.received"],
                    "agent_identity_id": str(bot.id),
                }
                raw.post("/api/v1/webhooks/subscriptions", json=subscription).raise_for_status()
                minted = raw.post(f"/api/v1/identities/{bot.agent_handle}/signing-key", json={})
                secret = minted.json()["signing_key"]
            emu.inject_email(to=bot.email_address, from_address="a@example.com", subject="ping")
            wait_until(lambda: len(hooks.received) == 1)
            headers, body = hooks.received[0]
            assert verify_webhook(payload=body, headers=headers, secret=secret)
            assert json.loads(body)["event_type"] == "message.received"
    finally:
        hooks.close()
