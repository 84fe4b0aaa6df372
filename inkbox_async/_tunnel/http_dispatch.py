"""The edge-mode ``webhook`` route: one envelope in, one reply POSTed.

Order: path check (400 before the body is touched); then one deadline of
``response_deadline_seconds`` covers the body (inline, or fetched from
``inkbox-body-uri``) and the local dispatch up to the complete response.
When it fires the local work is cancelled and 504 is posted - never a late
200. An ASGI app that raises is answered 502 ``app-error`` (0.4.4 said 500):
like an unreachable upstream, the origin failed, not the tunnel. The reply is posted while the local work is still open (an ASGI app's
background work after its last body chunk does not delay it).
"""

from __future__ import annotations

import logging
import math
from contextlib import aclosing

import anyio

from inkbox_async._errors import InkboxConnectionError
from inkbox_async._tunnel.contracts import (
    EdgeSession,
    Envelope,
    Forwarder,
    ForwardError,
    LocalRequest,
    LocalResponse,
    Reply,
    TunnelSettings,
)
from inkbox_async._tunnel.envelope import fixed_reply
from inkbox_async._tunnel.forwarding import UPSTREAM_TIMEOUT, AppError
from inkbox_async._tunnel.headers import local_request_headers
from inkbox_async._tunnel.paths import is_safe_path
from inkbox_async._tunnel.upstream import UpstreamClient

__all__ = ["BodyFetcher", "BodyTooLarge", "handle_webhook", "webhook_reply"]

logger = logging.getLogger("inkbox.tunnels")

INVALID_PATH = fixed_reply(400, "invalid-path", "invalid path")
TOO_LARGE = fixed_reply(413, "request-body-too-large", "request body too large")
BODY_FETCH_FAILED = fixed_reply(502, "body-fetch-failed", "failed to fetch request body")
UPSTREAM_ERROR = fixed_reply(502, "upstream-error", "upstream error")
RESPONSE_TOO_LARGE = fixed_reply(502, "response-too-large", "response too large")
DEADLINE = fixed_reply(504, "response-deadline-exceeded", "local handler too slow")
APP_ERROR = fixed_reply(502, "app-error", "application error")
INTERNAL_ERROR = fixed_reply(500, None, "internal error")


class BodyTooLarge(Exception):
    """A request or response body went over its cap."""


class BodyFetchError(Exception):
    """An offloaded request body could not be fetched."""


class BodyFetcher:
    """Plain ``GET`` of ``inkbox-body-uri`` (no API key, no redirects, raw bytes, capped).

    Like 0.4.4 it uses the upstream TLS (``forward_to_verify_tls`` /
    ``forward_to_ca_bundle``, resolved once by ``connect()``).
    """

    def __init__(self, settings: TunnelSettings) -> None:
        self._upstream = UpstreamClient(
            timeout=UPSTREAM_TIMEOUT, ssl_context=settings.options.upstream_ssl_context
        )

    async def fetch(self, uri: str, limit: int) -> bytes:
        """The body; raises :class:`BodyTooLarge` or :class:`BodyFetchError`."""
        try:
            response = await self._upstream.open("GET", uri, headers=[])
        except (InkboxConnectionError, ValueError) as exc:
            raise BodyFetchError(str(exc)) from exc
        try:
            if response.status >= 400:
                raise BodyFetchError(f"body fetch answered HTTP {response.status}")
            declared = next((v for n, v in response.headers if n.lower() == "content-length"), "")
            if declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge  # known from the head: the body is never read
            parts: list[bytes] = []
            size = 0
            async with aclosing(response.chunks()) as chunks:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise BodyTooLarge
                    parts.append(chunk)
            return b"".join(parts)
        except InkboxConnectionError as exc:
            raise BodyFetchError(str(exc)) from exc
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    async def aclose(self) -> None:
        """Close the pool."""
        await self._upstream.aclose()


async def handle_webhook(
    session: EdgeSession,
    envelope: Envelope,
    forwarder: Forwarder,
    fetcher: BodyFetcher,
    *,
    body_too_large: bool = False,
) -> None:
    """Dispatch one ``webhook`` envelope and post exactly one reply."""
    reply, posted = await webhook_reply(
        session, envelope, forwarder, fetcher, body_too_large=body_too_large
    )
    if not posted:
        await session.post_reply(envelope.request_id, reply)


async def webhook_reply(
    session: EdgeSession,
    envelope: Envelope,
    forwarder: Forwarder,
    fetcher: BodyFetcher,
    *,
    body_too_large: bool = False,
) -> tuple[Reply, bool]:
    """The reply for an envelope, and whether it was already posted (from inside the dispatch)."""
    if not is_safe_path(envelope.path):
        return INVALID_PATH, False
    settings = session.settings
    budget = session.response_deadline
    deadline = anyio.current_time() + budget if budget else math.inf
    posted = False
    reply = DEADLINE
    with anyio.CancelScope(deadline=deadline) as scope:
        try:
            body = await _materialise(envelope, fetcher, settings, body_too_large)
        except BodyTooLarge:
            return TOO_LARGE, False
        except BodyFetchError as exc:
            logger.warning("request %s: body fetch failed: %s", envelope.request_id, exc)
            return BODY_FETCH_FAILED, False
        request = LocalRequest(
            method=envelope.method,
            raw_path=envelope.path,
            headers=local_request_headers(
                envelope.headers,
                host=settings.public_host,
                public_host=settings.public_host,
                client_ip=envelope.forwarded_for,
            ),
            body=body,
            client_ip=envelope.forwarded_for,
        )
        try:
            async with forwarder.open(request) as response:
                reply = await _collect(response, settings.options.max_outbound_body_bytes)
                if scope.cancel_called:
                    reply = DEADLINE
                else:
                    scope.deadline = math.inf  # the reply is ready; the budget no longer applies
                    await session.post_reply(envelope.request_id, reply)
                    posted = True
        except AppError as exc:
            logger.warning("request %s: the ASGI app raised: %r", envelope.request_id, exc)
            reply = APP_ERROR
        except ForwardError as exc:
            logger.warning("request %s: upstream error: %s", envelope.request_id, exc)
            reply = UPSTREAM_ERROR
        except BodyTooLarge:
            reply = RESPONSE_TOO_LARGE
        except Exception:
            logger.exception("request %s: dispatch failed", envelope.request_id)
            reply = INTERNAL_ERROR
    if scope.cancelled_caught and not posted:
        logger.warning("request %s: local handler exceeded the deadline", envelope.request_id)
        reply = DEADLINE
    return reply, posted


async def _materialise(
    envelope: Envelope, fetcher: BodyFetcher, settings: TunnelSettings, too_large: bool
) -> bytes:
    limit = settings.options.max_inbound_body_bytes
    if too_large or len(envelope.body) > limit:
        raise BodyTooLarge
    if envelope.body_uri:
        return await fetcher.fetch(envelope.body_uri, limit)
    return envelope.body


async def _collect(response: LocalResponse, limit: int) -> Reply:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.body:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
    return Reply(status=response.status, headers=response.headers, body=b"".join(parts))
