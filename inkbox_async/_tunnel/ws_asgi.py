"""An in-process ASGI app as the local end of a WebSocket.

Decisions:

* ``scope["path"]`` is percent-decoded as ASGI requires (0.4.4 passed the raw
  path); ``raw_path`` keeps the bytes as received.
* After ``websocket.close`` the app's later ``websocket.send`` calls are dropped.
  The app returning after accept without closing reads as close 1000; the app
  raising after accept reads as close 1011 (0.4.4 sent 1000).
* Returning before accept without closing is a refusal with code 1000.
* Once the third party closed (or the block exits) the app gets
  ``websocket.disconnect`` and has 5 s to return before it is cancelled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.abc

from inkbox_async._tunnel.contracts import ASGIApp, Headers, TunnelSettings
from inkbox_async._tunnel.headers import local_request_headers
from inkbox_async._tunnel.ws_local import WebSocketRefused, WSHandshake, accept_headers
from inkbox_wire.ws_frames import BinaryMessage, CloseMessage, TextMessage, WSMessage

__all__ = ["ASGIWebSocket", "open_asgi_websocket", "websocket_scope"]

logger = logging.getLogger("inkbox.tunnels")

APP_SHUTDOWN_GRACE = 5.0
_INBOUND_BUFFER = 4

Message = MutableMapping[str, Any]


def websocket_scope(settings: TunnelSettings, handshake: WSHandshake) -> dict[str, Any]:
    """The ASGI ``websocket`` scope for a tunnelled upgrade."""
    raw_path, _, query = handshake.raw_target.partition("?")
    encoding = handshake.wire_encoding
    headers = local_request_headers(
        handshake.headers,
        host=settings.public_host,
        public_host=settings.public_host,
        client_ip=handshake.client_ip,
        drop=("sec-websocket-protocol",),
    )
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": handshake.http_version,
        "scheme": "wss",
        "path": unquote(raw_path, encoding=encoding, errors="replace"),
        "raw_path": raw_path.encode(encoding, "replace"),
        "query_string": query.encode(encoding, "replace"),
        "root_path": "",
        "client": (handshake.client_ip or "unknown", 0),
        "server": (settings.public_host, 443),
        "subprotocols": handshake.subprotocols,
        "headers": [
            (name.encode("latin-1", "replace"), value.encode(encoding, "replace"))
            for name, value in headers
        ],
    }


class ASGIWebSocket:
    """One app invocation with a ``websocket`` scope, seen as a :class:`LocalWebSocket`."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        self.subprotocol: str | None = None
        self.headers: Headers = []
        self._app = app
        self._scope = scope
        self._to_app, self._app_inbox = anyio.create_memory_object_stream[Message](_INBOUND_BUFFER)
        self._app_outbox, self._from_app = anyio.create_memory_object_stream[WSMessage](1)
        self._connect_delivered = False
        self._disconnect_code: int | None = None
        self._disconnected_at = 0.0
        self._accepted = False
        self._closed_by_app = False
        self.rejection: WebSocketRefused | None = None
        self.decided = anyio.Event()
        self.finished = anyio.Event()
        self._final: WSMessage | None = CloseMessage(1000, "")

    # -- the app's receive / send ------------------------------------------------------

    async def _app_receive(self) -> Message:
        if not self._connect_delivered:
            self._connect_delivered = True
            return {"type": "websocket.connect"}
        try:
            return await self._app_inbox.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return {"type": "websocket.disconnect", "code": self._disconnect_code or 1000}

    async def _app_send(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "websocket.accept":
            if not self.decided.is_set():
                self._accepted = True
                self.subprotocol = message.get("subprotocol")
                self.headers = accept_headers(
                    (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                    for name, value in message.get("headers") or ()
                )
                self.decided.set()
        elif kind == "websocket.close":
            code = int(message.get("code") or 1000)
            if not self.decided.is_set():
                self.rejection = WebSocketRefused(403, f"app rejected WS (close code={code})")
                self.decided.set()
            elif not self._closed_by_app:
                self._closed_by_app = True
                await self._emit(CloseMessage(code, message.get("reason") or ""))
            self.deliver_disconnect(code)
        elif kind == "websocket.send":
            if not self._accepted:
                raise RuntimeError("websocket.send before websocket.accept")
            if self._closed_by_app:
                return
            text, data = message.get("text"), message.get("bytes")
            if data is not None:
                await self._emit(BinaryMessage(bytes(data)))
            else:
                await self._emit(TextMessage(text or ""))

    async def _emit(self, message: WSMessage) -> None:
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await self._app_outbox.send(message)

    async def run(self) -> None:
        """Run the app to completion; never raises (except cancellation)."""
        try:
            await self._app(self._scope, self._app_receive, self._app_send)
        except Exception as exc:
            if self.decided.is_set():
                logger.exception("ASGI WebSocket app raised")
                self._final = CloseMessage(1011, "")
            else:
                logger.exception("ASGI WebSocket app raised before accepting")
                self.rejection = WebSocketRefused(
                    403, "app rejected WS (close code=1011)", failed=True
                )
                self.rejection.__cause__ = exc
        finally:
            if not self.decided.is_set():
                if self.rejection is None:
                    self.rejection = WebSocketRefused(403, "app rejected WS (close code=1000)")
                self.decided.set()
            self._app_outbox.close()
            self._app_inbox.close()
            self.finished.set()

    # -- LocalWebSocket -----------------------------------------------------------------

    async def receive(self) -> WSMessage | None:
        """The app's next message; its close (or a synthetic one) when it is done."""
        try:
            return await self._from_app.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return self._final

    async def send(self, message: WSMessage) -> None:
        """Queue a message for the app (waits while its queue is full)."""
        if isinstance(message, CloseMessage):
            self.deliver_disconnect(message.code)
            return
        if self._disconnect_code is not None:
            return
        event: Message = {"type": "websocket.receive"}
        if isinstance(message, TextMessage):
            event["text"] = message.data
        else:
            event["bytes"] = message.data
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await self._to_app.send(event)

    def deliver_disconnect(self, code: int) -> None:
        """Queued messages first, then ``websocket.disconnect`` with ``code``."""
        if self._disconnect_code is None:
            self._disconnect_code = code
            self._disconnected_at = anyio.current_time()
            self._to_app.close()

    async def shutdown(self, code: int) -> None:
        """Disconnect the app and give it the grace period to return."""
        self.deliver_disconnect(code)
        self._from_app.close()
        with anyio.move_on_after(self._disconnected_at + APP_SHUTDOWN_GRACE - anyio.current_time()):
            await self.finished.wait()


@asynccontextmanager
async def open_asgi_websocket(
    app: ASGIApp,
    settings: TunnelSettings,
    handshake: WSHandshake,
    *,
    accept_timeout: float | None,
) -> AsyncIterator[ASGIWebSocket]:
    """Run ``app`` until it accepts; raises :class:`WebSocketRefused` otherwise.

    On exit the app is disconnected (1000 unless told earlier) and cancelled
    after the grace period.
    """
    session = ASGIWebSocket(app, websocket_scope(settings, handshake))
    refusal: WebSocketRefused | None = None
    error: Exception | None = None  # re-raised outside the task group, unwrapped
    async with anyio.create_task_group() as tg:
        tg.start_soon(session.run)
        with anyio.move_on_after(math.inf if accept_timeout is None else accept_timeout):
            await session.decided.wait()
        if not session.decided.is_set():
            refusal = WebSocketRefused(504, "ws upgrade timed out")
            await session.shutdown(1011)
        elif session.rejection is not None:
            refusal = session.rejection
            await session.shutdown(1000)
        else:
            try:
                yield session
            except Exception as exc:
                error = exc
            finally:
                await session.shutdown(1000)
        tg.cancel_scope.cancel()
    if refusal is not None:
        raise refusal
    if error is not None:
        raise error
