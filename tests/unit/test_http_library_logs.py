"""What the HTTP libraries log about the SDK's requests never shows its secrets."""

from __future__ import annotations

import logging

import anyio
import anyio.abc
import pytest

from inkbox_async._tunnel.upstream import UpstreamClient

pytestmark = pytest.mark.anyio

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=c00kie-v4lue\r\nX-Other: visible\r\n"
    b"Content-Length: 2\r\n\r\nok"
)


async def test_cookies_and_capability_urls_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    async def answer(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await stream.receive()
            await stream.send(RESPONSE)

    caplog.set_level(logging.DEBUG)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    upstream = UpstreamClient(timeout=5)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, answer)
        url = f"http://127.0.0.1:{port}/body?token=t0ken-v4lue&auth_hash={'ab' * 32}&page=2"
        response = await upstream.open("GET", url, headers=[])
        await response.aclose()
        await upstream.aclose()
        tg.cancel_scope.cancel()
    logged = caplog.text
    assert "receive_response_headers" in logged and "HTTP Request" in logged
    assert "c00kie-v4lue" not in logged and "t0ken-v4lue" not in logged and "ab" * 32 not in logged
    assert "visible" in logged and "page=2" in logged  # nothing else is hidden
