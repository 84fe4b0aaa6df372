"""whoami, signing keys and API keys."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx2

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_emulator.core.store import Settings
from inkbox_emulator.webhooks.subscriptions import ORG_SIGNING_KEYS_SUNSET

from .conftest import create_identity, emulator_at, scoped_key


def test_auth_errors(http: httpx2.Client) -> None:
    missing = http.get("/api/whoami")
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Missing API key"}
    for bad in ("nope", "ApiKey_00000000-0000-4000-8000-000000000000.secret_x", "eyJ.x.y"):
        invalid = http.get("/api/whoami", headers={"X-API-Key": bad})
        assert invalid.status_code == 401
        assert invalid.json() == {"detail": "Invalid API key"}


def test_whoami_admin_key(admin: httpx2.Client, org: OrgCredentials) -> None:
    before = time.time()
    first = admin.get("/api/whoami").json()
    assert first["auth_type"] == "api_key"
    assert first["auth_subtype"] == "api_key.admin_scoped"
    assert first["organization_id"] == org.organization_id
    assert first["key_id"] == org.api_key.split(".")[0]
    assert first["key_id"].startswith("ApiKey_")
    assert first["creator_type"] == "human"
    assert isinstance(first["created_at"], float)
    assert isinstance(first["last_used_at"], float)
    assert first["last_used_at"] >= before - 1
    assert first["expires_at"] is None
    for key in ("label", "description", "created_by"):
        assert key in first
    second = admin.get("/api/whoami").json()
    assert second["last_used_at"] >= first["last_used_at"]


def test_whoami_scoped_and_human(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    identity = create_identity(admin, f"who-{uuid.uuid4().hex[:8]}")
    key = scoped_key(admin, identity["id"])
    scoped = admin.get("/api/whoami", headers={"X-API-Key": key}).json()
    assert scoped["auth_subtype"] == "api_key.agent_scoped.claimed"
    token = emu.create_human_session(org.organization_id, email="ann@example.com", name="Ann")
    human = admin.get("/api/whoami", headers={"X-API-Key": token}).json()
    assert human == {
        "auth_type": "jwt",
        "auth_subtype": "clerk",
        "user_id": human["user_id"],
        "email": "ann@example.com",
        "name": "Ann",
        "organization_id": org.organization_id,
        "org_role": "admin",
        "org_slug": human["org_slug"],
    }
    assert human["user_id"].startswith("user_")


def test_signing_keys_belong_to_identities(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    identity = create_identity(admin, f"sk-{uuid.uuid4().hex[:8]}")
    route = f"/api/v1/identities/{identity['agent_handle']}/signing-key"
    assert admin.get(route).json() == {"configured": False, "created_at": None}
    first = admin.post(route, json={})
    assert first.status_code == 201
    assert set(first.json()) == {"signing_key", "created_at"}
    assert first.json()["signing_key"].startswith("whsec_")
    second = admin.post(route, json={}).json()
    assert second["signing_key"] != first.json()["signing_key"]
    assert emu.identity_signing_key(identity["id"]) == second["signing_key"]
    assert admin.get(route).json() == {"configured": True, "created_at": second["created_at"]}
    # The org-level route is past its sunset (pinned by the next test).
    gone = admin.post("/api/v1/signing-keys", json={})
    assert gone.status_code == 410 and gone.json()["detail"]["error"] == "endpoint_sunset"
    assert emu.signing_key(org.organization_id) is None


def test_the_org_signing_key_route_is_sunset_after_2026_08_31() -> None:
    sunset = datetime(2026, 9, 1, tzinfo=UTC)  # "after 2026-08-31": from 09-01T00:00Z
    assert ORG_SIGNING_KEYS_SUNSET == Settings.org_signing_keys_sunset == sunset.timestamp()
    # An emulator with the default settings, its clock a minute before the sunset: an admin
    # key is still pointed at the identity route (409); two minutes later the route is gone.
    with emulator_at(sunset - timedelta(minutes=1)) as (emu, admin):
        before = admin.post("/api/v1/signing-keys", json={})
        assert before.status_code == 409, before.text
        assert before.json()["detail"]["error"] == "signing_key_identity_required"
        emu.advance_clock(120)
        after = admin.post("/api/v1/signing-keys", json={})
        assert after.status_code == 410, after.text
        assert after.json()["detail"]["error"] == "endpoint_sunset"


def test_api_key_rules(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    identity = create_identity(admin, f"keys-{uuid.uuid4().hex[:8]}")
    created = admin.post(
        "/api/v1/api-keys",
        json={"label": "bot", "description": "d", "scoped_identity_id": identity["id"]},
    )
    assert created.status_code == 201
    body = created.json()
    record = body["record"]
    assert body["api_key"].startswith(record["id"] + ".")
    assert record["id"].startswith("ApiKey_")
    uuid.UUID(record["id"].removeprefix("ApiKey_"), version=4)
    assert record["display_prefix"] == record["id"][:15]
    assert record["last4"] == body["api_key"][-4:]
    assert record["scoped_identity_id"] == identity["id"]
    assert record["organization_id"] == org.organization_id
    assert record["status"] == "active"
    assert record["creator_type"] == "human"
    assert record["label"] == "bot"
    assert record["description"] == "d"
    for key in ("last_used_at", "expires_at", "revoked_at"):
        assert record[key] is None
    assert record["created_at"].endswith("Z")
    # admin keys may not mint another admin key
    assert admin.post("/api/v1/api-keys", json={"label": "x"}).status_code == 403
    # identity outside the org
    assert (
        admin.post(
            "/api/v1/api-keys", json={"label": "x", "scoped_identity_id": str(uuid.uuid4())}
        ).status_code
        == 404
    )
    # scoped keys may not mint keys at all
    scoped = {"X-API-Key": body["api_key"]}
    denied = admin.post(
        "/api/v1/api-keys",
        json={"label": "x", "scoped_identity_id": identity["id"]},
        headers=scoped,
    )
    assert denied.status_code == 403
    # human sessions may mint unscoped keys, which are admin keys
    token = emu.create_human_session(org.organization_id)
    unscoped = admin.post("/api/v1/api-keys", json={"label": "ci"}, headers={"X-API-Key": token})
    assert unscoped.status_code == 201
    assert unscoped.json()["record"]["scoped_identity_id"] is None
    who = admin.get("/api/whoami", headers={"X-API-Key": unscoped.json()["api_key"]}).json()
    assert who["auth_subtype"] == "api_key.admin_scoped"
    assert who["label"] == "ci"


def test_api_key_validation(admin: httpx2.Client) -> None:
    missing = admin.post("/api/v1/api-keys", json={})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["type"] == "missing"
    assert missing.json()["detail"][0]["loc"] == ["body", "label"]
    empty = admin.post("/api/v1/api-keys", json={"label": ""}).json()["detail"][0]
    assert empty["type"] == "string_too_short"
    long = admin.post("/api/v1/api-keys", json={"label": "x", "description": "d" * 1001})
    assert long.json()["detail"][0]["type"] == "string_too_long"
    bad_uuid = admin.post("/api/v1/api-keys", json={"label": "x", "scoped_identity_id": "zz"})
    assert bad_uuid.json()["detail"][0]["type"] == "uuid_parsing"
