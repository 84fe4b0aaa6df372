"""An agent that knows who writes to it: address-book lookup and a note per conversation.

For each unread email the agent looks the sender up in the organisation's
address book (adding people it has never met), then appends the message to
its note about that person, so the next conversation starts with context.
"""

from __future__ import annotations

import uuid
from email.utils import parseaddr

import _runtime

from inkbox_sync import ContactEmail, Inkbox


def handle_inbox(agent: Inkbox, handle: str) -> None:
    """What the agent runs with its own (identity-scoped) key."""
    identity = agent.get_identity(handle)
    for message in identity.iter_unread_emails():
        name_hint, address = parseaddr(message.from_address)
        found = agent.contacts.lookup(email=address)
        if found:
            contact = found[0]
            print(f"{address} is {contact.display_name} ({contact.company_name or 'no company'})")
        else:
            contact = agent.contacts.create(
                preferred_name=name_hint or address,
                emails=[ContactEmail(value=address, is_primary=True)],
            )
            print(f"{address} is new: added to the address book")
        title = f"Conversation with {contact.display_name}"
        line = f"- {message.created_at:%Y-%m-%d %H:%M} {message.subject}: {message.snippet or ''}"
        notes = [n for n in agent.notes.list(q=title) if n.title == title]
        if notes:
            note = agent.notes.update(notes[0].id, body=f"{notes[0].body}\n{line}")
        else:
            note = agent.notes.create(title=title, body=f"# {title}\n\n{line}")
        print(f"note {note.title!r} now has {note.body.count(chr(10) + '- ')} message(s)")
        identity.mark_emails_read([message.id])


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as admin:
        handle = f"concierge-{uuid.uuid4().hex[:6]}"
        identity = admin.create_identity(handle)
        ada = admin.contacts.create(
            preferred_name="Ada Lovelace",
            company_name="Analytical Engines",
            emails=[ContactEmail(value="ada@example.com", label="work", is_primary=True)],
        )
        agent_key = admin.api_keys.create(label="concierge", scoped_identity_id=identity.id)
        try:
            if _runtime.EMULATOR is not None:  # simulate people writing in
                for sender, subject in (
                    ("ada@example.com", "Demo next week?"),
                    ("charles@example.com", "Engine parts"),
                    ("ada@example.com", "Re: Demo next week?"),
                ):
                    _runtime.EMULATOR.inject_email(
                        to=identity.email_address,
                        from_address=sender,
                        subject=subject,
                        body_text="Let's talk.",
                    )
            with Inkbox(api_key=agent_key.api_key, base_url=base_url) as agent:
                handle_inbox(agent, handle)
        finally:
            for note in admin.notes.list(identity_id=identity.id):
                admin.notes.delete(note.id)
            for contact in admin.contacts.lookup(email="charles@example.com"):
                admin.contacts.delete(contact.id)
            admin.contacts.delete(ada.id)
            identity.delete()


if __name__ == "__main__":
    main()
