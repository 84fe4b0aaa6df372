"""Vault figures: unlock time vs one bare Argon2id derivation, and decrypting 1000 secrets.

1. Unlock (``inkbox_sync``, against an in-process emulator on loopback) compared
   with one bare Argon2id derivation and one round trip (``whoami``), measured
   alternately in one run: ``(unlock - round trip) / argon2id``. Target <= 1.1x.
2. Decrypting and parsing 1000 login secrets (the unlock's CPU part, after the
   key is derived). Target < 100 ms.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime

from _common import Figure, emit

from inkbox_async._vault_crypto import derive_key, generate_org_key
from inkbox_async._vault_unlock import decrypt_all
from inkbox_async.models.vault import LoginPayload, VaultSecretDetail, encrypt_secret_payload
from inkbox_emulator import Emulator
from inkbox_sync import Inkbox

VAULT_KEY = "my-Vault-key-01!"
ROUNDS = 7


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def unlock_figure() -> None:
    with Emulator() as emu:
        org = emu.create_org()
        with Inkbox(org.api_key, base_url=emu.base_url) as inkbox:
            inkbox.vault.initialize(VAULT_KEY)
            unlocked = inkbox.vault.unlock(VAULT_KEY)
            for n in range(20):
                unlocked.create_secret(f"site {n}", LoginPayload(username=f"u{n}", password="pw"))
            unlocks, derivations, trips = [], [], []
            for _ in range(ROUNDS):
                unlocks.append(timed(lambda: inkbox.vault.unlock(VAULT_KEY)))
                derivations.append(timed(lambda: derive_key(VAULT_KEY, org.organization_id)))
                trips.append(timed(inkbox.whoami))
    unlock, argon, trip = (statistics.median(x) for x in (unlocks, derivations, trips))
    print(f"  unlock (20 secrets): median {unlock * 1e3:.1f} ms")
    print(f"  bare Argon2id:       median {argon * 1e3:.1f} ms")
    print(f"  one round trip:      median {trip * 1e3:.2f} ms")
    emit(
        Figure(
            bench="vault",
            name="unlock / (one Argon2id + one round trip)",
            value=unlock / (argon + trip),
            target=1.1,
            op="<=",
            unit="x",
            note=f"{unlock * 1e3:.1f} ms vs {argon * 1e3:.1f} + {trip * 1e3:.2f} ms; "
            "the unlock makes 3 requests (info, unlock, keys), as the wire requires",
        )
    )


def decrypt_figure() -> None:
    org_key = generate_org_key()
    now = datetime.now(UTC)
    details = []
    for n in range(1000):
        secret_id = uuid.uuid4()
        payload = LoginPayload(
            username=f"user{n}@example.com", password=f"password-{n}", url="https://x"
        )
        details.append(
            VaultSecretDetail(
                id=secret_id,
                name=f"site {n}",
                secret_type="login",
                created_at=now,
                updated_at=now,
                encrypted_payload=encrypt_secret_payload(payload, org_key, secret_id),
            )
        )
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        secrets, failures = decrypt_all(details, org_key)
        samples.append(time.perf_counter() - start)
        assert len(secrets) == 1000 and not failures
    best = statistics.median(samples)
    print(f"  decrypt 1000 secrets: median {best * 1e3:.1f} ms (min {min(samples) * 1e3:.1f})")
    emit(
        Figure(
            bench="vault",
            name="decrypt and parse 1000 secrets",
            value=best * 1e3,
            target=100.0,
            op="<=",
            unit="ms",
            note="AES-256-GCM + JSON + typed payloads",
        )
    )


def main() -> None:
    print("vault")
    unlock_figure()
    decrypt_figure()


if __name__ == "__main__":
    main()
