"""The seed's quick start (identity part), async flavour (runs on asyncio or trio).

Runs against a fresh local emulator, or the hosted API when INKBOX_API_KEY is set.
"""

from __future__ import annotations

import sys
import uuid

import anyio
from _runtime import api

from inkbox_async import AsyncInkbox


async def main() -> None:
    with api() as (key, base_url):
        async with AsyncInkbox(api_key=key, base_url=base_url) as inkbox:
            me = await inkbox.whoami()
            print("authenticated for", me.organization_id)

            handle = f"sales-bot-{uuid.uuid4().hex[:6]}"
            identity = await inkbox.create_identity(handle, display_name="Sales Bot")
            print("identity:", identity.agent_handle)
            print("  mailbox:", identity.email_address)
            print("  tunnel: ", identity.tunnel.public_host if identity.tunnel else None)

            await identity.update(description=None)
            await identity.grant_access(None)
            key_ = await inkbox.create_signing_key()
            print("signing key created at", key_.created_at.isoformat())

            # several calls at once, one connection pool
            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(inkbox.whoami)
            await identity.delete()
            print("deleted", handle)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
