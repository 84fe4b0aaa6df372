"""Fixtures for the emulator tests: raw HTTP clients on the session emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials


@pytest.fixture(scope="session")
def emu(emulator: Emulator) -> Emulator:
    """The session's emulator (``anyio_backend`` and ``org`` come from tests/conftest.py)."""
    return emulator


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx2.Client]:
    """A bare client (no credentials) on the emulator."""
    with httpx2.Client(base_url=emu.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def admin(emu: Emulator, org: OrgCredentials) -> Iterator[httpx2.Client]:
    """A client authenticated with the test org's admin key."""
    with httpx2.Client(
        base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
    ) as client:
        yield client


def as_key(client: httpx2.Client, key: str) -> dict[str, Any]:
    """Request kwargs that swap the credential of one call."""
    del client
    return {"headers": {"X-API-Key": key}}


def create_identity(client: httpx2.Client, handle: str, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/identities/", json={"agent_handle": handle, **body})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def scoped_key(client: httpx2.Client, identity_id: str) -> str:
    response = client.post(
        "/api/v1/api-keys", json={"label": "agent", "scoped_identity_id": identity_id}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])
