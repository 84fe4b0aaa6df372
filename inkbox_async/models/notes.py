"""Notes: free-form markdown texts of the organisation, shared with identities by explicit grants."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from inkbox_async.models._base import extra_field

__all__ = ["Note", "NoteAccess", "NoteOrder"]


class NoteOrder(enum.StrEnum):
    """Sort order of ``notes.list``: last updated first, or last created first."""

    RECENT = "recent"
    CREATED = "created"


@attrs.frozen(kw_only=True)
class NoteAccess:
    """A grant that lets one identity see a note (notes have no wildcard)."""

    id: UUID
    note_id: UUID
    identity_id: UUID
    created_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Note:
    """A note: a markdown ``body`` with an optional ``title``."""

    id: UUID
    organization_id: str
    created_by: str
    title: str | None = None
    body: str
    status: str
    created_at: datetime
    updated_at: datetime
    access: list[NoteAccess] = attrs.field(factory=list)
    extra: dict[str, Any] = extra_field()
