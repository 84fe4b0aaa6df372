"""A write whose answer is lost reports what really happened, never a false failure."""

from __future__ import annotations

import uuid

import pytest

from inkbox_async import (
    AsyncInkbox,
    FeatureRemovedError,
    LoginPayload,
    NotFoundError,
    OutcomeUnknownError,
    VaultUnlockError,
)
from inkbox_emulator import Emulator, OrgCredentials

VAULT_KEY = "my-Vault-key-01!"
NEW_KEY = "new-Vault-key-02!"
SECRETS = "/api/v1/vault/secrets"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def attempts(emulator: Emulator, method: str, path: str) -> list[str | None]:
    """The injected fault (or None) of each recorded ``method`` request to ``path``."""
    return [r.fault for r in emulator.requests() if r.method == method and r.path == path]


async def test_key_rotation_whose_answer_is_lost_is_reported_done(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    await inkbox.vault.initialize(VAULT_KEY)
    unlocked = await inkbox.vault.unlock(VAULT_KEY)
    await unlocked.create_secret("S", LoginPayload(username="u", password="p"))
    emulator.clear_requests()
    emulator.inject_fault(method="PUT", path="/api/v1/vault/keys/primary", kind="drop_after")
    key = await inkbox.vault.update_key(NEW_KEY, current_vault_key=VAULT_KEY)
    # the retry was refused (the old key no longer proves anything); the new key was checked
    assert attempts(emulator, "PUT", "/api/v1/vault/keys/primary") == ["drop_after", None]
    assert [k.id for k in await inkbox.vault.list_keys(key_type="primary")] == [key.id]
    assert (await inkbox.vault.unlock(NEW_KEY)).secrets[0].name == "S"
    with pytest.raises(VaultUnlockError):
        await inkbox.vault.unlock(VAULT_KEY)


async def test_identity_delete_whose_answer_is_lost_is_reported_done(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("gone"))
    path = f"/api/v1/identities/{identity.agent_handle}"
    emulator.clear_requests()
    emulator.inject_fault(method="DELETE", path=path, kind="drop_after")
    await identity.delete()
    assert attempts(emulator, "DELETE", path) == ["drop_after", None]
    with pytest.raises(NotFoundError):
        await inkbox.get_identity(identity.agent_handle)


async def test_delete_of_what_never_existed_is_still_not_found(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("once"))
    await identity.delete()
    with pytest.raises(NotFoundError):
        await identity.delete()
    # a refusal (503) proves the first attempt did nothing: the retry's 404 is the truth
    path = f"/api/v1/identities/{identity.agent_handle}"
    emulator.inject_fault(method="DELETE", path=path, status=503, retry_after=0)
    with pytest.raises(NotFoundError):
        await identity.delete()


async def test_identity_update_whose_answer_is_lost_is_reported_done(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("renamed"))
    path = f"/api/v1/identities/{identity.agent_handle}"
    emulator.clear_requests()
    emulator.inject_fault(method="PATCH", path=path, kind="drop_after")
    await identity.update(display_name="Renamed Agent")
    assert attempts(emulator, "PATCH", path) == ["drop_after", None]
    assert identity.display_name == "Renamed Agent"
    assert (await inkbox.get_identity(identity.agent_handle)).display_name == "Renamed Agent"
    # a handle rename no longer exists on the wire: refused before any request
    emulator.clear_requests()
    with pytest.warns(DeprecationWarning), pytest.raises(FeatureRemovedError):
        await identity.update(new_handle=unique("new"))
    assert emulator.requests() == []


async def test_vault_secret_delete_whose_answer_is_lost_is_reported_done(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    await inkbox.vault.initialize(VAULT_KEY)
    unlocked = await inkbox.vault.unlock(VAULT_KEY)
    first = await unlocked.create_secret("A", LoginPayload(username="a", password="1"))
    second = await unlocked.create_secret("B", LoginPayload(username="b", password="2"))
    for secret, delete in ((first, unlocked.delete_secret), (second, inkbox.vault.delete_secret)):
        path = f"{SECRETS}/{secret.id}"
        emulator.clear_requests()
        emulator.inject_fault(method="DELETE", path=path, kind="drop_after")
        await delete(secret.id)
        assert attempts(emulator, "DELETE", path) == ["drop_after", None]
    assert await inkbox.vault.list_secrets() == []
    assert unlocked.secrets == []


async def test_vault_writes_by_post_whose_answer_is_lost_are_checked(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    await inkbox.vault.initialize(VAULT_KEY)
    unlocked = await inkbox.vault.unlock(VAULT_KEY)
    identity = await inkbox.create_identity(unique("viewer"))
    emulator.clear_requests()
    emulator.inject_fault(method="POST", path=SECRETS, kind="drop_after")
    secret = await unlocked.create_secret("Kept", LoginPayload(username="k", password="p"))
    assert attempts(emulator, "POST", SECRETS) == ["drop_after"]  # checked by a read, not resent
    assert [s.id for s in await inkbox.vault.list_secrets()] == [secret.id]
    access = f"{SECRETS}/{secret.id}/access"
    emulator.inject_fault(method="POST", path=access, kind="drop_after")
    rule = await inkbox.vault.grant_access(secret.id, identity.id)
    assert rule.identity_id == identity.id
    assert [r.id for r in await inkbox.vault.list_access_rules(secret.id)] == [rule.id]


async def test_unkeyed_post_whose_answer_is_lost_is_outcome_unknown(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    handle = unique("maybe")
    emulator.inject_fault(method="POST", path="/api/v1/identities/", kind="drop_after")
    with pytest.raises(OutcomeUnknownError) as info:
        await inkbox.create_identity(handle)
    assert (info.value.method, info.value.path) == ("POST", "/api/v1/identities/")
    assert info.value.request_sent is True
    assert org.api_key not in str(info.value)
    # the caller checks, as the error says: it did happen
    assert (await inkbox.get_identity(handle)).agent_handle == handle


async def test_send_whose_retry_fails_after_a_lost_answer_is_unknown_then_resumable(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    bot = await inkbox.create_identity(unique("mail-unknown"))
    path = f"/api/v1/mail/mailboxes/{bot.email_address}/messages"
    emulator.inject_fault(method="POST", path=path, kind="drop_after")
    emulator.inject_fault(method="POST", path=path, kind="status", status=500)
    with pytest.raises(OutcomeUnknownError) as info:
        await bot.send_email(to=["x@example.com"], subject="once only", body_text=".")
    key = info.value.idempotency_key
    assert key is not None
    # the same key resumes the send: the service replays its first answer
    sent = await bot.send_email(
        to=["x@example.com"], subject="once only", body_text=".", idempotency_key=key
    )
    outbox = [o for o in emulator.outbox(org.organization_id) if o["subject"] == "once only"]
    assert len(outbox) == 1
    assert sent.subject == "once only"
