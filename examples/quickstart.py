"""The 0.4.4 README's quick start (identity and mail parts), blocking flavour.

Runs against a fresh local emulator, or the hosted API when INKBOX_API_KEY is set.
"""

from __future__ import annotations

import uuid

import _runtime

from inkbox_sync import Inkbox, WhoamiApiKeyResponse


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        me = inkbox.whoami()
        if isinstance(me, WhoamiApiKeyResponse):
            print("authenticated as key", me.key_id, "of", me.organization_id)

        handle = f"support-bot-{uuid.uuid4().hex[:6]}"
        identity = inkbox.create_identity(handle, display_name="Support Bot", description="demo")
        print("identity:", identity.agent_handle)
        print("  mailbox:", identity.email_address)
        print("  tunnel: ", identity.tunnel.public_url if identity.tunnel else None)

        identity.send_email(
            to=["customer@example.com"],
            subject="Your order has shipped",
            body_text="Tracking number: 1Z999AA10123456784",
        )
        if _runtime.EMULATOR is not None:  # a customer answers
            _runtime.EMULATOR.inject_email(
                to=identity.email_address,
                from_address="customer@example.com",
                subject="Re: Your order has shipped",
                body_text="Thanks!",
            )
        for message in identity.iter_emails():
            print("  mail:   ", message.direction, message.subject)
            if message.direction == "inbound":  # answer everyone on the thread
                reply = identity.reply_all(message.id, body_text="You're welcome!")
                print("  reply:  ", reply.subject, reply.to_addresses)

        identity.update(description=None)  # explicit None clears; omitted fields stay
        identity.update(mail_filter_mode="blacklist")  # accept mail from anyone not blocked
        print("  filter: ", identity.detail.mail_filter_mode)

        print("identities:", [s.agent_handle for s in inkbox.list_identities()])
        key_ = identity.create_signing_key()  # signs its webhooks
        print("signing key created at", key_.created_at.isoformat(), "(shown once; keep it)")

        identity.delete()
        print("deleted", handle)


if __name__ == "__main__":
    main()
