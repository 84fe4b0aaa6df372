"""The official 0.7.20 client and ours send the same requests for identities and mail
sends on the current wire (create/get/update with the new fields, send with
``track_opens`` and inline images, forward, reply-all).

Every send must carry an ``Idempotency-Key`` (each client makes its own, so only its
presence is compared) and ``Prefer: idempotency-replay``.
"""

from __future__ import annotations

from typing import Any

import pytest

import inkbox_async
from inkbox_emulator import Emulator

from .harness import CURRENT, flavour_name, run

INLINE = {
    "filename": "chart.png",
    "content_type": "image/png",
    "content_base64": "iVBORw0KGgo=",
    "content_id": "chart1",
}


def last_post_headers(emu: Emulator) -> dict[str, str]:
    post = [r for r in emu.requests() if r.method == "POST"][-1]
    return {k.lower(): v for k, v in post.headers.items()}


def assert_keyed(emu: Emulator) -> None:
    headers = last_post_headers(emu)
    assert 1 <= len(headers["idempotency-key"]) <= 255
    assert headers["prefer"] == "idempotency-replay"


def test_identity_create_get_update_current_fields(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity(
            "conf-current",
            display_name="Current",
            imessage_enabled=True,
            contact_sharing_enabled=False,
        )
        assert identity.tunnel.public_host == "conf-current.inkboxwire.com"
        client.create_identity("conf-current-2", description=None)
        fetched = client.get_identity("conf-current")
        fetched.update(display_name="Renamed", description=None, imessage_enabled=False)
        fetched.update(mail_filter_mode="whitelist", phone_filter_mode="blacklist")
        fetched.update(mail_inbound_filter_mode="blacklist", phone_outbound_filter_mode="whitelist")
        fetched.update(contact_sharing_enabled=True, slack_filter_mode="whitelist")
        fetched.update()
        assert fetched.display_name == "Renamed"
        fetched.refresh()
        assert {s.agent_handle for s in client.list_identities()} == {
            "conf-current",
            "conf-current-2",
        }

    run(emu, portal, scenario, official=CURRENT)


def test_mail_send_forward_reply_all(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-mail")
        sent = identity.send_email(
            to=["reader@example.com"],
            subject="Report",
            body_html='<p><img src="cid:chart1"></p>',
            body_text="see chart",
            cc=["cc@example.com"],
            attachments=[INLINE],
            track_opens=True,
        )
        assert_keyed(emu)
        identity.send_email(to=["reader@example.com"], subject="Plain", body_text="x")
        assert_keyed(emu)
        identity.forward_email(str(sent.id), to=["boss@example.com"], track_opens=True)
        assert_keyed(emu)
        identity.forward_email(
            str(sent.id),
            cc=["team@example.com"],
            mode="wrapped",
            body_html="<p>FYI</p>",
            track_opens=True,
            include_original_attachments=False,
        )
        inbound = emu.inject_email(
            to=["conf-mail@inkboxmail.com", "colleague@example.com"],
            from_address="customer@example.com",
            subject="Question",
            body_text="?",
        )
        reply_all = (
            identity.reply_all_email if flavour_name(module) == "official" else identity.reply_all
        )
        reply = reply_all(str(inbound["id"]), body_text="Answer", body_html="<p>Answer</p>")
        assert_keyed(emu)
        assert reply.subject == "Re: Question"
        reply_all(
            str(inbound["id"]),
            subject="Custom",
            attachments=[INLINE],
            body_html="<img src='cid:chart1'>",
            reply_to="desk@example.com",
        )

    run(emu, portal, scenario, official=CURRENT)


def test_mailbox_update_signature(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-sig")
        address = identity.email_address
        box = client.mailboxes.update(
            address, signature_html="<p>Bot</p>", signature_text="-- Bot", signature_enabled=True
        )
        assert box.signature_enabled is True
        client.mailboxes.update(address, signature_html=None, filter_mode="whitelist")
        client.mailboxes.update(address, signature_enabled=False)
        assert client.mailboxes.get(address).signature_text == "-- Bot"

    run(emu, portal, scenario, official=CURRENT)


@pytest.mark.parametrize("call", ["list_access", "grant_access", "revoke_access"])
def test_removed_visibility_calls_send_nothing(emu: Emulator, call: str) -> None:
    # 0.7.20 has no such calls (removed in 0.5.13); ours warn and raise before any I/O.
    import anyio

    async def scenario() -> None:
        org = emu.create_org()
        async with inkbox_async.AsyncInkbox(org.api_key, base_url=emu.base_url) as inkbox:
            identity = await inkbox.create_identity("conf-vis")
            emu.clear_requests()
            args = (
                ()
                if call == "list_access"
                else (None,)
                if call == "grant_access"
                else (identity.id,)
            )
            with (
                pytest.warns(DeprecationWarning),
                pytest.raises(inkbox_async.FeatureRemovedError),
            ):
                await getattr(identity, call)(*args)
        assert emu.requests() == []

    emu.reset()
    anyio.run(scenario)
    assert not hasattr(CURRENT.AgentIdentity, call)
