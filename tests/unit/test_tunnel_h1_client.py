"""The lean HTTP/1.1 client for ``http://`` targets: the bytes httpx2 would send, framing, reuse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import pytest

from inkbox_async._tunnel.contracts import ForwardError, LocalRequest
from inkbox_async._tunnel.forwarding import URLForwarder

pytestmark = pytest.mark.anyio

RESPONSES = {
    "/plain": b"HTTP/1.1 200 OK\r\nX-Dup: 1\r\nx-dup: 2\r\nContent-Length: 5\r\n\r\nhello",
    "/cookie": b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=one-caller\r\nContent-Length: 2\r\n\r\nok",
    "/chunked": b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
    "/close": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
    "/info": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n"
    b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    "/empty": b"HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n",
    "/head": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
    "/short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "/bad": b"HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 2\r\n\r\nok",
    "/gone": b"",
}
CLOSING = ("/close", "/short", "/gone", "/bad")


class ScriptedServer:
    """Keep-alive loopback server answering by path; records every request and connection."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0
        self.close_after_each = False

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener:
            task_status.started()
            await listener.serve(self._handle)

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
        async with stream:
            buffer = b""
            while True:
                try:
                    while b"\r\n\r\n" not in buffer:
                        buffer += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                lengths = [
                    int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-")
                ]
                if lengths:
                    while len(buffer) < lengths[0]:
                        buffer += await stream.receive()
                    body, buffer = buffer[: lengths[0]], buffer[lengths[0] :]
                elif b"transfer-encoding: chunked" in head.lower():
                    while not buffer.endswith(b"0\r\n\r\n"):
                        buffer += await stream.receive()
                    body, buffer = buffer, b""
                else:
                    body = b""
                self.requests.append(head + b"\r\n\r\n" + body)
                path = lines[0].split(b" ")[1].decode().partition("?")[0].removeprefix("/base")
                await stream.send(RESPONSES.get(path, RESPONSES["/plain"]))
                if path in CLOSING or self.close_after_each:
                    return


async def _stream() -> AsyncIterator[bytes]:
    yield b"ab"
    yield b""
    yield b"cd"


HEADERS = [("host", "x"), ("X-Upper", "V"), ("accept", "text/html"), ("x-dup", "1"), ("x-dup", "2")]
CASES: list[tuple[str, str, list[tuple[str, str]], Any]] = [
    ("GET", "/plain", HEADERS, b""),
    ("post", "/plain", HEADERS, b""),
    ("POST", "/plain", HEADERS, b"body!"),
    ("POST", "/plain", [*HEADERS, ("content-length", "5"), ("content-length", "5")], b"body!"),
    ("PUT", "/plain", HEADERS, "stream"),
    ("POST", "/plain", [*HEADERS, ("content-length", "4")], "stream"),
    ("PATCH", "/plain", [("user-agent", "me")], b""),
    ("GET", "plain?x=1&y=<a b>", HEADERS, b""),
    ("GET", "/a/./b/../plain?q=/../", HEADERS, b""),
    ("GET", '/plain/%c3%a9 é{}`"', HEADERS, b""),
    ("GET", "/plain?a#frag", HEADERS, b""),
    ("GET", "/cookie", HEADERS, b""),
    ("GET", "/plain", [("x-a", "1"), ("Host", "h2")], b""),
    ("GET", "/plain", [("Accept-Encoding", "br")], b""),
    ("GET", "/chunked", HEADERS, b""),
    ("GET", "/close", HEADERS, b""),
    ("GET", "/info", HEADERS, b""),
    ("GET", "/empty", HEADERS, b""),
    ("HEAD", "/head", HEADERS, b""),
    ("GET", "/plain", [*HEADERS, ("x-bad", "a\x01b")], b""),
    ("GET", "/short", HEADERS, b""),
    ("GET", "/bad", HEADERS, b""),
    ("GET", "/gone", HEADERS, b""),
    ("GET", "/plain", HEADERS, b""),
]


async def _run(lean: bool) -> tuple[list[bytes], list[Any], int]:
    server = ScriptedServer()
    results: list[Any] = []
    async with anyio.create_task_group() as tg:
        await tg.start(server.serve)
        forwarder = URLForwarder(f"http://127.0.0.1:{server.port}/base/")
        if not lean:
            forwarder._h1 = None  # the httpx2 path, for comparison
        for method, path, headers, body in CASES:
            request = LocalRequest(
                method=method,
                raw_path=path,
                headers=headers,
                body=_stream() if body == "stream" else body,
                client_ip=None,
            )
            try:
                async with forwarder.open(request) as response:
                    data = b"".join([chunk async for chunk in response.body])
                results.append((response.status, response.headers, data))
            except ForwardError:
                results.append("ForwardError")
        await forwarder.aclose()
        tg.cancel_scope.cancel()
    port = str(server.port).encode()
    return [r.replace(port, b"PORT") for r in server.requests], results, server.connections


async def test_lean_client_matches_the_httpx2_path() -> None:
    sent_httpx2, got_httpx2, _ = await _run(lean=False)
    sent_lean, got_lean, connections = await _run(lean=True)
    assert got_lean == got_httpx2
    assert sent_lean == sent_httpx2
    assert all(b"\r\ncookie:" not in request.lower() for request in sent_lean)  # never replayed
    assert connections == 5  # reused except after a closing or failed response


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    server = ScriptedServer()
    server.close_after_each = True
    async with anyio.create_task_group() as tg:
        await tg.start(server.serve)
        forwarder = URLForwarder(f"http://127.0.0.1:{server.port}")
        for _ in range(2):
            request = LocalRequest(
                method="GET", raw_path="/plain", headers=[("host", "x")], body=b"", client_ip=None
            )
            async with forwarder.open(request) as response:
                assert b"".join([chunk async for chunk in response.body]) == b"hello"
            await anyio.sleep(0.05)  # the server's FIN arrives on the idle connection
        assert server.connections == 2
        await forwarder.aclose()
        tg.cancel_scope.cancel()


@pytest.mark.parametrize("body", [b"", b"body", "stream"])
async def test_an_upstream_that_never_answers_times_out(body: Any) -> None:
    from inkbox_async._tunnel.h1_client import H1Client

    async def silent(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await anyio.sleep(30)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, silent)
        client = H1Client(urlsplit(f"http://127.0.0.1:{port}"), timeout=0.3)
        with anyio.fail_after(5), pytest.raises(ForwardError, match="timed out"):
            await client.open("POST", "/", [], _stream() if body == "stream" else body)
        await client.aclose()
        tg.cancel_scope.cancel()
