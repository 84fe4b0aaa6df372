"""The inbox's request log masks secrets in paths, query strings and JSON bodies (vault auth
hashes and key material, webhook auth tokens) as the vault page does: only their last
characters, never the whole value."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from inkbox_emulator import Emulator
from inkbox_emulator.inbox.context import mask_secret, redact_body, redact_path, redact_query

from .conftest import create_identity, unique
from .vault_support import V, create_secret, initialize

REQUESTS = "/inbox/requests"


@pytest.fixture
def page(emu: Emulator) -> Iterator[httpx2.Client]:
    """A browser-like client on the inbox (no API key; Host is the loopback address)."""
    with httpx2.Client(base_url=emu.base_url, timeout=20) as client:
        yield client


def _log(page: httpx2.Client) -> str:
    response = page.get(REQUESTS)
    assert response.status_code == 200, response.text
    return response.text


def _hidden(text: str, secret: str) -> None:
    assert secret not in text
    assert "…" + secret[-6:] in text


def test_vault_auth_hashes_and_key_material_are_masked(
    admin: httpx2.Client, page: httpx2.Client
) -> None:
    keys = initialize(admin)
    primary, recovery = keys["vault_key"], keys["recovery_keys"][0]
    unlocked = admin.get(f"{V}/unlock", params={"auth_hash": primary["auth_hash"]})
    assert unlocked.status_code == 200, unlocked.text
    secret = create_secret(admin)
    assert admin.delete(f"{V}/keys/{recovery['auth_hash']}").status_code == 204
    text = _log(page)
    assert f"{V}/unlock?auth_hash=…" in text and f"{V}/keys/…" in text
    for key in [primary, *keys["recovery_keys"]]:
        _hidden(text, key["auth_hash"])
        _hidden(text, key["wrapped_org_encryption_key"])
        assert key["id"] in text  # what is not secret is shown as sent
    _hidden(text, secret["encrypted_payload"])
    assert secret["id"] in text


def test_webhook_auth_tokens_are_masked(admin: httpx2.Client, page: httpx2.Client) -> None:
    owner = create_identity(admin, unique("redact"))["id"]
    token = f"tok-{unique('secret')}-{unique('bearer')}"
    body = {
        "url": "https://hooks.example/in",
        "event_types": ["message.received"],
        "agent_identity_id": owner,
        "auth_token": token,
    }
    created = admin.post("/api/v1/webhooks/subscriptions", json=body)
    assert created.status_code == 201, created.text
    rotated = f"tok-{unique('rotated')}-{unique('bearer')}"
    sub = f"/api/v1/webhooks/subscriptions/{created.json()['id']}"
    assert admin.patch(sub, json={"auth_token": rotated}).status_code == 200
    assert admin.get(sub, params={"token": rotated}).status_code == 200
    text = _log(page)
    _hidden(text, token)
    _hidden(text, rotated)
    assert "https://hooks.example/in" in text


def test_the_redactors() -> None:
    long = "0123456789abcdef" * 4
    assert mask_secret(long) == "…abcdef"
    assert mask_secret("short") == mask_secret(None) == mask_secret({"a": 1}) == "…redacted…"
    assert redact_query(f"a=1&Auth_Hash={long}&token=x&flag") == (
        "a=1&Auth_Hash=…abcdef&token=…redacted…&flag"
    )
    assert redact_path(f"{V}/keys/{long}") == f"{V}/keys/…abcdef"
    assert redact_path(f"{V}/keys/primary") == f"{V}/keys/primary"
    nested = f'{{"keys": [{{"auth_hash": "{long}", "id": "k"}}], "secret": {{"v": 1}}}}'
    assert redact_body(nested) == (
        '{"keys": [{"auth_hash": "…abcdef", "id": "k"}], "secret": "…redacted…"}'
    )
    for unchanged in ('{"name": "token"}', '{"token": "…redacted…"}', "token=not-json"):
        assert redact_body(unchanged) == unchanged
