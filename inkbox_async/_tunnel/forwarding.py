"""Reaching ``forward_to``: a loopback URL or an in-process ASGI app.

URL targets get the request through :class:`~inkbox_async._tunnel.upstream.UpstreamClient`
(30 s timeouts, no redirects, raw body bytes so ``content-encoding`` stays
truthful, duplicate response headers kept). The ``host`` field of a
:class:`LocalRequest` is replaced by the target's netloc; everything else is
sent as given.

ASGI targets get an ``http`` scope. Deliberate difference from 0.4.4: ``path``
is percent-*decoded* (UTF-8) as the ASGI spec requires, while ``raw_path``
keeps the bytes as received. The response body streams out as the app sends
it and ends at ``more_body: False`` (or when the app returns); leaving the
``open()`` block makes ``receive()`` answer ``http.disconnect`` and waits for
the app to return (background work after the body included). The app's
lifespan is run around serving by :mod:`inkbox_async._tunnel.lifespan`.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

import anyio

from inkbox_async._errors import ForwardingRefusedError, InkboxConnectionError
from inkbox_async._tunnel.contracts import (
    ASGIApp,
    Forwarder,
    ForwardError,
    Headers,
    LocalRequest,
    LocalResponse,
    TunnelSettings,
)
from inkbox_async._tunnel.h1_client import H1Client, H1Response
from inkbox_async._tunnel.headers import local_response_headers
from inkbox_async._tunnel.upstream import UpstreamClient, UpstreamResponse

__all__ = [
    "AppError",
    "UPSTREAM_TIMEOUT",
    "asgi_http_scope",
    "check_forward_target",
    "make_forwarder",
    "target_url",
]

UPSTREAM_TIMEOUT = 30.0


class AppError(ForwardError):
    """The ASGI app raised (the edge path answers 500 ``internal error``)."""


def check_forward_target(forward_to: str, allow_remote: bool) -> None:
    """Refuse a ``forward_to`` URL that is not loopback, without any DNS lookup.

    Accepted hosts: ``localhost`` (any case), a literal IPv4 address in
    127.0.0.0/8 and the literal ``::1``; the scheme must be ``http`` or
    ``https``. ``allow_remote=True`` lifts the host restriction only: a
    non-http(s) scheme, a missing host or ``user:password@`` credentials in
    the URL are refused even then. Raises :class:`ForwardingRefusedError`.
    """
    try:
        parts = urlsplit(forward_to)
        host = parts.hostname
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise _refused(f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refused("must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise _refused("must not carry user:password credentials")
    if not host:
        raise _refused("has no host")
    if allow_remote or _is_loopback(host):
        return
    raise _refused(
        "must point at this machine (localhost, 127.0.0.0/8 or ::1); forwarding public "
        "traffic elsewhere lets anyone on the internet reach hosts behind this machine "
        "(SSRF) - pass allow_remote_forwarding=True only if that is intended"
    )


def _refused(problem: str) -> ForwardingRefusedError:
    return ForwardingRefusedError("forward_to", f"the URL {problem}")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")


def target_url(base: SplitResult, raw_path: str) -> str:
    """``forward_to``'s scheme, netloc and path (no trailing ``/``) + the raw path and query."""
    if not raw_path.startswith("/"):
        raw_path = "/" + raw_path
    return f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{raw_path}"


def make_forwarder(settings: TunnelSettings) -> Forwarder:
    """The :class:`Forwarder` for ``settings.options.forward_to`` (URL or ASGI app); no I/O."""
    target = settings.options.forward_to
    if isinstance(target, str):
        return URLForwarder(target, ssl_context=settings.options.upstream_ssl_context)
    return ASGIForwarder(target, public_host=settings.public_host)


class URLForwarder:
    """Forwards to an HTTP(S) URL through one pooled upstream client.

    ``http://`` targets use the lean :class:`H1Client`; ``https://`` ones httpx2.
    """

    def __init__(self, forward_to: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._base = urlsplit(forward_to)
        self._upstream = UpstreamClient(timeout=UPSTREAM_TIMEOUT, ssl_context=ssl_context)
        self._h1 = (
            H1Client(self._base, timeout=UPSTREAM_TIMEOUT)
            if self._base.scheme.lower() == "http"
            else None
        )

    @asynccontextmanager
    async def open(self, request: LocalRequest) -> AsyncIterator[LocalResponse]:
        """Send the request; the response body streams inside the block."""
        headers = [
            (name, self._base.netloc if name == "host" else value)
            for name, value in request.headers
        ]
        response: H1Response | UpstreamResponse
        if self._h1 is not None:
            response = await self._h1.open(request.method, request.raw_path, headers, request.body)
            body = chunks = response.chunks()
        else:
            url = target_url(self._base, request.raw_path)
            try:
                response = await self._upstream.open(
                    request.method, url, headers=headers, content=request.body
                )
            except InkboxConnectionError as exc:
                raise ForwardError(str(exc)) from exc
            chunks = response.chunks()
            body = _upstream_body(chunks)
        try:
            yield LocalResponse(
                status=response.status,
                headers=local_response_headers(response.headers),
                body=body,
            )
        finally:
            with anyio.CancelScope(shield=True):
                await body.aclose()
                await chunks.aclose()
                await response.aclose()

    async def aclose(self) -> None:
        """Close the upstream pools."""
        if self._h1 is not None:
            await self._h1.aclose()
        await self._upstream.aclose()


async def _upstream_body(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in chunks:
            yield chunk
    except InkboxConnectionError as exc:
        raise ForwardError(str(exc)) from exc


def asgi_http_scope(request: LocalRequest, *, public_host: str) -> dict[str, Any]:
    """The ASGI 3.0 ``http`` scope (with a percent-decoded ``path``)."""
    path, _, query = request.raw_path.partition("?")
    if not path.startswith("/"):
        path = "/" + path
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method.upper(),
        "scheme": "https",
        "path": unquote(path, encoding="utf-8", errors="replace"),
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "headers": [
            (name.encode("latin-1", "replace"), value.encode("utf-8", "surrogateescape"))
            for name, value in request.headers
        ],
        "client": (request.client_ip or "unknown", 0),
        "server": (public_host, 443),
    }


class ASGIForwarder:
    """Runs an in-process ASGI app per request."""

    def __init__(self, app: ASGIApp, *, public_host: str) -> None:
        self._app = app
        self._public_host = public_host

    @asynccontextmanager
    async def open(self, request: LocalRequest) -> AsyncIterator[LocalResponse]:
        """Run the app; on entry its response head is known (500 if it returned without one)."""
        run = _ASGIRun(self._app, asgi_http_scope(request, public_host=self._public_host))
        error: Exception | None = None
        body = run.body()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run.main, request.body)
                try:
                    await run.head.wait()
                    if run.failure is not None and run.status is None:
                        error = AppError(f"the ASGI app failed: {run.failure!r}")
                        error.__cause__ = run.failure
                    else:
                        try:
                            yield LocalResponse(
                                status=run.status or 500, headers=run.headers, body=body
                            )
                        except Exception as exc:
                            error = exc
                            tg.cancel_scope.cancel()
                finally:
                    run.finish()
        finally:
            with anyio.CancelScope(shield=True):
                await body.aclose()
            run.close()
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """Nothing to release."""


class _ASGIRun:
    """The state of one app call: the head, the body chunks, the disconnect signal."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        self._app = app
        self._scope = scope
        self.head = anyio.Event()
        self.status: int | None = None
        self.headers: Headers = []
        self.failure: Exception | None = None
        self._over = anyio.Event()
        self._body_done = False
        self._sender, self._receiver = anyio.create_memory_object_stream[bytes](8)
        self._request_body: bytes | AsyncIterator[bytes] = b""
        self._request_sent = False

    async def main(self, body: bytes | AsyncIterator[bytes]) -> None:
        self._request_body = body
        try:
            await self._app(self._scope, self._receive, self._send)
        except Exception as exc:
            self.failure = exc
        finally:
            self._end_body()
            self.head.set()

    def finish(self) -> None:
        """The dispatch is over: ``receive()`` now answers ``http.disconnect``."""
        self._over.set()
        self._receiver.close()

    def close(self) -> None:
        self._receiver.close()
        self._sender.close()

    async def body(self) -> AsyncGenerator[bytes, None]:
        async with self._receiver:
            async for chunk in self._receiver:
                yield chunk
        if self.failure is not None:
            raise AppError(f"the ASGI app failed: {self.failure!r}") from self.failure

    def _end_body(self) -> None:
        if not self._body_done:
            self._body_done = True
            self._sender.close()

    async def _receive(self) -> MutableMapping[str, Any]:
        if not self._request_sent:
            body = self._request_body
            if isinstance(body, bytes):
                self._request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            try:
                chunk = await body.__anext__()
            except StopAsyncIteration:
                self._request_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}
        await self._over.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "http.response.start" and self.status is None:
            self.status = int(message.get("status", 200))
            self.headers = local_response_headers(
                (
                    bytes(name).decode("utf-8", "surrogateescape"),
                    bytes(value).decode("utf-8", "surrogateescape"),
                )
                for name, value in message.get("headers") or []
            )
            self.head.set()
        elif kind == "http.response.body" and self.status is not None and not self._body_done:
            chunk = bytes(message.get("body") or b"")
            try:
                if chunk:
                    await self._sender.send(chunk)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._body_done = True  # nobody reads any more
            if not message.get("more_body", False):
                self._end_body()
