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
from inkbox_async._wire import EngineResponse, header_dict, url_origin

if TYPE_CHECKING:
    import httpx2

mask_http_library_logs()  # what httpx2 and httpcore2 log never shows our secrets


# What httpx2's client would add to every request, in its order: the same wire, without
# the client layer (auth, redirects, hooks, proxies), which the API path does not use.
_DEFAULT_HEADERS = {"Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}


class AsyncEngine:
    """One connection pool (an httpx2 transport); ``transport`` replaces the network (e.g. a mock).

    Requests go straight to the transport: the client layer of httpx2 costs
    about a fifth of a loopback request, and of what it does the API path
    needs only its cookie jar (a load balancer's sticky-session cookie is
    sent back), kept here.
    """

    def __init__(self, *, timeout: float, transport: httpx2.AsyncBaseTransport | None = None):
        self._timeout = timeout
        self._transport = transport
        self._pool: httpx2.AsyncBaseTransport | None = None
        self._timeouts: dict[str, float | None] = {}
        self._cookies: httpx2.Cookies | None = None

    def _http(self) -> httpx2.AsyncBaseTransport:
        if self._pool is None:
            import httpx2

            self._timeouts = httpx2.Timeout(self._timeout).as_dict()
            self._cookies = httpx2.Cookies()
            self._pool = self._transport or httpx2.AsyncHTTPTransport(trust_env=False)
        return self._pool

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

        pool = self._http()
        timeouts = self._timeouts if timeout is None else httpx2.Timeout(timeout).as_dict()
        try:
            request = httpx2.Request(
                method,
                url,
                headers={**_DEFAULT_HEADERS, **headers},
                content=content,
                cookies=self._cookies,
                extensions={"timeout": timeouts},
            )
            response = await pool.handle_async_request(request)
            if "set-cookie" in response.headers and self._cookies is not None:
                response.request = request
                self._cookies.extract_cookies(response)
            try:
                body = await response.aread()
            finally:
                await response.aclose()
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
        except httpx2.DecodingError as exc:  # a compressed answer that does not decompress
            raise InkboxConnectionError(
                f"the answer from {url_origin(url)} could not be decoded: {exc}", request_sent=True
            ) from exc
        return EngineResponse(response.status_code, header_dict(response.headers), body)

    async def aclose(self) -> None:
        """Close the pool (a later request opens a new one)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()
