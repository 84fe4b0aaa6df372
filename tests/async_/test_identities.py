"""Identities end to end against the emulator."""

from __future__ import annotations

import uuid

import pytest

from inkbox_async import (
    UNSET,
    AsyncInkbox,
    AuthenticationError,
    DedicatedIMessageNumberQuotaExceededError,
    FeatureRemovedError,
    FilterMode,
    HandleUnavailableError,
    IdentityPhoneNumberCreateOptions,
    IdentityTunnelCreateOptions,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    TlsMode,
    TunnelStatus,
    UnprocessableEntityError,
)
from inkbox_emulator import Emulator, OrgCredentials


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_create_get_list_round_trip(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    handle = unique("sales-bot")
    identity = await inkbox.create_identity(handle, display_name="Sales Bot")
    assert identity.agent_handle == handle
    assert identity.display_name == "Sales Bot"
    assert identity.email_address == f"{handle}@inkboxmail.com"
    assert identity.mailbox is not None and identity.mailbox.email_address == identity.email_address
    assert identity.tunnel is not None
    assert identity.tunnel.public_host == f"{handle}.inkboxwire.com"
    assert identity.tunnel.tls_mode == TlsMode.EDGE
    assert identity.tunnel.public_url == f"https://{handle}.inkboxwire.com"
    assert identity.phone_number is None

    fetched = await inkbox.get_identity(handle)
    assert fetched.id == identity.id
    assert fetched.detail == identity.detail

    listed = await inkbox.list_identities()
    assert [s.agent_handle for s in listed] == [handle]


async def test_create_with_every_option(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    domain = f"{unique('mail')}.acme.com"
    emulator.add_sending_domain(org.organization_id, domain)
    handle = unique("pt")
    identity = await inkbox.create_identity(
        handle,
        display_name="PT",
        description="desc",
        email_local_part="sales",
        sending_domain=domain,
        tunnel={"tls_mode": "passthrough"},
        phone_number=IdentityPhoneNumberCreateOptions(type="local", state="NY"),
    )
    assert identity.email_address == f"sales@{domain}"
    assert identity.mailbox is not None and identity.mailbox.sending_domain == domain
    assert identity.tunnel is not None and identity.tunnel.tls_mode == TlsMode.PASSTHROUGH
    assert identity.tunnel.status == TunnelStatus.AWAITING_CERT
    assert identity.phone_number is not None
    assert identity.phone_number.type == "local" and identity.phone_number.state == "NY"
    assert identity.description == "desc"

    other = await inkbox.create_identity(
        unique("pt2"), tunnel=IdentityTunnelCreateOptions(tls_mode="passthrough")
    )
    assert other.tunnel is not None and other.tunnel.tls_mode == TlsMode.PASSTHROUGH


async def test_platform_domain_when_sending_domain_is_none(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    emulator.add_sending_domain(org.organization_id, "mail.default.com", is_default=True)
    inherited = await inkbox.create_identity(unique("inh"))
    assert inherited.email_address is not None and inherited.email_address.endswith(
        "@mail.default.com"
    )
    platform = await inkbox.create_identity(unique("plat"), sending_domain=None)
    assert platform.email_address is not None and platform.email_address.endswith("@inkboxmail.com")


async def test_update_three_states(inkbox: AsyncInkbox) -> None:
    identity = await inkbox.create_identity(
        unique("upd"), display_name="Before", description="about"
    )
    await identity.update(description=None)
    assert identity.description is None
    assert identity.display_name == "Before"  # omitted: untouched
    await identity.update(display_name="After", description=UNSET)
    assert identity.display_name == "After"
    await identity.update()  # sends {} and changes nothing
    again = await inkbox.get_identity(identity.agent_handle)
    assert (again.display_name, again.description) == ("After", None)


async def test_update_new_fields_refresh_the_identity(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("settings"))
    assert (identity.detail.imessage_enabled, identity.detail.contact_sharing_enabled) == (
        False,
        True,
    )
    emulator.clear_requests()
    await identity.update(
        imessage_enabled=True, contact_sharing_enabled=False, mail_filter_mode="whitelist"
    )
    [request] = emulator.requests()
    assert request.json() == {
        "imessage_enabled": True,
        "contact_sharing_enabled": False,
        "mail_filter_mode": "whitelist",
    }
    assert "idempotency-key" not in {k.lower() for k in request.headers}
    # the answer is the full detail: channels included, so the cache is current
    assert identity.detail.imessage_enabled is True
    assert identity.detail.mail_filter_mode == FilterMode.WHITELIST
    assert identity.mailbox is not None and identity.mailbox.filter_mode == FilterMode.WHITELIST
    assert identity.tunnel is not None and identity.tunnel.public_host.startswith(
        identity.agent_handle
    )
    await identity.update(mail_outbound_filter_mode="blacklist")
    assert identity.detail.mail_inbound_filter_mode == FilterMode.WHITELIST
    assert identity.detail.mail_outbound_filter_mode == FilterMode.BLACKLIST
    assert identity.mailbox is not None and identity.mailbox.outbound_filter_mode == "blacklist"
    fetched = await inkbox.get_identity(identity.agent_handle)
    assert fetched.detail.contact_sharing_enabled is False


async def test_create_with_imessage_settings(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(
        unique("imsg-create"), imessage_enabled=True, contact_sharing_enabled=False
    )
    assert identity.detail.imessage_enabled is True
    assert identity.detail.contact_sharing_enabled is False
    handle = unique("imsg-claim")
    with pytest.raises(DedicatedIMessageNumberQuotaExceededError):
        await inkbox.create_identity(handle, imessage_enabled=True, claim_imessage_number=True)
    with pytest.raises(NotFoundError):  # the failed create left nothing behind
        await inkbox.get_identity(handle)
    emulator.clear_requests()
    with pytest.raises(InvalidArgumentError) as bad:
        await inkbox.create_identity(handle, claim_imessage_number=True)
    assert bad.value.argument == "claim_imessage_number"
    assert emulator.requests() == []


async def test_claiming_an_imessage_number_is_keyed(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("imsg"))
    emulator.clear_requests()
    with pytest.raises(DedicatedIMessageNumberQuotaExceededError) as info:
        await identity.update(imessage_enabled=True, claim_imessage_number=True)
    assert info.value.limit == 0
    assert info.value.idempotency_key is not None
    [request] = emulator.requests()
    assert request.headers["idempotency-key"] == info.value.idempotency_key
    assert request.json() == {"imessage_enabled": True, "claim_imessage_number": True}


async def test_removed_rename_and_status_warn_and_raise(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("old"))
    emulator.clear_requests()
    with (
        pytest.warns(DeprecationWarning, match="create_identity") as warned,
        pytest.raises(FeatureRemovedError, match="fixed at creation"),
    ):
        await identity.update(new_handle=unique("new"))
    assert warned[0].filename == __file__  # points at the caller's line
    with (
        pytest.warns(DeprecationWarning, match="filter modes"),
        pytest.raises(FeatureRemovedError, match="paused"),
    ):
        await identity.update(status="paused")
    with pytest.warns(DeprecationWarning), pytest.raises(FeatureRemovedError):
        await identity.update(status="active", description="not sent either")
    assert emulator.requests() == []
    assert (await identity.refresh()).description is None


async def test_handle_taken_is_typed(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    handle = unique("taken")
    await inkbox.create_identity(handle)
    with pytest.raises(HandleUnavailableError) as info:
        await inkbox.create_identity(handle)
    assert info.value.status_code == 409
    assert info.value.blocking_namespace == "identities"
    # the handle space is global: another organisation cannot take it either
    other = emulator.create_org()
    async with AsyncInkbox(api_key=other.api_key, base_url=emulator.base_url) as second:
        with pytest.raises(HandleUnavailableError):
            await second.create_identity(handle)


async def test_delete_cascades(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("gone"))
    scoped = await inkbox.api_keys.create(label="agent", scoped_identity_id=identity.id)
    await identity.delete()
    with pytest.raises(NotFoundError):
        await inkbox.get_identity(identity.agent_handle)
    async with AsyncInkbox(api_key=scoped.api_key, base_url=emulator.base_url) as agent:
        with pytest.raises(AuthenticationError):
            await agent.whoami()
    # the handle is free again
    await inkbox.create_identity(identity.agent_handle)


async def test_visibility_calls_are_removed(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    target = await inkbox.create_identity(unique("target"))
    viewer = await inkbox.create_identity(unique("viewer"))
    emulator.clear_requests()
    calls = [
        target.list_access,
        lambda: target.grant_access(viewer.id),
        lambda: target.grant_access(None),
        lambda: target.revoke_access(viewer.id),
    ]
    for call in calls:
        with (
            pytest.warns(DeprecationWarning, match="visibility rules are gone"),
            pytest.raises(FeatureRemovedError, match="filter modes"),
        ):
            await call()
    assert emulator.requests() == []  # the removed routes are never sent


async def test_scoped_key_sees_only_what_it_is_granted(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    mine = await inkbox.create_identity(unique("mine"))
    hidden = await inkbox.create_identity(unique("hidden"))
    scoped = await inkbox.api_keys.create(label="mine", scoped_identity_id=str(mine.id))
    async with AsyncInkbox(api_key=scoped.api_key, base_url=emulator.base_url) as agent:
        assert [s.agent_handle for s in await agent.list_identities()] == [mine.agent_handle]
        with pytest.raises(NotFoundError):
            await agent.get_identity(hidden.agent_handle)
        with pytest.raises(PermissionDeniedError):
            await agent.create_identity(unique("nope"))


async def test_bad_input_fails_before_io(emulator: Emulator, org: OrgCredentials) -> None:
    async with AsyncInkbox(api_key=org.api_key, base_url=emulator.base_url) as inkbox:
        emulator.clear_requests()
        bad_calls = [
            lambda: inkbox.create_identity("ab"),
            lambda: inkbox.create_identity("Bad_Handle"),
            lambda: inkbox.create_identity("double--dash"),
            lambda: inkbox.create_identity("-edge"),
            lambda: inkbox.create_identity(123),  # type: ignore[arg-type]
            lambda: inkbox.create_identity("okay-name", display_name=""),
            lambda: inkbox.create_identity("okay-name", display_name="x" * 256),
            lambda: inkbox.create_identity("okay-name", tunnel={"tls_mode": "bogus"}),
            lambda: inkbox.create_identity("okay-name", tunnel={"unknown": 1}),
            lambda: inkbox.create_identity("okay-name", phone_number={"type": "satellite"}),
            lambda: inkbox.create_identity(
                "okay-name",
                phone_number={"incoming_call_action": "forward", "forwarding_target_type": "sip"},
            ),
            lambda: inkbox.create_identity(
                "okay-name", phone_number={"type": "local", "state": "ZZ"}
            ),
            lambda: inkbox.create_identity(
                "okay-name", phone_number={"incoming_call_action": "webhook"}
            ),
            lambda: inkbox.create_identity("okay-name", vault_secret_ids=["not-a-uuid"]),
            lambda: inkbox.get_identity("x"),
            lambda: inkbox.api_keys.create(label=""),
            lambda: inkbox.api_keys.create(label="ok", scoped_identity_id="nope"),
        ]
        for call in bad_calls:
            with pytest.raises(InvalidArgumentError) as info:
                await call()
            assert info.value.argument
        with pytest.raises(TypeError, match="unexpected keyword"):
            await inkbox.create_identity("okay-name", colour="red")  # type: ignore[call-arg]
        identity = await inkbox.create_identity(unique("valid"))
        emulator.clear_requests()
        bad_updates = [
            ({"display_name": "x" * 256}, "display_name"),
            ({"imessage_enabled": "yes"}, "imessage_enabled"),
            ({"mail_filter_mode": "greylist"}, "mail_filter_mode"),
            (
                {"mail_filter_mode": "whitelist", "mail_inbound_filter_mode": "blacklist"},
                "mail_inbound_filter_mode",
            ),
            (
                {"phone_filter_mode": "whitelist", "imessage_filter_mode": "blacklist"},
                "imessage_filter_mode",
            ),
            ({"claim_imessage_number": True, "imessage_number_id": None}, "claim_imessage_number"),
            ({"claim_imessage_number": True, "imessage_enabled": False}, "claim_imessage_number"),
            ({"claim_imessage_number": True, "idempotency_key": "x" * 256}, "idempotency_key"),
            ({"imessage_number_id": "nope"}, "imessage_number_id"),
        ]
        for kwargs, argument in bad_updates:
            with pytest.raises(InvalidArgumentError) as bad:
                await identity.update(**kwargs)  # type: ignore[arg-type]
            assert bad.value.argument == argument
        assert emulator.requests() == []


async def test_nothing_half_written(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    handle = unique("atomic")
    with pytest.raises(UnprocessableEntityError):
        await inkbox.create_identity(handle, sending_domain="unknown.example.com")
    assert await inkbox.list_identities() == []
    identity = await inkbox.create_identity(handle)  # nothing of the failed attempt blocks it
    assert identity.agent_handle == handle


async def test_release_phone_number(inkbox: AsyncInkbox) -> None:
    identity = await inkbox.create_identity(unique("phone"), phone_number={"type": "local"})
    assert identity.phone_number is not None and identity.phone_number.number.startswith("+1")
    await identity.release_phone_number()
    assert identity.phone_number is None
    assert (await identity.refresh()).phone_number is None
