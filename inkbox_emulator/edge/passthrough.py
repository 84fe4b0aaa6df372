"""Passthrough tunnels: raw TLS bytes of a third party through a TCP bridge.

The edge has only peeked at the ClientHello, so the first bytes read here are
the ClientHello itself. It sends a ``tcp-stream`` envelope, waits for the
agent's ``CONNECT /_system/tcp/{tcp_id}`` and then pumps bytes in BINARY
frames both ways; the caller's EOF ends the edge's side of the stream, the
agent's CLOSE frame or END_STREAM ends the caller's connection.
"""

from __future__ import annotations

import asyncio
import contextlib

from inkbox_emulator.tunnels.model import DataPlaneTunnel
from inkbox_wire.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
    encode_frame,
)

from .bridges import BridgePump
from .hub import Delivery, TunnelHub

__all__ = ["serve_passthrough"]

_READ_SIZE = 1 << 16
_AFTER_EOF_WAIT = 10.0


async def serve_passthrough(
    hub: TunnelHub,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    tunnel: DataPlaneTunnel,
    sni: str,
) -> None:
    """Bridge one third-party TCP connection to the tunnel's agent."""
    bridge = hub.open_bridge("tcp", tunnel.id)
    pump = BridgePump(bridge, hub.settings.bridge_wait)
    try:
        request_id = hub.new_id("req")
        delivery = Delivery(
            request_id,
            [
                (b"inkbox-request-id", request_id.encode()),
                (b"inkbox-route-kind", b"tcp-stream"),
                (b"inkbox-tcp-id", bridge.id.encode()),
                (b"inkbox-sni-host", sni.encode()),
            ],
            b"",
            asyncio.get_running_loop().create_future(),
        )
        if not await hub.deliver(tunnel.id, delivery) or not await pump.wait_bound():
            return

        async def to_caller(frame: Frame) -> None:
            if frame.opcode in (OP_BINARY, OP_TEXT, OP_CONTINUATION):
                if frame.payload and not writer.transport.is_closing():
                    writer.write(frame.payload)
                    await writer.drain()
            elif frame.opcode == OP_PING:
                await pump.send(encode_frame(OP_PONG, frame.payload, mask=False))
            elif frame.opcode == OP_CLOSE:
                raise _AgentClosed

        async def from_caller() -> None:
            while True:
                data = await reader.read(_READ_SIZE)
                if not data:
                    await pump.send(b"", end_stream=True)
                    return
                await pump.send(encode_frame(OP_BINARY, data, mask=False))

        reading = asyncio.ensure_future(from_caller())
        pumping = asyncio.ensure_future(pump.run(to_caller))
        try:
            done, _ = await asyncio.wait({reading, pumping}, return_when=asyncio.FIRST_COMPLETED)
            if reading in done and not pumping.done():
                await asyncio.wait({pumping}, timeout=_AFTER_EOF_WAIT)
        finally:
            for task in (reading, pumping):
                task.cancel()
            await asyncio.gather(reading, pumping, return_exceptions=True)
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            await pump.finish()
        hub.close_bridge(bridge)


class _AgentClosed(Exception):
    """The agent sent a CLOSE frame: the caller's connection ends."""
