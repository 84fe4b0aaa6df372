"""The tunnel edge: two loopback listeners on their own thread and event loop.

* the **edge listener** (TLS, what agents dial): the SNI of each ClientHello is
  peeked before the handshake. No SNI, the zone, or any name that is not a
  tunnel's public host → the agent endpoint (ALPN ``h2``, :class:`AgentConnection`);
  ``{name}.{zone}`` of an edge-mode tunnel → TLS terminated (ALPN ``http/1.1``)
  and served like the public listener; of a passthrough tunnel → raw bytes
  bridged to the agent (:func:`serve_passthrough`).
* the **public listener** (plain HTTP/1.1): third-party requests routed by ``Host``.

The methods of :class:`TunnelEdge` are thread-safe: they either read the
hub's published snapshots or run a coroutine on the edge loop and wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from inkbox_emulator.core.store import Store
from inkbox_emulator.tunnels.model import DataPlaneTunnel, live_tunnel_by_name
from inkbox_emulator.tunnels.test_ca import TunnelCA

from .agent import AgentConnection
from .faults import ACTION_KINDS, TunnelFault, TunnelFaultRegistry, fault_params
from .hub import EdgeSettings, OffloadedBodies, TunnelHub
from .passthrough import serve_passthrough
from .public import serve_public
from .sni import peek_client_hello

__all__ = ["TunnelEdge"]

T = TypeVar("T")

_HANDSHAKE_TIMEOUT = 10.0


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class TunnelEdge:
    """The emulator's tunnel edge (see module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: EdgeSettings,
        *,
        host: str = "127.0.0.1",
        edge_port: int = 0,
        public_port: int = 0,
        ca_path: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.host = host
        self.requested_edge_port = edge_port
        self.requested_public_port = public_port
        self.ca = TunnelCA(settings.zone, ca_path)
        self.faults = TunnelFaultRegistry()
        self.bodies = OffloadedBodies()
        self.hub = TunnelHub(store, settings, self.faults, self.bodies)
        self.edge_port: int | None = None
        self.public_port: int | None = None
        self._agent_tls = self.ca.server_context(["h2"])
        self._public_tls = self.ca.server_context(["http/1.1"])
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the listeners are up."""
        return self._thread is not None

    def start(self, timeout: float = 10.0) -> None:
        """Bind both listeners (``PermissionError``/``OSError`` propagate) and start serving."""
        if self._thread is not None:
            return
        edge_sock = _listen(self.host, self.requested_edge_port)
        try:
            public_sock = _listen(self.host, self.requested_public_port)
        except BaseException:
            edge_sock.close()
            raise
        self.edge_port = int(edge_sock.getsockname()[1])
        self.public_port = int(public_sock.getsockname()[1])
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(
            target=self._run,
            args=(edge_sock, public_sock),
            name=f"inkbox-tunnel-edge:{self.edge_port}",
            daemon=True,
        )
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError("the tunnel edge failed to start") from self._error

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection and both listeners, and join the thread (idempotent)."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        self._thread = None
        self._loop = None
        self._stop = None
        self.edge_port = None
        self.public_port = None

    def close(self) -> None:
        """Stop and remove the CA file."""
        self.stop()
        self.ca.close()

    def _run(self, edge_sock: socket.socket, public_sock: socket.socket) -> None:
        try:
            asyncio.run(self._serve(edge_sock, public_sock))
        except BaseException as exc:  # reported to start(); the thread must not die loudly
            self._error = exc
        finally:
            edge_sock.close()
            public_sock.close()
            self._ready.set()

    async def _serve(self, edge_sock: socket.socket, public_sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        acceptors = [
            asyncio.ensure_future(self._accept(edge_sock, self._on_edge, tasks)),
            asyncio.ensure_future(self._accept(public_sock, self._on_public, tasks)),
        ]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for acceptor in acceptors:
                acceptor.cancel()
            self.hub.reset()
            for writer in list(self._writers):
                writer.transport.abort()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*acceptors, *tasks, return_exceptions=True)
            await asyncio.sleep(0)

    async def _accept(
        self,
        listener: socket.socket,
        handler: Callable[[socket.socket], Awaitable[None]],
        tasks: set[asyncio.Task[None]],
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, _ = await loop.sock_accept(listener)
            task = asyncio.ensure_future(self._guarded(sock, handler))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _guarded(
        self, sock: socket.socket, handler: Callable[[socket.socket], Awaitable[None]]
    ) -> None:
        try:
            await handler(sock)
        except (ConnectionError, OSError, TimeoutError):
            pass
        finally:
            sock.close()

    async def _streams(
        self, sock: socket.socket, tls: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        protocol = asyncio.StreamReaderProtocol(reader)
        transport, _ = await loop.connect_accepted_socket(
            lambda: protocol,
            sock,
            ssl=tls,
            ssl_handshake_timeout=_HANDSHAKE_TIMEOUT if tls is not None else None,
        )
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        self._writers.add(writer)
        return reader, writer

    async def _serve_streams(
        self,
        sock: socket.socket,
        tls: Any,
        serve: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader, writer = await self._streams(sock, tls)
        try:
            await serve(reader, writer)
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            writer.transport.abort()  # a TLS close that did not finish must not linger

    async def _on_public(self, sock: socket.socket) -> None:
        await self._serve_streams(sock, None, lambda r, w: serve_public(self.hub, r, w))

    async def _on_edge(self, sock: socket.socket) -> None:
        hello = await peek_client_hello(sock, _HANDSHAKE_TIMEOUT)
        if hello is None or not hello.is_tls:
            return
        tunnel: DataPlaneTunnel | None = None
        zone = self.settings.zone.lower()
        if hello.sni is not None and hello.sni.endswith("." + zone):
            tunnel = self.hub.tunnel_by_host(hello.sni)
            if tunnel is None:
                return
        if tunnel is None:
            await self._serve_streams(
                sock, self._agent_tls, lambda r, w: AgentConnection(self.hub, r, w).run()
            )
        elif tunnel.tls_mode == "edge":
            await self._serve_streams(
                sock, self._public_tls, lambda r, w: serve_public(self.hub, r, w)
            )
        elif tunnel.status == "active":
            sni = hello.sni or ""
            await self._serve_streams(
                sock, None, lambda r, w: serve_passthrough(self.hub, r, w, tunnel, sni)
            )

    # -- calls into the loop ---------------------------------------------------------------

    def _call(self, coro_fn: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10.0) -> T:
        loop = self._loop
        if loop is None or self._thread is None:
            raise RuntimeError("the tunnel edge is not running; start the emulator first")
        return asyncio.run_coroutine_threadsafe(coro_fn(), loop).result(timeout)

    def _tunnel(self, name: str) -> DataPlaneTunnel:
        tunnel = self.store.run(live_tunnel_by_name, name)
        if tunnel is None:
            raise LookupError(f"no live tunnel named {name!r}")
        return tunnel

    # -- public Python API (any thread) --------------------------------------------------------

    @property
    def edge_address(self) -> str:
        """``host:port`` of the edge listener."""
        if self.edge_port is None:
            raise RuntimeError("the tunnel edge is not running; start the emulator first")
        return f"{self.host}:{self.edge_port}"

    @property
    def public_url(self) -> str:
        """``http://host:port`` of the public listener."""
        if self.public_port is None:
            raise RuntimeError("the tunnel edge is not running; start the emulator first")
        return f"http://{self.host}:{self.public_port}"

    def connected_ids(self) -> frozenset[str]:
        """Ids of tunnels with a connection that said hello."""
        return self.hub.connected_ids()

    def connections(self, name: str) -> list[dict[str, Any]]:
        """The live connections of a tunnel (see ``Emulator.tunnel_connections``)."""
        return self.hub.snapshot(self._tunnel(name).id)

    def wait_for_tunnel(self, name: str, timeout: float = 10.0) -> None:
        """Block until a non-draining connection of the tunnel has parked an intake."""
        deadline = time.monotonic() + timeout
        while True:
            tunnel = self.store.run(live_tunnel_by_name, name)
            if tunnel is not None:
                tunnel_id = tunnel.id

                def ready(tunnel_id: str = tunnel_id) -> bool:
                    return any(
                        info["parked_intakes"] > 0
                        and not info["draining"]
                        and not info["superseded"]
                        for info in self.hub.snapshot(tunnel_id)
                    )

                if self.hub.wait_for(ready, min(0.25, max(0.0, deadline - time.monotonic()))):
                    return
            elif time.monotonic() < deadline:
                time.sleep(0.05)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no agent parked an intake for tunnel {name!r} in {timeout}s")

    def drain(self, name: str) -> int:
        """GOAWAY(NO_ERROR) to the tunnel's live connection(s); returns how many."""
        tunnel_id = self._tunnel(name).id

        async def drain() -> int:
            return self.hub.drain(tunnel_id)

        return self._call(drain)

    def inject_fault(
        self, kind: str, *, name: str | None = None, count: int | None = None, **params: Any
    ) -> TunnelFault:
        """Register a standing fault or apply an action now (see ``edge.faults``)."""
        clean = fault_params(kind, params)
        if kind not in ACTION_KINDS:
            return self.faults.add(kind, name, count, clean)
        tunnel_id = None if name is None else self._tunnel(name).id

        async def act() -> int:
            hit = 0
            for conn in list(self.hub.open_connections):
                if conn.is_closed or (tunnel_id is not None and conn.tunnel_id != tunnel_id):
                    continue
                if kind == "drop_connection":
                    conn.abort()
                else:
                    conn.goaway(clean["error_code"], clean["debug_data"])
                hit += 1
            return hit

        hit = self._call(act)
        return TunnelFault(f"action-{kind}", kind, name, 0, {**clean, "connections": hit})

    def clear_faults(self) -> None:
        """Remove every standing edge fault."""
        self.faults.clear()

    def reset(self) -> None:
        """Drop all edge state: connections, queued requests, bridges, bodies, faults."""
        self.faults.clear()
        self.bodies.clear()
        if self._loop is not None and self._thread is not None:

            async def reset() -> None:
                self.hub.reset()

            self._call(reset)
        else:
            self.hub.reset()
