"""Notes end to end: CRUD, search, and sharing with identities by explicit grants."""

from __future__ import annotations

import uuid

import pytest

from inkbox_async import (
    UNSET,
    AsyncInkbox,
    ConflictError,
    InvalidArgumentError,
    NoteOrder,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from inkbox_emulator import Emulator


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_create_get_update_delete(inkbox: AsyncInkbox) -> None:
    note = await inkbox.notes.create(body="# Call notes\n\nAda wants a demo.", title="Ada")
    assert (note.title, note.status, note.access) == ("Ada", "active", [])
    assert note.created_at.tzinfo is not None
    assert await inkbox.notes.get(str(note.id)) == note

    untitled = await inkbox.notes.update(note.id, title=None)
    assert untitled.title is None and untitled.body == note.body
    rewritten = await inkbox.notes.update(note.id, body="Demo booked.", title=UNSET)
    assert (rewritten.title, rewritten.body) == (None, "Demo booked.")
    assert (await inkbox.notes.update(note.id)).body == "Demo booked."

    await inkbox.notes.delete(note.id)
    with pytest.raises(NotFoundError):
        await inkbox.notes.get(note.id)


async def test_list_search_order_and_paging(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    first = await inkbox.notes.create(body="alpha body")
    emulator.advance_clock(1)
    second = await inkbox.notes.create(body="beta body", title="Alpha title")
    emulator.advance_clock(1)
    await inkbox.notes.update(first.id, body="alpha body, edited")

    assert [n.id for n in await inkbox.notes.list()] == [first.id, second.id]
    created = await inkbox.notes.list(order=NoteOrder.CREATED)
    assert [n.id for n in created] == [second.id, first.id]
    assert [n.id for n in await inkbox.notes.list(q="ALPHA", order="created")] == [
        second.id,
        first.id,
    ]
    assert [n.id for n in await inkbox.notes.list(q="edited")] == [first.id]
    assert [n.id for n in await inkbox.notes.list(limit=1, offset=1)] == [second.id]


async def test_sharing_with_identities(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    reader = await inkbox.create_identity(unique("reader"))
    outsider = await inkbox.create_identity(unique("outsider"))
    admin_note = await inkbox.notes.create(body="for the reader only")
    reader_key = await inkbox.api_keys.create(label="r", scoped_identity_id=reader.id)
    outsider_key = await inkbox.api_keys.create(label="o", scoped_identity_id=outsider.id)

    async with (
        AsyncInkbox(reader_key.api_key, base_url=emulator.base_url) as as_reader,
        AsyncInkbox(outsider_key.api_key, base_url=emulator.base_url) as as_outsider,
    ):
        # An admin's note starts shared with nobody.
        with pytest.raises(NotFoundError):
            await as_reader.notes.get(admin_note.id)
        grant = await inkbox.notes.access.grant(admin_note.id, identity_id=reader.id)
        assert (grant.note_id, grant.identity_id) == (admin_note.id, reader.id)
        with pytest.raises(ConflictError):
            await inkbox.notes.access.grant(admin_note.id, identity_id=str(reader.id))
        assert (await as_reader.notes.get(admin_note.id)).body == "for the reader only"
        with pytest.raises(NotFoundError):
            await as_outsider.notes.get(admin_note.id)
        with pytest.raises(NotFoundError):
            await as_outsider.notes.access.list(admin_note.id)
        assert await as_outsider.notes.list() == []

        # An identity's own note is shared with it; it cannot share notes itself.
        own = await as_outsider.notes.create(body="mine")
        assert [a.identity_id for a in own.access] == [outsider.id]
        with pytest.raises(PermissionDeniedError):
            await as_outsider.notes.access.grant(own.id, identity_id=reader.id)
        with pytest.raises(PermissionDeniedError):
            await as_outsider.notes.access.revoke(admin_note.id, reader.id)

        visible = await inkbox.notes.list(identity_id=reader.id)
        assert [n.id for n in visible] == [admin_note.id]
        rows = await inkbox.notes.access.list(admin_note.id)
        assert [r.identity_id for r in rows] == [reader.id]

        # A reader may give up its own access.
        await as_reader.notes.access.revoke(admin_note.id, reader.id)
        with pytest.raises(NotFoundError):
            await as_reader.notes.get(admin_note.id)
        with pytest.raises(NotFoundError):
            await inkbox.notes.access.revoke(admin_note.id, reader.id)


async def test_bad_input_fails_before_io(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    notes = inkbox.notes
    emulator.clear_requests()
    with pytest.raises(InvalidArgumentError, match="body"):
        await notes.create(body="  ")
    with pytest.raises(InvalidArgumentError, match="body"):
        await notes.update(uuid.uuid4(), body=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="note_id"):
        await notes.get("nope")
    with pytest.raises(InvalidArgumentError, match="limit"):
        await notes.list(limit=201)
    with pytest.raises(InvalidArgumentError, match="q"):
        await notes.list(q="x" * 201)
    with pytest.raises(InvalidArgumentError, match="order"):
        await notes.list(order="oldest")
    with pytest.raises(InvalidArgumentError, match="identity_id"):
        await notes.access.grant(uuid.uuid4(), identity_id="someone")
    assert emulator.requests() == []


async def test_the_service_rejects_what_the_client_cannot_know(inkbox: AsyncInkbox) -> None:
    note = await inkbox.notes.create(body="x")
    with pytest.raises(NotFoundError):
        await inkbox.notes.access.grant(note.id, identity_id=uuid.uuid4())
    with pytest.raises(UnprocessableEntityError):
        await inkbox.notes.create(body="y" * 100_001)
