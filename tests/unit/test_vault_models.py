"""Vault models: response parsing, payload (de)serialisation, decrypted secrets."""

from __future__ import annotations

import json
import uuid
from typing import Any
from uuid import UUID

import pytest

from inkbox_async import InvalidArgumentError, InvalidArgumentTypeError
from inkbox_async._converter import structure, structure_list
from inkbox_async._vault_crypto import (
    VaultDecryptionError,
    VaultPayloadError,
    VaultSecretTypeError,
    decrypt_payload,
    encrypt_payload,
    generate_initialize_material,
)
from inkbox_async.models.vault import (
    AccessRule,
    APIKeyPayload,
    DecryptedVaultSecret,
    KeyPairPayload,
    LoginPayload,
    OtherPayload,
    SecretPayload,
    SSHKeyPayload,
    TOTPAlgorithm,
    TOTPConfig,
    VaultInfo,
    VaultInitializeResult,
    VaultKey,
    VaultKeyType,
    VaultSecret,
    VaultSecretDetail,
    VaultSecretType,
    VaultUnlockBundle,
    decrypt_secret,
    encrypt_secret_payload,
    expect_payload,
    initialize_result,
    payload_from_dict,
    payload_to_dict,
)

ORG_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
LOGIN_ID = "0d9b3c2e-6a4f-4b8e-8f1d-2c7e5a9b4f63"
LOGIN_NONCE = bytes.fromhex("b0b1b2b3b4b5b6b7b8b9babb")
LOGIN_BLOB = (
    "4nc0xJioyH192uTKrC/tpqRILLN4DuNaOafs03Cggnd2OFRVEbqEgocokylO3PaXAU9itH5JLJEg704KJvpEktuG"
    "HJgoyRS2O+aANupykkJ8v+bX0BkYrZmeVvNENCDTDMcXNez7FGIxOmr+qKHi82jVxfIH0fcYMkWkjkc9a3IM5ffF"
    "MF7LfkB5L0dAeF5p6sksvelZYW7ZkBL/ZeOY/ZW7tY8dXWMd0msmwCQrj5MIYyCdvocyzyB2OaO6ocwmPLrUnJAl"
    "aKlJVw+2cg5ZyqRI6xV8DA+lN1sp++FIlLCxsrO0tba3uLm6ux/+4SePv5ay3wCEvyl41Vc="
)
OTHER_ID = "7a1e4c9b-2d3f-4e5a-9b6c-0f1e2d3c4b5a"
OTHER_NONCE = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadb")
OTHER_BLOB = "V4WCDxzG05t6PEnZqqO30aozfYk1r452AKgz0NHS09TV1tfY2drbuZpJ2SAgZiOMjcsJ0ioLuw=="
TS = "2026-03-18T12:00:00Z"
TOTP_URI = "otpauth://totp/Example:admin?secret=JBSWY3DPEHPK3PXP&issuer=Example"


def detail(secret_id: str, secret_type: str, blob: str, **more: Any) -> VaultSecretDetail:
    return structure(
        {
            "id": secret_id,
            "name": "n",
            "secret_type": secret_type,
            "created_at": TS,
            "updated_at": TS,
            "encrypted_payload": blob,
            **more,
        },
        VaultSecretDetail,
    )


# -- response objects ------------------------------------------------------------------


def test_vault_info() -> None:
    info = structure(
        {
            "id": str(uuid.uuid4()),
            "organization_id": "org_test_123",
            "created_at": TS,
            "updated_at": TS,
            "key_count": 1,
            "secret_count": 2,
            "recovery_key_count": 4,
            "new_field": True,
        },
        VaultInfo,
    )
    assert info.recovery_key_count == 4
    assert info.created_at.tzinfo is not None
    assert info.extra == {"new_field": True}


def test_vault_keys_with_known_and_unknown_types() -> None:
    keys = structure_list(
        [
            {"id": str(uuid.uuid4()), "key_type": "primary", "created_by": "user_1",
             "created_at": TS, "updated_at": TS},
            {"id": str(uuid.uuid4()), "key_type": "hardware", "created_by": None,
             "created_at": TS, "updated_at": TS},
        ],
        VaultKey,
    )  # fmt: skip
    assert keys[0].key_type is VaultKeyType.PRIMARY
    assert keys[1].key_type == "hardware" and keys[1].created_by is None


def test_vault_secret_with_and_without_access() -> None:
    rule = {
        "id": str(uuid.uuid4()),
        "vault_secret_id": LOGIN_ID,
        "identity_id": str(uuid.uuid4()),
        "created_at": TS,
    }
    base = {"id": LOGIN_ID, "name": "CRM", "secret_type": "login", "created_at": TS,
            "updated_at": TS}  # fmt: skip
    plain = structure(base, VaultSecret)
    assert plain.access is None and plain.description is None
    assert plain.secret_type is VaultSecretType.LOGIN
    rich = structure({**base, "access": [rule], "description": "d"}, VaultSecret)
    assert rich.access == [structure(rule, AccessRule)]
    assert isinstance(rich.access[0].identity_id, UUID)
    assert structure({**base, "access": None}, VaultSecret).access is None
    future = structure({**base, "secret_type": "passkey"}, VaultSecret)
    assert future.secret_type == "passkey"


def test_secret_detail_hides_ciphertext_in_repr() -> None:
    secret = detail(LOGIN_ID, "login", LOGIN_BLOB)
    assert secret.encrypted_payload == LOGIN_BLOB
    assert LOGIN_BLOB not in repr(secret)


def test_unlock_bundle_forms() -> None:
    secret = {"id": LOGIN_ID, "name": "n", "secret_type": "login", "created_at": TS,
              "updated_at": TS, "encrypted_payload": LOGIN_BLOB}  # fmt: skip
    bundle = structure(
        {"wrapped_org_encryption_key": "abc=", "encrypted_secrets": [secret]}, VaultUnlockBundle
    )
    assert bundle.wrapped_org_encryption_key == "abc="
    assert bundle.wrapped_org_encryption_keys is None
    assert bundle.encrypted_secrets[0].encrypted_payload == LOGIN_BLOB
    empty = structure(
        {
            "wrapped_org_encryption_key": None,
            "encrypted_secrets": [],
            "wrapped_org_encryption_keys": [
                {"id": LOGIN_ID, "auth_hash": "a" * 64, "wrapped_org_encryption_key": "xyz="}
            ],
        },
        VaultUnlockBundle,
    )
    assert empty.wrapped_org_encryption_key is None
    assert empty.wrapped_org_encryption_keys is not None
    assert "a" * 64 not in repr(empty)


def test_initialize_result_offers_both_shapes() -> None:
    material = generate_initialize_material("my-Vault-key-01!", "org_test_123")
    vault_id, key_id = uuid.uuid4(), material.primary.id
    result = initialize_result(
        {"vault_id": str(vault_id), "vault_key_id": str(key_id), "recovery_key_count": 4},
        material,
    )
    assert isinstance(result, VaultInitializeResult)
    assert (result.vault_id, result.vault_key_id, result.recovery_key_count) == (
        vault_id,
        key_id,
        4,
    )
    assert result.recovery_codes == material.recovery_codes
    assert [k.recovery_code for k in result.recovery_keys] == material.recovery_codes
    assert [k.id for k in result.recovery_keys] == [r.material.id for r in material.recovery_keys]
    for code in material.recovery_codes:
        assert code not in repr(result)
        assert code not in repr(result.recovery_keys[0])
    with pytest.raises(Exception, match="unexpected response shape"):
        initialize_result({"vault_id": "x"}, material)


# -- payloads --------------------------------------------------------------------------


def test_payload_dict_order_matches_the_official_client() -> None:
    totp = TOTPConfig("JBSWY3DPEHPK3PXP", issuer="Example", account_name="admin")
    login = LoginPayload(
        password="s3cret", username="admin", url="https://example.com/login", totp=totp,
        notes="shared team login",
    )  # fmt: skip
    data = payload_to_dict(login)
    assert list(data) == ["notes", "password", "username", "url", "totp"]
    assert encrypt_secret_payload(login, ORG_KEY, LOGIN_ID, nonce=LOGIN_NONCE) == LOGIN_BLOB
    assert list(payload_to_dict(APIKeyPayload(api_key="k", endpoint="e", notes="n"))) == [
        "notes", "api_key", "endpoint",
    ]  # fmt: skip
    assert list(payload_to_dict(KeyPairPayload(access_key="a", secret_key="s", endpoint="e"))) == [
        "access_key", "secret_key", "endpoint",
    ]  # fmt: skip
    ssh = SSHKeyPayload(private_key="p", public_key="u", fingerprint="f", passphrase="x", notes="")
    assert list(payload_to_dict(ssh)) == [
        "notes", "private_key", "public_key", "fingerprint", "passphrase",
    ]  # fmt: skip
    assert payload_to_dict(OtherPayload(data="café ☃")) == {"data": "café ☃"}
    assert (
        encrypt_secret_payload(OtherPayload(data="café ☃"), ORG_KEY, OTHER_ID, nonce=OTHER_NONCE)
        == OTHER_BLOB
    )


def test_positional_construction_like_the_official_client() -> None:
    login = LoginPayload("pw", "user", "u@example.com", "https://x", TOTP_URI, notes="n")
    assert (login.password, login.username, login.email, login.url) == (
        "pw", "user", "u@example.com", "https://x",
    )  # fmt: skip
    assert login.totp is not None and login.totp.issuer == "Example"
    assert KeyPairPayload("a", "s").secret_key == "s"
    assert LoginPayload.secret_type is VaultSecretType.LOGIN
    assert SSHKeyPayload.secret_type == "ssh_key"


def test_payload_construction_errors_name_the_field() -> None:
    with pytest.raises(InvalidArgumentTypeError, match=r"^password:"):
        LoginPayload(password=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentTypeError, match=r"^endpoint:"):
        APIKeyPayload(api_key="k", endpoint=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"^totp: HOTP is not supported"):
        LoginPayload(password="p", totp="otpauth://hotp/x?secret=AAAA")
    with pytest.raises(InvalidArgumentTypeError, match=r"^totp:"):
        LoginPayload(password="p", totp=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentTypeError, match=r"^payload:"):
        payload_to_dict(SecretPayload())


def test_payload_from_dict_defaults_and_checks() -> None:
    login = payload_from_dict(
        "login", {"password": "p", "totp": {"secret": "JBSWY3DPEHPK3PXP"}, "email": None}
    )
    assert isinstance(login, LoginPayload)
    assert login.totp == TOTPConfig("JBSWY3DPEHPK3PXP")
    assert login.email is None
    # Reads in any key order (TS order: type fields first, notes after, totp last).
    ts = payload_from_dict("api_key", {"api_key": "k", "notes": "n"})
    assert ts == APIKeyPayload(api_key="k", notes="n")


@pytest.mark.parametrize(
    ("secret_type", "data", "message"),
    [
        ("login", {"username": "u"}, "login payload is missing required field 'password'"),
        ("login", {"password": None}, "missing required field 'password'"),
        ("key_pair", {"access_key": "a"}, "missing required field 'secret_key'"),
        ("ssh_key", {"public_key": "p"}, "missing required field 'private_key'"),
        ("other", {}, "missing required field 'data'"),
        ("passkey", {"data": "x"}, "unknown secret_type 'passkey'"),
        ("login", {"password": 5}, "login payload: invalid password: expected a str"),
        (
            "login",
            {"password": "p", "totp": {"secret": "JBSWY3DPEHPK3PXP", "digits": 7}},
            "invalid totp.digits: must be 6 or 8",
        ),
        (
            "login",
            {"password": "p", "totp": {"secret": "JBSWY3DPE"}},
            r"invalid totp.secret: Invalid base32 secret \(length=9\)",
        ),
        ("login", {"password": "p", "totp": {"digits": 6}}, "invalid totp.secret: missing"),
        ("login", {"password": "p", "totp": "otpauth"}, "invalid totp: Invalid scheme"),
    ],
)
def test_payload_from_dict_errors(secret_type: str, data: dict[str, Any], message: str) -> None:
    with pytest.raises(VaultPayloadError, match=message) as info:
        payload_from_dict(secret_type, data)
    assert "JBSWY3DPE" not in str(info.value)


def test_unknown_fields_survive_decrypt_and_reencrypt() -> None:
    secret_id = str(uuid.uuid4())
    stored = {
        "password": "p",
        "username": "u",
        "passkey_id": "pk-1",
        "totp": {"secret": "JBSWY3DPEHPK3PXP", "algorithm": "sha1", "digits": 6, "period": 30,
                 "skew": 1},
        "notes": "n",
        "tags": ["a", {"b": None}],
    }  # fmt: skip
    blob = encrypt_payload(ORG_KEY, stored, secret_id)
    secret = decrypt_secret(detail(secret_id, "login", blob), ORG_KEY)
    login = expect_payload(secret, LoginPayload)
    assert login.extra == {"passkey_id": "pk-1", "tags": ["a", {"b": None}]}
    assert login.totp is not None and login.totp.extra == {"skew": 1}
    assert "pk-1" not in repr(login)
    # An update (e.g. remove_totp) keeps the unknown keys.
    import attrs

    updated = attrs.evolve(login, totp=None)
    rewritten = decrypt_payload(
        ORG_KEY, encrypt_secret_payload(updated, ORG_KEY, secret_id.upper()), secret_id
    )
    assert rewritten == {
        "notes": "n", "password": "p", "username": "u", "passkey_id": "pk-1",
        "tags": ["a", {"b": None}],
    }  # fmt: skip
    same = decrypt_payload(ORG_KEY, encrypt_secret_payload(login, ORG_KEY, secret_id), secret_id)
    assert same == stored


def test_decrypt_secret_with_the_vectors() -> None:
    secret = decrypt_secret(detail(LOGIN_ID, "login", LOGIN_BLOB, description="d"), ORG_KEY)
    assert isinstance(secret, DecryptedVaultSecret)
    assert secret.id == UUID(LOGIN_ID) and secret.description == "d"
    login = expect_payload(secret, LoginPayload)
    assert login.password == "s3cret" and login.notes == "shared team login"
    assert login.totp == TOTPConfig(
        "JBSWY3DPEHPK3PXP", TOTPAlgorithm.SHA1, 6, 30, issuer="Example", account_name="admin"
    )
    other = decrypt_secret(detail(OTHER_ID.upper(), "other", OTHER_BLOB), ORG_KEY)
    assert expect_payload(other, OtherPayload).data == "café ☃"


def test_decrypt_secret_errors_name_the_secret() -> None:
    with pytest.raises(VaultDecryptionError, match=rf"^secret {LOGIN_ID}: authentication failed"):
        decrypt_secret(detail(LOGIN_ID, "login", LOGIN_BLOB), bytes(32))
    # The server relabelled the type: the payload does not fit (W5).
    with pytest.raises(VaultPayloadError, match=rf"^secret {LOGIN_ID}: api_key payload is missing"):
        decrypt_secret(detail(LOGIN_ID, "api_key", LOGIN_BLOB), ORG_KEY)


def test_expect_payload_names_both_types() -> None:
    secret = DecryptedVaultSecret(
        id=UUID(LOGIN_ID), name="k", secret_type="api_key", created_at=structure_dt(),
        updated_at=structure_dt(), payload=APIKeyPayload(api_key="k"),
    )  # fmt: skip
    assert expect_payload(secret, APIKeyPayload).api_key == "k"
    with pytest.raises(
        VaultSecretTypeError, match=rf"^secret {LOGIN_ID} is an api_key, not a login$"
    ):
        expect_payload(secret, LoginPayload)
    with pytest.raises(TypeError, match="is an api_key, not a key_pair"):
        expect_payload(secret, KeyPairPayload)
    with pytest.raises(TypeError, match="is an api_key, not an ssh_key"):
        expect_payload(secret, SSHKeyPayload)


def structure_dt() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 3, 18, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        LoginPayload(password="PW-SECRET", username="bob", notes="NOTE-SECRET", totp=TOTP_URI),
        APIKeyPayload(api_key="API-SECRET", endpoint="https://api"),
        KeyPairPayload(access_key="ACCESS-SECRET", secret_key="KEY-SECRET"),
        SSHKeyPayload(
            private_key="PRIV-SECRET", public_key="ssh-ed25519 AAA", passphrase="PP-SECRET"
        ),
        OtherPayload(data="DATA-SECRET", extra={"future": "EXTRA-SECRET"}),
    ],
)
def test_reprs_hide_secrets(payload: SecretPayload) -> None:
    secret = DecryptedVaultSecret(
        id=uuid.uuid4(), name="n", secret_type=payload.secret_type, created_at=structure_dt(),
        updated_at=structure_dt(), payload=payload,
    )  # fmt: skip
    for text in (repr(payload), str(payload), repr(secret)):
        assert "SECRET" not in text
        assert "JBSWY3DPEHPK3PXP" not in text
    assert "'***'" in repr(payload)


# -- cross-check with the official client's payload classes ----------------------------


def test_payload_json_matches_the_official_client() -> None:
    types = pytest.importorskip("inkbox.vault.types")
    totp = pytest.importorskip("inkbox.vault.totp")
    cases: list[tuple[SecretPayload, Any]] = [
        (
            LoginPayload(password="p", username="u", email="e", url="x", totp=TOTP_URI, notes="n"),
            types.LoginPayload(
                password="p", username="u", email="e", url="x",
                totp=totp.parse_totp_uri(TOTP_URI), notes="n",
            ),
        ),
        (APIKeyPayload(api_key="k", endpoint="e"), types.APIKeyPayload(api_key="k", endpoint="e")),
        (
            KeyPairPayload(access_key="a", secret_key="s", notes="ü"),
            types.KeyPairPayload(access_key="a", secret_key="s", notes="ü"),
        ),
        (
            SSHKeyPayload(private_key="p", fingerprint="f"),
            types.SSHKeyPayload(private_key="p", fingerprint="f"),
        ),
        (OtherPayload(data="d ☃"), types.OtherPayload(data="d ☃")),
    ]  # fmt: skip
    for ours, theirs in cases:
        ours_json = json.dumps(payload_to_dict(ours), separators=(",", ":"))
        theirs_json = json.dumps(theirs._to_dict(), separators=(",", ":"))
        assert ours_json == theirs_json
        parsed = types._parse_payload(ours.secret_type.value, payload_to_dict(ours))
        assert parsed == theirs
        assert payload_from_dict(ours.secret_type.value, theirs._to_dict()) == ours


def test_official_client_decrypts_our_secret_and_vice_versa() -> None:
    crypto = pytest.importorskip("inkbox.vault.crypto")
    types = pytest.importorskip("inkbox.vault.types")
    secret_id = str(uuid.uuid4())
    ours = LoginPayload(password="p ☃", username="u", totp=TOTP_URI)
    blob = encrypt_secret_payload(ours, ORG_KEY, secret_id)
    theirs = types._parse_payload("login", crypto.decrypt_payload(ORG_KEY, blob, secret_id))
    assert theirs.password == "p ☃" and theirs.totp.secret == "JBSWY3DPEHPK3PXP"
    back = crypto.encrypt_payload(ORG_KEY, theirs._to_dict(), secret_id)
    assert (
        expect_payload(decrypt_secret(detail(secret_id, "login", back), ORG_KEY), LoginPayload)
        == ours
    )
