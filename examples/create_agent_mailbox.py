"""A mailbox comes with its identity: create, update, search, delete."""

from __future__ import annotations

import uuid

import _runtime

from inkbox_sync import Inkbox


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        identity = inkbox.create_identity(f"support-{uuid.uuid4().hex[:6]}", display_name="Support")
        address = identity.email_address
        assert address is not None
        mailbox = inkbox.mailboxes.get(address)
        print("mailbox", mailbox.email_address, "sends from", mailbox.sending_domain)
        inkbox.mailboxes.update(address, webhook_url="https://example.com/hook")
        inkbox.mailboxes.update(address, webhook_url=None)
        if _runtime.EMULATOR is not None:
            _runtime.EMULATOR.inject_email(
                to=address,
                from_address="billing@example.com",
                subject="Invoice 42",
                body_text="Due Friday",
            )
        for hit in inkbox.mailboxes.search(address, q="invoice", limit=20):
            print("search hit:", hit.subject, "from", hit.from_address)
        identity.delete()  # removes the mailbox and the tunnel too
        print("deleted", address)


if __name__ == "__main__":
    main()
