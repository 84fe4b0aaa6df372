"""Requests as the rest of the SDK sees them: JSON in, JSON or a typed error out.

One call goes resource → :class:`AsyncRequester` (key, JSON, retries, typed
errors) → :class:`AsyncEngine` (the httpx2 seam, ``_engine``) → the
httpx2 client → its transport (the network, or what ``transport=`` gives).
"""

from __future__ import annotations

import json as jsonlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from inkbox_async import _idempotency, _retry
from inkbox_async._aio import sleep
from inkbox_async._errors import (
    InkboxAPIError,
    InkboxConnectionError,
    InkboxError,
    OutcomeUnknownError,
    error_from_response,
)
from inkbox_async._logging import loggable, logger, scrub
from inkbox_async._paths import query_string
from inkbox_async._wire import NO_BODY, USER_AGENT, EngineResponse, json_body

from ._engine import AsyncEngine

if TYPE_CHECKING:
    import httpx2


class Verifier(Protocol):
    """A call's verifying read: :class:`~inkbox_async._retry.Verified` when its effect is
    in place, None when it verifiably is not (see :mod:`inkbox_async._retry`)."""

    async def __call__(self) -> _retry.Verified | None: ...


class AsyncRequester:
    """Sends API requests with the key, retries what is safe, maps errors."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float,
        max_retries: int,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.max_retries = max_retries
        self.api_key = api_key
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if api_key:
            self._headers["X-API-Key"] = api_key
        self._engine = AsyncEngine(timeout=timeout, transport=transport)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = NO_BODY,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        verify: Verifier | None = None,
    ) -> Any:
        """Send a request; return the decoded JSON body (None when empty).

        ``timeout`` overrides the client's timeout for this call only;
        ``idempotency_key`` makes it a keyed send and ``content`` a raw body
        (see :meth:`send`). ``verify`` is the call's verifying read, run when
        an attempt may have taken effect but the call ended in a failure; what
        it finds is returned instead (see :mod:`inkbox_async._retry`).
        """
        outcome = await self._exchange(
            method,
            path,
            params=params,
            json=json,
            timeout=timeout,
            idempotency_key=idempotency_key,
            content=content,
            content_type=content_type,
            verify=verify,
        )
        if isinstance(outcome, _retry.Verified):
            return outcome.data
        if not outcome.content or outcome.status_code == 204:
            return None
        return jsonlib.loads(outcome.content)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = NO_BODY,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> EngineResponse:
        """Send a request with retries; raise the typed error for a status >= 400.

        With ``idempotency_key`` every attempt carries that ``Idempotency-Key``
        (the server replays its first answer instead of acting twice), so the
        request is retried like an idempotent one, also after a lost answer;
        a raised error carries the key as ``idempotency_key``.
        ``content`` is a raw body sent as ``content_type`` instead of ``json``;
        ``accept`` replaces the JSON ``Accept`` header. A write whose outcome
        cannot be known raises :class:`~inkbox_async.OutcomeUnknownError`.
        """
        outcome = await self._exchange(
            method,
            path,
            params=params,
            json=json,
            timeout=timeout,
            idempotency_key=idempotency_key,
            content=content,
            content_type=content_type,
            accept=accept,
        )
        if isinstance(outcome, _retry.Verified):  # a DELETE found already done
            return EngineResponse(204, {}, b"")
        return outcome

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = NO_BODY,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        accept: str | None = None,
        verify: Verifier | None = None,
    ) -> EngineResponse | _retry.Verified:
        """The attempts of one call, then what its final failure means (:func:`_retry.settle`)."""
        url = self.base_url + path
        if params:
            query = query_string(params)
            if query:
                url = f"{url}?{query}"
        headers = self._headers
        if accept is not None:
            headers = {**headers, "Accept": accept}
        if content is not None:
            headers = {**headers, "Content-Type": content_type or "application/octet-stream"}
        elif json is not NO_BODY:
            content = json_body(json)
            headers = {**headers, "Content-Type": "application/json"}
        if idempotency_key is not None:
            headers = {**headers, **_idempotency.headers(idempotency_key)}
        keyed = idempotency_key is not None
        shown = loggable(path)
        attempt = 0
        uncertain = False  # whether an attempt so far may have taken effect
        while True:
            started = time.perf_counter()
            retry_after: float | None = None
            failure: InkboxConnectionError | InkboxAPIError
            try:
                response = await self._engine.send(
                    method, url, headers=headers, content=content, timeout=timeout
                )
            except InkboxConnectionError as exc:
                failure = exc
                retryable = _retry.may_retry_error(method, exc, keyed=keyed)
            else:
                if logger.isEnabledFor(logging.DEBUG):  # the target with its query, masked
                    logger.debug(
                        "%s %s -> %d in %.1f ms",
                        method,
                        scrub(url[len(self.base_url) :]),
                        response.status_code,
                        (time.perf_counter() - started) * 1000,
                    )
                if response.status_code < 400:
                    return response
                retry_after = _retry.retry_after_seconds(response.headers)
                error = error_from_response(
                    response.status_code,
                    response.content,
                    request_id=response.headers.get("x-request-id"),
                    retry_after=retry_after,
                    method=method,
                    path=urlsplit(self.base_url).path + shown,
                )
                failure = error
                retryable = _retry.may_retry_status(
                    method, response.status_code, keyed=keyed, code=error.code
                )
            uncertain = uncertain or _retry.may_have_taken_effect(failure)
            delay = self._retry_delay(attempt, retryable, retry_after)
            if delay is None:
                return await self._settle(
                    method, shown, failure, uncertain, idempotency_key, verify
                )
            if isinstance(failure, InkboxAPIError):
                logger.info(
                    "%s %s -> %d; retrying in %.2fs", method, shown, failure.status_code, delay
                )
            else:
                logger.info("%s %s failed (%s); retrying in %.2fs", method, shown, failure, delay)
            attempt += 1
            await sleep(delay)

    @staticmethod
    async def _settle(
        method: str,
        shown: str,
        failure: InkboxConnectionError | InkboxAPIError,
        uncertain: bool,
        idempotency_key: str | None,
        verify: Verifier | None,
    ) -> _retry.Verified:
        """Report a call's final failure truthfully: raise it, or what verifies its outcome."""
        outcome = _retry.settle(
            method,
            failure,
            uncertain=uncertain,
            keyed=idempotency_key is not None,
            verifiable=verify is not None,
        )
        if outcome is _retry.Outcome.DONE:
            logger.info("%s %s: a lost attempt already did it (%s)", method, shown, failure)
            return _retry.Verified()
        if outcome is _retry.Outcome.VERIFY:
            assert verify is not None
            try:
                found = await verify()
            except InkboxError as exc:
                unknown = OutcomeUnknownError(method, shown, f"checking it failed: {exc}")
                unknown.idempotency_key = idempotency_key
                raise unknown from failure
            if found is not None:
                logger.info("%s %s: checked, it took effect (%s)", method, shown, failure)
                return found
        elif outcome is _retry.Outcome.UNKNOWN:
            unknown = OutcomeUnknownError(method, shown, str(failure))
            unknown.idempotency_key = idempotency_key
            raise unknown from failure
        failure.idempotency_key = idempotency_key
        raise failure

    def _retry_delay(
        self, attempt: int, retryable: bool, retry_after: float | None
    ) -> float | None:
        if not retryable or attempt >= self.max_retries:
            return None
        return _retry.backoff(attempt + 1, retry_after)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._engine.aclose()
