"""Phone numbers N1-N6 and the identity phone endpoints: shapes, validation, scoping."""

from __future__ import annotations

from typing import Any

import httpx2

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import as_key, create_identity, scoped_key, unique
from .phone_support import NUMBER_KEYS, P, new_number


def test_provision_local_numbers_agree_with_identity(emu: Emulator, admin: httpx2.Client) -> None:
    local = new_number(admin, "local", state="ca")
    assert set(local) - {"handle"} == NUMBER_KEYS
    assert local["number"].startswith("+1415555")
    assert local["type"] == "local"
    assert local["state"] == "CA"
    assert local["status"] == "active"
    assert local["sms_status"] == "pending"
    assert local["sms_ready_at"] is not None
    assert local["incoming_call_action"] == "auto_reject"
    assert local["filter_mode"] == "blacklist"
    assert "incoming_text_webhook_url" not in local  # removed: text events use subscriptions
    toll = new_number(admin, "local", state="NY")
    assert toll["number"].startswith("+1212555")
    assert toll["state"] == "NY"
    default_local = new_number(admin, "local")
    assert default_local["number"].startswith("+1212555")
    assert default_local["forwarding_target_type"] is None

    identity = admin.get(f"/api/v1/identities/{local['handle']}").json()
    assert identity["phone_number"] == {k: v for k, v in local.items() if k != "handle"}
    listed = admin.get(f"{P}/numbers").json()
    assert [n["id"] for n in listed] == [local["id"], toll["id"], default_local["id"]]
    assert listed[0] == identity["phone_number"]
    assert admin.get(f"{P}/numbers/{toll['id']}").json()["number"] == toll["number"]


def test_warm_up_follows_the_emulator_clock(emu: Emulator, admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    assert admin.get(f"{P}/numbers/{number['id']}").json()["sms_status"] == "pending"
    emu.advance_clock(1.5)
    fetched = admin.get(f"{P}/numbers/{number['id']}").json()
    assert fetched["sms_status"] == "ready"
    assert fetched["sms_ready_at"] == number["sms_ready_at"]
    ident = admin.get(f"/api/v1/identities/{number['handle']}").json()["phone_number"]
    assert ident["sms_status"] == "ready"


def test_provision_errors(admin: httpx2.Client) -> None:
    handle = unique("ph")
    create_identity(admin, handle)
    bad = [
        {"type": "local"},
        {"agent_handle": handle, "type": "cell"},
        {"agent_handle": handle, "type": "toll_free"},
        {"agent_handle": handle, "type": "toll_free", "state": "NY"},
        {"agent_handle": handle, "type": "local", "state": "ZZ"},
        {"agent_handle": handle, "incoming_call_action": "auto_accept"},
        {"agent_handle": handle, "incoming_call_action": "webhook"},
        {"agent_handle": handle, "incoming_text_webhook_url": "ftp://x"},
    ]
    for body in bad:
        response = admin.post(f"{P}/numbers", json=body)
        assert response.status_code == 422, (body, response.text)
        assert isinstance(response.json()["detail"], list)
    assert admin.post(f"{P}/numbers", json={"agent_handle": "nobody-here"}).status_code == 404
    first = admin.post(f"{P}/numbers", json={"agent_handle": f"@{handle}"})
    assert first.status_code == 201
    again = admin.post(f"{P}/numbers", json={"agent_handle": handle, "type": "local"})
    assert again.status_code == 409
    assert admin.get(f"{P}/numbers").json()[0]["id"] == first.json()["id"]


def test_update_three_state_and_validation(admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    url = f"{P}/numbers/{number['id']}"
    assert admin.patch(url, json={}).json()["incoming_call_action"] == "auto_reject"
    response = admin.patch(url, json={"incoming_call_action": "auto_accept"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "client_websocket_url"]
    assert admin.patch(url, json={"incoming_call_action": "webhook"}).status_code == 422
    updated = admin.patch(
        url,
        json={
            "incoming_call_action": "auto_accept",
            "client_websocket_url": "wss://agent.example/ws",
            "incoming_call_webhook_url": "https://hooks.example/c",
        },
    ).json()
    assert updated["incoming_call_action"] == "auto_accept"
    assert updated["client_websocket_url"] == "wss://agent.example/ws"
    assert updated["filter_mode_change_notice"] is None
    # clearing the URL the current action needs is refused; clearing another is fine
    assert admin.patch(url, json={"client_websocket_url": None}).status_code == 422
    cleared = admin.patch(url, json={"incoming_call_webhook_url": None}).json()
    assert cleared["incoming_call_webhook_url"] is None
    assert cleared["client_websocket_url"] == "wss://agent.example/ws"  # omitted = unchanged
    assert admin.patch(url, json={"client_websocket_url": "https://x"}).status_code == 422
    assert admin.patch(url, json={"filter_mode": "greylist"}).status_code == 422
    assert admin.patch(url, json={"incoming_call_action": None}).status_code == 422


def test_filter_mode_change_notice(admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    rules = f"/api/v1/identities/{number['handle']}/phone-contact-rules"
    for target, action in (("+15550001", "block"), ("+15550002", "block"), ("+15550003", "allow")):
        assert (
            admin.post(rules, json={"action": action, "match_target": f"{target}00"}).status_code
            == 201
        )
    gone = admin.post(rules, json={"action": "block", "match_target": "+1555000400"}).json()
    assert admin.delete(f"{rules}/{gone['id']}").status_code == 204
    url = f"{P}/numbers/{number['id']}"
    notice = admin.patch(url, json={"filter_mode": "whitelist"}).json()["filter_mode_change_notice"]
    assert notice == {
        "new_filter_mode": "whitelist",
        "redundant_rule_action": "block",
        "redundant_rule_count": 2,
    }
    same = admin.patch(url, json={"filter_mode": "whitelist"}).json()
    assert same["filter_mode_change_notice"] is None
    back = admin.patch(url, json={"filter_mode": "blacklist"}).json()["filter_mode_change_notice"]
    assert back == {
        "new_filter_mode": "blacklist",
        "redundant_rule_action": "allow",
        "redundant_rule_count": 1,
    }


def test_forwarding_fields_and_new_call_actions(admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    url = f"{P}/numbers/{number['id']}"
    phone = {
        "incoming_call_action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+15557654321",
    }
    forwarded = admin.patch(url, json=phone).json()
    assert {k: forwarded[k] for k in phone} == phone
    assert forwarded["forwarding_sip_uri"] is None
    sip = admin.patch(
        url,
        json={
            "forwarding_target_type": "sip",
            "forwarding_phone_number": None,
            "forwarding_sip_uri": "sip:desk@pbx.example.com",
        },
    ).json()
    assert sip["forwarding_sip_uri"] == "sip:desk@pbx.example.com"
    assert admin.get(url).json()["forwarding_target_type"] == "sip"
    bad = [
        {"forwarding_target_type": None},  # forward still needs a target
        {"forwarding_phone_number": "+15550001111"},  # sip forwarding takes only the URI
        {"forwarding_target_type": "fax"},
        {"forwarding_sip_uri": "https://pbx.example.com"},
        {"incoming_call_action": "voicemail"},
    ]
    for body in bad:
        assert admin.patch(url, json=body).status_code == 422, body
    hosted = admin.patch(
        url,
        json={
            "incoming_call_action": "hosted_agent",
            "forwarding_target_type": None,
            "forwarding_sip_uri": None,
        },
    ).json()
    assert hosted["incoming_call_action"] == "hosted_agent"
    assert hosted["forwarding_target_type"] is None


def test_identity_create_takes_forwarding(admin: httpx2.Client) -> None:
    forward = {
        "incoming_call_action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+15557654321",
    }
    created = create_identity(admin, unique("fwd"), phone_number=forward)
    phone = created["phone_number"]
    assert {k: phone[k] for k in forward} == forward and phone["type"] == "local"
    for bad in (
        {"type": "toll_free"},
        {"incoming_call_action": "forward"},
        {
            "forwarding_target_type": "sip",
            "forwarding_sip_uri": "sip:a@b.example",
            "forwarding_phone_number": "+15557654321",
        },
    ):
        response = admin.post(
            "/api/v1/identities/", json={"agent_handle": unique("fwd"), "phone_number": bad}
        )
        assert response.status_code == 422, (bad, response.text)


def test_release_and_identity_release(admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    assert admin.delete(f"{P}/numbers/{number['id']}").status_code == 204
    assert admin.get(f"{P}/numbers/{number['id']}").status_code == 404
    assert admin.get(f"/api/v1/identities/{number['handle']}").json()["phone_number"] is None
    assert number["id"] not in [n["id"] for n in admin.get(f"{P}/numbers").json()]
    again = admin.post(f"{P}/numbers", json={"agent_handle": number["handle"]}).json()
    assert again["number"] != number["number"]  # released numbers are never reused
    assert admin.delete(f"/api/v1/identities/{number['handle']}/phone_number").status_code == 204
    assert admin.get(f"{P}/numbers/{again['id']}").status_code == 404


def test_scoped_keys_reach_only_their_own_number(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    mine = new_number(admin, "local")
    other = new_number(admin, "local")
    key = scoped_key(admin, mine["agent_identity_id"])
    scoped = as_key(admin, key)
    assert [n["id"] for n in admin.get(f"{P}/numbers", **scoped).json()] == [mine["id"]]
    assert admin.get(f"{P}/numbers/{other['id']}", **scoped).status_code == 404
    assert admin.patch(f"{P}/numbers/{other['id']}", json={}, **scoped).status_code == 404
    assert admin.delete(f"{P}/numbers/{other['id']}", **scoped).status_code == 404
    assert admin.get(f"{P}/numbers/{other['id']}/calls", **scoped).status_code == 404
    assert admin.get(f"{P}/numbers/{other['id']}/texts", **scoped).status_code == 404
    own = admin.patch(
        f"{P}/numbers/{mine['id']}",
        json={"incoming_call_webhook_url": "https://a.example/"},
        **scoped,
    )
    assert own.status_code == 200
    forbidden = admin.patch(
        f"{P}/numbers/{mine['id']}", json={"filter_mode": "whitelist"}, **scoped
    )
    assert forbidden.status_code == 403
    fresh = unique("ph")
    create_identity(admin, fresh)
    assert admin.post(f"{P}/numbers", json={"agent_handle": fresh}, **scoped).status_code == 403
    # another org sees nothing
    stranger = emu.create_org()
    foreign: dict[str, Any] = {"headers": {"X-API-Key": stranger.api_key}}
    assert admin.get(f"{P}/numbers/{mine['id']}", **foreign).status_code == 404
    assert admin.get(f"{P}/numbers", **foreign).json() == []


def test_path_and_query_validation(admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    base = f"{P}/numbers/{number['id']}"
    assert admin.get(f"{P}/numbers/not-a-uuid").status_code == 422
    for path in ("/calls", "/texts", "/texts/conversations"):
        for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "x"}):
            response = admin.get(base + path, params=params)
            assert response.status_code == 422, (path, params)
            assert response.json()["detail"][0]["loc"][0] == "query"
        assert admin.get(base + path, params={"limit": 200, "offset": 0}).status_code == 200
    assert admin.get(base + "/search").status_code == 422  # q is required
    assert admin.get(base + "/search", params={"q": "x", "party": "bot"}).status_code == 422
    assert admin.get(base + "/search", params={"q": "x", "limit": 201}).status_code == 422
    assert admin.get(base + "/texts/search", params={"q": "x", "limit": 0}).status_code == 422
    assert admin.get(f"{P}/sms-opt-ins", params={"limit": 201}).status_code == 422
    assert admin.get(f"{P}/sms-opt-ins", params={"status": "maybe"}).status_code == 422
    rules = f"/api/v1/identities/{number['handle']}/phone-contact-rules"
    assert admin.get(rules, params={"limit": 201}).status_code == 422
    assert admin.get(f"{P}/numbers", headers={"X-API-Key": "nope"}).status_code == 401
