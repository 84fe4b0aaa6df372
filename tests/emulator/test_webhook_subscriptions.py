"""Webhook subscriptions and identity signing keys on the wire: validation, scope, cascade."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator

from .conftest import HookServer, create_identity, scoped_key, unique, wait_until

S = "/api/v1/webhooks/subscriptions"
MAIL = ["message.received"]


def subscribe(client: httpx2.Client, **body: Any) -> httpx2.Response:
    return client.post(S, json=body)


def problems(response: httpx2.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [".".join(str(p) for p in item["loc"]) for item in response.json()["detail"]]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"event_types": MAIL}, "body.url"),
        ({"url": "ftp://x", "event_types": MAIL}, "body.url"),
        ({"url": "https://x.test/h", "event_types": []}, "body.event_types"),
        ({"url": "https://x.test/h", "event_types": MAIL * 2}, "body.event_types"),
        ({"url": "https://x.test/h", "event_types": ["phone.incoming_call"]}, "body.event_types"),
        ({"url": "https://x.test/h", "event_types": ["message.eaten"]}, "body.event_types"),
        (
            {"url": "https://x.test/h", "event_types": MAIL, "context_config": {"email": {}}},
            "body.context_config",
        ),
        (
            {
                "url": "https://x.test/h",
                "event_types": MAIL,
                "context_config": {"texts": {"mode": "count", "count": 51}},
            },
            "body.context_config",
        ),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    admin: httpx2.Client, body: dict[str, Any], where: str
) -> None:
    owner = create_identity(admin, unique("subs"))["id"]
    assert where in problems(subscribe(admin, agent_identity_id=owner, **body))


def test_exactly_one_owner(admin: httpx2.Client) -> None:
    identity = create_identity(admin, unique("subs"))
    base = {"url": "https://x.test/h", "event_types": MAIL}
    assert subscribe(admin, **base).status_code == 422
    both = subscribe(
        admin, **base, agent_identity_id=identity["id"], mailbox_id=identity["mailbox"]["id"]
    )
    assert both.status_code == 422
    listing = admin.get(S, params={"agent_identity_id": identity["id"], "mailbox_id": "x"})
    assert listing.status_code == 422


def test_tri_state_patch_and_identity_scope(admin: httpx2.Client) -> None:
    owner = create_identity(admin, unique("subs"))["id"]
    created = subscribe(
        admin,
        url="https://x.test/h",
        event_types=["message.received", "text.received"],
        agent_identity_id=owner,
        auth_token="tok",
        context_config={"email": {"mode": "count", "count": 3}},
    ).json()
    assert created["signing_key"] is not None and created["has_auth_token"]
    sub_id = created["id"]
    # a mixed-family subscription needs ?scope=identity to change or delete
    assert admin.patch(f"{S}/{sub_id}", json={"url": "https://y.test/h"}).status_code == 409
    scoped = {"scope": "identity"}
    changed = admin.patch(f"{S}/{sub_id}", params=scoped, json={"url": "https://y.test/h"}).json()
    assert changed["url"] == "https://y.test/h" and changed["has_auth_token"]
    assert changed["context_config"]["email"] == {"mode": "count", "count": 3}
    cleared = admin.patch(
        f"{S}/{sub_id}", params=scoped, json={"auth_token": None, "context_config": None}
    ).json()
    assert not cleared["has_auth_token"] and cleared["context_config"] is None
    assert admin.delete(f"{S}/{sub_id}").status_code == 409
    assert admin.delete(f"{S}/{sub_id}", params=scoped).status_code in (200, 204)
    assert admin.get(f"{S}/{sub_id}").status_code == 404
    assert sub_id not in {s["id"] for s in admin.get(S).json()["subscriptions"]}


def test_scoped_key_sees_only_its_identity(admin: httpx2.Client) -> None:
    mine = create_identity(admin, unique("mine"))["id"]
    theirs = create_identity(admin, unique("theirs"))["id"]
    other = subscribe(
        admin, url="https://x.test/h", event_types=MAIL, agent_identity_id=theirs
    ).json()
    key = scoped_key(admin, mine)
    with httpx2.Client(base_url=str(admin.base_url), headers={"X-API-Key": key}) as agent:
        refused = subscribe(
            agent, url="https://x.test/h", event_types=MAIL, agent_identity_id=theirs
        )
        assert refused.status_code == 404
        assert agent.get(f"{S}/{other['id']}").status_code == 404
        own = subscribe(agent, url="https://x.test/h", event_types=MAIL, agent_identity_id=mine)
        assert own.status_code == 201
        assert [s["id"] for s in agent.get(S).json()["subscriptions"]] == [own.json()["id"]]


def test_deleting_an_identity_deletes_its_subscriptions(admin: httpx2.Client) -> None:
    identity = create_identity(admin, unique("gone"))
    sub = subscribe(
        admin, url="https://x.test/h", event_types=MAIL, agent_identity_id=identity["id"]
    ).json()
    assert admin.delete(f"/api/v1/identities/{identity['agent_handle']}").status_code in (200, 204)
    assert admin.get(f"{S}/{sub['id']}").status_code == 404
    assert sub["id"] not in {s["id"] for s in admin.get(S).json()["subscriptions"]}


def test_signing_key_rotates_and_signs_later_deliveries(
    emu: Emulator, admin: httpx2.Client, hooks: HookServer
) -> None:
    from inkbox import verify_webhook  # type: ignore[import-untyped]

    identity = create_identity(admin, unique("keys"))
    path = f"/api/v1/identities/{identity['agent_handle']}/signing-key"
    assert admin.get(path).json() == {"configured": False, "created_at": None}
    first = admin.post(path, json={}).json()["signing_key"]
    second = admin.post(path, json={}).json()["signing_key"]
    assert first != second and admin.get(path).json()["configured"]
    subscribe(admin, url=hooks.url, event_types=MAIL, agent_identity_id=identity["id"])
    emu.inject_email(to=identity["email_address"], from_address="a@example.com", subject="x")
    wait_until(lambda: len(hooks.received) == 1)
    headers, body = hooks.received[0]
    assert json.loads(body)["event_type"] == "message.received"
    assert verify_webhook(payload=body, headers=headers, secret=second)
    assert not verify_webhook(payload=body, headers=headers, secret=first)


def test_org_signing_key_points_admins_at_identities(admin: httpx2.Client) -> None:
    refused = admin.post("/api/v1/signing-keys", json={})
    assert refused.status_code in (409, 410)
    assert "/signing-key" in refused.text
