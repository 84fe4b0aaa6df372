"""Vault cryptography against the wire reference's test vectors (vault.md §6) and
against the official client's own functions (byte compatibility both ways)."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import attrs
import pytest

from inkbox_async import InkboxError, InvalidArgumentError, InvalidArgumentTypeError
from inkbox_async._vault_crypto import (
    RECOVERY_CODE_ALPHABET,
    InkboxVaultKeyError,
    VaultDecryptionError,
    VaultKeyType,
    VaultPayloadError,
    b64decode,
    canonical_id,
    check_auth_hash,
    check_vault_key,
    compute_auth_hash,
    decode_payload,
    decrypt_blob,
    decrypt_payload,
    derive_key,
    derive_master_key,
    encode_payload,
    encrypt_blob,
    encrypt_payload,
    generate_initialize_material,
    generate_org_key,
    generate_recovery_code,
    generate_vault_key_material,
    is_recovery_code,
    ordered_key_ids,
    recovery_code_variant,
    unwrap_org_key,
    unwrap_org_key_with_keys,
    update_key_body,
    wrap_org_key,
)

ORG_ID = "org_test_123"
ORG_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")

PRIMARY_KEY = "my-Vault-key-01!"
PRIMARY_ID = "5f0c6f0e-3b7a-4d2e-9c41-8a6b2d9e7f10"
PRIMARY_NONCE = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaab")
PRIMARY_MASTER = "0f7d7bc78ccf0735337f5684a20f85389facf0b497273a244db6d2fe74bd6d9e"
PRIMARY_HASH = "131c9b088385e1b139a53acbaf122d6dde877349248037234fb99c664d5f6b6f"
PRIMARY_CT = "d24c26ceafce9c0daf025a368e69a549b229a68602c2ac97f822b62e96c2f32e"
PRIMARY_TAG = "97b0463b19b7269da7d39435921ca937"
PRIMARY_WRAPPED = "0kwmzq/OnA2vAlo2jmmlSbIppoYCwqyX+CK2LpbC8y6goaKjpKWmp6ipqquXsEY7GbcmnafTlDWSHKk3"

RECOVERY_CODE = "ABCD-EFGH-JKMN-PQRS-TUVW-XYZ2-3456-789A"
RECOVERY_ID = "9e2d7c41-0b3a-4f5e-8d6c-1a2b3c4d5e6f"
RECOVERY_NONCE = bytes.fromhex("c0c1c2c3c4c5c6c7c8c9cacb")
RECOVERY_MASTER = "ae1e549e31e7eabf1b777b82a0e0fe27a9082486fad899b3172ce6ae68c3a317"
RECOVERY_HASH = "83cb4c70ba36ddf7c3dd3ca3f2313a9c8e90079e1e520ceacc1005ebf8c031b3"
RECOVERY_WRAPPED = (
    "kdAOyxAIGaDcyQYWg7pI+C7GT0xEsNsYaY7LkEi+iSHAwcLDxMXGx8jJysvefoN7bCtXuvHIIAgi2UYj"
)

LOGIN_ID = "0d9b3c2e-6a4f-4b8e-8f1d-2c7e5a9b4f63"
LOGIN_NONCE = bytes.fromhex("b0b1b2b3b4b5b6b7b8b9babb")
LOGIN_PLAINTEXT = (
    b'{"notes":"shared team login","password":"s3cret","username":"admin",'
    b'"url":"https://example.com/login","totp":{"secret":"JBSWY3DPEHPK3PXP",'
    b'"algorithm":"sha1","digits":6,"period":30,"issuer":"Example","account_name":"admin"}}'
)
LOGIN_BLOB = (
    "4nc0xJioyH192uTKrC/tpqRILLN4DuNaOafs03Cggnd2OFRVEbqEgocokylO3PaXAU9itH5JLJEg704KJvpEktuG"
    "HJgoyRS2O+aANupykkJ8v+bX0BkYrZmeVvNENCDTDMcXNez7FGIxOmr+qKHi82jVxfIH0fcYMkWkjkc9a3IM5ffF"
    "MF7LfkB5L0dAeF5p6sksvelZYW7ZkBL/ZeOY/ZW7tY8dXWMd0msmwCQrj5MIYyCdvocyzyB2OaO6ocwmPLrUnJAl"
    "aKlJVw+2cg5ZyqRI6xV8DA+lN1sp++FIlLCxsrO0tba3uLm6ux/+4SePv5ay3wCEvyl41Vc="
)
LOGIN_TAG = "1ffee1278fbf96b2df0084bf2978d557"

OTHER_ID = "7a1e4c9b-2d3f-4e5a-9b6c-0f1e2d3c4b5a"
OTHER_NONCE = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadb")
OTHER_PLAINTEXT = b'{"data":"caf\\u00e9 \\u2603"}'
OTHER_BLOB = "V4WCDxzG05t6PEnZqqO30aozfYk1r452AKgz0NHS09TV1tfY2drbuZpJ2SAgZiOMjcsJ0ioLuw=="


@attrs.frozen
class Key:
    id: str
    key_type: str


@pytest.fixture(scope="module")
def primary_master() -> bytes:
    return derive_master_key(PRIMARY_KEY, ORG_ID)


@pytest.fixture(scope="module")
def recovery_master() -> bytes:
    return derive_master_key(RECOVERY_CODE, ORG_ID)


# -- §6.1 / §6.2 derivations and auth hashes -------------------------------------------


def test_primary_master_key_and_auth_hash(primary_master: bytes) -> None:
    assert primary_master.hex() == PRIMARY_MASTER
    assert compute_auth_hash(primary_master) == PRIMARY_HASH


def test_recovery_master_key_and_auth_hash(recovery_master: bytes) -> None:
    assert recovery_master.hex() == RECOVERY_MASTER
    assert compute_auth_hash(recovery_master) == RECOVERY_HASH


def test_derive_key_bundles_both_and_hides_them() -> None:
    derived = derive_key(PRIMARY_KEY, ORG_ID)
    assert derived.master_key.hex() == PRIMARY_MASTER
    assert derived.auth_hash == PRIMARY_HASH
    assert PRIMARY_MASTER not in repr(derived)
    assert PRIMARY_HASH not in repr(derived)


def test_vault_key_is_not_normalised(primary_master: bytes) -> None:
    # Trailing space, case, and Unicode form all change the master key.
    assert derive_master_key(PRIMARY_KEY + " ", ORG_ID) != primary_master
    assert derive_master_key(RECOVERY_CODE.lower(), ORG_ID).hex() != RECOVERY_MASTER


def test_derivation_argument_errors() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^organization_id: must be at least 8 bytes"):
        derive_master_key(PRIMARY_KEY, "org_1")
    with pytest.raises(InvalidArgumentTypeError, match=r"^vault_key:"):
        derive_master_key(b"bytes", ORG_ID)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"^recovery_code: must not be empty"):
        derive_master_key("", ORG_ID, argument="recovery_code")
    with pytest.raises(InvalidArgumentError, match=r"^master_key: must be 32 bytes"):
        compute_auth_hash(b"short")


# -- §2.3 / §6.1 / §6.2 wrapped org keys -----------------------------------------------


def test_wrap_reproduces_primary_vector(primary_master: bytes) -> None:
    wrapped = wrap_org_key(primary_master, ORG_KEY, PRIMARY_ID, nonce=PRIMARY_NONCE)
    assert wrapped == PRIMARY_WRAPPED
    raw = base64.b64decode(wrapped)
    assert len(raw) == 60 and len(wrapped) == 80
    assert raw[:32].hex() == PRIMARY_CT  # ciphertext first
    assert raw[32:44] == PRIMARY_NONCE  # nonce in the middle
    assert raw[44:].hex() == PRIMARY_TAG  # tag last


def test_wrap_reproduces_recovery_vector(recovery_master: bytes) -> None:
    wrapped = wrap_org_key(recovery_master, ORG_KEY, RECOVERY_ID, nonce=RECOVERY_NONCE)
    assert wrapped == RECOVERY_WRAPPED


def test_unwrap_vectors(primary_master: bytes, recovery_master: bytes) -> None:
    assert unwrap_org_key(primary_master, PRIMARY_WRAPPED, PRIMARY_ID) == ORG_KEY
    assert unwrap_org_key(recovery_master, RECOVERY_WRAPPED, RECOVERY_ID) == ORG_KEY


@pytest.mark.parametrize(
    "spelling",
    [
        PRIMARY_ID.upper(),
        PRIMARY_ID.replace("-", ""),
        "{" + PRIMARY_ID + "}",
        "urn:uuid:" + PRIMARY_ID,
        uuid.UUID(PRIMARY_ID),
    ],
)
def test_key_ids_are_canonicalised(primary_master: bytes, spelling: Any) -> None:
    assert canonical_id(spelling) == PRIMARY_ID
    assert unwrap_org_key(primary_master, PRIMARY_WRAPPED, spelling) == ORG_KEY
    assert wrap_org_key(primary_master, ORG_KEY, spelling, nonce=PRIMARY_NONCE) == PRIMARY_WRAPPED


def test_raw_aad_is_case_sensitive_and_required(primary_master: bytes) -> None:
    blob = base64.b64decode(PRIMARY_WRAPPED)
    assert decrypt_blob(primary_master, blob, PRIMARY_ID.encode()) == ORG_KEY
    for aad in (None, b"", PRIMARY_ID.upper().encode()):
        with pytest.raises(VaultDecryptionError):
            decrypt_blob(primary_master, blob, aad)


def test_unwrap_failures_name_no_secret(primary_master: bytes, recovery_master: bytes) -> None:
    with pytest.raises(VaultDecryptionError) as info:
        unwrap_org_key(recovery_master, PRIMARY_WRAPPED, PRIMARY_ID)
    text = str(info.value)
    assert "authentication failed" in text
    for secret in (PRIMARY_MASTER, RECOVERY_MASTER, PRIMARY_HASH, RECOVERY_HASH, ORG_KEY.hex()):
        assert secret not in text
    with pytest.raises(VaultDecryptionError):
        unwrap_org_key(primary_master, PRIMARY_WRAPPED, RECOVERY_ID)
    with pytest.raises(InvalidArgumentError, match=r"^key_id:"):
        unwrap_org_key(primary_master, PRIMARY_WRAPPED, "not-a-uuid")


def test_tampered_blob_fails(primary_master: bytes) -> None:
    raw = bytearray(base64.b64decode(PRIMARY_WRAPPED))
    raw[0] ^= 1
    with pytest.raises(VaultDecryptionError):
        unwrap_org_key(primary_master, base64.b64encode(raw).decode(), PRIMARY_ID)


def test_base64_is_strict_standard_but_tolerates_whitespace(primary_master: bytes) -> None:
    spaced = PRIMARY_WRAPPED[:40] + "\n  " + PRIMARY_WRAPPED[40:]
    assert unwrap_org_key(primary_master, spaced, PRIMARY_ID) == ORG_KEY
    urlsafe = PRIMARY_WRAPPED.replace("+", "-").replace("/", "_")
    with pytest.raises(VaultDecryptionError, match="not valid base64"):
        unwrap_org_key(primary_master, urlsafe, PRIMARY_ID)
    with pytest.raises(VaultDecryptionError, match="not valid base64"):
        b64decode(OTHER_BLOB.rstrip("="))
    with pytest.raises(VaultDecryptionError, match="too short"):
        decrypt_blob(ORG_KEY, b"\x00" * 27)


def test_blob_round_trip_uses_fresh_nonces() -> None:
    key = generate_org_key()
    assert len(key) == 32
    first = encrypt_blob(key, b"hello", b"aad")
    second = encrypt_blob(key, b"hello", b"aad")
    assert first != second
    assert len(first) == 5 + 12 + 16
    assert decrypt_blob(key, first, b"aad") == decrypt_blob(key, second, b"aad") == b"hello"
    assert decrypt_blob(key, encrypt_blob(key, b""), None) == b""


def test_unwrap_with_keys_tries_primary_then_recovery(
    primary_master: bytes, recovery_master: bytes
) -> None:
    # Server order recovery-then-primary, plus an unknown key type that is skipped.
    keys = [
        Key(RECOVERY_ID.upper(), "recovery"),
        Key(str(uuid.uuid4()), "future_kind"),
        Key(PRIMARY_ID, "primary"),
    ]
    assert ordered_key_ids(keys) == [PRIMARY_ID, RECOVERY_ID]
    assert unwrap_org_key_with_keys(primary_master, PRIMARY_WRAPPED, keys) == (ORG_KEY, PRIMARY_ID)
    assert unwrap_org_key_with_keys(recovery_master, RECOVERY_WRAPPED, keys) == (
        ORG_KEY,
        RECOVERY_ID,
    )
    with pytest.raises(VaultDecryptionError, match="Failed to unwrap"):
        unwrap_org_key_with_keys(primary_master, PRIMARY_WRAPPED, keys[:2])


# -- §2.5 / §6.3 payloads --------------------------------------------------------------


def test_login_vector_encrypts_byte_identically() -> None:
    data = decode_payload(LOGIN_PLAINTEXT)
    assert encode_payload(data) == LOGIN_PLAINTEXT
    assert len(LOGIN_PLAINTEXT) == 223
    blob = encrypt_payload(ORG_KEY, data, LOGIN_ID, nonce=LOGIN_NONCE)
    assert blob == LOGIN_BLOB
    raw = base64.b64decode(blob)
    assert len(raw) == 251 and raw[-16:].hex() == LOGIN_TAG


def test_login_vector_decrypts() -> None:
    data = decrypt_payload(ORG_KEY, LOGIN_BLOB, LOGIN_ID)
    assert data["password"] == "s3cret"
    assert data["notes"] == "shared team login"
    assert data["totp"]["secret"] == "JBSWY3DPEHPK3PXP"
    assert list(data) == ["notes", "password", "username", "url", "totp"]
    # AAD normalisation: any UUID spelling of the id reads the same.
    assert decrypt_payload(ORG_KEY, LOGIN_BLOB, LOGIN_ID.upper()) == data
    assert decrypt_payload(ORG_KEY, LOGIN_BLOB, uuid.UUID(LOGIN_ID)) == data
    with pytest.raises(VaultDecryptionError):
        decrypt_payload(ORG_KEY, LOGIN_BLOB, OTHER_ID)


def test_non_ascii_vector_uses_ascii_escapes() -> None:
    data = {"data": "café ☃"}
    assert encode_payload(data) == OTHER_PLAINTEXT
    assert len(OTHER_PLAINTEXT) == 27
    assert encrypt_payload(ORG_KEY, data, OTHER_ID, nonce=OTHER_NONCE) == OTHER_BLOB
    assert decrypt_payload(ORG_KEY, OTHER_BLOB, OTHER_ID) == data


def test_raw_utf8_plaintext_also_reads() -> None:
    blob = encrypt_blob(ORG_KEY, '{"data":"café ☃"}'.encode(), OTHER_ID.encode())
    encoded = base64.b64encode(blob).decode()
    assert decrypt_payload(ORG_KEY, encoded, OTHER_ID) == {"data": "café ☃"}


def test_encode_payload_is_compact_and_keeps_slashes() -> None:
    assert encode_payload({"b": 1, "a": "x/y"}) == b'{"b":1,"a":"x/y"}'


def test_non_object_or_non_json_plaintext_is_a_payload_error() -> None:
    for plaintext in (b"[1,2]", b"not json", b"\xff\xfe"):
        blob = base64.b64encode(encrypt_blob(ORG_KEY, plaintext, OTHER_ID.encode())).decode()
        with pytest.raises(VaultPayloadError):
            decrypt_payload(ORG_KEY, blob, OTHER_ID)


# -- §2.6 strength rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("Short-1a", "Vault key must be at least 16 characters"),
        ("🔑" * 14 + "Aa", "Vault key must contain at least one digit"),
        ("all-lower-case-123", "Vault key must contain at least one uppercase letter"),
        ("ÄÖÜ-lower-case-123", "Vault key must contain at least one uppercase letter"),
        ("ALL-UPPER-CASE-123", "Vault key must contain at least one lowercase letter"),
        ("No-Digits-At-All!", "Vault key must contain at least one digit"),
        ("NoSpecial1234567abc", "Vault key must contain at least one special character"),
    ],
)
def test_weak_vault_keys(key: str, message: str) -> None:
    with pytest.raises(InkboxVaultKeyError) as info:
        check_vault_key(key)
    assert str(info.value) == f"vault_key: {message}"
    assert info.value.argument == "vault_key"
    assert isinstance(info.value, InvalidArgumentError)
    assert isinstance(info.value, InkboxError)
    assert isinstance(info.value, ValueError)
    assert key not in str(info.value)


@pytest.mark.parametrize(
    "key", [PRIMARY_KEY, "Has space 1234567a", "Umlaut1234567890aZä", "AAAAaaaa11112222\u00a0"]
)
def test_strong_vault_keys(key: str) -> None:
    assert check_vault_key(key) == key


def test_strength_rule_names_the_argument() -> None:
    with pytest.raises(InkboxVaultKeyError, match=r"^new_vault_key: Vault key must be at least"):
        check_vault_key("x", "new_vault_key")
    with pytest.raises(InvalidArgumentTypeError):
        check_vault_key(None)


# -- §2.7 recovery codes ---------------------------------------------------------------


def test_recovery_codes() -> None:
    codes = {generate_recovery_code() for _ in range(200)}
    assert len(codes) == 200
    pattern = re.compile(r"^[A-Z2-9]{4}(-[A-Z2-9]{4}){7}$")
    for code in codes:
        assert pattern.match(code) and len(code) == 39
        assert set(code.replace("-", "")) <= set(RECOVERY_CODE_ALPHABET)
        assert is_recovery_code(code)
    seen = set("".join(codes).replace("-", ""))
    assert seen == set(RECOVERY_CODE_ALPHABET)  # 6400 draws cover all 31 symbols
    assert not seen & set("01ILO")


def test_recovery_code_variant() -> None:
    assert recovery_code_variant(RECOVERY_CODE) is None
    assert recovery_code_variant(RECOVERY_CODE.lower()) == RECOVERY_CODE
    assert recovery_code_variant(RECOVERY_CODE.replace("-", "")) == RECOVERY_CODE
    assert recovery_code_variant(" abcd efgh jkmn pqrs tuvw xyz2 3456 789a ") == RECOVERY_CODE
    assert recovery_code_variant(PRIMARY_KEY) is None
    assert recovery_code_variant("ABCD-EFGH-JKMN-PQRS-TUVW-XYZ2-3456-789O") is None
    assert not is_recovery_code(RECOVERY_CODE.lower())


# -- key material for initialize / update_key ------------------------------------------


def test_key_material_reproduces_vectors() -> None:
    primary = generate_vault_key_material(
        PRIMARY_KEY, ORG_ID, ORG_KEY, key_id=PRIMARY_ID.upper(), nonce=PRIMARY_NONCE
    )
    assert primary.to_wire() == {
        "id": PRIMARY_ID,
        "wrapped_org_encryption_key": PRIMARY_WRAPPED,
        "auth_hash": PRIMARY_HASH,
        "key_type": "primary",
    }
    assert list(primary.to_wire()) == ["id", "wrapped_org_encryption_key", "auth_hash", "key_type"]
    recovery = generate_vault_key_material(
        RECOVERY_CODE,
        ORG_ID,
        ORG_KEY,
        key_type="recovery",
        key_id=RECOVERY_ID,
        nonce=RECOVERY_NONCE,
    )
    assert recovery.key_type is VaultKeyType.RECOVERY
    assert recovery.wrapped_org_encryption_key == RECOVERY_WRAPPED
    assert recovery.auth_hash == RECOVERY_HASH
    for text in (repr(primary), repr(recovery)):
        assert PRIMARY_HASH not in text and RECOVERY_HASH not in text
        assert PRIMARY_WRAPPED not in text and RECOVERY_WRAPPED not in text


def test_primary_material_checks_strength_recovery_does_not() -> None:
    with pytest.raises(InkboxVaultKeyError, match="lowercase"):
        generate_vault_key_material(RECOVERY_CODE, ORG_ID, ORG_KEY)
    material = generate_vault_key_material(RECOVERY_CODE, ORG_ID, ORG_KEY, key_type="recovery")
    assert material.auth_hash == RECOVERY_HASH
    assert material.id.version == 4
    with pytest.raises(InvalidArgumentError, match=r"^key_type: 'backup' is not one of"):
        generate_vault_key_material(RECOVERY_CODE, ORG_ID, ORG_KEY, key_type="backup")


def test_initialize_material() -> None:
    material = generate_initialize_material(PRIMARY_KEY, ORG_ID)
    body = material.request_body()
    assert list(body) == ["vault_key", "recovery_keys"]
    assert body["vault_key"]["key_type"] == "primary"
    assert body["vault_key"]["auth_hash"] == PRIMARY_HASH
    assert len(body["recovery_keys"]) == 4
    assert all(k["key_type"] == "recovery" for k in body["recovery_keys"])
    ids = {body["vault_key"]["id"], *(k["id"] for k in body["recovery_keys"])}
    assert len(ids) == 5 and all(i == str(uuid.UUID(i)) for i in ids)
    assert len(material.recovery_codes) == 4
    # Every recovery code unwraps its own copy of the same org key.
    for code, wire in zip(material.recovery_codes, body["recovery_keys"], strict=True):
        assert is_recovery_code(code)
        derived = derive_key(code, ORG_ID)
        assert derived.auth_hash == wire["auth_hash"]
        assert (
            unwrap_org_key(derived.master_key, wire["wrapped_org_encryption_key"], wire["id"])
            == material.org_key
        )
    text = repr(material)
    assert material.org_key.hex() not in text
    assert not any(code in text for code in material.recovery_codes)


def test_initialize_refuses_weak_key_before_deriving(monkeypatch: pytest.MonkeyPatch) -> None:
    import inkbox_async._vault_crypto as module

    def boom(*_: object, **__: object) -> bytes:
        raise AssertionError("derived")

    monkeypatch.setattr(module, "derive_master_key", boom)
    with pytest.raises(InkboxVaultKeyError):
        generate_initialize_material("weak", ORG_ID)


def test_update_key_body() -> None:
    material = generate_vault_key_material(
        "new-Vault-key-02!", ORG_ID, ORG_KEY, key_id=PRIMARY_ID, nonce=PRIMARY_NONCE
    )
    body = update_key_body(material, current_auth_hash=PRIMARY_HASH)
    assert list(body) == ["id", "wrapped_org_encryption_key", "auth_hash", "current_auth_hash"]
    body = update_key_body(material, recovery_auth_hash=RECOVERY_HASH)
    assert list(body) == ["id", "wrapped_org_encryption_key", "auth_hash", "recovery_auth_hash"]
    assert "key_type" not in body
    with pytest.raises(InvalidArgumentError, match="Exactly one of"):
        update_key_body(material)
    with pytest.raises(InvalidArgumentError, match="Exactly one of"):
        update_key_body(material, current_auth_hash=PRIMARY_HASH, recovery_auth_hash=RECOVERY_HASH)
    with pytest.raises(InvalidArgumentError) as info:
        update_key_body(material, current_auth_hash=PRIMARY_HASH.upper())
    assert PRIMARY_HASH.upper() not in str(info.value)
    assert check_auth_hash(PRIMARY_HASH) == PRIMARY_HASH


def test_rewrap_with_new_key_keeps_org_key(primary_master: bytes) -> None:
    # update_key: unwrap with the current key, re-wrap the same org key under the new one.
    org_key = unwrap_org_key(primary_master, PRIMARY_WRAPPED, PRIMARY_ID)
    new = generate_vault_key_material("new-Vault-key-02!", ORG_ID, org_key)
    new_master = derive_master_key("new-Vault-key-02!", ORG_ID)
    assert unwrap_org_key(new_master, new.wrapped_org_encryption_key, new.id) == ORG_KEY


# -- cross-check with the official client (inkbox==0.4.4) ------------------------------

official = pytest.importorskip("inkbox.vault.crypto")


def test_official_derivation_matches() -> None:
    for key in (PRIMARY_KEY, RECOVERY_CODE, "Ünïcödé-Key-2024 ☃"):
        theirs = official.derive_master_key(key, official.derive_salt(ORG_ID))
        assert theirs == derive_master_key(key, ORG_ID)
        assert official.compute_auth_hash(theirs) == compute_auth_hash(theirs)


def test_we_unwrap_what_the_official_client_wraps() -> None:
    org_key = generate_org_key()
    theirs = official.generate_vault_key_material(PRIMARY_KEY, ORG_ID, org_key)
    derived = derive_key(PRIMARY_KEY, ORG_ID)
    assert derived.auth_hash == theirs.auth_hash
    assert (
        unwrap_org_key(derived.master_key, theirs.wrapped_org_encryption_key, theirs.id) == org_key
    )
    code, material = official.generate_recovery_code(ORG_ID, org_key)
    assert is_recovery_code(code)
    recovered = derive_key(code, ORG_ID)
    assert (
        unwrap_org_key(recovered.master_key, material.wrapped_org_encryption_key, material.id)
        == org_key
    )


def test_official_client_unwraps_what_we_wrap() -> None:
    org_key = generate_org_key()
    ours = generate_initialize_material(PRIMARY_KEY, ORG_ID)
    master = official.derive_master_key(PRIMARY_KEY, official.derive_salt(ORG_ID))
    assert official.compute_auth_hash(master) == ours.primary.auth_hash
    unwrapped = official.unwrap_org_key(
        master, ours.primary.wrapped_org_encryption_key, str(ours.primary.id)
    )
    assert unwrapped == ours.org_key
    code = ours.recovery_keys[0]
    master = official.derive_master_key(code.recovery_code, official.derive_salt(ORG_ID))
    assert (
        official.unwrap_org_key(
            master, code.material.wrapped_org_encryption_key, str(code.material.id)
        )
        == ours.org_key
    )
    del org_key


def test_payloads_cross_decrypt_both_ways() -> None:
    org_key = generate_org_key()
    secret_id = str(uuid.uuid4())
    data = {"notes": "n ☃", "password": "p/w", "username": "u"}
    theirs = official.encrypt_payload(org_key, data, secret_id)
    assert decrypt_payload(org_key, theirs, secret_id.upper()) == data
    ours = encrypt_payload(org_key, data, secret_id.upper())
    assert official.decrypt_payload(org_key, ours, secret_id) == data
