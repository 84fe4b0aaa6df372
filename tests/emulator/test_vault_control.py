"""Vault inspection: ``vault_state``, its control route, ``dump_database`` and ``reset``."""

from __future__ import annotations

import uuid

import httpx2

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import create_identity
from .vault_support import V, blob, create_secret, grant, initialize


def test_vault_state_and_control_route(
    emu: Emulator, admin: httpx2.Client, http: httpx2.Client, org: OrgCredentials
) -> None:
    empty = emu.vault_state(org.organization_id)
    assert empty == {
        "organization_id": org.organization_id,
        "vault_id": None,
        "created_at": None,
        "updated_at": None,
        "keys": [],
        "secrets": [],
        "access_rules": [],
    }
    body = initialize(admin)
    identity = create_identity(admin, f"state-{uuid.uuid4().hex[:8]}")
    secret = create_secret(admin, name="DB", secret_type="other", description="prod")
    rule = grant(admin, secret["id"], identity["id"])

    state = emu.vault_state(org.organization_id)
    assert state["vault_id"] == admin.get(f"{V}/info").json()["id"]
    assert [(k["id"], k["key_type"], k["auth_hash"]) for k in state["keys"]] == [
        (k["id"], k["key_type"], k["auth_hash"])
        for k in [body["vault_key"], *body["recovery_keys"]]
    ]
    assert state["secrets"] == [
        {"id": secret["id"], "name": "DB", "secret_type": "other", "description": "prod"}
    ]
    assert state["access_rules"] == [
        {"id": rule["id"], "vault_secret_id": secret["id"], "identity_id": identity["id"]}
    ]
    assert "encrypted_payload" not in str(state)

    over_http = http.get(f"/_emulator/vault/{org.organization_id}")
    assert over_http.status_code == 200
    assert over_http.json() == state
    missing = http.get("/_emulator/vault/org_missing")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Organization not found"}
    assert all(r.path != f"/_emulator/vault/{org.organization_id}" for r in emu.requests())


def test_dump_database_holds_ciphertext_as_sent(emu: Emulator, admin: httpx2.Client) -> None:
    body = initialize(admin)
    payload = blob(90)
    secret = create_secret(admin, name="dump-check-name", encrypted_payload=payload)
    dump = emu.dump_database()
    assert dump.startswith("BEGIN TRANSACTION;")
    assert "CREATE TABLE vault_secrets" in dump
    assert payload in dump and secret["id"] in dump and "dump-check-name" in dump
    assert body["vault_key"]["wrapped_org_encryption_key"] in dump
    assert body["vault_key"]["auth_hash"] in dump


def test_reset_clears_the_vault() -> None:
    with Emulator() as emu:
        org = emu.create_org()
        with httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": org.api_key}) as client:
            initialize(client)
            identity = create_identity(client, "reset-vault")
            secret = create_secret(client)
            grant(client, secret["id"], identity["id"])
            counts = emu.row_counts()
            assert all(counts[t] for t in ("vaults", "vault_keys", "vault_secrets"))
            assert counts["vault_access_rules"] == 1
            emu.reset()
            after = emu.row_counts()
            assert set(after.values()) == {0}
            assert "vault" not in "".join(
                line for line in emu.dump_database().splitlines() if line.startswith("INSERT")
            )
            org = emu.create_org()
            client.headers["X-API-Key"] = org.api_key
            assert client.get(f"{V}/info").status_code == 404
            initialize(client)
