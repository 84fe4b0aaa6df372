"""Issue 14 end to end: bad input never reaches the emulator, and what was there stays intact."""

from __future__ import annotations

import json
import logging
import math
import uuid
from typing import Any

import pytest

from inkbox_async import (
    AsyncAgentIdentity,
    AsyncInkbox,
    InkboxConnectionError,
    InvalidArgumentError,
    verify_webhook,
)
from inkbox_emulator import Emulator, OrgCredentials


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def email_of(identity: AsyncAgentIdentity) -> str:
    assert identity.email_address is not None
    return identity.email_address


class NothingSent:
    """Asserts the emulator served no request inside the block."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._before = 0

    def __enter__(self) -> None:
        self._before = len(self._emulator.requests())

    def __exit__(self, *exc: object) -> None:
        assert len(self._emulator.requests()) == self._before


@pytest.mark.parametrize("mangle", [" {}", "{}\n", "{}\u00e9", "{}\x7f"])
async def test_a_mangled_key_is_refused_and_never_shown(
    emulator: Emulator, org: OrgCredentials, mangle: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with NothingSent(emulator), pytest.raises(InvalidArgumentError) as info:
        AsyncInkbox(api_key=mangle.format(org.api_key), base_url=emulator.base_url)
    assert info.value.argument == "api_key"
    assert org.api_key not in str(info.value) and org.api_key not in caplog.text
    async with AsyncInkbox(api_key=org.api_key, base_url=emulator.base_url) as inkbox:
        assert await inkbox.list_identities() == []


async def test_the_key_is_masked_when_the_connection_fails(
    org: OrgCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # a loopback port nobody listens on: the request fails, its key must not show
    async with AsyncInkbox(
        api_key=org.api_key, base_url="http://127.0.0.1:9", max_retries=1
    ) as inkbox:
        with pytest.raises(InkboxConnectionError) as info:
            await inkbox.list_identities()
    assert org.api_key not in str(info.value) and org.api_key not in caplog.text


async def test_bad_tunnel_metadata_is_refused_and_the_tunnel_stays_readable(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("meta"))
    assert identity.tunnel is not None
    tunnel_id = identity.tunnel.id
    await inkbox.tunnels.update(tunnel_id, metadata={"team": "gtm", "ratio": 0.5})
    for bad in ({"x": math.nan}, {"x": math.inf}, {"x": [-math.inf]}, {"x": "a\ud800"}):
        with NothingSent(emulator), pytest.raises(InvalidArgumentError) as info:
            await inkbox.tunnels.update(tunnel_id, metadata=bad)
        assert info.value.argument.startswith("metadata")
    assert (await inkbox.tunnels.get(tunnel_id)).metadata == {"team": "gtm", "ratio": 0.5}
    assert tunnel_id in {t.id for t in await inkbox.tunnels.list()}
    assert (await inkbox.get_identity(identity.agent_handle)).tunnel is not None


async def test_header_injection_and_unsendable_text_never_reach_the_mailbox(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("crlf"))
    box = email_of(identity)
    sent = await identity.send_email(to=["friend@example.com"], subject="Fine", body_text="ok")
    bad_sends: list[tuple[dict[str, Any], str]] = [
        ({"subject": "Hi\r\nBcc: victim@example.com"}, "subject"),
        ({"in_reply_to_message_id": "<a@b.com>\r\nBcc: v@example.com"}, "in_reply_to_message_id"),
        ({"to": ["friend\x00@example.com"]}, "to[0]"),
        ({"subject": "lone \ud800"}, "subject"),
        ({"body_text": "lone \udfff"}, "body_text"),
    ]
    for overrides, argument in bad_sends:
        kwargs: dict[str, Any] = {"to": ["friend@example.com"], "subject": "Hi", "body_text": "x"}
        kwargs.update(overrides)
        with NothingSent(emulator), pytest.raises(InvalidArgumentError) as info:
            await inkbox.messages.send(box, **kwargs)
        assert info.value.argument == argument
    with NothingSent(emulator), pytest.raises(InvalidArgumentError) as info:
        await inkbox.messages.forward(
            box, sent.id, to=["friend@example.com"], mode="wrapped", subject="Fw\r\nX: y"
        )
    assert info.value.argument == "subject"
    messages = [m async for m in inkbox.messages.list(box)]
    assert [m.subject for m in messages] == ["Fine"]


async def test_dot_segments_are_refused_for_path_arguments(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("dots"))
    for bad in ("..", ".", ""):
        with (
            NothingSent(emulator),
            pytest.raises(InvalidArgumentError) as info,
            pytest.warns(DeprecationWarning),
        ):
            await inkbox.mail_contact_rules.list(bad)
        assert info.value.argument == "email_address"
        with NothingSent(emulator), pytest.raises(InvalidArgumentError) as info:
            await inkbox.mailboxes.get(bad)
        assert info.value.argument == "email_address"
        with NothingSent(emulator), pytest.raises(InvalidArgumentError) as info:
            await inkbox.domains.set_default(bad)
        assert info.value.argument == "domain_name"
    # an address that only looks odd is one escaped segment and reaches its mailbox
    assert (await inkbox.mailboxes.get(email_of(identity))).email_address == email_of(identity)


async def test_verify_webhook_refuses_nan_for_a_real_delivery(
    inkbox: AsyncInkbox, emulator: Emulator, receiver: Any
) -> None:
    identity = await inkbox.create_identity(unique("nanhook"))
    sub = await identity.subscribe_webhook(receiver.url)
    key = sub.signing_key
    assert key is not None
    emulator.inject_email(
        to=email_of(identity), from_address="customer@example.com", subject="Hi", body_text="x"
    )
    headers, body = receiver.wait("message.received")
    assert json.loads(body)["event_type"] == "message.received"
    assert verify_webhook(payload=body, headers=headers, secret=key)
    sent_at = int(headers["X-Inkbox-Timestamp"])
    # a day later the delivery is stale, and NaN cannot make it fresh again
    assert not verify_webhook(payload=body, headers=headers, secret=key, now=sent_at + 86_400)
    for kwargs in ({"tolerance": math.nan}, {"now": math.nan}, {"tolerance": math.inf}):
        with pytest.raises(InvalidArgumentError) as info:
            verify_webhook(payload=body, headers=headers, secret=key, **kwargs)  # type: ignore[arg-type]
        assert info.value.argument in kwargs
