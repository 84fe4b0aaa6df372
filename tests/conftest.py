"""Fixtures shared by every test directory: one emulator per session, an org per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inkbox_emulator import Emulator, OrgCredentials

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.is_dir():  # CI lays shared/ beside the clone; fall back to the repo's parent
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def org(emulator: Emulator) -> OrgCredentials:
    return emulator.create_org()


@pytest.fixture
def shared_dir() -> Path:
    return SHARED
