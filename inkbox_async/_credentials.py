"""``identity.credentials``: a typed, offline view of the secrets an identity may use."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from inkbox_async._errors import CredentialNotFoundError, TotpNotConfiguredError
from inkbox_async._totp import TOTPCode, generate_totp
from inkbox_async._vault_crypto import canonical_id
from inkbox_async.models.vault import (
    APIKeyPayload,
    DecryptedVaultSecret,
    KeyPairPayload,
    LoginPayload,
    SecretPayload,
    SSHKeyPayload,
    VaultSecretType,
    expect_payload,
)

P = TypeVar("P", bound=SecretPayload)


def totp_code(secret: DecryptedVaultSecret, *, now: float | datetime | None = None) -> TOTPCode:
    """The current TOTP code of a login secret (computed locally)."""
    login = expect_payload(secret, LoginPayload)
    if login.totp is None:
        raise TotpNotConfiguredError(f"login secret {secret.id} has no TOTP configured")
    return generate_totp(login.totp, now=now)


class Credentials:
    """The decrypted secrets available to one identity (no network access).

    Built from the unlocked vault; secrets whose access rules the server
    reported are included only when they grant this identity access.
    """

    def __init__(self, secrets: Iterable[DecryptedVaultSecret]) -> None:
        self._secrets = {str(secret.id): secret for secret in secrets}

    def __repr__(self) -> str:
        return f"Credentials({len(self._secrets)} secrets)"

    def __len__(self) -> int:
        return len(self._secrets)

    def __iter__(self) -> Iterator[DecryptedVaultSecret]:
        return iter(self._secrets.values())

    def list(self) -> builtins.list[DecryptedVaultSecret]:
        """Every secret, of every type."""
        return list(self._secrets.values())

    def _of_type(self, secret_type: VaultSecretType) -> builtins.list[DecryptedVaultSecret]:
        return [s for s in self._secrets.values() if s.secret_type == secret_type]

    def list_logins(self) -> builtins.list[DecryptedVaultSecret]:
        """The login secrets (``secret.payload`` is a :class:`LoginPayload`)."""
        return self._of_type(VaultSecretType.LOGIN)

    def list_api_keys(self) -> builtins.list[DecryptedVaultSecret]:
        """The API key secrets."""
        return self._of_type(VaultSecretType.API_KEY)

    def list_key_pairs(self) -> builtins.list[DecryptedVaultSecret]:
        """The access-key/secret-key pairs."""
        return self._of_type(VaultSecretType.KEY_PAIR)

    def list_ssh_keys(self) -> builtins.list[DecryptedVaultSecret]:
        """The SSH keys."""
        return self._of_type(VaultSecretType.SSH_KEY)

    def get(self, secret_id: UUID | str) -> DecryptedVaultSecret:
        """One secret by id (any spelling of the UUID)."""
        key = canonical_id(secret_id, "secret_id")
        try:
            return self._secrets[key]
        except KeyError:
            raise CredentialNotFoundError(
                f"no credential with id {key} is available to this identity"
            ) from None

    def _payload(self, secret_id: UUID | str, payload_type: type[P]) -> P:
        return expect_payload(self.get(secret_id), payload_type)

    def get_login(self, secret_id: UUID | str) -> LoginPayload:
        """A login's payload (a clear error if the secret is of another type)."""
        return self._payload(secret_id, LoginPayload)

    def get_api_key(self, secret_id: UUID | str) -> APIKeyPayload:
        """An API key's payload."""
        return self._payload(secret_id, APIKeyPayload)

    def get_key_pair(self, secret_id: UUID | str) -> KeyPairPayload:
        """A key pair's payload."""
        return self._payload(secret_id, KeyPairPayload)

    def get_ssh_key(self, secret_id: UUID | str) -> SSHKeyPayload:
        """An SSH key's payload."""
        return self._payload(secret_id, SSHKeyPayload)

    def get_totp_code(
        self, secret_id: UUID | str, *, now: float | datetime | None = None
    ) -> TOTPCode:
        """The current TOTP code of a login, from the cached secret."""
        return totp_code(self.get(secret_id), now=now)
