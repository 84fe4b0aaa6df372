"""The official ``inkbox`` 0.4.4 tunnel client serves a request through the emulator's edge.

It always dials port 443 of the zone and trusts the default store, so this test
runs an emulator whose zone is ``127.0.0.1`` with its edge on port 443 (CI runs
as root) and gives the client the test CA through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Request,
    TextMessage,
)

from inkbox_emulator import Emulator

from .tunnel_agent_support import new_tunnel

AGENT = textwrap.dedent(
    """
    import sys

    from inkbox import Inkbox

    api_key, base_url, name, state_dir = sys.argv[1:5]


    async def app(scope, receive, send):
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept", "subprotocol": "chat"})
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") == "bye":
                    await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
                    return
                if message.get("text") is not None:
                    await send({"type": "websocket.send", "text": "echo:" + message["text"]})
                else:
                    await send({"type": "websocket.send", "bytes": message["bytes"]})
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


@pytest.fixture(scope="module")
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


@contextlib.contextmanager
def _official_agent(emu: Emulator, tmp: Path, tls_mode: str) -> Iterator[str]:
    """The official client serving a new tunnel in a subprocess; yields the tunnel name."""
    org = emu.create_org()
    with httpx2.Client(
        base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
    ) as admin:
        tunnel = new_tunnel(admin, "official", tls_mode)
    assert tunnel["zone"] == "127.0.0.1"
    name = tunnel["tunnel_name"]
    script = tmp / "agent.py"
    script.write_text(AGENT)
    env = {**os.environ, "SSL_CERT_FILE": emu.tunnel_ca_file, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), org.api_key, emu.base_url, name, str(tmp / "state")],
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
        yield name
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.communicate(timeout=10)


@pytest.fixture(scope="module")
def official_agent(
    zone_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with _official_agent(zone_emulator, tmp_path_factory.mktemp("edge-agent"), "edge") as name:
        yield name


def test_official_client_serves_a_request(zone_emulator: Emulator, official_agent: str) -> None:
    emu, name = zone_emulator, official_agent
    with httpx2.Client(base_url=emu.tunnel_public_url, timeout=30) as public:
        response = public.post("/hello?x=1", content=b"ping", headers={"Host": f"{name}.127.0.0.1"})
    assert response.status_code == 200, response.text
    assert response.text == "official:POST /hello ping"
    assert response.headers["x-agent"] == "0.4.4"
    connections = emu.tunnel_connections(name)
    assert connections[0]["hello_count"] == 1
    assert connections[0]["pool_size"] == 2


def test_official_client_is_spared_oversized_header_lists(
    zone_emulator: Emulator, official_agent: str
) -> None:
    """h2 ends the whole connection for a header list over the 64 KiB it announces: the edge
    answers such a request 431 itself, and the agent's connection stays (issue 14)."""
    emu, name = zone_emulator, official_agent
    [before] = emu.tunnel_connections(name)
    host = {"Host": f"{name}.127.0.0.1"}
    many = [(f"x-h{n:04d}", "v") for n in range(1500)]
    with httpx2.Client(base_url=emu.tunnel_public_url, timeout=30) as public:
        refused = public.get("/big", headers=[*host.items(), *many])
        served = public.post("/after", content=b"ok", headers=host)
    assert refused.status_code == 431
    assert refused.headers["inkbox-reason"] == "request-header-fields-too-large"
    assert (served.status_code, served.text) == (200, "official:POST /after ok")
    assert emu.tunnel_connections(name) == [before]  # the same connection, never dropped


def test_official_client_websocket(zone_emulator: Emulator, official_agent: str) -> None:
    emu, name = zone_emulator, official_agent
    host, port = emu.tunnel_public_url.removeprefix("http://").rsplit(":", 1)
    ws = WSConnection(ConnectionType.CLIENT)
    with socket.create_connection((host, int(port)), timeout=10) as sock:

        def events() -> list[Event]:
            while True:
                data = sock.recv(65536)
                assert data, "closed"
                ws.receive_data(data)
                if found := list(ws.events()):
                    return found

        sock.sendall(
            ws.send(Request(host=f"{name}.127.0.0.1", target="/ws", subprotocols=["chat"]))
        )
        assert events() == [AcceptConnection(subprotocol="chat", extensions=[], extra_headers=[])]
        sock.sendall(ws.send(TextMessage(data="hi")))
        assert [e.data for e in events()] == ["echo:hi"]  # type: ignore[attr-defined]
        # 0.4.4 credits a bridge only per whole record, so each message stays under its
        # 64 KiB window; together they need several window updates.
        for _ in range(4):
            chunk = os.urandom(40_000)
            sock.sendall(ws.send(BytesMessage(data=chunk)))
            got = b""
            while len(got) < len(chunk):
                got += b"".join(e.data for e in events())  # type: ignore[attr-defined]
            assert got == chunk
        sock.sendall(ws.send(TextMessage(data="bye")))
        closing = events()[0]
        assert isinstance(closing, CloseConnection)
        assert (closing.code, closing.reason) == (4001, "bye")


def test_official_client_reconnects_after_drain(
    zone_emulator: Emulator, official_agent: str
) -> None:
    emu, name = zone_emulator, official_agent
    assert emu.drain_tunnel(name) == 1
    emu.wait_for_tunnel(name, timeout=30)
    with httpx2.Client(base_url=emu.tunnel_public_url, timeout=30) as public:
        again = public.get("/again", headers={"Host": f"{name}.127.0.0.1"})
    assert again.text == "official:GET /again "
    assert emu.tunnel_connections(name)[-1]["draining"] is False


def test_official_client_passthrough(
    zone_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    emu = zone_emulator
    with _official_agent(emu, tmp_path_factory.mktemp("pt-agent"), "passthrough") as name:
        host = f"{name}.127.0.0.1"
        context = ssl.create_default_context(cafile=emu.tunnel_ca_file)
        with (
            socket.create_connection(("127.0.0.1", 443), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(f"GET /secret HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            data = b""
            while b"official:GET /secret" not in data:
                chunk = tls.recv(65536)
                assert chunk, data
                data += chunk
        assert data.startswith(b"HTTP/1.1 200")
