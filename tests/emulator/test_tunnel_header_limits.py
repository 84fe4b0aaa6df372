"""Oversized header lists never take a tunnel offline (issue 14, defect 1).

The edge refuses (431) a public request whose envelope would exceed the
SETTINGS_MAX_HEADER_LIST_SIZE the agent announced (RFC 9113 §6.5.2 size:
name + value + 32 octets per field, ``:status`` included); other callers'
requests and the agent's connection are untouched.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_sync import Inkbox
from inkbox_sync._tunnel_listener import TunnelListener

from .tunnel_agent_support import AgentPool, Envelope, echo_handler, new_tunnel

LIMIT = 65536
"""What both the SDK agent and an ``h2``-based agent announce."""
REASON = "request-header-fields-too-large"


def field_size(name: str, value: str) -> int:
    return len(name.encode()) + len(value.encode()) + 32


def envelope_size(envelope: Envelope) -> int:
    """The size of the intake answer's header list, ``:status`` included."""
    return sum(field_size(n, v) for n, v in envelope.headers)


def many(count: int) -> list[tuple[str, str]]:
    """``count`` small distinct headers: 1,500 of them are about 13 KB on the wire."""
    return [(f"x-h{n:04d}", "v") for n in range(count)]


# -- the SDK's agent behind the edge -----------------------------------------------------


class SlowApp:
    """ASGI: ``/slow`` waits for :attr:`release`; every path answers 200 with the number of
    ``x-h*`` headers it got."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await receive()
        if scope["path"] == "/slow":
            self.started.set()
            while not self.release.is_set():
                await anyio.sleep(0.01)
        count = sum(1 for name, _ in scope["headers"] if name.startswith(b"x-h"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send(
            {"type": "http.response.body", "body": b"%s %d" % (scope["path"].encode(), count)}
        )


@pytest.fixture
def serving(
    emulator: Emulator, org: OrgCredentials, tmp_path: Path
) -> Iterator[tuple[str, SlowApp, TunnelListener]]:
    app = SlowApp()
    name = f"limits-{uuid.uuid4().hex[:10]}"
    with Inkbox(api_key=org.api_key, base_url=emulator.base_url) as inkbox:
        inkbox.create_identity(name)
        listener = inkbox.tunnels.connect(
            name=name,
            forward_to=app,
            edge=emulator.tunnel_edge,
            edge_ca=emulator.tunnel_ca_pem,
            state_dir=str(tmp_path / "state"),
        )
        try:
            with listener.running():
                yield name, app, listener
        finally:
            app.release.set()


def test_1500_headers_get_431_while_another_callers_slow_request_completes(
    emulator: Emulator, serving: tuple[str, SlowApp, TunnelListener], third_party: Any
) -> None:
    name, app, listener = serving
    slow = third_party.in_background(third_party.http, name, "GET", "/slow")
    assert app.started.wait(10)
    big = third_party.http(name, "GET", "/big", headers=many(1500))
    assert big.status == 431
    assert big.header("inkbox-reason") == [REASON]
    assert big.body == b"request header fields too large"
    app.release.set()
    done = slow.result(timeout=10)
    assert (done.status, done.body) == (200, b"/slow 0")
    after = third_party.http(name, "GET", "/after", headers=many(3))
    assert (after.status, after.body) == (200, b"/after 3")
    [connection] = emulator.tunnel_connections(name)
    assert connection["hello_count"] == 1  # the same connection served everything
    assert listener.status == "connected"


def test_a_request_just_under_the_limit_reaches_the_sdk_agent(
    serving: tuple[str, SlowApp, TunnelListener], third_party: Any
) -> None:
    name, _, _ = serving
    # 1,200 headers: an envelope of about 59 KB, under the 64 KiB the agent announces
    response = third_party.http(name, "GET", "/under", headers=many(1200))
    assert (response.status, response.body) == (200, b"/under 1200")
    refused = third_party.http(name, "GET", "/over", headers=many(1400))
    assert refused.status == 431
    again = third_party.http(name, "GET", "/under", headers=many(1200))
    assert (again.status, again.body) == (200, b"/under 1200")


# -- the exact boundary, read off the envelopes an h2 agent receives ----------------------


def test_the_edge_refuses_exactly_what_exceeds_the_announced_limit(
    admin: httpx2.Client, agents: AgentPool, third_party: Any
) -> None:
    tunnel = new_tunnel(admin, "limits")
    name = tunnel["tunnel_name"]
    agent = agents(tunnel["id"]).connect(pool_size=1)
    seen: list[Envelope] = []

    def handler(envelope: Envelope, agent: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        seen.append(envelope)
        return echo_handler(envelope, agent)

    agent.serve(handler)
    headers = many(1000)
    assert third_party.http(name, "GET", "/probe", headers=headers).status == 201
    probe = envelope_size(seen[-1])
    assert 40000 < probe < LIMIT
    # one more header of the right size lands exactly on the limit (inkbox-h-x-pad: ...)
    pad = LIMIT - probe - field_size("inkbox-h-x-pad", "")
    at_limit = third_party.http(name, "GET", "/probe", headers=[*headers, ("x-pad", "p" * pad)])
    assert at_limit.status == 201
    assert envelope_size(seen[-1]) == LIMIT
    delivered = len(seen)
    over = third_party.http(name, "GET", "/probe", headers=[*headers, ("x-pad", "p" * (pad + 1))])
    assert over.status == 431
    assert over.header("inkbox-reason") == [REASON]
    assert len(seen) == delivered  # never delivered: the agent did not see it
    assert not agent.closed and not agent.goaways
    assert third_party.http(name, "GET", "/probe").status == 201
