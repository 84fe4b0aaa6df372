"""Request bodies and checks of the webhook subscription calls (pure, shared by both flavours)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._sentinel import UNSET, Unset

INCOMING_CALL = "phone.incoming_call"
EVENT_PREFIXES = ("message.", "text.", "imessage.", "call.", "a2a.", "slack.")
_CONTEXT_LIMITS = {"count": ("count", 50), "window": ("hours", 168)}
_OWNERS = ("agent_identity_id", "mailbox_id", "phone_number_id")
URL_SCHEMES = ("https", "http")


def scope(value: object) -> str | None:
    """``scope``: ``None`` or ``"identity"``."""
    if value is None or value == "identity":
        return value
    raise InvalidArgumentError("scope", f"must be None or 'identity', got {value!r}")


def event_types(argument: str, value: object) -> list[str]:
    """A non-empty list of distinct event names of known channels (not the incoming call)."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise check.type_error(argument, "a list of event type names", value)
    names = [check.text(f"{argument}[{i}]", item, max_length=100) for i, item in enumerate(value)]
    if not names:
        raise InvalidArgumentError(argument, "must list at least one event type")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidArgumentError(argument, f"lists {name!r} twice")
        seen.add(name)
        if name == INCOMING_CALL:
            raise InvalidArgumentError(
                argument,
                f"{INCOMING_CALL!r} is not delivered through subscriptions: set the number's "
                "incoming_call_action='webhook' and incoming_call_webhook_url instead",
            )
        if not name.startswith(EVENT_PREFIXES):
            raise InvalidArgumentError(
                argument,
                f"{name!r} is not an event of a known channel ({', '.join(EVENT_PREFIXES)})",
            )
    return names


def context_config(value: object) -> dict[str, Any]:
    """``context_config``: per class ``{mode: count, count: 1..50}`` or ``{mode: window, hours: 1..168}``."""
    if not isinstance(value, Mapping):
        raise check.type_error("context_config", "a dict of class -> mode config", value)
    result: dict[str, Any] = {}
    for klass, entry in value.items():
        where = f"context_config[{klass!r}]"
        if klass not in ("email", "texts", "calls"):
            raise InvalidArgumentError(
                "context_config", f"unknown class {klass!r} (use 'email', 'texts' or 'calls')"
            )
        if entry is None:
            result[klass] = None
            continue
        if not isinstance(entry, Mapping):
            raise check.type_error(where, "a mode config dict", entry)
        mode = entry.get("mode")
        if mode not in _CONTEXT_LIMITS:
            raise InvalidArgumentError(where, f"mode must be 'count' or 'window', got {mode!r}")
        key, top = _CONTEXT_LIMITS[mode]
        if set(entry) != {"mode", key}:
            raise InvalidArgumentError(where, f"a {mode!r} config has exactly the keys mode, {key}")
        result[klass] = {"mode": mode, key: check.int_range(f"{where}.{key}", entry[key], 1, top)}
    return result


def owner_filters(**owners: UUID | str | None) -> dict[str, str]:
    """At most one of the owner ids, as query parameters."""
    given = {name: value for name, value in owners.items() if value is not None}
    if len(given) > 1:
        raise InvalidArgumentError(
            " / ".join(given), "are mutually exclusive: filter by one owner at a time"
        )
    return {name: check.uuid(name, value) for name, value in given.items()}


def create(
    *,
    url: object,
    event_types_: object,
    owners: dict[str, UUID | str | None],
    context_config_: object,
    auth_token: object,
) -> dict[str, Any]:
    """Body of ``POST /webhooks/subscriptions``: exactly one owner."""
    given = [name for name in _OWNERS if owners.get(name) is not None]
    if len(given) != 1:
        raise InvalidArgumentError(
            "agent_identity_id",
            "give exactly one owner: agent_identity_id (preferred), mailbox_id or phone_number_id",
        )
    body: dict[str, Any] = {
        "url": check.url("url", url, schemes=URL_SCHEMES),
        "event_types": event_types("event_types", event_types_),
        given[0]: check.uuid(given[0], owners[given[0]]),
    }
    if context_config_ is not None:
        body["context_config"] = context_config(context_config_)
    if auth_token is not None:
        body["auth_token"] = check.credential("auth_token", auth_token, max_length=1024)
    return body


def update(
    *,
    url: str | Unset,
    event_types_: Sequence[str] | Unset,
    context_config_: object,
    auth_token: str | Unset | None,
) -> dict[str, Any]:
    """Body of the subscription PATCH: omitted (UNSET) fields stay, ``None`` clears."""
    body: dict[str, Any] = {}
    if url is not UNSET:
        body["url"] = check.url("url", url, schemes=URL_SCHEMES)
    if event_types_ is not UNSET:
        body["event_types"] = event_types("event_types", event_types_)
    if context_config_ is not UNSET:
        body["context_config"] = (
            None if context_config_ is None else context_config(context_config_)
        )
    if auth_token is not UNSET:
        body["auth_token"] = (
            None
            if auth_token is None
            else check.credential("auth_token", auth_token, max_length=1024)
        )
    return body


def scope_query(value: object) -> dict[str, str] | None:
    """The query of a subscription call with ``scope`` (only ``identity`` is sent)."""
    return {"scope": "identity"} if scope(value) == "identity" else None
