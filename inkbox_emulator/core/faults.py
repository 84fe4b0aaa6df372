"""Fault injection for public routes: canned errors, delays and dropped connections.

A fault matches a request by method (``*`` = any) and path: a glob where
``*`` matches within one path segment and ``**`` across segments (``?`` one
character), or a regular expression when the pattern starts with ``^``
(matched against the whole decoded path, ``@`` literal). The first matching
fault with uses left fires and uses one up. Kinds:

``status``
    answer ``status`` (e.g. 429/503) with ``{"detail": …}`` and an optional
    ``Retry-After`` header; the request is not processed.
``delay``
    wait ``delay`` seconds, then process the request normally.
``drop_before``
    close the connection without processing the request.
``drop_after``
    process the request (its writes are committed), then close the connection
    without sending the response.

Dropping is done at the ASGI level: the app sends a ``100 Continue``
informational head and ends, so hypercorn closes the HTTP/1.1 connection with
no final response; clients see ``RemoteProtocolError`` ("Server disconnected
without sending a response"). On HTTP/2 the stream is simply left unanswered.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, replace
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .recording import CONTROL_PREFIX, FAULT_KEY

__all__ = ["FAULT_KINDS", "Fault", "FaultMiddleware", "FaultRegistry", "compile_path"]

FAULT_KINDS = ("status", "delay", "drop_before", "drop_after")


def compile_path(pattern: str) -> re.Pattern[str]:
    """The regex of a path pattern (see module docstring)."""
    if pattern.startswith("^"):
        return re.compile(pattern)
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class Fault:
    """One injected fault and how many uses it has left."""

    id: str
    method: str
    path: str
    kind: str
    remaining: int
    status: int = 503
    retry_after: float | None = None
    delay: float = 0.0

    def to_wire(self) -> dict[str, Any]:
        """The control-API representation."""
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "remaining": self.remaining,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay": self.delay,
        }


class FaultRegistry:
    """Thread-safe list of active faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[tuple[Fault, re.Pattern[str]]] = []

    def add(
        self,
        method: str = "*",
        path: str = "**",
        kind: str = "status",
        count: int = 1,
        status: int = 503,
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> str:
        """Register a fault; returns its id. Raises ``ValueError`` on a bad argument."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if kind == "status" and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if delay < 0 or (retry_after is not None and retry_after < 0):
            raise ValueError("delay and retry_after must not be negative")
        try:
            compiled = compile_path(path)
        except re.error as exc:
            raise ValueError(f"invalid path pattern: {exc}") from None
        fault = Fault(
            id=str(uuid.uuid4()),
            method=(method or "*").upper(),
            path=path,
            kind=kind,
            remaining=count,
            status=status,
            retry_after=retry_after,
            delay=delay,
        )
        with self._lock:
            self._faults.append((fault, compiled))
        return fault.id

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, with one use consumed."""
        with self._lock:
            for index, (fault, compiled) in enumerate(self._faults):
                if fault.method not in ("*", method.upper()) or not compiled.match(path):
                    continue
                left = fault.remaining - 1
                if left:
                    self._faults[index] = (replace(fault, remaining=left), compiled)
                else:
                    del self._faults[index]
                return fault
        return None

    def list(self) -> list[Fault]:
        """Active faults, in the order they were added."""
        with self._lock:
            return [fault for fault, _ in self._faults]

    def remove(self, fault_id: str) -> bool:
        """Remove one fault; whether it existed."""
        with self._lock:
            before = len(self._faults)
            self._faults = [(f, c) for f, c in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()


_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


async def _drop(send: Send) -> None:
    # An informational head, then the app ends: hypercorn has no final response and closes.
    await send({"type": "http.response.start", "status": 100, "headers": []})


class FaultMiddleware:
    """ASGI middleware applying :class:`FaultRegistry` faults to public requests."""

    def __init__(self, app: ASGIApp, registry: FaultRegistry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = self.registry.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        info: dict[str, Any] = scope.setdefault(FAULT_KEY, {})
        info["kind"] = fault.kind
        info["fault_id"] = fault.id
        if fault.kind == "status":
            await self._status(fault, send)
        elif fault.kind == "delay":
            await anyio.sleep(fault.delay)
            await self.app(scope, receive, send)
        elif fault.kind == "drop_before":
            await _drop(send)
        else:

            async def swallow(message: Message) -> None:
                if message["type"] == "http.response.start":
                    info["status"] = int(message["status"])

            await self.app(scope, receive, swallow)
            await _drop(send)

    @staticmethod
    async def _status(fault: Fault, send: Send) -> None:
        reason = _REASONS.get(fault.status, "Error")
        body = f'{{"detail":"{reason} (injected fault)"}}'.encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if fault.retry_after is not None:
            value = fault.retry_after
            text = str(int(value)) if float(value).is_integer() else str(value)
            headers.append((b"retry-after", text.encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
