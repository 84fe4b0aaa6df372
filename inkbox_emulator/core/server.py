"""Serving the ASGI app with hypercorn (HTTP/1.1 and cleartext HTTP/2) on a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import TYPE_CHECKING, cast

from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from hypercorn.typing import Framework

__all__ = ["ServerThread"]


class ServerThread:
    """Runs hypercorn on its own thread and event loop, on a socket bound up front.

    The listening socket is bound (port 0 picks a free port) and put into
    listen mode before hypercorn starts, so :attr:`port` is known immediately
    and connections made right after :meth:`start` are queued, never refused.
    Hypercorn accepts HTTP/1.1, ``h2c`` upgrades and prior-knowledge HTTP/2.
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> int:
        """Bind, start serving and wait for the app's lifespan start-up; returns the port."""
        if self._thread is not None:
            raise RuntimeError("server already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.requested_port))
            sock.listen(1024)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        config = Config()
        # Hypercorn wraps the descriptor in a socket object of its own and closes it
        # on shutdown, so ours gives the descriptor away.
        config.bind = [f"fd://{sock.detach()}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 1.0
        # Longer than clients keep idle connections (httpx: 5 s), so a reused connection is
        # never closed under a request; short enough that closed peers free their sockets
        # (hypercorn holds a connection until this idle timeout even after the peer left).
        config.keep_alive_timeout = 15.0
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(
            target=self._run, args=(config,), name=f"inkbox-emulator:{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("the emulator server did not start in time") from self._error
        if self._error is not None:
            self.stop()
            raise RuntimeError("the emulator server failed to start") from self._error
        return self.port

    def _run(self, config: Config) -> None:
        try:
            asyncio.run(self._serve(config))
        except BaseException as exc:  # reported to start(); the thread must not die loudly
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self, config: Config) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = cast("Framework", self._signal_ready)
        await serve(app, config, shutdown_trigger=self._stop.wait, mode="asgi")

    async def _signal_ready(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_and_signal(message: Message) -> None:
            await send(message)
            if message["type"] in ("lifespan.startup.complete", "lifespan.startup.failed"):
                self._ready.set()

        await self.app(scope, receive, send_and_signal)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread (idempotent)."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        self._thread = None
        self._loop = None
        self._stop = None
