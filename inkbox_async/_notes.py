"""``inkbox.notes``: the organisation's notes and the grants that share them with identities."""

from __future__ import annotations

import builtins
from uuid import UUID

from inkbox_async import _contact_bodies as bodies
from inkbox_async import _validate as check
from inkbox_async._converter import structure, structure_list
from inkbox_async._paths import NOTES, note_path, segment
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.notes import Note, NoteAccess, NoteOrder

from ._requester import AsyncRequester


class AsyncNoteGrants:
    """``inkbox.notes.access``: which identities may see a note (no wildcard)."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def list(self, note_id: UUID | str) -> builtins.list[NoteAccess]:
        """The identities a note is shared with."""
        data = await self._requester.request("GET", note_path(note_id, "access"))
        return structure_list(data, NoteAccess)

    async def grant(self, note_id: UUID | str, *, identity_id: UUID | str) -> NoteAccess:
        """Share a note with one identity (admin keys)."""
        path = note_path(note_id, "access")
        body = {"identity_id": check.uuid("identity_id", identity_id)}
        return structure(await self._requester.request("POST", path, json=body), NoteAccess)

    async def revoke(self, note_id: UUID | str, identity_id: UUID | str) -> None:
        """Stop sharing a note with an identity (an identity's key may revoke only its own)."""
        path = note_path(note_id, "access", segment(check.uuid("identity_id", identity_id)))
        await self._requester.request("DELETE", path)


class AsyncNotes:
    """``inkbox.notes``: list, read, write and delete notes.

    A note written with an identity's key is shared with that identity; one
    written with an admin key is shared with nobody until granted.
    """

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester
        self.access = AsyncNoteGrants(requester)
        """The grants that share notes with identities."""

    async def list(
        self,
        *,
        q: str | None = None,
        identity_id: UUID | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order: NoteOrder | str | None = None,
    ) -> builtins.list[Note]:
        """Notes, optionally filtered.

        ``q`` is a substring (at most 200 characters); ``identity_id`` keeps
        the notes shared with that identity; ``limit`` is 1-200 (the service
        returns 50 by default); ``order`` is ``"recent"`` or ``"created"``.
        """
        params = bodies.note_list_query(
            q=q, identity_id=identity_id, limit=limit, offset=offset, order=order
        )
        return structure_list(await self._requester.request("GET", NOTES, params=params), Note)

    async def get(self, note_id: UUID | str) -> Note:
        """One note."""
        return structure(await self._requester.request("GET", note_path(note_id)), Note)

    async def create(self, *, body: str, title: str | None = None) -> Note:
        """Write a note: a markdown ``body`` and an optional ``title``."""
        payload = bodies.note_create(body, title)
        return structure(await self._requester.request("POST", NOTES, json=payload), Note)

    async def update(
        self,
        note_id: UUID | str,
        *,
        title: str | Unset | None = UNSET,
        body: str | Unset = UNSET,
    ) -> Note:
        """Change the title (``None`` removes it) or the body (which cannot be removed)."""
        path = note_path(note_id)
        payload = bodies.note_patch(title, body)
        return structure(await self._requester.request("PATCH", path, json=payload), Note)

    async def delete(self, note_id: UUID | str) -> None:
        """Delete a note."""
        await self._requester.request("DELETE", note_path(note_id))
