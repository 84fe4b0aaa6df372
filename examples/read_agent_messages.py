"""Read an agent's mailbox: iterate messages (paginated), unread ones, a thread."""

from __future__ import annotations

import uuid

import _runtime

from inkbox_sync import Inkbox


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        identity = inkbox.create_identity(f"reader-{uuid.uuid4().hex[:6]}")
        try:
            if _runtime.EMULATOR is not None:  # simulate customers writing in
                for n in range(3):
                    _runtime.EMULATOR.inject_email(
                        to=identity.email_address,
                        from_address=f"customer{n}@example.com",
                        subject=f"Question {n}",
                        body_text="Can you help?",
                    )
            for message in identity.iter_emails(page_size=2):
                print(message.subject, message.from_address, message.is_read)
            unread = list(identity.iter_unread_emails())
            print(len(unread), "unread")
            identity.mark_emails_read([m.id for m in unread])
            for message in identity.iter_emails(direction="inbound"):
                if message.thread_id is None:
                    continue
                thread = identity.get_thread(message.thread_id)
                print("thread", thread.subject, "has", thread.message_count, "message(s)")
                break
        finally:
            identity.delete()


if __name__ == "__main__":
    main()
