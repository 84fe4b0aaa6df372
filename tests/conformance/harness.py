"""The conformance harness: one scenario, run by an official client and by ours.

Each scenario runs once per client against a freshly reset emulator; the
recorded requests (method, path, query, JSON body) must be equal once
generated ids are replaced by placeholders, and every client must parse the
responses. Ours runs in both flavours (the async one through a blocking
portal, so one scenario drives all three). The official peer is ``inkbox``
0.4.4 (the seed's) by default, or the current 0.7.20 (``official=CURRENT``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import inkbox

import inkbox_async
import inkbox_sync
from inkbox_emulator import Emulator

from .peers import official_current

CURRENT = official_current()  # the official 0.7.20 client, imported as ``inkbox_0720``
SEED = inkbox  # the official 0.4.4 client

_HEX64 = re.compile(r"[0-9a-f]{64}")
_SECRET_VALUES = re.compile(
    r'"(wrapped_org_encryption_key|auth_hash|current_auth_hash|recovery_auth_hash|encrypted_payload)"'
    r': "[^"]*"'
)
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Blocking:
    """Drives an async SDK object from blocking code through an anyio portal."""

    def __init__(self, target: Any, portal: Any) -> None:
        self._target = target
        self._portal = portal

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value) or isinstance(value, type):
            return self._wrap(value)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if hasattr(result, "__await__"):

                async def wait() -> Any:
                    return await result

                result = self._portal.call(wait)
            return self._wrap(result)

        return call

    def _wrap(self, value: Any) -> Any:
        if type(value).__name__.startswith("Async") or hasattr(value, "__aiter__"):
            return Blocking(value, self._portal)
        return value


Client = Callable[..., Any]


def close(client: Any, portal: Any) -> None:
    if isinstance(client, Blocking):
        portal.call(client._target.aclose)
    else:
        client.close()


def flavours(portal: Any, official: ModuleType = SEED) -> dict[str, tuple[Client, Any]]:
    """name -> (client factory, module holding the option classes and Inkbox class)."""

    def ours_async(key: str, *, base_url: str) -> Any:
        return Blocking(inkbox_async.AsyncInkbox(key, base_url=base_url), portal)

    return {
        "official": (official.Inkbox, official),
        "sync": (inkbox_sync.Inkbox, inkbox_sync),
        "async": (ours_async, inkbox_async),
    }


def normalise(emu: Emulator) -> list[tuple[str, str, list[tuple[str, str]], Any]]:
    out = []
    for r in emu.requests():
        body = r.json() if r.body else None
        text = json.dumps(body, sort_keys=True)
        text = _ID.sub("<id>", text)
        text = re.sub(r"ApiKey_[^\"]+", "<key>", text)
        text = re.sub(r'"verification_code": "\d+"', '"verification_code": "<code>"', text)
        text = _SECRET_VALUES.sub(r'"\1": "<opaque>"', text)
        path = _HEX64.sub("<hash>", _ID.sub("<id>", r.path))
        query = sorted(
            (k, "<opaque>" if k in ("cursor", "auth_hash") else _ID.sub("<id>", v))
            for k, v in parse_qsl(r.query, keep_blank_values=True)
        )
        out.append((r.method, path, query, json.loads(text)))
    return out


def run(
    emu: Emulator,
    portal: Any,
    scenario: Callable[..., Any],
    clean: Callable[[list[Any]], list[Any]] = lambda recorded: recorded,
    *,
    official: ModuleType = SEED,
) -> dict[str, Any]:
    """Run ``scenario(client, module, emu, org)`` once per client; compare what they sent."""
    recorded: dict[str, Any] = {}
    for name, (factory, module) in flavours(portal, official).items():
        emu.reset()
        org = emu.create_org()
        client = factory(org.api_key, base_url=emu.base_url)
        emu.clear_requests()
        try:
            scenario(client, module, emu, org)
        finally:
            close(client, portal)
        recorded[name] = clean(normalise(emu))
    assert recorded["official"], "the scenario sent nothing"
    assert recorded["sync"] == recorded["official"]
    assert recorded["async"] == recorded["official"]
    return recorded


def flavour_name(module: Any) -> str:
    """``official`` (either peer), ``sync`` or ``async``: the flavour a scenario runs as."""
    return {inkbox_sync: "sync", inkbox_async: "async"}.get(module, "official")
