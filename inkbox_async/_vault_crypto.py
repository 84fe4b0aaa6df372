"""Vault cryptography: key derivation, auth hashes, AES-GCM blobs, key material.

Pure and synchronous (no I/O). Byte-compatible with the official clients:

* master key = Argon2id(vault key as typed, salt = organisation id as UTF-8,
  t=3, m=64 MiB, p=1, 32 bytes); ``auth_hash`` = lower-case hex SHA-256 of it;
* blobs are AES-256-GCM ``ciphertext || nonce(12) || tag(16)`` in standard
  padded base64; the AAD is the canonical (lower-case, hyphenated) UUID of the
  vault key (wrapped org key) or of the secret (payload). Ids are always
  canonicalised here, so an upper-case or braced id encrypts and decrypts the
  same as the server's form.

A derivation costs about 0.2 s and 64 MiB: the async SDK runs these functions
in a worker thread. ``cryptography`` is imported on first use. Keys, auth
hashes, recovery codes and plaintexts never appear in a repr or an error.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from uuid import UUID

import attrs

from inkbox_async._errors import (
    InkboxError,
    InkboxVaultKeyError,
    InvalidArgumentError,
    VaultDecryptionError,
    VaultPayloadError,
    VaultSecretTypeError,
)
from inkbox_async._validate import choice, type_error
from inkbox_async._validate import uuid as _uuid_arg

__all__ = [
    "AES_KEY_BYTES",
    "ARGON2_ITERATIONS",
    "ARGON2_LANES",
    "ARGON2_MEMORY_KIB",
    "NONCE_BYTES",
    "RECOVERY_CODE_ALPHABET",
    "RECOVERY_CODE_COUNT",
    "TAG_BYTES",
    "DerivedKey",
    "InitializeKeyMaterial",
    "InkboxVaultKeyError",
    "KeyRef",
    "RecoveryKeyMaterial",
    "VaultDecryptionError",
    "VaultKeyMaterial",
    "VaultKeyType",
    "VaultPayloadError",
    "VaultSecretTypeError",
    "b64decode",
    "b64encode",
    "canonical_id",
    "check_auth_hash",
    "check_vault_key",
    "compute_auth_hash",
    "decode_payload",
    "decrypt_blob",
    "decrypt_payload",
    "derive_key",
    "derive_master_key",
    "encode_payload",
    "encrypt_blob",
    "encrypt_payload",
    "generate_initialize_material",
    "generate_org_key",
    "generate_recovery_code",
    "generate_vault_key_material",
    "is_recovery_code",
    "ordered_key_ids",
    "recovery_code_variant",
    "unwrap_org_key",
    "unwrap_org_key_with_keys",
    "update_key_body",
    "wrap_org_key",
]

ARGON2_ITERATIONS = 3
ARGON2_MEMORY_KIB = 65536
ARGON2_LANES = 1
AES_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
RECOVERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_CODE_COUNT = 4
_RECOVERY_CODE = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){7}")
_AUTH_HASH = re.compile(r"[0-9a-f]{64}")
_MIN_SALT_BYTES = 8


# -- ids, keys, base64 ----------------------------------------------------------------


class VaultKeyType(enum.StrEnum):
    """Kinds of vault key."""

    PRIMARY = "primary"
    RECOVERY = "recovery"


def canonical_id(value: UUID | str, argument: str = "id") -> str:
    """An id as the canonical AAD string: 36 characters, lower-case, hyphenated.

    Accepts a :class:`~uuid.UUID` or any string :class:`~uuid.UUID` parses
    (upper case, no hyphens, braces, ``urn:uuid:``).
    """
    return _uuid_arg(argument, value)


def _key_bytes(argument: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise type_error(argument, "bytes", value)
    key = bytes(value)
    if len(key) != AES_KEY_BYTES:
        raise InvalidArgumentError(argument, f"must be {AES_KEY_BYTES} bytes, got {len(key)}")
    return key


def b64encode(data: bytes) -> str:
    """Standard base64 with ``=`` padding, no line breaks."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str = "blob") -> bytes:
    """Strict standard base64 (ASCII whitespace ignored).

    Raises :class:`VaultDecryptionError` when ``text`` is not base64.
    """
    if not isinstance(text, str):
        raise VaultDecryptionError(f"{what} is not a base64 string")
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise VaultDecryptionError(f"{what} is not valid base64") from None


# -- key derivation -------------------------------------------------------------------


@attrs.frozen
class DerivedKey:
    """A master key and its auth hash; both hidden in the repr."""

    master_key: bytes = attrs.field(repr=False)
    auth_hash: str = attrs.field(repr=False)


def _salt(organization_id: object) -> bytes:
    if not isinstance(organization_id, str):
        raise type_error("organization_id", "a str", organization_id)
    salt = organization_id.encode("utf-8")
    if len(salt) < _MIN_SALT_BYTES:
        raise InvalidArgumentError(
            "organization_id",
            f"must be at least {_MIN_SALT_BYTES} bytes of UTF-8 to serve as the Argon2id salt",
        )
    return salt


def derive_master_key(
    vault_key: str, organization_id: str, *, argument: str = "vault_key"
) -> bytes:
    """Argon2id(vault key, salt = organisation id) -> 32-byte master key.

    The vault key (or recovery code) is used exactly as given: no trimming,
    no Unicode normalisation, no case folding. CPU- and memory-heavy (64 MiB):
    call it from a worker thread in async code.
    """
    if not isinstance(vault_key, str):
        raise type_error(argument, "a str", vault_key)
    if not vault_key:
        raise InvalidArgumentError(argument, "must not be empty")
    salt = _salt(organization_id)
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        kdf = Argon2id(
            salt=salt,
            length=AES_KEY_BYTES,
            iterations=ARGON2_ITERATIONS,
            lanes=ARGON2_LANES,
            memory_cost=ARGON2_MEMORY_KIB,
        )
    except (ImportError, UnsupportedAlgorithm):
        raise InkboxError(
            "Argon2id is not available: the vault needs cryptography >= 44 "
            "built with OpenSSL >= 3.2 (the PyPI wheels are)"
        ) from None
    return kdf.derive(vault_key.encode("utf-8"))


def compute_auth_hash(master_key: bytes) -> str:
    """Lower-case hex SHA-256 of the 32 master-key bytes (64 characters)."""
    return hashlib.sha256(_key_bytes("master_key", master_key)).hexdigest()


def derive_key(vault_key: str, organization_id: str, *, argument: str = "vault_key") -> DerivedKey:
    """:func:`derive_master_key` plus :func:`compute_auth_hash` in one object."""
    master = derive_master_key(vault_key, organization_id, argument=argument)
    return DerivedKey(master, compute_auth_hash(master))


def check_auth_hash(value: object, argument: str = "auth_hash") -> str:
    """An auth hash: 64 lower-case hex characters (never echoed in the error)."""
    if not isinstance(value, str):
        raise type_error(argument, "a str", value)
    if not _AUTH_HASH.fullmatch(value):
        raise InvalidArgumentError(argument, "must be 64 lower-case hex characters")
    return value


def _has(low: str, high: str) -> Callable[[str], bool]:
    return lambda key: any(low <= c <= high for c in key)


def _has_special(key: str) -> bool:
    return any(not (c.isascii() and c.isalnum()) for c in key)


_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda key: len(key) >= 16, "Vault key must be at least 16 characters"),
    (_has("A", "Z"), "Vault key must contain at least one uppercase letter"),
    (_has("a", "z"), "Vault key must contain at least one lowercase letter"),
    (_has("0", "9"), "Vault key must contain at least one digit"),
    (_has_special, "Vault key must contain at least one special character"),
)


def check_vault_key(vault_key: object, argument: str = "vault_key") -> str:
    """Apply the strength rules for a key being registered; return it unchanged.

    Rules, first failure wins: at least 16 characters, an ASCII upper-case
    letter, an ASCII lower-case letter, an ASCII digit, and a character outside
    ``A-Z a-z 0-9``. Raises :class:`InkboxVaultKeyError` with the official
    message. Not for unlocking, nor for recovery codes.
    """
    if not isinstance(vault_key, str):
        raise type_error(argument, "a str", vault_key)
    for rule, message in _RULES:
        if not rule(vault_key):
            raise InkboxVaultKeyError(argument, message)
    return vault_key


# -- AES-256-GCM blobs ----------------------------------------------------------------


def encrypt_blob(
    key: bytes, plaintext: bytes, aad: bytes | None = None, *, nonce: bytes | None = None
) -> bytes:
    """AES-256-GCM -> ``ciphertext || nonce || tag``.

    ``nonce`` is for fixed test vectors only; by default a fresh random
    12-byte nonce is drawn for every call (never reuse one under a key).
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = _key_bytes("key", key)
    if nonce is None:
        nonce = os.urandom(NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise InvalidArgumentError("nonce", f"must be {NONCE_BYTES} bytes")
    sealed = AESGCM(key).encrypt(nonce, bytes(plaintext), aad or None)
    return sealed[:-TAG_BYTES] + nonce + sealed[-TAG_BYTES:]


def decrypt_blob(key: bytes, blob: bytes, aad: bytes | None = None) -> bytes:
    """Open a ``ciphertext || nonce || tag`` blob; :class:`VaultDecryptionError` on failure."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = _key_bytes("key", key)
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise VaultDecryptionError(f"blob is too short ({len(blob)} bytes)")
    tag = blob[-TAG_BYTES:]
    nonce = blob[-TAG_BYTES - NONCE_BYTES : -TAG_BYTES]
    ciphertext = blob[: -TAG_BYTES - NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext + tag, aad or None)
    except InvalidTag:
        raise VaultDecryptionError(
            "authentication failed (wrong key, wrong id, or altered data)"
        ) from None


# -- org key wrapping -----------------------------------------------------------------


def generate_org_key() -> bytes:
    """32 random bytes from the OS CSPRNG: the organisation's encryption key."""
    return os.urandom(AES_KEY_BYTES)


def wrap_org_key(
    master_key: bytes, org_key: bytes, key_id: UUID | str, *, nonce: bytes | None = None
) -> str:
    """Encrypt the org key under a master key, AAD = the vault key's canonical id."""
    aad = canonical_id(key_id, "key_id").encode("ascii")
    master = _key_bytes("master_key", master_key)
    return b64encode(encrypt_blob(master, _key_bytes("org_key", org_key), aad, nonce=nonce))


def unwrap_org_key(master_key: bytes, wrapped: str, key_id: UUID | str) -> bytes:
    """Decrypt a wrapped org key; :class:`VaultDecryptionError` if the key or id is wrong."""
    aad = canonical_id(key_id, "key_id").encode("ascii")
    master = _key_bytes("master_key", master_key)
    org_key = decrypt_blob(master, b64decode(wrapped, "wrapped_org_encryption_key"), aad)
    if len(org_key) != AES_KEY_BYTES:
        raise VaultDecryptionError(f"unwrapped org key has {len(org_key)} bytes, expected 32")
    return org_key


class KeyRef(Protocol):
    """What :func:`ordered_key_ids` reads from a vault key (e.g. a ``VaultKey``)."""

    @property
    def id(self) -> UUID | str: ...

    @property
    def key_type(self) -> str: ...


def ordered_key_ids(keys: Iterable[KeyRef]) -> list[str]:
    """Canonical ids to try as AAD: primary keys, then recovery keys, each in the
    given (server) order; other key types are skipped."""
    keys = list(keys)
    ordered: list[str] = []
    for wanted in (VaultKeyType.PRIMARY, VaultKeyType.RECOVERY):
        for key in keys:
            if str(key.key_type) == wanted.value:
                ordered.append(canonical_id(key.id, "keys"))
    return ordered


def unwrap_org_key_with_keys(
    master_key: bytes, wrapped: str, keys: Iterable[KeyRef]
) -> tuple[bytes, str]:
    """Unwrap an unlock bundle's org key when the matching key id is not known.

    Tries every id of :func:`ordered_key_ids` as AAD; returns the org key and
    the id that worked. Raises :class:`VaultDecryptionError` when none does.
    """
    blob = b64decode(wrapped, "wrapped_org_encryption_key")
    master = _key_bytes("master_key", master_key)
    for key_id in ordered_key_ids(keys):
        try:
            org_key = decrypt_blob(master, blob, key_id.encode("ascii"))
        except VaultDecryptionError:
            continue
        if len(org_key) == AES_KEY_BYTES:
            return org_key, key_id
    raise VaultDecryptionError(
        "Failed to unwrap the org encryption key with any vault key id of this vault"
    )


# -- payloads -------------------------------------------------------------------------


def encode_payload(data: Mapping[str, Any]) -> bytes:
    """Compact JSON (``,``/``:``, no spaces), non-ASCII escaped as ``\\uXXXX``, key order kept."""
    return json.dumps(dict(data), separators=(",", ":"), ensure_ascii=True).encode("ascii")


def decode_payload(plaintext: bytes) -> dict[str, Any]:
    """Parse a decrypted payload (any key order, raw UTF-8 or escapes); must be an object."""
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise VaultPayloadError("decrypted payload is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise VaultPayloadError(f"decrypted payload is a JSON {type(data).__name__}, not an object")
    return data


def encrypt_payload(
    org_key: bytes,
    payload: Mapping[str, Any],
    secret_id: UUID | str,
    *,
    nonce: bytes | None = None,
) -> str:
    """Encrypt a payload object for ``encrypted_payload`` (AAD = canonical secret id)."""
    aad = canonical_id(secret_id, "secret_id").encode("ascii")
    blob = encrypt_blob(_key_bytes("org_key", org_key), encode_payload(payload), aad, nonce=nonce)
    return b64encode(blob)


def decrypt_payload(
    org_key: bytes, encrypted_payload: str, secret_id: UUID | str
) -> dict[str, Any]:
    """Decrypt and parse an ``encrypted_payload``; the id may be in any UUID spelling."""
    aad = canonical_id(secret_id, "secret_id").encode("ascii")
    blob = b64decode(encrypted_payload, "encrypted_payload")
    return decode_payload(decrypt_blob(_key_bytes("org_key", org_key), blob, aad))


# -- recovery codes -------------------------------------------------------------------


def generate_recovery_code() -> str:
    """A fresh recovery code: 8 groups of 4 from a 31-symbol alphabet (~158 bits)."""
    chars = [secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(32)]
    return "-".join("".join(chars[i : i + 4]) for i in range(0, 32, 4))


def is_recovery_code(text: object) -> bool:
    """True when ``text`` has the exact recovery-code shape (upper case, hyphenated)."""
    return isinstance(text, str) and bool(_RECOVERY_CODE.fullmatch(text))


def recovery_code_variant(text: str) -> str | None:
    """The canonical spelling of a sloppily typed recovery code, if it differs.

    Upper-cases and re-hyphenates (spaces and hyphens dropped). Returns None
    when the input is already canonical or cannot be a recovery code. Use it
    only as a *retry* after the text as typed failed: a real vault key could
    look similar, and vault keys are never normalised.
    """
    if not isinstance(text, str):
        return None
    compact = "".join(c for c in text.upper() if c not in "- \t\r\n")
    if len(compact) != 32 or any(c not in RECOVERY_CODE_ALPHABET for c in compact):
        return None
    canonical = "-".join(compact[i : i + 4] for i in range(0, 32, 4))
    return None if canonical == text else canonical


# -- key material for initialize / update_key -----------------------------------------


@attrs.frozen(kw_only=True)
class VaultKeyMaterial:
    """What the client registers for one vault key (the wrapped org key and auth hash)."""

    id: UUID
    wrapped_org_encryption_key: str = attrs.field(repr=False)
    auth_hash: str = attrs.field(repr=False)
    key_type: VaultKeyType

    def to_wire(self) -> dict[str, str]:
        """The request object: ``id``, ``wrapped_org_encryption_key``, ``auth_hash``, ``key_type``."""
        return {
            "id": str(self.id),
            "wrapped_org_encryption_key": self.wrapped_org_encryption_key,
            "auth_hash": self.auth_hash,
            "key_type": self.key_type.value,
        }


@attrs.frozen(kw_only=True)
class RecoveryKeyMaterial:
    """A recovery code and the key material registered for it."""

    recovery_code: str = attrs.field(repr=False)
    material: VaultKeyMaterial


@attrs.frozen(kw_only=True)
class InitializeKeyMaterial:
    """Everything ``initialize`` generates: the org key, the primary key, four recovery keys."""

    org_key: bytes = attrs.field(repr=False)
    primary: VaultKeyMaterial
    recovery_keys: list[RecoveryKeyMaterial]

    @property
    def recovery_codes(self) -> list[str]:
        """The plaintext recovery codes, in request order."""
        return [r.recovery_code for r in self.recovery_keys]

    def request_body(self) -> dict[str, Any]:
        """The ``POST /vault/initialize`` body."""
        return {
            "vault_key": self.primary.to_wire(),
            "recovery_keys": [r.material.to_wire() for r in self.recovery_keys],
        }


def generate_vault_key_material(
    vault_key: str,
    organization_id: str,
    org_key: bytes,
    *,
    key_type: VaultKeyType | str = VaultKeyType.PRIMARY,
    key_id: UUID | str | None = None,
    argument: str = "vault_key",
    nonce: bytes | None = None,
) -> VaultKeyMaterial:
    """Derive, hash and wrap for one key. A primary key must pass :func:`check_vault_key`.

    ``key_id`` defaults to a fresh UUIDv4; ``nonce`` is for test vectors only.
    """
    kind = VaultKeyType(choice("key_type", key_type, VaultKeyType))
    if kind is VaultKeyType.PRIMARY:
        check_vault_key(vault_key, argument)
    org_key = _key_bytes("org_key", org_key)
    new_id = uuid.uuid4() if key_id is None else UUID(canonical_id(key_id, "key_id"))
    derived = derive_key(vault_key, organization_id, argument=argument)
    return VaultKeyMaterial(
        id=new_id,
        wrapped_org_encryption_key=wrap_org_key(derived.master_key, org_key, new_id, nonce=nonce),
        auth_hash=derived.auth_hash,
        key_type=kind,
    )


def generate_initialize_material(
    vault_key: str, organization_id: str, *, recovery_code_count: int = RECOVERY_CODE_COUNT
) -> InitializeKeyMaterial:
    """A new org key wrapped for the primary key and for fresh recovery codes.

    Checks the vault key's strength first (before any derivation), then runs
    ``1 + recovery_code_count`` Argon2id derivations.
    """
    check_vault_key(vault_key)
    _salt(organization_id)
    org_key = generate_org_key()
    primary = generate_vault_key_material(vault_key, organization_id, org_key)
    recovery: list[RecoveryKeyMaterial] = []
    for _ in range(recovery_code_count):
        code = generate_recovery_code()
        material = generate_vault_key_material(
            code, organization_id, org_key, key_type=VaultKeyType.RECOVERY, argument="recovery_code"
        )
        recovery.append(RecoveryKeyMaterial(recovery_code=code, material=material))
    return InitializeKeyMaterial(org_key=org_key, primary=primary, recovery_keys=recovery)


def update_key_body(
    material: VaultKeyMaterial,
    *,
    current_auth_hash: str | None = None,
    recovery_auth_hash: str | None = None,
) -> dict[str, str]:
    """The ``PUT /vault/keys/primary`` body: the new key plus exactly one proof hash."""
    if (current_auth_hash is None) == (recovery_auth_hash is None):
        raise InvalidArgumentError(
            "current_vault_key",
            "Exactly one of current_vault_key or recovery_code must be provided",
        )
    body = {
        "id": str(material.id),
        "wrapped_org_encryption_key": material.wrapped_org_encryption_key,
        "auth_hash": material.auth_hash,
    }
    if current_auth_hash is not None:
        body["current_auth_hash"] = check_auth_hash(current_auth_hash, "current_auth_hash")
    else:
        assert recovery_auth_hash is not None
        body["recovery_auth_hash"] = check_auth_hash(recovery_auth_hash, "recovery_auth_hash")
    return body
