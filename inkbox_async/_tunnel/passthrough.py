"""The ``tcp-stream`` route: a passthrough TLS connection terminated by the agent.

Opens ``/_system/tcp/{tcp_id}`` (10 s), terminates TLS in memory with
``settings.passthrough_ssl_context`` (ALPN ``h2, http/1.1``, or ``http/1.1``
only when ``enable_h2_transcode`` is off), runs the plaintext HTTP/1.1 or
HTTP/2 server on the decrypted stream, then tears down: close_notify, then a
CLOSE frame with the close code and reason plus END_STREAM.

Decisions: the HTTP/1.1 server closes its side after each response, so a
normal request ends with ``clean-eof`` (1000) instead of 0.4.4's 5 s wait and
``cancelled`` (1001). The ALPN list is set on the shared server context.
"""

from __future__ import annotations

import logging

import anyio

from inkbox_async._tunnel.contracts import EdgeSession, Envelope, Forwarder
from inkbox_async._tunnel.plaintext_h1 import serve_h1
from inkbox_async._tunnel.plaintext_h2 import serve_h2
from inkbox_async._tunnel.tls_bridge import TLSBridgeStream

__all__ = ["handle_tcp_stream"]

logger = logging.getLogger("inkbox.tunnels")

TCP_PROTOCOL = "inkbox-tunnel-tcp"
BRIDGE_OPEN_TIMEOUT = 10.0
HALF_CLOSE_GRACE = 5.0


async def handle_tcp_stream(session: EdgeSession, envelope: Envelope, forwarder: Forwarder) -> None:
    """Serve one passthrough connection; logs and returns on any per-connection failure."""
    try:
        await _handle(session, envelope, forwarder)
    except Exception:
        logger.exception("passthrough connection %s failed", envelope.tcp_id)


async def _handle(session: EdgeSession, envelope: Envelope, forwarder: Forwarder) -> None:
    settings = session.settings
    tcp_id = envelope.tcp_id
    context = settings.passthrough_ssl_context
    if not tcp_id or context is None:
        logger.warning("tcp-stream envelope dropped (no tcp_id or no passthrough certificate)")
        return
    context.set_alpn_protocols(
        ["h2", "http/1.1"] if settings.options.enable_h2_transcode else ["http/1.1"]
    )
    try:
        bridge = await session.open_bridge(
            f"/_system/tcp/{tcp_id}",
            TCP_PROTOCOL,
            [
                ("sec-websocket-version", "13"),
                ("sec-websocket-protocol", TCP_PROTOCOL),
                ("inkbox-tcp-id", tcp_id),
            ],
            timeout=BRIDGE_OPEN_TIMEOUT,
        )
    except Exception as exc:
        logger.warning("TCP bridge %s could not be opened: %s", tcp_id, exc)
        return
    stream = TLSBridgeStream(bridge, context)
    reason = "cancelled"
    try:
        reason = await _serve(stream, session, forwarder)
    finally:
        with anyio.CancelScope(shield=True):
            await stream.teardown(reason)


async def _serve(stream: TLSBridgeStream, session: EdgeSession, forwarder: Forwarder) -> str:
    """Run the plaintext server; the bridge's close reason."""
    server_done = anyio.Event()

    async def run_server() -> None:
        try:
            if not await stream.handshake():
                return
            if stream.alpn == "h2":
                await serve_h2(stream, session, forwarder)
            else:
                await serve_h1(stream, session, forwarder)
        except Exception:
            logger.exception("passthrough plaintext server failed")
            stream.failure = stream.failure or "internal-error"
        finally:
            server_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stream.pump)
        tg.start_soon(run_server)

        done_or_inbound = anyio.Event()

        async def wait_server() -> None:
            await server_done.wait()
            done_or_inbound.set()

        async def wait_inbound() -> None:
            await stream.inbound_finished.wait()
            done_or_inbound.set()

        tg.start_soon(wait_server)
        tg.start_soon(wait_inbound)
        await done_or_inbound.wait()
        if not server_done.is_set():
            with anyio.move_on_after(HALF_CLOSE_GRACE):
                await server_done.wait()
        if not server_done.is_set():
            tg.cancel_scope.cancel()
            return "cancelled"
        tg.cancel_scope.cancel()
    return stream.failure or "clean-eof"
