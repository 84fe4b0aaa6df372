"""The edge refuses a WebSocket upgrade whose ``Sec-WebSocket-Key`` is not 16 bytes in base64."""

from __future__ import annotations

import httpx2
import pytest

from inkbox_emulator import Emulator

from .tunnel_agent_support import AgentPool, new_tunnel


@pytest.mark.parametrize(
    "key", [b"abc", b"dGhlIHNhbXBsZSBub25jZQ", b"dGhlIHNhbXBsZSBub25jZQ==x", "é".encode() * 12]
)
def test_a_malformed_key_is_refused_before_the_agent_sees_it(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator, key: bytes
) -> None:
    tunnel = new_tunnel(admin, "ws-key")
    agent = agents(tunnel["id"])
    agent.hello(pool_size=1)
    agent.park(1)
    headers = [
        (b"Host", tunnel["public_host"].encode()),
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Key", key),
        (b"Sec-WebSocket-Version", b"13"),
    ]
    with httpx2.Client(base_url=emu.tunnel_public_url, timeout=10) as public:
        response = public.get("/ws", headers=headers)
    assert response.status_code == 400
    assert "Sec-WebSocket-Key" in response.text
