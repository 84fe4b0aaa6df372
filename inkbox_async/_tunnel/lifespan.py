"""An in-process ASGI app's lifespan: startup before the tunnel goes online, shutdown after.

``lifespan="auto"`` (the default, as uvicorn's): an app that raises on the
``lifespan`` scope, or returns without answering startup, does not support
the protocol and is served without it. ``"on"``: that is an error, as is a
``lifespan.startup.failed`` in any mode (:class:`TunnelLifespanError`).
``"off"``: no lifespan scope is sent - the choice when another server
(uvicorn) already runs the app's lifespan and the tunnel is connected from
inside it; ``auto`` and ``on`` refuse to run a lifespan from within itself.

The lifespan scope carries a ``state`` dict (the ASGI "lifespan state"
extension, which Starlette's and FastAPI's ``lifespan`` functions fill); each
``http`` and ``websocket`` scope gets a shallow copy of it as ``scope["state"]``.
"""

from __future__ import annotations

import contextvars
import logging
import math
from collections.abc import MutableMapping
from typing import Any, Literal

import anyio
import anyio.abc

from inkbox_async._errors import TunnelLifespanError
from inkbox_async._tunnel.contracts import ASGIApp

__all__ = ["LIFESPAN_MODES", "Lifespan", "LifespanMode"]

logger = logging.getLogger("inkbox.tunnels")

LifespanMode = Literal["auto", "on", "off"]
LIFESPAN_MODES: tuple[LifespanMode, ...] = ("auto", "on", "off")
SHUTDOWN_GRACE = 10.0

Message = MutableMapping[str, Any]

_RUNNING: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "inkbox_tunnel_lifespans", default=frozenset()
)
"""Ids of the apps whose lifespan this task (or a task it started) runs inside."""


class Lifespan:
    """One run of ``app``'s lifespan protocol, and the app as the tunnel calls it.

    :meth:`startup` starts the lifespan task in a task group that outlives the
    serving; :meth:`shutdown` ends it (``shutdown_grace`` seconds, then it is
    cancelled). :attr:`app` is what requests are dispatched to: ``app`` with
    the lifespan state copied into each scope.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        mode: LifespanMode,
        name: str,
        shutdown_grace: float = SHUTDOWN_GRACE,
    ) -> None:
        self._app = app
        self._mode = mode
        self._name = name
        self._shutdown_grace = shutdown_grace
        self.state: dict[str, Any] = {}
        self._startup_done = anyio.Event()
        self._shutdown_requested = anyio.Event()
        self._shutdown_done = anyio.Event()
        self._finished = anyio.Event()
        self._started = False
        self._supported = True
        self._failure: str | None = None
        self._scope: anyio.CancelScope | None = None
        self._startup_sent = False
        self._shutdown_sent = False

    async def app(self, scope: Message, receive: Any, send: Any) -> None:
        """``app`` with ``scope["state"]``: a shallow copy of the lifespan state."""
        if scope.get("type") in ("http", "websocket"):
            scope["state"] = dict(self.state)
        await self._app(scope, receive, send)

    async def startup(self, tg: anyio.abc.TaskGroup) -> None:
        """Run the app's startup; returns once it is done (or unsupported, in ``auto``).

        Raises :class:`TunnelLifespanError` when startup failed, or when
        ``mode="on"`` and the app does not support the lifespan protocol.
        """
        if id(self._app) in _RUNNING.get():
            raise TunnelLifespanError(
                "this tunnel was started from inside its own app's lifespan, which "
                "lifespan='auto' would run again (and again); when another server (uvicorn) "
                "runs the app's lifespan, connect with lifespan='off'"
            )
        self._started = True
        tg.start_soon(self._main)
        await self._startup_done.wait()
        if self._failure is not None:
            raise TunnelLifespanError(
                f"the ASGI app's lifespan startup failed: {self._failure}; "
                "the tunnel did not go online"
            )
        if not self._supported and self._mode == "on":
            raise TunnelLifespanError(
                "the ASGI app does not support the lifespan protocol (lifespan='on'); "
                "pass lifespan='auto' or 'off' to serve it without"
            )

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait (bounded) for the app to finish it. Never raises."""
        if not self._started:
            return
        self._shutdown_requested.set()
        if self._startup_done.is_set() and self._supported and self._failure is None:
            with anyio.move_on_after(self._shutdown_grace):
                await self._shutdown_done.wait()
            if not self._shutdown_done.is_set():
                logger.warning(
                    "tunnel %s: the ASGI app's lifespan shutdown did not finish in %.0f s",
                    self._name,
                    self._shutdown_grace,
                )
        if self._scope is not None:
            self._scope.cancel()
        with anyio.move_on_after(1.0):
            await self._finished.wait()

    async def _main(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        _RUNNING.set(_RUNNING.get() | {id(self._app)})  # this task's own context
        try:
            with anyio.CancelScope() as self._scope:
                await self._app(scope, self._receive, self._send)
        except Exception as exc:
            if not self._startup_done.is_set():
                self._supported = False
                level = logging.WARNING if self._mode == "on" else logging.INFO
                logger.log(
                    level,
                    "tunnel %s: the ASGI app raised on the lifespan scope (%r); "
                    "serving it without lifespan",
                    self._name,
                    exc,
                )
            elif self._failure is None:
                logger.exception("tunnel %s: the ASGI app's lifespan task failed", self._name)
        finally:
            if not self._startup_done.is_set():
                self._supported = False  # returned without answering startup
                self._startup_done.set()
            self._shutdown_done.set()
            self._finished.set()

    async def _receive(self) -> Message:
        if not self._startup_sent:
            self._startup_sent = True
            return {"type": "lifespan.startup"}
        await self._shutdown_requested.wait()
        if self._shutdown_sent:
            await anyio.sleep(math.inf)  # the protocol has no message after shutdown
        self._shutdown_sent = True
        return {"type": "lifespan.shutdown"}

    async def _send(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self._startup_done.set()
        elif kind == "lifespan.startup.failed":
            self._failure = str(message.get("message") or "no message given")
            self._startup_done.set()
        elif kind == "lifespan.shutdown.complete":
            self._shutdown_done.set()
        elif kind == "lifespan.shutdown.failed":
            logger.error(
                "tunnel %s: the ASGI app's lifespan shutdown failed: %s",
                self._name,
                message.get("message") or "no message given",
            )
            self._shutdown_done.set()
