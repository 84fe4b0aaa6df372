"""Request bodies and queries for phone calls, validated before any I/O (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async._bodies import US_STATES
from inkbox_async._deprecation import deprecated
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.identities import (
    ForwardingTargetType,
    IncomingCallAction,
    PhoneNumberType,
)
from inkbox_async.models.mail import FilterMode
from inkbox_async.models.phone import (
    CallMode,
    CallOrigin,
    HostedAgentAuthorityMode,
    OnVoicemail,
    PhoneRuleAction,
    PhoneRuleMatchType,
    SmsOptInStatus,
    TranscriptParty,
    VoicemailDetection,
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


TOLL_FREE_GONE = (
    "toll-free numbers are no longer offered by Inkbox: a local number is provisioned "
    "instead; pass type='local' (the default) and optionally state='NY'"
)


def number_type(argument: str, value: object, *, stacklevel: int) -> str:
    """The number type to send: ``local`` (``toll_free`` warns and becomes ``local``)."""
    kind = check.choice(argument, value, PhoneNumberType)
    if kind == PhoneNumberType.TOLL_FREE:
        deprecated(TOLL_FREE_GONE, stacklevel=stacklevel + 1)
    return PhoneNumberType.LOCAL.value


def us_state(argument: str, value: object) -> str:
    """A two-letter US state code, sent as given."""
    state = check.text(argument, value, max_length=2)
    if state.upper() not in US_STATES:
        raise InvalidArgumentError(argument, f"{state!r} is not a US state code")
    return state


def provision(
    *,
    agent_handle: str,
    type: PhoneNumberType | str,
    state: str | None,
    incoming_text_webhook_url: str | None,
    stacklevel: int,
) -> dict[str, Any]:
    """Body of ``POST /api/v1/phone/numbers`` (``stacklevel`` of the toll-free warning)."""
    body: dict[str, Any] = {
        "agent_handle": check.handle("agent_handle", agent_handle),
        "type": number_type("type", type, stacklevel=stacklevel + 1),
    }
    if state is not None:
        body["state"] = us_state("state", state)
    # Checked only: the number's text webhook is a webhook subscription now (see _phone).
    _nullable_url("incoming_text_webhook_url", incoming_text_webhook_url, ("https", "http"))
    return body


def _nullable_url(argument: str, value: str | None, schemes: tuple[str, ...]) -> str | None:
    return None if value is None else check.url(argument, value, schemes=schemes)


def sip_uri(argument: str, value: object) -> str:
    """A ``sip:`` or ``sips:`` URI with a host."""
    uri = check.text(argument, value, max_length=2048)
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips") or not rest.rpartition("@")[2]:
        raise InvalidArgumentError(
            argument, f"{uri!r} is not a sip: URI such as sip:desk@pbx.example.com"
        )
    return uri


def forwarding(
    prefix: str,
    target_type: ForwardingTargetType | str | Unset | None,
    phone_number: str | Unset | None,
    sip: str | Unset | None,
) -> dict[str, Any]:
    """The ``forwarding_*`` fields that were passed (``None`` clears), checked together."""
    out: dict[str, Any] = {}
    if target_type is not UNSET:
        out["forwarding_target_type"] = (
            None
            if target_type is None
            else check.choice(f"{prefix}forwarding_target_type", target_type, ForwardingTargetType)
        )
    if phone_number is not UNSET:
        out["forwarding_phone_number"] = (
            None if phone_number is None else e164(f"{prefix}forwarding_phone_number", phone_number)
        )
    if sip is not UNSET:
        out["forwarding_sip_uri"] = (
            None if sip is None else sip_uri(f"{prefix}forwarding_sip_uri", sip)
        )
    kind = out.get("forwarding_target_type")
    if out.get("forwarding_phone_number") is not None and kind == ForwardingTargetType.SIP:
        raise InvalidArgumentError(
            f"{prefix}forwarding_phone_number", "SIP forwarding takes only forwarding_sip_uri"
        )
    if out.get("forwarding_sip_uri") is not None and kind == ForwardingTargetType.PHONE:
        raise InvalidArgumentError(
            f"{prefix}forwarding_sip_uri", "phone forwarding takes only forwarding_phone_number"
        )
    if out.get("forwarding_phone_number") is not None and out.get("forwarding_sip_uri") is not None:
        raise InvalidArgumentError(
            f"{prefix}forwarding_sip_uri", "give one forwarding target, not a number and a SIP URI"
        )
    return out


def number_update(
    *,
    incoming_call_action: IncomingCallAction | str | Unset,
    client_websocket_url: str | Unset | None,
    incoming_call_webhook_url: str | Unset | None,
    incoming_text_webhook_url: str | Unset | None,
    forwarding_target_type: ForwardingTargetType | str | Unset | None,
    forwarding_phone_number: str | Unset | None,
    forwarding_sip_uri: str | Unset | None,
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
        # Checked only: the number's text webhook is a webhook subscription now (see _phone).
        _nullable_url("incoming_text_webhook_url", incoming_text_webhook_url, ("https", "http"))
    body.update(forwarding("", forwarding_target_type, forwarding_phone_number, forwarding_sip_uri))
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
    if action == IncomingCallAction.FORWARD and body.get("forwarding_target_type", "") is None:
        raise InvalidArgumentError(
            "forwarding_target_type", "cannot be cleared while forward is set"
        )
    return body


def _string_list(argument: str, value: object) -> list[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise check.type_error(argument, "a list of strings", value)
    return list(value)


def text_send(
    *,
    to: str | Sequence[str] | None,
    conversation_id: UUID | str | None,
    text: str | None,
    media_urls: Sequence[str] | None,
) -> dict[str, Any]:
    """Body of a text send: one recipient or a group, or a conversation; text and/or media."""
    body: dict[str, Any] = {}
    if to is not None and conversation_id is not None:
        raise InvalidArgumentError("conversation_id", "give either to or conversation_id, not both")
    if to is None and conversation_id is None:
        raise InvalidArgumentError("to", "give a recipient (or conversation_id to reply into)")
    if isinstance(to, str):
        body["to"] = e164("to", to)
    elif to is not None:
        numbers = [e164(f"to[{i}]", n) for i, n in enumerate(_string_list("to", to))]
        if not numbers:
            raise InvalidArgumentError("to", "lists no number")
        body["to"] = numbers
    if conversation_id is not None:
        body["conversation_id"] = check.uuid("conversation_id", conversation_id)
    if text is not None:
        body["text"] = check.text("text", text, max_length=TEXT_MAX)
    if media_urls is not None:
        urls = _string_list("media_urls", media_urls)
        body["media_urls"] = [
            check.url(f"media_urls[{i}]", u, schemes=("https", "http")) for i, u in enumerate(urls)
        ]
    if "text" not in body and "media_urls" not in body:
        raise InvalidArgumentError("text", "send text, media_urls or both")
    return body


def conversation_key(value: object) -> str:
    """A conversation path key: the remote E.164 number or a conversation UUID."""
    if check.is_uuid(value):
        return check.uuid("remote_number", value)
    return e164("remote_number", value)


def moment(argument: str, value: str | date | datetime | None) -> str | None:
    """A ``start_datetime``/``end_datetime`` filter: a string as given, or an ISO date(time)."""
    if value is None or isinstance(value, str):
        return None if value is None else check.text(argument, value, max_length=64)
    if isinstance(value, date):
        return value.isoformat()
    raise check.type_error(argument, "a str, date or datetime", value)


def call_filters(
    *,
    agent_identity_id: UUID | str | None,
    limit: int,
    offset: int,
    is_blocked: bool | None,
    start_datetime: str | date | datetime | None,
    end_datetime: str | date | datetime | None,
    tz: str | None,
) -> dict[str, Any]:
    """Query of ``GET /phone/calls``, in the order the official client sends it."""
    return {
        **page(limit, offset),
        "agent_identity_id": check.optional_uuid("agent_identity_id", agent_identity_id),
        "is_blocked": optional_bool("is_blocked", is_blocked),
        "start_datetime": moment("start_datetime", start_datetime),
        "end_datetime": moment("end_datetime", end_datetime),
        "tz": check.optional_text("tz", tz, max_length=64),
    }


VOICEMAIL_MESSAGE_MAX = 1000


def place_call(
    *,
    to_number: str,
    from_number: str | None,
    origination: CallOrigin | str,
    mode: CallMode | str,
    agent_identity_id: UUID | str | None,
    client_websocket_url: str | None,
    hosted_agent_authority_mode: HostedAgentAuthorityMode | str | None,
    voicemail_detection: VoicemailDetection | str | None,
    on_voicemail: OnVoicemail | str | None,
    voicemail_message: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """Body of ``POST /phone/place-call`` (``from_number`` already in E.164 form)."""
    body: dict[str, Any] = {
        "to_number": e164("to_number", to_number),
        "origination": check.choice("origination", origination, CallOrigin),
        "mode": check.choice("mode", mode, CallMode),
    }
    hosted = body["mode"] == CallMode.HOSTED_AGENT
    if hosted_agent_authority_mode is not None:
        body["hosted_agent_authority_mode"] = check.choice(
            "hosted_agent_authority_mode", hosted_agent_authority_mode, HostedAgentAuthorityMode
        )
        if body["hosted_agent_authority_mode"] == HostedAgentAuthorityMode.YOLO and not hosted:
            raise InvalidArgumentError(
                "hosted_agent_authority_mode", "'yolo' needs mode='hosted_agent'"
            )
    if voicemail_detection is not None:
        body["voicemail_detection"] = check.choice(
            "voicemail_detection", voicemail_detection, VoicemailDetection
        )
    if on_voicemail is not None:
        body["on_voicemail"] = check.choice("on_voicemail", on_voicemail, OnVoicemail)
    if voicemail_message is not None:
        if body.get("on_voicemail") != OnVoicemail.LEAVE_MESSAGE:
            raise InvalidArgumentError("voicemail_message", "needs on_voicemail='leave_message'")
        body["voicemail_message"] = check.text(
            "voicemail_message", voicemail_message, max_length=VOICEMAIL_MESSAGE_MAX
        )
    if from_number is not None:
        body["from_number"] = from_number
    elif body["origination"] == CallOrigin.DEDICATED_NUMBER:
        raise InvalidArgumentError("from_number", "is required for a dedicated_number call")
    if agent_identity_id is not None:
        body["agent_identity_id"] = check.uuid("agent_identity_id", agent_identity_id)
    if client_websocket_url is not None:
        if hosted:
            raise InvalidArgumentError(
                "client_websocket_url", "does not go with mode='hosted_agent'"
            )
        body["client_websocket_url"] = check.url(
            "client_websocket_url", client_websocket_url, schemes=("wss", "ws")
        )
    if reason is not None:
        if not hosted:
            raise InvalidArgumentError("reason", "is only for mode='hosted_agent'")
        body["reason"] = check.text("reason", reason, max_length=4000)
    elif hosted:
        raise InvalidArgumentError("reason", "is required with mode='hosted_agent'")
    return body


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


def legacy_call_id(call: str, ids: tuple[UUID | str, ...], replacement: str) -> UUID | str:
    """The call id of ``(call_id)`` or, deprecated, ``(phone_number_id, call_id)``."""
    if len(ids) == 2:
        check.uuid("phone_number_id", ids[0])
        check.uuid("call_id", ids[1])
        deprecated(
            f"{call}(phone_number_id, call_id) is deprecated: calls are addressed by id "
            f"alone now; use {replacement}",
            stacklevel=4,
        )
        return ids[1]
    if len(ids) != 1:
        raise InvalidArgumentError("call_id", f"{call}() takes a call id, got {len(ids)} arguments")
    return ids[0]
