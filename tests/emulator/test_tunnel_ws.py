"""WebSocket upgrades through an edge-mode tunnel (tunnels.md §3)."""

from __future__ import annotations

import base64
import socket
import threading
import time
from typing import Any

import httpx2
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from inkbox_emulator import Emulator

from .tunnel_agent_support import (
    AgentPool,
    EdgeAgent,
    Envelope,
    mask_frame,
    new_tunnel,
    parse_records,
    read_frames,
    record,
)


class Caller:
    """A blocking WebSocket client on the public listener (wsproto over a socket)."""

    def __init__(self, emu: Emulator, host: str, path: str = "/ws", **request: Any) -> None:
        address = emu.tunnel_public_url.removeprefix("http://").rsplit(":", 1)
        self.sock = socket.create_connection((address[0], int(address[1])), timeout=10)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: list[Event] = []
        self.sock.sendall(self.ws.send(Request(host=host, target=path, **request)))
        self.handshake = self.next()
        self.reject_body = b""
        if isinstance(self.handshake, RejectConnection) and self.handshake.has_body:
            while True:
                event = self.next()
                assert isinstance(event, RejectData)
                self.reject_body += event.data
                if event.body_finished:
                    break

    def next(self) -> Event:
        while not self.pending:
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)
            self.pending += list(self.ws.events())
            if not data and not self.pending:
                raise ConnectionError("closed")
        return self.pending.pop(0)

    def message(self) -> str | bytes:
        parts: list[Any] = []
        while True:
            event = self.next()
            if isinstance(event, TextMessage | BytesMessage):
                parts.append(event.data)
                if event.message_finished:
                    return "".join(parts) if isinstance(parts[0], str) else b"".join(parts)
            elif not isinstance(event, Pong):
                raise AssertionError(f"unexpected {event!r}")

    def send(self, event: Event) -> None:
        self.sock.sendall(self.ws.send(event))

    def close(self) -> None:
        self.sock.close()


class EchoBridge:
    """The agent's side: accepts the upgrade and echoes records back as ``echo:``."""

    def __init__(self, agent: EdgeAgent, *, bridge_delay: float = 0.0, reject: bool = False):
        self.agent = agent
        self.bridge_delay = bridge_delay
        self.reject = reject
        self.envelopes: list[Envelope] = []
        self.received: list[dict[str, Any]] = []
        self.frames: list[tuple[int, bytes]] = []
        self.done = threading.Event()

    def __call__(self, envelope: Envelope, agent: EdgeAgent) -> None:
        self.envelopes.append(envelope)
        if self.reject:
            agent.respond(envelope.request_id, 403, [("content-type", "text/plain")], b"nope")
            return
        offered = (envelope.header("inkbox-h-sec-websocket-protocol") or "").split(",")
        chosen = [("sec-websocket-protocol", "chat")] if "chat" in offered else []
        agent.respond(envelope.request_id, 200, [*chosen, ("x-app", "yes")])
        time.sleep(self.bridge_delay)
        ws_id = envelope.header("inkbox-ws-id")
        assert ws_id
        stream_id = agent.open_bridge("ws", ws_id)
        assert agent.streams[stream_id].status == 200
        try:
            self._echo(stream_id)
        finally:
            self.done.set()

    def _send(self, stream_id: int, message: dict[str, Any]) -> None:
        self.agent.send_data(stream_id, mask_frame(0x2, record(message)))

    def _echo(self, stream_id: int) -> None:
        stream = self.agent.streams[stream_id]
        frames, records = bytearray(), bytearray()
        while (chunk := stream.chunks.get(timeout=10)) is not None:
            frames += chunk
            for opcode, payload in read_frames(frames):
                self.frames.append((opcode, payload))
                if opcode != 0x2:
                    continue
                records += payload
                for message in parse_records(records):
                    self.received.append(message)
                    if message["type"] == "close":
                        self._send(stream_id, {"type": "close", "code": 1000, "reason": ""})
                        self.agent.send_data(
                            stream_id, mask_frame(0x8, (1000).to_bytes(2, "big")), end_stream=True
                        )
                        return
                    if message["type"] == "text" and message["data"] == "bye":
                        self._send(stream_id, {"type": "close", "code": 4001, "reason": "bye"})
                        self._send(stream_id, {"type": "close", "code": 1000, "reason": ""})
                        self.agent.send_data(
                            stream_id, mask_frame(0x8, (1000).to_bytes(2, "big")), end_stream=True
                        )
                        return
                    if message["type"] == "text" and message["data"] == "ping-me":
                        self.agent.send_data(stream_id, mask_frame(0x9, b"agent-ping"))
                        continue
                    if message["type"] == "text":
                        message = {"type": "text", "data": "echo:" + message["data"]}
                    self._send(stream_id, message)


def test_websocket_echo_through_bridge(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator
) -> None:
    tunnel = new_tunnel(admin, "ws-echo")
    agent = agents(tunnel["id"]).connect()
    bridge = EchoBridge(agent, bridge_delay=0.2)
    agent.serve(bridge)
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    caller = Caller(
        emu,
        tunnel["public_host"],
        "/ws/room?x=1",
        subprotocols=["chat", "other"],
        extra_headers=[(b"x-client", b"1")],
    )
    try:
        assert isinstance(caller.handshake, AcceptConnection)
        assert caller.handshake.subprotocol == "chat"
        assert (b"x-app", b"yes") in caller.handshake.extra_headers
        caller.send(TextMessage(data="early"))  # sent before the agent's bridge exists
        assert caller.message() == "echo:early"
        caller.send(TextMessage(data="hello"))
        assert caller.message() == "echo:hello"
        big = bytes(range(256)) * 800  # 200 KiB: more than one flow-control window
        caller.send(BytesMessage(data=big[:1000], message_finished=False))
        caller.send(BytesMessage(data=big[1000:]))
        assert caller.message() == big
        caller.send(Ping(payload=b"caller"))
        assert caller.next() == Pong(payload=b"caller")
        caller.send(TextMessage(data="ping-me"))
        caller.send(TextMessage(data="after-ping"))
        assert caller.message() == "echo:after-ping"
        caller.send(CloseConnection(code=1000, reason="done"))
        closing = caller.next()
        assert isinstance(closing, CloseConnection)
        assert bridge.done.wait(5)
    finally:
        caller.close()
    envelope = bridge.envelopes[0]
    assert envelope.header("inkbox-route-kind") == "ws-upgrade"
    assert envelope.header("inkbox-path") == "/ws/room?x=1"
    assert envelope.header("inkbox-method") == "GET"
    assert ("x-client", "1") in envelope.forwarded
    assert envelope.body == b""
    assert bridge.received[-1] == {"type": "close", "code": 1000, "reason": "done"}
    assert bridge.received[2] == {"type": "binary", "data": base64.b64encode(big).decode()}
    assert (0xA, b"agent-ping") in bridge.frames
    assert all(opcode in (0x2, 0xA) for opcode, _ in bridge.frames)


def test_agent_closes_with_its_code(admin: httpx2.Client, agents: AgentPool, emu: Emulator) -> None:
    tunnel = new_tunnel(admin, "ws-bye")
    agent = agents(tunnel["id"]).connect()
    bridge = EchoBridge(agent)
    agent.serve(bridge)
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    caller = Caller(emu, tunnel["public_host"])
    try:
        assert isinstance(caller.handshake, AcceptConnection)
        caller.send(TextMessage(data="bye"))
        event = caller.next()
        assert isinstance(event, CloseConnection)
        assert (event.code, event.reason) == (4001, "bye")
        caller.send(event.response())
    finally:
        caller.close()
    assert bridge.done.wait(5)


def test_agent_rejects_upgrade(admin: httpx2.Client, agents: AgentPool, emu: Emulator) -> None:
    tunnel = new_tunnel(admin, "ws-no")
    agent = agents(tunnel["id"]).connect()
    agent.serve(EchoBridge(agent, reject=True))
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    caller = Caller(emu, tunnel["public_host"])
    try:
        assert isinstance(caller.handshake, RejectConnection)
        assert caller.handshake.status_code == 403
        assert caller.reject_body == b"nope"
    finally:
        caller.close()


class RawBridge:
    """The agent's side: accepts the upgrade, sends ``wire`` on the bridge, keeps what comes back."""

    def __init__(self, agent: EdgeAgent, wire: bytes) -> None:
        self.agent = agent
        self.wire = wire
        self.frames: list[tuple[int, bytes]] = []
        self.done = threading.Event()

    def __call__(self, envelope: Envelope, agent: EdgeAgent) -> None:
        agent.respond(envelope.request_id, 200, [])
        ws_id = envelope.header("inkbox-ws-id")
        assert ws_id
        stream_id = agent.open_bridge("ws", ws_id)
        try:
            agent.send_data(stream_id, self.wire)
            stream = agent.streams[stream_id]
            frames = bytearray()
            while (chunk := stream.chunks.get(timeout=10)) is not None:
                frames += chunk
                self.frames += read_frames(frames)
        finally:
            self.done.set()


def test_a_record_split_over_continuation_frames_arrives_whole(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator
) -> None:
    tunnel = new_tunnel(admin, "ws-fragments")
    agent = agents(tunnel["id"]).connect()
    data = record({"type": "text", "data": "in pieces"})
    agent.serve(RawBridge(agent, mask_frame(0x2, data[:5], fin=False) + mask_frame(0x0, data[5:])))
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    caller = Caller(emu, tunnel["public_host"])
    try:
        assert isinstance(caller.handshake, AcceptConnection)
        assert caller.message() == "in pieces"
    finally:
        caller.close()


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        (b"\xc2\x80" + b"\x00" * 4, 1002),  # a reserved bit set (no extension was negotiated)
        (b"\x83\x80" + b"\x00" * 4, 1002),  # an unknown opcode
        (b"\x09\xfe\x00\x7e" + b"\x00" * 4 + b"p" * 126, 1002),  # a fragmented, oversized PING
    ],
)
def test_a_framing_violation_on_the_bridge_closes_both_ends_with_its_code(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator, wire: bytes, code: int
) -> None:
    tunnel = new_tunnel(admin, "ws-bad-frame")
    agent = agents(tunnel["id"]).connect()
    bridge = RawBridge(agent, wire)
    agent.serve(bridge)
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    caller = Caller(emu, tunnel["public_host"])
    try:
        assert isinstance(caller.handshake, AcceptConnection)
        event = caller.next()
        assert isinstance(event, CloseConnection)
        assert event.code == code
    finally:
        caller.close()
    assert bridge.done.wait(5)
    assert bridge.frames == [(0x8, code.to_bytes(2, "big"))]  # then END_STREAM
