"""Tunnels end to end: the SDK's agent serves public requests through the emulator's edge."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inkbox_async import (
    AsyncInkbox,
    ConflictError,
    ForwardingRefusedError,
    InvalidArgumentError,
    NotFoundError,
    TunnelAuthError,
    TunnelNotProvisionedError,
    TunnelSupersededError,
)
from inkbox_emulator import Emulator

pytestmark = pytest.mark.usefixtures("home")


def handle(prefix: str = "tun") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def options(emulator: Emulator, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """Point the data plane at the emulator's edge and keep state under ``tmp_path``."""
    return {
        "edge": emulator.tunnel_edge,
        "edge_ca": emulator.tunnel_ca_pem,
        "state_dir": str(tmp_path / "state"),
        **extra,
    }


async def prepare(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    forward_to: Any,
    *,
    prefix: str = "tun",
    **extra: Any,
) -> tuple[str, Any]:
    """A new identity and the listener for its tunnel (not yet serving)."""
    name = handle(prefix)
    await inkbox.create_identity(name)
    listener = await inkbox.tunnels.connect(
        name=name, forward_to=forward_to, **options(emulator, tmp_path, **extra)
    )
    return name, listener


def echoed(body: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(body)
    return result


async def test_asgi_app_serves_public_requests(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name, listener = await prepare(inkbox, emulator, tmp_path, asgi_app)
    assert listener.public_url == f"https://{name}.{emulator.tunnel_zone}"
    assert listener.status == "idle"
    async with listener.running():
        assert listener.status == "connected"
        identity = await inkbox.get_identity(name)
        assert identity.tunnel is not None  # a summary; the live state is on the full tunnel
        assert (await inkbox.tunnels.get(identity.tunnel.id)).currently_connected
        response = await call_in_thread(
            third_party.http,
            name,
            "POST",
            "/hooks/github?delivery=42",
            headers=[
                ("Content-Type", "application/json"),
                ("X-Multi", "a"),
                ("X-Multi", "b"),
                ("X-Forwarded-For", "6.6.6.6"),
            ],
            body=b'{"action":1}',
        )
    assert listener.status == "closed"
    assert response.status == 200
    assert response.header("set-cookie") == ["a=1", "b=2"]
    seen = echoed(response.body)
    assert seen["method"] == "POST"
    assert seen["path"] == "/hooks/github" and seen["query"] == "delivery=42"
    assert seen["scheme"] == "https"
    assert seen["client"] == ["127.0.0.1", 0]
    assert seen["server"] == [f"{name}.{emulator.tunnel_zone}", 443]
    headers = seen["headers"]
    assert headers[:3] == [
        ["host", f"{name}.{emulator.tunnel_zone}"],
        ["x-forwarded-host", f"{name}.{emulator.tunnel_zone}"],
        ["x-forwarded-proto", "https"],
    ]
    assert ["x-forwarded-for", "127.0.0.1"] in headers
    assert ["x-forwarded-for", "6.6.6.6"] not in headers
    assert [h for h in headers if h[0] == "x-multi"] == [["x-multi", "a"], ["x-multi", "b"]]
    assert seen["body_length"] == 12


async def test_url_target_gets_the_request_and_its_headers(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    upstream: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name, listener = await prepare(inkbox, emulator, tmp_path, upstream.url + "/base/")
    async with listener.running():
        posted = await call_in_thread(
            third_party.http, name, "POST", "/x/y?q=1&r=%20", body=b"payload"
        )
        cookies = await call_in_thread(third_party.http, name, "GET", "/cookies")
    assert posted.status == 201
    seen = echoed(posted.body)
    assert seen["path"] == "/base/x/y?q=1&r=%20"
    assert seen["body_length"] == 7
    headers = dict(seen["headers"])
    assert headers["host"] == upstream.url.removeprefix("http://")
    assert headers["x-forwarded-host"] == f"{name}.{emulator.tunnel_zone}"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["forwarded"] == "for=127.0.0.1"
    assert cookies.header("set-cookie") == ["a=1", "b=2"]


async def test_large_bodies_stream_both_ways(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    upstream: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name, listener = await prepare(inkbox, emulator, tmp_path, upstream.url)
    upload = os.urandom(5 * 1024 * 1024)
    async with listener.running():
        posted = await call_in_thread(third_party.http, name, "POST", "/upload", body=upload)
        downloaded = await call_in_thread(third_party.http, name, "GET", f"/big/{6 * 1024 * 1024}")
    seen = echoed(posted.body)
    assert seen["body_length"] == len(upload)
    assert seen["body_sha256"] == hashlib.sha256(upload).hexdigest()
    assert downloaded.status == 200
    assert downloaded.body == bytes(range(256)) * (6 * 1024 * 1024 // 256)


async def test_bodies_at_the_32_mib_limits(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    upstream: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    limit = 32 * 1024 * 1024
    name, listener = await prepare(inkbox, emulator, tmp_path, upstream.url)
    upload = os.urandom(limit)
    async with listener.running():
        posted = await call_in_thread(third_party.http, name, "POST", "/in", body=upload)
        over = await call_in_thread(third_party.http, name, "POST", "/in", body=upload + b"!")
        downloaded = await call_in_thread(third_party.http, name, "GET", f"/big/{limit}")
        too_big = await call_in_thread(third_party.http, name, "GET", f"/big/{limit + 256}")
        after = await call_in_thread(third_party.http, name, "GET", "/after")
    assert echoed(posted.body)["body_sha256"] == hashlib.sha256(upload).hexdigest()
    assert (over.status, over.header("inkbox-reason")) == (413, ["request-body-too-large"])
    assert len(downloaded.body) == limit
    assert (too_big.status, too_big.header("inkbox-reason")) == (502, ["response-too-large"])
    assert after.status == 200


async def test_bad_requests_get_answers_and_the_tunnel_keeps_serving(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name, listener = await prepare(
        inkbox, emulator, tmp_path, asgi_app, max_inbound_body_bytes=1000
    )
    async with listener.running():
        traversal = await call_in_thread(third_party.http, name, "GET", "/foo/%2e%2e/bar")
        too_big = await call_in_thread(third_party.http, name, "POST", "/x", body=b"x" * 1001)
        crashed = await call_in_thread(third_party.http, name, "GET", "/boom")
        fine = await call_in_thread(third_party.http, name, "GET", "/still-here")
    assert (traversal.status, traversal.header("inkbox-reason")) == (400, ["invalid-path"])
    assert (too_big.status, too_big.header("inkbox-reason")) == (413, ["request-body-too-large"])
    assert crashed.status == 502
    assert b"boom" not in crashed.body
    assert fine.status == 200 and echoed(fine.body)["path"] == "/still-here"


async def test_a_malformed_envelope_is_dropped_and_serving_goes_on(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    upstream: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    statuses: list[str] = []
    name, listener = await prepare(
        inkbox, emulator, tmp_path, upstream.url, on_status=statuses.append, pool_size=1
    )
    emulator.inject_tunnel_fault("malformed_envelope", name=name, count=1)
    emulator.inject_tunnel_fault("malformed_envelope", name=name, count=1, request_id="")
    async with listener.running():
        await call_in_thread(emulator.wait_for_tunnel, name)
        response = await call_in_thread(third_party.http, name, "GET", "/fine")
        (connection,) = emulator.tunnel_connections(name)
    assert response.status == 200
    assert [seen["path"] for seen in upstream.seen] == ["/fine"]  # the junk never reached it
    assert connection["hello_count"] == 1
    assert statuses == ["connecting", "connected", "closed"]


async def test_websocket_echo_through_the_tunnel(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name, listener = await prepare(inkbox, emulator, tmp_path, asgi_app)
    big = "z" * 100_000
    async with listener.running():
        replies, code, chosen = await call_in_thread(
            third_party.websocket, name, "/ws", ["hello", b"\x00\x01", big], subprotocols=["chat"]
        )
        _, app_code, _ = await call_in_thread(third_party.websocket, name, "/ws", ["bye"])
    assert replies == ["echo:hello", b"\x00\x01", "echo:" + big]
    assert code == 1000 and chosen == "chat"
    assert app_code == 4001


async def test_a_drain_closes_live_websockets_with_4500(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    recording_ws_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    statuses: list[str] = []
    name, listener = await prepare(
        inkbox, emulator, tmp_path, recording_ws_app, on_status=statuses.append
    )
    async with listener.running():
        replies, code, _ = await call_in_thread(
            third_party.websocket, name, "/ws", ["hi"], then=lambda: emulator.drain_tunnel(name)
        )
        await call_in_thread(wait_for, lambda: statuses.count("connected") >= 2)
        again, again_code, _ = await call_in_thread(third_party.websocket, name, "/ws", ["after"])
    assert (replies, code) == (["echo:hi"], 4500)
    assert (again, again_code) == (["echo:after"], 1000)
    assert recording_ws_app.disconnects[0] == 4500


async def test_websocket_to_a_url_upstream(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    websocket_upstream: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name, listener = await prepare(inkbox, emulator, tmp_path, websocket_upstream.url)
    async with listener.running():
        replies, code, chosen = await call_in_thread(
            third_party.websocket, name, "/live?x=1", ["one", b"\xff" * 70_000], subprotocols=["v2"]
        )
        _, upstream_code, _ = await call_in_thread(third_party.websocket, name, "/live", ["bye"])
    assert replies == ["echo:one", b"\xff" * 70_000]
    assert (code, chosen) == (1000, "v2")
    assert upstream_code == 4002
    assert websocket_upstream.paths[0] == "/live?x=1"


async def test_https_and_wss_upstreams_trust_the_given_ca(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    https_upstream: Any,
    wss_upstream: Any,
    upstream_tls: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    trusting = {"forward_to_ca_bundle": upstream_tls.ca_pem}
    name, listener = await prepare(inkbox, emulator, tmp_path / "a", https_upstream.url, **trusting)
    ws_name, ws_listener = await prepare(
        inkbox, emulator, tmp_path / "b", wss_upstream.url, **trusting
    )
    untrusting_name, untrusting = await prepare(
        inkbox, emulator, tmp_path / "c", https_upstream.url
    )
    unverified_name, unverified = await prepare(
        inkbox, emulator, tmp_path / "d", https_upstream.url, forward_to_verify_tls=False
    )
    async with (
        listener.running(),
        ws_listener.running(),
        untrusting.running(),
        unverified.running(),
    ):
        ok = await call_in_thread(third_party.http, name, "POST", "/secure", body=b"hi")
        replies, code, _ = await call_in_thread(third_party.websocket, ws_name, "/ws", ["over tls"])
        refused = await call_in_thread(third_party.http, untrusting_name, "GET", "/x")
        unchecked = await call_in_thread(third_party.http, unverified_name, "GET", "/y")
    assert ok.status == 201 and echoed(ok.body)["body_length"] == 2
    assert (replies, code) == (["echo:over tls"], 1000)
    assert (refused.status, refused.header("inkbox-reason")) == (502, ["upstream-error"])
    assert unchecked.status == 200


async def test_passthrough_tunnel_terminates_tls_locally(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name = handle("pt")
    await inkbox.create_identity(name, tunnel={"tls_mode": "passthrough"})
    listener = await inkbox.tunnels.connect(
        name=name, forward_to=asgi_app, **options(emulator, tmp_path)
    )
    assert listener.tunnel.status == "active"
    state = tmp_path / "state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for file in ("state.json", "private_key.pem", "cert_chain.pem"):
        assert stat.S_IMODE((state / file).stat().st_mode) == 0o600
    host = f"{name}.{emulator.tunnel_zone}"
    async with listener.running():
        raw = await call_in_thread(
            third_party.tls_request,
            name,
            f"GET /secure?x=1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode(),
        )
        status, body2, alpn = await call_in_thread(third_party.h2_get, name, "/over-h2")
        replies, code, _ = await call_in_thread(
            third_party.websocket, name, "/ws", ["tls", b"\x01" * 70_000], tls=True
        )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b'"path": "/secure"' in body
    assert (status, alpn) == (200, "h2") and echoed(body2)["path"] == "/over-h2"
    assert replies == ["echo:tls", b"\x01" * 70_000] and code == 1000


async def test_reconnects_after_the_edge_drops_the_connection(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    statuses: list[str] = []
    name, listener = await prepare(inkbox, emulator, tmp_path, asgi_app, on_status=statuses.append)
    async with listener.running():
        emulator.inject_tunnel_fault("drop_connection", name=name)
        await call_in_thread(wait_for, lambda: statuses.count("connected") >= 2)
        await call_in_thread(emulator.wait_for_tunnel, name)
        response = await call_in_thread(third_party.http, name, "GET", "/after")
    assert response.status == 200
    assert statuses[:2] == ["connecting", "connected"]
    assert "reconnecting" in statuses
    assert statuses[-1] == "closed"


async def test_backs_off_between_failed_hellos(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    statuses: list[str] = []
    name, listener = await prepare(inkbox, emulator, tmp_path, asgi_app, on_status=statuses.append)
    emulator.inject_tunnel_fault("hello_status", name=name, status=503, count=2)
    started = time.monotonic()
    async with listener.running():
        elapsed = time.monotonic() - started
    # Jittered backoff of 1 s then 2 s (each +-25 %) before the third hello.
    assert elapsed >= 2.2
    assert statuses == ["connecting", "reconnecting", "reconnecting", "connected", "closed"]


async def test_a_refused_key_stops_for_good(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    statuses: list[str] = []
    name, listener = await prepare(inkbox, emulator, tmp_path, asgi_app, on_status=statuses.append)
    emulator.inject_tunnel_fault("hello_status", name=name, status=401)
    with pytest.raises(TunnelAuthError) as caught:
        await listener.serve_forever()
    assert caught.value.status_code == 401
    assert statuses == ["connecting", "closed"]
    emulator.clear_tunnel_faults()


async def test_drain_hands_over_without_losing_a_request(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    statuses: list[str] = []
    name, listener = await prepare(inkbox, emulator, tmp_path, asgi_app, on_status=statuses.append)
    async with listener.running():
        pending = third_party.in_background(third_party.http, name, "GET", "/slow/1")
        await call_in_thread(time.sleep, 0.3)
        emulator.drain_tunnel(name)
        await call_in_thread(wait_for, lambda: statuses.count("connected") >= 2)
        slow = await call_in_thread(pending.result, 15)
        after = await call_in_thread(third_party.http, name, "GET", "/after-drain")
    assert slow.status == 200
    assert after.status == 200
    assert "reconnecting" not in statuses


async def test_a_second_agent_takes_the_tunnel_over(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name = handle()
    await inkbox.create_identity(name)
    first = await inkbox.tunnels.connect(
        name=name, forward_to=asgi_app, **options(emulator, tmp_path / "one")
    )
    second = await inkbox.tunnels.connect(
        name=name, forward_to=asgi_app, **options(emulator, tmp_path / "two")
    )
    with pytest.raises(TunnelSupersededError):
        async with first.running(), second.running():
            await call_in_thread(wait_for, lambda: first.status == "closed")
    assert first.status == "closed"


async def test_stop_finishes_the_request_in_flight(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    name, listener = await prepare(inkbox, emulator, tmp_path, asgi_app)
    async with listener.running():
        pending = third_party.in_background(third_party.http, name, "GET", "/slow/0.5")
        await call_in_thread(time.sleep, 0.2)
    # The block ended: the listener stopped, and the request was not left hanging.
    response = await call_in_thread(pending.result, 15)
    assert response.status == 200
    assert listener.status == "closed"
    with pytest.raises(RuntimeError):
        await listener.serve_forever()


async def test_connect_rejects_bad_arguments_before_any_request(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    good = options(emulator, tmp_path)
    emulator.clear_requests()
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"name": "No Spaces!"}, InvalidArgumentError, "name"),
        ({"name": "ab"}, InvalidArgumentError, "name"),
        ({"name": "a--b"}, InvalidArgumentError, "name"),
        ({"forward_to": "http://10.0.0.5:8080"}, ForwardingRefusedError, "forward_to"),
        ({"forward_to": "http://localhost.:8080"}, ForwardingRefusedError, "forward_to"),
        ({"forward_to": "http://0.0.0.0:8080"}, ForwardingRefusedError, "forward_to"),
        ({"forward_to": "http://user:pw@127.0.0.1:8080"}, ForwardingRefusedError, "forward_to"),
        ({"forward_to": "ws://127.0.0.1:8080"}, ForwardingRefusedError, "forward_to"),
        ({"forward_to": "file:///etc/passwd"}, ForwardingRefusedError, "forward_to"),
        ({"forward_to": 8080}, TypeError, "forward_to"),
        ({"pool_size": 0}, InvalidArgumentError, "pool_size"),
        ({"pool_size": 33}, InvalidArgumentError, "pool_size"),
        ({"max_inbound_body_bytes": -1}, InvalidArgumentError, "max_inbound_body_bytes"),
        ({"edge": "a:b:c:d"}, InvalidArgumentError, "edge"),
        ({"edge": "host:99999"}, InvalidArgumentError, "edge"),
        ({"on_status": "print"}, TypeError, "on_status"),
        ({"edge_ca": b"not a pem"}, InvalidArgumentError, "edge_ca"),
    ]
    for change, error, argument in cases:
        kwargs = {"name": "valid-name", "forward_to": asgi_app, **good, **change}
        with pytest.raises(error, match=argument):
            await inkbox.tunnels.connect(**kwargs)
    with pytest.raises(TypeError):
        await inkbox.tunnels.connect(name="valid-name", forward_to=asgi_app, bogus=1)  # type: ignore[call-arg]
    assert emulator.requests() == []


async def test_a_bad_ca_file_or_pem_fails_at_connect_naming_the_argument(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    asgi_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("just words\n")
    missing = tmp_path / "missing.pem"
    https = "https://127.0.0.1:8443"
    good = options(emulator, tmp_path)
    emulator.clear_requests()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"forward_to_ca_bundle": str(missing)}, "forward_to_ca_bundle", "cannot read"),
        ({"forward_to_ca_bundle": str(tmp_path)}, "forward_to_ca_bundle", "cannot read"),
        ({"forward_to_ca_bundle": str(not_pem)}, "forward_to_ca_bundle", "no PEM CA"),
        ({"forward_to_ca_bundle": b"not a pem"}, "forward_to_ca_bundle", "not PEM"),
        ({"forward_to_ca_bundle": b"\xff\xfe"}, "forward_to_ca_bundle", "not PEM"),
        ({"forward_to_ca_bundle": b""}, "forward_to_ca_bundle", "not PEM"),
        ({"edge_ca": str(missing)}, "edge_ca", "cannot read"),
        ({"edge_ca": not_pem}, "edge_ca", "no PEM CA"),
        ({"edge_ca": b"\xff"}, "edge_ca", "not PEM"),
    ]
    for change, argument, problem in cases:
        for forward_to in (asgi_app, https):  # the bundle is loaded whatever the target
            kwargs = {"name": "valid-name", "forward_to": forward_to, **good, **change}
            with pytest.raises(InvalidArgumentError) as caught:
                await inkbox.tunnels.connect(**kwargs)
            assert caught.value.argument == argument and problem in str(caught.value)
            assert (
                caught.value.__cause__ is None and caught.value.__suppress_context__
            )  # no raw OSError
    monkeypatch.setenv("INKBOX_TUNNEL_CA", str(missing))  # the environment's CA fails as early
    with pytest.raises(InvalidArgumentError, match="edge_ca: cannot read"):
        await inkbox.tunnels.connect(
            name="valid-name", forward_to=asgi_app, state_dir=str(tmp_path / "state")
        )
    assert emulator.requests() == []


async def test_the_ca_bundle_file_is_read_once_at_connect(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    tmp_path: Path,
    https_upstream: Any,
    wss_upstream: Any,
    upstream_tls: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
) -> None:
    bundle = tmp_path / "upstream-ca.pem"
    bundle.write_bytes(upstream_tls.ca_pem)
    trusting = {"forward_to_ca_bundle": str(bundle)}
    name, listener = await prepare(inkbox, emulator, tmp_path / "a", https_upstream.url, **trusting)
    ws_name, ws_listener = await prepare(
        inkbox, emulator, tmp_path / "b", wss_upstream.url, **trusting
    )
    bundle.unlink()  # serving never goes back to the file
    async with listener.running(), ws_listener.running():
        ok = await call_in_thread(third_party.http, name, "POST", "/secure", body=b"hi")
        for message in ("one", "two"):  # each WebSocket dials the upstream afresh
            replies, code, _ = await call_in_thread(
                third_party.websocket, ws_name, "/ws", [message]
            )
            assert (replies, code) == ([f"echo:{message}"], 1000)
    assert ok.status == 201


async def test_connect_needs_a_provisioned_tunnel(
    inkbox: AsyncInkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    with pytest.raises(TunnelNotProvisionedError):
        await inkbox.tunnels.connect(
            name="never-created", forward_to=asgi_app, **options(emulator, tmp_path)
        )
    name = handle()
    identity = await inkbox.create_identity(name)
    await inkbox.tunnels.connect(name=name, forward_to=asgi_app, **options(emulator, tmp_path))
    saved = json.loads((tmp_path / "state" / "state.json").read_text())
    assert saved == {
        "mode": "edge",
        "name": name,
        "public_host": f"{name}.{emulator.tunnel_zone}",
        "tunnel_id": str(identity.tunnel.id if identity.tunnel else ""),
        "zone": emulator.tunnel_zone,
    }
    await identity.delete()
    with pytest.raises(TunnelNotProvisionedError, match="removed"):
        await inkbox.tunnels.connect(name=name, forward_to=asgi_app, **options(emulator, tmp_path))


async def test_control_plane_calls(inkbox: AsyncInkbox) -> None:
    edge = await inkbox.create_identity(handle())
    assert edge.tunnel is not None
    tunnels = await inkbox.tunnels.list()
    assert edge.tunnel.id in {t.id for t in tunnels}
    fetched = await inkbox.tunnels.get(edge.tunnel.id)
    assert fetched.tunnel_name == edge.agent_handle and fetched.tls_mode == "edge"
    updated = await inkbox.tunnels.update(edge.tunnel.id, metadata={"team": "gtm"})
    assert updated.metadata == {"team": "gtm"}
    assert (await inkbox.tunnels.update(edge.tunnel.id)).metadata == {"team": "gtm"}
    assert (await inkbox.tunnels.update(edge.tunnel.id, metadata=None)).metadata == {}
    with pytest.raises(ConflictError):
        await inkbox.tunnels.sign_csr(
            edge.tunnel.id,
            csr_pem="-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
        )
    with pytest.raises(NotFoundError):
        await inkbox.tunnels.get(uuid.uuid4())
    with pytest.raises(InvalidArgumentError, match="tunnel_id"):
        await inkbox.tunnels.get("not-a-uuid")
    with pytest.raises(TypeError, match="metadata"):
        await inkbox.tunnels.update(edge.tunnel.id, metadata=["x"])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="csr_pem"):
        await inkbox.tunnels.sign_csr(edge.tunnel.id, csr_pem="hello")


async def test_the_api_key_never_reaches_logs_reprs_or_errors(
    inkbox: AsyncInkbox,
    emulator: Emulator,
    org: Any,
    tmp_path: Path,
    asgi_app: Any,
    third_party: Any,
    call_in_thread: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="hpack")  # whatever level anyone else gave it
    name, listener = await prepare(inkbox, emulator, tmp_path, asgi_app)
    async with listener.running():
        # a third party's credentials, twice: HPACK-indexed the second time
        for _ in range(2):
            caller = [("authorization", "Bearer third-party-t0ken"), ("cookie", "sid=c00kie-v4lue")]
            await call_in_thread(third_party.http, name, "GET", "/x", headers=caller)
        shown = repr(listener)
    emulator.inject_tunnel_fault("hello_status", name=name, status=401, body="bad key")
    _, refused = await prepare(inkbox, emulator, tmp_path / "again", asgi_app)
    emulator.inject_tunnel_fault("hello_status", name=refused.tunnel.tunnel_name, status=401)
    with pytest.raises(TunnelAuthError) as caught:
        await refused.serve_forever()
    emulator.clear_tunnel_faults()
    secret = org.api_key.split(".")[-1]
    assert caplog.records, "nothing was logged at DEBUG"
    for text in (caplog.text, shown, repr(refused), str(caught.value), repr(caught.value)):
        assert secret not in text
    assert "third-party-t0ken" not in caplog.text and "c00kie-v4lue" not in caplog.text


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``condition`` from a worker thread until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
