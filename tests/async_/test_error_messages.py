"""API errors read as sentences: status, the service's message, the code, the request."""

from __future__ import annotations

import logging
import uuid

import pytest

from inkbox_async import (
    AsyncInkbox,
    AuthenticationError,
    HandleUnavailableError,
    NotFoundError,
)
from inkbox_emulator import Emulator, OrgCredentials

HINT = "is base_url right? it should be the service root, e.g. https://inkbox.ai"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_a_taken_handle_reads_as_a_sentence(
    inkbox: AsyncInkbox, org: OrgCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handle = unique("support-bot")
    await inkbox.create_identity(handle)
    with pytest.raises(HandleUnavailableError) as info:
        await inkbox.create_identity(handle)
    error = info.value
    assert str(error) == (
        f"409 Conflict: Handle '{handle}' is already in use by an agent identity "
        "(handle_unavailable) — POST /api/v1/identities/"
    )
    assert (error.method, error.path) == ("POST", "/api/v1/identities/")
    # the structured fields are unchanged
    assert error.status_code == 409
    assert error.code == "handle_unavailable"
    assert error.blocking_namespace == "identities"
    assert isinstance(error.detail, dict) and error.detail["error"] == "handle_unavailable"
    assert org.api_key not in str(error) and org.api_key not in repr(error)
    assert org.api_key not in caplog.text


async def test_a_wrong_base_url_path_gives_the_hint(
    emulator: Emulator, org: OrgCredentials
) -> None:
    async with AsyncInkbox(
        api_key=org.api_key, base_url=emulator.base_url + "/api/v1", max_retries=0
    ) as inkbox:
        with pytest.raises(NotFoundError) as info:
            await inkbox.list_identities()
    message = str(info.value)
    assert message == f"404 Not Found: {HINT} — GET /api/v1/api/v1/identities/"
    assert info.value.status_code == 404
    assert org.api_key not in message


async def test_a_missing_resource_names_it_without_the_hint(inkbox: AsyncInkbox) -> None:
    handle = unique("nobody")
    with pytest.raises(NotFoundError) as info:
        await inkbox.get_identity(handle)
    message = str(info.value)
    assert message.startswith("404 Not Found: ")
    assert message.endswith(f" — GET /api/v1/identities/{handle}")
    assert "base_url" not in message


async def test_an_unknown_key_is_never_in_the_message(emulator: Emulator) -> None:
    key = "ApiKey_" + uuid.uuid4().hex + uuid.uuid4().hex
    async with AsyncInkbox(api_key=key, base_url=emulator.base_url, max_retries=0) as inkbox:
        with pytest.raises(AuthenticationError) as info:
            await inkbox.list_identities()
    message = str(info.value)
    assert message.startswith("401 Unauthorized")
    assert message.endswith(" — GET /api/v1/identities/")
    assert key not in message and key not in repr(info.value)
