"""The vault's key derivation runs off the event loop: other tasks keep running meanwhile."""

from __future__ import annotations

import anyio

from inkbox_async import AsyncInkbox
from inkbox_emulator import Emulator, OrgCredentials


async def test_unlock_does_not_block_the_event_loop(
    emulator: Emulator, org: OrgCredentials
) -> None:
    async with AsyncInkbox(org.api_key, base_url=emulator.base_url) as inkbox:
        await inkbox.vault.initialize("my-Vault-key-01!")
        ticks = 0
        done = anyio.Event()

        async def heartbeat() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await anyio.sleep(0.005)

        async with anyio.create_task_group() as tg:
            tg.start_soon(heartbeat)
            await anyio.sleep(0)
            before = ticks
            await inkbox.vault.unlock("my-Vault-key-01!")  # one Argon2id (~0.1 s) in a thread
            during = ticks - before
            done.set()
        assert during >= 5, f"the event loop stalled during unlock ({during} ticks)"
