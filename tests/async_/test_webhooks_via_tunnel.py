"""Webhooks to an app behind a tunnel: the emulator delivers them through its own edge.

The whole loop runs offline: inbound mail (or a call) → signed webhook to
``https://{tunnel}.{zone}/…`` → the emulator's edge → the SDK's tunnel agent → the app.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inkbox_async import AsyncInkbox, verify_webhook
from inkbox_emulator import Emulator, OrgCredentials

CUSTOMER = "+15550001111"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tunnel_options(emulator: Emulator, tmp_path: Path) -> dict[str, Any]:
    """The emulator's edge, and tunnel state under ``tmp_path`` (never ``~/.inkbox``)."""
    return {
        "edge": emulator.tunnel_edge,
        "edge_ca": emulator.tunnel_ca_pem,
        "state_dir": str(tmp_path / "tunnels"),
    }


async def test_signed_mail_webhook_reaches_the_app_behind_the_tunnel(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    org: OrgCredentials,
    tmp_path: Path,
    webhook_receiver_app: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name = unique("hooked")
    identity = await inkbox.create_identity(name)
    keys: list[str] = []
    app = webhook_receiver_app(
        lambda body, headers: verify_webhook(payload=body, headers=headers, secret=keys[-1])
    )
    listener = await inkbox.tunnels.connect(
        name=name, forward_to=app, **tunnel_options(emulator, tmp_path)
    )
    public_host = f"{name}.{emulator.tunnel_zone}"
    assert listener.public_url == f"https://{public_host}"
    async with listener.running():
        sub = await identity.subscribe_webhook(
            f"https://{public_host}/hooks?source=inkbox", events=["message.received"]
        )
        assert sub.signing_key is not None
        keys.append(sub.signing_key)
        email = identity.email_address
        assert email is not None
        emulator.inject_email(
            to=email, from_address="customer@example.com", subject="Order 7", body_text="Hi"
        )
        delivered = await call_in_thread(
            emulator.wait_for_webhooks,
            1,
            event_type="message.received",
            organization_id=org.organization_id,
        )
    assert [(d["url"], d["status_code"]) for d in delivered] == [
        (f"https://{public_host}/hooks?source=inkbox", 200)
    ]
    assert len(app.received) == 1
    path, headers, body, accepted = app.received[0]
    assert accepted and path == "/hooks"
    assert headers["host"] == public_host
    assert headers["x-forwarded-proto"] == "https"
    assert verify_webhook(payload=body, headers=headers, secret=sub.signing_key)
    assert body == delivered[0]["body"]
    assert json.loads(body)["event_type"] == "message.received"


async def test_incoming_call_webhook_is_answered_by_the_app_behind_the_tunnel(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    webhook_receiver_app: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name = unique("callee")
    identity = await inkbox.create_identity(name)
    number = await identity.provision_phone_number()
    assert number is not None
    key = (await identity.create_signing_key()).signing_key
    app = webhook_receiver_app(
        lambda body, headers: verify_webhook(payload=body, headers=headers, secret=key),
        reply=b'{"action": "answer"}',
    )
    await inkbox.phone_numbers.update(
        number.id,
        incoming_call_action="webhook",
        incoming_call_webhook_url=f"https://{name}.{emulator.tunnel_zone}/calls",
    )
    listener = await inkbox.tunnels.connect(
        name=name, forward_to=app, **tunnel_options(emulator, tmp_path)
    )
    async with listener.running():
        routed = await call_in_thread(
            emulator.inject_call, to_number=number.number, from_number=CUSTOMER
        )
    assert routed["routing"]["outcome"] == "answered", routed["routing"]
    assert routed["routing"]["webhook_status"] == 200
    assert [(path, accepted) for path, _, _, accepted in app.received] == [("/calls", True)]
    assert json.loads(app.received[0][2])["remote_phone_number"] == CUSTOMER
