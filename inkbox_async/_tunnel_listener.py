"""The async tunnel listener: ``serve_forever()`` / ``aclose()`` run the data plane natively.

Hand-written (not generated): the blocking twin, ``inkbox_sync.TunnelListener``,
drives the same agent through a blocking portal on a background thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Literal, Self

import anyio
import attrs

from inkbox_async._errors import TunnelError
from inkbox_async._tunnel.contracts import TunnelSettings
from inkbox_async.models.identities import Tunnel

if TYPE_CHECKING:
    from inkbox_async._tunnel.agent import TunnelAgent

__all__ = ["AsyncTunnelListener", "ListenerView", "build_agent"]


def build_agent(settings: TunnelSettings) -> TunnelAgent:
    """The data-plane agent for ``settings`` with every route handler wired in."""
    from inkbox_async._tunnel.agent import TunnelAgent
    from inkbox_async._tunnel.forwarding import make_forwarder
    from inkbox_async._tunnel.lifespan import Lifespan
    from inkbox_async._tunnel.passthrough import handle_tcp_stream
    from inkbox_async._tunnel.ws_edge import handle_ws_upgrade

    lifespan = None
    target = settings.options.forward_to
    if not isinstance(target, str) and settings.options.lifespan in ("auto", "on"):
        mode: Literal["auto", "on"] = "on" if settings.options.lifespan == "on" else "auto"
        lifespan = Lifespan(target, mode=mode, name=settings.options.name)
        options = attrs.evolve(settings.options, forward_to=lifespan.app)
        settings = attrs.evolve(settings, options=options)
    return TunnelAgent(
        settings,
        forwarder=make_forwarder(settings),
        routes={"ws-upgrade": handle_ws_upgrade, "tcp-stream": handle_tcp_stream},
        lifespan=lifespan,
    )


class ListenerView:
    """What both listeners show: the public URL, the tunnel, the agent's status."""

    def __init__(self, settings: TunnelSettings, tunnel: Tunnel) -> None:
        self._settings = settings
        self._tunnel = tunnel
        self._agent: TunnelAgent | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_url={self.public_url!r}, status={self.status!r})"

    @property
    def public_url(self) -> str:
        """``https://{public_host}``: where the public reaches the local target."""
        return f"https://{self._settings.public_host}"

    @property
    def tunnel(self) -> Tunnel:
        """The tunnel as it was when ``connect()`` ran (not refreshed)."""
        return self._tunnel

    @property
    def status(self) -> str:
        """``idle`` before serving, then the last status (``connected``, ``closed``...)."""
        return "idle" if self._agent is None else self._agent.status

    @property
    def failure(self) -> TunnelError | None:
        """The permanent failure that stopped serving, from the moment it happens.

        :class:`~inkbox_async.TunnelSupersededError` (another agent took the
        tunnel over), :class:`~inkbox_async.TunnelAuthError` or
        :class:`~inkbox_async.TunnelLifespanError`; ``None`` while all is well.
        It is also logged at WARNING (logger ``inkbox.tunnels``) when it happens.
        """
        return None if self._agent is None else self._agent.failure


class AsyncTunnelListener(ListenerView):
    """Puts the local target online at :attr:`public_url` while it serves.

    ``await listener.serve_forever()`` serves until :meth:`aclose` (from
    another task) and raises :class:`~inkbox_async.TunnelAuthError` or
    :class:`~inkbox_async.TunnelSupersededError` (or
    :class:`~inkbox_async.TunnelLifespanError`) on a permanent failure; all
    other failures reconnect with capped, jittered backoff.
    ``async with listener.running():`` serves in the background for the
    duration of the block and is online on entry.
    """

    async def serve_forever(self) -> None:
        """Serve until :meth:`aclose`; raises on a permanent failure."""
        if self._closed:
            raise RuntimeError("this listener was closed; connect() again")
        if self._agent is not None:
            raise RuntimeError("this listener is already serving")
        self._agent = build_agent(self._settings)
        await self._agent.serve()

    async def aclose(self) -> None:
        """Stop serving: in-flight requests finish (briefly) or fail; never hangs."""
        self._closed = True
        if self._agent is not None:
            await self._agent.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @asynccontextmanager
    async def running(self, *, timeout: float = 30.0) -> AsyncIterator[Self]:
        """Serve in the background for the block; online (hello done) on entry.

        A permanent failure is raised on entry (or when the block ends); while
        the block runs it is logged at WARNING and shows in :attr:`failure`
        the moment it happens.
        """
        failure: list[BaseException] = []
        done = anyio.Event()

        async def serve() -> None:
            try:
                await self.serve_forever()
            except Exception as exc:
                failure.append(exc)
            finally:
                done.set()

        async with anyio.create_task_group() as group:
            group.start_soon(serve)
            with anyio.fail_after(timeout):
                while self.status != "connected" and not done.is_set():
                    await anyio.sleep(0.005)
            if not failure:  # a failure before going online is raised below, unwrapped
                try:
                    yield self
                finally:
                    await self.aclose()
        if failure:
            raise failure[0]
