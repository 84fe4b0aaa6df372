"""One hello'd edge connection: intake pool, PINGs, GOAWAY, reply POSTs and bridges.

A :class:`Link` runs two task groups: the connection's own tasks (frame
pump, intake slots, PING loop, GOAWAY watch), cancelled when the connection
ends, and the dispatches of the envelopes it received, which are cancelled
with it - except after a drain, when they may finish and post their replies
on the replacement connection.
"""

from __future__ import annotations

import enum
import json
import logging
import math
from collections.abc import Awaitable, Callable

import anyio
import anyio.abc

from inkbox_async._tunnel.connection import (
    EdgeConnection,
    H2Stream,
    PreparedHeaders,
    StreamResetError,
    prepare_headers,
)
from inkbox_async._tunnel.contracts import (
    BridgeRefusedError,
    Envelope,
    Headers,
    Reply,
    TunnelSettings,
)
from inkbox_async._tunnel.envelope import (
    Hello,
    bridge_headers,
    fixed_reply,
    hello_headers,
    intake_headers,
    parse_envelope,
    parse_hello,
    response_headers,
)
from inkbox_wire.h2_client import MAX_HEADER_LIST, header_list_size

__all__ = ["End", "Link", "REPLY_TIMEOUT"]

logger = logging.getLogger("inkbox.tunnels")

REPLY_TIMEOUT = 30.0
SUPERSEDED_CODE = 0x1201
_HELLO_BODY_LIMIT = 64 * 1024
_MAX_INTAKE_DELAY = 1.0
HEADERS_TOO_LARGE = fixed_reply(
    431, "request-header-fields-too-large", "request header fields too large"
)
"""The reply to a request whose envelope's header list is over :data:`MAX_HEADER_LIST`."""

Dispatch = Callable[["Link", Envelope, bool], Awaitable[None]]


class End(enum.Enum):
    """How a connection's session ended: what the agent does next depends on it."""

    CLEAN = "clean"
    FAILURE = "failure"
    DRAIN = "drain"
    SUPERSEDED = "superseded"


class Link:
    """The agent's state for one edge connection."""

    def __init__(
        self, conn: EdgeConnection, settings: TunnelSettings, authority: str, dispatch: Dispatch
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.authority = authority
        self.hello: Hello | None = None
        self.end_reason: End | None = None
        self.end_detail = ""
        self.ended = anyio.Event()
        self.parked = anyio.Event()
        self.finished = anyio.Event()
        self._dispatch = dispatch
        self._parking = True
        self._active = 0
        self._idle = anyio.Event()
        self._idle.set()
        self._conn_tg: anyio.abc.TaskGroup | None = None
        self._dispatch_tg: anyio.abc.TaskGroup | None = None
        self._slots_scope = anyio.CancelScope()
        self._slots_parked = 0

    def __repr__(self) -> str:
        return f"<Link tunnel={self.settings.options.name!r} end={self.end_reason}>"

    # -- lifecycle -----------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run until the connection is gone and (after a drain) the last dispatch finished."""
        try:
            async with anyio.create_task_group() as dispatch_tg:
                self._dispatch_tg = dispatch_tg
                async with anyio.create_task_group() as conn_tg:
                    self._conn_tg = conn_tg
                    conn_tg.start_soon(self._pump, conn_tg.cancel_scope)
                    conn_tg.start_soon(self._watch_goaway)
                    task_status.started()
                if self.end_reason is not End.DRAIN:
                    dispatch_tg.cancel_scope.cancel()
        finally:
            self.conn.abort()
            self.finished.set()

    async def _pump(self, scope: anyio.CancelScope) -> None:
        outcome = await self.conn.run()
        if outcome == "io-error":
            self.end(End.FAILURE, "connection lost")
        elif outcome == "goaway":
            self._on_goaway()
        else:
            self.end(End.CLEAN, f"connection ended ({outcome})")
        scope.cancel()

    def end(self, reason: End, detail: str) -> None:
        """Record why the session ended (first call wins); all but a drain drop the connection."""
        if self.end_reason is None:
            self.end_reason = reason
            self.end_detail = detail
            self.ended.set()
        if reason is End.DRAIN:
            self._parking = False
        else:
            self.conn.abort()

    def abort(self) -> None:
        """Cancel everything, dispatches included, and drop the connection."""
        self._parking = False
        self.conn.abort()
        if self._dispatch_tg is not None:
            self._dispatch_tg.cancel_scope.cancel()

    def stop_parking(self) -> None:
        """No new envelopes: cancel the parked intakes (their streams are reset)."""
        self._parking = False
        self._slots_scope.cancel()

    def retire(self) -> None:
        """After a drain: stop parking, tell live bridges, close once the dispatches are done."""
        self.stop_parking()
        self.conn.retiring.set()
        if self._conn_tg is not None:
            self._conn_tg.start_soon(self._close_when_idle)

    async def _close_when_idle(self) -> None:
        await self._idle.wait()
        self.conn.abort()

    async def wait_idle(self) -> None:
        """Until no dispatch of this link is running."""
        await self._idle.wait()

    @property
    def accepts_streams(self) -> bool:
        """Hello'd, still serving and the edge still takes new streams here."""
        return self.hello is not None and self.end_reason is None and self.conn.accepts_streams

    # -- hello, intake, pings, GOAWAY --------------------------------------------------

    async def say_hello(self, timeout: float) -> Hello:
        """Step 5; raises ``HelloRejected``, ``StreamResetError`` or ``TimeoutError``."""
        settings = self.settings
        headers = hello_headers(
            self.authority, settings.tunnel_id, settings.api_key, settings.options.pool_size
        )
        with anyio.fail_after(timeout):
            stream = await self.conn.open_stream(headers, end_stream=True)
            status, _ = await stream.response()
            body, _ = await stream.read_body(_HELLO_BODY_LIMIT)
        self.hello = parse_hello(status, body, settings.options.pool_size)
        return self.hello

    def start_serving(self) -> None:
        """Park the intake pool and start the PING loop (after a successful hello)."""
        assert self._conn_tg is not None and self.hello is not None
        self._conn_tg.start_soon(self._run_slots, self.hello)
        self._conn_tg.start_soon(self._ping_loop)

    async def _run_slots(self, hello: Hello) -> None:
        with self._slots_scope:
            async with anyio.create_task_group() as tg:
                for slot in range(hello.pool_size):
                    tg.start_soon(self._slot, slot, hello.owner_token)

    async def _slot(self, slot: int, token: str) -> None:
        try:
            headers = prepare_headers(
                intake_headers(self.authority, self.settings.tunnel_id, token, slot)
            )
        except StreamResetError as exc:
            logger.warning("tunnel %s: intake not parked: %s", self.settings.options.name, exc)
            return
        delay = 0.0
        first = True
        while self._parking:
            stream = await self._open_intake(headers)
            if stream is None:
                return
            if first:
                first = False
                self._slots_parked += 1
                if self.hello is not None and self._slots_parked >= self.hello.pool_size:
                    self.parked.set()
            try:
                delay = await self._intake_answer(stream, delay)
            except StreamResetError:
                if self.conn.closed:
                    return
                if stream.head_too_large is not None:
                    self._refuse_oversized(stream.head_too_large)
                    delay = 0.0  # the edge is fine: only that request was too large
                else:
                    delay = min(max(delay * 2, 0.1), _MAX_INTAKE_DELAY) if delay else 0.05
            finally:
                stream.reset()
            if delay and self._parking:
                await anyio.sleep(delay)

    async def _open_intake(self, headers: PreparedHeaders) -> H2Stream | None:
        try:
            return await self.conn.open_stream(headers, end_stream=True)
        except StreamResetError:
            return None

    async def _intake_answer(self, stream: H2Stream, delay: float) -> float:
        """Handle one answer; returns the delay before re-parking."""
        status, headers = await stream.response()
        reason = next((v for n, v in headers if n == "inkbox-reason"), "")
        if status == 200:
            body, too_large = await stream.read_body(self.settings.options.max_inbound_body_bytes)
            envelope = parse_envelope(headers, body)
            if envelope is not None:
                self._start(self._run_dispatch, envelope, too_large)
            return 0.0
        if reason == "intake-superseded":
            self.end(End.SUPERSEDED, "another agent took over the tunnel (intake)")
            return 0.0
        if status == 401:
            self.end(End.CLEAN, "owner token no longer valid (intake 401)")
            return 0.0
        body, _ = await stream.read_body(200)
        logger.info(
            "tunnel %s: intake answered HTTP %s (reason %r): %r",
            self.settings.options.name,
            status,
            reason,
            body[:200],
        )
        return min(max(delay * 2, 0.1), _MAX_INTAKE_DELAY)

    def _refuse_oversized(self, headers: Headers) -> None:
        """An envelope whose header list was over our limit: its stream was reset; if the
        leading fields name the request, answer it 431 so that its caller is not kept
        waiting until the edge's deadline."""
        envelope = parse_envelope(headers)
        if envelope is None:
            logger.warning(
                "tunnel %s: dropped a request whose header list is over %d bytes",
                self.settings.options.name,
                MAX_HEADER_LIST,
            )
            return
        logger.warning(
            "tunnel %s: request %s refused (431): its header list is over %d bytes",
            self.settings.options.name,
            envelope.request_id,
            MAX_HEADER_LIST,
        )
        self._start(self._run_refusal, envelope.request_id)

    def _start(self, work: Callable[..., Awaitable[None]], *args: object) -> None:
        """Run ``work`` in the dispatch group, counted until it finishes (see :meth:`wait_idle`)."""
        if self._dispatch_tg is None:
            return
        self._active += 1
        self._idle = anyio.Event()
        self._dispatch_tg.start_soon(self._counted, work, *args)

    async def _counted(self, work: Callable[..., Awaitable[None]], *args: object) -> None:
        try:
            await work(*args)
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def _run_dispatch(self, envelope: Envelope, too_large: bool) -> None:
        await self._dispatch(self, envelope, too_large)

    async def _run_refusal(self, request_id: str) -> None:
        await self.post(request_id, HEADERS_TOO_LARGE)

    async def _ping_loop(self) -> None:
        interval = self.settings.ping_interval
        timeout = self.settings.ping_timeout
        next_ping = anyio.current_time() + interval
        while True:
            await anyio.sleep_until(next_ping)
            next_ping += interval
            acked = self.conn.ping()
            with anyio.move_on_after(timeout) as scope:
                await acked.wait()
            if scope.cancelled_caught:
                logger.warning(
                    "tunnel %s: PING not acknowledged within %ss",
                    self.settings.options.name,
                    timeout,
                )
                self.end(End.CLEAN, "ping timeout")
                return

    async def _watch_goaway(self) -> None:
        await self.conn.goaway_received.wait()
        self._on_goaway()

    def _on_goaway(self) -> None:
        goaway = self.conn.goaway
        if goaway is None:
            return
        if goaway.error_code == SUPERSEDED_CODE or _says_superseded(goaway.debug):
            self.end(End.SUPERSEDED, "another agent took over the tunnel (GOAWAY)")
        elif goaway.error_code == 0:
            self.end(End.DRAIN, "the edge is draining (GOAWAY)")
        else:
            self.end(End.FAILURE, f"GOAWAY with error code {goaway.error_code:#x}")

    # -- replies and bridges -----------------------------------------------------------

    async def post(self, request_id: str, reply: Reply) -> None:
        """POST one reply (Step 9); waits up to 30 s for the answer; logs, never raises.

        A reply whose header list is over what the edge accepts becomes a 502
        ``response-too-large`` (the edge would drop the whole connection for it).
        """
        settings = self.settings

        def prepared(reply: Reply) -> PreparedHeaders:
            return prepare_headers(
                response_headers(
                    self.authority, settings.tunnel_id, settings.api_key, request_id, reply
                )
            )

        stream: H2Stream | None = None
        status = 0
        try:
            headers = prepared(reply)
            if header_list_size(headers.fields) > self.conn.max_header_list_size:
                logger.warning(
                    "tunnel %s: reply %s has more header bytes than the edge accepts; sent as 502",
                    settings.options.name,
                    request_id,
                )
                reply = fixed_reply(502, "response-too-large", "response too large")
                headers = prepared(reply)
            with anyio.move_on_after(REPLY_TIMEOUT + len(reply.body) / 1_000_000):
                stream = await self.conn.open_stream(headers, end_stream=not reply.body)
                if reply.body:
                    await stream.send(reply.body, end_stream=True)
                status, _ = await stream.response()
                await stream.read_body(4096)
        except StreamResetError as exc:
            logger.warning(
                "tunnel %s: reply %s not delivered: %s", settings.options.name, request_id, exc
            )
            return
        finally:
            if stream is not None and not status:
                stream.reset()
        if not status:
            logger.warning(
                "tunnel %s: no answer to reply %s in time", settings.options.name, request_id
            )
        elif status >= 400:
            logger.warning(
                "tunnel %s: edge answered reply %s with HTTP %s",
                settings.options.name,
                request_id,
                status,
            )

    async def open_bridge(
        self, path: str, protocol: str, headers: Headers, *, timeout: float | None
    ) -> H2Stream:
        """Extended CONNECT; returns the stream after a 200, else :class:`BridgeRefusedError`."""
        settings = self.settings
        request = bridge_headers(
            self.authority, settings.tunnel_id, settings.api_key, path, protocol, headers
        )
        try:
            stream = await self.conn.open_stream(request, end_stream=False, bridge=True)
        except StreamResetError as exc:
            raise BridgeRefusedError(f"bridge not opened: {exc}") from exc
        status = 0
        try:
            with anyio.move_on_after(math.inf if timeout is None else timeout):
                status, _ = await stream.response()
        except StreamResetError as exc:
            raise BridgeRefusedError(f"bridge refused: {exc}") from exc
        finally:
            if status != 200:
                stream.reset()
        if status != 200:
            problem = f"HTTP {status}" if status else "no answer in time"
            raise BridgeRefusedError(f"bridge refused: {problem}")
        return stream


def _says_superseded(debug: bytes) -> bool:
    try:
        value = json.loads(debug)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("reason") == "superseded"
