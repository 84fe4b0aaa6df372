"""The blocking tunnel listener: ``wait()`` / ``close()`` over the native async agent.

Hand-written (codegen leaves this file alone): the agent runs on an anyio
blocking portal, i.e. its own event loop on a background thread named
``inkbox-tunnel-runtime``; these methods drive it from the caller's thread.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from types import FrameType
from typing import TYPE_CHECKING, Any, Self

from inkbox_async._tunnel.contracts import TunnelSettings
from inkbox_async._tunnel_listener import ListenerView, build_agent
from inkbox_async.models.identities import Tunnel

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal


__all__ = ["TunnelListener"]

logger = logging.getLogger("inkbox.tunnels")

POLL_SECONDS = 0.2


class TunnelListener(ListenerView):
    """Puts the local target online at :attr:`public_url` while it serves.

    ``listener.wait()`` brings the tunnel online and blocks until
    :meth:`close` (from another thread or a signal handler), Ctrl-C or
    SIGTERM; a permanent failure (:class:`~inkbox_async.TunnelAuthError`,
    :class:`~inkbox_async.TunnelSupersededError`,
    :class:`~inkbox_async.TunnelLifespanError`) is raised from it once.
    ``with listener.running():`` serves in the background for the block and
    is online on entry. Do not mix with the async client's listener.
    """

    def __init__(self, settings: TunnelSettings, tunnel: Tunnel) -> None:
        super().__init__(settings, tunnel)
        self._lock = threading.Lock()
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._future: Future[None] | None = None
        self._failure_reported = False

    def start(self) -> None:
        """Bring the tunnel online in the background and return at once."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this listener was closed; connect() again")
            if self._future is not None:
                return
            from anyio.from_thread import start_blocking_portal

            self._portal_cm = start_blocking_portal(name="inkbox-tunnel-runtime")
            self._portal = self._portal_cm.__enter__()
            self._agent = self._portal.call(build_agent, self._settings)
            self._future = self._portal.start_task_soon(self._agent.serve)

    def wait(self, timeout: float | None = None) -> None:
        """Serve until stopped (close, Ctrl-C, SIGTERM); ``timeout`` bounds the wait.

        Raises a permanent failure once. On Ctrl-C the tunnel is closed and
        :class:`KeyboardInterrupt` propagates.
        """
        future = self._future
        if future is not None and future.done() and not self._failure_reported:
            self._raise_failure()
        self.start()
        previous = self._install_sigterm()
        try:
            self._block(timeout)
        except KeyboardInterrupt:
            self.close()
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        self._raise_failure()

    def _block(self, timeout: float | None) -> None:
        future = self._future
        assert future is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while not future.done():
            remaining = POLL_SECONDS
            if deadline is not None:
                remaining = min(remaining, deadline - time.monotonic())
                if remaining <= 0:
                    return
            with contextlib.suppress(TimeoutError):
                future.exception(timeout=remaining)

    def _install_sigterm(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            self._request_close()

        return signal.signal(signal.SIGTERM, on_sigterm)

    def _request_close(self) -> None:
        if self._portal is not None and self._agent is not None:
            self._portal.start_task_soon(self._agent.aclose)

    def _raise_failure(self) -> None:
        """Once the runtime has stopped: tear its thread down and raise its failure (once)."""
        future = self._future
        if future is None or not future.done():
            return
        self.close()
        error = None if future.cancelled() else future.exception()
        if error is not None and not self._failure_reported:
            self._failure_reported = True
            raise error

    def close(self, timeout: float = 30.0) -> None:
        """Stop serving and join the runtime thread (up to ``timeout`` seconds)."""
        with self._lock:
            self._closed = True
            portal, portal_cm, agent = self._portal, self._portal_cm, self._agent
            self._portal = self._portal_cm = None
        if portal is None or portal_cm is None or agent is None:
            return
        try:
            closing = portal.start_task_soon(agent.aclose)
            closing.exception(timeout=timeout)
            if self._future is not None:
                self._future.exception(timeout=timeout)
        except TimeoutError:
            logger.warning("the tunnel runtime did not stop within %.0f s", timeout)
        portal_cm.__exit__(None, None, None)

    @contextlib.contextmanager
    def running(self, *, timeout: float = 30.0) -> Iterator[Self]:
        """Serve in the background for the block; online (hello done) on entry.

        A permanent failure is raised on entry (or when the block ends); while
        the block runs it is logged at WARNING and shows in :attr:`failure`
        the moment it happens.
        """
        self.start()
        future = self._future
        assert future is not None
        deadline = time.monotonic() + timeout
        while self.status != "connected" and not future.done():
            if time.monotonic() > deadline:
                self.close()
                raise TimeoutError(f"the tunnel was not online within {timeout} s")
            time.sleep(0.005)
        self._raise_failure()
        try:
            yield self
        finally:
            self.close()
        self._raise_failure()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
