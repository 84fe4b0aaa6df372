"""The edge's remembered data-plane authorizations: every write that can revoke one counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from inkbox_emulator.accounts.model import create_org, insert_api_key
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db, Store
from inkbox_emulator.edge.faults import TunnelFaultRegistry
from inkbox_emulator.edge.hub import EdgeSettings, OffloadedBodies, TunnelHub

TUNNEL_ID = "6f1c0d7e-0000-4000-8000-000000000001"


class _Counting:
    """The store's ``run``, counting the operations that reach the database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls = 0
        self._run = store.run

    def __call__(self, op: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._run(op, *args, **kwargs)


@pytest.fixture
def setup() -> Iterator[tuple[Store, TunnelHub, str, _Counting]]:
    store = Store()
    org_id, key = store.run(create_org)

    def add_tunnel(db: Db) -> None:
        db.insert(
            "tunnels",
            {
                "id": TUNNEL_ID,
                "organization_id": org_id,
                "tunnel_name": "auth-cache",
                "tls_mode": "edge",
                "status": "active",
                "public_host": "auth-cache.inkboxwire.com",
                "zone": "inkboxwire.com",
                "created_at": db.now,
                "updated_at": db.now,
            },
        )

    store.run(add_tunnel)
    hub = TunnelHub(store, EdgeSettings("inkboxwire.com"), TunnelFaultRegistry(), OffloadedBodies())
    counting = _Counting(store)
    store.run = counting  # type: ignore[method-assign]
    yield store, hub, key, counting
    store.close()


def _status(hub: TunnelHub, key: str | None, tunnel_id: str = TUNNEL_ID) -> int:
    try:
        hub.authorize(key, tunnel_id)
    except ApiError as exc:
        return exc.status
    return 200


def _exec(store: Store, sql: str, *params: Any) -> None:
    store.run(lambda db: db.exec(sql, params))


def test_success_is_remembered_failures_are_not(
    setup: tuple[Store, TunnelHub, str, _Counting],
) -> None:
    _, hub, key, counting = setup
    assert hub.authorize(key, TUNNEL_ID).name == "auth-cache"
    before = counting.calls
    for _ in range(5):
        assert _status(hub, key) == 200
    assert counting.calls == before  # answered from memory
    for _ in range(2):
        assert _status(hub, key + "x") == 401
        assert _status(hub, None) == 401
        assert _status(hub, key, "00000000-0000-4000-8000-000000000000") == 404
    assert counting.calls == before + 6


@pytest.mark.parametrize(
    "revoke",
    [
        "UPDATE api_keys SET status = 'revoked' WHERE id = ?",
        "DELETE FROM api_keys WHERE id = ?",
        "UPDATE api_keys SET secret_hash = 'other' WHERE id = ?",
    ],
)
def test_revoked_key_is_refused_at_once(
    setup: tuple[Store, TunnelHub, str, _Counting], revoke: str
) -> None:
    store, hub, key, _ = setup
    assert _status(hub, key) == 200
    assert _status(hub, key) == 200
    _exec(store, revoke, key.split(".")[0])
    assert _status(hub, key) == 401


def test_deleted_or_moved_tunnel_is_refused_at_once(
    setup: tuple[Store, TunnelHub, str, _Counting],
) -> None:
    store, hub, key, _ = setup
    assert _status(hub, key) == 200
    other_org, _ = store.run(create_org)
    _exec(store, "UPDATE tunnels SET organization_id = ? WHERE id = ?", other_org, TUNNEL_ID)
    assert _status(hub, key) == 403
    _exec(store, "UPDATE tunnels SET status = 'deleted' WHERE id = ?", TUNNEL_ID)
    assert _status(hub, key) == 404


def test_scoped_key_of_another_identity(setup: tuple[Store, TunnelHub, str, _Counting]) -> None:
    store, hub, key, _ = setup
    org_id = hub.authorize(key, TUNNEL_ID).organization_id
    for identity in ("identity_a", "identity_b"):
        store.run(
            lambda db, identity=identity: db.insert(
                "identities",
                {
                    "id": identity,
                    "organization_id": org_id,
                    "agent_handle": identity,
                    "status": "active",
                    "created_at": db.now,
                    "updated_at": db.now,
                },
            )
        )
    scoped, _ = store.run(
        insert_api_key,
        org_id,
        created_by="user_x",
        creator_type="human",
        label="scoped",
        scoped_identity_id="identity_a",
    )
    _exec(store, "UPDATE tunnels SET agent_identity_id = 'identity_a' WHERE id = ?", TUNNEL_ID)
    assert _status(hub, scoped) == 200
    assert _status(hub, scoped) == 200
    _exec(store, "UPDATE tunnels SET agent_identity_id = 'identity_b' WHERE id = ?", TUNNEL_ID)
    assert _status(hub, scoped) == 403
    assert _status(hub, key) == 200  # the admin key still may


def test_expiring_key_is_refused_once_expired(
    setup: tuple[Store, TunnelHub, str, _Counting],
) -> None:
    store, hub, key, counting = setup
    _exec(
        store,
        "UPDATE api_keys SET expires_at = ? WHERE id = ?",
        store.now() + 60,
        key.split(".")[0],
    )
    assert _status(hub, key) == 200
    before = counting.calls
    assert _status(hub, key) == 200
    assert counting.calls == before
    store.advance_clock(120)
    assert _status(hub, key) == 401


def test_remembered_key_still_marks_its_use(
    setup: tuple[Store, TunnelHub, str, _Counting],
) -> None:
    store, hub, key, _ = setup

    def last_used() -> float:
        row = store.run(
            lambda db: db.one(
                "SELECT last_used_at FROM api_keys WHERE id = ?", (key.split(".")[0],)
            )
        )
        assert row is not None
        return float(row["last_used_at"])

    assert _status(hub, key) == 200
    first = last_used()
    store.advance_clock(30)
    hub._grants[(key, TUNNEL_ID)].noted -= 2  # its last update is older than a second
    assert _status(hub, key) == 200
    assert last_used() >= first + 30
