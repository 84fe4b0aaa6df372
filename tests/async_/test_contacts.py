"""The address book end to end: CRUD, lookup, merge, bulk delete, vCards, visibility."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import pytest

from inkbox_async import (
    UNSET,
    AsyncInkbox,
    Contact,
    ContactAddress,
    ContactChannelAccessUpdate,
    ContactCreatePermissions,
    ContactCustomField,
    ContactDate,
    ContactEmail,
    ContactImportStatus,
    ContactPhone,
    ContactReviewStatus,
    ContactWebsite,
    FeatureRemovedError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    NotFoundError,
    PermissionDeniedError,
    verify_webhook,
)
from inkbox_emulator import Emulator


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def ada(inkbox: AsyncInkbox, **extra: object) -> Contact:
    return await inkbox.contacts.create(
        preferred_name="Ada Lovelace",
        given_name="Ada",
        family_name="Lovelace",
        company_name="Analytical Engines",
        job_title="Programmer",
        birthday=datetime.date(1815, 12, 10),
        notes="Met at the Difference Engine demo",
        emails=[
            ContactEmail(value="ada@example.com", label="work", is_primary=True),
            ContactEmail(value="ada@home.example.org"),
        ],
        phones=[ContactPhone(value="+15551234567", label="cell")],
        websites=[ContactWebsite(value="https://ada.example", label="home")],
        dates=[ContactDate(value=datetime.date(1835, 7, 8), label="anniversary")],
        addresses=[ContactAddress(label="home", city="London", postal_code="SW1Y 4LE")],
        custom_fields=[ContactCustomField(label="favourite", value="Bernoulli numbers")],
        **extra,  # type: ignore[arg-type]
    )


async def test_create_get_update_delete(inkbox: AsyncInkbox) -> None:
    created = await ada(inkbox)
    assert created.display_name == "Ada Lovelace"
    assert created.birthday == datetime.date(1815, 12, 10)
    assert created.emails[0] == ContactEmail(value="ada@example.com", label="work", is_primary=True)
    assert created.emails[1].is_primary is False and created.emails[1].label is None
    assert created.phones == [ContactPhone(value="+15551234567", label="cell")]
    assert created.websites[0].value == "https://ada.example"
    assert created.dates[0].value == datetime.date(1835, 7, 8)
    assert created.addresses[0].postal_code == "SW1Y 4LE"
    assert created.custom_fields == [
        ContactCustomField(label="favourite", value="Bernoulli numbers")
    ]
    assert [a.is_wildcard for a in created.access] == [True]
    assert created.review_status == ContactReviewStatus.CONFIRMED
    assert created.created_at.tzinfo is not None

    assert await inkbox.contacts.get(str(created.id)) == created

    updated = await inkbox.contacts.update(
        created.id,
        notes=None,
        job_title="Analyst",
        emails=[ContactEmail(value="countess@example.com")],
        birthday=UNSET,
    )
    assert updated.notes is None
    assert updated.job_title == "Analyst"
    assert [e.value for e in updated.emails] == ["countess@example.com"]
    assert updated.birthday == created.birthday
    assert updated.phones == created.phones

    cleared = await inkbox.contacts.update(created.id, phones=None, birthday=None)
    assert cleared.phones == [] and cleared.birthday is None
    unchanged = await inkbox.contacts.update(created.id)
    assert unchanged.job_title == "Analyst"

    await inkbox.contacts.delete(created.id)
    with pytest.raises(NotFoundError):
        await inkbox.contacts.get(created.id)


async def test_list_search_order_paging_and_review_status(inkbox: AsyncInkbox) -> None:
    for name in ("Carol", "alice", "Bob"):
        await inkbox.contacts.create(preferred_name=name)
    by_name = await inkbox.contacts.list(order="name")
    assert [c.preferred_name for c in by_name] == ["alice", "Bob", "Carol"]
    recent = await inkbox.contacts.list(order="recent", limit=1)
    assert [c.preferred_name for c in recent] == ["Bob"]
    page = await inkbox.contacts.list(order="name", limit=2, offset=1)
    assert [c.preferred_name for c in page] == ["Bob", "Carol"]
    assert [c.preferred_name for c in await inkbox.contacts.list(q="LIC")] == ["alice"]

    bob = by_name[1]
    await inkbox.contacts.update(bob.id, review_status=ContactReviewStatus.UNREVIEWED)
    unreviewed = await inkbox.contacts.list(review_status="unreviewed")
    assert [c.id for c in unreviewed] == [bob.id]
    both = await inkbox.contacts.list(review_status=["unreviewed", ContactReviewStatus.CONFIRMED])
    assert len(both) == 3


async def test_lookup_by_each_filter(inkbox: AsyncInkbox) -> None:
    created = await ada(inkbox)
    await inkbox.contacts.create(
        preferred_name="Other", emails=[ContactEmail(value="other@elsewhere.net")]
    )

    async def ids(**kwargs: str) -> list[uuid.UUID]:
        return [c.id for c in await inkbox.contacts.lookup(**kwargs)]

    assert await ids(email="ADA@example.com") == [created.id]
    assert await ids(email_contains="home.example") == [created.id]
    assert await ids(email_domain="example.com") == [created.id]
    assert await ids(phone="+15551234567") == [created.id]
    assert await ids(phone_contains="5551234") == [created.id]
    assert await ids(email="nobody@example.com") == []


async def test_create_with_permissions_hides_it_from_other_identities(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    allowed = await inkbox.create_identity(unique("allowed"))
    other = await inkbox.create_identity(unique("other"))
    secret = await inkbox.contacts.create(
        preferred_name="Private Person",
        emails=[ContactEmail(value="private@example.com")],
        permissions=ContactCreatePermissions(
            identity_id=allowed.id,
            emails={"private@example.com": True},
            profile=True,
            memories=False,
        ),
    )
    public = await inkbox.contacts.create(preferred_name="Everyone's Contact")
    assert [a.identity_id for a in secret.access] == [allowed.id]

    other_key = await inkbox.api_keys.create(label="other", scoped_identity_id=other.id)
    allowed_key = await inkbox.api_keys.create(label="allowed", scoped_identity_id=allowed.id)
    async with AsyncInkbox(other_key.api_key, base_url=emulator.base_url) as as_other:
        with pytest.raises(NotFoundError):
            await as_other.contacts.get(secret.id)
        with pytest.raises(NotFoundError):
            await as_other.contacts.vcards.export_vcard(secret.id)
        assert [c.id for c in await as_other.contacts.list()] == [public.id]
        assert await as_other.contacts.lookup(email="private@example.com") == []
        with pytest.raises(PermissionDeniedError):
            await as_other.contacts.merge(public.id, losing_contact_ids=[secret.id])
    async with AsyncInkbox(allowed_key.api_key, base_url=emulator.base_url) as as_allowed:
        assert (await as_allowed.contacts.get(secret.id)).preferred_name == "Private Person"
        assert {c.id for c in await as_allowed.contacts.list()} == {secret.id, public.id}


async def test_merge_combines_and_retires_the_losers(inkbox: AsyncInkbox) -> None:
    keeper = await inkbox.contacts.create(
        preferred_name="Grace Hopper", emails=[ContactEmail(value="grace@navy.example")]
    )
    duplicate = await inkbox.contacts.create(
        preferred_name="Amazing Grace",
        job_title="Rear Admiral",
        emails=[
            ContactEmail(value="GRACE@navy.example"),
            ContactEmail(value="grace@cobol.example"),
        ],
        phones=[ContactPhone(value="+12025550100")],
    )
    merged = await inkbox.contacts.merge(
        keeper.id,
        losing_contact_ids=[duplicate.id],
        field_sources={"preferred_name": duplicate.id},
    )
    assert merged.id == keeper.id
    assert merged.preferred_name == "Amazing Grace"
    assert merged.job_title == "Rear Admiral"
    assert [e.value for e in merged.emails] == ["grace@navy.example", "grace@cobol.example"]
    assert [p.value for p in merged.phones] == ["+12025550100"]
    assert [c.id for c in await inkbox.contacts.list()] == [keeper.id]
    loser = await inkbox.contacts.get(duplicate.id)
    assert loser.merged_into_contact_id == keeper.id and loser.status == "merged"


async def test_bulk_delete_reports_each_id(inkbox: AsyncInkbox) -> None:
    first = await inkbox.contacts.create(preferred_name="One")
    second = await inkbox.contacts.create(preferred_name="Two")
    missing = uuid.uuid4()
    result = await inkbox.contacts.bulk_delete([first.id, str(second.id), missing])
    assert (result.deleted_count, result.error_count) == (2, 1)
    assert [(r.contact_id, r.status) for r in result.results] == [
        (first.id, "deleted"),
        (second.id, "deleted"),
        (missing, "error"),
    ]
    assert result.results[2].error_code == "not_found"
    assert await inkbox.contacts.list() == []


async def test_vcard_export_import_round_trip(inkbox: AsyncInkbox) -> None:
    original = await ada(inkbox, name_prefix="Lady")
    card = await inkbox.contacts.vcards.export_vcard(original.id)
    assert card.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert "EMAIL;PREF=1;TYPE=work:ada@example.com" in card

    imported = await inkbox.contacts.vcards.import_vcards(card)
    assert (imported.created_count, imported.error_count) == (1, 0)
    copy = imported.results[0].contact
    assert copy is not None and imported.created_ids == [copy.id]
    fields = [
        "preferred_name",
        "name_prefix",
        "given_name",
        "family_name",
        "company_name",
        "job_title",
        "birthday",
        "notes",
        "emails",
        "phones",
        "websites",
        "dates",
        "addresses",
        "custom_fields",
    ]
    for name in fields:
        assert getattr(copy, name) == getattr(original, name), name

    many = await inkbox.contacts.vcards.export_vcards([original.id, copy.id])
    assert many.contact_count == 2 and many.content_type == "text/vcard"
    assert many.vcard.count("BEGIN:VCARD") == 2
    as_bytes = await inkbox.contacts.vcards.import_vcards(
        many.vcard.encode(), content_type="text/x-vcard"
    )
    assert as_bytes.created_count == 2


async def test_two_hundred_cards_some_malformed(inkbox: AsyncInkbox) -> None:
    bad = {7, 50, 51, 123, 199}
    cards = []
    for i in range(200):
        if i in bad:
            cards.append(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken {i}\r\nTEL:12\r\nEND:VCARD\r\n")
        else:
            cards.append(
                "BEGIN:VCARD\r\nVERSION:3.0\r\n"
                f"N:Person{i};Zoë;;;\r\nFN:Zoë Person{i}\r\n"
                f"EMAIL;TYPE=INTERNET,WORK:zoe{i}@\r\n example.com\r\n"
                f"TEL;TYPE=CELL:+1 (555) 01{i:03d}\r\n"
                "END:VCARD\r\n"
            )
    result = await inkbox.contacts.vcards.import_vcards("".join(cards))
    assert (result.created_count, result.error_count) == (195, 5)
    assert [e.index for e in result.errors] == sorted(bad)
    assert all(e.status == ContactImportStatus.ERROR and e.error for e in result.errors)
    assert [r.index for r in result.results] == list(range(200))
    found = await inkbox.contacts.lookup(email="zoe8@example.com")
    assert [c.given_name for c in found] == ["Zoë"]
    assert [p.value for p in found[0].phones] == ["+155501008"]
    assert len(await inkbox.contacts.list(limit=1000)) == 195


async def test_removed_0_4_4_calls(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    with pytest.warns(DeprecationWarning, match="permissions="):
        contact = await inkbox.contacts.create(preferred_name="Legacy", access_identity_ids=None)
    assert [a.is_wildcard for a in contact.access] == [True]
    emulator.clear_requests()
    with (
        pytest.warns(DeprecationWarning, match="ContactCreatePermissions"),
        pytest.raises(FeatureRemovedError),
    ):
        await inkbox.contacts.create(preferred_name="X", access_identity_ids=[uuid.uuid4()])
    with (
        pytest.warns(DeprecationWarning, match=r"contacts\.access\.grant"),
        pytest.raises(FeatureRemovedError),
    ):
        await inkbox.contacts.access.grant(contact.id, wildcard=True)
    with (
        pytest.warns(DeprecationWarning, match=r"contacts\.access\.revoke"),
        pytest.raises(FeatureRemovedError),
    ):
        await inkbox.contacts.access.revoke(contact.id, uuid.uuid4())
    assert emulator.requests() == []
    rows = await inkbox.contacts.access.list(contact.id)
    assert [r.identity_id for r in rows] == [None]


async def test_bad_input_fails_before_io(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    contacts = inkbox.contacts
    emulator.clear_requests()
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        await contacts.lookup()
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        await contacts.lookup(email="a@example.com", phone="+15551234567")
    with pytest.raises(InvalidArgumentError, match=r"E\.164"):
        await contacts.lookup(phone="555-1234")
    with pytest.raises(InvalidArgumentError, match=r"phones\[0\]\.value"):
        await contacts.create(phones=[ContactPhone(value="5551234")])
    with pytest.raises(InvalidArgumentError, match=r"emails\[0\]\.value"):
        await contacts.create(emails=[ContactEmail(value="not an email")])
    with pytest.raises(InvalidArgumentError, match="birthday"):
        await contacts.create(birthday="10/12/1815")
    with pytest.raises(InvalidArgumentTypeError, match="emails"):
        await contacts.create(emails="ada@example.com")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="contact_id"):
        await contacts.get("not-a-uuid")
    with pytest.raises(InvalidArgumentError, match="q"):
        await contacts.list(q="x" * 101)
    with pytest.raises(InvalidArgumentError, match="offset"):
        await contacts.list(offset=10_001)
    with pytest.raises(InvalidArgumentError, match="order"):
        await contacts.list(order="alphabetical")
    with pytest.raises(InvalidArgumentError, match="review_status"):
        await contacts.update(uuid.uuid4(), review_status="maybe")
    with pytest.raises(InvalidArgumentError, match="losing_contact_ids"):
        same = uuid.uuid4()
        await contacts.merge(same, losing_contact_ids=[same])
    with pytest.raises(InvalidArgumentError, match="losing_contact_ids"):
        await contacts.merge(uuid.uuid4(), losing_contact_ids=[])
    with pytest.raises(InvalidArgumentError, match="field_sources"):
        await contacts.merge(
            uuid.uuid4(), losing_contact_ids=[uuid.uuid4()], field_sources={"notes": uuid.uuid4()}
        )
    with pytest.raises(InvalidArgumentError, match="contact_ids"):
        await contacts.bulk_delete([])
    with pytest.raises(InvalidArgumentError, match="at most 25"):
        await contacts.vcards.export_vcards([uuid.uuid4() for _ in range(26)])
    with pytest.raises(InvalidArgumentError, match="content"):
        await contacts.vcards.import_vcards("   ")
    with pytest.raises(InvalidArgumentError, match="5 MiB"):
        await contacts.vcards.import_vcards(b"x" * (5 * 1024 * 1024 + 1))
    with pytest.raises(InvalidArgumentError, match="content_type"):
        await contacts.vcards.import_vcards("BEGIN:VCARD", content_type="application/json")
    with pytest.raises(InvalidArgumentError, match="profile"):
        await contacts.create(
            permissions=ContactCreatePermissions(
                identity_id=uuid.uuid4(), profile=False, emails={"a@example.com": True}
            )
        )
    with pytest.raises(InvalidArgumentError, match="contactable"):
        await contacts.create(
            permissions=ContactCreatePermissions(
                identity_id=uuid.uuid4(),
                email=ContactChannelAccessUpdate(contactable=["a"], inbound_contactable=["b"]),
            )
        )
    assert emulator.requests() == []


async def test_inbound_mail_from_a_known_contact_names_it_in_the_webhook(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    bot = await inkbox.create_identity(unique("front-desk"))
    key = await bot.create_signing_key()
    address = bot.email_address
    assert address is not None
    await bot.subscribe_webhook(receiver.url, events=["message.received"])
    grace = await inkbox.contacts.create(
        given_name="Grace",
        family_name="Hopper",
        emails=[ContactEmail(value="grace@navy.example")],
    )
    emulator.inject_email(
        to=address,
        from_address="Grace@Navy.example",
        cc=["stranger@example.com"],
        subject="COBOL",
        body_text="Shall we?",
    )
    headers, body = receiver.wait("message.received")
    assert verify_webhook(payload=body, headers=headers, secret=key.signing_key)
    contacts = json.loads(body)["data"]["contacts"]
    assert contacts == [
        {
            "bucket": "from",
            "address": "Grace@Navy.example",
            "id": str(grace.id),
            "name": "Grace Hopper",
            "memories": [],
        }
    ]
    assert (await inkbox.contacts.get(contacts[0]["id"])).emails[0].value == "grace@navy.example"
