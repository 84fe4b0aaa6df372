"""Identities and mailboxes on the current wire: settings fields, filter modes, the
full-detail PATCH answer, the removed rename/status/visibility, mailbox storage and
signatures."""

from __future__ import annotations

import uuid

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import create_identity, scoped_key


def _handle() -> str:
    return f"agent-{uuid.uuid4().hex[:10]}"


def _patch(admin: httpx2.Client, handle: str, body: dict[str, object]) -> httpx2.Response:
    return admin.patch(f"/api/v1/identities/{handle}", json=body)


def test_settings_fields_round_trip(admin: httpx2.Client) -> None:
    handle = _handle()
    created = create_identity(admin, handle)
    assert created["imessage_enabled"] is False
    assert created["contact_sharing_enabled"] is True
    response = _patch(admin, handle, {"imessage_enabled": True, "contact_sharing_enabled": False})
    assert response.status_code == 200
    body = response.json()
    assert body["imessage_enabled"] is True
    assert body["contact_sharing_enabled"] is False
    assert body["mailbox"]["email_address"] == created["email_address"]  # the full detail
    assert body["tunnel"]["id"] == created["tunnel"]["id"]
    listed = admin.get("/api/v1/identities/").json()
    assert listed[0]["imessage_enabled"] is True
    again = admin.get(f"/api/v1/identities/{handle}").json()
    assert again["contact_sharing_enabled"] is False
    assert _patch(admin, handle, {"imessage_enabled": "yes"}).status_code == 422


def test_create_with_imessage_settings(admin: httpx2.Client) -> None:
    body = create_identity(admin, _handle(), imessage_enabled=True, contact_sharing_enabled=False)
    assert (body["imessage_enabled"], body["contact_sharing_enabled"]) == (True, False)
    handle = _handle()
    claim = admin.post(
        "/api/v1/identities/",
        json={"agent_handle": handle, "imessage_enabled": True, "claim_imessage_number": True},
    )
    assert claim.status_code == 402
    assert claim.json()["detail"]["error"] == "dedicated_imessage_number_quota_exceeded"
    assert admin.get(f"/api/v1/identities/{handle}").status_code == 404
    unpaired = admin.post(
        "/api/v1/identities/", json={"agent_handle": handle, "claim_imessage_number": True}
    )
    assert unpaired.status_code == 422
    typed = admin.post(
        "/api/v1/identities/", json={"agent_handle": handle, "imessage_enabled": "yes"}
    )
    assert typed.status_code == 422


def test_filter_modes_shared_and_directional(admin: httpx2.Client) -> None:
    handle = _handle()
    created = create_identity(admin, handle, phone_number={"type": "local"})
    address = created["email_address"]
    body = _patch(admin, handle, {"mail_filter_mode": "whitelist"}).json()
    assert body["mail_filter_mode"] == "whitelist"
    assert body["mail_inbound_filter_mode"] == body["mail_outbound_filter_mode"] == "whitelist"
    assert admin.get(f"/api/v1/mail/mailboxes/{address}").json()["filter_mode"] == "whitelist"
    body = _patch(admin, handle, {"mail_inbound_filter_mode": "blacklist"}).json()
    assert body["mail_inbound_filter_mode"] == "blacklist"
    assert body["mail_outbound_filter_mode"] == "whitelist"
    mailbox = admin.get(f"/api/v1/mail/mailboxes/{address}").json()
    assert (mailbox["inbound_filter_mode"], mailbox["outbound_filter_mode"]) == (
        "blacklist",
        "whitelist",
    )
    body = _patch(admin, handle, {"mail_filter_mode": "blacklist"}).json()  # resets both
    assert body["mail_inbound_filter_mode"] == body["mail_outbound_filter_mode"] == "blacklist"
    body = _patch(admin, handle, {"phone_filter_mode": "whitelist"}).json()
    assert body["phone_filter_mode"] == body["imessage_filter_mode"] == "whitelist"
    assert body["phone_number"]["filter_mode"] == "whitelist"
    body = _patch(admin, handle, {"slack_outbound_filter_mode": "whitelist"}).json()
    assert body["slack_inbound_filter_mode"] == "blacklist"
    assert body["slack_outbound_filter_mode"] == "whitelist"


@pytest.mark.parametrize(
    "body",
    [
        {"mail_filter_mode": "whitelist", "mail_inbound_filter_mode": "blacklist"},
        {"imessage_filter_mode": "whitelist", "phone_outbound_filter_mode": "blacklist"},
        {"phone_filter_mode": "whitelist", "imessage_filter_mode": "blacklist"},
        {"mail_filter_mode": "greylist"},
        {"mail_filter_mode": None},
        {"agent_handle": "renamed-agent"},
        {"status": "paused"},
        {"claim_imessage_number": True, "imessage_number_id": str(uuid.uuid4())},
        {"claim_imessage_number": False},
        {"imessage_number_id": "nope"},
    ],
)
def test_rejected_patches(admin: httpx2.Client, body: dict[str, object]) -> None:
    handle = _handle()
    create_identity(admin, handle)
    response = _patch(admin, handle, body)
    assert response.status_code == 422, response.text


def test_removed_rename_and_status_are_extra_fields(admin: httpx2.Client) -> None:
    handle = _handle()
    create_identity(admin, handle)
    response = _patch(admin, handle, {"agent_handle": _handle(), "status": "paused"})
    assert response.status_code == 422
    items = response.json()["detail"]
    assert [(i["type"], i["loc"]) for i in items] == [
        ("extra_forbidden", ["body", "agent_handle"]),
        ("extra_forbidden", ["body", "status"]),
    ]
    assert admin.get(f"/api/v1/identities/{handle}").status_code == 200


def test_filter_modes_need_an_admin_key(admin: httpx2.Client) -> None:
    handle = _handle()
    created = create_identity(admin, handle)
    headers = {"X-API-Key": scoped_key(admin, created["id"])}
    denied = admin.patch(
        f"/api/v1/identities/{handle}", json={"mail_filter_mode": "whitelist"}, headers=headers
    )
    assert denied.status_code == 403
    allowed = admin.patch(
        f"/api/v1/identities/{handle}", json={"imessage_enabled": True}, headers=headers
    )
    assert allowed.status_code == 200


def test_dedicated_imessage_numbers(admin: httpx2.Client) -> None:
    handle = _handle()
    create_identity(admin, handle)
    unkeyed = _patch(admin, handle, {"claim_imessage_number": True})
    assert unkeyed.status_code == 422
    claim = admin.patch(
        f"/api/v1/identities/{handle}",
        json={"imessage_enabled": True, "claim_imessage_number": True},
        headers={"Idempotency-Key": "claim-1"},
    )
    assert claim.status_code == 402
    detail = claim.json()["detail"]
    assert detail["error"] == "dedicated_imessage_number_quota_exceeded"
    assert detail["limit"] == 0
    assert admin.get(f"/api/v1/identities/{handle}").json()["imessage_enabled"] is False
    unknown = _patch(admin, handle, {"imessage_number_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    assert _patch(admin, handle, {"imessage_number_id": None}).status_code == 200


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "/access", None),
        ("POST", "/access", {"viewer_identity_id": None}),
        ("DELETE", f"/access/{uuid.uuid4()}", None),
    ],
)
def test_identity_access_routes_are_gone(
    admin: httpx2.Client, method: str, suffix: str, body: object
) -> None:
    handle = _handle()
    create_identity(admin, handle)
    response = admin.request(method, f"/api/v1/identities/{handle}{suffix}", json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_mailbox_current_fields_and_signature(admin: httpx2.Client) -> None:
    created = create_identity(admin, _handle())
    path = f"/api/v1/mail/mailboxes/{created['email_address']}"
    mailbox = admin.get(path).json()
    assert mailbox["storage_used_bytes"] == 0
    assert mailbox["storage_limit_bytes"] == 1024**3
    assert mailbox["signature_enabled"] is False
    assert mailbox["signature_html"] is None
    updated = admin.patch(
        path,
        json={
            "signature_text": "-- Sales",
            "signature_html": "<p>Sales</p>",
            "signature_enabled": True,
        },
    ).json()
    assert updated["signature_text"] == "-- Sales"
    assert updated["signature_enabled"] is True
    assert admin.get(path).json()["signature_html"] == "<p>Sales</p>"
    cleared = admin.patch(path, json={"signature_html": None}).json()
    assert cleared["signature_html"] is None
    assert cleared["signature_text"] == "-- Sales"
    too_long = admin.patch(path, json={"signature_text": "x" * 16385})
    assert too_long.status_code == 422
    assert admin.patch(path, json={"signature_enabled": "on"}).status_code == 422


def test_storage_use_and_limit(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    created = create_identity(admin, _handle())
    address = created["email_address"]
    path = f"/api/v1/mail/mailboxes/{address}"
    send = {"recipients": {"to": ["someone@example.com"]}, "subject": "Hi", "body_text": "x" * 100}
    assert admin.post(f"{path}/messages", json=send).status_code == 200
    assert admin.get(path).json()["storage_used_bytes"] == 100
    emu.set_storage_limit(address, 150)
    full = admin.post(f"{path}/messages", json=send)
    assert full.status_code == 402
    detail = full.json()["detail"]
    assert detail["error"] == "storage_limit_exceeded"
    assert detail["limit_bytes"] == 150
    assert detail["upgrade_url"].startswith("https://")
    assert len(emu.outbox(org.organization_id)) == 1
    assert admin.get(path).json()["storage_limit_bytes"] == 150
