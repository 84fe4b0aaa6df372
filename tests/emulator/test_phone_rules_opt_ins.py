"""Phone contact rules R1-R6 and the SMS opt-in registry O1-O4."""

from __future__ import annotations

import httpx2

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import as_key, scoped_key
from .phone_support import P, new_number, opted_in, ready_number, remote, send

RULE_KEYS = {
    "id",
    "agent_identity_id",
    "action",
    "match_type",
    "match_target",
    "direction",
    "status",
    "contact",
    "created_at",
    "updated_at",
}
OPT_IN_KEYS = {
    "id",
    "organization_id",
    "receiver_number",
    "status",
    "source",
    "opted_in_at",
    "opted_out_at",
    "created_at",
    "updated_at",
}


def rules_of(number: dict[str, object]) -> str:
    return f"/api/v1/identities/{number['handle']}/phone-contact-rules"


def test_rule_crud_duplicates_and_filters(admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    second = new_number(admin, "local")
    rules = rules_of(number)
    a, b = remote(), remote()
    block = admin.post(rules, json={"action": "block", "match_target": a})
    assert block.status_code == 201
    rule = block.json()
    assert set(rule) == RULE_KEYS
    assert (rule["match_type"], rule["direction"], rule["agent_identity_id"]) == (
        "exact_number",
        "both",
        number["agent_identity_id"],
    )
    allow = admin.post(
        rules, json={"action": "allow", "match_type": "exact_number", "match_target": b}
    ).json()
    duplicate = admin.post(rules, json={"action": "allow", "match_target": a})
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"]["existing_rule_id"] == rule["id"]
    for body in (
        {"match_target": a},
        {"action": "deny", "match_target": a},
        {"action": "block", "match_type": "prefix", "match_target": a},
        {"action": "block", "match_target": "not-a-number"},
        {"action": "block", "match_target": a, "direction": "sideways"},
    ):
        assert admin.post(rules, json=body).status_code == 422, body
    assert [r["id"] for r in admin.get(rules).json()] == [allow["id"], rule["id"]]
    assert [r["id"] for r in admin.get(rules, params={"action": "allow"}).json()] == [allow["id"]]
    assert len(admin.get(rules, params={"limit": 1}).json()) == 1
    updated = admin.patch(f"{rules}/{rule['id']}", json={"action": "allow"})
    assert (updated.json()["action"], updated.json()["status"]) == ("allow", "active")
    for body in ({}, {"status": "paused"}, {"apply_to": "inbound"}):
        assert admin.patch(f"{rules}/{rule['id']}", json=body).status_code == 422, body
    assert admin.delete(f"{rules}/{rule['id']}").status_code == 204
    assert admin.get(f"{rules}/{rule['id']}").status_code == 404
    assert admin.post(rules, json={"action": "block", "match_target": a}).status_code == 201
    # the rule belongs to its identity only
    assert admin.get(f"{rules_of(second)}/{allow['id']}").status_code == 404
    other = admin.post(rules_of(second), json={"action": "block", "match_target": a}).json()
    everything = admin.get(f"{P}/contact-rules").json()
    assert other["id"] in [r["id"] for r in everything]
    assert len(everything) == 3
    for query in (
        {"agent_identity_id": second["agent_identity_id"]},
        {"phone_number_id": second["id"]},
    ):
        only = admin.get(f"{P}/contact-rules", params=query).json()
        assert [r["id"] for r in only] == [other["id"]]
        assert only[0]["phone_number_id"] == second["id"]
    assert admin.get(f"{P}/contact-rules", params={"phone_number_id": "x"}).status_code == 422


def test_rule_access_for_scoped_keys(admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    other = new_number(admin, "local")
    scoped = as_key(admin, scoped_key(admin, number["agent_identity_id"]))
    rules = rules_of(number)
    created = admin.post(rules, json={"action": "block", "match_target": remote()}, **scoped)
    assert created.status_code == 201
    rule_id = created.json()["id"]
    assert admin.get(rules, **scoped).status_code == 200
    assert admin.get(f"{rules}/{rule_id}", **scoped).status_code == 200
    assert admin.patch(f"{rules}/{rule_id}", json={"action": "allow"}, **scoped).status_code == 403
    assert admin.delete(f"{rules}/{rule_id}", **scoped).status_code == 403
    assert admin.get(f"{P}/contact-rules", **scoped).status_code == 403
    assert admin.get(rules_of(other), **scoped).status_code == 404


def test_opt_in_registry(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    number = new_number(admin, "local")
    alice, bob = remote(), remote()
    emu.inject_text(number["number"], alice, "START")
    emu.inject_text(number["number"], bob, "START")
    emu.inject_text(number["number"], bob, "stop")
    emu.inject_text(number["number"], remote(), "start me up")  # not a keyword
    listed = admin.get(f"{P}/sms-opt-ins").json()
    assert [o["receiver_number"] for o in listed] == [bob, alice]  # most recently updated first
    assert set(listed[0]) == OPT_IN_KEYS
    got = admin.get(f"{P}/sms-opt-ins/{alice}").json()
    assert (got["status"], got["source"], got["organization_id"]) == (
        "opted_in",
        "sms",
        org.organization_id,
    )
    assert got["opted_in_at"] is not None and got["opted_out_at"] is None
    stopped = admin.get(f"{P}/sms-opt-ins/{bob}").json()
    assert stopped["status"] == "opted_out"
    assert stopped["opted_in_at"] is None and stopped["opted_out_at"] is not None
    assert [
        o["receiver_number"]
        for o in admin.get(f"{P}/sms-opt-ins", params={"status": "opted_out"}).json()
    ] == [bob]
    assert len(admin.get(f"{P}/sms-opt-ins", params={"limit": 1, "offset": 1}).json()) == 1
    assert admin.get(f"{P}/sms-opt-ins/{remote()}").status_code == 404
    scoped = as_key(admin, scoped_key(admin, number["agent_identity_id"]))
    assert admin.get(f"{P}/sms-opt-ins", **scoped).status_code == 403


def test_opt_in_writes_need_a_customer_campaign(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    number = ready_number(emu, admin)
    carol = remote()
    refused = admin.post(f"{P}/sms-opt-ins/{carol}/opt-in")
    assert refused.status_code == 409
    assert refused.json()["detail"]["error"] == "customer_campaign_required"
    assert admin.post(f"{P}/sms-opt-ins/{carol}/opt-out").status_code == 409
    emu.set_customer_campaign(org.organization_id)
    scoped = as_key(admin, scoped_key(admin, number["agent_identity_id"]))
    assert admin.post(f"{P}/sms-opt-ins/{carol}/opt-in", **scoped).status_code == 403
    written = admin.post(f"{P}/sms-opt-ins/{carol}/opt-in")
    assert written.status_code == 200
    assert (written.json()["status"], written.json()["source"]) == ("opted_in", "api")
    assert send(admin, number["id"], carol).status_code == 200
    out = admin.post(f"{P}/sms-opt-ins/%2B{carol[1:]}/opt-out").json()
    assert (out["status"], out["opted_in_at"]) == ("opted_out", None)
    assert send(admin, number["id"], carol).json()["detail"]["error"] == "recipient_opted_out"
    assert admin.post(f"{P}/sms-opt-ins/12345/opt-in").status_code == 422
    # a later START by SMS wins again, with source sms
    opted_in(emu, number, carol)
    assert admin.get(f"{P}/sms-opt-ins/{carol}").json()["source"] == "sms"
    response = httpx2.post(
        f"{emu.base_url}/_emulator/phone/campaigns",
        json={"organization_id": org.organization_id, "enabled": False},
    )
    assert response.status_code == 200
    assert admin.post(f"{P}/sms-opt-ins/{carol}/opt-in").status_code == 409
