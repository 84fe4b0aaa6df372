"""A small blocking tunnel agent (HTTP/2 over TLS) for driving the emulator's edge in tests.

Written from tunnels.md: it dials ``emu.tunnel_edge`` with SNI = the zone and
ALPN ``h2`` (trusting only the emulator's CA), and exposes the protocol steps
one by one: hello, parking intakes, reading envelopes, response POSTs,
extended-CONNECT bridges, PINGs. TLS runs over memory BIOs so one reader
thread and any number of writer threads can share the socket safely.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    PingAckReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import H2Error
from hyperframe.frame import Frame, GoAwayFrame

from inkbox_emulator import Emulator

from .conftest import create_identity, unique

Headers = list[tuple[str, str]]


def mask_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A masked RFC 6455 frame (the agent is the client role)."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head.append(0x80 | n)
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes(head) + key + masked


def read_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Complete (opcode, payload) frames removed from the front of ``buffer``."""
    out: list[tuple[int, bytes]] = []
    while len(buffer) >= 2:
        n, pos = buffer[1] & 0x7F, 2
        if n == 126:
            if len(buffer) < 4:
                break
            n, pos = int.from_bytes(buffer[2:4], "big"), 4
        elif n == 127:
            if len(buffer) < 10:
                break
            n, pos = int.from_bytes(buffer[2:10], "big"), 10
        assert not buffer[1] & 0x80, "the edge sends unmasked frames"
        if len(buffer) < pos + n:
            break
        out.append((buffer[0] & 0x0F, bytes(buffer[pos : pos + n])))
        del buffer[: pos + n]
    return out


def record(message: dict[str, Any]) -> bytes:
    """A length-prefixed JSON bridge record."""
    body = json.dumps(message, separators=(",", ":")).encode()
    return len(body).to_bytes(4, "big") + body


def parse_records(buffer: bytearray) -> list[dict[str, Any]]:
    """Complete records removed from the front of ``buffer``."""
    out: list[dict[str, Any]] = []
    while len(buffer) >= 4:
        n = int.from_bytes(buffer[:4], "big")
        if len(buffer) < 4 + n:
            break
        out.append(json.loads(bytes(buffer[4 : 4 + n])))
        del buffer[: 4 + n]
    return out


@dataclass
class Stream:
    """What the agent received on one stream."""

    status: int | None = None
    headers: Headers = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    chunks: queue.Queue[bytes | None] = field(default_factory=queue.Queue)
    ended: bool = False
    reset: int | None = None

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name), None)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]


@dataclass
class Envelope:
    """One envelope delivered on a parked intake."""

    stream_id: int
    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name), None)

    @property
    def request_id(self) -> str:
        value = self.header("inkbox-request-id")
        assert value is not None
        return value

    @property
    def forwarded(self) -> Headers:
        """The third party's headers (``inkbox-h-*`` with the prefix removed), in order."""
        return [(n[9:], v) for n, v in self.headers if n.startswith("inkbox-h-")]


class _LenientH2(H2Connection):
    """An h2 client that records GOAWAY but keeps its streams usable, like an agent that
    finishes in-flight work on a draining connection (the h2 library would refuse every
    frame after a GOAWAY)."""

    def _receive_goaway_frame(self, frame: GoAwayFrame) -> tuple[list[Frame], list[Event]]:
        event = ConnectionTerminated()
        event.error_code = frame.error_code
        event.last_stream_id = frame.last_stream_id
        event.additional_data = frame.additional_data or None
        return [], [event]


class EdgeAgent:
    """One agent connection to the emulator's edge."""

    def __init__(
        self,
        emu: Emulator,
        tunnel_id: str,
        api_key: str,
        *,
        server_hostname: str | None = None,
    ) -> None:
        self.tunnel_id = tunnel_id
        self.api_key = api_key
        self.zone = emu.tunnel_zone
        host, port = emu.tunnel_edge.rsplit(":", 1)
        context = ssl.create_default_context(cadata=emu.tunnel_ca_pem.decode())
        context.set_alpn_protocols(["h2"])
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(
            self._in, self._out, server_hostname=server_hostname or emu.tunnel_zone
        )
        self._handshake()
        self.sock.settimeout(None)
        self.alpn = self.tls.selected_alpn_protocol()
        self.h2 = _LenientH2(H2Configuration(client_side=True, header_encoding="utf-8"))
        self.cond = threading.Condition(threading.RLock())
        self.streams: dict[int, Stream] = {}
        self.goaways: list[ConnectionTerminated] = []
        self.ping_acks: list[bytes] = []
        self.closed = False
        self.owner_token: str | None = None
        self.pool_size = 0
        self.parked: list[int] = []
        self.auto_credit = True
        with self.cond:
            self.h2.initiate_connection()
            self._flush()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._serving: threading.Thread | None = None

    # -- transport -----------------------------------------------------------------

    def _handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._send_tls()
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("edge closed during the handshake") from None
                self._in.write(data)
        self._send_tls()

    def _send_tls(self) -> None:
        data = self._out.read()
        if data:
            self.sock.sendall(data)

    def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.closed:
            self.tls.write(data)
            try:
                self._send_tls()
            except OSError:
                self.closed = True

    def _read_loop(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                with self.cond:
                    self._in.write(data)
                    plain = bytearray()
                    try:
                        while True:
                            plain += self.tls.read(65536)
                    except ssl.SSLWantReadError:
                        pass
                    except ssl.SSLZeroReturnError:
                        break
                    try:
                        events = self.h2.receive_data(bytes(plain))
                    except H2Error:
                        break
                    for event in events:
                        self._on_event(event)
                    self._flush()
                    self.cond.notify_all()
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.cond:
                self.closed = True
                for stream in self.streams.values():
                    stream.chunks.put(None)
                self.cond.notify_all()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, ResponseReceived):
            stream = self.streams.setdefault(event.stream_id, Stream())
            stream.headers = [(str(n), str(v)) for n, v in event.headers]
            stream.status = int(stream.header(":status") or 0)
        elif isinstance(event, DataReceived):
            stream = self.streams.setdefault(event.stream_id, Stream())
            stream.data += event.data
            stream.chunks.put(bytes(event.data))
            if self.auto_credit:
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, StreamEnded):
            stream = self.streams.setdefault(event.stream_id, Stream())
            stream.ended = True
            stream.chunks.put(None)
        elif isinstance(event, StreamReset):
            stream = self.streams.setdefault(event.stream_id, Stream())
            stream.reset = int(event.error_code)
            stream.chunks.put(None)
        elif isinstance(event, ConnectionTerminated):
            self.goaways.append(event)
        elif isinstance(event, PingAckReceived):
            self.ping_acks.append(bytes(event.ping_data))

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def close(self) -> None:
        """Close the TCP connection (no GOAWAY, like the 0.4.4 agent)."""
        with self.cond:
            self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._reader.join(5)
        if self._serving is not None:
            self._serving.join(5)

    # -- streams ---------------------------------------------------------------------

    def open(self, headers: Headers, body: bytes = b"", *, end_stream: bool = True) -> int:
        """Open a stream with ``headers`` (+ body); returns its id."""
        with self.cond:
            stream_id = self.h2.get_next_available_stream_id()
            self.streams[stream_id] = Stream()
            self.h2.send_headers(stream_id, headers, end_stream=end_stream and not body)
            self._flush()
        if body:
            self.send_data(stream_id, body, end_stream=end_stream)
        return stream_id

    def send_data(self, stream_id: int, data: bytes, *, end_stream: bool = False) -> None:
        """Send DATA within the edge's windows."""
        view = memoryview(data)
        with self.cond:
            while True:
                if not view:
                    if end_stream:
                        self.h2.end_stream(stream_id)
                        self._flush()
                    return
                self.cond.wait_for(
                    lambda: self.closed or self.h2.local_flow_control_window(stream_id) > 0, 10
                )
                if self.closed:
                    raise ConnectionError("connection closed")
                size = min(
                    self.h2.local_flow_control_window(stream_id),
                    self.h2.max_outbound_frame_size,
                    len(view),
                )
                last = size == len(view)
                self.h2.send_data(stream_id, bytes(view[:size]), end_stream=end_stream and last)
                self._flush()
                view = view[size:]
                if last:
                    return

    def result(self, stream_id: int, timeout: float = 10.0) -> Stream:
        """The stream once it ended (or was reset)."""
        stream = self.streams[stream_id]
        assert self.wait(lambda: stream.ended or stream.reset is not None or self.closed, timeout)
        return stream

    def _base(self, path: str, method: str = "POST") -> Headers:
        return [
            (":method", method),
            (":scheme", "https"),
            (":authority", self.zone),
            (":path", path),
            ("x-tunnel-id", self.tunnel_id),
        ]

    # -- protocol steps ------------------------------------------------------------------

    def hello(self, *, pool_size: int | None = None, api_key: str | None = None) -> Stream:
        """``POST /_system/hello``; remembers the owner token and pool size on 200."""
        headers = [*self._base("/_system/hello"), ("x-api-key", api_key or self.api_key)]
        headers.append(("content-length", "0"))
        if pool_size is not None:
            headers.append(("x-pool-size", str(pool_size)))
        stream = self.result(self.open(headers))
        if stream.status == 200:
            body = json.loads(bytes(stream.data))
            self.owner_token = body["owner_token"]
            self.pool_size = body["default_pool_size"]
        return stream

    def park(self, count: int | None = None, *, token: str | None = None) -> list[int]:
        """Open ``count`` intake streams (default: the pool size)."""
        ids = []
        for slot in range(self.pool_size if count is None else count):
            headers = [
                *self._base("/_system/intake"),
                ("x-owner-token", token or self.owner_token or ""),
                ("x-pool-slot", str(slot)),
                ("content-length", "0"),
            ]
            ids.append(self.open(headers))
        with self.cond:
            self.parked += ids
        return ids

    def next_envelope(self, timeout: float = 10.0) -> Envelope:
        """The first parked intake answered (any status); it leaves the parked list."""

        def answered() -> int | None:
            for stream_id in self.parked:
                stream = self.streams[stream_id]
                if stream.ended or stream.reset is not None:
                    return stream_id
            return None

        assert self.wait(lambda: answered() is not None, timeout), "no envelope arrived"
        with self.cond:
            stream_id = answered()
            assert stream_id is not None
            self.parked.remove(stream_id)
            stream = self.streams[stream_id]
            return Envelope(stream_id, stream.status or 0, stream.headers, bytes(stream.data))

    def respond(
        self,
        request_id: str,
        status: int = 200,
        headers: Headers | None = None,
        body: bytes = b"",
        *,
        api_key: str | None = None,
    ) -> Stream:
        """``POST /_system/response/{request_id}``; returns the edge's answer."""
        all_headers = [
            *self._base(f"/_system/response/{request_id}"),
            ("x-api-key", api_key or self.api_key),
            ("inkbox-status", str(status)),
            ("inkbox-request-id", request_id),
            ("content-length", str(len(body))),
            *[(f"inkbox-h-{n.lower()}", v) for n, v in headers or []],
        ]
        return self.result(self.open(all_headers, body), timeout=30)

    def open_bridge(self, kind: str, bridge_id: str) -> int:
        """Extended CONNECT ``/_system/{kind}/{bridge_id}``; returns the stream id."""
        protocol = f"inkbox-tunnel-{kind}"
        headers = [
            (":method", "CONNECT"),
            (":scheme", "https"),
            (":authority", self.zone),
            (":path", f"/_system/{kind}/{bridge_id}"),
            (":protocol", protocol),
            ("sec-websocket-version", "13"),
            ("x-tunnel-id", self.tunnel_id),
            ("x-api-key", self.api_key),
            (f"inkbox-{kind}-id", bridge_id),
        ]
        stream_id = self.open(headers, end_stream=False)
        stream = self.streams[stream_id]
        assert self.wait(lambda: stream.status is not None or stream.ended or self.closed)
        return stream_id

    def ping(self, payload: bytes = b"12345678", timeout: float = 2.0) -> bool:
        """Send a PING; whether its ACK came within ``timeout``."""
        with self.cond:
            self.h2.ping(payload)
            self._flush()
        return self.wait(lambda: payload in self.ping_acks, timeout)

    def connect(self, *, pool_size: int | None = None) -> EdgeAgent:
        """hello (asserting 200) and park the whole pool."""
        stream = self.hello(pool_size=pool_size)
        assert stream.status == 200, (stream.status, bytes(stream.data))
        self.park()
        return self

    # -- auto-serving ----------------------------------------------------------------------

    def serve(
        self, handler: Callable[[Envelope, EdgeAgent], tuple[int, Headers, bytes] | None]
    ) -> None:
        """Answer envelopes in the background: re-park each slot at once and post
        ``handler(envelope, agent)`` (``None`` = no response POST)."""

        def loop() -> None:
            while not self.closed:
                try:
                    envelope = self.next_envelope(timeout=0.2)
                except AssertionError:
                    continue
                if self.closed:
                    return
                if envelope.status == 200:
                    self.park(1)
                threading.Thread(target=answer, args=(envelope,), daemon=True).start()

        def answer(envelope: Envelope) -> None:
            if envelope.status != 200 or envelope.header("inkbox-request-id") is None:
                return
            try:
                reply = handler(envelope, self)
                if reply is not None:
                    self.respond(envelope.request_id, *reply)
            except (ConnectionError, OSError, AssertionError):
                pass

        self._serving = threading.Thread(target=loop, daemon=True)
        self._serving.start()


def echo_handler(envelope: Envelope, agent: EdgeAgent) -> tuple[int, Headers, bytes]:
    """Reply with a JSON summary of the envelope and two Set-Cookie headers."""
    summary = {
        "method": envelope.header("inkbox-method"),
        "path": envelope.header("inkbox-path"),
        "route_kind": envelope.header("inkbox-route-kind"),
        "forwarded_for": envelope.header("inkbox-forwarded-for"),
        "headers": envelope.forwarded,
        "body_uri": envelope.header("inkbox-body-uri"),
        "body_b64": base64.b64encode(envelope.body).decode(),
    }
    headers = [("content-type", "application/json"), ("set-cookie", "a=1"), ("set-cookie", "b=2")]
    return 201, headers, json.dumps(summary).encode()


def new_tunnel(
    client: httpx2.Client, prefix: str = "tun", tls_mode: str = "edge"
) -> dict[str, Any]:
    """A fresh identity; returns its Tunnel record."""
    identity = create_identity(client, unique(prefix), tunnel={"tls_mode": tls_mode})
    tunnel: dict[str, Any] = identity["tunnel"]
    tunnel["identity_id"] = identity["id"]
    return tunnel


class AgentPool:
    """Creates agents and closes every one of them at teardown."""

    def __init__(self, emu: Emulator, api_key: str) -> None:
        self.emu = emu
        self.api_key = api_key
        self.agents: list[EdgeAgent] = []

    def __call__(self, tunnel_id: str, api_key: str | None = None, **kwargs: Any) -> EdgeAgent:
        agent = EdgeAgent(self.emu, tunnel_id, api_key or self.api_key, **kwargs)
        self.agents.append(agent)
        return agent

    def close(self) -> None:
        for agent in self.agents:
            agent.close()


@contextlib.contextmanager
def agent_pool(emu: Emulator, api_key: str) -> Iterator[AgentPool]:
    pool = AgentPool(emu, api_key)
    try:
        yield pool
    finally:
        pool.close()
