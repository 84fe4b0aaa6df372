"""Background work after commits: delivery outcomes and signed webhook POSTs with retries.

A scheduler thread keeps a heap of timed jobs and hands due ones to a few
worker threads, so API responses never wait for a webhook. Each webhook is
POSTed with its exact body bytes, ``Content-Type: application/json`` and,
when the organisation has a signing key at the time of the attempt, the
``X-Inkbox-Request-ID`` / ``X-Inkbox-Timestamp`` / ``X-Inkbox-Signature``
headers (the request id is the same on every attempt of one
delivery; the timestamp is wall-clock Unix seconds, not the emulator clock,
so receivers checking freshness against their own clock accept it even after
``advance_clock``; the envelope's ``timestamp`` follows the emulator clock
like every other date it serves). A non-2xx
answer, a connection error or a timeout is retried after each of
``retry_delays`` in turn; every attempt is recorded. :meth:`Dispatcher.post_now`
is the synchronous variant used by the incoming-call webhook: one signed POST
in the caller's thread, no retries, recorded like the others. URLs on the
emulator's tunnel zone are delivered through its own edge (``webhooks.tunnels``),
never the internet. ``Later`` events
(text and call status transitions) run a store operation after their delay.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx2

from inkbox_emulator.accounts.model import current_signing_key
from inkbox_emulator.core.events import DeliveryDue, Later, WebhookEvent
from inkbox_emulator.core.store import Store
from inkbox_emulator.core.times import iso
from inkbox_emulator.mail.delivery import complete_delivery

from .signing import signing_headers
from .subscriptions import identity_signing_key, log_delivery
from .tunnels import EdgeRoute, Target

__all__ = ["Dispatcher"]

Job = Callable[[], None]
_WORKERS = 4


@dataclass(frozen=True)
class _Delivery:
    event: WebhookEvent
    delivery_id: str
    generation: int


def _text(content: bytes) -> str:
    """A receiver's answer as kept in the delivery log (at most 4 KiB)."""
    return content[:4096].decode("utf-8", errors="replace")


class Dispatcher:
    """Runs the side effects a store commit released (see module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        delivery_delay: float = 0.05,
        retry_delays: tuple[float, ...] = (0.1, 0.3, 1.0),
        timeout: float = 5.0,
    ) -> None:
        self._store = store
        self.delivery_delay = delivery_delay
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, int, Job]] = []
        self._seq = itertools.count()
        self._generation = 0
        self._attempts: list[dict[str, Any]] = []
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._client: httpx2.Client | None = None
        self._edge_client: httpx2.Client | None = None
        self.edge_route: EdgeRoute | None = None
        """Set by the emulator: webhooks to its tunnel zone go through its own edge."""

    # -- wiring ------------------------------------------------------------------

    def handle_events(self, events: list[Any]) -> None:
        """``Store.on_commit`` hook: schedule what a committed operation emitted."""
        with self._cond:
            generation = self._generation
        for event in events:
            if isinstance(event, WebhookEvent):
                delivery = _Delivery(event, str(uuid.uuid4()), generation)
                self._schedule(0.0, generation, partial(self._attempt, delivery, 1))
            elif isinstance(event, DeliveryDue):
                job = partial(self._complete, event.message_row_id, generation)
                self._schedule(self.delivery_delay, generation, job)
            elif isinstance(event, Later):
                self._schedule(event.delay, generation, partial(self._later, event, generation))

    def _ensure_started(self) -> None:
        if self._threads or self._closed:
            return
        self._client = httpx2.Client(
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx2.Limits(max_keepalive_connections=0),
        )
        if self.edge_route is not None:
            self._edge_client = self.edge_route.client(
                self.timeout, limits=httpx2.Limits(max_keepalive_connections=0)
            )
        scheduler = threading.Thread(target=self._scheduler, name="inkbox-emulator-scheduler")
        scheduler.daemon = True
        self._threads.append(scheduler)
        for n in range(_WORKERS):
            worker = threading.Thread(target=self._worker, name=f"inkbox-emulator-worker-{n}")
            worker.daemon = True
            self._threads.append(worker)
        for thread in self._threads:
            thread.start()

    def _schedule(self, delay: float, generation: int, job: Job) -> None:
        with self._cond:
            if self._closed or generation != self._generation:
                return
            self._ensure_started()
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), generation, job))
            self._cond.notify_all()

    def _scheduler(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    timeout = self._heap[0][0] - now if self._heap else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
                _, _, generation, job = heapq.heappop(self._heap)
                if generation != self._generation:
                    continue
            self._jobs.put(job)

    def _worker(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:  # a job must never kill its worker (e.g. store closed meanwhile)
                continue

    # -- jobs ----------------------------------------------------------------------

    def _current(self, generation: int) -> bool:
        with self._cond:
            return generation == self._generation and not self._closed

    def _complete(self, message_row_id: str, generation: int) -> None:
        if self._current(generation):
            self._store.run(complete_delivery, message_row_id)

    def _later(self, event: Later, generation: int) -> None:
        if self._current(generation):
            self._store.run(event.op)

    def _target(self, url: str) -> Target:
        return Target(url) if self.edge_route is None else self.edge_route.target(url)

    def _secret(self, event: WebhookEvent) -> str | None:
        """The owning identity's key; the legacy org key when there is no identity key."""
        if event.signer_identity_id is not None:
            secret = self._store.run(identity_signing_key, event.signer_identity_id)
            if secret:
                return secret
        return self._store.run(current_signing_key, event.organization_id)

    def _headers(self, event: WebhookEvent, request_id: str) -> dict[str, str]:
        secret = self._secret(event)
        headers = {"Content-Type": "application/json", "User-Agent": "Inkbox-Webhooks/emulator"}
        if event.auth_token:
            headers["Authorization"] = f"Bearer {event.auth_token}"
        if secret:
            headers.update(
                signing_headers(
                    secret, event.body, request_id=request_id, timestamp=int(time.time())
                )
            )
        return headers

    def _record(
        self,
        delivery: _Delivery,
        attempt: int,
        headers: dict[str, str],
        status: int | None,
        error: str | None,
        started: float,
        response_body: str | None = None,
    ) -> str | None:
        """Append one attempt to the logs; its delivery-log row id (None when a reset made
        it stale)."""
        event = delivery.event
        duration = time.monotonic() - started
        record = {
            "id": str(uuid.uuid4()),
            "delivery_id": delivery.delivery_id,
            "organization_id": event.organization_id,
            "mailbox_id": event.mailbox_id,
            "phone_number_id": event.phone_number_id,
            "subscription_id": event.subscription_id,
            "event_id": event.event_id,
            "is_replay": event.is_replay,
            "url": event.url,
            "event_type": event.event_type,
            "attempt": attempt,
            "status_code": status,
            "error": error,
            "headers": headers,
            "body": event.body,
            "delivered": error is None,
            "duration_seconds": round(duration, 4),
            "attempted_at": iso(self._store.now()),
        }
        with self._cond:
            if delivery.generation != self._generation:
                return None
        row_id = self._store.run(
            log_delivery, event, status, response_body, error, round(duration * 1000)
        )
        with self._cond:
            if delivery.generation != self._generation:
                return None
            self._attempts.append(record)
            self._cond.notify_all()
        return row_id

    def post_now(self, event: WebhookEvent, timeout: float) -> tuple[int | None, bytes, str | None]:
        """POST ``event`` synchronously in the calling thread (no retries), record the attempt
        and return ``(status, response body, error)``; ``status`` is ``None`` on a transport
        error or a timeout. Used for the synchronous incoming-call webhook."""
        status, content, error, _ = self._post_once(event, timeout)
        return status, content, error

    def replay_now(self, event: WebhookEvent) -> str | None:
        """POST a replayed delivery synchronously (no retries); its delivery-log row id."""
        return self._post_once(event, self.timeout)[3]

    def _post_once(
        self, event: WebhookEvent, timeout: float
    ) -> tuple[int | None, bytes, str | None, str | None]:
        with self._cond:
            delivery = _Delivery(event, str(uuid.uuid4()), self._generation)
        headers = self._headers(event, delivery.delivery_id)
        status: int | None = None
        content = b""
        error: str | None = None
        started = time.monotonic()
        try:
            target = self._target(event.url)
            if target.via_edge and self.edge_route is not None:
                client = self.edge_route.client(timeout)
            else:
                client = httpx2.Client(timeout=timeout, follow_redirects=False, trust_env=False)
            with client:
                response = client.post(
                    target.url,
                    content=event.body,
                    headers={**headers, **target.headers},
                    extensions=target.extensions,
                )
            status, content = response.status_code, response.content
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx2.TimeoutException as exc:
            error = f"timeout after {timeout}s ({type(exc).__name__})"
        except httpx2.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # e.g. an unsupported URL scheme
            error = f"{type(exc).__name__}: {exc}"
        row_id = self._record(
            delivery, 1, headers, status, error, started, _text(content) if status else None
        )
        return status, content, error, row_id

    def _attempt(self, delivery: _Delivery, attempt: int) -> None:
        if not self._current(delivery.generation) or self._client is None:
            return
        event = delivery.event
        headers = self._headers(event, delivery.delivery_id)
        status: int | None = None
        error: str | None = None
        started = time.monotonic()
        body: str | None = None
        try:
            target = self._target(event.url)
            client = self._edge_client if target.via_edge else self._client
            if client is None:
                raise RuntimeError("webhooks to tunnel hosts need the emulator's edge")
            response = client.post(
                target.url,
                content=event.body,
                headers={**headers, **target.headers},
                extensions=target.extensions,
            )
            status = response.status_code
            body = _text(response.content)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx2.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # e.g. an unsupported URL scheme
            error = f"{type(exc).__name__}: {exc}"
        if self._record(delivery, attempt, headers, status, error, started, body) is None:
            return
        if error is not None and attempt <= len(self.retry_delays):
            self._schedule(
                self.retry_delays[attempt - 1],
                delivery.generation,
                partial(self._attempt, delivery, attempt + 1),
            )

    # -- inspection ------------------------------------------------------------------

    def attempts(
        self, organization_id: str | None = None, event_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Every recorded attempt (copies), in the order they finished."""
        with self._cond:
            return [
                dict(a, headers=dict(a["headers"]))
                for a in self._attempts
                if (organization_id is None or a["organization_id"] == organization_id)
                and (event_type is None or a["event_type"] == event_type)
            ]

    def wait_for(
        self,
        count: int,
        *,
        timeout: float = 5.0,
        event_type: str | None = None,
        organization_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Block until ``count`` successful deliveries match; returns all that match."""

        def matching() -> list[dict[str, Any]]:
            return [
                a
                for a in self._attempts
                if a["delivered"]
                and (event_type is None or a["event_type"] == event_type)
                and (organization_id is None or a["organization_id"] == organization_id)
            ]

        with self._cond:
            if not self._cond.wait_for(lambda: len(matching()) >= count, timeout):
                seen = [(a["event_type"], a["attempt"], a["error"]) for a in self._attempts]
                raise TimeoutError(
                    f"{len(matching())} of {count} matching webhook deliveries within "
                    f"{timeout}s (attempts so far: {seen[-10:]})"
                )
            return [dict(a, headers=dict(a["headers"])) for a in matching()]

    # -- lifecycle ---------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every pending job and recorded attempt."""
        with self._cond:
            self._generation += 1
            self._heap.clear()
            self._attempts.clear()
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the threads (pending jobs are dropped)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._heap.clear()
            self._cond.notify_all()
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join(0.2)
        for client in (self._client, self._edge_client):
            if client is not None:
                client.close()
