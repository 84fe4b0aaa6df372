"""Edge timeouts, big inline bodies, reset, shutdown and the CLI, on emulators of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import wait_until
from .tunnel_agent_support import AgentPool, agent_pool, new_tunnel


@pytest.fixture(scope="module")
def fast() -> Iterator[Emulator]:
    with Emulator(
        tunnel_pool_size=1,
        tunnel_response_deadline=0.3,
        tunnel_reply_grace=0.2,
        tunnel_connect_wait=0.3,
        tunnel_offload_threshold=64 * 1024 * 1024,
    ) as emu:
        yield emu


@pytest.fixture
def fast_org(fast: Emulator) -> OrgCredentials:
    return fast.create_org()


@pytest.fixture
def fast_admin(fast: Emulator, fast_org: OrgCredentials) -> Iterator[httpx2.Client]:
    with httpx2.Client(
        base_url=fast.base_url, headers={"X-API-Key": fast_org.api_key}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


@pytest.fixture
def agents(
    fast: Emulator, fast_org: OrgCredentials, pool: ThreadPoolExecutor
) -> Iterator[AgentPool]:
    with agent_pool(fast, fast_org.api_key) as factory:
        yield factory


@pytest.fixture
def public(fast: Emulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=fast.tunnel_public_url, timeout=30) as client:
        yield client


def test_no_agent_is_503(fast_admin: httpx2.Client, public: httpx2.Client) -> None:
    tunnel = new_tunnel(fast_admin, "fast-none")
    started = time.monotonic()
    response = public.get("/", headers={"Host": tunnel["public_host"]})
    assert response.status_code == 503
    assert response.headers["inkbox-reason"] == "no-agent-connected"
    assert 0.25 < time.monotonic() - started < 3


def test_reply_deadline_is_504_and_disconnect_is_502(
    fast_admin: httpx2.Client,
    agents: AgentPool,
    public: httpx2.Client,
    pool: ThreadPoolExecutor,
    fast: Emulator,
) -> None:
    tunnel = new_tunnel(fast_admin, "fast-slow")
    agent = agents(tunnel["id"])
    hello = agent.hello()
    assert json.loads(bytes(hello.data))["response_deadline_seconds"] == 0.3
    assert agent.pool_size == 1
    agent.park()
    started = time.monotonic()
    response = public.get("/slow", headers={"Host": tunnel["public_host"]})
    assert response.status_code == 504
    assert 0.45 < time.monotonic() - started < 3
    late = agent.next_envelope()
    assert agent.respond(late.request_id, 200).status == 404

    agent.park()
    pending = pool.submit(public.get, "/gone", headers={"Host": tunnel["public_host"]})
    agent.next_envelope()
    agent.close()
    assert pending.result(5).status_code == 502


def test_32_mib_inline_request_body(
    fast_admin: httpx2.Client, agents: AgentPool, public: httpx2.Client, pool: ThreadPoolExecutor
) -> None:
    tunnel = new_tunnel(fast_admin, "fast-big")
    agent = agents(tunnel["id"]).connect()
    body = os.urandom(1024) * (32 * 1024)
    pending = pool.submit(
        public.post, "/upload", content=body, headers={"Host": tunnel["public_host"]}
    )
    envelope = agent.next_envelope()
    assert envelope.header("inkbox-body-uri") is None
    assert envelope.body == body
    agent.respond(envelope.request_id, 200, body=b"stored")
    assert pending.result(10).content == b"stored"


def test_reset_drops_edge_state(
    fast_admin: httpx2.Client, agents: AgentPool, fast: Emulator
) -> None:
    tunnel = new_tunnel(fast_admin, "fast-reset")
    agent = agents(tunnel["id"]).connect()
    fast.wait_for_tunnel(tunnel["tunnel_name"])
    fast.inject_tunnel_fault("slow_response", delay=1)
    fast.reset()
    assert agent.wait(lambda: agent.closed)
    assert fast._edge.faults.list() == []
    with pytest.raises(LookupError):
        fast.tunnel_connections(tunnel["tunnel_name"])


def _edge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("inkbox-tunnel-edge")]


def test_stop_closes_the_edge_promptly() -> None:
    before = len(_edge_threads())
    emu = Emulator()
    emu.start()
    try:
        org = emu.create_org()
        with httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
        ) as admin:
            tunnel = new_tunnel(admin, "stop-me")
        with agent_pool(emu, org.api_key) as agents:
            agent = agents(tunnel["id"]).connect()
            emu.wait_for_tunnel(tunnel["tunnel_name"])
            assert len(_edge_threads()) == before + 1
            started = time.monotonic()
            emu.stop()
            assert time.monotonic() - started < 3
            assert agent.wait(lambda: agent.closed)
            with pytest.raises(RuntimeError):
                _ = emu.tunnel_edge
            emu.start()
            assert emu.tunnel_edge.startswith("127.0.0.1:")
    finally:
        emu.close()
    wait_until(lambda: len(_edge_threads()) == before)


def test_cli_prints_tunnel_endpoints() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inkbox_emulator", "--port", "0", "--edge-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = dict(
            line.strip().split("=", 1) for line in (proc.stdout.readline() for _ in range(5))
        )
        assert lines["INKBOX_TUNNEL_EDGE"].startswith("127.0.0.1:")
        assert lines["INKBOX_TUNNEL_PUBLIC_URL"].startswith("http://127.0.0.1:")
        with open(lines["INKBOX_TUNNEL_CA"]) as handle:
            assert "BEGIN CERTIFICATE" in handle.read()
        info = httpx2.get(f"{lines['INKBOX_BASE_URL']}/_emulator/tunnel-edge", timeout=10).json()
        assert info["edge"] == lines["INKBOX_TUNNEL_EDGE"]
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
