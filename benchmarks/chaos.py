"""Chaos: mixed operations under injected faults, reconciled against the emulator's state.

Runs ``--ops`` operations in each flavour (``inkbox_sync`` and ``inkbox_async``)
against an in-process emulator: mail, text and call sends, reads, identity
creates/updates/deletes and vault writes (secrets, key rotations, access
grants and revokes). Before about half of them the emulator's fault API arms
one or two faults on the operation's write request: a 500/502/503/504, a 429
with ``Retry-After``, a connection dropped before or after the request was
processed, or a delay. After each operation the emulator's own state (its
outbox, sent texts, row counts, vault state and plain HTTP reads with no
faults armed) says what really happened, and the caller's view is compared
with it:

- duplicates: an effect that happened more than once (must be 0);
- lost acknowledged writes: the caller was told "done" but nothing happened
  (must be 0);
- false failures: the caller was told "failed" but it happened (target 0);
- outcome unknown: the caller was told ``OutcomeUnknownError`` (where the wire
  offers no way to check: an unkeyed POST whose answer was lost);
- recovered retries: a fault fired and the caller still got the right answer.

``--seed`` makes a run repeatable (the fault plan; timings still vary). Exits
with status 1 when a duplicate or a lost acknowledged write was seen.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from _common import Figure, emit

from inkbox_async import AsyncInkbox, InkboxError, LoginPayload, OutcomeUnknownError
from inkbox_emulator import Emulator, OrgCredentials
from inkbox_sync import Inkbox

CUSTOMER = "+15551230000"
KEYS = ("Chaos-vault-key-01!", "Chaos-vault-key-02!")
SECRETS = "/api/v1/vault/secrets"
FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("500", {"kind": "status", "status": 500}),
    ("502", {"kind": "status", "status": 502}),
    ("503", {"kind": "status", "status": 503}),
    ("504", {"kind": "status", "status": 504}),
    ("429+Retry-After", {"kind": "status", "status": 429, "retry_after": 0.2}),
    ("drop_before", {"kind": "drop_before"}),
    ("drop_after", {"kind": "drop_after"}),
    ("delay", {"kind": "delay", "delay": 0.1}),
]
TEXTS_PER_DAY = 12  # below the emulator's per-number daily limit; the clock moves on after


Call = Callable[[Callable[[], Any]], Awaitable[Any]]
"""Runs one SDK call in a flavour: awaits the async client's, threads the sync client's."""


async def call_async(fn: Callable[[], Any]) -> Any:
    return await fn()


async def call_sync(fn: Callable[[], Any]) -> Any:
    return await anyio.to_thread.run_sync(fn)


@dataclass
class Tally:
    """What one flavour's run saw."""

    operations: int = 0
    faults: int = 0
    duplicates: int = 0
    lost: int = 0
    false_failures: int = 0
    unknown: int = 0
    unknown_happened: int = 0
    recovered: int = 0
    true_failures: int = 0
    by_op: Counter[str] = field(default_factory=Counter)
    by_fault: Counter[str] = field(default_factory=Counter)
    unknown_ops: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


class World:
    """One flavour's organisation, client and the bookkeeping of what should exist."""

    def __init__(self, emu: Emulator, org: OrgCredentials, client: Any, call: Call) -> None:
        self.emu = emu
        self.org = org
        self.client = client
        self.call = call
        self.key = 0  # index into KEYS of the vault key in force
        self.unlocked: Any = None
        self.sender: Any = None
        self.identities: list[Any] = []  # created by the run, deletable
        self.secrets: list[str] = []
        self.granted: set[str] = set()  # secrets the sender may use
        self.texts = 0

    async def setup(self, flavour: str) -> None:
        c, call = self.client, self.call
        await call(lambda: c.vault.initialize(KEYS[0]))
        self.unlocked = await call(lambda: c.vault.unlock(KEYS[0]))
        self.sender = await call(
            lambda: c.create_identity(f"chaos-{flavour}-{uuid.uuid4().hex[:6]}")
        )
        number = await call(lambda: self.sender.provision_phone_number(type="local"))
        self.emu.mark_sms_ready(str(number.id))
        self.emu.inject_text(to_number=number.number, from_number=CUSTOMER, text="START")

    def get(self, path: str) -> tuple[int, Any]:
        """A plain HTTP read of the emulator (no SDK, no faults armed): the ground truth."""
        request = urllib.request.Request(
            self.emu.base_url + path, headers={"X-API-Key": self.org.api_key}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def do(self, fn: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
        """``fn`` (one SDK call) as an operation of this flavour."""
        return lambda: self.call(fn)

    def vault(self) -> dict[str, Any]:
        return self.emu.vault_state(self.org.organization_id)


@dataclass
class Op:
    """One operation: the request faults are armed on, the call, and how to count its effect."""

    name: str
    method: str
    path: str
    run: Callable[[], Awaitable[Any]]
    effects: Callable[[], int]
    """How many times the effect happened (0, 1, or more: duplicates)."""
    after: Callable[[bool], None] = lambda happened: None
    """Updates the bookkeeping once the truth is known."""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def plan(world: World, rng: random.Random) -> Op:
    """The next operation, picked at random among those the world's state allows."""
    w, c = world, world.client
    choices = ["send_email", "send_text", "place_call", "read", "create_identity"]
    choices += ["create_secret", "rotate_key"]
    if w.identities:
        choices += ["update_identity", "delete_identity"]
    if w.secrets:
        choices += ["update_secret", "delete_secret"]
    if set(w.secrets) - w.granted:
        choices.append("grant_access")
    if w.granted:
        choices.append("revoke_access")
    name = rng.choice(choices)
    sender = w.sender
    mailbox = f"/api/v1/mail/mailboxes/{sender.email_address}/messages"

    if name == "send_email":
        subject = unique("mail")

        def emails() -> int:
            return sum(o["subject"] == subject for o in w.emu.outbox(w.org.organization_id))

        return Op(
            name,
            "POST",
            mailbox,
            w.do(
                lambda: sender.send_email(to=["chaos@example.com"], subject=subject, body_text=".")
            ),
            emails,
        )
    if name == "send_text":
        if w.texts >= TEXTS_PER_DAY:
            w.emu.advance_clock(25 * 3600)
            w.texts = 0
        w.texts += 1
        text = unique("text")

        def texts() -> int:
            return sum(t["text"] == text for t in w.emu.sent_texts(w.org.organization_id))

        return Op(
            name,
            "POST",
            "/api/v1/phone/numbers/*/texts",
            w.do(lambda: sender.send_text(to=CUSTOMER, text=text)),
            texts,
        )
    if name == "place_call":
        before = w.emu.row_counts()["phone_calls"]
        return Op(
            name,
            "POST",
            "/api/v1/phone/place-call",
            w.do(
                lambda: sender.place_call(
                    to_number=CUSTOMER, client_websocket_url="wss://a.test/ws"
                )
            ),
            lambda: w.emu.row_counts()["phone_calls"] - before,
        )
    if name == "read":
        handle = sender.agent_handle
        return Op(
            name,
            "GET",
            f"/api/v1/identities/{handle}",
            w.do(lambda: c.get_identity(handle)),
            lambda: 0,
        )
    if name == "create_identity":
        handle = unique("chaos-id")

        def created(happened: bool) -> None:
            if happened:
                w.identities.append(handle)

        return Op(
            name,
            "POST",
            "/api/v1/identities/",
            w.do(lambda: c.create_identity(handle)),
            lambda: int(w.get(f"/api/v1/identities/{handle}")[0] == 200),
            created,
        )
    if name in ("update_identity", "delete_identity"):
        handle = rng.choice(w.identities)
        path = f"/api/v1/identities/{handle}"
        if name == "update_identity":
            shown = unique("Agent")

            def renamed() -> int:
                status, body = w.get(path)
                return int(status == 200 and body["display_name"] == shown)

            async def rename() -> Any:
                identity = await w.call(lambda: c.get_identity(handle))
                return await w.call(lambda: identity.update(display_name=shown))

            return Op(name, "PATCH", path, rename, renamed)

        def removed(happened: bool) -> None:
            if happened:
                w.identities.remove(handle)

        async def delete() -> Any:
            identity = await w.call(lambda: c.get_identity(handle))
            return await w.call(identity.delete)

        return Op(name, "DELETE", path, delete, lambda: int(w.get(path)[0] == 404), removed)
    if name == "create_secret":
        label = unique("secret")

        def stored() -> int:
            return sum(s["name"] == label for s in w.vault()["secrets"])

        def kept(happened: bool) -> None:
            if happened:
                w.secrets.extend(s["id"] for s in w.vault()["secrets"] if s["name"] == label)

        return Op(
            name,
            "POST",
            SECRETS,
            w.do(lambda: w.unlocked.create_secret(label, LoginPayload(username="u", password="p"))),
            stored,
            kept,
        )
    if name in ("update_secret", "delete_secret"):
        secret = rng.choice(w.secrets)
        path = f"{SECRETS}/{secret}"
        if name == "update_secret":
            label = unique("renamed")
            return Op(
                name,
                "PATCH",
                path,
                w.do(lambda: w.unlocked.update_secret(secret, name=label)),
                lambda: int(_name(w, secret) == label),
            )

        def dropped(happened: bool) -> None:
            if happened:
                w.secrets.remove(secret)
                w.granted.discard(secret)

        return Op(
            name,
            "DELETE",
            path,
            w.do(lambda: c.vault.delete_secret(secret)),
            lambda: int(_name(w, secret) is None),
            dropped,
        )
    if name == "rotate_key":
        primary = _primary(w)
        new = 1 - w.key

        def rotated(happened: bool) -> None:
            if happened:
                w.key = new

        return Op(
            name,
            "PUT",
            "/api/v1/vault/keys/primary",
            w.do(lambda: c.vault.update_key(KEYS[new], current_vault_key=KEYS[w.key])),
            lambda: int(_primary(w) != primary),
            rotated,
        )
    viewer = str(sender.id)
    if name == "grant_access":
        secret = rng.choice(sorted(set(w.secrets) - w.granted))

        def granted(happened: bool) -> None:
            if happened:
                w.granted.add(secret)

        return Op(
            name,
            "POST",
            f"{SECRETS}/{secret}/access",
            w.do(lambda: c.vault.grant_access(secret, viewer)),
            lambda: _rules(w, secret, viewer),
            granted,
        )
    secret = rng.choice(sorted(w.granted))

    def revoked(happened: bool) -> None:
        if happened:
            w.granted.discard(secret)

    return Op(
        "revoke_access",
        "DELETE",
        f"{SECRETS}/{secret}/access/{viewer}",
        w.do(lambda: c.vault.revoke_access(secret, viewer)),
        lambda: int(_rules(w, secret, viewer) == 0),
        revoked,
    )


def _name(w: World, secret: str) -> str | None:
    return next((s["name"] for s in w.vault()["secrets"] if s["id"] == secret), None)


def _primary(w: World) -> str:
    return next(str(k["id"]) for k in w.vault()["keys"] if k["key_type"] == "primary")


def _rules(w: World, secret: str, viewer: str) -> int:
    rules = w.vault()["access_rules"]
    return sum(r["vault_secret_id"] == secret and r["identity_id"] == viewer for r in rules)


async def run_op(world: World, op: Op, rng: random.Random, tally: Tally, faulty: bool) -> None:
    emu = world.emu
    emu.clear_requests()
    armed: list[str] = []
    if faulty:
        for _ in range(1 if rng.random() < 0.8 else 2):
            label, fault = rng.choice(FAULTS)
            emu.inject_fault(method=op.method, path=op.path, **fault)
            armed.append(label)
    outcome = "ok"
    try:
        await op.run()
    except OutcomeUnknownError:
        outcome = "unknown"
    except InkboxError as exc:
        outcome = f"failed ({type(exc).__name__})"
    emu.clear_faults()
    fired = [r.fault for r in emu.requests() if r.fault]
    tally.operations += 1
    tally.by_op[op.name] += 1
    tally.faults += len(fired)
    count = op.effects()
    happened = count > 0
    op.after(happened)
    fired = armed[: len(fired)]  # faults fire in the order they were armed
    tally.by_fault.update(fired)
    where = f"{op.name} with faults {fired}"
    if count > 1:
        tally.duplicates += count - 1
        tally.problems.append(f"duplicate: {where} happened {count} times")
    if outcome == "unknown":
        tally.unknown += 1
        tally.unknown_ops[f"{op.name} after {'+'.join(fired)}"] += 1
        tally.unknown_happened += happened
    elif outcome == "ok":
        if not happened and op.method != "GET":
            tally.lost += 1
            tally.problems.append(f"lost acknowledged write: {where}")
        elif fired:
            tally.recovered += 1
    elif happened:
        tally.false_failures += 1
        tally.problems.append(f"false failure: {where} raised {outcome}")
    else:
        tally.true_failures += 1


async def run_flavour(emu: Emulator, flavour: str, ops: int, seed: int) -> Tally:
    rng = random.Random(f"{seed}-{flavour}")
    org = emu.create_org()
    tally = Tally()

    async def drive(client: Any, call: Call) -> None:
        world = World(emu, org, client, call)
        await world.setup(flavour)
        for _ in range(ops):
            await run_op(world, plan(world, rng), rng, tally, rng.random() < 0.5)

    if flavour == "async":
        async with AsyncInkbox(api_key=org.api_key, base_url=emu.base_url) as aclient:
            await drive(aclient, call_async)
    else:
        with Inkbox(api_key=org.api_key, base_url=emu.base_url) as client:
            await drive(client, call_sync)
    return tally


def report(flavour: str, tally: Tally, elapsed: float) -> None:
    print(f"  {flavour}: {tally.operations} operations in {elapsed:.1f} s")
    print(f"    faults injected (fired):  {tally.faults}  {dict(sorted(tally.by_fault.items()))}")
    print(f"    duplicates:               {tally.duplicates}")
    print(f"    lost acknowledged writes: {tally.lost}")
    print(f"    false failures:           {tally.false_failures}")
    print(
        f"    outcome unknown:          {tally.unknown} "
        f"({tally.unknown_happened} had happened, {tally.unknown - tally.unknown_happened} not)"
    )
    if tally.unknown_ops:
        print(f"      of: {dict(sorted(tally.unknown_ops.items()))}")
    print(f"    recovered retries:        {tally.recovered}")
    print(f"    true failures:            {tally.true_failures} (told failed; nothing happened)")
    print(f"    operations: {dict(sorted(tally.by_op.items()))}")
    for problem in tally.problems:
        print(f"    !! {problem}")


async def main_async(ops: int, seed: int) -> list[Tally]:
    tallies = []
    with Emulator() as emu:
        for flavour in ("sync", "async"):
            started = time.perf_counter()
            tally = await run_flavour(emu, flavour, ops, seed)
            report(flavour, tally, time.perf_counter() - started)
            tallies.append(tally)
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=14, help="seed of the fault plan")
    parser.add_argument("--ops", type=int, default=60, help="operations per flavour")
    args = parser.parse_args()
    print(f"chaos: {args.ops} operations per flavour, seed {args.seed}")
    sync, async_ = anyio.run(main_async, args.ops, args.seed)
    total = Tally()
    for tally in (sync, async_):
        for name in ("operations", "faults", "duplicates", "lost", "false_failures"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        total.unknown += tally.unknown
        total.recovered += tally.recovered
    print(
        f"  total: {total.operations} operations, {total.faults} faults injected, "
        f"{total.duplicates} duplicates, {total.lost} lost acknowledged writes, "
        f"{total.false_failures} false failures, {total.unknown} outcome unknown, "
        f"{total.recovered} recovered retries"
    )
    for name, value, note in (
        ("duplicates", total.duplicates, "an effect that happened twice"),
        ("lost acknowledged writes", total.lost, "told done, nothing happened"),
        ("false failures", total.false_failures, "told failed, it happened"),
    ):
        emit(Figure("chaos", name, float(value), 0.0, "<=", "", note=note))
    if total.duplicates or total.lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
