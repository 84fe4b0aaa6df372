"""The ASGI lifespan runner's edges: hangs, refusals, nesting and the per-request state copy.

The end-to-end behaviour (startup before the tunnel is online, shutdown after,
``lifespan="off"``) is in ``tests/async_/test_tunnel_first_hour.py``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import anyio
import pytest

from inkbox_async import TunnelLifespanError
from inkbox_async._tunnel.lifespan import Lifespan

COMPLETE = {"type": "lifespan.startup.complete"}


async def test_request_scopes_get_a_copy_of_the_lifespan_state() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["pool"] = "ready"
            await send(COMPLETE)
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        else:
            seen.append(dict(scope["state"]))
            scope["state"]["pool"] = "overwritten by a request"

    lifespan = Lifespan(app, mode="on", name="t")
    async with anyio.create_task_group() as tg:
        await lifespan.startup(tg)
        for kind in ("http", "websocket", "http"):
            await lifespan.app({"type": kind}, None, None)
        await lifespan.shutdown()
    assert seen == [{"pool": "ready"}] * 3
    assert lifespan.state == {"pool": "ready"}


async def test_a_startup_that_never_answers_is_cancelled_by_shutdown() -> None:
    cancelled = anyio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        try:
            await anyio.sleep(math.inf)
        finally:
            cancelled.set()

    lifespan = Lifespan(app, mode="auto", name="t")
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.move_on_after(0.05):
                await lifespan.startup(tg)
            await lifespan.shutdown()  # does not wait for a shutdown the app never reaches
    assert cancelled.is_set()


async def test_a_shutdown_that_never_finishes_is_cut_off(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(COMPLETE)
        await receive()
        await anyio.sleep(math.inf)

    lifespan = Lifespan(app, mode="auto", name="stuck", shutdown_grace=0.05)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await lifespan.startup(tg)
            await lifespan.shutdown()
    assert "lifespan shutdown did not finish" in caplog.text


async def test_unsupported_apps_in_auto_and_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inkbox.tunnels")

    async def raises(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError(scope["type"])

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    for app in (raises, silent):
        auto = Lifespan(app, mode="auto", name="t")
        strict = Lifespan(app, mode="on", name="t")
        async with anyio.create_task_group() as tg:
            await auto.startup(tg)  # proceeds
            await auto.shutdown()
            with pytest.raises(TunnelLifespanError, match="does not support"):
                await strict.startup(tg)
            await strict.shutdown()
    assert "serving it without lifespan" in caplog.text


async def test_startup_failed_carries_the_apps_message() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "cache unreachable"})

    lifespan = Lifespan(app, mode="auto", name="t")
    async with anyio.create_task_group() as tg:
        with pytest.raises(TunnelLifespanError, match="cache unreachable"):
            await lifespan.startup(tg)
        await lifespan.shutdown()


async def test_a_lifespan_started_from_inside_itself_is_refused() -> None:
    """An app whose lifespan connects a tunnel to itself: 'auto' must not recurse."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        inner = Lifespan(app, mode="auto", name="t")
        refusals: list[str] = []

        async def serve() -> None:  # like running() starting serve in a task
            try:
                await inner.startup(tg)
            except TunnelLifespanError as exc:
                refusals.append(str(exc))

        async with anyio.create_task_group() as tg:
            tg.start_soon(serve)
        if refusals:
            await send({"type": "lifespan.startup.failed", "message": refusals[0]})
            return
        await send(COMPLETE)

    outer = Lifespan(app, mode="auto", name="t")
    async with anyio.create_task_group() as tg:
        with pytest.raises(TunnelLifespanError, match="lifespan='off'"):
            await outer.startup(tg)
        await outer.shutdown()
