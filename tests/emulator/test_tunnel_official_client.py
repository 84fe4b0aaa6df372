"""The official ``inkbox`` 0.4.4 tunnel client serves a request through the emulator's edge.

It always dials port 443 of the zone and trusts the default store, so this test
runs an emulator whose zone is ``127.0.0.1`` with its edge on port 443 (CI runs
as root) and gives the client the test CA through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from inkbox_emulator import Emulator

from .tunnel_agent_support import new_tunnel

AGENT = textwrap.dedent(
    """
    import sys

    from inkbox import Inkbox

    api_key, base_url, name, state_dir = sys.argv[1:5]


    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        request = await receive()
        body = b"official:" + scope["method"].encode() + b" " + scope["path"].encode()
        body += b" " + request.get("body", b"")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-agent", b"0.4.4")],
            }
        )
        await send({"type": "http.response.body", "body": body})


    client = Inkbox(api_key=api_key, base_url=base_url)
    listener = client.tunnels.connect(name=name, forward_to=app, state_dir=state_dir)
    print("connecting", listener.public_url, flush=True)
    listener.wait()
    """
)


@pytest.fixture
def zone_emulator() -> Iterator[Emulator]:
    emu = Emulator(tunnel_zone="127.0.0.1", edge_port=443)
    try:
        emu.start()
    except PermissionError as exc:  # pragma: no cover - CI runs as root
        pytest.fail(f"binding the tunnel edge to port 443 needs root (CI runs as root): {exc}")
    except OSError as exc:  # pragma: no cover
        pytest.fail(f"could not bind the tunnel edge to 127.0.0.1:443: {exc}")
    try:
        yield emu
    finally:
        emu.close()


def test_official_client_serves_a_request(zone_emulator: Emulator, tmp_path: Path) -> None:
    emu = zone_emulator
    org = emu.create_org()
    with httpx2.Client(
        base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
    ) as admin:
        tunnel = new_tunnel(admin, "official")
    assert tunnel["zone"] == "127.0.0.1"
    name = tunnel["tunnel_name"]
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    env = {**os.environ, "SSL_CERT_FILE": emu.tunnel_ca_file, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), org.api_key, emu.base_url, name, str(tmp_path / "state")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        try:
            emu.wait_for_tunnel(name, timeout=30)
        except TimeoutError:
            proc.kill()
            out, err = proc.communicate(timeout=10)
            pytest.fail(f"the official agent never parked an intake\n{out}\n{err}")
        with httpx2.Client(base_url=emu.tunnel_public_url, timeout=30) as public:
            response = public.post(
                "/hello?x=1", content=b"ping", headers={"Host": f"{name}.127.0.0.1"}
            )
        assert response.status_code == 200, response.text
        assert response.text == "official:POST /hello ping"
        assert response.headers["x-agent"] == "0.4.4"
        connections = emu.tunnel_connections(name)
        assert connections[0]["hello_count"] == 1
        assert connections[0]["pool_size"] == 2
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.communicate(timeout=10)
