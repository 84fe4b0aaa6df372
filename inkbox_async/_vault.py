"""``inkbox.vault``: the end-to-end encrypted vault (keys, secrets, access rules).

Everything is encrypted and decrypted here, on the client; the API stores
only wrapped keys, auth hashes, ciphertext and metadata. Argon2id runs in a
worker thread in the async flavour, so other tasks keep running while a
vault unlocks.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable
from uuid import UUID

import attrs

from inkbox_async import _validate as check
from inkbox_async._aio import offload
from inkbox_async._converter import structure, structure_list
from inkbox_async._credentials import totp_code
from inkbox_async._errors import (
    InkboxError,
    InvalidArgumentError,
    NotFoundError,
    VaultDecryptionError,
    VaultSecretTypeError,
    VaultUnlockError,
)
from inkbox_async._paths import VAULT, secret_path
from inkbox_async._retry import Verified, verified_item
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async._totp import TOTPCode, TOTPConfig, parse_totp_uri
from inkbox_async._vault_crypto import (
    DerivedKey,
    VaultKeyType,
    canonical_id,
    check_auth_hash,
    check_vault_key,
    derive_key,
    generate_initialize_material,
    generate_vault_key_material,
    recovery_code_variant,
    unwrap_org_key_with_keys,
    update_key_body,
)
from inkbox_async._vault_unlock import UnreadableSecret, decrypt_all, secret_type_name
from inkbox_async.models.vault import (
    AccessRule,
    DecryptedVaultSecret,
    LoginPayload,
    SecretPayload,
    VaultInfo,
    VaultInitializeResult,
    VaultKey,
    VaultSecret,
    VaultSecretDetail,
    VaultSecretType,
    VaultUnlockBundle,
    decrypt_secret,
    encrypt_secret_payload,
    expect_payload,
    initialize_result,
)

from ._requester import AsyncRequester

NAME_MAX = 255


async def _found(requester: AsyncRequester, path: str) -> Verified | None:
    """A write that creates ``path`` is checked by reading it back."""
    try:
        return Verified(await requester.request("GET", path))
    except NotFoundError:
        return None


class AsyncUnlockedVault:
    """The vault opened with a vault key: decrypted secrets and the calls that need the key.

    ``secrets`` holds every secret the unlock could read; ``failures`` lists
    the ones it could not (each with its error), so one bad secret never
    hides the others.
    """

    def __init__(
        self,
        requester: AsyncRequester,
        org_key: bytes,
        secrets: builtins.list[DecryptedVaultSecret],
        failures: builtins.list[UnreadableSecret],
    ) -> None:
        self._requester = requester
        self._org_key = org_key
        self._secrets = {s.id: s for s in secrets}
        self.failures = failures

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({len(self._secrets)} secrets, {len(self.failures)} unreadable)"
        )

    @property
    def secrets(self) -> builtins.list[DecryptedVaultSecret]:
        """The decrypted secrets (as of the unlock and this object's own changes)."""
        return builtins.list(self._secrets.values())

    def _decrypt(self, data: object) -> DecryptedVaultSecret:
        secret = decrypt_secret(structure(data, VaultSecretDetail), self._org_key)
        self._secrets[secret.id] = secret
        return secret

    async def get_secret(self, secret_id: UUID | str) -> DecryptedVaultSecret:
        """Fetch and decrypt one secret."""
        return self._decrypt(await self._requester.request("GET", secret_path(secret_id)))

    async def create_secret(
        self, name: str, payload: SecretPayload, *, description: str | None = None
    ) -> VaultSecret:
        """Encrypt and store a new secret; returns its metadata."""
        check.text("name", name, max_length=NAME_MAX)
        if not isinstance(payload, SecretPayload):
            raise check.type_error("payload", "a LoginPayload, APIKeyPayload, ... payload", payload)
        secret_id = uuid.uuid4()
        body: dict[str, object] = {
            "id": str(secret_id),
            "name": name,
            "secret_type": secret_type_name(payload),
            "encrypted_payload": encrypt_secret_payload(payload, self._org_key, secret_id),
        }
        if description is not None:
            body["description"] = check.text("description", description, allow_empty=True)
        path = secret_path(secret_id)
        await self._requester.request(
            "POST", f"{VAULT}/secrets", json=body, verify=lambda: _found(self._requester, path)
        )
        return self._remember(await self._requester.request("GET", path))

    def _remember(self, data: object) -> VaultSecret:
        self._decrypt(data)
        return structure(data, VaultSecret)

    def _set_access(
        self,
        secret_id: UUID | str,
        change: Callable[[builtins.list[AccessRule]], builtins.list[AccessRule]],
    ) -> None:
        """Apply a grant or revoke to the cached secret's access rules (when they are known)."""
        key = UUID(canonical_id(secret_id, "secret_id"))
        secret = self._secrets.get(key)
        if secret is not None and secret.access is not None:
            self._secrets[key] = attrs.evolve(secret, access=change(secret.access))

    def _forget(self, secret_id: UUID | str) -> None:
        self._secrets.pop(UUID(canonical_id(secret_id, "secret_id")), None)

    async def update_secret(
        self,
        secret_id: UUID | str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        payload: SecretPayload | None = None,
    ) -> VaultSecret:
        """Rename, re-describe (``None`` clears) or re-encrypt a secret; its type cannot change."""
        body: dict[str, object] = {}
        if name is not UNSET:
            body["name"] = check.text("name", name, max_length=NAME_MAX)
        if description is not UNSET:
            body["description"] = check.optional_text("description", description, allow_empty=True)
        if payload is not None:
            if not isinstance(payload, SecretPayload):
                raise check.type_error("payload", "a secret payload", payload)
            current = structure(
                await self._requester.request("GET", secret_path(secret_id)), VaultSecretDetail
            )
            if str(current.secret_type) != secret_type_name(payload):
                raise VaultSecretTypeError(
                    f"cannot update a {current.secret_type!s} secret with a "
                    f"{secret_type_name(payload)} payload; delete and recreate it instead"
                )
            body["encrypted_payload"] = encrypt_secret_payload(payload, self._org_key, current.id)
        await self._requester.request("PATCH", secret_path(secret_id), json=body)
        return self._remember(await self._requester.request("GET", secret_path(secret_id)))

    async def delete_secret(self, secret_id: UUID | str) -> None:
        """Delete a secret."""
        await self._requester.request("DELETE", secret_path(secret_id))
        self._forget(secret_id)

    async def set_totp(self, secret_id: UUID | str, totp: TOTPConfig | str) -> VaultSecret:
        """Add or replace the TOTP of a login (a TOTPConfig or an ``otpauth://`` URI)."""
        config = parse_totp_uri(totp, argument="totp") if isinstance(totp, str) else totp
        if not isinstance(config, TOTPConfig):
            raise check.type_error("totp", "a TOTPConfig or an otpauth:// URI", totp)
        login = expect_payload(await self.get_secret(secret_id), LoginPayload)
        return await self.update_secret(secret_id, payload=attrs.evolve(login, totp=config))

    async def remove_totp(self, secret_id: UUID | str) -> VaultSecret:
        """Remove the TOTP of a login."""
        login = expect_payload(await self.get_secret(secret_id), LoginPayload)
        return await self.update_secret(secret_id, payload=attrs.evolve(login, totp=None))

    async def get_totp_code(self, secret_id: UUID | str) -> TOTPCode:
        """The current TOTP code of a login (computed here; the API never sees seeds)."""
        return totp_code(await self.get_secret(secret_id))


class AsyncVault:
    """``inkbox.vault``: vault set-up, keys, secret metadata, access rules and unlocking."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester
        self._unlocked: AsyncUnlockedVault | None = None

    @property
    def unlocked(self) -> AsyncUnlockedVault | None:
        """The vault as last unlocked by this client, or None."""
        return self._unlocked

    def lock(self) -> None:
        """Forget the decrypted secrets and the organisation key held by this client."""
        self._unlocked = None

    async def info(self) -> VaultInfo | None:
        """The vault's metadata, or None when the organisation has no vault yet."""
        try:
            return structure(await self._requester.request("GET", f"{VAULT}/info"), VaultInfo)
        except NotFoundError:
            return None

    async def _organization_id(self) -> str:
        info = await self.info()
        if info is None:
            raise InkboxError(
                "the vault has not been initialized: call inkbox.vault.initialize(vault_key)"
            )
        return info.organization_id

    async def initialize(self, vault_key: str) -> VaultInitializeResult:
        """Create the vault: a new organisation key, wrapped for ``vault_key`` and four recovery codes.

        The recovery codes are in ``result.recovery_codes`` (and
        ``result.recovery_keys[i].recovery_code``); store them now, they are
        never shown again. ``vault_key`` must be 16+ characters with upper and
        lower case, a digit and a special character.
        """
        check_vault_key(vault_key)
        whoami = await self._requester.request("GET", "/api/whoami")
        organization_id = whoami.get("organization_id") if isinstance(whoami, dict) else None
        if not organization_id:
            raise InkboxError("whoami returned no organization_id; cannot initialize the vault")
        material = await offload(generate_initialize_material, vault_key, str(organization_id))
        data = await self._requester.request(
            "POST", f"{VAULT}/initialize", json=material.request_body()
        )
        return initialize_result(data, material)

    async def _open(
        self, secret: str, organization_id: str, argument: str
    ) -> tuple[bytes, VaultUnlockBundle, DerivedKey]:
        """Derive, fetch the matching wrapped key and unwrap it; retries a mistyped recovery code."""
        candidates = [secret]
        variant = recovery_code_variant(secret)
        if variant is not None and variant != secret:
            candidates.append(variant)
        for candidate in candidates:
            derived = await offload(derive_key, candidate, organization_id)
            bundle = structure(
                await self._requester.request(
                    "GET", f"{VAULT}/unlock", params={"auth_hash": derived.auth_hash}
                ),
                VaultUnlockBundle,
            )
            if not bundle.wrapped_org_encryption_key:
                continue
            keys = await self.list_keys()
            try:
                org_key, _ = unwrap_org_key_with_keys(
                    derived.master_key, bundle.wrapped_org_encryption_key, keys
                )
            except VaultDecryptionError:
                continue
            return org_key, bundle, derived
        raise VaultUnlockError(f"the {argument.replace('_', ' ')} does not open this vault")

    async def unlock(
        self, vault_key: str, *, identity_id: UUID | str | None = None
    ) -> AsyncUnlockedVault:
        """Open the vault with the vault key or a recovery code and decrypt the secrets.

        With ``identity_id``, the returned object holds only the secrets that
        identity may access (the client keeps the full unlock for
        ``identity.credentials``).
        """
        check.text("vault_key", vault_key)
        viewer = check.optional_uuid("identity_id", identity_id)
        organization_id = await self._organization_id()
        org_key, bundle, _ = await self._open(vault_key, organization_id, "vault_key")
        secrets, failures = await offload(decrypt_all, bundle.encrypted_secrets, org_key)
        self._unlocked = AsyncUnlockedVault(self._requester, org_key, secrets, failures)
        if viewer is None:
            return self._unlocked
        visible = []
        for secret in secrets:
            rules = secret.access
            if rules is None:
                rules = await self.list_access_rules(secret.id)
            if any(str(rule.identity_id) == viewer for rule in rules):
                visible.append(secret)
        return AsyncUnlockedVault(self._requester, org_key, visible, failures)

    async def update_key(
        self,
        new_vault_key: str,
        *,
        current_vault_key: str | None = None,
        recovery_code: str | None = None,
    ) -> VaultKey:
        """Replace the primary vault key, proving either the current key or a recovery code.

        The organisation key is re-wrapped, not rotated. A recovery code is
        consumed.
        """
        if (current_vault_key is None) == (recovery_code is None):
            raise InvalidArgumentError(
                "current_vault_key", "give exactly one of current_vault_key or recovery_code"
            )
        check_vault_key(new_vault_key, "new_vault_key")
        proof, argument = (
            (current_vault_key, "current_vault_key")
            if current_vault_key is not None
            else (recovery_code, "recovery_code")
        )
        assert proof is not None
        check.text(argument, proof)
        organization_id = await self._organization_id()
        org_key, _, derived = await self._open(proof, organization_id, argument)
        material = await offload(
            generate_vault_key_material, new_vault_key, organization_id, org_key
        )
        body = update_key_body(
            material,
            current_auth_hash=derived.auth_hash if current_vault_key is not None else None,
            recovery_auth_hash=derived.auth_hash if recovery_code is not None else None,
        )

        async def registered() -> Verified | None:
            """A rotation whose answer was lost is checked: is the new key the primary now?"""
            keys = await self._requester.request("GET", f"{VAULT}/keys", params={"type": "primary"})
            return verified_item(keys, "id", str(material.id))

        data = await self._requester.request(
            "PUT", f"{VAULT}/keys/primary", json=body, verify=registered
        )
        return structure(data, VaultKey)

    async def list_keys(
        self, *, key_type: VaultKeyType | str | None = None
    ) -> builtins.list[VaultKey]:
        """The registered keys (metadata only), optionally one type (``primary``/``recovery``)."""
        kind = None
        if key_type is not None:
            value = key_type.lower() if isinstance(key_type, str) else key_type
            kind = check.choice("key_type", value, VaultKeyType)
        data = await self._requester.request("GET", f"{VAULT}/keys", params={"type": kind})
        return structure_list(data, VaultKey)

    async def delete_key(self, auth_hash: str) -> None:
        """Delete a vault key, named by its auth hash."""
        value = check_auth_hash(auth_hash)
        await self._requester.request("DELETE", f"{VAULT}/keys/{value}")

    async def list_secrets(
        self, *, secret_type: VaultSecretType | str | None = None
    ) -> builtins.list[VaultSecret]:
        """Secret metadata (never payloads), optionally of one type."""
        kind = (
            None
            if secret_type is None
            else check.choice("secret_type", secret_type, VaultSecretType)
        )
        data = await self._requester.request(
            "GET", f"{VAULT}/secrets", params={"secret_type": kind}
        )
        return structure_list(data, VaultSecret)

    async def delete_secret(self, secret_id: UUID | str) -> None:
        """Delete a secret (and its access rules)."""
        await self._requester.request("DELETE", secret_path(secret_id))
        if self._unlocked is not None:
            self._unlocked._forget(secret_id)

    async def list_access_rules(self, secret_id: UUID | str) -> builtins.list[AccessRule]:
        """Which identities may use a secret."""
        data = await self._requester.request("GET", secret_path(secret_id, "access"))
        return structure_list(data, AccessRule)

    async def grant_access(self, secret_id: UUID | str, identity_id: UUID | str) -> AccessRule:
        """Let an identity use a secret."""
        path = secret_path(secret_id, "access")
        viewer = check.uuid("identity_id", identity_id)

        async def granted() -> Verified | None:
            """A grant whose answer was lost is checked in the secret's access rules."""
            rules = await self._requester.request("GET", path)
            return verified_item(rules, "identity_id", viewer)

        body = {"identity_id": viewer}
        data = await self._requester.request("POST", path, json=body, verify=granted)
        rule = structure(data, AccessRule)
        if self._unlocked is not None:
            self._unlocked._set_access(secret_id, lambda rules: [*rules, rule])
        return rule

    async def revoke_access(self, secret_id: UUID | str, identity_id: UUID | str) -> None:
        """Stop an identity from using a secret."""
        viewer = check.uuid("identity_id", identity_id)
        await self._requester.request("DELETE", secret_path(secret_id, "access", viewer))
        if self._unlocked is not None:
            self._unlocked._set_access(
                secret_id, lambda rules: [r for r in rules if str(r.identity_id) != viewer]
            )
