"""The official 0.7.20 client and ours send the same requests for phone on the current wire:
provisioning's ``local`` default, the forwarding fields, the calls routes (list, get,
transcripts, hangup), the place-call body, group/conversation/MMS texts, and the
identity-keyed mail and phone contact rules.

Where the two clients name a call differently (0.7.20's ``calls.transcripts(id)`` and
``identity.create_phone_contact_rule(...)``, ours ``transcripts.list(id)`` and
``identity.phone_contact_rules.create(...)``) the scenario calls each by its own name.
"""

from __future__ import annotations

from typing import Any

from inkbox_emulator import Emulator

from .harness import CURRENT, flavour_name, run

CUSTOMER = "+15551234567"
FRIEND = "+15552223333"


def test_numbers_provisioning_and_forwarding(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-numbers")
        number = identity.provision_phone_number()
        assert number.type == "local"
        other = client.create_identity("conf-numbers-2")
        client.phone_numbers.provision(agent_handle=other.agent_handle, state="CA")
        numbers = client.phone_numbers
        numbers.update(
            number.id,
            incoming_call_action="forward",
            forwarding_target_type="phone",
            forwarding_phone_number="+15557654321",
        )
        numbers.update(
            number.id,
            forwarding_target_type="sip",
            forwarding_phone_number=None,
            forwarding_sip_uri="sip:desk@pbx.example.com",
        )
        fetched = numbers.get(number.id)
        assert fetched.forwarding_sip_uri == "sip:desk@pbx.example.com"
        numbers.update(
            number.id,
            incoming_call_action="hosted_agent",
            forwarding_target_type=None,
            forwarding_sip_uri=None,
        )
        numbers.update(number.id, filter_mode="whitelist")
        assert next(n.number for n in numbers.list()) == number.number
        forwarded = client.create_identity(
            "conf-numbers-3",
            phone_number=module.IdentityPhoneNumberCreateOptions(
                state="TX",
                incoming_call_action="forward",
                forwarding_target_type="sip",
                forwarding_sip_uri="sip:front-desk@pbx.example.com",
            ),
        )
        assert forwarded.phone_number.forwarding_sip_uri == "sip:front-desk@pbx.example.com"

    run(emu, portal, scenario, official=CURRENT)


def test_calls(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-calls")
        number = identity.provision_phone_number()
        call = identity.place_call(to_number=CUSTOMER, client_websocket_url="wss://a.example/ws")
        client.calls.place(from_number=number.number, to_number="+15557654321")
        client.calls.place(
            from_number=number.number,
            to_number=FRIEND,
            mode="hosted_agent",
            reason="Confirm tomorrow's appointment",
            on_voicemail="leave_message",
            voicemail_message="Please call us back.",
            hosted_agent_authority_mode="contact_scoped",
        )
        identity.place_call(to_number=FRIEND, mode="hosted_agent", reason="Follow up")
        emu.append_transcript(str(call.id), "remote", "refund please")

        listed = client.calls.list(agent_identity_id=identity.id)
        assert len(listed) == 4
        client.calls.list(
            agent_identity_id=identity.id,
            limit=2,
            offset=1,
            is_blocked=False,
            start_datetime="2026-01-01",
            end_datetime="2030-12-31T23:59:59",
            tz="America/New_York",
        )
        identity.list_calls(limit=10)
        assert client.calls.get(call.id).remote_phone_number == CUSTOMER
        if flavour_name(module) == "official":
            segments = client.calls.transcripts(call.id)
        else:
            segments = client.transcripts.list(call.id)
        assert [t.text for t in segments] == ["refund please"]
        identity.list_transcripts(call.id)
        client.calls.hangup(call.id)
        other = identity.place_call(to_number=CUSTOMER)
        identity.hangup_call(other.id)

    run(emu, portal, scenario, official=CURRENT)


def test_texts(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-texts")
        number = identity.provision_phone_number(state="NY")
        emu.mark_sms_ready(str(number.id))
        for who in (CUSTOMER, FRIEND):
            emu.inject_text(to_number=number.number, from_number=who, text="START")
        identity.send_text(to=CUSTOMER, text="hello")
        group = identity.send_text(
            to=[CUSTOMER, FRIEND],
            text="Team update",
            media_urls=["https://cdn.example.com/plan.png"],
        )
        identity.send_text(conversation_id=group.conversation_id, text="One more thing")
        client.texts.send(number.id, to=CUSTOMER, media_urls=["https://cdn.example.com/a.jpg"])
        identity.list_text_conversations()
        every = identity.list_text_conversations(include_groups=True)
        assert any(c.is_group for c in every)
        client.texts.list_conversations(number.id, include_groups=True, limit=5)
        identity.get_text_conversation(str(group.conversation_id))
        client.texts.get_conversation(number.id, CUSTOMER, limit=5)
        identity.mark_text_conversation_read(str(group.conversation_id))
        client.texts.update_conversation(number.id, CUSTOMER, is_read=True)

    run(emu, portal, scenario, official=CURRENT)


def test_identity_keyed_contact_rules(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-rules")
        official = flavour_name(module) == "official"
        if official:
            phone_rule = identity.create_phone_contact_rule(
                action="block", match_target=CUSTOMER, direction="outbound"
            )
            identity.create_phone_contact_rule(action="allow", match_target=FRIEND)
            identity.list_phone_contact_rules()
            identity.list_phone_contact_rules(action="block", direction="outbound", limit=5)
            identity.get_phone_contact_rule(phone_rule.id)
            identity.update_phone_contact_rule(phone_rule.id, direction="both")
            identity.update_phone_contact_rule(phone_rule.id, action="allow", apply_to="inbound")
            identity.delete_phone_contact_rule(phone_rule.id)
            mail_rule = identity.create_mail_contact_rule(
                action="block", match_type="domain", match_target="spam.example"
            )
            identity.list_mail_contact_rules(match_type="domain", direction="both")
            identity.get_mail_contact_rule(mail_rule.id)
            identity.update_mail_contact_rule(mail_rule.id, action="allow")
            identity.update_mail_contact_rule(mail_rule.id, direction="inbound")
            identity.delete_mail_contact_rule(mail_rule.id)
            client.phone_identity_contact_rules.list_all(agent_identity_id=identity.id)
            client.phone_identity_contact_rules.list_all(action="allow", direction="inbound")
            client.mail_identity_contact_rules.list_all(agent_identity_id=identity.id, limit=5)
        else:
            phones, mails = identity.phone_contact_rules, identity.mail_contact_rules
            phone_rule = phones.create(action="block", match_target=CUSTOMER, direction="outbound")
            phones.create(action="allow", match_target=FRIEND)
            phones.list()
            phones.list(action="block", direction="outbound", limit=5)
            phones.get(phone_rule.id)
            phones.update(phone_rule.id, direction="both")
            phones.update(phone_rule.id, action="allow", apply_to="inbound")
            phones.delete(phone_rule.id)
            mail_rule = mails.create(
                action="block", match_type="domain", match_target="spam.example"
            )
            mails.list(match_type="domain", direction="both")
            mails.get(mail_rule.id)
            mails.update(mail_rule.id, action="allow")
            mails.update(mail_rule.id, direction="inbound")
            mails.delete(mail_rule.id)
            client.phone_contact_rules.list_all(agent_identity_id=identity.id)
            client.phone_contact_rules.list_all(action="allow", direction="inbound")
            client.mail_contact_rules.list_all(agent_identity_id=identity.id, limit=5)

    run(emu, portal, scenario, official=CURRENT)
