"""The emulator's address book over raw HTTP: shapes, validation, visibility, access rows."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2
import pytest
from inkbox import Inkbox  # type: ignore[import-untyped]
from inkbox.exceptions import (  # type: ignore[import-untyped]
    InkboxAPIError,
    RedundantContactAccessGrantError,
)

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import HookServer, as_key, create_identity, scoped_key, unique, wait_until

C = "/api/v1/contacts"


def created(client: httpx2.Client, path: str = C, **body: Any) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_contact_shape_has_the_current_fields(admin: httpx2.Client, org: OrgCredentials) -> None:
    contact = created(
        admin,
        preferred_name="Ada",
        phones=[{"value_e164": "+15551234567", "is_primary": True}],
        websites=[{"url": "https://ada.example"}],
        dates=[{"date": "2020-02-29", "label": "leap"}],
        addresses=[{"postal": "SW1Y", "city": "London"}],
        custom_fields=[{"label": "k", "value": "v"}],
        birthday="1815-12-10",
    )
    assert contact["organization_id"] == org.organization_id
    assert contact["phones"] == [{"value_e164": "+15551234567", "label": None, "is_primary": True}]
    assert contact["websites"] == [{"url": "https://ada.example", "label": None}]
    assert contact["addresses"][0] == {
        "label": None,
        "street": None,
        "city": "London",
        "region": None,
        "postal": "SW1Y",
        "country": None,
    }
    assert contact["emails"] == [] and contact["birthday"] == "1815-12-10"
    for key, value in {
        "creation_source": "manual",
        "review_status": "confirmed",
        "is_confirmed": True,
        "is_auto_created": False,
        "merged_into_contact_id": None,
        "slack_accounts": [],
        "latest_memory": None,
        "status": "active",
    }.items():
        assert contact[key] == value, key
    [row] = contact["access"]
    assert row["identity_id"] is None and row["contact_id"] == contact["id"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"emails": [{"value": "nope"}]}, ["body", "emails", 0, "value"]),
        ({"emails": [{"label": "x"}]}, ["body", "emails", 0, "value"]),
        ({"phones": [{"value_e164": "555-1234"}]}, ["body", "phones", 0, "value_e164"]),
        ({"phones": ["+15551234567"]}, ["body", "phones", 0]),
        ({"emails": "a@example.com"}, ["body", "emails"]),
        ({"birthday": "10/12/1815"}, ["body", "birthday"]),
        ({"dates": [{"date": "2020-13-01"}]}, ["body", "dates", 0, "date"]),
        ({"custom_fields": [{"label": "only"}]}, ["body", "custom_fields", 0, "value"]),
        ({"given_name": 5}, ["body", "given_name"]),
        ({"access_identity_ids": ["x"]}, ["body", "access_identity_ids", 0]),
        ({"access_identity_ids": "x"}, ["body", "access_identity_ids"]),
    ],
)
def test_malformed_bodies_are_422(
    admin: httpx2.Client, body: dict[str, Any], loc: list[Any]
) -> None:
    response = admin.post(C, json=body)
    assert response.status_code == 422, response.text
    assert loc in [item["loc"] for item in response.json()["detail"]]


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", C, b"{"),
        ("POST", C, b"[]"),
        ("PATCH", f"{C}/{uuid.uuid4()}", b"nope"),
        ("POST", f"{C}/with-permissions", b'{"permissions": 5}'),
        ("POST", f"{C}/with-permissions", b'{"permissions": {}}'),
        ("POST", f"{C}/bulk-delete", b'{"contact_ids": []}'),
        ("POST", f"{C}/bulk-delete", b'{"contact_ids": ["x"]}'),
        ("POST", f"{C}/vcard-export", b'{"contact_ids": "x"}'),
        ("POST", f"{C}/{uuid.uuid4()}/merge", b'{"losing_contact_ids": [1]}'),
        ("POST", f"{C}/{uuid.uuid4()}/merge", b'{"losing_contact_ids": [], "field_sources": 3}'),
        ("POST", f"{C}/{uuid.uuid4()}/access", b"{}"),
        ("GET", f"{C}/not-a-uuid", b""),
        ("GET", f"{C}/not-a-uuid.vcf", b""),
        ("GET", f"{C}/lookup", b""),
        ("GET", f"{C}/lookup?email=a@b.c&phone=%2B15551234567", b""),
        ("GET", f"{C}/lookup?phone=555", b""),
        ("GET", f"{C}?limit=0", b""),
        ("GET", f"{C}?review_status=maybe", b""),
        ("GET", f"{C}?q={'x' * 101}", b""),
    ],
)
def test_malformed_requests_are_4xx(
    admin: httpx2.Client, method: str, path: str, content: bytes
) -> None:
    headers = {"Content-Type": "application/json"} if content else {}
    response = admin.request(method, path, content=content or None, headers=headers)
    assert 400 <= response.status_code < 500, response.text


def test_scoped_keys_see_only_their_contacts(admin: httpx2.Client) -> None:
    mine = create_identity(admin, unique("mine"))
    theirs = create_identity(admin, unique("theirs"))
    key = scoped_key(admin, mine["id"])
    wildcard = created(admin, preferred_name="Everyone")
    granted = created(admin, preferred_name="Mine only", access_identity_ids=[mine["id"]])
    hidden = created(admin, preferred_name="Theirs only", access_identity_ids=[theirs["id"]])
    admins_only = created(admin, preferred_name="Admins", access_identity_ids=[])
    assert admins_only["access"] == []
    listed = admin.get(C, **as_key(admin, key)).json()
    assert {c["id"] for c in listed} == {wildcard["id"], granted["id"]}
    for contact in (hidden, admins_only):
        assert admin.get(f"{C}/{contact['id']}", **as_key(admin, key)).status_code == 404
        assert admin.get(f"{C}/{contact['id']}/access", **as_key(admin, key)).status_code == 404
        assert admin.get(f"{C}/{contact['id']}.vcf", **as_key(admin, key)).status_code == 404
        patched = admin.patch(f"{C}/{contact['id']}", json={"notes": "x"}, **as_key(admin, key))
        assert patched.status_code == 404
    # Only admins choose who sees a contact.
    response = admin.post(
        f"{C}/with-permissions",
        json={"preferred_name": "x", "permissions": {"identity_id": mine["id"]}},
        **as_key(admin, key),
    )
    assert response.status_code == 403
    response = admin.post(C, json={"access_identity_ids": []}, **as_key(admin, key))
    assert response.status_code == 403
    # A scoped key's own plain create is visible to every identity.
    own = admin.post(C, json={"given_name": "Own"}, **as_key(admin, key)).json()
    assert own["created_by_identity_id"] == mine["id"]
    assert [a["identity_id"] for a in own["access"]] == [None]


def test_with_permissions_grants_one_identity(admin: httpx2.Client) -> None:
    agent = create_identity(admin, unique("perm"))
    contact = created(
        admin,
        f"{C}/with-permissions",
        preferred_name="Pat",
        permissions={"identity_id": agent["id"], "emails": {"pat@example.com": True}},
    )
    assert [a["identity_id"] for a in contact["access"]] == [agent["id"]]
    hidden = created(
        admin,
        f"{C}/with-permissions",
        preferred_name="Hidden",
        permissions={"identity_id": agent["id"], "profile": False},
    )
    assert hidden["access"] == []
    response = admin.post(
        f"{C}/with-permissions",
        json={"preferred_name": "x", "permissions": {"identity_id": str(uuid.uuid4())}},
    )
    assert response.status_code == 404


def test_legacy_access_grant_and_revoke(admin: httpx2.Client) -> None:
    first = create_identity(admin, unique("first"))
    second = create_identity(admin, unique("second"))
    contact = created(admin, preferred_name="Shared")
    url = f"{C}/{contact['id']}/access"

    redundant = admin.post(url, json={"identity_id": first["id"]})
    assert redundant.status_code == 409
    assert redundant.json()["detail"]["error"] == "redundant_grant"
    assert admin.post(url, json={"identity_id": None}).status_code == 409

    # A scoped key revokes only itself; that turns the wildcard into per-identity rows.
    first_key = scoped_key(admin, first["id"])
    peer = admin.delete(f"{url}/{second['id']}", **as_key(admin, first_key))
    assert peer.status_code == 403
    assert admin.delete(f"{url}/{first['id']}", **as_key(admin, first_key)).status_code == 204
    rows = {r["identity_id"] for r in admin.get(url).json()}
    assert second["id"] in rows and first["id"] not in rows and None not in rows
    assert admin.get(f"{C}/{contact['id']}", **as_key(admin, first_key)).status_code == 404

    again = admin.post(url, json={"identity_id": first["id"]})
    assert again.status_code == 201 and again.json()["identity_id"] == first["id"]
    assert admin.post(url, json={"identity_id": first["id"]}).status_code == 409
    assert (
        admin.post(url, json={"identity_id": first["id"]}, **as_key(admin, first_key)).status_code
        == 403
    )
    reset = admin.post(url, json={"identity_id": None})
    assert reset.status_code == 201 and reset.json()["identity_id"] is None
    assert [r["identity_id"] for r in admin.get(url).json()] == [None]


def test_merge_rules(admin: httpx2.Client) -> None:
    keeper = created(admin, preferred_name="Keeper")
    loser = created(admin, preferred_name="Loser", notes="kept")
    merge = f"{C}/{keeper['id']}/merge"
    assert admin.post(merge, json={"losing_contact_ids": [keeper["id"]]}).status_code == 422
    bad_field = {"losing_contact_ids": [loser["id"]], "field_sources": {"emails": loser["id"]}}
    assert admin.post(merge, json=bad_field).status_code == 422
    stranger = {"losing_contact_ids": [loser["id"]], "field_sources": {"notes": str(uuid.uuid4())}}
    assert admin.post(merge, json=stranger).status_code == 422
    missing = admin.post(merge, json={"losing_contact_ids": [str(uuid.uuid4())]})
    assert missing.status_code == 404
    merged = admin.post(merge, json={"losing_contact_ids": [loser["id"]]}).json()
    assert (merged["preferred_name"], merged["notes"]) == ("Keeper", "kept")
    assert admin.post(merge, json={"losing_contact_ids": [loser["id"]]}).status_code == 404
    assert admin.patch(f"{C}/{loser['id']}", json={"notes": "x"}).status_code == 404


def test_bulk_delete_and_export_limits(admin: httpx2.Client) -> None:
    too_many = [str(uuid.uuid4()) for _ in range(101)]
    assert admin.post(f"{C}/bulk-delete", json={"contact_ids": too_many}).status_code == 422
    export = [str(uuid.uuid4()) for _ in range(26)]
    assert admin.post(f"{C}/vcard-export", json={"contact_ids": export}).status_code == 422
    unknown = admin.post(f"{C}/vcard-export", json={"contact_ids": [str(uuid.uuid4())]})
    assert unknown.status_code == 404


def test_mail_webhook_contacts_come_from_the_address_book(
    emu: Emulator, admin: httpx2.Client, hooks: HookServer
) -> None:
    owner = create_identity(admin, unique("owner"))
    other = create_identity(admin, unique("other"))
    box = owner["email_address"]
    subscription = {
        "url": hooks.url,
        "event_types": ["message.received"],
        "agent_identity_id": owner["id"],
    }
    assert admin.post("/api/v1/webhooks/subscriptions", json=subscription).status_code == 201
    jane = created(
        admin, given_name="Jane", family_name="Doe", emails=[{"value": "jane@example.com"}]
    )
    created(
        admin,
        preferred_name="Not for this mailbox",
        emails=[{"value": "secret@example.com"}],
        access_identity_ids=[other["id"]],
    )
    emu.inject_email(
        to=box,
        from_address="Jane@Example.com",
        cc=["secret@example.com"],
        subject="Hi",
        body_text="Hello",
    )
    wait_until(lambda: any(p["event_type"] == "message.received" for p in hooks.payloads()))
    [payload] = [p for p in hooks.payloads() if p["event_type"] == "message.received"]
    assert payload["data"]["contacts"] == [
        {"bucket": "from", "address": "Jane@Example.com", "id": jane["id"], "name": "Jane Doe"}
        | {"memories": []}
    ]


ODD_VALUES: list[Any] = [5, -1.5, True, "", "x", "2020-13-45", [], {}, [5], [{}], [None], None]
ODD_VALUES += [[{"value": 5}], [{"value_e164": "+1"}], [{"url": ["x"]}], {"identity_id": None}]


def test_odd_values_in_every_field_never_fail_the_server(admin: httpx2.Client) -> None:
    fields = [
        "preferred_name",
        "birthday",
        "notes",
        "emails",
        "phones",
        "websites",
        "dates",
        "addresses",
        "custom_fields",
        "access_identity_ids",
        "review_status",
        "permissions",
    ]
    existing = created(admin, preferred_name="Target")
    for field in fields:
        for value in ODD_VALUES:
            for method, path in (
                ("POST", C),
                ("POST", f"{C}/with-permissions"),
                ("PATCH", f"{C}/{existing['id']}"),
            ):
                body = {"preferred_name": "n", field: value}
                response = admin.request(method, path, json=body)
                assert response.status_code < 500, (method, field, value, response.text)


def test_official_0_4_4_access_calls(emu: Emulator, org: OrgCredentials) -> None:
    """The 0.4.4 client's grant/revoke (gone from our SDK) still work against the emulator."""
    with Inkbox(org.api_key, base_url=emu.base_url) as client:
        agent = client.create_identity(unique("legacy"))
        contact = client.contacts.create(preferred_name="Legacy", access_identity_ids=[])
        assert contact.access == []
        row = client.contacts.access.grant(contact.id, identity_id=agent.id)
        assert row.identity_id == agent.id
        with pytest.raises(InkboxAPIError) as again:
            client.contacts.access.grant(contact.id, identity_id=agent.id)
        assert again.value.status_code == 409
        assert client.contacts.access.grant(contact.id, wildcard=True).identity_id is None
        with pytest.raises(RedundantContactAccessGrantError):
            client.contacts.access.grant(contact.id, identity_id=agent.id)
        client.contacts.access.revoke(contact.id, agent.id)
        assert agent.id not in {r.identity_id for r in client.contacts.access.list(contact.id)}
        wildcard = client.contacts.create(preferred_name="Everyone", access_identity_ids=None)
        assert [a.identity_id for a in wildcard.access] == [None]
