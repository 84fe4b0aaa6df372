"""The tunnel edge's agent endpoint and public listener, driven by a small HTTP/2 agent."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import scoped_key, wait_until
from .tunnel_agent_support import AgentPool, EdgeAgent, echo_handler, new_tunnel


@pytest.fixture
def agents(pool: ThreadPoolExecutor, agents: AgentPool) -> AgentPool:
    """conftest's agents, set up after ``pool`` so they are closed before ``pool`` joins the
    public requests still waiting on them."""
    return agents


@pytest.fixture
def public(emu: Emulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emu.tunnel_public_url, timeout=30) as client:
        yield client


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def _get(
    pool: ThreadPoolExecutor, public: httpx2.Client, host: str, path: str = "/", **kw: object
) -> Future[httpx2.Response]:
    method = str(kw.pop("method", "GET"))
    headers = dict(kw.pop("headers", {}))  # type: ignore[call-overload]
    headers["Host"] = host
    return pool.submit(public.request, method, path, headers=headers, **kw)  # type: ignore[arg-type]


# -- hello and intakes ------------------------------------------------------------------


def test_hello_answers_and_settings(admin: httpx2.Client, agents: AgentPool, emu: Emulator) -> None:
    tunnel = new_tunnel(admin, "edge-hello")
    agent = agents(tunnel["id"])
    assert agent.alpn == "h2"
    stream = agent.hello()
    assert stream.status == 200
    body = json.loads(bytes(stream.data))
    assert set(body) == {
        "owner_token",
        "default_pool_size",
        "response_deadline_seconds",
        "intake_idle_seconds",
    }
    assert body["owner_token"]
    assert body["default_pool_size"] == 2
    assert body["response_deadline_seconds"] == 30
    assert body["intake_idle_seconds"] == 600
    assert agent.h2.remote_settings.enable_connect_protocol == 1
    again = agent.hello(pool_size=5)
    assert json.loads(bytes(again.data))["default_pool_size"] == 5
    assert emu.tunnel_connections(tunnel["tunnel_name"])[0]["hello_count"] == 2


def test_hello_rejections(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator, org: OrgCredentials
) -> None:
    tunnel = new_tunnel(admin, "edge-auth")
    other_identity = new_tunnel(admin, "edge-other")
    agent = agents(tunnel["id"])
    assert agent.hello(api_key="ApiKey_nope.secret_x").status == 401
    missing = agent.result(agent.open(agent._base("/_system/hello")))
    assert missing.status == 401
    other_org = emu.create_org()
    assert agent.hello(api_key=other_org.api_key).status == 403
    assert agent.hello(api_key=scoped_key(admin, other_identity["identity_id"])).status == 403
    own = scoped_key(admin, tunnel["identity_id"])
    assert agent.hello(api_key=own).status == 200
    unknown = agents("00000000-0000-4000-8000-000000000000")
    assert unknown.hello().status == 404
    assert not agent.closed


def test_intake_needs_owner_token(admin: httpx2.Client, agents: AgentPool, emu: Emulator) -> None:
    tunnel = new_tunnel(admin, "edge-intake")
    agent = agents(tunnel["id"])
    (early,) = agent.park(1, token="no-token-yet")
    assert agent.result(early).status == 401
    agent.hello(pool_size=3)
    (wrong,) = agent.park(1, token="forged")
    assert agent.result(wrong).status == 401
    agent.park()
    wait_until(lambda: emu.tunnel_connections(tunnel["tunnel_name"])[0]["parked_intakes"] == 3)
    info = emu.tunnel_connections(tunnel["tunnel_name"])[0]
    assert info["pool_size"] == 3
    assert info["draining"] is False
    assert info["peer"].startswith("127.0.0.1:")
    emu.wait_for_tunnel(tunnel["tunnel_name"], timeout=1)
    with pytest.raises(TimeoutError):
        emu.wait_for_tunnel("edge-nobody", timeout=0.1)


# -- HTTP requests end to end -------------------------------------------------------------


def test_request_envelope_and_reply(
    admin: httpx2.Client,
    agents: AgentPool,
    public: httpx2.Client,
    pool: ThreadPoolExecutor,
) -> None:
    tunnel = new_tunnel(admin, "edge-http")
    agent = agents(tunnel["id"]).connect()
    host = tunnel["public_host"]
    pending = pool.submit(
        public.post,
        "/hooks/github?delivery=42&x=%2F",
        content=b'{"action":1}',
        headers=[
            ("Host", f"{host}:8080"),
            ("Content-Type", "application/json"),
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("X-Forwarded-For", "6.6.6.6"),
            ("Forwarded", "for=6.6.6.6"),
        ],
    )
    envelope = agent.next_envelope()
    assert envelope.status == 200
    assert envelope.header("inkbox-method") == "POST"
    assert envelope.header("inkbox-path") == "/hooks/github?delivery=42&x=%2F"
    assert envelope.header("inkbox-route-kind") == "webhook"
    assert envelope.header("inkbox-forwarded-for") == "127.0.0.1"
    request_id = envelope.request_id
    assert request_id.replace("_", "").isalnum()
    forwarded = envelope.forwarded
    assert ("x-multi", "a") in forwarded
    assert [v for n, v in forwarded if n == "x-multi"] == ["a", "b"]
    assert ("content-type", "application/json") in forwarded
    assert ("host", f"{host}:8080") in forwarded
    assert not any(n in ("x-forwarded-for", "forwarded") for n, _ in forwarded)
    assert envelope.body == b'{"action":1}'

    answer = agent.respond(
        request_id,
        207,
        [
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Content-Type", "text/plain"),
            ("inkbox-reason", "custom-reason"),
        ],
        b"multi status",
    )
    assert answer.status == 200
    response = pending.result(10)
    assert response.status_code == 207
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["inkbox-reason"] == "custom-reason"
    assert response.content == b"multi status"
    assert agent.respond(request_id, 200).status == 404
    assert agent.respond("req_unknown", 200).status == 404


def test_auto_served_requests(
    admin: httpx2.Client, agents: AgentPool, public: httpx2.Client, emu: Emulator
) -> None:
    tunnel = new_tunnel(admin, "edge-auto")
    agents(tunnel["id"]).connect().serve(echo_handler)
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    host = tunnel["public_host"]
    for n in range(5):
        response = public.get(f"/n/{n}", headers={"Host": host.upper()})
        assert response.status_code == 201
        assert response.json()["path"] == f"/n/{n}"
    head = public.head("/x", headers={"Host": host})
    assert head.status_code == 201
    assert head.content == b""


def test_unknown_and_passthrough_hosts(admin: httpx2.Client, public: httpx2.Client) -> None:
    missing = public.get("/", headers={"Host": "nobody-here.inkboxwire.com"})
    assert missing.status_code == 404
    assert missing.headers["inkbox-reason"] == "unknown-tunnel"
    raw = new_tunnel(admin, "edge-raw", "passthrough")
    assert public.get("/", headers={"Host": raw["public_host"]}).status_code == 421


def test_renamed_and_deleted_tunnels_stop_routing_at_once(
    admin: httpx2.Client, public: httpx2.Client, emu: Emulator
) -> None:
    raw = new_tunnel(admin, "edge-moving", "passthrough")  # 421 at once: no agent needed
    old_host = raw["public_host"]
    for _ in range(2):  # the second lookup is served from the edge's host cache
        assert public.get("/", headers={"Host": old_host}).status_code == 421
    renamed = admin.patch(  # renames were removed from the wire
        f"/api/v1/identities/{raw['tunnel_name']}", json={"agent_handle": "edge-other"}
    )
    assert renamed.status_code == 422
    assert public.get("/", headers={"Host": old_host}).status_code == 421
    assert admin.delete(f"/api/v1/identities/{raw['tunnel_name']}").status_code == 204
    gone = public.get("/", headers={"Host": old_host})
    assert gone.status_code == 404
    assert gone.headers["inkbox-reason"] == "unknown-tunnel"


def test_large_bodies_offload_and_32_mib_reply(
    admin: httpx2.Client,
    agents: AgentPool,
    public: httpx2.Client,
    pool: ThreadPoolExecutor,
    emu: Emulator,
) -> None:
    tunnel = new_tunnel(admin, "edge-big")
    agent = agents(tunnel["id"]).connect()
    host = tunnel["public_host"]

    small = bytes(range(256)) * 4096  # exactly the 1 MiB threshold: inline
    pending = _get(pool, public, host, "/small", method="PUT", content=small)
    envelope = agent.next_envelope()
    assert envelope.header("inkbox-body-uri") is None
    assert envelope.body == small
    agent.park(1)
    agent.respond(envelope.request_id, 204)
    assert pending.result(10).status_code == 204

    big = small + b"!"
    pending = _get(pool, public, host, "/big", method="POST", content=big)
    envelope = agent.next_envelope()
    uri = envelope.header("inkbox-body-uri")
    assert uri is not None and uri.startswith(f"{emu.base_url}/_emulator/tunnel-bodies/")
    assert envelope.body == b""
    assert httpx2.get(uri).content == big
    assert httpx2.get(uri).status_code == 404
    huge = b"x" * (32 * 1024 * 1024)
    agent.respond(envelope.request_id, 200, [("content-type", "application/octet-stream")], huge)
    response = pending.result(60)
    assert response.status_code == 200
    assert len(response.content) == len(huge)
    assert response.content == huge


def test_edge_tls_termination_by_sni(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator
) -> None:
    tunnel = new_tunnel(admin, "edge-tls")
    agents(tunnel["id"]).connect().serve(echo_handler)
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    host, port = emu.tunnel_edge.rsplit(":", 1)
    context = ssl.create_default_context(cadata=emu.tunnel_ca_pem.decode())
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=tunnel["public_host"]) as tls,
    ):
        assert tls.selected_alpn_protocol() in (None, "http/1.1")
        tls.sendall(
            f"GET /over-tls HTTP/1.1\r\nHost: {tunnel['public_host']}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201")
    assert json.loads(body)["path"] == "/over-tls"


# -- takeover and drain ---------------------------------------------------------------------


def test_takeover_supersedes_previous_connection(
    admin: httpx2.Client, agents: AgentPool, public: httpx2.Client, emu: Emulator
) -> None:
    tunnel = new_tunnel(admin, "edge-take")
    first = agents(tunnel["id"]).connect()
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    second = agents(tunnel["id"])
    assert second.hello().status == 200
    assert first.wait(lambda: bool(first.goaways))
    goaway = first.goaways[0]
    assert goaway.error_code == 0x1201
    assert json.loads(goaway.additional_data or b"") == {"reason": "superseded"}
    refused = first.next_envelope()
    assert refused.status == 401
    assert refused.header("inkbox-reason") == "intake-superseded"
    second.park()
    second.serve(echo_handler)
    assert public.get("/after", headers={"Host": tunnel["public_host"]}).status_code == 201
    conns = emu.tunnel_connections(tunnel["tunnel_name"])
    assert [c["superseded"] for c in conns] == [True, False]


def test_drain_hands_over_to_replacement(
    admin: httpx2.Client,
    agents: AgentPool,
    public: httpx2.Client,
    pool: ThreadPoolExecutor,
    emu: Emulator,
) -> None:
    tunnel = new_tunnel(admin, "edge-drain")
    name, host = tunnel["tunnel_name"], tunnel["public_host"]
    old = agents(tunnel["id"]).connect()
    emu.wait_for_tunnel(name)
    in_flight = [_get(pool, public, host, f"/in-flight/{n}") for n in range(2)]
    envelopes = sorted(
        (old.next_envelope(), old.next_envelope()), key=lambda e: e.header("inkbox-path") or ""
    )

    assert emu.drain_tunnel(name) == 1
    assert old.wait(lambda: bool(old.goaways))
    assert old.goaways[0].error_code == 0
    assert emu.tunnel_connections(name)[0]["draining"] is True
    with pytest.raises(TimeoutError):
        emu.wait_for_tunnel(name, timeout=0.1)
    waiting = _get(pool, public, host, "/during-drain")

    new = agents(tunnel["id"]).connect()
    emu.wait_for_tunnel(name)
    assert len(old.goaways) == 1  # a hello during a drain is not a takeover
    assert [c["draining"] for c in emu.tunnel_connections(name)] == [True, False]
    assert old.respond(envelopes[0].request_id, 200, body=b"old").status == 200
    assert new.respond(envelopes[1].request_id, 200, body=b"new").status == 200
    assert [f.result(10).content for f in in_flight] == [b"old", b"new"]
    envelope = new.next_envelope()
    assert envelope.header("inkbox-path") == "/during-drain"
    new.respond(envelope.request_id, 202)
    assert waiting.result(10).status_code == 202
    old.close()
    wait_until(lambda: len(emu.tunnel_connections(name)) == 1)


# -- liveness and faults -----------------------------------------------------------------------


def test_ping_acks_and_withholding(admin: httpx2.Client, agents: AgentPool, emu: Emulator) -> None:
    tunnel = new_tunnel(admin, "edge-ping")
    agent = agents(tunnel["id"]).connect()
    assert agent.ping(b"pingpong")
    emu.inject_tunnel_fault("withhold_ping_acks", name=tunnel["tunnel_name"], count=1)
    assert not agent.ping(b"withheld", timeout=0.3)
    assert agent.ping(b"acked-ok")


def test_hello_faults(admin: httpx2.Client, agents: AgentPool, emu: Emulator) -> None:
    tunnel = new_tunnel(admin, "edge-hf")
    name = tunnel["tunnel_name"]
    agent = agents(tunnel["id"])
    emu.inject_tunnel_fault("hello_status", name=name, count=1, status=503, body="draining")
    busy = agent.hello()
    assert (busy.status, bytes(busy.data)) == (503, b"draining")
    emu.inject_tunnel_fault(
        "hello_status", name=name, count=1, status=409, body={"reason": "hello-superseded"}
    )
    conflict = agent.hello()
    assert conflict.status == 409
    assert json.loads(bytes(conflict.data)) == {"reason": "hello-superseded"}
    emu.inject_tunnel_fault("hello_stall", name=name, count=1)
    stalled = agent.open([*agent._base("/_system/hello"), ("x-api-key", agent.api_key)])
    assert not agent.wait(lambda: agent.streams[stalled].status is not None, 0.3)
    assert agent.hello().status == 200
    with pytest.raises(ValueError):
        emu.inject_tunnel_fault("hello_status", status="bad")
    with pytest.raises(ValueError):
        emu.inject_tunnel_fault("no-such-kind")


def test_intake_bridge_and_response_faults(
    admin: httpx2.Client,
    agents: AgentPool,
    public: httpx2.Client,
    pool: ThreadPoolExecutor,
    emu: Emulator,
) -> None:
    tunnel = new_tunnel(admin, "edge-ff")
    name, host = tunnel["tunnel_name"], tunnel["public_host"]
    agent = agents(tunnel["id"])
    agent.hello(pool_size=1)
    emu.inject_tunnel_fault("intake_status", name=name, count=1, status=503, reason="busy")
    agent.park(1)
    refused = agent.next_envelope()
    assert refused.status == 503
    assert refused.header("inkbox-reason") == "busy"

    emu.inject_tunnel_fault("bridge_refuse", name=name, count=1, status=451)
    agent.park(1)
    pending = _get(
        pool,
        public,
        host,
        "/ws",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
        },
    )
    envelope = agent.next_envelope()
    ws_id = envelope.header("inkbox-ws-id")
    assert envelope.header("inkbox-route-kind") == "ws-upgrade" and ws_id
    agent.respond(envelope.request_id, 200)
    assert pending.result(10).status_code == 101
    bridge = agent.open_bridge("ws", ws_id)
    assert agent.streams[bridge].status == 451

    emu.inject_tunnel_fault("slow_response", name=name, count=1, delay=0.5)
    agent.park(1)
    pending = _get(pool, public, host, "/slow")
    envelope = agent.next_envelope()
    posted = agent.open(
        [
            *agent._base(f"/_system/response/{envelope.request_id}"),
            ("x-api-key", agent.api_key),
            ("inkbox-status", "200"),
        ]
    )
    assert pending.result(10).status_code == 200
    assert agent.streams[posted].status is None
    assert agent.result(posted).status == 200


def test_goaway_and_drop_faults(admin: httpx2.Client, agents: AgentPool, emu: Emulator) -> None:
    tunnel = new_tunnel(admin, "edge-drop")
    name = tunnel["tunnel_name"]
    agent = agents(tunnel["id"]).connect()
    emu.inject_tunnel_fault("goaway", name=name, error_code=2, debug_data={"why": "test"})
    assert agent.wait(lambda: bool(agent.goaways))
    assert agent.goaways[0].error_code == 2
    assert json.loads(agent.goaways[0].additional_data or b"") == {"why": "test"}
    emu.inject_tunnel_fault("drop_connection", name=name)
    assert agent.wait(lambda: agent.closed)
    wait_until(lambda: emu.tunnel_connections(name) == [])
    emu.clear_tunnel_faults()


def test_wait_for_tunnel_async_variant(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator
) -> None:
    import anyio

    tunnel = new_tunnel(admin, "edge-async")
    agents(tunnel["id"]).connect()
    anyio.run(emu.wait_for_tunnel_async, tunnel["tunnel_name"], 5.0)


def test_agent_of_other_tunnel_cannot_answer(
    admin: httpx2.Client,
    agents: AgentPool,
    public: httpx2.Client,
    pool: ThreadPoolExecutor,
) -> None:
    one = new_tunnel(admin, "edge-one")
    two = new_tunnel(admin, "edge-two")
    agent_one = agents(one["id"]).connect()
    agent_two = agents(two["id"]).connect()
    pending = _get(pool, public, one["public_host"], "/x")
    envelope = agent_one.next_envelope()
    assert agent_two.respond(envelope.request_id, 200).status == 404
    assert agent_one.respond(envelope.request_id, 200, api_key="bad").status == 401
    assert agent_one.respond(envelope.request_id, 200).status == 200
    assert pending.result(10).status_code == 200


def test_revoked_key_is_refused_after_earlier_successes(
    admin: httpx2.Client,
    agents: AgentPool,
    public: httpx2.Client,
    pool: ThreadPoolExecutor,
) -> None:
    """The edge remembers successful authorizations, but deleting the identity (which
    revokes its scoped keys and deletes its tunnel) takes effect on the very next POST."""
    tunnel = new_tunnel(admin, "edge-revoke")
    own = scoped_key(admin, tunnel["identity_id"])
    agent = agents(tunnel["id"], api_key=own).connect()
    for n in range(3):
        pending = _get(pool, public, tunnel["public_host"], f"/ok/{n}")
        envelope = agent.next_envelope()
        agent.park(1)
        assert agent.respond(envelope.request_id, 200).status == 200
        assert pending.result(10).status_code == 200
        bridge = agent.result(agent.open_bridge("ws", "ws_unknown"))  # authorized, then 404
        assert json.loads(bytes(bridge.data)) == {"detail": "Unknown bridge id"}
    last = _get(pool, public, tunnel["public_host"], "/late")
    envelope = agent.next_envelope()
    assert admin.delete(f"/api/v1/identities/{tunnel['tunnel_name']}").status_code == 204
    refused = agent.respond(envelope.request_id, 200)
    assert refused.status == 401
    assert json.loads(bytes(refused.data)) == {"detail": "Invalid API key"}
    assert agent.result(agent.open_bridge("ws", "ws_unknown")).status == 401
    agent.close()
    assert last.result(10).status_code == 502  # no connection left to answer it


def test_agent_helper_close_is_idempotent(
    admin: httpx2.Client, emu: Emulator, org: OrgCredentials
) -> None:
    tunnel = new_tunnel(admin, "edge-close")
    agent = EdgeAgent(emu, tunnel["id"], org.api_key)
    agent.close()
    agent.close()
