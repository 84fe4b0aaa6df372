"""The 0.4.4 README's quick start (identity and mail parts), async flavour (runs on asyncio or trio).

Runs against a fresh local emulator, or the hosted API when INKBOX_API_KEY is set.
"""

from __future__ import annotations

import sys
import uuid

import _runtime
import anyio

from inkbox_async import AsyncInkbox


async def main() -> None:
    with _runtime.api() as (key, base_url):
        async with AsyncInkbox(api_key=key, base_url=base_url) as inkbox:
            me = await inkbox.whoami()
            print("authenticated for", me.organization_id)

            handle = f"sales-bot-{uuid.uuid4().hex[:6]}"
            identity = await inkbox.create_identity(handle, display_name="Sales Bot")
            print("identity:", identity.agent_handle)
            print("  mailbox:", identity.email_address)
            print("  tunnel: ", identity.tunnel.public_host if identity.tunnel else None)

            await identity.send_email(
                to=["customer@example.com"],
                subject="Your order has shipped",
                body_text="Tracking number: 1Z999AA10123456784",
            )
            async for message in identity.iter_emails():
                print("  mail:   ", message.direction, message.subject)

            await identity.update(description=None, contact_sharing_enabled=True)
            key_ = await identity.create_signing_key()  # signs its webhooks
            print("signing key created at", key_.created_at.isoformat())

            # several calls at once, one connection pool
            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(inkbox.whoami)
            await identity.delete()
            print("deleted", handle)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
