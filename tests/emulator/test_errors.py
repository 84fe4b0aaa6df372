"""FastAPI-shaped errors: validation 422s, 404, 405, 307."""

from __future__ import annotations

import httpx2


def test_malformed_json(admin: httpx2.Client) -> None:
    response = admin.post(
        "/api/v1/identities/",
        content=b'{"agent_handle": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["type"] == "json_invalid"
    assert item["loc"][0] == "body"
    assert isinstance(item["loc"][1], int)
    assert item["msg"] == "JSON decode error"


def test_missing_and_wrong_types(admin: httpx2.Client) -> None:
    missing = admin.post("/api/v1/identities/", json={}).json()["detail"]
    assert missing == [
        {"type": "missing", "loc": ["body", "agent_handle"], "msg": "Field required", "input": {}}
    ]
    wrong = admin.post(
        "/api/v1/identities/", json={"agent_handle": 5, "display_name": ["x"], "tunnel": "edge"}
    ).json()["detail"]
    assert [(i["type"], i["loc"]) for i in wrong] == [
        ("string_type", ["body", "agent_handle"]),
        ("string_type", ["body", "display_name"]),
        ("model_attributes_type", ["body", "tunnel"]),
    ]
    literal = admin.post(
        "/api/v1/identities/", json={"agent_handle": "lit-x1", "tunnel": {"tls_mode": "x"}}
    ).json()["detail"][0]
    assert literal["type"] == "literal_error"
    assert literal["loc"] == ["body", "tunnel", "tls_mode"]
    assert literal["msg"] == "Input should be 'edge' or 'passthrough'"


def test_body_not_an_object_or_empty(admin: httpx2.Client) -> None:
    array = admin.post("/api/v1/identities/", json=["x"]).json()["detail"][0]
    assert array["type"] == "model_attributes_type"
    assert array["loc"] == ["body"]
    empty = admin.post("/api/v1/identities/").json()["detail"][0]
    assert empty == {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}


def test_not_found_and_method_not_allowed(admin: httpx2.Client) -> None:
    unknown = admin.get("/api/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not Found"}
    wrong = admin.put("/api/v1/identities/")
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": "Method Not Allowed"}
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert admin.get("/api/v1/signing-keys").status_code == 405


def test_slashless_redirects(admin: httpx2.Client) -> None:
    create = admin.post("/api/v1/identities", json={"agent_handle": "redirect-me"})
    assert create.status_code == 307
    assert create.headers["location"].endswith("/api/v1/identities/")
    assert admin.get("/api/v1/identities/redirect-me").status_code == 404  # nothing created
