"""The vault end to end against the emulator: set-up, keys, secrets, TOTP, access, credentials."""

from __future__ import annotations

import base64
import logging
import os
import re
import uuid

import httpx2
import pytest

from inkbox_async import (
    APIKeyPayload,
    AsyncInkbox,
    CredentialNotFoundError,
    InkboxVaultKeyError,
    InvalidArgumentError,
    KeyPairPayload,
    LoginPayload,
    OtherPayload,
    SSHKeyPayload,
    TotpNotConfiguredError,
    VaultLockedError,
    VaultSecretTypeError,
    VaultUnlockError,
    generate_totp,
    parse_totp_uri,
)
from inkbox_emulator import Emulator, OrgCredentials

VAULT_KEY = "my-Vault-key-01!"
NEW_KEY = "new-Vault-key-02!"
TOTP_URI = "otpauth://totp/Example:user?secret=JBSWY3DPEHPK3PXP&issuer=Example"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_auth_hashes_and_keys_never_reach_the_logs(
    inkbox: AsyncInkbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await inkbox.vault.initialize(VAULT_KEY)
    await inkbox.vault.unlock(VAULT_KEY)
    assert "auth_hash=***" in caplog.text  # our request line, masked
    assert re.search(r"\b[0-9a-f]{64}\b", caplog.text) is None
    for secret in (VAULT_KEY, *result.recovery_codes):
        assert secret not in caplog.text


async def test_initialize_info_and_keys(inkbox: AsyncInkbox) -> None:
    assert await inkbox.vault.info() is None
    result = await inkbox.vault.initialize(VAULT_KEY)
    assert len(result.recovery_codes) == 4 == result.recovery_key_count
    assert [k.recovery_code for k in result.recovery_keys] == result.recovery_codes
    assert all(code not in repr(result) for code in result.recovery_codes)
    info = await inkbox.vault.info()
    assert info is not None and info.key_count == 1 and info.recovery_key_count == 4
    assert len(await inkbox.vault.list_keys()) == 5
    assert [k.key_type for k in await inkbox.vault.list_keys(key_type="PRIMARY")] == ["primary"]
    assert len(await inkbox.vault.list_keys(key_type="recovery")) == 4


async def test_secrets_lifecycle(inkbox: AsyncInkbox) -> None:
    await inkbox.vault.initialize(VAULT_KEY)
    unlocked = await inkbox.vault.unlock(VAULT_KEY)
    assert unlocked.secrets == [] and unlocked.failures == []
    login = await unlocked.create_secret(
        "CRM Login", LoginPayload(username="bot@crm.com", password="s3cret"), description="CRM"
    )
    await unlocked.create_secret("OpenAI", APIKeyPayload(api_key="sk-123", endpoint="https://api"))
    await unlocked.create_secret("AWS", KeyPairPayload(access_key="AKIA", secret_key="wJal"))
    await unlocked.create_secret("Deploy", SSHKeyPayload(private_key="-----BEGIN KEY-----"))
    await unlocked.create_secret("Misc", OtherPayload(data="anything"))
    assert {s.name for s in await inkbox.vault.list_secrets()} == {
        "CRM Login",
        "OpenAI",
        "AWS",
        "Deploy",
        "Misc",
    }
    assert [s.name for s in await inkbox.vault.list_secrets(secret_type="login")] == ["CRM Login"]

    fetched = await unlocked.get_secret(login.id)
    assert isinstance(fetched.payload, LoginPayload) and fetched.payload.password == "s3cret"
    assert "s3cret" not in repr(fetched)

    renamed = await unlocked.update_secret(login.id, name="CRM", description=None)
    assert (renamed.name, renamed.description) == ("CRM", None)
    await unlocked.update_secret(
        login.id, payload=LoginPayload(username="bot@crm.com", password="n3w")
    )
    assert (await unlocked.get_secret(login.id)).payload.password == "n3w"  # type: ignore[union-attr]
    with pytest.raises(VaultSecretTypeError, match="login"):
        await unlocked.update_secret(login.id, payload=APIKeyPayload(api_key="x"))

    again = await inkbox.vault.unlock(VAULT_KEY)
    assert len(again.secrets) == 5
    await inkbox.vault.delete_secret(login.id)
    assert len((await inkbox.vault.unlock(VAULT_KEY)).secrets) == 4


async def test_identity_secrets_totp_and_credentials(inkbox: AsyncInkbox) -> None:
    await inkbox.vault.initialize(VAULT_KEY)
    identity = await inkbox.create_identity(unique("agent"))
    other = await inkbox.create_identity(unique("other"))
    with pytest.raises(VaultLockedError, match="unlock"):
        identity.credentials  # noqa: B018
    await inkbox.vault.unlock(VAULT_KEY)

    secret = await identity.create_secret(
        "CRM", LoginPayload(username="bot@crm.com", password="s3cret"), description="CRM account"
    )
    key = await other.create_secret("Key", APIKeyPayload(api_key="sk-other"))
    rules = await inkbox.vault.list_access_rules(secret.id)
    assert [r.identity_id for r in rules] == [identity.id]

    creds = identity.credentials
    assert [s.name for s in creds.list_logins()] == ["CRM"]
    assert creds.get_login(secret.id).username == "bot@crm.com"
    assert creds.get_login(str(secret.id).upper()).password == "s3cret"
    with pytest.raises(CredentialNotFoundError):
        creds.get(key.id)  # not granted to this identity
    assert other.credentials.get_api_key(key.id).api_key == "sk-other"
    with pytest.raises(VaultSecretTypeError, match=r"an api_key, not a login"):
        other.credentials.get_login(key.id)
    with pytest.raises(TotpNotConfiguredError):
        await identity.get_totp_code(secret.id)

    await identity.set_totp(secret.id, TOTP_URI)
    code = await identity.get_totp_code(secret.id)
    expected = generate_totp(parse_totp_uri(TOTP_URI))
    assert code.code == expected.code and code.expires_in == code.seconds_remaining
    assert identity.credentials.get_totp_code(secret.id).code == expected.code
    await identity.remove_totp(secret.id)
    with pytest.raises(TotpNotConfiguredError):
        await identity.get_totp_code(secret.id)

    await identity.revoke_credential_access(secret.id)
    assert await inkbox.vault.list_access_rules(secret.id) == []
    granted = await inkbox.vault.grant_access(secret.id, identity.id)
    assert granted.identity_id == identity.id
    await inkbox.vault.revoke_access(secret.id, identity.id)
    await identity.delete_secret(secret.id)
    assert [s.id for s in await inkbox.vault.list_secrets()] == [key.id]


async def test_vault_key_on_the_client_unlocks_at_start(
    emulator: Emulator, org: OrgCredentials
) -> None:
    async with AsyncInkbox(org.api_key, base_url=emulator.base_url) as setup:
        await setup.vault.initialize(VAULT_KEY)
        bot = await setup.create_identity(unique("bot"))
        await setup.vault.unlock(VAULT_KEY)
        await bot.create_secret("Site", LoginPayload(username="u", password="p"))
    async with AsyncInkbox(org.api_key, base_url=emulator.base_url, vault_key=VAULT_KEY) as inkbox:
        assert inkbox.vault.unlocked is not None
        identity = await inkbox.get_identity(bot.agent_handle)
        assert [s.name for s in identity.credentials.list_logins()] == ["Site"]


async def test_update_key_both_ways(inkbox: AsyncInkbox) -> None:
    result = await inkbox.vault.initialize(VAULT_KEY)
    unlocked = await inkbox.vault.unlock(VAULT_KEY)
    await unlocked.create_secret("S", OtherPayload(data="kept"))

    await inkbox.vault.update_key(NEW_KEY, current_vault_key=VAULT_KEY)
    with pytest.raises(VaultUnlockError):
        await inkbox.vault.unlock(VAULT_KEY)
    assert (await inkbox.vault.unlock(NEW_KEY)).secrets[0].payload == OtherPayload(data="kept")

    code = result.recovery_codes[0]
    assert len((await inkbox.vault.unlock(code)).secrets) == 1  # a recovery code opens it too
    assert len((await inkbox.vault.unlock(code.lower())).secrets) == 1  # mistyped case forgiven
    await inkbox.vault.update_key(VAULT_KEY, recovery_code=code)
    assert len((await inkbox.vault.unlock(VAULT_KEY)).secrets) == 1
    with pytest.raises(VaultUnlockError):
        await inkbox.vault.unlock(code)  # consumed
    with pytest.raises(VaultUnlockError):
        await inkbox.vault.update_key(NEW_KEY, current_vault_key="Wrong-Vault-key-99!")
    assert len((await inkbox.vault.unlock(VAULT_KEY)).secrets) == 1  # nothing changed


async def test_wrong_key_leaves_no_partial_state(inkbox: AsyncInkbox) -> None:
    await inkbox.vault.initialize(VAULT_KEY)
    first = await inkbox.vault.unlock(VAULT_KEY)
    with pytest.raises(VaultUnlockError, match="vault key"):
        await inkbox.vault.unlock("Not-the-Vault-key-1!")
    assert inkbox.vault.unlocked is first


async def test_one_unreadable_secret_does_not_abort_unlock(
    inkbox: AsyncInkbox, emulator: Emulator, org: OrgCredentials
) -> None:
    await inkbox.vault.initialize(VAULT_KEY)
    unlocked = await inkbox.vault.unlock(VAULT_KEY)
    await unlocked.create_secret("Good", OtherPayload(data="fine"))
    garbage = base64.b64encode(os.urandom(64)).decode()
    with httpx2.Client(base_url=emulator.base_url, headers={"X-API-Key": org.api_key}) as http:
        response = http.post(
            "/api/v1/vault/secrets",
            json={
                "id": str(uuid.uuid4()),
                "name": "Broken",
                "secret_type": "login",
                "encrypted_payload": garbage,
            },
        )
        assert response.status_code < 300, response.text
    again = await inkbox.vault.unlock(VAULT_KEY)
    assert [s.name for s in again.secrets] == ["Good"]
    assert [f.name for f in again.failures] == ["Broken"]


async def test_scoped_key_sees_only_granted_secrets(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    await inkbox.vault.initialize(VAULT_KEY)
    await inkbox.vault.unlock(VAULT_KEY)
    agent = await inkbox.create_identity(unique("scoped"))
    mine = await agent.create_secret("Mine", OtherPayload(data="a"))
    await inkbox.vault.unlocked.create_secret("Theirs", OtherPayload(data="b"))  # type: ignore[union-attr]
    scoped = await inkbox.api_keys.create(label="agent", scoped_identity_id=agent.id)
    async with AsyncInkbox(
        scoped.api_key, base_url=emulator.base_url, vault_key=VAULT_KEY
    ) as as_agent:
        assert [
            s.id for s in (as_agent.vault.unlocked.secrets if as_agent.vault.unlocked else [])
        ] == [mine.id]
        me = await as_agent.get_identity(agent.agent_handle)
        assert [s.name for s in me.credentials.list()] == ["Mine"]


async def test_no_plaintext_reaches_the_server(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    result = await inkbox.vault.initialize(VAULT_KEY)
    await inkbox.vault.unlock(VAULT_KEY)
    identity = await inkbox.create_identity(unique("scan"))
    secret = await identity.create_secret(
        "Bank", LoginPayload(username="treasurer@corp.example", password="Pa55-word-zebra")
    )
    await identity.set_totp(secret.id, TOTP_URI)
    await inkbox.vault.update_key(NEW_KEY, current_vault_key=VAULT_KEY)
    dump = emulator.dump_database()
    for plaintext in (
        "Pa55-word-zebra",
        "treasurer@corp.example",
        "JBSWY3DPEHPK3PXP",
        VAULT_KEY,
        NEW_KEY,
        *result.recovery_codes,
    ):
        assert plaintext not in dump
    assert "Bank" in dump  # names are plaintext metadata by design


async def test_bad_vault_input_fails_before_io(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    emulator.clear_requests()
    for weak, rule in (
        ("short-Key-1!", "16"),
        ("all-lower-case-key-1!", "uppercase"),
        ("NoDigitsInThisKey!!", "digit"),
        ("NoSpecialChars1234", "special"),
    ):
        with pytest.raises(InkboxVaultKeyError, match=rule):
            await inkbox.vault.initialize(weak)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        await inkbox.vault.update_key(NEW_KEY)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        await inkbox.vault.update_key(NEW_KEY, current_vault_key=VAULT_KEY, recovery_code="X")
    with pytest.raises(InkboxVaultKeyError):
        await inkbox.vault.update_key("weak", current_vault_key=VAULT_KEY)
    with pytest.raises(InvalidArgumentError):
        await inkbox.vault.list_secrets(secret_type="password")
    with pytest.raises(InvalidArgumentError):
        await inkbox.vault.grant_access("not-a-uuid", uuid.uuid4())
    with pytest.raises(InvalidArgumentError):
        await inkbox.vault.delete_key("not-a-hash")
    assert emulator.requests() == []
