"""Notes: org-scoped markdown texts shared with identities by explicit grants.

Admin keys and humans see every note. An identity-scoped key sees the notes
granted to its identity; a note it writes is granted to it automatically,
while one written by an admin or a human starts with no grants. Only admins
and humans grant; an identity's key may revoke only its own grant.
"""

from __future__ import annotations

import uuid
from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso

__all__ = [
    "create_note",
    "delete_note",
    "get_note",
    "grant_note",
    "list_note_access",
    "list_notes",
    "revoke_note",
    "update_note",
]

_NOT_FOUND = "Note not found"


def _grants(db: Db, note_id: str) -> list[Any]:
    return db.all(
        "SELECT * FROM note_access WHERE note_id = ? ORDER BY created_at, rowid", (note_id,)
    )


def _grant_record(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "note_id": row["note_id"],
        "identity_id": row["identity_id"],
        "created_at": iso(row["created_at"]),
    }


def _record(db: Db, row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "created_by": row["created_by"],
        "title": row["title"],
        "body": row["body"],
        "status": row["status"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "access": [_grant_record(g) for g in _grants(db, row["id"])],
    }


def _visible(db: Db, principal: Principal, row: Any) -> bool:
    if principal.is_org_admin:
        return True
    return any(g["identity_id"] == principal.identity_id for g in _grants(db, row["id"]))


def _find(db: Db, principal: Principal, note_id: str) -> Any:
    row = db.one(
        "SELECT * FROM notes WHERE id = ? AND organization_id = ?",
        (note_id, principal.organization_id),
    )
    if row is None or not _visible(db, principal, row):
        raise ApiError(404, _NOT_FOUND)
    return row


def _insert_grant(db: Db, note_id: str, identity_id: str) -> Any:
    grant_id = str(uuid.uuid4())
    db.insert(
        "note_access",
        {"id": grant_id, "note_id": note_id, "identity_id": identity_id, "created_at": db.now},
    )
    return db.one("SELECT * FROM note_access WHERE id = ?", (grant_id,))


def create_note(db: Db, principal: Principal, body: str, title: str | None) -> dict[str, Any]:
    """``POST /notes``."""
    note_id = str(uuid.uuid4())
    author = principal.identity_id or principal.user_id or principal.key_id or "unknown"
    db.insert(
        "notes",
        {
            "id": note_id,
            "organization_id": principal.organization_id,
            "created_by": author,
            "title": title,
            "body": body,
            "status": "active",
            "created_at": db.now,
            "updated_at": db.now,
        },
    )
    if not principal.is_org_admin and principal.identity_id is not None:
        _insert_grant(db, note_id, principal.identity_id)
    return get_note(db, principal, note_id)


def list_notes(
    db: Db,
    principal: Principal,
    *,
    q: str | None,
    identity_id: str | None,
    limit: int,
    offset: int,
    order: str,
) -> list[dict[str, Any]]:
    """``GET /notes``: visible notes, searched in title and body, newest first."""
    column = "created_at" if order == "created" else "updated_at"
    rows = db.all(
        f"SELECT * FROM notes WHERE organization_id = ? ORDER BY {column} DESC, rowid DESC",
        (principal.organization_id,),
    )
    chosen = []
    for row in rows:
        if not _visible(db, principal, row):
            continue
        if identity_id is not None and not any(
            g["identity_id"] == identity_id for g in _grants(db, row["id"])
        ):
            continue
        if q is not None and q.lower() not in f"{row['title'] or ''}\n{row['body']}".lower():
            continue
        chosen.append(row)
    return [_record(db, row) for row in chosen[offset : offset + limit]]


def get_note(db: Db, principal: Principal, note_id: str) -> dict[str, Any]:
    """``GET /notes/{id}``."""
    return _record(db, _find(db, principal, note_id))


def update_note(
    db: Db, principal: Principal, note_id: str, patch: dict[str, Any]
) -> dict[str, Any]:
    """``PATCH /notes/{id}``: ``title`` (null clears) and ``body``."""
    row = _find(db, principal, note_id)
    if patch:
        title = patch.get("title", row["title"])
        body = patch.get("body", row["body"])
        db.exec(
            "UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?",
            (title, body, db.now, row["id"]),
        )
    return get_note(db, principal, note_id)


def delete_note(db: Db, principal: Principal, note_id: str) -> None:
    """``DELETE /notes/{id}``."""
    row = _find(db, principal, note_id)
    db.exec("DELETE FROM notes WHERE id = ?", (row["id"],))


def list_note_access(db: Db, principal: Principal, note_id: str) -> list[dict[str, Any]]:
    """``GET /notes/{id}/access``."""
    row = _find(db, principal, note_id)
    return [_grant_record(g) for g in _grants(db, row["id"])]


def grant_note(db: Db, principal: Principal, note_id: str, identity_id: str) -> dict[str, Any]:
    """``POST /notes/{id}/access`` (admin keys and humans only)."""
    if not principal.is_org_admin:
        raise ApiError(403, "Only admin API keys and console users can grant access to notes")
    row = _find(db, principal, note_id)
    identity = db.one(
        "SELECT 1 FROM identities WHERE id = ? AND organization_id = ? AND status != 'deleted'",
        (identity_id, principal.organization_id),
    )
    if identity is None:
        raise ApiError(404, "Identity not found")
    if any(g["identity_id"] == identity_id for g in _grants(db, row["id"])):
        raise ApiError(409, "Access already granted")
    return _grant_record(_insert_grant(db, row["id"], identity_id))


def revoke_note(db: Db, principal: Principal, note_id: str, identity_id: str) -> None:
    """``DELETE /notes/{id}/access/{identity_id}`` (an identity's key: only its own grant)."""
    if not principal.is_org_admin and principal.identity_id != identity_id:
        raise ApiError(403, "An identity-scoped key can only revoke its own access")
    row = _find(db, principal, note_id)
    if not db.exec(
        "DELETE FROM note_access WHERE note_id = ? AND identity_id = ?", (row["id"], identity_id)
    ):
        raise ApiError(404, "Access grant not found")
