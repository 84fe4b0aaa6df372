"""Request bodies and queries for phone calls, validated before any I/O (pure)."""

from __future__ import annotations

import re
from typing import Any

from inkbox_async import _validate as check
from inkbox_async._bodies import US_STATES
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.identities import IncomingCallAction, PhoneNumberType
from inkbox_async.models.mail import FilterMode
from inkbox_async.models.phone import (
    PhoneRuleAction,
    PhoneRuleMatchType,
    SmsOptInStatus,
    TranscriptParty,
)

TEXT_MAX = 1600
LIMIT_MAX = 200
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def e164(argument: str, value: object) -> str:
    """A phone number in E.164 form (``+`` then 8 to 15 digits)."""
    number = check.text(argument, value, max_length=16)
    if not _E164.fullmatch(number):
        raise InvalidArgumentError(
            argument, f"{number!r} is not an E.164 number such as +15551234567"
        )
    return number


def page(limit: int, offset: int) -> dict[str, int]:
    """``limit`` (1-200) and ``offset`` (>= 0), always sent."""
    return {
        "limit": check.int_range("limit", limit, 1, LIMIT_MAX),
        "offset": check.int_range("offset", offset, 0, 10**9),
    }


def optional_bool(argument: str, value: bool | None) -> bool | None:
    """A filter flag sent only when set."""
    return None if value is None else check.boolean(argument, value)


def provision(
    *,
    agent_handle: str,
    type: PhoneNumberType | str,
    state: str | None,
    incoming_text_webhook_url: str | None,
) -> dict[str, Any]:
    """Body of ``POST /api/v1/phone/numbers``."""
    body: dict[str, Any] = {
        "agent_handle": check.handle("agent_handle", agent_handle),
        "type": check.choice("type", type, PhoneNumberType),
    }
    if state is not None:
        if body["type"] == PhoneNumberType.TOLL_FREE:
            raise InvalidArgumentError("state", "only local numbers take a state")
        value = check.text("state", state, max_length=2)
        if value.upper() not in US_STATES:
            raise InvalidArgumentError("state", f"{value!r} is not a US state code")
        body["state"] = value
    if incoming_text_webhook_url is not None:
        body["incoming_text_webhook_url"] = check.url(
            "incoming_text_webhook_url", incoming_text_webhook_url, schemes=("https", "http")
        )
    return body


def _nullable_url(argument: str, value: str | None, schemes: tuple[str, ...]) -> str | None:
    return None if value is None else check.url(argument, value, schemes=schemes)


def number_update(
    *,
    incoming_call_action: IncomingCallAction | str | Unset,
    client_websocket_url: str | Unset | None,
    incoming_call_webhook_url: str | Unset | None,
    incoming_text_webhook_url: str | Unset | None,
    filter_mode: FilterMode | str | Unset,
) -> dict[str, Any]:
    """Body of ``PATCH /api/v1/phone/numbers/{id}``: only what was passed (``None`` clears)."""
    body: dict[str, Any] = {}
    if incoming_call_action is not UNSET:
        body["incoming_call_action"] = check.choice(
            "incoming_call_action", incoming_call_action, IncomingCallAction
        )
    if client_websocket_url is not UNSET:
        body["client_websocket_url"] = _nullable_url(
            "client_websocket_url", client_websocket_url, ("wss", "ws")
        )
    if incoming_call_webhook_url is not UNSET:
        body["incoming_call_webhook_url"] = _nullable_url(
            "incoming_call_webhook_url", incoming_call_webhook_url, ("https", "http")
        )
    if incoming_text_webhook_url is not UNSET:
        body["incoming_text_webhook_url"] = _nullable_url(
            "incoming_text_webhook_url", incoming_text_webhook_url, ("https", "http")
        )
    if filter_mode is not UNSET:
        body["filter_mode"] = check.choice("filter_mode", filter_mode, FilterMode)
    action = body.get("incoming_call_action")
    if action == IncomingCallAction.AUTO_ACCEPT and body.get("client_websocket_url", "") is None:
        raise InvalidArgumentError(
            "client_websocket_url", "cannot be cleared while auto_accept is set"
        )
    if action == IncomingCallAction.WEBHOOK and body.get("incoming_call_webhook_url", "") is None:
        raise InvalidArgumentError(
            "incoming_call_webhook_url", "cannot be cleared while webhook is set"
        )
    return body


def text(value: object) -> str:
    """A text body: 1 to 1600 characters, not only whitespace."""
    return check.text("text", value, max_length=TEXT_MAX)


def party(value: TranscriptParty | str | None) -> str | None:
    """The transcript ``party`` filter."""
    return None if value is None else check.choice("party", value, TranscriptParty)


def opt_in_status(value: SmsOptInStatus | str | None) -> str | None:
    """The opt-in ``status`` filter."""
    return None if value is None else check.choice("status", value, SmsOptInStatus)


def rule_create(
    *, action: PhoneRuleAction | str, match_target: str, match_type: PhoneRuleMatchType | str
) -> dict[str, Any]:
    """Body of a phone contact rule create."""
    return {
        "action": check.choice("action", action, PhoneRuleAction),
        "match_type": check.choice("match_type", match_type, PhoneRuleMatchType),
        "match_target": e164("match_target", match_target),
    }


def rule_filters(
    action: PhoneRuleAction | str | None,
    match_type: PhoneRuleMatchType | str | None,
    limit: int | None,
    offset: int | None,
) -> dict[str, Any]:
    """Query of the contact-rule lists, each key only when set."""
    return {
        "action": None if action is None else check.choice("action", action, PhoneRuleAction),
        "match_type": None
        if match_type is None
        else check.choice("match_type", match_type, PhoneRuleMatchType),
        "limit": None if limit is None else check.int_range("limit", limit, 1, LIMIT_MAX),
        "offset": None if offset is None else check.int_range("offset", offset, 0, 10**9),
    }
