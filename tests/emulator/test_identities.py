"""Identities: create / list / get / update / delete, handles, atomicity, visibility.

The current-wire additions (settings fields, filter modes, the removed routes)
are in test_identities_current.py.
"""

from __future__ import annotations

import uuid

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import create_identity, scoped_key

SUMMARY_KEYS = {
    "id",
    "organization_id",
    "agent_handle",
    "display_name",
    "description",
    "email_address",
    "imessage_enabled",
    "contact_sharing_enabled",
    "imessage_filter_mode",
    *(
        f"{c}_{d}filter_mode"
        for c in ("mail", "phone", "slack")
        for d in ("", "inbound_", "outbound_")
    ),
    "created_at",
    "updated_at",
}
TUNNEL_SUMMARY_KEYS = {
    "id",
    "organization_id",  # not in the service's summary; kept for the 0.4.4 peer (see _identities)
    "tunnel_name",
    "agent_identity_id",
    "tls_mode",
    "status",
    "public_host",
    "zone",
    "created_at",
    "updated_at",
}


def _handle() -> str:
    return f"agent-{uuid.uuid4().hex[:10]}"


def test_create_returns_detail(admin: httpx2.Client, org: OrgCredentials) -> None:
    handle = _handle()
    body = create_identity(admin, "@" + handle.upper(), display_name="Sales")
    assert set(body) == SUMMARY_KEYS | {"mailbox", "phone_number", "tunnel"}
    assert body["agent_handle"] == handle
    assert body["organization_id"] == org.organization_id
    assert body["display_name"] == "Sales"
    assert body["description"] is None
    assert body["email_address"] == f"{handle}@inkboxmail.com"
    assert body["created_at"].endswith("Z")
    uuid.UUID(body["id"], version=4)
    mailbox = body["mailbox"]
    assert mailbox["email_address"] == body["email_address"]
    assert mailbox["sending_domain"] == "inkboxmail.com"
    assert mailbox["agent_identity_id"] == body["id"]
    tunnel = body["tunnel"]
    assert tunnel["tunnel_name"] == handle
    assert tunnel["tls_mode"] == "edge"
    assert tunnel["status"] == "active"
    assert tunnel["public_host"] == f"{handle}.inkboxwire.com"
    assert tunnel["zone"] == "inkboxwire.com"
    assert tunnel["agent_identity_id"] == body["id"]
    assert set(tunnel) == TUNNEL_SUMMARY_KEYS  # a summary: no cert, metadata or live state
    assert body["phone_number"] is None


def test_defaults_and_three_state_description(admin: httpx2.Client) -> None:
    plain = create_identity(admin, _handle())
    assert plain["display_name"] == plain["agent_handle"]
    empty = create_identity(admin, _handle(), description="")
    assert empty["description"] == ""
    null = create_identity(admin, _handle(), description=None)
    assert null["description"] is None


def test_passthrough_tunnel_and_phone_numbers(admin: httpx2.Client) -> None:
    body = create_identity(
        admin,
        _handle(),
        tunnel={"tls_mode": "passthrough"},
        phone_number={"type": "local", "incoming_call_action": "auto_reject"},
        vault_secret_ids="*",
    )
    assert body["tunnel"]["status"] == "awaiting_cert"
    phone = body["phone_number"]
    assert phone["number"].startswith("+1212555")  # local numbers default to NY
    assert phone["type"] == "local"
    assert phone["sms_status"] == "pending"
    assert phone["state"] == "NY"
    assert phone["agent_identity_id"] == body["id"]
    local = create_identity(
        admin,
        _handle(),
        phone_number={
            "type": "local",
            "state": "CA",
            "incoming_call_action": "webhook",
            "incoming_call_webhook_url": "https://example.com/call",
        },
        vault_secret_ids=[],  # unknown ids are a 404 (test_vault_secrets.py)
    )["phone_number"]
    assert local["number"].startswith("+1415555")
    assert local["sms_status"] == "pending"
    assert local["state"] == "CA"
    assert local["incoming_call_webhook_url"] == "https://example.com/call"


def test_list_get_trailing_slash_and_case(admin: httpx2.Client) -> None:
    handle = _handle()
    created = create_identity(admin, handle)
    listed = admin.get("/api/v1/identities/").json()
    assert [i["agent_handle"] for i in listed] == [handle]
    assert set(listed[0]) == SUMMARY_KEYS
    got = admin.get(f"/api/v1/identities/@{handle.upper()}").json()
    assert got["id"] == created["id"]
    assert got["tunnel"]["id"] == created["tunnel"]["id"]
    assert admin.get("/api/v1/identities/missing-one").status_code == 404
    redirect = admin.post("/api/v1/identities", json={"agent_handle": _handle()})
    assert redirect.status_code == 307
    assert redirect.headers["location"].endswith("/api/v1/identities/")
    assert admin.get("/api/v1/identities").status_code == 307


@pytest.mark.parametrize(
    "bad", ["ab", "a" * 64, "-abc", "abc-", "ab--cd", "ab_cd", "ab cd", "", "@@abc"]
)
def test_handle_rules(admin: httpx2.Client, bad: str) -> None:
    response = admin.post("/api/v1/identities/", json={"agent_handle": bad})
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert item["loc"] == ["body", "agent_handle"]
    assert item["type"] == "value_error"


def test_handle_collisions_across_orgs(emu: Emulator, admin: httpx2.Client) -> None:
    handle = _handle()
    create_identity(admin, handle)
    other = emu.create_org()
    response = admin.post(
        "/api/v1/identities/",
        json={"agent_handle": handle.upper()},
        headers={"X-API-Key": other.api_key},
    )
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail["error"] == "handle_unavailable"
    assert detail["blocking_namespace"] == "identities"
    assert isinstance(detail["detail"], str)


def test_mail_namespace_collision(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    emu.add_sending_domain(org.organization_id, "mail.acme.test")
    create_identity(
        admin, _handle(), mailbox={"email_local_part": "sales", "sending_domain": "mail.acme.test"}
    )
    response = admin.post(
        "/api/v1/identities/",
        json={
            "agent_handle": _handle(),
            "mailbox": {"email_local_part": "Sales", "sending_domain": "mail.acme.test"},
        },
    )
    assert response.status_code == 409
    assert response.json()["detail"]["blocking_namespace"] == "mail"


def test_sending_domain_three_state(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    emu.add_sending_domain(org.organization_id, "mail.acme.com", is_default=True)
    emu.add_sending_domain(org.organization_id, "pending.acme.com", status="pending")
    h1 = _handle()
    inherited = create_identity(admin, h1, mailbox={"email_local_part": "support"})
    assert inherited["email_address"] == "support@mail.acme.com"
    assert inherited["mailbox"]["sending_domain"] == "mail.acme.com"
    h2 = _handle()
    platform = create_identity(admin, h2, mailbox={"email_local_part": "x", "sending_domain": None})
    assert platform["email_address"] == f"{h2}@inkboxmail.com"
    h3 = _handle()
    explicit = create_identity(admin, h3, mailbox={"sending_domain": "mail.acme.com"})
    assert explicit["email_address"] == f"{h3}@mail.acme.com"
    for domain in ("pending.acme.com", "unknown.example"):
        response = admin.post(
            "/api/v1/identities/",
            json={"agent_handle": _handle(), "mailbox": {"sending_domain": domain}},
        )
        assert response.status_code == 422
        assert isinstance(response.json()["detail"], str)


def test_failed_create_leaves_nothing_behind(emu: Emulator, admin: httpx2.Client) -> None:
    before = emu.row_counts()
    handle = _handle()
    bad_bodies = [
        {"agent_handle": handle, "mailbox": {"sending_domain": "nope.example"}},
        {"agent_handle": handle, "phone_number": {"type": "toll_free"}},  # no longer offered
        {"agent_handle": handle, "phone_number": {"type": "cellular"}},
        {"agent_handle": handle, "phone_number": {"incoming_call_action": "auto_accept"}},
        {"agent_handle": handle, "tunnel": {"tls_mode": "mtls"}},
        {"agent_handle": handle, "vault_secret_ids": ["not-a-uuid"]},
        {"agent_handle": handle, "display_name": "x" * 256},
    ]
    for body in bad_bodies:
        response = admin.post("/api/v1/identities/", json=body)
        assert response.status_code == 422, body
    after = emu.row_counts()
    for table in ("identities", "mailboxes", "tunnels", "phone_numbers"):
        assert after[table] == before[table], table
    create_identity(admin, handle)  # the handle is still free


def test_update_three_state(admin: httpx2.Client) -> None:
    handle = _handle()
    create_identity(admin, handle, display_name="Name", description="Desc")
    unchanged = admin.patch(f"/api/v1/identities/{handle}", json={})
    assert unchanged.status_code == 200
    assert set(unchanged.json()) == SUMMARY_KEYS | {"mailbox", "phone_number", "tunnel"}
    assert unchanged.json()["display_name"] == "Name"
    cleared = admin.patch(
        f"/api/v1/identities/{handle}", json={"display_name": None, "description": None}
    ).json()
    assert cleared["display_name"] is None
    assert cleared["description"] is None
    assert cleared["tunnel"]["tunnel_name"] == handle


def test_delete_cascades(emu: Emulator, admin: httpx2.Client) -> None:
    handle = _handle()
    created = create_identity(admin, handle, phone_number={"type": "local"})
    key = scoped_key(admin, created["id"])
    assert admin.get("/api/whoami", headers={"X-API-Key": key}).status_code == 200
    response = admin.delete(f"/api/v1/identities/{handle}")
    assert response.status_code == 204
    assert response.content == b""
    assert admin.get(f"/api/v1/identities/{handle}").status_code == 404
    revoked = admin.get("/api/whoami", headers={"X-API-Key": key})
    assert revoked.status_code == 401
    assert revoked.json() == {"detail": "Invalid API key"}
    again = create_identity(admin, handle)
    assert again["id"] != created["id"]
    assert again["tunnel"]["id"] != created["tunnel"]["id"]
    assert admin.delete(f"/api/v1/identities/{handle}-x").status_code == 404


def test_release_phone_number(admin: httpx2.Client) -> None:
    handle = _handle()
    created = create_identity(admin, handle, phone_number={})
    number = created["phone_number"]["number"]
    assert admin.delete(f"/api/v1/identities/{handle}/phone_number").status_code == 204
    assert admin.get(f"/api/v1/identities/{handle}").json()["phone_number"] is None
    assert admin.delete(f"/api/v1/identities/{handle}/phone_number").status_code == 404
    fresh = create_identity(admin, _handle(), phone_number={})
    assert fresh["phone_number"]["number"] != number  # released numbers are never reused


def test_scoped_key_visibility(admin: httpx2.Client) -> None:
    me = create_identity(admin, _handle())
    other = create_identity(admin, _handle())
    headers = {"X-API-Key": scoped_key(admin, me["id"])}
    listed = {i["id"] for i in admin.get("/api/v1/identities/", headers=headers).json()}
    assert listed == {me["id"]}
    assert (
        admin.get(f"/api/v1/identities/{other['agent_handle']}", headers=headers).status_code == 404
    )
    own = admin.patch(
        f"/api/v1/identities/{me['agent_handle']}", json={"description": "mine"}, headers=headers
    )
    assert own.status_code == 200
    assert own.json()["description"] == "mine"
    assert (
        admin.delete(f"/api/v1/identities/{me['agent_handle']}", headers=headers).status_code == 403
    )
    create = admin.post("/api/v1/identities/", json={"agent_handle": _handle()}, headers=headers)
    assert create.status_code == 403


def test_human_session_sees_everything(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    created = create_identity(admin, _handle())
    token = emu.create_human_session(org.organization_id)
    listed = admin.get("/api/v1/identities/", headers={"X-API-Key": token}).json()
    assert [i["id"] for i in listed] == [created["id"]]
