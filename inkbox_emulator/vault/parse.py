"""Vault request bodies and parameters → typed values, or one FastAPI 422.

Shapes checked here: ids are UUIDs (stored canonical, lower-case), ``auth_hash``
values are 64 hex digits (stored lower-case), wrapped keys and secret payloads are
standard padded base64 of an AES-GCM blob (``ciphertext ‖ nonce ‖ tag``, so at
least 28 bytes). The payload itself is opaque: it is never decoded further.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from inkbox_emulator.core.errors import ValidationItem, validation_error
from inkbox_emulator.core.validation import MISSING, Fields, Missing

from .model import KEY_TYPES, SECRET_TYPES

__all__ = [
    "MIN_BLOB_BYTES",
    "InitializeVault",
    "KeyMaterial",
    "NewSecret",
    "ReplacePrimary",
    "SecretPatch",
    "parse_auth_hash",
    "parse_grant",
    "parse_initialize",
    "parse_new_secret",
    "parse_replace_primary",
    "parse_secret_patch",
]

MIN_BLOB_BYTES = 28
"""Smallest AES-GCM blob: empty ciphertext + 12-byte nonce + 16-byte tag."""

MAX_RECOVERY_KEYS = 20

_AUTH_HASH = re.compile(r"[0-9a-fA-F]{64}")
_AUTH_HASH_PATTERN = "^[0-9a-f]{64}$"


@dataclass(frozen=True)
class KeyMaterial:
    """One vault key as the client sends it: the org key wrapped under that key's master key."""

    id: str
    wrapped_org_encryption_key: str
    auth_hash: str
    key_type: str


@dataclass(frozen=True)
class InitializeVault:
    """A parsed ``POST /initialize`` body: one primary key and its recovery keys."""

    vault_key: KeyMaterial
    recovery_keys: tuple[KeyMaterial, ...]


@dataclass(frozen=True)
class ReplacePrimary:
    """A parsed ``PUT /keys/primary`` body; exactly one of the two proofs is set."""

    id: str
    wrapped_org_encryption_key: str
    auth_hash: str
    current_auth_hash: str | None
    recovery_auth_hash: str | None


@dataclass(frozen=True)
class NewSecret:
    """A parsed ``POST /secrets`` body."""

    id: str
    name: str
    secret_type: str
    encrypted_payload: str
    description: str | None


@dataclass(frozen=True)
class SecretPatch:
    """A parsed ``PATCH /secrets/{id}`` body (MISSING = leave unchanged)."""

    name: str | Missing = MISSING
    description: str | Missing | None = MISSING
    encrypted_payload: str | Missing = MISSING


# -- field helpers ---------------------------------------------------------------------


def _pattern_item(loc: list[str | int], value: object) -> ValidationItem:
    return {
        "type": "string_pattern_mismatch",
        "loc": loc,
        "msg": f"String should match pattern '{_AUTH_HASH_PATTERN}'",
        "input": value,
        "ctx": {"pattern": _AUTH_HASH_PATTERN},
    }


def _text(fields: Fields, name: str, *, required: bool) -> str | None:
    """A string field, or ``None`` when absent, null, or already reported as invalid."""
    before = len(fields.errors)
    value = fields.string(name, required=True) if required else fields.string(name)
    if len(fields.errors) > before or not isinstance(value, str):
        return None
    return value


def _auth_hash(fields: Fields, name: str, *, required: bool = True) -> str | None:
    """A 64-hex ``auth_hash`` field, lower-cased (``None`` when absent/null and optional)."""
    value = _text(fields, name, required=required)
    if value is None:
        return None
    if not _AUTH_HASH.fullmatch(value):
        fields.errors.append(_pattern_item([*fields.loc, name], value))
        return None
    return value.lower()


def _blob(fields: Fields, name: str, *, required: bool = True) -> str | None:
    """A base64 AES-GCM blob field, returned exactly as sent (``None`` if absent/invalid)."""
    if not required and name in fields.data and fields.data[name] is None:
        fields.error(name, "string_type", "Input should be a valid string", None)
        return None
    value = _text(fields, name, required=required)
    if value is None:
        return None
    problem: str | None = None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        problem = f"{name} must be standard base64 (alphabet A-Z a-z 0-9 + /, '=' padding)"
    else:
        if len(raw) < MIN_BLOB_BYTES:
            problem = (
                f"{name} must decode to an AES-GCM blob of at least {MIN_BLOB_BYTES} bytes "
                f"(ciphertext, 12-byte nonce, 16-byte tag); got {len(raw)}"
            )
    if problem is not None:
        fields.error(name, "value_error", f"Value error, {problem}", value, error=problem)
        return None
    return value


def _required_uuid(fields: Fields, name: str) -> str:
    value = fields.uuid(name)
    if value is MISSING:
        fields.missing(name)
    elif value is None and fields.data.get(name) is None:
        fields.error(name, "uuid_type", "UUID input should be a string, bytes or UUID object", None)
    return value if isinstance(value, str) else ""


def _material(fields: Fields, expected_type: str) -> KeyMaterial:
    key_id = _required_uuid(fields, "id")
    wrapped = _blob(fields, "wrapped_org_encryption_key")
    auth_hash = _auth_hash(fields, "auth_hash") or ""
    key_type = fields.literal("key_type", KEY_TYPES, nullable=False)
    if key_type is MISSING:
        fields.missing("key_type")
    elif isinstance(key_type, str) and key_type != expected_type:
        problem = f"key_type must be '{expected_type}' here"
        fields.error("key_type", "value_error", f"Value error, {problem}", key_type, error=problem)
    return KeyMaterial(
        id=key_id,
        wrapped_org_encryption_key=wrapped or "",
        auth_hash=auth_hash,
        key_type=expected_type,
    )


def _nested(fields: Fields, name: str) -> Fields | None:
    """A required nested object (``None`` after recording the error)."""
    nested = fields.obj(name)
    if nested is MISSING:
        fields.missing(name)
        return None
    if nested is None:
        fields.error(
            name,
            "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from",
            None,
        )
        return None
    assert isinstance(nested, Fields)
    return nested


# -- bodies ------------------------------------------------------------------------------


def parse_initialize(data: dict[str, Any]) -> InitializeVault:
    """``{"vault_key": <primary material>, "recovery_keys": [<recovery material>, …]}``."""
    fields = Fields(data)
    primary_fields = _nested(fields, "vault_key")
    primary = _material(primary_fields, "primary") if primary_fields else None
    recovery: list[KeyMaterial] = []
    raw = fields.raw("recovery_keys")
    if raw is MISSING:
        fields.missing("recovery_keys")
    elif not isinstance(raw, list):
        fields.error("recovery_keys", "list_type", "Input should be a valid list", raw)
    elif not 1 <= len(raw) <= MAX_RECOVERY_KEYS:
        problem = f"recovery_keys must hold 1 to {MAX_RECOVERY_KEYS} keys"
        fields.error("recovery_keys", "value_error", f"Value error, {problem}", raw, error=problem)
    else:
        for index, item in enumerate(raw):
            loc = ("body", "recovery_keys", index)
            if not isinstance(item, dict):
                fields.errors.append(
                    {
                        "type": "model_attributes_type",
                        "loc": list(loc),
                        "msg": "Input should be a valid dictionary or object to extract fields "
                        "from",
                        "input": item,
                    }
                )
                continue
            recovery.append(_material(Fields(item, loc, fields.errors), "recovery"))
    fields.raise_errors()
    assert primary is not None
    every = [primary, *recovery]
    problems = []
    if len({k.id for k in every}) != len(every):
        problems.append("every vault key needs its own id")
    if len({k.auth_hash for k in every}) != len(every):
        problems.append("every vault key needs its own auth_hash")
    for problem in problems:
        fields.error(None, "value_error", f"Value error, {problem}", data, error=problem)
    fields.raise_errors()
    return InitializeVault(vault_key=primary, recovery_keys=tuple(recovery))


def parse_replace_primary(data: dict[str, Any]) -> ReplacePrimary:
    """New key ``id`` / ``wrapped_org_encryption_key`` / ``auth_hash`` plus exactly one of
    ``current_auth_hash`` or ``recovery_auth_hash``."""
    fields = Fields(data)
    key_id = _required_uuid(fields, "id")
    wrapped = _blob(fields, "wrapped_org_encryption_key")
    auth_hash = _auth_hash(fields, "auth_hash") or ""
    current = _auth_hash(fields, "current_auth_hash", required=False)
    recovery = _auth_hash(fields, "recovery_auth_hash", required=False)
    fields.literal("key_type", ("primary",), nullable=False)  # optional; only 'primary'
    if not fields.errors and (current is None) == (recovery is None):
        problem = "provide exactly one of current_auth_hash or recovery_auth_hash"
        fields.error(None, "value_error", f"Value error, {problem}", data, error=problem)
    fields.raise_errors()
    return ReplacePrimary(
        id=key_id,
        wrapped_org_encryption_key=wrapped or "",
        auth_hash=auth_hash,
        current_auth_hash=current,
        recovery_auth_hash=recovery,
    )


def parse_new_secret(data: dict[str, Any]) -> NewSecret:
    """``{"id", "name", "secret_type", "encrypted_payload", "description"?}``."""
    fields = Fields(data)
    secret_id = _required_uuid(fields, "id")
    name = fields.string("name", required=True, min_length=1, max_length=255)
    secret_type = fields.literal("secret_type", SECRET_TYPES, nullable=False)
    if secret_type is MISSING:
        fields.missing("secret_type")
    payload = _blob(fields, "encrypted_payload")
    description = fields.string("description")
    fields.raise_errors()
    assert isinstance(secret_type, str) and payload is not None
    return NewSecret(
        id=secret_id,
        name=name,
        secret_type=secret_type,
        encrypted_payload=payload,
        description=None if isinstance(description, Missing) else description,
    )


def parse_secret_patch(data: dict[str, Any]) -> SecretPatch:
    """``name`` / ``description`` (null clears) / ``encrypted_payload``; ``secret_type`` is
    immutable and rejected."""
    fields = Fields(data)
    name = fields.string("name", min_length=1, max_length=255)
    if name is None:
        fields.error("name", "string_type", "Input should be a valid string", None)
    description = fields.string("description")
    payload = _blob(fields, "encrypted_payload", required=False)
    if "secret_type" in data:
        problem = "secret_type is immutable; delete the secret and create a new one instead"
        fields.error("secret_type", "extra_forbidden", problem, data["secret_type"], error=problem)
    fields.raise_errors()
    return SecretPatch(
        name=name if isinstance(name, str) else MISSING,
        description=description,
        encrypted_payload=MISSING if payload is None else payload,
    )


def parse_grant(data: dict[str, Any]) -> str:
    """``{"identity_id": "<uuid>"}`` → the canonical identity id."""
    fields = Fields(data)
    identity_id = _required_uuid(fields, "identity_id")
    fields.raise_errors()
    return identity_id


def parse_auth_hash(value: str, loc: tuple[str, str]) -> str:
    """A query or path ``auth_hash``, lower-cased (422 unless 64 hex digits)."""
    if not _AUTH_HASH.fullmatch(value):
        raise validation_error([_pattern_item(list(loc), value)])
    return value.lower()
