"""An identity's mailbox, tunnel and address need no asserts (mypy --strict, both flavours)."""

from __future__ import annotations

from typing import assert_type

import inkbox_async
import inkbox_sync


async def async_user(key: str) -> str:
    async with inkbox_async.AsyncInkbox(api_key=key) as inkbox:
        identity = await inkbox.get_identity("support-bot")
        local_part, _, domain = identity.email_address.split("@")
        assert_type(identity.mailbox, inkbox_async.IdentityMailbox)
        assert_type(identity.detail.email_address, str)
        assert_type(identity.detail.tunnel, inkbox_async.TunnelSummary)
        print(identity.mailbox.email_address, identity.detail.mailbox.id, local_part)
        return f"{identity.tunnel.public_host} {identity.tunnel.public_url} {domain}"


def sync_user(key: str) -> str:
    with inkbox_sync.Inkbox(api_key=key) as inkbox:
        identity = inkbox.create_identity("support-bot")
        local_part, _, domain = identity.email_address.split("@")
        assert_type(identity.mailbox, inkbox_sync.IdentityMailbox)
        assert_type(identity.tunnel, inkbox_sync.TunnelSummary)
        print(identity.mailbox.sending_domain, local_part)
        return f"{identity.tunnel.public_host} {identity.tunnel.id} {domain}"
