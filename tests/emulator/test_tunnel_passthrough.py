"""Passthrough tunnels (tunnels.md §4): the edge forwards raw TLS; the agent terminates it."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from inkbox_emulator import Emulator

from .tunnel_agent_support import (
    AgentPool,
    EdgeAgent,
    Envelope,
    mask_frame,
    new_tunnel,
    read_frames,
)


def _signed_context(admin: httpx2.Client, tunnel: dict[str, Any], tmp: Path) -> ssl.SSLContext:
    """Sign a CSR for the tunnel and build the agent's TLS server context from it."""
    key = ec.generate_private_key(ec.SECP256R1())
    host = tunnel["public_host"]
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    signed = admin.post(
        f"/api/v1/tunnels/{tunnel['id']}/sign-csr",
        json={"csr_pem": csr.public_bytes(serialization.Encoding.PEM).decode()},
    )
    assert signed.status_code == 200, signed.text
    (tmp / "chain.pem").write_text(signed.json()["cert_pem"] + signed.json()["chain_pem"])
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "chain.pem", tmp / "key.pem")
    return context


class TlsEchoBridge:
    """The agent's side of a TCP bridge: terminates TLS in memory and answers ``pong:``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.envelopes: list[Envelope] = []
        self.plaintext = bytearray()
        self.caller_ended = threading.Event()

    def __call__(self, envelope: Envelope, agent: EdgeAgent) -> None:
        self.envelopes.append(envelope)
        tcp_id = envelope.header("inkbox-tcp-id")
        assert tcp_id
        stream_id = agent.open_bridge("tcp", tcp_id)
        assert agent.streams[stream_id].status == 200
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context.wrap_bio(incoming, outgoing, server_side=True)
        frames = bytearray()
        stream = agent.streams[stream_id]

        def flush() -> None:
            if data := outgoing.read():
                agent.send_data(stream_id, mask_frame(0x2, data))

        while (chunk := stream.chunks.get(timeout=10)) is not None:
            frames += chunk
            for opcode, payload in read_frames(frames):
                assert opcode == 0x2
                incoming.write(payload)
            with contextlib.suppress(ssl.SSLWantReadError):
                tls.do_handshake()
                while data := tls.read(65536):
                    self.plaintext += data
                    tls.write(b"pong:" + data)
            flush()
        self.caller_ended.set()
        agent.send_data(stream_id, mask_frame(0x8, (1000).to_bytes(2, "big")), end_stream=True)


def _edge_socket(emu: Emulator) -> socket.socket:
    host, port = emu.tunnel_edge.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def test_passthrough_pumps_raw_tls(
    admin: httpx2.Client, agents: AgentPool, emu: Emulator, tmp_path: Path
) -> None:
    tunnel = new_tunnel(admin, "pt-echo", "passthrough")
    bridge = TlsEchoBridge(_signed_context(admin, tunnel, tmp_path))
    agent = agents(tunnel["id"]).connect()
    agent.serve(bridge)
    emu.wait_for_tunnel(tunnel["tunnel_name"])
    client = ssl.create_default_context(cafile=emu.tunnel_ca_file)
    with (
        _edge_socket(emu) as raw,
        client.wrap_socket(raw, server_hostname=tunnel["public_host"]) as tls,
    ):
        tls.sendall(b"ping")
        assert tls.recv(100) == b"pong:ping"
        big = b"y" * 300_000
        tls.sendall(big)
        received = b""
        while received.count(b"y") < len(big):
            chunk = tls.recv(1 << 16)
            assert chunk, "the bridge closed early"
            received += chunk
    assert bridge.caller_ended.wait(5)
    envelope = bridge.envelopes[0]
    assert envelope.header("inkbox-route-kind") == "tcp-stream"
    assert envelope.header("inkbox-sni-host") == tunnel["public_host"]
    assert envelope.header("inkbox-request-id")
    assert envelope.body == b""
    assert bridge.plaintext.startswith(b"ping")


def test_unsigned_passthrough_and_unknown_hosts_are_closed(
    admin: httpx2.Client, emu: Emulator
) -> None:
    tunnel = new_tunnel(admin, "pt-unsigned", "passthrough")
    client = ssl.create_default_context(cafile=emu.tunnel_ca_file)
    for host in (tunnel["public_host"], "nobody-here.inkboxwire.com"):
        with _edge_socket(emu) as raw, pytest.raises((ssl.SSLError, OSError)):
            client.wrap_socket(raw, server_hostname=host)
