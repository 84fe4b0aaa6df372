"""Send an email from an agent identity, then a threaded reply."""

from __future__ import annotations

import uuid

import _runtime

from inkbox_sync import Inkbox


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        identity = inkbox.create_identity(f"mailer-{uuid.uuid4().hex[:6]}", display_name="Mailer")
        try:
            sent = identity.send_email(
                to=["user@example.com"],
                subject="Hello from Inkbox",
                body_text="Hi there!",
                body_html="<p>Hi there!</p>",
                cc=["manager@example.com"],
            )
            print("sent", sent.id, "in thread", sent.thread_id)
            reply = identity.send_email(
                to=["user@example.com"],
                subject=f"Re: {sent.subject}",
                body_text="Following up!",
                in_reply_to_message_id=sent.id,  # the Inkbox id works: the SDK sends its Message-ID
            )
            print("reply", reply.id, "in thread", reply.thread_id)
            assert reply.thread_id == sent.thread_id
            if _runtime.EMULATOR is not None:
                for delivery in _runtime.EMULATOR.outbox():
                    print(
                        "the outside world received:",
                        delivery["subject"],
                        "->",
                        delivery["to_addresses"],
                    )
        finally:
            identity.delete()


if __name__ == "__main__":
    main()
