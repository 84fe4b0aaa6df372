"""The official ``inkbox`` 0.4.4 client drives the phone emulation (a wire-level peer)."""

from __future__ import annotations

import time

import httpx2
from inkbox import (  # type: ignore[import-untyped]
    Inkbox,
    InkboxAPIError,
    RecipientBlockedError,
)

from inkbox_emulator import Emulator, OrgCredentials

from .phone_support import remote


def test_official_client_phone_smoke(emu: Emulator, org: OrgCredentials) -> None:
    emu.set_customer_campaign(org.organization_id)
    with Inkbox(org.api_key, base_url=emu.base_url) as client:
        identity = client.create_identity("phone-peer")
        number = identity.provision_phone_number(type="local", state="NY")
        assert number.number.startswith("+1212555")
        assert number.sms_status.value == "pending"
        assert [n.id for n in client.phone_numbers.list()] == [number.id]

        updated = client.phone_numbers.update(
            number.id,
            incoming_call_action="auto_accept",
            client_websocket_url="wss://agent.example/ws",
            filter_mode="whitelist",
        )
        assert updated.incoming_call_action == "auto_accept"
        assert updated.filter_mode_change_notice is not None
        assert updated.filter_mode_change_notice.redundant_rule_count == 0
        client.phone_numbers.update(number.id, filter_mode="blacklist")

        friend = remote()
        client.sms_opt_ins.opt_in(friend)
        assert client.sms_opt_ins.get(friend).status.value == "opted_in"
        assert [o.receiver_number for o in client.sms_opt_ins.list()] == [friend]
        emu.mark_sms_ready(str(number.id))

        sent = identity.send_text(to=friend, text="Hello from the emulator")
        assert sent.delivery_status.value == "queued"
        emu.inject_text(number.number, friend, "Hi back")
        texts = identity.list_texts()
        assert {t.text for t in texts} == {"Hello from the emulator", "Hi back"}
        conversations = identity.list_text_conversations()
        assert conversations[0].remote_phone_number == friend
        assert conversations[0].total_count == 2
        read = identity.mark_text_conversation_read(friend)
        assert read["updated_count"] == 1
        assert len(identity.get_text_conversation(friend)) == 2
        assert identity.get_text(sent.id).id == sent.id

        call = identity.place_call(to_number=remote())
        assert call.rate_limit is not None
        assert call.rate_limit.calls_used == 1
        emu.append_transcript(str(call.id), "local", "Hello caller")
        emu.append_transcript(str(call.id), "remote", "Hi agent")
        assert [c.id for c in identity.list_calls()] == [call.id]
        assert [t.text for t in identity.list_transcripts(call.id)] == ["Hello caller", "Hi agent"]
        hits = client.phone_numbers.search_transcripts(number.id, q="agent", party="remote")
        assert [h.text for h in hits] == ["Hi agent"]

        blocked = remote()
        # 0.4.4's per-number rule routes were removed on 2026-08-31 (the emulator clock is
        # past it): they answer 410; the rule goes on the identity-keyed route instead.
        try:
            client.phone_contact_rules.create(number.id, action="block", match_target=blocked)
        except InkboxAPIError as exc:
            assert exc.status_code == 410
        else:  # pragma: no cover
            raise AssertionError("expected a 410")
        with httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": org.api_key}) as http:
            rule = http.post(
                f"/api/v1/identities/{identity.agent_handle}/phone-contact-rules",
                json={"action": "block", "match_target": blocked},
            ).json()
        try:
            identity.send_text(to=blocked, text="nope")
        except RecipientBlockedError as exc:
            assert str(exc.matched_rule_id) == rule["id"]
        else:  # pragma: no cover
            raise AssertionError("expected RecipientBlockedError")
        assert [str(r.id) for r in client.phone_contact_rules.list_all()] == [rule["id"]]

        deadline = time.monotonic() + 5
        while identity.get_text(sent.id).delivery_status.value != "delivered":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        identity.release_phone_number()
        assert client.phone_numbers.list() == []
