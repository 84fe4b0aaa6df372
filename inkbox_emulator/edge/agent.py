"""One agent connection: the HTTP/2 server side of the agent protocol (``/_system/*``).

Streams the agent opens:

* ``POST /_system/hello`` — authenticates ``x-api-key`` for ``x-tunnel-id`` and issues
  the owner token (200 JSON), taking the tunnel over from its previous live
  connection;
* ``POST /_system/intake`` — parked until an envelope is available (401 for a wrong
  ``x-owner-token``);
* ``POST /_system/response/{request_id}`` — a reply for the public caller (200; 404 for
  an unknown or expired id);
* extended ``CONNECT /_system/ws/{id}`` (``inkbox-tunnel-ws``) and
  ``/_system/tcp/{id}`` (``inkbox-tunnel-tcp``) — bridge streams, answered 200 and then
  pumped by the public side.

HTTP/2 itself is :mod:`inkbox_wire.h2_server`'s engine, whose handler this connection is.
Sending honours the agent's flow-control windows; bridge DATA is credited only
once the public side consumed it, all other DATA at once. A GOAWAY written here
ends nothing, so the connection keeps serving after a drain notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.tunnels.model import (
    DataPlaneTunnel,
    live_tunnel_by_id,
    record_connection,
)
from inkbox_wire.h2_server import (
    CANCEL,
    Fields,
    ProtocolError,
    ServerEngine,
    StreamClosedError,
    header_list_size,
)

from .hub import Bridge, Delivery, Reply, TunnelHub

__all__ = ["SUPERSEDED_ERROR_CODE", "AgentConnection"]

SUPERSEDED_ERROR_CODE = 0x1201
_BRIDGE_PROTOCOLS = {"ws": b"inkbox-tunnel-ws", "tcp": b"inkbox-tunnel-tcp"}
_HOP_BY_HOP = frozenset(
    [
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"content-length",
    ]
)

Headers = list[tuple[bytes, bytes]]

_STATUS_FIELD_SIZE = header_list_size([(b":status", b"200")])


@dataclass(eq=False)
class _Request:
    """A request stream being received."""

    headers: dict[bytes, bytes]
    raw_headers: Headers
    body: bytearray = field(default_factory=bytearray)

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.encode())
        return None if value is None else value.decode("utf-8", "replace")


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


class AgentConnection:
    """The edge side of one agent's HTTP/2 connection."""

    def __init__(
        self, hub: TunnelHub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.hub = hub
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("unknown", 0)
        self.peer_ip = str(peer[0])
        self.peer = f"{peer[0]}:{peer[1]}"
        self.h2 = ServerEngine(self)
        self.tunnel: DataPlaneTunnel | None = None
        self.owner_token: str | None = None
        self.pool_size = 0
        self.hello_count = 0
        self.parked: deque[int] = deque()
        self.draining = False
        self.superseded = False
        self.is_closed = False
        self.bridge_streams: dict[int, Bridge] = {}
        self._requests: dict[int, _Request] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._window_waiters: list[asyncio.Future[None]] = []
        self._sending: set[Delivery] = set()
        self._batching = False
        """True while one read's frames are handled: frames are flushed once at its end."""

    # -- state seen by the hub -------------------------------------------------------

    @property
    def tunnel_id(self) -> str | None:
        """The tunnel this connection said hello for."""
        return None if self.tunnel is None else self.tunnel.id

    @property
    def accepts_work(self) -> bool:
        """Whether new envelopes may be delivered here."""
        return (
            self.tunnel is not None
            and not self.draining
            and not self.superseded
            and not self.is_closed
        )

    def takes(self, delivery: Delivery) -> bool:
        """Whether the envelope's intake answer (``:status`` included) fits the header list
        size the agent announced (SETTINGS_MAX_HEADER_LIST_SIZE; no limit if it announced
        none): a larger one would make an HTTP/2 agent drop this whole connection."""
        limit = self.h2.peer_max_header_list_size
        return limit is None or header_list_size(delivery.headers) + _STATUS_FIELD_SIZE <= limit

    def info(self) -> dict[str, Any]:
        """The thread-visible description of this connection."""
        return {
            "tunnel_id": self.tunnel_id,
            "tunnel_name": None if self.tunnel is None else self.tunnel.name,
            "peer": self.peer,
            "pool_size": self.pool_size,
            "parked_intakes": len(self.parked),
            "draining": self.draining,
            "superseded": self.superseded,
            "hello_count": self.hello_count,
        }

    def withhold_ping_ack(self) -> bool:
        """Whether to leave the agent's PING unanswered (the ``withhold_ping_acks`` fault)."""
        name = None if self.tunnel is None else self.tunnel.name
        return self.hub.faults.take("withhold_ping_acks", name) is not None

    # -- main loop -----------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until the agent closes it (or it is aborted)."""
        self.hub.open_connections.add(self)
        self.flush()
        try:
            while not self.is_closed:
                data = await self.reader.read(1 << 16)
                if not data:
                    break
                self._batching = True
                try:
                    self.h2.receive(data)
                except ProtocolError:
                    break  # the GOAWAY is flushed below
                finally:
                    self._batching = False
                    self.flush()
        except (ConnectionError, OSError):
            pass
        finally:
            self._finish()

    def _finish(self) -> None:
        if not self.is_closed:
            self.is_closed = True
        self.parked.clear()
        for task in self._tasks:
            task.cancel()
        for delivery in self._sending:  # a cancelled body task may never have started
            if not delivery.sent.done():
                delivery.sent.set_result(None)
        self._sending.clear()
        self._wake_senders()
        self.hub.closed(self)
        self.writer.close()

    def abort(self) -> None:
        """Drop the TCP connection at once."""
        self.is_closed = True
        self.writer.transport.abort()
        self._wake_senders()

    def flush(self) -> None:
        """Write whatever the HTTP/2 engine has queued."""
        data = self.h2.data_to_send()
        if data and not self.writer.transport.is_closing():
            self.writer.write(data)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- HTTP/2 events (the engine's handler) ------------------------------------------------

    def on_request(self, stream_id: int, fields: Fields) -> None:
        """The agent opened a request stream."""
        request = _Request(dict(fields), fields)
        if request.headers.get(b":method") == b"CONNECT":
            self._on_connect(stream_id, request)
        else:
            self._requests[stream_id] = request

    def on_data(self, stream_id: int, data: bytes, flow: int) -> None:
        """Request or bridge DATA from the agent."""
        bridge = self.bridge_streams.get(stream_id)
        if bridge is not None:
            bridge.on_data(data, flow)
            return
        request = self._requests.get(stream_id)
        if request is not None:
            request.body += data
        self.credit(stream_id, flow)

    def on_window(self) -> None:
        """Send credit arrived: senders waiting for it may go on."""
        self._wake_senders()

    def on_goaway(self, code: int, last_stream_id: int, debug: bytes) -> None:
        """The agent sent GOAWAY: the connection ends."""
        self.is_closed = True

    def on_end(self, stream_id: int) -> None:
        """The agent ended its side of a stream: a request is complete, a bridge ends."""
        bridge = self.bridge_streams.pop(stream_id, None)
        if bridge is not None:
            bridge.on_end()
            return
        request = self._requests.pop(stream_id, None)
        if request is None:
            return
        path = request.headers.get(b":path", b"")
        post = request.headers.get(b":method") == b"POST"
        if post and path.startswith(b"/_system/response/"):
            request_id = path[len(b"/_system/response/") :].decode("utf-8", "replace")
            self._on_response(stream_id, request, request_id)
        elif post and path == b"/_system/intake":
            self._on_intake(stream_id, request)
        elif post and path == b"/_system/hello":
            self._on_hello(stream_id, request)
        else:
            self.respond(stream_id, 404, body=b'{"detail":"Not Found"}')

    def on_reset(self, stream_id: int, code: int) -> None:
        """A stream was reset (by the agent, or for a stream error)."""
        self._requests.pop(stream_id, None)
        if stream_id in self.parked:
            self.parked.remove(stream_id)
            self._publish()
        bridge = self.bridge_streams.pop(stream_id, None)
        if bridge is not None:
            bridge.on_end()
        if self._window_waiters:  # a sender waiting for credit on it learns it is gone
            self._wake_senders()

    def _publish(self) -> None:
        if self.tunnel is not None:
            self.hub.publish(self.tunnel.id)

    # -- hello, intake, response -------------------------------------------------------------

    def _authorize(self, stream_id: int, request: _Request) -> DataPlaneTunnel | None:
        try:
            return self.hub.authorize(request.header("x-api-key"), request.header("x-tunnel-id"))
        except ApiError as exc:
            self.respond(stream_id, exc.status, body=json.dumps(exc.body()).encode())
            return None

    def _fault_name(self, request: _Request) -> str | None:
        tunnel = self.hub.store.run(live_tunnel_by_id, request.header("x-tunnel-id") or "")
        return None if tunnel is None else tunnel.name

    def _on_hello(self, stream_id: int, request: _Request) -> None:
        name = self._fault_name(request)
        if self.hub.faults.take("hello_stall", name) is not None:
            return
        fault = self.hub.faults.take("hello_status", name)
        if fault is not None:
            self.respond(stream_id, fault.params["status"], body=fault.params["body"].encode())
            return
        tunnel = self._authorize(stream_id, request)
        if tunnel is None:
            return
        pool = self.hub.settings.pool_size
        requested = request.header("x-pool-size")
        if requested is not None and requested.isdigit() and 1 <= int(requested) <= 32:
            pool = int(requested)
        self.tunnel = tunnel
        self.owner_token = secrets.token_urlsafe(24)
        self.pool_size = pool
        self.hello_count += 1
        self.hub.store.run(record_connection, tunnel.id, self.peer_ip)
        body = {
            "owner_token": self.owner_token,
            "default_pool_size": pool,
            "response_deadline_seconds": _number(self.hub.settings.response_deadline),
            "intake_idle_seconds": self.hub.settings.intake_idle_seconds,
        }
        self.respond(stream_id, 200, body=json.dumps(body).encode())
        self.hub.said_hello(self, tunnel.id)

    def _on_intake(self, stream_id: int, request: _Request) -> None:
        token = request.header("x-owner-token")
        if (
            self.owner_token is None
            or token is None
            or not secrets.compare_digest(token.encode(), self.owner_token.encode())
        ):
            self.respond(stream_id, 401, body=b'{"detail":"invalid owner token"}')
            return
        assert self.tunnel is not None
        if self.superseded:
            self._refuse_intake(stream_id)
            return
        fault = self.hub.faults.take("intake_status", self.tunnel.name)
        if fault is not None:
            extra = []
            if fault.params["reason"]:
                extra.append((b"inkbox-reason", fault.params["reason"].encode()))
            self.respond(stream_id, fault.params["status"], extra)
            return
        fault = self.hub.faults.take("malformed_envelope", self.tunnel.name)
        if fault is not None:
            junk = [(b"inkbox-method", b"GET"), (b"inkbox-path", b"/")]
            if fault.params["request_id"]:
                junk.insert(0, (b"inkbox-request-id", fault.params["request_id"].encode()))
            self.respond(stream_id, 200, junk)
            return
        self.parked.append(stream_id)
        self.hub.dispatch(self.tunnel.id)

    def _refuse_intake(self, stream_id: int) -> None:
        # No body: h2-based agents treat every frame after the GOAWAY that follows as an error.
        self.respond(stream_id, 401, [(b"inkbox-reason", b"intake-superseded")])

    def _on_response(self, stream_id: int, request: _Request, request_id: str) -> None:
        tunnel = self._authorize(stream_id, request)
        if tunnel is None:
            return
        try:
            status = int(request.header("inkbox-status") or "")
        except ValueError:
            status = 0
        if not 100 <= status <= 599:
            self.respond(stream_id, 400, body=b'{"detail":"inkbox-status is missing or invalid"}')
            return
        headers: Headers = []
        for name, value in request.raw_headers:
            if name.startswith(b"inkbox-h-"):
                bare = name[len(b"inkbox-h-") :]
                if bare not in _HOP_BY_HOP:
                    headers.append((bare, value))
        reason = request.headers.get(b"inkbox-reason")
        if reason is not None and not any(n == b"inkbox-reason" for n, _ in headers):
            headers.append((b"inkbox-reason", reason))
        if not self.hub.complete(
            request_id, tunnel.id, Reply(status, headers, bytes(request.body))
        ):
            self.respond(stream_id, 404, body=b'{"detail":"Unknown or expired request id"}')
            return
        fault = self.hub.faults.take("slow_response", tunnel.name)
        if fault is not None:
            self._spawn(self._respond_later(stream_id, fault.params["delay"]))
            return
        self.respond(stream_id, 200)

    async def _respond_later(self, stream_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        self.respond(stream_id, 200)

    # -- bridges -----------------------------------------------------------------------------

    def _on_connect(self, stream_id: int, request: _Request) -> None:
        path = request.header(":path") or ""
        kind, _, bridge_id = path.removeprefix("/_system/").partition("/")
        protocol = _BRIDGE_PROTOCOLS.get(kind)
        if protocol is None or request.headers.get(b":protocol") != protocol or not bridge_id:
            self.respond(stream_id, 404, body=b'{"detail":"Not Found"}')
            return
        tunnel = self._authorize(stream_id, request)
        if tunnel is None:
            return
        fault = self.hub.faults.take("bridge_refuse", tunnel.name)
        if fault is not None:
            self.respond(stream_id, fault.params["status"])
            return
        bridge = self.hub.bridges.get(bridge_id)
        if bridge is None or bridge.kind != kind or bridge.tunnel_id != tunnel.id:
            self.respond(stream_id, 404, body=b'{"detail":"Unknown bridge id"}')
            return
        if bridge.bound.done():
            self.respond(stream_id, 409, body=b'{"detail":"Bridge already connected"}')
            return
        self._send_headers(stream_id, [(b":status", b"200")], end_stream=False)
        if not self._batching:
            self.flush()
        self.bridge_streams[stream_id] = bridge
        bridge.bound.set_result((self, stream_id))

    # -- delivering envelopes -----------------------------------------------------------------

    def deliver(self, delivery: Delivery) -> bool:
        """Answer the oldest parked intake with an envelope; ``False`` if that failed."""
        while self.parked:
            stream_id = self.parked.popleft()
            headers = [(b":status", b"200"), *delivery.headers]
            if not self._send_headers(stream_id, headers, end_stream=not delivery.body):
                continue
            if delivery.body and not self._send_now(stream_id, delivery.body):
                self._sending.add(delivery)
                self._spawn(self._send_envelope_body(stream_id, delivery))
            elif not delivery.sent.done():
                delivery.sent.set_result(None)
            return True  # the hub's dispatch publishes the shorter parked list
        return False

    def supersede(self) -> None:
        """Another connection said hello for this tunnel: refuse parked intakes with 401
        ``intake-superseded`` and send GOAWAY 0x1201 ``{"reason":"superseded"}``."""
        self.superseded = True
        while self.parked:
            self._refuse_intake(self.parked.popleft())
        self.goaway(SUPERSEDED_ERROR_CODE, b'{"reason":"superseded"}')
        self._publish()

    def drain(self) -> None:
        """GOAWAY(NO_ERROR): no new envelopes here; replies and open bridges still work."""
        self.draining = True
        self.goaway(0, b"")
        self._publish()

    def goaway(self, error_code: int, debug_data: bytes) -> None:
        """Send a GOAWAY frame; the connection keeps serving the streams the agent opens."""
        self.h2.goaway(error_code, debug_data)
        self.flush()

    # -- sending -----------------------------------------------------------------------------

    def respond(
        self, stream_id: int, status: int, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        """Answer a request stream (body sent as flow control allows)."""
        all_headers = [(b":status", str(status).encode()), *(headers or [])]
        if body:
            all_headers.append((b"content-type", b"application/json"))
            all_headers.append((b"content-length", str(len(body)).encode()))
        if (
            self._send_headers(stream_id, all_headers, end_stream=not body)
            and body
            and not self._send_now(stream_id, body)
        ):
            self._spawn(self._send_quietly(stream_id, body, end_stream=True))

    def _send_headers(self, stream_id: int, headers: Headers, *, end_stream: bool) -> bool:
        """Send HEADERS; with a body to follow (``end_stream=False``) the caller flushes."""
        if self.is_closed:
            return False
        try:
            self.h2.send_headers(stream_id, headers, end_stream=end_stream)
        except StreamClosedError:
            return False
        if end_stream and not self._batching:
            self.flush()
        return True

    def _send_now(self, stream_id: int, body: bytes) -> bool:
        """Send a whole body with END_STREAM at once if the agent's windows and frame size
        allow it (no task needed); ``False`` if it has to wait for credit. Either way what
        is queued (the HEADERS before it included) is flushed."""
        h2 = self.h2
        sent = True
        try:
            room = min(h2.send_window(stream_id), h2.max_frame_size)
            if len(body) <= room:
                h2.send_data(stream_id, body, end_stream=True)
            else:
                sent = False
        except StreamClosedError:
            pass  # the stream is gone: nothing left to send, as in _send_quietly
        if not self._batching:
            self.flush()
        return sent

    async def _send_envelope_body(self, stream_id: int, delivery: Delivery) -> None:
        try:
            await self._send_quietly(stream_id, delivery.body, end_stream=True)
        finally:
            self._sending.discard(delivery)
            if not delivery.sent.done():
                delivery.sent.set_result(None)

    async def _send_quietly(self, stream_id: int, data: bytes, *, end_stream: bool) -> None:
        with contextlib.suppress(StreamClosedError, ConnectionError):
            await self.send_data(stream_id, data, end_stream=end_stream)

    async def send_data(self, stream_id: int, data: bytes, *, end_stream: bool = False) -> None:
        """Send DATA within the agent's windows and frame size (waits for credit).

        Raises :class:`StreamClosedError` once the stream is gone and
        :class:`ConnectionError` once the connection is.
        """
        view = memoryview(data)
        while True:
            if self.is_closed:
                raise ConnectionError("the agent connection is closed")
            if not view:
                if end_stream:
                    self.h2.end_stream(stream_id)
                    self.flush()
                return
            size = min(self.h2.send_window(stream_id), self.h2.max_frame_size, len(view))
            if size <= 0:
                waiter = asyncio.get_running_loop().create_future()
                self._window_waiters.append(waiter)
                await waiter
                continue
            last = size == len(view)
            self.h2.send_data(stream_id, bytes(view[:size]), end_stream=end_stream and last)
            self.flush()
            view = view[size:]
            if last:
                await self.writer.drain()
                return

    def _wake_senders(self) -> None:
        waiters, self._window_waiters = self._window_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def credit(self, stream_id: int, amount: int) -> None:
        """Return ``amount`` bytes of receive credit on the stream and the connection."""
        if amount <= 0 or self.is_closed:
            return
        self.h2.credit(stream_id, amount)
        if not self._batching:
            self.flush()

    def reset_stream(self, stream_id: int) -> None:
        """RST_STREAM(CANCEL) a bridge stream."""
        self.bridge_streams.pop(stream_id, None)
        if self.is_closed:
            return
        self.h2.reset_stream(stream_id, CANCEL)
        self.flush()
