"""Request recording: every public-API request and the status it got, in arrival order."""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .store import Store
from .validation import MAX_BODY_BYTES

__all__ = ["CONTROL_PREFIX", "FAULT_KEY", "RecordedRequest", "RecordingMiddleware"]

CONTROL_PREFIX = "/_emulator"
"""Reserved path prefix of the control API (never recorded)."""

FAULT_KEY = "inkbox_emulator.fault"
"""Scope key where the fault middleware notes the fault it applied (see ``core.faults``)."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator served, as it arrived on the wire."""

    method: str
    """HTTP method, upper-case."""
    path: str
    """Raw request path, percent-escapes kept as sent."""
    query: str
    """Raw query string without ``?`` (``""`` if none)."""
    headers: dict[str, str]
    """Header names lower-cased; the last value wins for repeated headers."""
    body: bytes
    """Raw request body."""
    status: int
    """Status code of the response (for ``drop_after``: the one the client never got;
    ``0`` when no response was produced, e.g. ``drop_before``)."""
    seq: int = field(default=0, compare=False, repr=False)
    fault: str | None = None
    """The kind of injected fault applied to this request, if any."""

    def json(self) -> Any:
        """The body decoded as JSON, or ``None`` when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def to_wire(self) -> dict[str, Any]:
        """The control-API representation (body as base64 plus text when UTF-8)."""
        try:
            text: str | None = self.body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body_base64": base64.b64encode(self.body).decode(),
            "body_text": text,
            "status": self.status,
            "fault": self.fault,
        }


class RecordingMiddleware:
    """ASGI middleware that buffers each request body and records it with its status."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store
        self._seq = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        seq = next(self._seq)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                # Stop buffering: answer 413 at once and keep none of it (the connection closes).
                self._record(scope, b"", 413, seq)
                await _too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        recorded = False
        fault: dict[str, Any] = {}
        scope[FAULT_KEY] = fault

        async def capture(message: Message) -> None:
            # Record before the response leaves, so a client that has its answer
            # always finds the request in the log.
            nonlocal recorded
            if (
                message["type"] == "http.response.start"
                and not recorded
                and int(message["status"]) >= 200
            ):
                recorded = True
                self._record(scope, body, int(message["status"]), seq, fault.get("kind"))
            await send(message)

        try:
            await self.app(scope, replay, capture)
        finally:
            if not recorded:
                status = fault.get("status", 0 if fault.get("kind") else 500)
                self._record(scope, body, status, seq, fault.get("kind"))

    def _record(
        self, scope: Scope, body: bytes, status: int, seq: int, fault: str | None = None
    ) -> None:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        entry = RecordedRequest(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            status=status,
            seq=seq,
            fault=fault,
        )
        with self.store.lock:
            _insert(self.store.requests, entry)


async def _too_large(send: Send) -> None:
    body = json.dumps({"detail": "Request body too large"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _insert(log: list[Any], entry: RecordedRequest) -> None:
    """Insert keeping arrival order (responses may finish out of order)."""
    index = len(log)
    while index > 0 and log[index - 1].seq > entry.seq:
        index -= 1
    log.insert(index, entry)
