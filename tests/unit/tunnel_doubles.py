"""In-memory doubles of the tunnel edge for handler tests: an EdgeSession and its bridges."""

from __future__ import annotations

import contextlib
import ssl
from collections import deque
from typing import Any, Generic, TypeVar

import anyio
import anyio.abc
import attrs

from inkbox_async._tunnel.contracts import (
    ASGIApp,
    BridgeRefusedError,
    Headers,
    Reply,
    TunnelSettings,
)
from inkbox_async._tunnel.options import ConnectOptions
from inkbox_wire.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    EnvelopeDecoder,
    Frame,
    FrameDecoder,
    WSMessage,
    encode_envelope,
    encode_frame,
)

T = TypeVar("T")


def make_settings(
    forward_to: str | ASGIApp,
    *,
    passthrough_ssl_context: ssl.SSLContext | None = None,
    enable_h2_transcode: bool = True,
    max_inbound_body_bytes: int = 32 * 1024 * 1024,
    max_outbound_body_bytes: int = 32 * 1024 * 1024,
) -> TunnelSettings:
    options = ConnectOptions(
        name="my-agent",
        forward_to=forward_to,
        enable_h2_transcode=enable_h2_transcode,
        max_inbound_body_bytes=max_inbound_body_bytes,
        max_outbound_body_bytes=max_outbound_body_bytes,
    )
    return TunnelSettings(
        options=options,
        tunnel_id="6b1c3c4e-0000-4000-8000-000000000001",
        api_key="ApiKey_test",
        public_host="my-agent.inkboxwire.test",
        zone_host="inkboxwire.test",
        edge_host="127.0.0.1",
        tls_mode="passthrough" if passthrough_ssl_context else "edge",
        passthrough_ssl_context=passthrough_ssl_context,
    )


class Channel(Generic[T]):
    """An unbounded in-memory queue; ``get`` returns ``None`` once closed and drained."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._closed = False
        self._arrived = anyio.Event()

    def put(self, item: T) -> None:
        self._items.append(item)
        self._arrived.set()

    def close(self) -> None:
        self._closed = True
        self._arrived.set()

    async def get(self) -> T | None:
        while not self._items:
            if self._closed:
                return None
            self._arrived = anyio.Event()
            await self._arrived.wait()
        return self._items.popleft()


class FakeBridge:
    """The agent's view of one bridge stream; the test plays the edge through ``edge_*``."""

    def __init__(self) -> None:
        self._to_agent: Channel[bytes | Exception] = Channel()
        self._from_agent: Channel[bytes] = Channel()
        self.credited = 0
        self.received = 0
        self.ended = False
        self.was_reset = False
        self.draining = anyio.Event()

    # -- BridgeStream ------------------------------------------------------------------

    async def receive(self) -> bytes:
        item = await self._to_agent.get()
        if item is None:
            return b""
        if isinstance(item, Exception):
            raise item
        self.received += len(item)
        return item

    def consumed(self, n: int) -> None:
        self.credited += n

    async def send(self, data: bytes, *, end_stream: bool = False) -> None:
        if self.ended:
            raise RuntimeError("send after END_STREAM")
        if data:
            self._from_agent.put(data)
        if end_stream:
            self.ended = True
            self._from_agent.close()

    async def end(self) -> None:
        if not self.ended:
            await self.send(b"", end_stream=True)

    def reset(self) -> None:
        self.was_reset = True

    # -- the edge's side ---------------------------------------------------------------

    def edge_send(self, data: bytes) -> None:
        self._to_agent.put(data)

    def edge_end(self) -> None:
        self._to_agent.close()

    def edge_reset(self) -> None:
        self._to_agent.put(ConnectionResetError("RST_STREAM"))

    async def edge_read(self) -> bytes:
        """Next chunk the agent sent; ``b""`` after END_STREAM."""
        return await self._from_agent.get() or b""


class EdgeWS:
    """The edge end of a WS bridge: envelopes in outer frames, both directions."""

    def __init__(self, bridge: FakeBridge) -> None:
        self.bridge = bridge
        self.frames = FrameDecoder()
        self.envelopes = EnvelopeDecoder()
        self.pending: list[Frame] = []
        self.raw: list[bytes] = []

    def send(self, message: WSMessage) -> None:
        self.bridge.edge_send(encode_frame(OP_BINARY, encode_envelope(message), mask=False))

    def send_close_frame(self, payload: bytes) -> None:
        self.bridge.edge_send(encode_frame(OP_CLOSE, payload, mask=False))

    async def frame(self) -> Frame | None:
        """The next outer frame the agent sent (``None`` after END_STREAM)."""
        while not self.pending:
            data = await self.bridge.edge_read()
            if not data:
                return None
            self.raw.append(data)
            self.pending.extend(self.frames.feed(data))
        return self.pending.pop(0)

    async def message(self) -> WSMessage | None:
        """The next envelope (skipping other frames); ``None`` at END_STREAM."""
        while True:
            frame = await self.frame()
            if frame is None:
                return None
            if frame.opcode == OP_BINARY:
                messages = self.envelopes.feed(frame.payload)
                assert len(messages) == 1, "one envelope per outer frame"
                return messages[0]


@attrs.define
class OpenedBridge:
    path: str
    protocol: str
    headers: Headers
    timeout: float | None
    bridge: FakeBridge


class FakeSession:
    """An EdgeSession that records replies and hands out :class:`FakeBridge` objects."""

    def __init__(
        self,
        settings: TunnelSettings,
        *,
        response_deadline: float | None = 30.0,
        refuse_bridge: bool = False,
    ) -> None:
        self.settings = settings
        self.response_deadline = response_deadline
        self.replies: list[tuple[str, Reply]] = []
        self.bridges: list[OpenedBridge] = []
        self.refuse_bridge = refuse_bridge
        self.replied = anyio.Event()
        self.bridge_opened = anyio.Event()
        self.next_bridge = FakeBridge()

    async def post_reply(self, request_id: str, reply: Reply) -> None:
        self.replies.append((request_id, reply))
        self.replied.set()

    async def open_bridge(
        self, path: str, protocol: str, headers: Headers, *, timeout: float | None
    ) -> FakeBridge:
        if self.refuse_bridge:
            raise BridgeRefusedError("refused")
        bridge = self.next_bridge
        self.bridges.append(OpenedBridge(path, protocol, headers, timeout, bridge))
        self.bridge_opened.set()
        return bridge


class WSEchoServer:
    """A real WebSocket server on loopback (wsproto over anyio TCP) for URL-target tests.

    Echoes text as ``echo:{text}`` and bytes unchanged; ``close-me`` makes it close
    with 4002 "done"; ``ping-me`` makes it send a PING (the PONG is recorded).
    """

    def __init__(self, *, status: int = 101, subprotocol: str | None = None) -> None:
        self.status = status
        self.subprotocol = subprotocol
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []
        self.received: list[object] = []
        self.closed_with: list[int | None] = []
        self.pongs: list[bytes] = []
        self.port = 0

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener:
            task_status.started()
            await listener.serve(self._serve)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/base/"

    async def _serve(self, stream: anyio.abc.SocketStream) -> None:
        from wsproto import ConnectionType, WSConnection
        from wsproto import events as ev

        ws = WSConnection(ConnectionType.SERVER)
        partial: list[Any] = []
        async with stream:
            while True:
                try:
                    data = await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
                ws.receive_data(data)
                out = b""
                done = False
                for event in ws.events():
                    if isinstance(event, ev.Request):
                        self.requests.append(
                            (
                                event.target,
                                [(k.decode(), v.decode()) for k, v in event.extra_headers],
                            )
                        )
                        if self.status != 101:
                            out += ws.send(
                                ev.RejectConnection(status_code=self.status, has_body=False)
                            )
                            done = True
                        else:
                            out += ws.send(
                                ev.AcceptConnection(
                                    subprotocol=self.subprotocol,
                                    extra_headers=[(b"set-cookie", b"a=1"), (b"x-up", b"1")],
                                )
                            )
                    elif isinstance(event, ev.Message) and not event.message_finished:
                        partial.append(event.data)
                    elif isinstance(event, ev.Message) and partial:
                        partial.append(event.data)
                        whole = (
                            "".join(partial) if isinstance(event.data, str) else b"".join(partial)
                        )
                        partial.clear()
                        self.received.append(whole)
                        if isinstance(whole, str):
                            out += ws.send(ev.TextMessage(data="echo:" + whole))
                        else:
                            out += ws.send(ev.BytesMessage(data=whole))
                    elif isinstance(event, ev.TextMessage):
                        self.received.append(event.data)
                        if event.data == "close-me":
                            out += ws.send(ev.CloseConnection(code=4002, reason="done"))
                        elif event.data == "ping-me":
                            out += ws.send(ev.Ping(payload=b"hey"))
                        else:
                            out += ws.send(ev.Message(data="echo:" + event.data))
                    elif isinstance(event, ev.BytesMessage):
                        self.received.append(bytes(event.data))
                        out += ws.send(ev.Message(data=bytes(event.data)))
                    elif isinstance(event, ev.Ping):
                        out += ws.send(event.response())
                    elif isinstance(event, ev.Pong):
                        self.pongs.append(bytes(event.payload))
                    elif isinstance(event, ev.CloseConnection):
                        self.closed_with.append(event.code)
                        if ws.state.name == "REMOTE_CLOSING":
                            out += ws.send(event.response())
                        done = True
                if out:
                    try:
                        await stream.send(out)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return
                if done:
                    return


PUBLIC_HOST = "my-agent.inkboxwire.test"


def make_tls_contexts(host: str = PUBLIC_HOST) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA and leaf for ``host``: (server context, client context trusting the CA)."""
    import datetime
    import tempfile
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    with tempfile.TemporaryDirectory() as tmp:
        chain = Path(tmp, "chain.pem")
        chain.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
        key_file = Path(tmp, "key.pem")
        key_file.write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(chain, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, client


class ThirdPartyTLS:
    """A third party's TLS client whose TCP bytes travel through a :class:`FakeBridge`.

    It plays the edge too: its bytes go in unmasked BINARY frames; the agent's
    BINARY payloads are fed to the client; the agent's CLOSE is recorded.
    """

    def __init__(
        self, bridge: FakeBridge, context: ssl.SSLContext, alpn: list[str] | None = None
    ) -> None:
        self.bridge = bridge
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        if alpn:
            context.set_alpn_protocols(alpn)
        self.tls = context.wrap_bio(self._in, self._out, server_hostname=PUBLIC_HOST)
        self._frames = FrameDecoder()
        self.close_frame: bytes | None = None
        self.stream_ended = False

    def _push(self) -> None:
        data = self._out.read()
        if data:
            self.bridge.edge_send(encode_frame(OP_BINARY, data, mask=False))

    async def _pull(self) -> bool:
        data = await self.bridge.edge_read()
        if not data:
            self.stream_ended = True
            self._in.write_eof()
            return False
        for frame in self._frames.feed(data):
            assert data[1] & 0x80, "agent frames are masked"
            if frame.opcode == OP_BINARY:
                self._in.write(frame.payload)
            elif frame.opcode == OP_CLOSE:
                self.close_frame = frame.payload
        return True

    async def handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                self._push()
                return
            except ssl.SSLWantReadError:
                self._push()
                if not await self._pull():
                    raise ConnectionError("bridge ended during the handshake") from None

    def send(self, data: bytes) -> None:
        self.tls.write(data)
        self._push()

    async def receive(self) -> bytes:
        """Plaintext; ``b""`` at close_notify or the end of the bridge."""
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                self._push()
                if not await self._pull():
                    continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    async def read_all(self) -> bytes:
        data = b""
        while chunk := await self.receive():
            data += chunk
        return data

    async def drain(self) -> None:
        """Read until the agent ended the bridge."""
        while not self.stream_ended:
            await self._pull()

    def close(self) -> None:
        """close_notify, then the third party's TCP close (the edge ends the stream)."""
        with contextlib.suppress(ssl.SSLError):
            self.tls.unwrap()
        self._push()
        self.bridge.edge_end()
