"""Vault lifecycle and keys over raw HTTP: info, initialize, unlock, keys, PUT primary, delete."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import as_key, create_identity, scoped_key
from .vault_support import (
    KEY_FIELDS,
    VECTOR_LOGIN_ID,
    VECTOR_LOGIN_PAYLOAD,
    VECTOR_PRIMARY,
    VECTOR_RECOVERY,
    V,
    auth_hash,
    blob,
    detail_of,
    init_body,
    initialize,
    locs,
    material,
)

INFO_FIELDS = {
    "id",
    "organization_id",
    "created_at",
    "updated_at",
    "key_count",
    "secret_count",
    "recovery_key_count",
}
NO_VAULT = "Vault has not been initialized for this organization"


def _handle() -> str:
    return f"vault-{uuid.uuid4().hex[:10]}"


def test_no_vault_answers_404_everywhere(admin: httpx2.Client) -> None:
    for path in ("/info", "/unlock", f"/unlock?auth_hash={auth_hash()}", "/keys", "/secrets"):
        response = admin.get(V + path)
        assert response.status_code == 404, path
        assert detail_of(response) == NO_VAULT
    assert admin.get(f"{V}/secrets/{uuid.uuid4()}").status_code == 404
    replace = {"id": str(uuid.uuid4()), "wrapped_org_encryption_key": blob()}
    replace |= {"auth_hash": auth_hash(), "current_auth_hash": auth_hash()}
    assert admin.put(f"{V}/keys/primary", json=replace).status_code == 404
    assert admin.delete(f"{V}/keys/{auth_hash()}").status_code == 404


def test_initialize_info_and_keys(admin: httpx2.Client, org: OrgCredentials) -> None:
    body = init_body()
    response = admin.post(f"{V}/initialize", json=body)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"vault_id", "vault_key_id", "recovery_key_count"}
    assert created["vault_key_id"] == body["vault_key"]["id"]
    assert created["recovery_key_count"] == 4
    uuid.UUID(created["vault_id"])

    info = admin.get(f"{V}/info").json()
    assert set(info) == INFO_FIELDS
    assert info["id"] == created["vault_id"]
    assert info["organization_id"] == org.organization_id
    assert (info["key_count"], info["recovery_key_count"], info["secret_count"]) == (1, 4, 0)
    assert info["created_at"].endswith("Z")

    keys = admin.get(f"{V}/keys").json()
    assert [k["id"] for k in keys] == [body["vault_key"]["id"]] + [
        k["id"] for k in body["recovery_keys"]
    ]
    for key in keys:
        assert set(key) == KEY_FIELDS  # metadata only: no wrapped key, no auth hash
        assert key["created_by"].startswith("user_")
    primary = admin.get(f"{V}/keys", params={"type": "primary"}).json()
    assert [(k["id"], k["key_type"]) for k in primary] == [(body["vault_key"]["id"], "primary")]
    recovery = admin.get(f"{V}/keys", params={"type": "recovery"}).json()
    assert {k["key_type"] for k in recovery} == {"recovery"} and len(recovery) == 4
    bad = admin.get(f"{V}/keys", params={"type": "PRIMARY"})
    assert locs(bad) == [["query", "type"]]


def test_initialize_twice_is_409(admin: httpx2.Client) -> None:
    initialize(admin)
    again = admin.post(f"{V}/initialize", json=init_body())
    assert again.status_code == 409
    assert detail_of(again) == "This organization already has a vault"
    assert admin.get(f"{V}/info").json()["recovery_key_count"] == 4


def _broken(change: str) -> dict[str, Any]:
    body = init_body()
    primary, first = body["vault_key"], body["recovery_keys"][0]
    if change == "id":
        primary["id"] = "not-a-uuid"
    elif change == "wrapped_not_base64":
        primary["wrapped_org_encryption_key"] = "%%%not base64%%%"
    elif change == "wrapped_bad_padding":
        primary["wrapped_org_encryption_key"] = blob().rstrip("=")[:-1]
    elif change == "wrapped_too_short":
        primary["wrapped_org_encryption_key"] = blob(27)
    elif change == "auth_hash_short":
        primary["auth_hash"] = auth_hash()[:63]
    elif change == "auth_hash_not_hex":
        primary["auth_hash"] = "z" * 64
    elif change == "primary_key_type":
        primary["key_type"] = "recovery"
    elif change == "recovery_key_type":
        first["key_type"] = "primary"
    elif change == "unknown_key_type":
        first["key_type"] = "backup"
    elif change == "missing_key_type":
        del primary["key_type"]
    elif change == "missing_vault_key":
        del body["vault_key"]
    elif change == "no_recovery":
        body["recovery_keys"] = []
    elif change == "recovery_not_list":
        body["recovery_keys"] = first
    elif change == "duplicate_id":
        first["id"] = primary["id"]
    elif change == "duplicate_hash":
        first["auth_hash"] = primary["auth_hash"]
    return body


BROKEN_LOCS = {
    "id": ["body", "vault_key", "id"],
    "wrapped_not_base64": ["body", "vault_key", "wrapped_org_encryption_key"],
    "wrapped_bad_padding": ["body", "vault_key", "wrapped_org_encryption_key"],
    "wrapped_too_short": ["body", "vault_key", "wrapped_org_encryption_key"],
    "auth_hash_short": ["body", "vault_key", "auth_hash"],
    "auth_hash_not_hex": ["body", "vault_key", "auth_hash"],
    "primary_key_type": ["body", "vault_key", "key_type"],
    "recovery_key_type": ["body", "recovery_keys", 0, "key_type"],
    "unknown_key_type": ["body", "recovery_keys", 0, "key_type"],
    "missing_key_type": ["body", "vault_key", "key_type"],
    "missing_vault_key": ["body", "vault_key"],
    "no_recovery": ["body", "recovery_keys"],
    "recovery_not_list": ["body", "recovery_keys"],
    "duplicate_id": ["body"],
    "duplicate_hash": ["body"],
}


@pytest.mark.parametrize("change", sorted(BROKEN_LOCS))
def test_initialize_validates_key_material(
    emu: Emulator, admin: httpx2.Client, change: str
) -> None:
    before = emu.row_counts()
    response = admin.post(f"{V}/initialize", json=_broken(change))
    assert locs(response) == [BROKEN_LOCS[change]]
    assert admin.get(f"{V}/info").status_code == 404
    after = emu.row_counts()
    assert after["vaults"] == before["vaults"] and after["vault_keys"] == before["vault_keys"]


def test_unlock_with_the_test_vectors(admin: httpx2.Client) -> None:
    initialize(admin, {"vault_key": VECTOR_PRIMARY, "recovery_keys": [VECTOR_RECOVERY]})
    created = admin.post(
        f"{V}/secrets",
        json={
            "id": VECTOR_LOGIN_ID,
            "name": "Example",
            "secret_type": "login",
            "encrypted_payload": VECTOR_LOGIN_PAYLOAD,
        },
    )
    assert created.status_code == 201, created.text

    bundle = admin.get(f"{V}/unlock", params={"auth_hash": VECTOR_PRIMARY["auth_hash"]}).json()
    assert set(bundle) == {
        "wrapped_org_encryption_key",
        "wrapped_org_encryption_keys",
        "encrypted_secrets",
    }
    assert bundle["wrapped_org_encryption_key"] == VECTOR_PRIMARY["wrapped_org_encryption_key"]
    assert bundle["wrapped_org_encryption_keys"] is None
    [secret] = bundle["encrypted_secrets"]
    assert secret["id"] == VECTOR_LOGIN_ID
    assert secret["encrypted_payload"] == VECTOR_LOGIN_PAYLOAD  # byte for byte as sent
    assert secret["access"] == []

    by_recovery = admin.get(f"{V}/unlock", params={"auth_hash": VECTOR_RECOVERY["auth_hash"]})
    assert (
        by_recovery.json()["wrapped_org_encryption_key"]
        == (VECTOR_RECOVERY["wrapped_org_encryption_key"])
    )
    upper = admin.get(f"{V}/unlock", params={"auth_hash": VECTOR_PRIMARY["auth_hash"].upper()})
    assert (
        upper.json()["wrapped_org_encryption_key"] == VECTOR_PRIMARY["wrapped_org_encryption_key"]
    )

    unknown = admin.get(f"{V}/unlock", params={"auth_hash": auth_hash()})
    assert unknown.status_code == 200
    assert unknown.json()["wrapped_org_encryption_key"] is None
    assert [s["id"] for s in unknown.json()["encrypted_secrets"]] == [VECTOR_LOGIN_ID]

    assert locs(admin.get(f"{V}/unlock", params={"auth_hash": "abc"})) == [["query", "auth_hash"]]

    plural = admin.get(f"{V}/unlock").json()
    assert plural["wrapped_org_encryption_key"] is None
    assert plural["wrapped_org_encryption_keys"] == [
        {k: VECTOR_PRIMARY[k] for k in ("id", "auth_hash", "wrapped_org_encryption_key")},
        {k: VECTOR_RECOVERY[k] for k in ("id", "auth_hash", "wrapped_org_encryption_key")},
    ]
    assert [s["id"] for s in plural["encrypted_secrets"]] == [VECTOR_LOGIN_ID]


def _replace(client: httpx2.Client, **proof: str) -> tuple[dict[str, str], httpx2.Response]:
    new = material("primary")
    del new["key_type"]
    return new, client.put(f"{V}/keys/primary", json={**new, **proof})


def _unlock_key(client: httpx2.Client, hash_: str) -> str | None:
    response = client.get(f"{V}/unlock", params={"auth_hash": hash_})
    assert response.status_code == 200
    wrapped: str | None = response.json()["wrapped_org_encryption_key"]
    return wrapped


def test_update_key_with_current_hash(emu: Emulator, admin: httpx2.Client) -> None:
    body = initialize(admin)
    old = body["vault_key"]
    new, response = _replace(admin, current_auth_hash=old["auth_hash"])
    assert response.status_code == 200, response.text
    key = response.json()
    assert set(key) == KEY_FIELDS
    assert (key["id"], key["key_type"]) == (new["id"], "primary")
    keys = admin.get(f"{V}/keys").json()
    assert [k["id"] for k in keys if k["key_type"] == "primary"] == [new["id"]]
    assert sum(k["key_type"] == "recovery" for k in keys) == 4  # recovery keys untouched
    assert _unlock_key(admin, new["auth_hash"]) == new["wrapped_org_encryption_key"]
    assert _unlock_key(admin, old["auth_hash"]) is None  # old primary deleted
    info = admin.get(f"{V}/info").json()
    assert (info["key_count"], info["recovery_key_count"]) == (1, 4)
    # the old hash no longer proves anything
    _, stale = _replace(admin, current_auth_hash=old["auth_hash"])
    assert stale.status_code == 403


def test_update_key_with_recovery_hash(emu: Emulator, admin: httpx2.Client) -> None:
    body = initialize(admin)
    old, used = body["vault_key"], body["recovery_keys"][2]
    new, response = _replace(admin, recovery_auth_hash=used["auth_hash"].upper())
    assert response.status_code == 200, response.text
    assert response.json()["id"] == new["id"]
    keys = admin.get(f"{V}/keys").json()
    ids = [k["id"] for k in keys]
    assert old["id"] not in ids and used["id"] not in ids  # primary deleted, code consumed
    assert [k["id"] for k in keys if k["key_type"] == "primary"] == [new["id"]]
    assert len(ids) == 4
    assert _unlock_key(admin, used["auth_hash"]) is None
    # a consumed recovery key cannot be used again
    _, again = _replace(admin, recovery_auth_hash=used["auth_hash"])
    assert again.status_code == 403
    # the new primary proves knowledge for a normal update
    _, normal = _replace(admin, current_auth_hash=new["auth_hash"])
    assert normal.status_code == 200


def test_update_key_wrong_hash_changes_nothing(emu: Emulator, admin: httpx2.Client) -> None:
    body = initialize(admin)
    primary, recovery = body["vault_key"], body["recovery_keys"][0]
    state = emu.vault_state(admin.get(f"{V}/info").json()["organization_id"])
    counts = emu.row_counts()
    cases = [
        ({"current_auth_hash": auth_hash()}, "current_auth_hash does not match"),
        ({"current_auth_hash": recovery["auth_hash"]}, "current_auth_hash does not match"),
        ({"recovery_auth_hash": auth_hash()}, "recovery_auth_hash does not match"),
        ({"recovery_auth_hash": primary["auth_hash"]}, "recovery_auth_hash does not match"),
    ]
    for proof, expected in cases:
        _, response = _replace(admin, **proof)
        assert response.status_code == 403, proof
        assert detail_of(response).startswith(expected)
        assert emu.vault_state(state["organization_id"]) == state
        assert emu.row_counts() == counts
    assert _unlock_key(admin, primary["auth_hash"]) == primary["wrapped_org_encryption_key"]


def test_update_key_body_rules(emu: Emulator, admin: httpx2.Client) -> None:
    body = initialize(admin)
    primary, recovery = body["vault_key"], body["recovery_keys"][0]
    org_id = admin.get(f"{V}/info").json()["organization_id"]
    state = emu.vault_state(org_id)

    _, both = _replace(
        admin, current_auth_hash=primary["auth_hash"], recovery_auth_hash=recovery["auth_hash"]
    )
    assert locs(both) == [["body"]]
    assert "exactly one of current_auth_hash or recovery_auth_hash" in both.text
    _, neither = _replace(admin)
    assert locs(neither) == [["body"]]
    bad = admin.put(
        f"{V}/keys/primary",
        json={
            "id": "nope",
            "wrapped_org_encryption_key": "***",
            "auth_hash": "12",
            "current_auth_hash": "zz",
        },
    )
    assert locs(bad) == [
        ["body", "id"],
        ["body", "wrapped_org_encryption_key"],
        ["body", "auth_hash"],
        ["body", "current_auth_hash"],
    ]
    # the new key may not reuse an id or an auth hash of a key that stays
    reuse_id = {
        **material("primary"),
        "id": recovery["id"],
        "current_auth_hash": primary["auth_hash"],
    }
    conflict = admin.put(f"{V}/keys/primary", json=reuse_id)
    assert conflict.status_code == 409
    reuse_hash = {
        **material("primary"),
        "auth_hash": recovery["auth_hash"],
        "current_auth_hash": primary["auth_hash"],
    }
    assert admin.put(f"{V}/keys/primary", json=reuse_hash).status_code == 409
    assert emu.vault_state(org_id) == state
    # re-registering the same vault key (same hash as the primary it replaces) is fine
    same = {**material("primary"), "auth_hash": primary["auth_hash"]}
    same["current_auth_hash"] = primary["auth_hash"]
    assert admin.put(f"{V}/keys/primary", json=same).status_code == 200


def test_delete_key(admin: httpx2.Client) -> None:
    body = initialize(admin)
    primary, recovery = body["vault_key"], body["recovery_keys"]
    gone = admin.delete(f"{V}/keys/{recovery[0]['auth_hash']}")
    assert gone.status_code == 204
    assert admin.delete(f"{V}/keys/{recovery[1]['auth_hash'].upper()}").status_code == 204
    assert admin.get(f"{V}/info").json()["recovery_key_count"] == 2
    again = admin.delete(f"{V}/keys/{recovery[0]['auth_hash']}")
    assert again.status_code == 404 and detail_of(again) == "Vault key not found"
    refused = admin.delete(f"{V}/keys/{primary['auth_hash']}")
    assert refused.status_code == 409
    assert "PUT /api/v1/vault/keys/primary" in detail_of(refused)
    assert admin.get(f"{V}/info").json()["key_count"] == 1
    assert locs(admin.delete(f"{V}/keys/not-a-hash")) == [["path", "auth_hash"]]


def test_scoped_keys_read_but_do_not_manage(emu: Emulator, admin: httpx2.Client) -> None:
    identity = create_identity(admin, _handle())
    agent = as_key(admin, scoped_key(admin, identity["id"]))
    denied = admin.post(f"{V}/initialize", json=init_body(), **agent)
    assert denied.status_code == 403
    assert detail_of(denied) == "Agent-scoped API keys cannot initialize the vault"
    body = initialize(admin)
    primary, recovery = body["vault_key"], body["recovery_keys"][0]
    assert admin.get(f"{V}/info", **agent).status_code == 200
    assert len(admin.get(f"{V}/keys", **agent).json()) == 5
    unlocked = admin.get(f"{V}/unlock", params={"auth_hash": primary["auth_hash"]}, **agent)
    assert unlocked.json()["wrapped_org_encryption_key"] == primary["wrapped_org_encryption_key"]
    new = material("primary")
    put = admin.put(
        f"{V}/keys/primary", json={**new, "current_auth_hash": primary["auth_hash"]}, **agent
    )
    assert put.status_code == 403
    assert admin.delete(f"{V}/keys/{recovery['auth_hash']}", **agent).status_code == 403
    assert admin.post(f"{V}/initialize", json=init_body(), **agent).status_code == 403
    assert admin.get(f"{V}/info").json()["recovery_key_count"] == 4


def test_human_session_manages_the_vault(emu: Emulator, org: OrgCredentials) -> None:
    token = emu.create_human_session(org.organization_id, email="vault-owner@example.com")
    with httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": token}) as human:
        body = initialize(human)
        keys = human.get(f"{V}/keys").json()
        assert {k["created_by"] for k in keys} == {
            emu.vault_state(org.organization_id)["keys"][0]["created_by"]
        }
        new = material("primary")
        replaced = human.put(
            f"{V}/keys/primary",
            json={**new, "current_auth_hash": body["vault_key"]["auth_hash"]},
        )
        assert replaced.status_code == 200


def test_vaults_are_per_organization(emu: Emulator, admin: httpx2.Client) -> None:
    body = initialize(admin)
    other = emu.create_org()
    with httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": other.api_key}) as client:
        assert client.get(f"{V}/info").status_code == 404
        hash_ = body["vault_key"]["auth_hash"]
        assert client.get(f"{V}/unlock", params={"auth_hash": hash_}).status_code == 404
        # the same client-chosen key ids may exist in another organisation's vault
        initialize(client, copy.deepcopy(body))
        assert client.get(f"{V}/info").json()["id"] != admin.get(f"{V}/info").json()["id"]
