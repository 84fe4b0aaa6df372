"""Faults of the tunnel edge: misbehaviour injected into the agent-facing HTTP/2 side.

Standing faults (used up one match at a time; ``count=None`` = until cleared):

``hello_status``
    answer hello with ``status`` and ``body`` (a string, or JSON for other values),
    e.g. 503, or 409 with ``{"reason": "hello-superseded"}``.
``hello_stall``
    never answer hello.
``withhold_ping_acks``
    do not acknowledge the agent's PINGs (each withheld ack uses one match).
``slow_response``
    wait ``delay`` seconds before answering a response POST (the public caller
    gets its answer at once).
``intake_status``
    answer a parked intake at once with ``status`` and an ``inkbox-reason:
    {reason}`` header instead of holding it.
``malformed_envelope``
    answer a parked intake at once with a 200 envelope whose ``inkbox-request-id``
    is ``request_id`` (default ``../escape``: not one path segment; ``""`` sends
    none), as a broken edge would.
``bridge_refuse``
    answer bridge CONNECTs (``/_system/ws/…``, ``/_system/tcp/…``) with ``status``.

One-shot actions, applied to the tunnel's current connections when injected:

``drop_connection``
    abort the TCP connection.
``goaway``
    send GOAWAY with ``error_code`` (default 0) and ``debug_data``.

A fault with ``name`` applies to that tunnel only; without, to every tunnel.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["ACTION_KINDS", "STANDING_KINDS", "TunnelFault", "TunnelFaultRegistry", "fault_params"]

STANDING_KINDS = (
    "hello_status",
    "hello_stall",
    "withhold_ping_acks",
    "slow_response",
    "intake_status",
    "malformed_envelope",
    "bridge_refuse",
)
ACTION_KINDS = ("drop_connection", "goaway")


@dataclass(frozen=True)
class TunnelFault:
    """One injected edge fault."""

    id: str
    kind: str
    name: str | None
    remaining: int | None
    params: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """The control-API representation."""
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "remaining": self.remaining,
            "params": dict(self.params),
        }


def _encode_body(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    if isinstance(body, str):
        return body
    return json.dumps(body)


def _status(params: dict[str, Any], default: int) -> int:
    value = params.get("status", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError("status must be an HTTP status code (100-599)")
    return value


def fault_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the parameters of ``kind`` (``ValueError`` on a bad one)."""
    known = {
        "hello_status": {"status", "body"},
        "hello_stall": set(),
        "withhold_ping_acks": set(),
        "slow_response": {"delay"},
        "intake_status": {"status", "reason"},
        "malformed_envelope": {"request_id"},
        "bridge_refuse": {"status"},
        "drop_connection": set(),
        "goaway": {"error_code", "debug_data"},
    }
    if kind not in known:
        raise ValueError(f"kind must be one of {', '.join(STANDING_KINDS + ACTION_KINDS)}")
    unknown = set(params) - known[kind]
    if unknown:
        raise ValueError(f"unknown parameter(s) for {kind}: {', '.join(sorted(unknown))}")
    if kind == "hello_status":
        return {"status": _status(params, 503), "body": _encode_body(params.get("body"))}
    if kind == "intake_status":
        reason = params.get("reason")
        return {
            "status": _status(params, 503),
            "reason": None if reason is None else str(reason),
        }
    if kind == "malformed_envelope":
        return {"request_id": str(params.get("request_id", "../escape"))}
    if kind == "bridge_refuse":
        return {"status": _status(params, 403)}
    if kind == "slow_response":
        delay = params.get("delay", 1.0)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ValueError("delay must be a non-negative number of seconds")
        return {"delay": float(delay)}
    if kind == "goaway":
        code = params.get("error_code", 0)
        if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < 2**32:
            raise ValueError("error_code must be an unsigned 32-bit integer")
        data = params.get("debug_data")
        encoded = (
            b""
            if data is None
            else data
            if isinstance(data, bytes)
            else data.encode()
            if isinstance(data, str)
            else json.dumps(data).encode()
        )
        return {"error_code": code, "debug_data": encoded}
    return {}


class TunnelFaultRegistry:
    """Thread-safe list of standing edge faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[TunnelFault] = []

    def add(
        self, kind: str, name: str | None, count: int | None, params: dict[str, Any]
    ) -> TunnelFault:
        """Register a standing fault (parameters already validated)."""
        if kind not in STANDING_KINDS:
            raise ValueError(f"kind must be one of {', '.join(STANDING_KINDS)}")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for no limit)")
        fault = TunnelFault(str(uuid.uuid4()), kind, name and name.lower(), count, params)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, kind: str, tunnel_name: str | None) -> TunnelFault | None:
        """The first matching fault, with one use consumed."""
        if not self._faults:  # the usual case, decided without the lock
            return None
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.kind != kind or fault.name not in (None, tunnel_name):
                    continue
                if fault.remaining is None:
                    return fault
                if fault.remaining > 1:
                    self._faults[index] = replace(fault, remaining=fault.remaining - 1)
                else:
                    del self._faults[index]
                return fault
        return None

    def list(self) -> list[TunnelFault]:
        """Active standing faults, oldest first."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Remove every standing fault."""
        with self._lock:
            self._faults.clear()
