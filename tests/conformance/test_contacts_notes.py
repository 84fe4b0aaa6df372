"""Contacts and notes: the official clients and ours send the same requests.

0.4.4 (``official=SEED``) for the calls whose wire did not change (notes; the
contacts list, lookup, get, plain create, update, delete, import and export of
one); 0.7.20 (``official=CURRENT``) for the current ones (create with
permissions, review-status filters, merge, bulk delete, export of many).
"""

from __future__ import annotations

import datetime
from typing import Any

from inkbox_emulator import Emulator

from .harness import CURRENT, run

VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\n"
    "EMAIL;TYPE=WORK:grace@navy.example\r\nTEL;TYPE=CELL:+12025550100\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken\r\nTEL:12\r\nEND:VCARD\r\n"
)


def card(module: Any) -> dict[str, Any]:
    return {
        "preferred_name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "company_name": "Analytical Engines",
        "birthday": datetime.date(1815, 12, 10),
        "notes": "met at the demo",
        "emails": [
            module.ContactEmail(label="work", value="ada@example.com", is_primary=True),
            module.ContactEmail(label=None, value="ada@home.example.org"),
        ],
        "phones": [module.ContactPhone(label="cell", value="+15551234567", is_primary=False)],
        "websites": [module.ContactWebsite(label=None, value="https://ada.example")],
        "dates": [module.ContactDate(label="anniversary", value=datetime.date(1835, 7, 8))],
        "addresses": [
            module.ContactAddress(
                label="home",
                street="12 St James's Sq",
                city="London",
                region=None,
                postal_code="SW1Y 4LE",
                country="UK",
            )
        ],
        "custom_fields": [module.ContactCustomField(label="favourite", value="numbers")],
    }


def raw_body(emu: Emulator) -> tuple[str, bytes]:
    last = emu.requests()[-1]
    return last.headers.get("content-type", ""), last.body


def test_contacts_unchanged_calls(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        contacts = client.contacts
        ada = contacts.create(**card(module))
        assert ada.emails[0].value == "ada@example.com" and ada.addresses[0].postal_code
        bob = contacts.create(given_name="Bob", birthday="1990-01-02")
        assert contacts.get(ada.id).preferred_name == "Ada Lovelace"
        assert contacts.get(str(bob.id)).given_name == "Bob"
        assert len(contacts.list()) == 2
        assert [c.id for c in contacts.list(q="ada", order="name", limit=5, offset=0)] == [ada.id]
        contacts.list(order="recent")
        for kwargs in (
            {"email": "ada@example.com"},
            {"email_contains": "home.example"},
            {"email_domain": "example.com"},
            {"phone": "+15551234567"},
            {"phone_contains": "5551234"},
        ):
            assert [c.id for c in contacts.lookup(**kwargs)] == [ada.id]
        updated = contacts.update(
            ada.id,
            notes=None,
            job_title="Analyst",
            birthday=None,
            emails=[module.ContactEmail(label=None, value="countess@example.com")],
            phones=None,
        )
        assert (updated.notes, updated.job_title, updated.phones) == (None, "Analyst", [])
        contacts.update(bob.id, birthday=datetime.date(1991, 2, 3), websites=[])
        rows = contacts.access.list(ada.id)
        assert [r.identity_id for r in rows] == [None]

        text = contacts.vcards.export_vcard(ada.id)
        assert "EMAIL:countess@example.com" in text
        result = contacts.vcards.import_vcards(VCARDS)
        assert raw_body(emu) == ("text/vcard", VCARDS.encode())
        assert (result.created_count, result.error_count) == (1, 1)
        assert [r.index for r in result.errors] == [1]
        contacts.vcards.import_vcards(text.encode(), content_type="text/x-vcard")
        assert raw_body(emu) == ("text/x-vcard", text.encode())
        contacts.delete(bob.id)

    run(emu, portal, scenario)


def test_notes(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        reader = client.create_identity("conf-reader")
        notes = client.notes
        first = notes.create(body="# Call\n\nAda wants a demo.", title="Ada")
        second = notes.create(body="plain")
        assert notes.get(first.id).title == "Ada"
        grant = notes.access.grant(first.id, identity_id=reader.id)
        assert grant.identity_id == reader.id
        notes.access.grant(str(second.id), identity_id=str(reader.id))
        assert [a.identity_id for a in notes.access.list(first.id)] == [reader.id]
        assert len(notes.list()) == 2
        assert (
            len(notes.list(q="demo", identity_id=reader.id, limit=10, offset=0, order="created"))
            == 1
        )
        notes.list(order="recent")
        assert notes.update(first.id, title=None).title is None
        assert notes.update(first.id, body="Demo booked.").body == "Demo booked."
        notes.update(second.id, title="Titled", body="still plain")
        notes.access.revoke(first.id, reader.id)
        notes.delete(second.id)

    run(emu, portal, scenario)


def test_contacts_current_calls(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        contacts = client.contacts
        agent = client.create_identity("conf-perm")
        chosen = contacts.create(
            preferred_name="Pat",
            emails=[module.ContactEmail(label=None, value="pat@example.com")],
            permissions=module.ContactCreatePermissions(
                identity_id=agent.id,
                emails={"pat@example.com": True},
                phones={},
                profile=True,
                memories=False,
            ),
        )
        assert [a.identity_id for a in chosen.access] == [agent.id]
        grouped = contacts.create(
            given_name="Sam",
            permissions=module.ContactCreatePermissions(
                identity_id=str(agent.id),
                email=module.ContactChannelAccessUpdate(
                    visible=True, contactable=["sam@example.com"]
                ),
                phone=module.ContactChannelAccessUpdate(visible=False),
            ),
        )
        duplicate = contacts.create(preferred_name="Patricia", job_title="CTO")
        contacts.update(duplicate.id, review_status="unreviewed")
        unreviewed = contacts.list(review_status=["unreviewed"])
        assert [c.id for c in unreviewed] == [duplicate.id]
        contacts.list(review_status=["unreviewed", "confirmed"], limit=10)

        merged = contacts.merge(
            chosen.id,
            losing_contact_ids=[duplicate.id],
            field_sources={"job_title": duplicate.id},
        )
        assert (merged.id, merged.job_title) == (chosen.id, "CTO")
        contacts.merge(grouped.id, losing_contact_ids=[str(chosen.id)])

        exported = contacts.vcards.export_vcards([grouped.id])
        assert exported.contact_count == 1 and "N:;Sam;;;" in exported.vcard
        deleted = contacts.bulk_delete([grouped.id, chosen.id])
        assert (deleted.deleted_count, deleted.error_count) == (1, 1)

    run(emu, portal, scenario, official=CURRENT)
