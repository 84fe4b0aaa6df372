"""The engine over real HTTP: what the process environment must not change."""

from __future__ import annotations

import pytest

from inkbox_async import AsyncInkbox
from inkbox_emulator import Emulator, OrgCredentials


async def test_certificate_and_proxy_variables_are_ignored(
    emulator: Emulator, org: OrgCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read by httpx2 when it trusts the environment: a missing CA file would fail, a proxy divert.
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    monkeypatch.setenv("SSL_CERT_DIR", "/nonexistent")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    async with AsyncInkbox(api_key=org.api_key, base_url=emulator.base_url) as inkbox:
        whoami = await inkbox.whoami()
    assert whoami is not None
    assert emulator.requests()[-1].path == "/api/whoami"
