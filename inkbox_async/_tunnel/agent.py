"""The tunnel agent: dial, hello, serve, reconnect, drain, stop.

Statuses passed to ``settings.options.on_status``: ``connecting`` (once), ``connected``
(after each hello), ``reconnecting`` (after a failed session or dial),
``draining`` (the edge asked to move, a replacement is being dialled),
``superseded`` (another agent took the tunnel; followed by ``closed``) and
``closed``. A permanent failure (refused key, superseded) is logged at
WARNING and kept in :attr:`TunnelAgent.failure` the moment it happens.

With a :class:`Lifespan` (an ASGI ``forward_to``), the app's startup runs
after ``connecting`` and before the first dial, its shutdown once the
connections are closed.

Session ends: EOF, a local HTTP/2 protocol error, a PING timeout and
an intake 401 are clean (backoff back to its base, no ``reconnecting``);
dial/TLS errors, bad hellos, socket errors and GOAWAY with an error are
failures. GOAWAY(NO_ERROR) is a drain: make-before-break - the replacement
is dialled and hello'd and its pool parked before the old connection stops
parking; the old one closes once its dispatches are done, and their replies
go out on the replacement. WebSockets bridged over the old connection
(passthrough ones too) are then closed with 4500 "server draining" on both
sides. During that handoff hello 503 is retried quickly
(0.1 s doubling to 5 s, jittered) for up to 30 s before it counts as a
failure; outside a handoff a 503 is an ordinary failure.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Mapping
from typing import TypeVar

import anyio
import anyio.abc

from inkbox_async._errors import (
    TunnelAuthError,
    TunnelError,
    TunnelLifespanError,
    TunnelSupersededError,
)
from inkbox_async._tunnel.backoff import Backoff
from inkbox_async._tunnel.connection import dial, edge_ssl_context
from inkbox_async._tunnel.contracts import (
    BridgeRefusedError,
    BridgeStream,
    Envelope,
    Forwarder,
    Headers,
    Reply,
    RouteHandler,
    TunnelSettings,
)
from inkbox_async._tunnel.envelope import HelloRejected, fixed_reply
from inkbox_async._tunnel.http_dispatch import BodyFetcher, handle_webhook
from inkbox_async._tunnel.lifespan import Lifespan
from inkbox_async._tunnel.link import End, Link

__all__ = ["TunnelAgent"]

logger = logging.getLogger("inkbox.tunnels")

STOP_GRACE = 5.0
REPLACEMENT_WAIT = 5.0
HANDOFF_SPACING = 2.0
DRAINING_BUDGET = 30.0
_T = TypeVar("_T")


class _Failed(Exception):
    """A dial or hello failed in a way that is retried with backoff."""


class TunnelAgent:
    """The data-plane runtime of one tunnel: keeps a hello'd HTTP/2 connection to the edge.

    ``routes`` maps ``"ws-upgrade"`` and ``"tcp-stream"`` to their handlers;
    ``webhook`` envelopes (and unknown route kinds) are handled here.
    """

    def __init__(
        self,
        settings: TunnelSettings,
        *,
        forwarder: Forwarder,
        routes: Mapping[str, RouteHandler],
        lifespan: Lifespan | None = None,
    ) -> None:
        self._settings = settings
        self._lifespan = lifespan
        self._failure: TunnelError | None = None
        self._forwarder = forwarder
        self._routes = dict(routes)
        self._fetcher = BodyFetcher(settings)
        self._authority = settings.zone_host
        self._ssl: ssl.SSLContext | None = None
        self._status = "idle"
        self._tg: anyio.abc.TaskGroup | None = None
        self._links: set[Link] = set()
        self._current: Link | None = None
        self._current_changed = anyio.Event()
        self._backoff = Backoff(settings.backoff_base, settings.backoff_cap)
        self._serving = False
        self._stopping = False
        self._wait_scope: anyio.CancelScope | None = None
        self._released = False
        self._done = anyio.Event()

    def __repr__(self) -> str:
        return f"<TunnelAgent {self._settings.options.name!r} status={self._status!r}>"

    @property
    def status(self) -> str:
        """The last status emitted (``idle`` before :meth:`serve`)."""
        return self._status

    @property
    def failure(self) -> TunnelError | None:
        """The permanent failure that stopped (or is stopping) :meth:`serve`, else ``None``."""
        return self._failure

    # -- public lifecycle ------------------------------------------------------------

    async def serve(self) -> None:
        """Run until :meth:`aclose` (returns normally) or a permanent failure.

        Raises :class:`TunnelAuthError` when hello is answered 401/403 and
        :class:`TunnelSupersededError` when another agent takes the tunnel over.
        """
        if self._stopping:
            await self._done.wait()
            return
        if self._serving:
            raise RuntimeError("TunnelAgent.serve() is already running or has run")
        self._serving = True
        error: Exception | None = None
        try:
            self._emit("connecting")
            async with anyio.create_task_group() as tg:
                self._tg = tg
                try:
                    error = await self._start_app(tg)
                    if error is None:
                        error = await self._loop()
                finally:
                    with anyio.CancelScope(shield=True):
                        await self._shutdown(graceful=error is None and self._stopping)
                        if self._lifespan is not None:
                            await self._lifespan.shutdown()
        finally:
            with anyio.CancelScope(shield=True):
                await self._release()
            self._emit("closed")
            self._done.set()
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """Stop serving; returns once :meth:`serve` has returned. Idempotent.

        No new envelopes are taken; running dispatches get up to 5 s to post
        their replies and are then cancelled; connections are aborted.
        """
        self._stopping = True
        if self._wait_scope is not None:
            self._wait_scope.cancel()
        if not self._serving:
            self._serving = True
            await self._release()
            self._emit("closed")
            self._done.set()
            return
        await self._done.wait()

    # -- the connect / serve / reconnect loop --------------------------------------------

    async def _start_app(self, tg: anyio.abc.TaskGroup) -> Exception | None:
        """The ASGI app's lifespan startup (interrupted by :meth:`aclose`)."""
        if self._lifespan is None:
            return None
        try:
            await self._until_stop(self._lifespan.startup(tg))
        except TunnelLifespanError as exc:
            return self._permanent(exc)
        return None

    def _permanent(self, error: TunnelError) -> TunnelError:
        """Record a permanent failure and say so now (not only when serving returns)."""
        self._failure = error
        logger.warning("tunnel %s: stopping for good: %s", self._settings.options.name, error)
        return error

    async def _loop(self) -> Exception | None:
        retiring: Link | None = None
        delay = 0.0
        last_handoff = -HANDOFF_SPACING
        while not self._stopping:
            if delay and not await self._until_stop(_slept(delay)):
                break
            delay = 0.0
            try:
                link = await self._until_stop(self._establish(draining=retiring is not None))
            except HelloRejected as exc:
                if retiring is not None:
                    retiring.abort()
                if exc.kind == "auth":
                    detail = exc.detail.replace(self._settings.api_key, "***")
                    return self._permanent(TunnelAuthError(exc.status, detail))
                error = self._permanent(
                    TunnelSupersededError(
                        "another agent took over this tunnel (hello 409); this one stopped"
                    )
                )
                self._emit("superseded")
                return error
            except _Failed as exc:
                logger.warning("tunnel %s: connection failed: %s", self._settings.options.name, exc)
                self._emit("reconnecting")
                delay = self._backoff.next()
                continue
            if link is None:
                break
            self._set_current(link)
            self._emit("connected")
            if retiring is not None:
                await self._until_stop(_wait_for(link.parked, REPLACEMENT_WAIT))
                retiring.retire()
                retiring = None
            await self._until_stop(link.ended.wait())
            if self._stopping:
                break
            self._set_current(None)
            reason = link.end_reason
            logger.info(
                "tunnel %s: session ended: %s", self._settings.options.name, link.end_detail
            )
            if reason is End.SUPERSEDED:
                error = self._permanent(
                    TunnelSupersededError("another agent took over this tunnel; this one stopped")
                )
                self._emit("superseded")
                return error
            if reason is End.FAILURE:
                self._emit("reconnecting")
                delay = self._backoff.next()
            elif reason is End.DRAIN:
                self._emit("draining")
                self._backoff.reset()
                retiring = link
                now = anyio.current_time()
                delay = max(0.0, last_handoff + HANDOFF_SPACING - now)
                last_handoff = now + delay
            else:
                self._backoff.reset()
                delay = self._backoff.next()
        return None

    async def _until_stop(self, awaitable: Awaitable[_T]) -> _T | None:
        """Await unless :meth:`aclose` interrupts (then ``None``)."""
        with anyio.CancelScope() as scope:
            self._wait_scope = scope
            if self._stopping:
                scope.cancel()
            try:
                return await awaitable
            finally:
                self._wait_scope = None
        if not scope.cancelled_caught:  # pragma: no cover - the awaitable returned above
            raise AssertionError
        return None

    async def _establish(self, *, draining: bool) -> Link:
        """Dial + hello; while replacing a draining connection, hello 503 is retried quickly."""
        quick = Backoff(0.1, 5.0)
        give_up = anyio.current_time() + DRAINING_BUDGET
        while True:
            try:
                return await self._connect_once()
            except HelloRejected as exc:
                if exc.kind in ("auth", "superseded"):
                    raise
                if not draining or exc.kind != "draining" or anyio.current_time() >= give_up:
                    raise _Failed(str(exc)) from None
                logger.info(
                    "tunnel %s: edge draining (hello 503), retrying", self._settings.options.name
                )
                await anyio.sleep(quick.next())

    async def _connect_once(self) -> Link:
        assert self._tg is not None
        if self._ssl is None:
            self._ssl = edge_ssl_context(self._settings)
        try:
            conn = await dial(self._settings, self._ssl)
        except Exception as exc:
            raise _Failed(f"could not reach the edge: {exc!r}") from None
        link = Link(conn, self._settings, self._authority, self._dispatch)
        self._links.add(link)
        await self._tg.start(self._run_link, link)
        try:
            hello = await link.say_hello(self._settings.ping_timeout + 5.0)
        except HelloRejected:
            link.abort()
            raise
        except Exception as exc:
            link.abort()
            raise _Failed(f"hello failed: {exc!r}") from None
        except BaseException:
            link.abort()
            raise
        logger.info(
            "tunnel %s: connected (pool %d, deadline %s)",
            self._settings.options.name,
            hello.pool_size,
            hello.response_deadline,
        )
        link.start_serving()
        return link

    async def _run_link(
        self, link: Link, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            await link.run(task_status=task_status)
        except Exception:
            logger.exception("tunnel %s: connection task failed", self._settings.options.name)
        finally:
            self._links.discard(link)

    async def _shutdown(self, *, graceful: bool) -> None:
        links = list(self._links)
        for link in links:
            link.stop_parking()
        if graceful:
            with anyio.move_on_after(STOP_GRACE):
                for link in links:
                    await link.wait_idle()
        for link in links:
            link.abort()
        self._set_current(None)

    async def _release(self) -> None:
        if self._released:
            return
        self._released = True
        for closer in (self._forwarder.aclose, self._fetcher.aclose):
            try:
                await closer()
            except Exception:
                logger.exception(
                    "tunnel %s: closing the forwarder failed", self._settings.options.name
                )

    def _set_current(self, link: Link | None) -> None:
        self._current = link
        event, self._current_changed = self._current_changed, anyio.Event()
        event.set()

    def _emit(self, status: str) -> None:
        self._status = status
        callback = self._settings.options.on_status
        if callback is None:
            return
        try:
            callback(status)
        except Exception:
            logger.exception("tunnel %s: on_status callback raised", self._settings.options.name)

    # -- dispatch ------------------------------------------------------------------------

    async def _dispatch(self, link: Link, envelope: Envelope, body_too_large: bool) -> None:
        session = _Session(self, link)
        kind = envelope.route_kind
        try:
            if kind in ("ws-upgrade", "tcp-stream"):
                handler = self._routes.get(kind)
                if handler is not None:
                    await handler(session, envelope, self._forwarder)
                elif kind == "ws-upgrade":
                    reply = fixed_reply(501, "ws-not-supported", "websocket not supported")
                    await session.post_reply(envelope.request_id, reply)
                else:
                    logger.debug(
                        "tunnel %s: tcp-stream envelope dropped", self._settings.options.name
                    )
            else:
                await handle_webhook(
                    session, envelope, self._forwarder, self._fetcher, body_too_large=body_too_large
                )
        except Exception:
            logger.exception(
                "tunnel %s: dispatch of %s failed", self._settings.options.name, envelope.request_id
            )

    async def _usable_link(self, origin: Link) -> Link | None:
        """The link to answer on: the envelope's own, else (drain) the replacement within 5 s."""
        if origin.accepts_streams:
            return origin
        with anyio.move_on_after(REPLACEMENT_WAIT):
            while True:
                current = self._current
                if current is not None and current.accepts_streams:
                    return current
                await self._current_changed.wait()
        return None


async def _slept(delay: float) -> bool:
    await anyio.sleep(delay)
    return True


async def _wait_for(event: anyio.Event, timeout: float) -> None:
    with anyio.move_on_after(timeout):
        await event.wait()


class _Session:
    """The :class:`EdgeSession` one dispatch answers through."""

    def __init__(self, agent: TunnelAgent, link: Link) -> None:
        self._agent = agent
        self._link = link
        self.settings = link.settings
        self.response_deadline = link.hello.response_deadline if link.hello else None

    async def post_reply(self, request_id: str, reply: Reply) -> None:
        """POST the reply on this envelope's connection (or its replacement); never raises."""
        link = await self._agent._usable_link(self._link)
        if link is None:
            logger.warning(
                "tunnel %s: reply %s dropped (no edge connection)",
                self.settings.options.name,
                request_id,
            )
            return
        await link.post(request_id, reply)

    async def open_bridge(
        self, path: str, protocol: str, headers: Headers, *, timeout: float | None
    ) -> BridgeStream:
        """Extended CONNECT on this envelope's connection (or its replacement)."""
        link = await self._agent._usable_link(self._link)
        if link is None:
            raise BridgeRefusedError("no edge connection to open the bridge on")
        return await link.open_bridge(path, protocol, headers, timeout=timeout)
