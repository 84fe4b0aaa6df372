"""Starting, stopping, persistence, HTTP/2 and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import httpx2
import pytest

from inkbox_emulator import Emulator


def _health(base_url: str) -> int:
    return httpx2.get(f"{base_url}/_emulator/health", timeout=10).status_code


def test_sync_start_stop_free_port() -> None:
    emu = Emulator()
    emu.start()
    try:
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert not emu.base_url.endswith("/")
        assert _health(emu.base_url) == 200
    finally:
        emu.close()
    assert not emu.running
    with pytest.raises(RuntimeError):
        _ = emu.base_url


def test_context_manager_and_restart_keeps_state() -> None:
    with Emulator() as emu:
        creds = emu.create_org()
        first = emu.base_url
        emu.stop()
        emu.start()
        response = httpx2.get(
            f"{emu.base_url}/api/whoami", headers={"X-API-Key": creds.api_key}, timeout=10
        )
        assert response.status_code == 200
        assert first.startswith("http://127.0.0.1:")


@pytest.mark.anyio
async def test_async_context_manager(anyio_backend: str) -> None:
    async with Emulator() as emu:
        creds = emu.create_org()
        async with httpx2.AsyncClient(base_url=emu.base_url, timeout=10) as client:
            response = await client.get("/api/whoami", headers={"X-API-Key": creds.api_key})
            assert response.status_code == 200
            assert response.json()["organization_id"] == creds.organization_id
        await anyio.sleep(0)
    assert not emu.running


def test_file_db_persists_across_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "emu.sqlite3")
    with Emulator(db=path) as emu:
        creds = emu.create_org()
        response = httpx2.post(
            f"{emu.base_url}/api/v1/identities/",
            json={"agent_handle": "persisted"},
            headers={"X-API-Key": creds.api_key},
            timeout=10,
        )
        assert response.status_code == 201
    with Emulator(db=path) as emu:
        response = httpx2.get(
            f"{emu.base_url}/api/v1/identities/persisted",
            headers={"X-API-Key": creds.api_key},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["email_address"] == "persisted@inkboxmail.com"


def test_custom_domains_in_settings() -> None:
    with Emulator(mail_domain="mail.test", tunnel_zone="wire.test") as emu:
        creds = emu.create_org()
        response = httpx2.post(
            f"{emu.base_url}/api/v1/identities/",
            json={"agent_handle": "custom-zone"},
            headers={"X-API-Key": creds.api_key},
            timeout=10,
        )
        body = response.json()
        assert body["email_address"] == "custom-zone@mail.test"
        assert body["tunnel"]["public_host"] == "custom-zone.wire.test"
        assert body["tunnel"]["zone"] == "wire.test"


def test_http2_prior_knowledge(emu: Emulator) -> None:
    creds = emu.create_org()
    with httpx2.Client(http1=False, http2=True, base_url=emu.base_url, timeout=10) as client:
        response = client.get("/api/whoami", headers={"X-API-Key": creds.api_key})
        assert response.http_version == "HTTP/2"
        assert response.status_code == 200
        created = client.post(
            "/api/v1/identities/",
            json={"agent_handle": "over-h2"},
            headers={"X-API-Key": creds.api_key},
        )
        assert created.status_code == 201
    recorded = [r for r in emu.requests() if r.path == "/api/v1/identities/"][-1]
    assert recorded.json() == {"agent_handle": "over-h2"}


def test_cli_prints_base_url_and_key() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inkbox_emulator", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = dict(
            line.strip().split("=", 1) for line in (proc.stdout.readline() for _ in range(2))
        )
        base_url, key = lines["INKBOX_BASE_URL"], lines["INKBOX_API_KEY"]
        assert base_url.startswith("http://127.0.0.1:")
        response = httpx2.get(f"{base_url}/api/whoami", headers={"X-API-Key": key}, timeout=10)
        assert response.json()["auth_subtype"] == "api_key.admin_scoped"
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
