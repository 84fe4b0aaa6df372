"""The official ``inkbox`` 0.4.4 vault client against the emulator, end to end.

Real Argon2id / AES-GCM on the client side, the emulator in the middle; at the end
the whole database is dumped and scanned: no vault key, recovery code, master key,
org key, password, username, TOTP seed or API key may appear in it.
"""

from __future__ import annotations

import base64
import secrets
import uuid

import pytest
from inkbox import (  # type: ignore[import-untyped]
    APIKeyPayload,
    Inkbox,
    InkboxAPIError,
    LoginPayload,
    TOTPConfig,
)
from inkbox.vault.crypto import (  # type: ignore[import-untyped]
    compute_auth_hash,
    derive_master_key,
    derive_salt,
)

from inkbox_emulator import Emulator, OrgCredentials

VAULT_KEY = "my-Vault-key-01!"
NEW_KEY = "second-Vault-key-02?"
NEWER_KEY = "third-Vault-key-03#"


def _forms(data: bytes) -> list[str]:
    """Every text form raw key bytes could take in a dump."""
    return [
        data.hex(),
        data.hex().upper(),
        base64.b64encode(data).decode(),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
    ]


def test_official_client_vault_end_to_end(emu: Emulator, org: OrgCredentials) -> None:
    password = "pw-" + secrets.token_urlsafe(12)
    username = "user-" + secrets.token_hex(6)
    seed = base64.b32encode(secrets.token_bytes(20)).decode()
    stripe_key = "sk_live_" + secrets.token_hex(12)
    notes = "note-" + secrets.token_hex(6)
    handle = f"vault-peer-{uuid.uuid4().hex[:8]}"

    with Inkbox(org.api_key, base_url=emu.base_url) as inkbox:
        assert inkbox.vault.info() is None
        result = inkbox.vault.initialize(VAULT_KEY)
        codes = list(result.recovery_codes)
        assert len(codes) == 4 and result.recovery_key_count == 4
        info = inkbox.vault.info()
        assert str(info.id) == str(result.vault_id)
        assert info.organization_id == org.organization_id
        assert (info.key_count, info.recovery_key_count, info.secret_count) == (1, 4, 0)
        with pytest.raises(InkboxAPIError) as twice:
            inkbox.vault.initialize(VAULT_KEY)
        assert twice.value.status_code == 409

        unlocked = inkbox.vault.unlock(VAULT_KEY)
        assert unlocked.secrets == []
        agent = inkbox.create_identity(handle)
        peer = inkbox.create_identity(handle + "-peer")

        # a login with TOTP, created through the identity helper (create + auto-grant)
        login = agent.create_secret(
            "GitHub",
            LoginPayload(
                password=password,
                username=username,
                url="https://github.com/login",
                notes=notes,
                totp=TOTPConfig(secret=seed, issuer="GitHub", account_name=username),
            ),
            description="agent login",
        )
        assert login.secret_type == "login"
        rules = inkbox.vault.list_access_rules(login.id)
        assert [str(r.identity_id) for r in rules] == [str(agent.id)]
        code = agent.get_totp_code(login.id)
        assert len(code.code) == 6 and code.code.isdigit()
        assert agent.get_secret(login.id).payload.password == password
        agent.remove_totp(login.id)
        assert agent.get_secret(login.id).payload.totp is None
        agent.set_totp(login.id, f"otpauth://totp/GitHub:{username}?secret={seed}&issuer=GitHub")
        assert agent.get_secret(login.id).payload.totp.secret == seed

        stripe = unlocked.create_secret(
            "Stripe", APIKeyPayload(api_key=stripe_key, endpoint="https://api.stripe.com")
        )
        assert {s.name for s in inkbox.vault.list_secrets()} == {"GitHub", "Stripe"}
        assert [s.name for s in inkbox.vault.list_secrets(secret_type="api_key")] == ["Stripe"]

        # re-unlock with a recovery code: same org key, same plaintext
        recovered = inkbox.vault.unlock(codes[0])
        by_name = {s.name: s for s in recovered.secrets}
        assert by_name["GitHub"].payload.password == password
        assert by_name["GitHub"].payload.totp.secret == seed
        assert by_name["Stripe"].payload.api_key == stripe_key
        only_agent = inkbox.vault.unlock(VAULT_KEY, identity_id=agent.id)
        assert [s.name for s in only_agent.secrets] == ["GitHub"]

        # an identity-scoped key sees only what its identity was granted
        scoped = inkbox.api_keys.create(label="agent", scoped_identity_id=agent.id).api_key
        with Inkbox(scoped, base_url=emu.base_url) as as_agent:
            view = as_agent.vault.unlock(VAULT_KEY)
            assert [s.name for s in view.secrets] == ["GitHub"]
            assert view.secrets[0].payload.username == username
            with pytest.raises(InkboxAPIError) as denied:
                as_agent.vault.grant_access(stripe.id, agent.id)
            assert denied.value.status_code == 403
            with pytest.raises(InkboxAPIError) as hidden:
                view.get_secret(stripe.id)
            assert hidden.value.status_code == 404

        # update_key with the current key: the old key stops working
        new_primary = inkbox.vault.update_key(NEW_KEY, current_vault_key=VAULT_KEY)
        assert new_primary.key_type == "primary"
        with pytest.raises(ValueError, match="No vault key matched"):
            inkbox.vault.unlock(VAULT_KEY)
        assert {s.name for s in inkbox.vault.unlock(NEW_KEY).secrets} == {"GitHub", "Stripe"}

        # update_key with a recovery code: the code is consumed, the primary replaced
        inkbox.vault.update_key(NEWER_KEY, recovery_code=codes[1])
        for gone in (codes[1], NEW_KEY):
            with pytest.raises(ValueError, match="No vault key matched"):
                inkbox.vault.unlock(gone)
        info = inkbox.vault.info()
        assert (info.key_count, info.recovery_key_count, info.secret_count) == (1, 3, 2)
        assert len(inkbox.vault.list_keys(key_type="recovery")) == 3
        final = inkbox.vault.unlock(NEWER_KEY)
        assert {s.name: s.payload for s in final.secrets}["GitHub"].password == password
        assert len(inkbox.vault.unlock(codes[2]).secrets) == 2  # unused codes still work

        # delete a recovery key by its auth hash (derived like the client does)
        salt = derive_salt(org.organization_id)
        inkbox.vault.delete_key(compute_auth_hash(derive_master_key(codes[3], salt)))
        assert len(inkbox.vault.list_keys(key_type="recovery")) == 2
        with pytest.raises(ValueError, match="No vault key matched"):
            inkbox.vault.unlock(codes[3])

        # list / grant / revoke access
        rule = inkbox.vault.grant_access(stripe.id, peer.id)
        assert str(rule.identity_id) == str(peer.id)
        listed = inkbox.vault.list_access_rules(stripe.id)
        assert [str(r.id) for r in listed] == [str(rule.id)]
        inkbox.vault.revoke_access(stripe.id, peer.id)
        assert inkbox.vault.list_access_rules(stripe.id) == []
        agent.revoke_credential_access(login.id)
        assert inkbox.vault.list_access_rules(login.id) == []

        org_key: bytes = final._org_key
        master_keys = [
            derive_master_key(k, salt) for k in (VAULT_KEY, NEW_KEY, NEWER_KEY, codes[0])
        ]

    state = emu.vault_state(org.organization_id)
    assert [s["name"] for s in state["secrets"]] == ["GitHub", "Stripe"]
    assert {k["key_type"] for k in state["keys"]} == {"primary", "recovery"}
    assert compute_auth_hash(master_keys[2]) in {k["auth_hash"] for k in state["keys"]}

    dump = emu.dump_database()
    assert str(stripe.id) in dump and "GitHub" in dump  # metadata is plaintext by design
    plaintexts = [VAULT_KEY, NEW_KEY, NEWER_KEY, password, username, seed, stripe_key, notes]
    plaintexts += codes + [c.replace("-", "") for c in codes]
    plaintexts += [seed.lower(), seed.rstrip("=")]
    for text in plaintexts:
        assert text not in dump, f"plaintext {text!r} found in the database"
    for raw in [org_key, *master_keys]:
        for form in _forms(raw):
            assert form not in dump, "key material found in the database"
