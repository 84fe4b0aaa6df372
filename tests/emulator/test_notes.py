"""The emulator's notes over raw HTTP: shapes, merge-patch rules, grants, malformed requests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2
import pytest

from inkbox_emulator import OrgCredentials

from .conftest import as_key, create_identity, scoped_key, unique

N = "/api/v1/notes"


def note(client: httpx2.Client, **body: Any) -> dict[str, Any]:
    response = client.post(N, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_note_shape_and_merge_patch(admin: httpx2.Client, org: OrgCredentials) -> None:
    created = note(admin, body="hello", title="T")
    assert set(created) == {
        "id",
        "organization_id",
        "created_by",
        "title",
        "body",
        "status",
        "created_at",
        "updated_at",
        "access",
    }
    assert (created["organization_id"], created["status"], created["access"]) == (
        org.organization_id,
        "active",
        [],
    )
    url = f"{N}/{created['id']}"
    assert admin.patch(url, json={"body": None}).status_code == 422
    assert admin.patch(url, json={"body": ""}).status_code == 422
    assert admin.patch(url, json={}).json()["title"] == "T"
    cleared = admin.patch(url, json={"title": None}).json()
    assert (cleared["title"], cleared["body"]) == (None, "hello")
    assert admin.delete(url).status_code == 204
    assert admin.get(url).status_code == 404


def test_agent_notes_are_granted_to_their_author(admin: httpx2.Client) -> None:
    agent = create_identity(admin, unique("author"))
    key = scoped_key(admin, agent["id"])
    own = admin.post(N, json={"body": "mine"}, **as_key(admin, key)).json()
    assert own["created_by"] == agent["id"]
    assert [a["identity_id"] for a in own["access"]] == [agent["id"]]
    assert admin.get(N, **as_key(admin, key)).json()[0]["id"] == own["id"]
    response = admin.post(
        f"{N}/{own['id']}/access", json={"identity_id": agent["id"]}, **as_key(admin, key)
    )
    assert response.status_code == 403
    unknown = admin.post(f"{N}/{own['id']}/access", json={"identity_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    assert (
        admin.post(f"{N}/{own['id']}/access", json={"identity_id": agent["id"]}).status_code == 409
    )


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", N, b"{}"),
        ("POST", N, b'{"body": 5}'),
        ("POST", N, b'{"body": ""}'),
        ("POST", N, b'{"body": "x", "title": ["t"]}'),
        ("POST", N, b"not json"),
        ("POST", N, b'"a string"'),
        ("GET", f"{N}?limit=201", b""),
        ("GET", f"{N}?limit=zero", b""),
        ("GET", f"{N}?order=oldest", b""),
        ("GET", f"{N}?identity_id=nobody", b""),
        ("GET", f"{N}?q={'x' * 201}", b""),
        ("GET", f"{N}/not-a-uuid", b""),
        ("POST", f"{N}/{uuid.uuid4()}/access", b"{}"),
        ("POST", f"{N}/{uuid.uuid4()}/access", b'{"identity_id": null}'),
        ("POST", f"{N}/{uuid.uuid4()}/access", b'{"identity_id": "x"}'),
        ("DELETE", f"{N}/{uuid.uuid4()}/access/not-a-uuid", b""),
    ],
)
def test_malformed_requests_are_4xx(
    admin: httpx2.Client, method: str, path: str, content: bytes
) -> None:
    headers = {"Content-Type": "application/json"} if content else {}
    response = admin.request(method, path, content=content or None, headers=headers)
    assert 400 <= response.status_code < 500, response.text
