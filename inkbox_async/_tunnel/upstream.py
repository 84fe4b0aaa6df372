"""The tunnel agent's streaming HTTP client for its local target and offloaded bodies.

Async-only (the blocking listener drives the async agent), so it is not
generated into ``inkbox_sync``. Like the engine it is a seam over httpx2.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING

from inkbox_async._errors import InkboxConnectionError, InkboxTimeoutError
from inkbox_async._logging import mask_http_library_logs
from inkbox_async._wire import url_origin

if TYPE_CHECKING:
    import ssl
    from http.cookiejar import CookieJar

    import httpx2

__all__ = [
    "UpstreamClient",
    "UpstreamResponse",
    "upstream_default_headers",
    "upstream_request_target",
]

mask_http_library_logs()  # what httpx2 and httpcore2 log never shows our secrets


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


class UpstreamResponse:
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
            async with aclosing(self._response.aiter_raw()) as raw:
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


class UpstreamClient:
    """A streaming HTTP client for a tunnel's local target and for offloaded request bodies.

    No retries, no redirects, no environment proxies, no decompression, no
    cookie persistence (the client is shared by every public caller);
    ``ssl_context`` is the resolved upstream TLS (``None``: the system store).
    """

    def __init__(self, *, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._verify: ssl.SSLContext | bool = True if ssl_context is None else ssl_context
        self._client: httpx2.AsyncClient | None = None

    async def open(
        self,
        method: str,
        url: str,
        *,
        headers: list[tuple[str, str]],
        content: bytes | AsyncIterator[bytes] = b"",
    ) -> UpstreamResponse:
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
                f"timed out waiting for {url_origin(url)}", request_sent=True
            ) from exc
        except httpx2.HTTPError as exc:
            raise InkboxConnectionError(
                f"request to {url_origin(url)} failed: {exc!r}", request_sent=True
            ) from exc
        return UpstreamResponse(response, url_origin(url))

    async def aclose(self) -> None:
        """Close the pool."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
