"""forward_to: the loopback allow-list, target URLs, the ASGI scope and both forwarders."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import pytest

from inkbox_async._errors import ForwardingRefusedError
from inkbox_async._tunnel.contracts import ForwardError, LocalRequest, TunnelSettings
from inkbox_async._tunnel.forwarding import (
    AppError,
    ASGIForwarder,
    URLForwarder,
    asgi_http_scope,
    check_forward_target,
    make_forwarder,
    target_url,
)
from inkbox_async._tunnel.http_dispatch import BodyFetcher, BodyFetchError, BodyTooLarge
from inkbox_async._tunnel.options import ConnectOptions

ALLOWED = [
    "http://localhost:8080",
    "https://LOCALHOST/base",
    "http://127.0.0.1:3000/",
    "http://127.255.1.2",
    "http://[::1]:8080/x",
]
REFUSED = [
    "http://localhost.:8080",
    "http://127.1:8080",
    "http://0.0.0.0:8080",
    "http://[::ffff:127.0.0.1]:8080",
    "http://10.0.0.5:8080",
    "http://192.168.1.1",
    "http://example.com",
    "http://loopback.example:80",
    "ws://127.0.0.1:8080",
    "wss://localhost",
    "ftp://127.0.0.1",
    "file:///etc/passwd",
    "http://user:pw@127.0.0.1:8080",
    "http://user@localhost",
    "http://",
    "not a url",
]


@pytest.mark.parametrize("url", ALLOWED)
def test_loopback_targets_are_allowed(url: str) -> None:
    check_forward_target(url, False)


@pytest.mark.parametrize("url", REFUSED)
def test_other_targets_are_refused(url: str) -> None:
    with pytest.raises(ForwardingRefusedError) as caught:
        check_forward_target(url, False)
    assert caught.value.argument == "forward_to"
    assert "pw" not in str(caught.value)


def test_remote_opt_in_still_refuses_credentials_and_other_schemes() -> None:
    check_forward_target("https://api.example.com/hooks", True)
    check_forward_target("http://10.0.0.5:8080", True)
    for url in ("ws://example.com", "http://user:pw@example.com", "file:///etc/passwd"):
        with pytest.raises(ForwardingRefusedError):
            check_forward_target(url, True)


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("http://127.0.0.1:8080/base/", "/x?q=1", "http://127.0.0.1:8080/base/x?q=1"),
        ("http://127.0.0.1:8080", "/x?q=1", "http://127.0.0.1:8080/x?q=1"),
        ("http://127.0.0.1:8080/", "/", "http://127.0.0.1:8080/"),
        ("http://localhost/a?drop=1#frag", "y%20z?k=%2F", "http://localhost/a/y%20z?k=%2F"),
    ],
)
def test_target_url(base: str, path: str, expected: str) -> None:
    assert target_url(urlsplit(base), path) == expected


def request(path: str = "/p%20q/%C3%A9?a=1&b=%20", body: Any = b"hi") -> LocalRequest:
    return LocalRequest(
        method="post",
        raw_path=path,
        headers=[("host", "pub.zone"), ("x-multi", "a"), ("x-multi", "b")],
        body=body,
        client_ip="203.0.113.9",
    )


def test_asgi_scope() -> None:
    scope = asgi_http_scope(request(), public_host="pub.zone")
    assert scope == {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/p q/é",
        "raw_path": b"/p%20q/%C3%A9",
        "query_string": b"a=1&b=%20",
        "root_path": "",
        "headers": [(b"host", b"pub.zone"), (b"x-multi", b"a"), (b"x-multi", b"b")],
        "client": ("203.0.113.9", 0),
        "server": ("pub.zone", 443),
    }
    anonymous = LocalRequest(method="GET", raw_path="/", headers=[], body=b"", client_ip=None)
    assert asgi_http_scope(anonymous, public_host="h")["client"] == ("unknown", 0)


async def collect(body: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in body])


@pytest.mark.anyio
async def test_asgi_forwarder_streams_and_disconnects_after_the_dispatch() -> None:
    events: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        first = await receive()
        events.append(f"{first['type']}:{first['body']!r}:{first['more_body']}")
        await send({"type": "http.response.start", "status": 202, "headers": [(b"x-a", b"1")]})
        await send({"type": "http.response.body", "body": b"one ", "more_body": True})
        await send({"type": "http.response.body", "body": b"two", "more_body": False})
        events.append((await receive())["type"])  # background work after the response

    forwarder = ASGIForwarder(app, public_host="pub.zone")
    async with forwarder.open(request()) as response:
        assert (response.status, response.headers) == (202, [("x-a", "1")])
        assert await collect(response.body) == b"one two"
        assert events == ["http.request:b'hi':False"]
    assert events[-1] == "http.disconnect"
    await forwarder.aclose()


@pytest.mark.anyio
async def test_asgi_forwarder_failures() -> None:
    async def raises(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    async def raises_late(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("late")

    with pytest.raises(AppError):
        async with ASGIForwarder(raises, public_host="h").open(request()):
            pass
    async with ASGIForwarder(silent, public_host="h").open(request()) as response:
        assert (response.status, response.headers) == (500, [])
        assert await collect(response.body) == b""
    with pytest.raises(AppError):
        async with ASGIForwarder(raises_late, public_host="h").open(request()) as response:
            await collect(response.body)


@pytest.mark.anyio
async def test_asgi_forwarder_streams_request_chunks() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    received: list[tuple[bytes, bool]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append((message["body"], message["more_body"]))
            if not message["more_body"]:
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})

    async with ASGIForwarder(app, public_host="h").open(request(body=chunks())) as response:
        await collect(response.body)
    assert received == [(b"a", True), (b"b", True), (b"", False)]


class TinyServer:
    """An HTTP/1.1 server on loopback answering every request with a fixed response."""

    def __init__(self, head: bytes, body: bytes) -> None:
        self.head = head
        self.body = body
        self.requests: list[bytes] = []
        self.port = 0

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener:
            task_status.started()
            await listener.serve(self._handle)

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(rest) < length:
                rest += await stream.receive()
            self.requests.append(head + b"\r\n\r\n" + rest)
            length_header = b"Content-Length: %d\r\n" % len(self.body)
            await stream.send(self.head + length_header + b"Connection: close\r\n\r\n" + self.body)


@pytest.mark.anyio
async def test_url_forwarder_keeps_raw_bytes_and_duplicate_headers(anyio_backend: str) -> None:
    compressed = gzip.compress(b"hello world")
    server = TinyServer(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nSet-Cookie: a=1\r\n"
        b"Set-Cookie: b=2\r\nKeep-Alive: timeout=5\r\n",
        compressed,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(server.serve)
        forwarder = URLForwarder(f"http://127.0.0.1:{server.port}/base/")
        async with forwarder.open(request("/x?y=1")) as response:
            assert response.status == 200
            assert await collect(response.body) == compressed
        names = [name for name, _ in response.headers]
        assert ("set-cookie", "a=1") in response.headers
        assert ("set-cookie", "b=2") in response.headers
        assert "keep-alive" not in names
        assert ("content-encoding", "gzip") in response.headers
        sent = server.requests[0]
        assert sent.startswith(b"POST /base/x?y=1 HTTP/1.1\r\n")
        assert f"host: 127.0.0.1:{server.port}\r\n".encode() in sent.lower()
        assert sent.endswith(b"\r\n\r\nhi")
        fetcher = BodyFetcher(settings_for("http://127.0.0.1:1"))
        assert await fetcher.fetch(f"http://127.0.0.1:{server.port}/b", 1000) == compressed
        if anyio_backend == "asyncio":
            # On trio, httpcore2 leaves an inner generator of an abandoned body to the
            # garbage collector, which trio reports as a ResourceWarning.
            with pytest.raises(BodyTooLarge):
                await fetcher.fetch(f"http://127.0.0.1:{server.port}/b", 3)
        await fetcher.aclose()
        await forwarder.aclose()
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_unreachable_upstream_and_failed_body_fetch() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    forwarder = make_forwarder(settings_for(f"http://127.0.0.1:{port}"))
    with pytest.raises(ForwardError):
        async with forwarder.open(request()):
            pass
    await forwarder.aclose()
    fetcher = BodyFetcher(settings_for("http://127.0.0.1:1"))
    with pytest.raises(BodyFetchError):
        await fetcher.fetch(f"http://127.0.0.1:{port}/body", 100)
    await fetcher.aclose()


def settings_for(forward_to: str) -> TunnelSettings:
    return TunnelSettings(
        options=ConnectOptions(name="n", forward_to=forward_to),
        tunnel_id="t",
        api_key="k",
        public_host="pub.zone",
        zone_host="zone",
        edge_host="127.0.0.1",
    )
