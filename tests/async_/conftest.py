"""Clients for the flavour-specific tests (the sync twin is generated from this file)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inkbox_async import AsyncInkbox
from inkbox_emulator import Emulator, OrgCredentials


@pytest.fixture
async def inkbox(emulator: Emulator, org: OrgCredentials) -> AsyncIterator[AsyncInkbox]:
    async with AsyncInkbox(api_key=org.api_key, base_url=emulator.base_url) as client:
        yield client
