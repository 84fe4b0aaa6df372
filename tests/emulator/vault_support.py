"""Helpers for the vault tests: opaque key material and secrets over raw HTTP.

The emulator never decrypts, so most tests use random but well-shaped material
(UUID ids, 64-hex auth hashes, base64 blobs of AES-GCM size); the §6 test vectors
of vault.md are used where the exact bytes matter.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

import httpx2

V = "/api/v1/vault"

VECTOR_ORG_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
VECTOR_PRIMARY = {
    "id": "5f0c6f0e-3b7a-4d2e-9c41-8a6b2d9e7f10",
    "wrapped_org_encryption_key": "0kwmzq/OnA2vAlo2jmmlSbIppoYCwqyX+CK2LpbC8y6goaKjpKWmp6ipqquXsEY7GbcmnafTlDWSHKk3",
    "auth_hash": "131c9b088385e1b139a53acbaf122d6dde877349248037234fb99c664d5f6b6f",
    "key_type": "primary",
}
VECTOR_RECOVERY = {
    "id": "9e2d7c41-0b3a-4f5e-8d6c-1a2b3c4d5e6f",
    "wrapped_org_encryption_key": "kdAOyxAIGaDcyQYWg7pI+C7GT0xEsNsYaY7LkEi+iSHAwcLDxMXGx8jJysvefoN7bCtXuvHIIAgi2UYj",
    "auth_hash": "83cb4c70ba36ddf7c3dd3ca3f2313a9c8e90079e1e520ceacc1005ebf8c031b3",
    "key_type": "recovery",
}
VECTOR_LOGIN_ID = "0d9b3c2e-6a4f-4b8e-8f1d-2c7e5a9b4f63"
VECTOR_LOGIN_PAYLOAD = (
    "4nc0xJioyH192uTKrC/tpqRILLN4DuNaOafs03Cggnd2OFRVEbqEgocokylO3PaXAU9itH5JLJEg704KJvpEktuGHJgo"
    "yRS2O+aANupykkJ8v+bX0BkYrZmeVvNENCDTDMcXNez7FGIxOmr+qKHi82jVxfIH0fcYMkWkjkc9a3IM5ffFMF7LfkB5"
    "L0dAeF5p6sksvelZYW7ZkBL/ZeOY/ZW7tY8dXWMd0msmwCQrj5MIYyCdvocyzyB2OaO6ocwmPLrUnJAlaKlJVw+2cg5Z"
    "yqRI6xV8DA+lN1sp++FIlLCxsrO0tba3uLm6ux/+4SePv5ay3wCEvyl41Vc="
)

KEY_FIELDS = {"id", "key_type", "created_by", "created_at", "updated_at"}
SECRET_FIELDS = {"id", "name", "secret_type", "description", "created_at", "updated_at", "access"}
RULE_FIELDS = {"id", "vault_secret_id", "identity_id", "created_at"}


def blob(size: int = 60) -> str:
    """Standard padded base64 of ``size`` random bytes (a wrapped key is 60 bytes)."""
    return base64.b64encode(secrets.token_bytes(size)).decode()


def auth_hash() -> str:
    return secrets.token_hex(32)


def material(key_type: str) -> dict[str, str]:
    """Well-shaped key material with a fresh id and auth hash."""
    return {
        "id": str(uuid.uuid4()),
        "wrapped_org_encryption_key": blob(),
        "auth_hash": auth_hash(),
        "key_type": key_type,
    }


def init_body(recovery: int = 4) -> dict[str, Any]:
    return {
        "vault_key": material("primary"),
        "recovery_keys": [material("recovery") for _ in range(recovery)],
    }


def initialize(client: httpx2.Client, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Initialise the client's vault; returns the request body sent (with its key material)."""
    body = body if body is not None else init_body()
    response = client.post(f"{V}/initialize", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["vault_key_id"] == body["vault_key"]["id"]
    return body


def secret_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "GitHub",
        "secret_type": "login",
        "encrypted_payload": blob(120),
    }
    body.update(overrides)
    return body


def create_secret(client: httpx2.Client, **overrides: Any) -> dict[str, Any]:
    """Create a secret; returns the request body (``id``, ``encrypted_payload``…)."""
    body = secret_body(**overrides)
    response = client.post(f"{V}/secrets", json=body)
    assert response.status_code == 201, response.text
    return body


def grant(client: httpx2.Client, secret_id: str, identity_id: str) -> dict[str, Any]:
    response = client.post(f"{V}/secrets/{secret_id}/access", json={"identity_id": identity_id})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def detail_of(response: httpx2.Response) -> Any:
    return response.json()["detail"]


def locs(response: httpx2.Response) -> list[list[Any]]:
    """The ``loc`` of every item of a 422."""
    assert response.status_code == 422, response.text
    return [item["loc"] for item in response.json()["detail"]]
