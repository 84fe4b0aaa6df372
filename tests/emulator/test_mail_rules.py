"""Mail contact rules, filter-mode blocking, and sending domains."""

from __future__ import annotations

import httpx2

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import create_identity, messages, new_mailbox, scoped_key, send, unique

M = "/api/v1/mail/mailboxes"
IDENTITIES = "/api/v1/identities/"


def rules_of(client: httpx2.Client, box: str) -> str:
    """The identity-keyed rule collection of the identity owning ``box``."""
    owner = client.get(f"{M}/{box}").json()["agent_identity_id"]
    handle = next(i["agent_handle"] for i in client.get(IDENTITIES).json() if i["id"] == owner)
    return f"{IDENTITIES}{handle}/mail-contact-rules"


def rule(
    client: httpx2.Client, box: str, action: str, match_type: str, target: str
) -> httpx2.Response:
    return client.post(
        rules_of(client, box),
        json={"action": action, "match_type": match_type, "match_target": target},
    )


def test_rule_crud_duplicates_and_admin_only(admin: httpx2.Client) -> None:
    ident = create_identity(admin, unique("rules"))
    box = ident["email_address"]
    created = rule(admin, box, "block", "domain", "Spam.Example")
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "active" and body["match_target"] == "spam.example"
    assert (body["agent_identity_id"], body["direction"]) == (ident["id"], "both")
    rules = rules_of(admin, box)
    duplicate = rule(admin, box, "allow", "domain", "spam.example")
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"]["existing_rule_id"] == body["id"]
    assert "message" in duplicate.json()["detail"]
    assert rule(admin, box, "block", "domain", "a@b.com").status_code == 422
    assert rule(admin, box, "block", "exact_email", "not-an-email").status_code == 422
    assert rule(admin, box, "maybe", "domain", "x.example").status_code == 422
    vip = rule(admin, box, "allow", "exact_email", "vip@example.com").json()

    listed = admin.get(rules).json()
    assert [r["id"] for r in listed] == [body["id"], vip["id"]]
    only_block = admin.get(rules, params={"action": "block"}).json()
    assert [r["id"] for r in only_block] == [body["id"]]
    paged = admin.get(rules, params={"limit": 1, "offset": 1}).json()
    assert [r["id"] for r in paged] == [vip["id"]]
    assert admin.get(f"{rules}/{vip['id']}").json()["match_type"] == "exact_email"
    for query in ({"mailbox_id": ident["mailbox"]["id"]}, {"agent_identity_id": ident["id"]}):
        every = admin.get("/api/v1/mail/contact-rules", params=query).json()
        assert {r["id"] for r in every} == {body["id"], vip["id"]}
        assert {r["mailbox_id"] for r in every} == {ident["mailbox"]["id"]}

    key = scoped_key(admin, ident["id"])
    as_agent = {"X-API-Key": key}
    path = f"{rules}/{body['id']}"
    assert admin.patch(path, json={"action": "allow"}, headers=as_agent).status_code == 403
    assert admin.delete(path, headers=as_agent).status_code == 403
    assert admin.get("/api/v1/mail/contact-rules", headers=as_agent).status_code == 403
    assert admin.get(rules, headers=as_agent).status_code == 200
    agent_rule = admin.post(
        rules,
        json={"action": "block", "match_type": "domain", "match_target": "agent.example"},
        headers=as_agent,
    )
    assert agent_rule.status_code == 201

    assert admin.patch(path, json={"status": "paused"}).status_code == 422  # no status any more
    assert admin.patch(path, json={}).status_code == 422
    assert admin.patch(path, json={"action": "allow"}).json()["action"] == "allow"
    immutable = admin.patch(path, json={"action": "allow", "match_target": "x"})
    assert immutable.json()["match_target"] == "spam.example"  # ignored
    assert admin.delete(path).status_code == 204
    assert admin.get(path).status_code == 404
    assert rule(admin, box, "block", "domain", "spam.example").status_code == 201  # free again


def test_filter_mode_and_rules_block_inbound(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    rule(admin, box, "block", "domain", "spam.example")
    emu.inject_email(to=box, from_address="bot@mail.spam.example", subject="spam")
    emu.inject_email(to=box, from_address="friend@example.com", subject="hello")
    assert [m["subject"] for m in messages(admin, box)] == ["hello"]
    blocked = admin.get(f"{M}/{box}/threads", params={"folder": "blocked"}).json()["items"]
    assert [t["subject"] for t in blocked] == ["spam"]
    assert admin.get(f"{M}/{box}/threads/folders").json() == ["blocked", "inbox"]
    default_threads = admin.get(f"{M}/{box}/threads").json()["items"]
    assert [t["subject"] for t in default_threads] == ["hello"]

    admin.patch(f"{M}/{box}", json={"filter_mode": "whitelist"})
    rule(admin, box, "allow", "exact_email", "vip@example.com")
    emu.inject_email(to=box, from_address="friend@example.com", subject="not on the list")
    emu.inject_email(to=box, from_address="VIP@example.com", subject="vip")
    assert [m["subject"] for m in messages(admin, box)] == ["vip", "hello"]
    # an exact allow beats a domain block
    rule(admin, box, "allow", "exact_email", "good@spam.example")
    emu.inject_email(to=box, from_address="good@spam.example", subject="exception")
    assert messages(admin, box)[0]["subject"] == "exception"


def test_block_rules_stop_outbound(admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    blocker = rule(admin, box, "block", "exact_email", "ex@example.com").json()
    refused = send(admin, box, to=["EX@example.com"])
    assert refused.status_code == 403
    assert refused.json()["detail"] == {
        "error": "recipient_blocked",
        "matched_rule_id": blocker["id"],
        "address": "EX@example.com",
        "reason": refused.json()["detail"]["reason"],
    }
    admin.patch(f"{M}/{box}", json={"filter_mode": "whitelist"})
    assert send(admin, box, to=["anyone@example.com"]).status_code == 200  # mode: inbound only
    assert messages(admin, box, direction="outbound")[0]["to_addresses"] == ["anyone@example.com"]


def test_domains_list_and_default(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    name = f"{unique('mail')}.acme.test"
    pending = f"{unique('pending')}.acme.test"
    emu.add_sending_domain(org.organization_id, name)
    emu.add_sending_domain(org.organization_id, pending, status="pending")
    assert admin.get("/api/v1/domains").status_code == 307  # FastAPI-style slash redirect
    every = admin.get("/api/v1/domains/").json()
    assert [d["domain"] for d in every] == [name, pending]
    assert set(every[0]) == {"id", "domain", "status", "is_default", "verified_at"}
    verified = admin.get("/api/v1/domains/", params={"status": "verified"}).json()
    assert [d["domain"] for d in verified] == [name]
    assert admin.get("/api/v1/domains/", params={"status": "bogus"}).status_code == 422

    chosen = admin.post(f"/api/v1/domains/{name}/set-default", json={})
    assert chosen.json() == {"default_domain": name}
    assert admin.get("/api/v1/domains/", params={"status": "verified"}).json()[0]["is_default"]
    inherited = create_identity(admin, unique("inherit"))
    assert inherited["email_address"].endswith("@" + name)
    assert admin.post(f"/api/v1/domains/{pending}/set-default", json={}).status_code == 422
    assert admin.post("/api/v1/domains/nope.example/set-default", json={}).status_code == 404
    cleared = admin.post("/api/v1/domains/inkboxmail.com/set-default", json={})
    assert cleared.json() == {"default_domain": None}
    assert not any(d["is_default"] for d in admin.get("/api/v1/domains/").json())

    key = scoped_key(admin, inherited["id"])
    denied = admin.post(f"/api/v1/domains/{name}/set-default", json={}, headers={"X-API-Key": key})
    assert denied.status_code == 403
    encoded = admin.post("/api/v1/domains/weird%20name%40thing/set-default", json={})
    assert encoded.status_code == 404
