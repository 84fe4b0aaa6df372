"""The HTTP/2 server on a decrypted passthrough connection.

SETTINGS: ENABLE_PUSH 0, MAX_CONCURRENT_STREAMS 100, ENABLE_CONNECT_PROTOCOL 1,
MAX_HEADER_LIST_SIZE 65536. Each stream is one request streamed through
``forwarder.open`` (receive credit is returned as the local side takes the
body); RFC 8441 extended CONNECT with ``:protocol websocket`` is relayed to
the local WebSocket target. Inbound cap → RST_STREAM(REFUSED_STREAM);
outbound cap → RST_STREAM(INTERNAL_ERROR). What one request's header block
carries fails only its stream (:mod:`.plaintext_h2_conn`): a header list over
the limit is answered 431, a malformed one RST_STREAM(PROTOCOL_ERROR). The server returns once the third party's side
ended and the open streams finished.

Decisions: repeated ``cookie`` fields are joined for the HTTP/1.1 target;
frames of an RFC 8441 WebSocket may arrive masked or not (sent unmasked);
a non-WebSocket CONNECT is answered 405.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, suppress

import anyio
import anyio.abc
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from inkbox_async._tunnel.contracts import EdgeSession, Forwarder, Headers, TunnelAttribute
from inkbox_async._tunnel.headers import local_response_headers
from inkbox_async._tunnel.paths import is_safe_path
from inkbox_async._tunnel.plaintext_h2_conn import TOO_LARGE, StreamTolerantConnection
from inkbox_async._tunnel.plaintext_request import (
    PlaintextRequest,
    local_request,
    refusal_status,
)
from inkbox_async._tunnel.ws_frame_peer import FramePeer
from inkbox_async._tunnel.ws_local import WebSocketRefused, WSHandshake, open_local_websocket
from inkbox_async._tunnel.ws_relay import relay
from inkbox_wire.h2_server import MAX_HEADER_LIST
from inkbox_wire.hpack_codec import TablelessEncoder

__all__ = ["h2_request", "serve_h2"]

logger = logging.getLogger("inkbox.tunnels")

_H2_FORBIDDEN = frozenset({"proxy-connection"})


def h2_request(headers: Iterable[tuple[str, str]]) -> PlaintextRequest:
    """The request a stream's header block describes (pseudo-headers kept in the list)."""
    fields = [(name.lower(), value) for name, value in headers]
    pseudo = {name: value for name, value in fields if name.startswith(":")}
    method = pseudo.get(":method", "GET")
    return PlaintextRequest(
        method=method,
        target=pseudo.get(":path", ""),
        headers=fields,
        is_websocket=method == "CONNECT" and pseudo.get(":protocol") == "websocket",
        transport="h2",
    )


class _StreamGone(Exception):
    """The stream was reset or closed under us."""


class _Stream:
    def __init__(self, stream_id: int, request: PlaintextRequest) -> None:
        self.id = stream_id
        self.request = request
        self.scope = anyio.CancelScope()
        self.chunks: deque[tuple[bytes, int]] = deque()
        self.ended = False
        self.reset = False
        self.received = 0
        self._arrived = anyio.Event()

    def wake(self) -> None:
        self._arrived.set()

    async def next_chunk(self) -> tuple[bytes, int] | None:
        while not self.chunks:
            if self.ended or self.reset:
                return None
            self._arrived = anyio.Event()
            await self._arrived.wait()
        return self.chunks.popleft()


class _H2Server:
    def __init__(
        self, stream: anyio.abc.ByteStream, session: EdgeSession, forwarder: Forwarder
    ) -> None:
        self._stream = stream
        self._session = session
        self._forwarder = forwarder
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self._conn = StreamTolerantConnection(config)  # its decoder logs nothing either
        self._conn.encoder = TablelessEncoder()  # type: ignore[assignment]  # neither logs the third-party fields it codes
        self._conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST,
            },
        )
        self._streams: dict[int, _Stream] = {}
        self._write_lock = anyio.Lock()
        self._window = anyio.Event()

    async def _flush(self) -> None:
        async with self._write_lock:
            data = self._conn.data_to_send()
            if data:
                await self._stream.send(data)

    def _window_changed(self) -> None:
        event, self._window = self._window, anyio.Event()
        event.set()

    async def run(self) -> None:
        self._conn.initiate_connection()
        await self._flush()
        async with anyio.create_task_group() as tg:
            while True:
                try:
                    data = await self._stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    break
                try:
                    events = self._conn.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    logger.info("passthrough HTTP/2 protocol error: %s", exc)
                    await self._flush()
                    break
                terminated = False
                for event in events:
                    terminated |= self._on_event(event, tg)
                self._refuse_streams()
                await self._flush()
                if terminated:
                    break
            for st in list(self._streams.values()):
                st.reset = True  # the third party is gone: abandon what is in flight
                st.scope.cancel()
                st.wake()

    def _on_event(self, event: h2.events.Event, tg: anyio.abc.TaskGroup) -> bool:
        if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
            request = h2_request(
                (bytes(n).decode("latin-1"), bytes(v).decode("latin-1"))
                for n, v in event.headers or ()
            )
            st = _Stream(event.stream_id, request)
            self._streams[st.id] = st
            tg.start_soon(self._run_stream, st)
        elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            self._on_data(event)
        elif isinstance(event, h2.events.StreamEnded):
            ended = self._streams.get(event.stream_id or 0)
            if ended is not None:
                ended.ended = True
                ended.wake()
        elif isinstance(event, h2.events.StreamReset):
            reset = self._streams.get(event.stream_id or 0)
            if reset is not None:
                reset.reset = True
                reset.scope.cancel()
                reset.wake()
            self._window_changed()
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self._window_changed()
        elif isinstance(event, h2.events.ConnectionTerminated):
            return True
        return False

    def _refuse_streams(self) -> None:
        """Answer the streams whose header blocks were refused (see :mod:`.plaintext_h2_conn`)."""
        refused = self._conn.refused
        while refused:
            stream_id, problem = refused.popitem()
            st = self._streams.get(stream_id)
            too_large = problem == TOO_LARGE
            if st is not None:  # trailers of a request being served
                code = h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
                self._reset(st, code if too_large else h2.errors.ErrorCodes.PROTOCOL_ERROR)
                continue
            with suppress(h2.exceptions.H2Error):
                if not too_large:
                    self._conn.reset_stream(stream_id, h2.errors.ErrorCodes.PROTOCOL_ERROR)
                    continue
                logger.info("passthrough HTTP/2 request refused: header list too large")
                head = [(b":status", b"431"), (b"content-length", b"0")]
                self._conn.send_headers(stream_id, head, end_stream=True)
                stream = self._conn.streams.get(stream_id)
                if stream is not None and stream.open:  # its body need not be sent now
                    self._conn.reset_stream(stream_id, h2.errors.ErrorCodes.NO_ERROR)

    def _on_data(self, event: h2.events.DataReceived) -> None:
        stream_id = event.stream_id or 0
        data = event.data or b""
        length = event.flow_controlled_length or 0
        st = self._streams.get(stream_id)
        if st is None or st.reset:
            self._ack(stream_id, length)
            return
        st.received += len(data)
        if st.received > self._session.settings.options.max_inbound_body_bytes:
            self._reset(st, h2.errors.ErrorCodes.REFUSED_STREAM)
            self._ack(stream_id, length)
            return
        st.chunks.append((data, length))
        st.wake()

    def _ack(self, stream_id: int, length: int) -> None:
        if length:
            with suppress(h2.exceptions.H2Error):
                self._conn.acknowledge_received_data(length, stream_id)

    def _reset(self, st: _Stream, code: h2.errors.ErrorCodes) -> None:
        st.reset = True
        st.scope.cancel()
        st.wake()
        with suppress(h2.exceptions.H2Error):
            self._conn.reset_stream(st.id, code)

    # -- per-stream work ----------------------------------------------------------------

    async def _run_stream(self, st: _Stream) -> None:
        with st.scope:
            try:
                await self._dispatch(st)
            except _StreamGone:
                pass
            except Exception:
                logger.exception("passthrough HTTP/2 stream %s failed", st.id)
                self._reset(st, h2.errors.ErrorCodes.INTERNAL_ERROR)
        self._streams.pop(st.id, None)
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await self._flush()

    async def _dispatch(self, st: _Stream) -> None:
        request = st.request
        if not is_safe_path(request.target):
            await self._respond_text(st, 400, "invalid path")
        elif request.is_websocket:
            await self._websocket(st)
        elif request.method == "CONNECT":
            await self._respond_text(st, 405, "method not allowed")
        else:
            await self._forward(st)

    async def _body(self, st: _Stream) -> AsyncIterator[bytes]:
        while True:
            item = await self._take(st)
            if item is None:
                return
            if item:
                yield item

    async def _take(self, st: _Stream) -> bytes | None:
        item = await st.next_chunk()
        if item is None:
            return None
        data, length = item
        self._ack(st.id, length)
        await self._flush()
        return data

    async def _send_headers(self, st: _Stream, headers: Headers, *, end: bool = False) -> None:
        if st.reset:
            raise _StreamGone
        try:
            self._conn.send_headers(
                st.id, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers], end
            )
        except h2.exceptions.H2Error as exc:
            raise _StreamGone from exc
        await self._flush()

    async def _send_data(self, st: _Stream, data: bytes, *, end: bool = False) -> None:
        view = memoryview(data)
        while view:
            if st.reset:
                raise _StreamGone
            try:
                window = self._conn.local_flow_control_window(st.id)
            except h2.exceptions.H2Error as exc:
                raise _StreamGone from exc
            if window <= 0:
                await self._window.wait()
                continue
            size = min(window, len(view), self._conn.max_outbound_frame_size)
            self._conn.send_data(st.id, bytes(view[:size]))
            view = view[size:]
            await self._flush()
        if end:
            try:
                self._conn.end_stream(st.id)
            except h2.exceptions.H2Error as exc:
                raise _StreamGone from exc
            await self._flush()

    async def _respond_text(self, st: _Stream, status: int, text: str) -> None:
        body = text.encode()
        headers = [
            (":status", str(status)),
            ("content-type", "text/plain"),
            ("content-length", str(len(body))),
        ]
        await self._send_headers(st, headers)
        await self._send_data(st, body, end=True)

    async def _forward(self, st: _Stream) -> None:
        settings = self._session.settings
        request = st.request
        body: bytes | AsyncIterator[bytes] = b""
        if st.chunks or not (st.ended or st.reset):
            body = self._body(st)
        head_sent = False
        try:
            async with self._forwarder.open(local_request(settings, request, body)) as response:
                status = response.status
                bodyless = request.method == "HEAD" or status in (204, 304)
                headers = [
                    (n, v)
                    for n, v in local_response_headers(response.headers)
                    if n not in _H2_FORBIDDEN
                ]
                await self._send_headers(st, [(":status", str(status)), *headers])
                head_sent = True
                sent = 0
                async for chunk in response.body:
                    sent += len(chunk)
                    if sent > settings.options.max_outbound_body_bytes:
                        logger.warning("passthrough HTTP/2 response over the outbound cap")
                        self._reset(st, h2.errors.ErrorCodes.INTERNAL_ERROR)
                        return
                    if chunk and not bodyless:
                        await self._send_data(st, chunk)
                await self._send_data(st, b"", end=True)
        except _StreamGone:
            raise
        except Exception as exc:
            if st.reset:
                raise _StreamGone from exc
            if head_sent:
                logger.warning("passthrough HTTP/2 response aborted: %r", exc)
                self._reset(st, h2.errors.ErrorCodes.INTERNAL_ERROR)
            else:
                logger.warning("passthrough HTTP/2 dispatch failed: %r", exc)
                await self._respond_text(st, 502, "upstream error")

    async def _websocket(self, st: _Stream) -> None:
        session = self._session
        handshake = WSHandshake(
            raw_target=st.request.target,
            headers=[(n, v) for n, v in st.request.headers if not n.startswith(":")],
            http_version="2",
            wire_encoding="latin-1",
        )
        async with AsyncExitStack() as stack:
            try:
                local = await stack.enter_async_context(
                    open_local_websocket(
                        session.settings, handshake, accept_timeout=session.response_deadline
                    )
                )
            except WebSocketRefused as refusal:
                status = refusal_status(session.settings, refusal)
                await self._send_headers(
                    st,
                    [(":status", str(status)), ("inkbox-reason", "websocket-rejected")],
                    end=True,
                )
                return
            headers: Headers = [(":status", "200")]
            if local.subprotocol:
                headers.append(("sec-websocket-protocol", local.subprotocol))
            headers += [(n, v) for n, v in local.headers if n not in _H2_FORBIDDEN]
            await self._send_headers(st, headers)

            async def receive_bytes() -> bytes:
                return await self._take(st) or b""

            async def send_bytes(data: bytes) -> None:
                await self._send_data(st, data)

            peer = FramePeer(receive_bytes, send_bytes, require_mask=False)
            draining = self._stream.extra(TunnelAttribute.draining, None)
            await relay(peer, local, draining=draining)
        if not st.reset:
            await self._send_data(st, b"", end=True)


async def serve_h2(
    stream: anyio.abc.ByteStream, session: EdgeSession, forwarder: Forwarder
) -> None:
    """Serve HTTP/2 on ``stream`` until the third party's side ends and streams finish."""
    await _H2Server(stream, session, forwarder).run()
