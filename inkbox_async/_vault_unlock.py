"""Decrypting an unlocked vault's secrets (pure, shared by both flavours)."""

from __future__ import annotations

from uuid import UUID

import attrs

from inkbox_async._errors import InkboxError
from inkbox_async.models.vault import (
    DecryptedVaultSecret,
    SecretPayload,
    VaultSecretDetail,
    decrypt_secret,
)

__all__ = ["UnreadableSecret", "decrypt_all", "secret_type_name"]


@attrs.frozen(kw_only=True)
class UnreadableSecret:
    """A secret that could not be decrypted or parsed during unlock (the others still are)."""

    id: UUID
    name: str
    secret_type: str
    error: str


def decrypt_all(
    details: list[VaultSecretDetail], org_key: bytes
) -> tuple[list[DecryptedVaultSecret], list[UnreadableSecret]]:
    """Decrypt every secret; one that fails is reported instead of failing the rest."""
    secrets: list[DecryptedVaultSecret] = []
    failures: list[UnreadableSecret] = []
    for detail in details:
        try:
            secrets.append(decrypt_secret(detail, org_key))
        except InkboxError as exc:
            failures.append(
                UnreadableSecret(
                    id=detail.id,
                    name=detail.name,
                    secret_type=str(detail.secret_type),
                    error=str(exc),
                )
            )
    return secrets, failures


def secret_type_name(payload: SecretPayload) -> str:
    """The wire name of a payload's secret type."""
    return str(payload.secret_type.value)
