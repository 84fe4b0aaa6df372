"""Vault secrets and access rules over raw HTTP, scoped-key enforcement, identity grants."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import as_key, create_identity, scoped_key
from .vault_support import (
    RULE_FIELDS,
    SECRET_FIELDS,
    V,
    blob,
    create_secret,
    detail_of,
    grant,
    init_body,
    initialize,
    locs,
    secret_body,
)


def _handle() -> str:
    return f"vs-{uuid.uuid4().hex[:10]}"


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# -- secrets -----------------------------------------------------------------------------


def test_create_get_list_secret(admin: httpx2.Client) -> None:
    initialize(admin)
    body = secret_body(description="team login")
    response = admin.post(f"{V}/secrets", json=body)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == SECRET_FIELDS  # metadata: no payload
    assert created["id"] == body["id"]
    assert (created["name"], created["secret_type"]) == ("GitHub", "login")
    assert created["description"] == "team login"
    assert created["access"] == []
    assert created["created_at"] == created["updated_at"]

    fetched = admin.get(f"{V}/secrets/{body['id']}").json()
    assert set(fetched) == SECRET_FIELDS | {"encrypted_payload"}
    assert fetched["encrypted_payload"] == body["encrypted_payload"]
    upper = admin.get(f"{V}/secrets/{body['id'].upper()}")
    assert upper.json()["id"] == body["id"]

    key = create_secret(admin, name="Stripe", secret_type="api_key")
    listed = admin.get(f"{V}/secrets").json()
    assert _ids(listed) == [body["id"], key["id"]]
    assert all(set(item) == SECRET_FIELDS for item in listed)
    only = admin.get(f"{V}/secrets", params={"secret_type": "api_key"}).json()
    assert _ids(only) == [key["id"]]
    assert admin.get(f"{V}/secrets", params={"secret_type": "ssh_key"}).json() == []
    bad = admin.get(f"{V}/secrets", params={"secret_type": "password"})
    assert locs(bad) == [["query", "secret_type"]]
    assert admin.get(f"{V}/info").json()["secret_count"] == 2


@pytest.mark.parametrize("secret_type", ["login", "api_key", "key_pair", "ssh_key", "other"])
def test_every_secret_type(admin: httpx2.Client, secret_type: str) -> None:
    initialize(admin)
    body = create_secret(admin, secret_type=secret_type, description=None)
    assert admin.get(f"{V}/secrets/{body['id']}").json()["secret_type"] == secret_type


BAD_SECRETS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "id": ({"id": "123"}, ["body", "id"]),
    "empty_name": ({"name": ""}, ["body", "name"]),
    "long_name": ({"name": "n" * 256}, ["body", "name"]),
    "type": ({"secret_type": "password"}, ["body", "secret_type"]),
    "not_base64": ({"encrypted_payload": "not base64!"}, ["body", "encrypted_payload"]),
    "urlsafe": ({"encrypted_payload": "-_" * 30}, ["body", "encrypted_payload"]),
    "unpadded": ({"encrypted_payload": blob(40).rstrip("=")}, ["body", "encrypted_payload"]),
    "short_blob": ({"encrypted_payload": blob(27)}, ["body", "encrypted_payload"]),
    "payload_type": ({"encrypted_payload": 5}, ["body", "encrypted_payload"]),
    "description_type": ({"description": 5}, ["body", "description"]),
}


@pytest.mark.parametrize("case", sorted(BAD_SECRETS))
def test_create_secret_validation(emu: Emulator, admin: httpx2.Client, case: str) -> None:
    initialize(admin)
    overrides, loc = BAD_SECRETS[case]
    before = emu.row_counts()["vault_secrets"]
    assert locs(admin.post(f"{V}/secrets", json=secret_body(**overrides))) == [loc]
    assert emu.row_counts()["vault_secrets"] == before


def test_create_secret_limits_and_missing_fields(admin: httpx2.Client) -> None:
    initialize(admin)
    create_secret(admin, name="n" * 255, encrypted_payload=blob(28))
    missing = admin.post(f"{V}/secrets", json={})
    assert locs(missing) == [
        ["body", "id"],
        ["body", "name"],
        ["body", "secret_type"],
        ["body", "encrypted_payload"],
    ]


def test_duplicate_secret_id_is_409(emu: Emulator, admin: httpx2.Client) -> None:
    initialize(admin)
    body = create_secret(admin)
    again = admin.post(f"{V}/secrets", json={**body, "name": "Other"})
    assert again.status_code == 409
    assert detail_of(again) == f"A vault secret with id '{body['id']}' already exists"
    assert admin.get(f"{V}/secrets/{body['id']}").json()["name"] == "GitHub"


def test_patch_secret(admin: httpx2.Client) -> None:
    initialize(admin)
    body = create_secret(admin, description="first")
    path = f"{V}/secrets/{body['id']}"

    renamed = admin.patch(path, json={"name": "GitHub (team)"})
    assert renamed.status_code == 200
    assert set(renamed.json()) == SECRET_FIELDS
    assert renamed.json()["name"] == "GitHub (team)"
    assert renamed.json()["description"] == "first"  # omitted: unchanged

    assert admin.patch(path, json={"description": ""}).json()["description"] == ""
    assert admin.patch(path, json={"description": None}).json()["description"] is None
    new_payload = blob(200)
    assert admin.patch(path, json={"encrypted_payload": new_payload}).status_code == 200
    assert admin.get(path).json()["encrypted_payload"] == new_payload
    unchanged = admin.patch(path, json={})
    assert unchanged.status_code == 200 and unchanged.json()["name"] == "GitHub (team)"

    immutable = admin.patch(path, json={"secret_type": "other", "name": "x"})
    assert locs(immutable) == [["body", "secret_type"]]
    assert "immutable" in immutable.text
    assert admin.get(path).json()["secret_type"] == "login"
    assert admin.get(path).json()["name"] == "GitHub (team)"  # nothing applied
    assert locs(admin.patch(path, json={"name": None})) == [["body", "name"]]
    assert locs(admin.patch(path, json={"encrypted_payload": None})) == [
        ["body", "encrypted_payload"]
    ]
    assert locs(admin.patch(path, json={"encrypted_payload": "@@"})) == [
        ["body", "encrypted_payload"]
    ]
    assert admin.patch(f"{V}/secrets/{uuid.uuid4()}", json={"name": "x"}).status_code == 404
    assert locs(admin.patch(f"{V}/secrets/nope", json={})) == [["path", "secret_id"]]


def test_delete_secret_removes_its_rules(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    initialize(admin)
    identity = create_identity(admin, _handle())
    body = create_secret(admin)
    keep = create_secret(admin, name="Keep")
    grant(admin, body["id"], identity["id"])
    grant(admin, keep["id"], identity["id"])
    assert admin.delete(f"{V}/secrets/{body['id']}").status_code == 204
    assert admin.get(f"{V}/secrets/{body['id']}").status_code == 404
    assert admin.delete(f"{V}/secrets/{body['id']}").status_code == 404
    rules = emu.vault_state(org.organization_id)["access_rules"]
    assert [r["vault_secret_id"] for r in rules] == [keep["id"]]
    assert admin.get(f"{V}/info").json()["secret_count"] == 1
    # the id is free again
    create_secret(admin, id=body["id"])


# -- access rules ------------------------------------------------------------------------


def test_grant_list_revoke(emu: Emulator, admin: httpx2.Client) -> None:
    initialize(admin)
    first = create_identity(admin, _handle())
    second = create_identity(admin, _handle())
    body = create_secret(admin)
    path = f"{V}/secrets/{body['id']}/access"

    rule = grant(admin, body["id"], first["id"])
    assert set(rule) == RULE_FIELDS
    assert (rule["vault_secret_id"], rule["identity_id"]) == (body["id"], first["id"])
    grant(admin, body["id"], second["id"].upper())
    listed = admin.get(path).json()
    assert [r["identity_id"] for r in listed] == [first["id"], second["id"]]
    assert admin.get(f"{V}/secrets/{body['id']}").json()["access"] == listed
    assert admin.get(f"{V}/secrets").json()[0]["access"] == listed

    duplicate = admin.post(path, json={"identity_id": first["id"]})
    assert duplicate.status_code == 409
    unknown = admin.post(path, json={"identity_id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and detail_of(unknown) == "Identity not found"
    assert locs(admin.post(path, json={})) == [["body", "identity_id"]]
    assert locs(admin.post(path, json={"identity_id": None})) == [["body", "identity_id"]]
    assert locs(admin.post(path, json={"identity_id": "x"})) == [["body", "identity_id"]]
    missing_secret = admin.post(
        f"{V}/secrets/{uuid.uuid4()}/access", json={"identity_id": first["id"]}
    )
    assert missing_secret.status_code == 404
    assert detail_of(missing_secret) == "Vault secret not found"

    other_org = emu.create_org()
    with httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": other_org.api_key}) as c:
        stranger = create_identity(c, _handle())
    assert admin.post(path, json={"identity_id": stranger["id"]}).status_code == 404

    assert admin.delete(f"{path}/{first['id']}").status_code == 204
    again = admin.delete(f"{path}/{first['id']}")
    assert again.status_code == 404 and detail_of(again) == "Access rule not found"
    assert [r["identity_id"] for r in admin.get(path).json()] == [second["id"]]
    assert locs(admin.delete(f"{path}/nope")) == [["path", "identity_id"]]


def test_deleted_identity_loses_its_rules(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    initialize(admin)
    identity = create_identity(admin, _handle())
    other = create_identity(admin, _handle())
    body = create_secret(admin)
    grant(admin, body["id"], identity["id"])
    grant(admin, body["id"], other["id"])
    assert admin.delete(f"/api/v1/identities/{identity['agent_handle']}").status_code == 204
    rules = admin.get(f"{V}/secrets/{body['id']}/access").json()
    assert [r["identity_id"] for r in rules] == [other["id"]]
    late = admin.post(f"{V}/secrets/{body['id']}/access", json={"identity_id": identity["id"]})
    assert late.status_code == 404


# -- scoped keys -------------------------------------------------------------------------


def test_scoped_key_sees_only_granted_secrets(emu: Emulator, admin: httpx2.Client) -> None:
    keys = initialize(admin)
    agent_identity = create_identity(admin, _handle())
    peer = create_identity(admin, _handle())
    granted = create_secret(admin, name="Granted")
    hidden = create_secret(admin, name="Hidden")
    grant(admin, granted["id"], peer["id"])
    own_rule = grant(admin, granted["id"], agent_identity["id"])
    grant(admin, hidden["id"], peer["id"])
    agent = as_key(admin, scoped_key(admin, agent_identity["id"]))

    listed = admin.get(f"{V}/secrets", **agent).json()
    assert _ids(listed) == [granted["id"]]
    assert listed[0]["access"] == [own_rule]  # other identities' rules are not shown
    assert admin.get(f"{V}/info", **agent).json()["secret_count"] == 1
    assert admin.get(f"{V}/info").json()["secret_count"] == 2
    bundle = admin.get(
        f"{V}/unlock", params={"auth_hash": keys["vault_key"]["auth_hash"]}, **agent
    ).json()
    assert _ids(bundle["encrypted_secrets"]) == [granted["id"]]
    plural = admin.get(f"{V}/unlock", **agent).json()
    assert _ids(plural["encrypted_secrets"]) == [granted["id"]]

    detail = admin.get(f"{V}/secrets/{granted['id']}", **agent)
    assert detail.json()["encrypted_payload"] == granted["encrypted_payload"]
    missing = admin.get(f"{V}/secrets/{hidden['id']}", **agent)
    assert missing.status_code == 404 and detail_of(missing) == "Vault secret not found"
    assert admin.get(f"{V}/secrets/{granted['id']}/access", **agent).json() == [own_rule]
    assert admin.get(f"{V}/secrets/{hidden['id']}/access", **agent).status_code == 404

    # writes: 403 on what it can see, 404 on what it cannot
    assert admin.post(f"{V}/secrets", json=secret_body(), **agent).status_code == 403
    patch = admin.patch(f"{V}/secrets/{granted['id']}", json={"name": "x"}, **agent)
    assert patch.status_code == 403
    assert detail_of(patch) == "Agent-scoped API keys cannot change vault secrets"
    assert admin.patch(f"{V}/secrets/{hidden['id']}", json={}, **agent).status_code == 404
    assert admin.delete(f"{V}/secrets/{granted['id']}", **agent).status_code == 403
    assert admin.delete(f"{V}/secrets/{hidden['id']}", **agent).status_code == 404
    grant_denied = admin.post(
        f"{V}/secrets/{hidden['id']}/access", json={"identity_id": agent_identity["id"]}, **agent
    )
    assert grant_denied.status_code == 403
    revoke_denied = admin.delete(
        f"{V}/secrets/{granted['id']}/access/{agent_identity['id']}", **agent
    )
    assert revoke_denied.status_code == 403
    assert admin.get(f"{V}/secrets/{granted['id']}").json()["name"] == "Granted"
    assert len(admin.get(f"{V}/secrets/{granted['id']}/access").json()) == 2

    # revoking the grant hides the secret from the key at once
    assert (
        admin.delete(f"{V}/secrets/{granted['id']}/access/{agent_identity['id']}").status_code
        == 204
    )
    assert admin.get(f"{V}/secrets", **agent).json() == []
    assert admin.get(f"{V}/secrets/{granted['id']}", **agent).status_code == 404


def test_human_session_sees_everything(emu: Emulator, org: OrgCredentials) -> None:
    token = emu.create_human_session(org.organization_id)
    with httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": token}) as human:
        initialize(human)
        first = create_secret(human)
        identity = create_identity(human, _handle())
        grant(human, first["id"], identity["id"])
        second = create_secret(human, name="Ungranted")
        assert _ids(human.get(f"{V}/secrets").json()) == [first["id"], second["id"]]
        assert human.delete(f"{V}/secrets/{second['id']}").status_code == 204


# -- identity create with vault_secret_ids ---------------------------------------------------


def _rules_of(emu: Emulator, org: OrgCredentials, identity_id: str) -> list[str]:
    rules = emu.vault_state(org.organization_id)["access_rules"]
    return [r["vault_secret_id"] for r in rules if r["identity_id"] == identity_id]


@pytest.mark.parametrize("wildcard", ["*", "all"])
def test_identity_create_grants_every_current_secret(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials, wildcard: str
) -> None:
    initialize(admin)
    first, second = create_secret(admin), create_secret(admin, name="Two")
    identity = create_identity(admin, _handle(), vault_secret_ids=wildcard)
    assert _rules_of(emu, org, identity["id"]) == [first["id"], second["id"]]
    later = create_secret(admin, name="Later")  # a snapshot, not a standing wildcard
    assert later["id"] not in _rules_of(emu, org, identity["id"])
    agent = as_key(admin, scoped_key(admin, identity["id"]))
    assert _ids(admin.get(f"{V}/secrets", **agent).json()) == [first["id"], second["id"]]


def test_identity_create_grants_listed_secrets(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    initialize(admin)
    first, second, third = (create_secret(admin, name=n) for n in ("A", "B", "C"))
    single = create_identity(admin, _handle(), vault_secret_ids=second["id"])
    assert _rules_of(emu, org, single["id"]) == [second["id"]]
    several = create_identity(
        admin, _handle(), vault_secret_ids=[third["id"], first["id"].upper(), third["id"]]
    )
    assert sorted(_rules_of(emu, org, several["id"])) == sorted([first["id"], third["id"]])
    nothing = create_identity(admin, _handle(), vault_secret_ids=[])
    assert _rules_of(emu, org, nothing["id"]) == []
    rules = admin.get(f"{V}/secrets/{third['id']}/access").json()
    assert [r["identity_id"] for r in rules] == [several["id"]]


def test_identity_create_with_unknown_secret_writes_nothing(
    emu: Emulator, admin: httpx2.Client
) -> None:
    initialize(admin)
    known = create_secret(admin)
    handle = _handle()
    before = emu.row_counts()
    for ids in (str(uuid.uuid4()), [known["id"], str(uuid.uuid4())]):
        response = admin.post(
            "/api/v1/identities/", json={"agent_handle": handle, "vault_secret_ids": ids}
        )
        assert response.status_code == 404, response.text
        assert detail_of(response).startswith("Vault secret not found: ")
    assert locs(
        admin.post("/api/v1/identities/", json={"agent_handle": handle, "vault_secret_ids": 5})
    ) == [["body", "vault_secret_ids"]]
    after = emu.row_counts()
    for table in ("identities", "mailboxes", "tunnels", "vault_access_rules"):
        assert after[table] == before[table], table
    create_identity(admin, handle, vault_secret_ids=[known["id"]])  # handle still free


def test_identity_create_without_a_vault(admin: httpx2.Client, emu: Emulator) -> None:
    create_identity(admin, _handle(), vault_secret_ids="*")  # nothing to grant
    refused = admin.post(
        "/api/v1/identities/",
        json={"agent_handle": _handle(), "vault_secret_ids": [str(uuid.uuid4())]},
    )
    assert refused.status_code == 404


def test_secret_of_another_vault_cannot_be_granted(emu: Emulator, admin: httpx2.Client) -> None:
    initialize(admin)
    other = emu.create_org()
    with httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": other.api_key}) as client:
        initialize(client, init_body())
        foreign = create_secret(client)
    assert admin.get(f"{V}/secrets/{foreign['id']}").status_code == 404
    refused = admin.post(
        "/api/v1/identities/",
        json={"agent_handle": _handle(), "vault_secret_ids": foreign["id"]},
    )
    assert refused.status_code == 404
    # a secret id is unique per vault only: the same id may exist in this vault too
    create_secret(admin, id=foreign["id"])
