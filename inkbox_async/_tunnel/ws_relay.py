"""Pump whole WebSocket messages between the third-party side and the local target.

A :class:`PeerWebSocket` is the third party as the agent sees it (the edge's
JSON bridge, or real frames on a passthrough plaintext connection); a
:class:`~inkbox_async._tunnel.ws_local.LocalWebSocket` is the app or upstream.
"""

from __future__ import annotations

from typing import Protocol

import anyio

from inkbox_async._tunnel.ws_local import LocalWebSocket
from inkbox_wire.ws_frames import CloseMessage, WSMessage

__all__ = ["CLOSE_GRACE", "DRAIN_CLOSE", "PeerWebSocket", "relay"]

CLOSE_GRACE = 5.0
"""How long the local target may take to finish after the third party closed."""

DRAIN_CLOSE = CloseMessage(4500, "server draining")
"""What both sides are told when the edge connection carrying the bridge retires (Appendix A)."""


class PeerWebSocket(Protocol):
    """The third-party side of a relayed WebSocket."""

    async def receive(self) -> WSMessage:
        """The next message; a :class:`CloseMessage` once the third party closed or its
        side ended (never raises for I/O failures)."""
        ...

    async def send(self, message: WSMessage) -> None:
        """Send a message; a :class:`CloseMessage` is the agent's (only) close and ends
        the agent's side. A no-op once that side ended."""
        ...

    async def abort(self) -> None:
        """End the agent's side without a closing handshake (the target vanished)."""
        ...


async def relay(
    peer: PeerWebSocket,
    local: LocalWebSocket,
    *,
    grace: float = CLOSE_GRACE,
    draining: anyio.Event | None = None,
) -> None:
    """Relay until the local side finished (or ``grace`` after the third party closed).

    Once ``draining`` is set, both sides get :data:`DRAIN_CLOSE` (close 4500)
    and the local side has ``grace`` to finish.
    """
    peer_closed = anyio.Event()
    outbound = anyio.CancelScope()
    inbound_scope = anyio.CancelScope()

    async def inbound() -> None:
        with inbound_scope:
            while True:
                message = await peer.receive()
                await local.send(message)
                if isinstance(message, CloseMessage):
                    peer_closed.set()
                    return

    async def watchdog() -> None:
        await peer_closed.wait()
        await anyio.sleep(grace)
        outbound.cancel()

    async def drain(event: anyio.Event) -> None:
        await event.wait()
        if peer_closed.is_set():
            return
        inbound_scope.cancel()
        peer_closed.set()
        await peer.send(DRAIN_CLOSE)
        await local.send(DRAIN_CLOSE)

    async with anyio.create_task_group() as tg:
        tg.start_soon(inbound)
        tg.start_soon(watchdog)
        if draining is not None:
            tg.start_soon(drain, draining)
        with outbound:
            while True:
                reply = await local.receive()
                if reply is None:
                    await peer.abort()
                    break
                await peer.send(reply)
                if isinstance(reply, CloseMessage):
                    break
        if outbound.cancelled_caught:
            await peer.send(CloseMessage(1000, ""))
        tg.cancel_scope.cancel()
