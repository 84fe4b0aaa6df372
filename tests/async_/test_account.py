"""Whoami, signing keys, API keys and agent signup end to end."""

from __future__ import annotations

import uuid

import pytest

from inkbox_async import (
    AsyncInkbox,
    AuthenticationError,
    ConflictError,
    InvalidArgumentError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WhoamiApiKeyResponse,
    WhoamiJwtResponse,
)
from inkbox_emulator import Emulator, OrgCredentials


async def test_whoami_api_key(inkbox: AsyncInkbox, org: OrgCredentials) -> None:
    me = await inkbox.whoami()
    assert isinstance(me, inkbox.WhoamiApiKeyResponse)
    assert me.auth_type == "api_key"
    assert me.is_admin
    assert me.organization_id == org.organization_id
    assert me.key_id is not None and me.key_id.startswith("ApiKey_")
    assert me.created_at is not None and me.created_at.tzinfo is not None


async def test_whoami_jwt(emulator: Emulator, org: OrgCredentials) -> None:
    token = emulator.create_human_session(
        org.organization_id, email="owner@example.com", name="Owner"
    )
    async with AsyncInkbox(token, base_url=emulator.base_url) as console:
        me = await console.whoami()
    assert isinstance(me, WhoamiJwtResponse)
    assert (me.email, me.organization_id) == ("owner@example.com", org.organization_id)


async def test_signing_key_rotates(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(f"signer-{uuid.uuid4().hex[:8]}")
    first = await identity.create_signing_key()
    second = await identity.create_signing_key()
    assert first.signing_key != second.signing_key
    assert emulator.identity_signing_key(str(identity.id)) == second.signing_key
    assert second.signing_key not in repr(second)


async def test_api_keys(inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials) -> None:
    identity = await inkbox.create_identity(f"keyed-{uuid.uuid4().hex[:8]}")
    created = await inkbox.api_keys.create(
        label="worker", description="d", scoped_identity_id=identity.id
    )
    assert created.record.scoped_identity_id == identity.id
    assert created.record.label == "worker" and created.record.status == "active"
    assert created.api_key.endswith(created.record.last4)
    assert created.api_key not in repr(created)
    async with AsyncInkbox(created.api_key, base_url=emulator.base_url) as agent:
        me = await agent.whoami()
        assert isinstance(me, WhoamiApiKeyResponse) and not me.is_admin
        with pytest.raises(PermissionDeniedError):
            await agent.api_keys.create(label="escalate", scoped_identity_id=identity.id)
    with pytest.raises(PermissionDeniedError):
        await inkbox.api_keys.create(label="another admin")  # admin keys must scope
    token = emulator.create_human_session(org.organization_id)
    async with AsyncInkbox(token, base_url=emulator.base_url) as console:
        admin = await console.api_keys.create(label="admin")
        assert admin.record.scoped_identity_id is None


async def test_bad_key_is_authentication_error(emulator: Emulator) -> None:
    async with AsyncInkbox("ApiKey_nope", base_url=emulator.base_url) as inkbox:
        with pytest.raises(AuthenticationError) as info:
            await inkbox.whoami()
    assert info.value.status_code == 401 and info.value.detail


async def test_signup_flow(emulator: Emulator) -> None:
    base = emulator.base_url
    result = await AsyncInkbox.signup(
        "john@example.com",
        note_to_human="Hi John, your sales bot here",
        display_name="Sales Agent",
        agent_handle="sales-agent",
        base_url=base,
    )
    assert result.agent_handle.startswith("sales-agent-")
    assert result.claim_status == "agent_unclaimed"
    assert result.api_key not in repr(result)

    status = await AsyncInkbox.get_signup_status(result.api_key, base_url=base)
    assert status.restrictions.max_sends_per_day == 10
    assert status.restrictions.allowed_recipients == ["john@example.com"]

    async with AsyncInkbox(result.api_key, base_url=base) as agent:
        me = await agent.whoami()
        assert me.auth_subtype == "api_key.agent_scoped.unclaimed"
        with pytest.raises(PermissionDeniedError):
            await agent.create_identity(f"more-{uuid.uuid4().hex[:6]}")

    with pytest.raises(UnprocessableEntityError):
        await AsyncInkbox.verify_signup(result.api_key, "000000", base_url=base)
    with pytest.raises(RateLimitError):
        await AsyncInkbox.resend_signup_verification(result.api_key, base_url=base)
    emulator.advance_clock(301)
    resent = await AsyncInkbox.resend_signup_verification(result.api_key, base_url=base)
    assert resent.claim_status == "agent_unclaimed"

    code = emulator.signup_code(result.agent_handle)
    verified = await AsyncInkbox.verify_signup(result.api_key, code, base_url=base)
    assert verified.claim_status == "agent_claimed"
    status = await AsyncInkbox.get_signup_status(result.api_key, base_url=base)
    assert status.claim_status == "agent_claimed" and status.restrictions.max_sends_per_day == 500
    with pytest.raises(ConflictError):
        await AsyncInkbox.verify_signup(result.api_key, code, base_url=base)


async def test_signup_approval_and_attempt_limit(emulator: Emulator) -> None:
    base = emulator.base_url
    result = await AsyncInkbox.signup("ann@example.com", note_to_human="hello", base_url=base)
    for _ in range(5):
        with pytest.raises(UnprocessableEntityError):
            await AsyncInkbox.verify_signup(result.api_key, "999999", base_url=base)
    with pytest.raises(RateLimitError):
        await AsyncInkbox.verify_signup(
            result.api_key, emulator.signup_code(result.agent_handle), base_url=base
        )
    emulator.approve_signup(result.agent_handle)
    status = await AsyncInkbox.get_signup_status(result.api_key, base_url=base)
    assert status.claim_status == "agent_claimed"


async def test_signup_bad_input(emulator: Emulator) -> None:
    emulator.clear_requests()
    for kwargs in (
        {"human_email": "not-an-email", "note_to_human": "x"},
        {"human_email": "a@b.com", "note_to_human": ""},
        {"human_email": "a@b.com", "note_to_human": "x", "agent_handle": "Bad Handle"},
        {"human_email": "a@b.com", "note_to_human": "x", "base_url": "http://example.com"},
    ):
        with pytest.raises(InvalidArgumentError):
            await AsyncInkbox.signup(**kwargs)  # type: ignore[arg-type]
    assert emulator.requests() == []
