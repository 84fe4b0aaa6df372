"""The engine seam: the only module of the API path that touches the HTTP library (httpx2).

Everything else sees the engine class below: send a request, get an
:class:`EngineResponse` or an :class:`~inkbox_async.InkboxConnectionError`.
The HTTP client (one connection pool) is created on the first request, so
constructing an SDK client does no I/O and no TLS set-up. (The tunnel agent's
streaming client for its local target is async-only: ``inkbox_async._tunnel.upstream``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inkbox_async._errors import InkboxConnectionError, InkboxTimeoutError
from inkbox_async._logging import mask_http_library_logs
from inkbox_async._wire import EngineResponse, url_origin

if TYPE_CHECKING:
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
                f"timed out connecting to {url_origin(url)}", request_sent=False
            ) from exc
        except httpx2.TimeoutException as exc:
            raise InkboxTimeoutError(
                f"timed out waiting for {url_origin(url)}", request_sent=True
            ) from exc
        except httpx2.ConnectError as exc:
            raise InkboxConnectionError(
                f"could not connect to {url_origin(url)}: {exc}", request_sent=False
            ) from exc
        except httpx2.TransportError as exc:
            raise InkboxConnectionError(
                f"connection to {url_origin(url)} failed: {exc!r}", request_sent=True
            ) from exc
        return EngineResponse(response.status_code, dict(response.headers), response.content)

    async def aclose(self) -> None:
        """Close the pool (a later request opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
