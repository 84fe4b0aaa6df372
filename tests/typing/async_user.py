"""Written as an async user would; mypy --strict checks the public types users get."""

from __future__ import annotations

from datetime import date

from inkbox_async import (
    AsyncAgentIdentity,
    AsyncInkbox,
    CallMode,
    Contact,
    ContactEmail,
    ContactRuleDirection,
    CreatedApiKey,
    IdentityDetail,
    InkboxConnectionError,
    Message,
    Note,
    PhoneCall,
    PhoneCallWithRateLimit,
    PhoneContactRule,
    StorageLimitExceededError,
    TextMessage,
)


async def main(key: str, base_url: str) -> None:
    async with AsyncInkbox(api_key=key, base_url=base_url) as inkbox:
        me = await inkbox.whoami()
        print(me.organization_id)
        identity: AsyncAgentIdentity = await inkbox.create_identity(
            "sales-bot", display_name="Sales Bot"
        )
        detail: IdentityDetail = (await identity.refresh()).detail
        print(detail.tunnel.public_host if detail.tunnel else None)
        await identity.update(description=None)
        await identity.update(imessage_enabled=True, mail_inbound_filter_mode="whitelist")
        try:
            sent: Message = await identity.send_email(
                to=["a@example.com"], subject="s", body_html="<p/>", track_opens=True
            )
            reply: Message = await identity.reply_all(sent.id, body_text="again")
            print(reply.subject)
        except StorageLimitExceededError as full:
            print(full.limit_bytes, full.upgrade_url, full.agent_support)
        except InkboxConnectionError as lost:
            retry_with: str | None = lost.idempotency_key
            print(retry_with)
        key_: CreatedApiKey = await inkbox.api_keys.create(
            label="bot", scoped_identity_id=identity.id
        )
        print(key_.record.id)
        status = await AsyncInkbox.get_signup_status(key_.api_key, base_url=base_url)
        print(status.restrictions.max_sends_per_day)
        known: list[Contact] = await inkbox.contacts.lookup(email="ada@example.com")
        if not known:
            known = [await inkbox.contacts.create(emails=[ContactEmail(value="ada@example.com")])]
        note: Note = await inkbox.notes.create(body="met", title=known[0].display_name)
        await inkbox.notes.update(note.id, title=None)
        card: str = await inkbox.contacts.vcards.export_vcard(known[0].id)
        print((await inkbox.contacts.vcards.import_vcards(card)).created_ids)
        calls: list[PhoneCall] = await identity.list_calls(start_datetime=date(2026, 1, 1))
        placed: PhoneCallWithRateLimit = await identity.place_call(
            to_number="+15551234567", mode=CallMode.HOSTED_AGENT, reason="Confirm the order"
        )
        print(len(calls), (await inkbox.calls.hangup(placed.id)).hangup_reason)
        rule: PhoneContactRule = await identity.phone_contact_rules.create(
            action="block", match_target="+15550001111", direction=ContactRuleDirection.INBOUND
        )
        await inkbox.phone_contact_rules.for_identity("sales-bot").update(rule.id, direction="both")
        group: TextMessage = await identity.send_text(
            to=["+15551234567", "+15552223333"], text="hi"
        )
        print(group.recipients, group.conversation_id)
