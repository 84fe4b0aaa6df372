"""Tunnels as a new user meets them (issue 15 items 3 and 6), end to end through the emulator.

Cached state that went stale is looked up again; an ASGI app's lifespan runs
around serving; a takeover is reported when it happens. HOME points at a
temporary directory for every test here, and nothing may appear in it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inkbox_async import (
    AsyncInkbox,
    InvalidArgumentError,
    TunnelLifespanError,
    TunnelNotProvisionedError,
    TunnelSupersededError,
)
from inkbox_emulator import Emulator

pytestmark = pytest.mark.usefixtures("home")


def handle(prefix: str = "hour") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def options(emulator: Emulator, state_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "edge": emulator.tunnel_edge,
        "edge_ca": emulator.tunnel_ca_pem,
        "state_dir": str(state_dir),
        **extra,
    }


def saved_id(state_dir: Path) -> str:
    value: str = json.loads((state_dir / "state.json").read_text())["tunnel_id"]
    return value


# -- item 3: cached state that went stale ------------------------------------------------


async def test_connect_recovers_when_the_identity_was_recreated(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name, state = handle(), tmp_path / "state"
    first = await inkbox.create_identity(name)
    await inkbox.tunnels.connect(name=name, forward_to=asgi_app, **options(emulator, state))
    assert saved_id(state) == str(first.tunnel.id)
    await first.delete()
    again = await inkbox.create_identity(name)
    assert again.tunnel.id != first.tunnel.id

    listener = await inkbox.tunnels.connect(
        name=name, forward_to=asgi_app, **options(emulator, state)
    )
    assert listener.tunnel.id == again.tunnel.id
    assert saved_id(state) == str(again.tunnel.id)  # the cache was rewritten
    async with listener.running():
        response = await call_in_thread(third_party.http, name, "GET", "/after-recreate")
    assert response.status == 200


async def test_connect_recovers_after_an_in_memory_emulator_restart(
    tmp_path: Path, asgi_app: Any
) -> None:
    name, state = handle(), tmp_path / "state"
    ids = []
    for world in (Emulator(), Emulator()):  # a restart of an in-memory emulator: a new world
        with world:
            org = world.create_org()
            async with AsyncInkbox(api_key=org.api_key, base_url=world.base_url) as inkbox:
                identity = await inkbox.create_identity(name)
                listener = await inkbox.tunnels.connect(
                    name=name, forward_to=asgi_app, **options(world, state)
                )
                assert listener.tunnel.id == identity.tunnel.id
                ids.append(saved_id(state))
                async with listener.running():
                    assert listener.status == "connected"
    assert ids[0] != ids[1]


async def test_errors_about_a_missing_tunnel_name_the_state_directory(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    name, state = handle(), tmp_path / "state"
    with pytest.raises(TunnelNotProvisionedError) as never:
        await inkbox.tunnels.connect(name=name, forward_to=asgi_app, **options(emulator, state))
    assert str(state) in str(never.value)
    identity = await inkbox.create_identity(name)
    await inkbox.tunnels.connect(name=name, forward_to=asgi_app, **options(emulator, state))
    await identity.delete()
    with pytest.raises(TunnelNotProvisionedError) as removed:
        await inkbox.tunnels.connect(name=name, forward_to=asgi_app, **options(emulator, state))
    message = str(removed.value)
    assert str(state / "state.json") in message
    assert str(identity.tunnel.id) in message and "create the identity" in message


async def test_a_cached_id_of_another_name_is_not_used(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    state = tmp_path / "one-state-dir"
    one, two = await inkbox.create_identity(handle()), await inkbox.create_identity(handle())
    await inkbox.tunnels.connect(
        name=one.agent_handle, forward_to=asgi_app, **options(emulator, state)
    )
    listener = await inkbox.tunnels.connect(
        name=two.agent_handle, forward_to=asgi_app, **options(emulator, state)
    )
    assert listener.tunnel.id == two.tunnel.id
    assert saved_id(state) == str(two.tunnel.id)


# -- item 6: the ASGI app's lifespan -------------------------------------------------------


async def test_the_app_lifespan_runs_around_serving(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    lifespan_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    app = lifespan_app()
    name = handle()
    await inkbox.create_identity(name)
    listener = await inkbox.tunnels.connect(
        name=name, forward_to=app, **options(emulator, tmp_path / "state")
    )
    assert app.events == []  # connect() does not start the app
    async with listener.running():
        assert app.events == ["startup"]  # before the tunnel was online
        response = await call_in_thread(third_party.http, name, "GET", "/status")
        replies, code, _ = await call_in_thread(third_party.websocket, name, "/ws", ["ping"])
    assert response.status == 200, response.body
    assert json.loads(response.body) == {"greeting": "hello", "database": "connected"}
    assert replies == ["ping:connected"] and code == 1000
    assert app.events == ["startup", "request", "shutdown"]


async def test_lifespan_off_does_not_start_the_app(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    lifespan_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    app = lifespan_app()
    name = handle()
    await inkbox.create_identity(name)
    listener = await inkbox.tunnels.connect(
        name=name, forward_to=app, lifespan="off", **options(emulator, tmp_path / "state")
    )
    async with listener.running():
        response = await call_in_thread(third_party.http, name, "GET", "/status")
    assert response.status == 502  # what every request got before lifespan support
    assert app.events == []


async def test_an_app_without_lifespan_support_is_served_in_auto_mode(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    http_only_app: Any,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    # one raises on the lifespan scope, the other returns without a word
    for app in (http_only_app, asgi_app):
        name = handle()
        await inkbox.create_identity(name)
        listener = await inkbox.tunnels.connect(
            name=name, forward_to=app, **options(emulator, tmp_path / name)
        )
        async with listener.running():
            response = await call_in_thread(third_party.http, name, "GET", "/")
        assert response.status in (200, 204)
        assert listener.failure is None


async def test_lifespan_on_needs_an_app_that_supports_it(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, http_only_app: Any
) -> None:
    name = handle()
    await inkbox.create_identity(name)
    listener = await inkbox.tunnels.connect(
        name=name, forward_to=http_only_app, lifespan="on", **options(emulator, tmp_path)
    )
    with pytest.raises(TunnelLifespanError, match="does not support the lifespan"):
        async with listener.running():
            pytest.fail("the tunnel went online without the app's lifespan")
    assert emulator.tunnel_connections(name) == []
    assert isinstance(listener.failure, TunnelLifespanError)


async def test_a_failed_startup_keeps_the_tunnel_offline(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, lifespan_app: Any
) -> None:
    app = lifespan_app(startup_failure="no database at localhost:5432")
    name = handle()
    await inkbox.create_identity(name)
    statuses: list[str] = []
    listener = await inkbox.tunnels.connect(
        name=name, forward_to=app, on_status=statuses.append, **options(emulator, tmp_path)
    )
    with pytest.raises(TunnelLifespanError, match="no database at localhost:5432"):
        await listener.serve_forever()
    assert statuses == ["connecting", "closed"]
    assert emulator.tunnel_connections(name) == []


async def test_connect_checks_the_lifespan_argument(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    emulator.clear_requests()
    good = options(emulator, tmp_path)
    with pytest.raises(InvalidArgumentError, match="lifespan"):
        await inkbox.tunnels.connect(name="some-app", forward_to=asgi_app, lifespan="yes", **good)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="lifespan"):
        await inkbox.tunnels.connect(name="some-app", forward_to=asgi_app, lifespan=True, **good)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="lifespan"):
        await inkbox.tunnels.connect(
            name="some-app", forward_to="http://127.0.0.1:8080", lifespan="on", **good
        )
    assert emulator.requests() == []


# -- item 6: a takeover is reported when it happens --------------------------------------


async def test_a_takeover_is_reported_when_it_happens(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    call_in_thread: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="inkbox.tunnels")
    name = handle()
    await inkbox.create_identity(name)
    first = await inkbox.tunnels.connect(
        name=name, forward_to=asgi_app, **options(emulator, tmp_path / "one")
    )
    second = await inkbox.tunnels.connect(
        name=name, forward_to=asgi_app, **options(emulator, tmp_path / "two")
    )
    with pytest.raises(TunnelSupersededError):
        async with first.running():
            assert first.failure is None
            async with second.running():
                await call_in_thread(wait_for, lambda: first.failure is not None)
                # still inside both blocks: the first listener already says so
                assert isinstance(first.failure, TunnelSupersededError)
                warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
                assert any(name in m and "another agent took over" in m for m in warnings)
                assert second.failure is None and second.status == "connected"


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``condition`` from a worker thread until it holds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
