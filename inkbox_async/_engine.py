"""The engine seam: the only module that touches the HTTP library (httpx2).

Everything else sees the engine class below: send a request, get an
:class:`EngineResponse` or an :class:`~inkbox_async.InkboxConnectionError`.
The HTTP client (one connection pool) is created on the first request, so
constructing an SDK client does no I/O and no TLS set-up.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, cast

from inkbox_async._errors import InkboxConnectionError, InkboxTimeoutError
from inkbox_async._logging import mask_http_library_logs
from inkbox_async._wire import EngineResponse

if TYPE_CHECKING:
    import ssl
    from http.cookiejar import CookieJar

    import httpx2

mask_http_library_logs()  # what httpx2 and httpcore2 log never shows our secrets


class AsyncEngine:
    """One pooled HTTP client; ``transport`` replaces the network (e.g. a mock)."""

    def __init__(self, *, timeout: float, transport: httpx2.AsyncBaseTransport | None = None):
        self._timeout = timeout
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            import httpx2

            self._client = httpx2.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> EngineResponse:
        """Send one request and read the whole response."""
        import httpx2

        client = self._http()
        try:
            if timeout is None:  # the client's own: a float here costs a Protocol isinstance
                response = await client.request(method, url, headers=headers, content=content)
            else:
                response = await client.request(
                    method, url, headers=headers, content=content, timeout=timeout
                )
        except (httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            raise InkboxTimeoutError(
                f"timed out connecting to {_origin(url)}", request_sent=False
            ) from exc
        except httpx2.TimeoutException as exc:
            raise InkboxTimeoutError(
                f"timed out waiting for {_origin(url)}", request_sent=True
            ) from exc
        except httpx2.ConnectError as exc:
            raise InkboxConnectionError(
                f"could not connect to {_origin(url)}: {exc}", request_sent=False
            ) from exc
        except httpx2.TransportError as exc:
            raise InkboxConnectionError(
                f"connection to {_origin(url)} failed: {exc!r}", request_sent=True
            ) from exc
        return EngineResponse(response.status_code, dict(response.headers), response.content)

    async def aclose(self) -> None:
        """Close the pool (a later request opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _no_cookies() -> CookieJar:
    """A jar that never stores: one caller's ``Set-Cookie`` must not reach another's request."""
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def upstream_default_headers() -> list[tuple[bytes, bytes]]:
    """The request headers the upstream client adds when a request lacks them, in its order."""
    import httpx2

    client = httpx2.AsyncClient(trust_env=False, transport=httpx2.AsyncBaseTransport())
    return list(client.headers.raw)


def upstream_request_target(url: str) -> str:
    """The request target (path and query) the upstream client sends for ``url``, normalised.

    Raises what the client raises for a URL it refuses (``httpx2.InvalidURL``).
    """
    import httpx2

    return httpx2.URL(url).raw_path.decode("ascii")


class AsyncUpstreamResponse:
    """An upstream response whose body is still on the wire (raw bytes, no decompression)."""

    def __init__(self, response: httpx2.Response, origin: str) -> None:
        self._response = response
        self._origin = origin
        self.status = response.status_code
        self.headers = [
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            for name, value in response.headers.raw
        ]
        """Header fields in arrival order, duplicates kept (bytes kept via surrogateescape)."""

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The body as sent (``content-encoding`` untouched); raises :class:`InkboxConnectionError`."""
        import httpx2

        try:
            # A generator in both flavours, typed as one only in the async one.
            raw_chunks = cast(AsyncGenerator[bytes, None], self._response.aiter_raw())  # type: ignore[redundant-cast, unused-ignore]
            async with aclosing(raw_chunks) as raw:
                async for chunk in raw:
                    if chunk:
                        yield chunk
        except httpx2.HTTPError as exc:
            raise InkboxConnectionError(
                f"reading from {self._origin} failed: {exc!r}", request_sent=True
            ) from exc

    async def aclose(self) -> None:
        """Release the connection (an unread body is discarded)."""
        await self._response.aclose()


class AsyncUpstream:
    """A streaming HTTP client for a tunnel's local target and for offloaded request bodies.

    No retries, no redirects, no environment proxies, no decompression, no
    cookie persistence (the client is shared by every public caller);
    ``verify`` is ``True`` (system store), ``False`` or an SSL context.
    """

    def __init__(self, *, timeout: float, verify: ssl.SSLContext | bool = True) -> None:
        self._timeout = timeout
        self._verify = verify
        self._client: httpx2.AsyncClient | None = None

    async def open(
        self,
        method: str,
        url: str,
        *,
        headers: list[tuple[str, str]],
        content: bytes | AsyncIterator[bytes] = b"",
    ) -> AsyncUpstreamResponse:
        """Send the request and return once the response head arrived.

        Raises :class:`InkboxConnectionError` (or its timeout subclass) when
        the upstream cannot be reached or fails before its head.
        """
        import httpx2

        if self._client is None:
            self._client = httpx2.AsyncClient(
                timeout=self._timeout,
                verify=self._verify,
                follow_redirects=False,
                trust_env=False,
                cookies=_no_cookies(),
            )
        raw = [
            (name.encode("utf-8", "surrogateescape"), value.encode("utf-8", "surrogateescape"))
            for name, value in headers
        ]
        request = self._client.build_request(method, url, headers=raw, content=content)
        try:
            response = await self._client.send(request, stream=True)
        except httpx2.TimeoutException as exc:
            raise InkboxTimeoutError(
                f"timed out waiting for {_origin(url)}", request_sent=True
            ) from exc
        except httpx2.HTTPError as exc:
            raise InkboxConnectionError(
                f"request to {_origin(url)} failed: {exc!r}", request_sent=True
            ) from exc
        return AsyncUpstreamResponse(response, _origin(url))

    async def aclose(self) -> None:
        """Close the pool."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
