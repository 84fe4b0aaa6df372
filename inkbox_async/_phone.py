"""Org-level phone: ``inkbox.phone_numbers``, ``calls``, ``transcripts``, ``texts``,
``sms_opt_ins``, ``phone_contact_rules``."""

from __future__ import annotations

import builtins
from typing import Literal
from uuid import UUID

from inkbox_async import _phone_bodies as bodies
from inkbox_async import _validate as check
from inkbox_async._converter import structure, structure_list
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._idempotency import send_key
from inkbox_async._mail_bodies import rule_update
from inkbox_async._paths import segment
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.identities import IncomingCallAction, PhoneNumberType
from inkbox_async.models.mail import ContactRuleStatus, FilterMode
from inkbox_async.models.phone import (
    ConversationReadState,
    PhoneCall,
    PhoneCallWithRateLimit,
    PhoneContactRule,
    PhoneNumber,
    PhoneRuleAction,
    PhoneRuleMatchType,
    PhoneTranscript,
    SmsOptIn,
    SmsOptInStatus,
    TextConversationSummary,
    TextMessage,
    TranscriptParty,
)

from ._transport import AsyncTransport

PHONE = "/api/v1/phone"


def number_path(phone_number_id: UUID | str, *rest: str | UUID) -> str:
    """``/api/v1/phone/numbers/{id}[/rest...]``, every segment escaped."""
    number = check.uuid("phone_number_id", phone_number_id)
    return "/".join([PHONE, "numbers", number, *(segment(p) for p in rest)])


class AsyncPhoneNumbers:
    """``inkbox.phone_numbers``: list, provision, configure and release numbers."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(self) -> builtins.list[PhoneNumber]:
        """Every number of the organisation."""
        return structure_list(await self._transport.request("GET", f"{PHONE}/numbers"), PhoneNumber)

    async def get(self, phone_number_id: UUID | str) -> PhoneNumber:
        """One number by id."""
        return structure(
            await self._transport.request("GET", number_path(phone_number_id)), PhoneNumber
        )

    async def provision(
        self,
        *,
        agent_handle: str,
        type: PhoneNumberType | str = PhoneNumberType.TOLL_FREE,
        state: str | None = None,
        incoming_text_webhook_url: str | None = None,
    ) -> PhoneNumber:
        """Provision a number bound to an identity (``state`` only for local numbers)."""
        body = bodies.provision(
            agent_handle=agent_handle,
            type=type,
            state=state,
            incoming_text_webhook_url=incoming_text_webhook_url,
        )
        return structure(
            await self._transport.request("POST", f"{PHONE}/numbers", json=body), PhoneNumber
        )

    async def update(
        self,
        phone_number_id: UUID | str,
        *,
        incoming_call_action: IncomingCallAction | str | Unset = UNSET,
        client_websocket_url: str | Unset | None = UNSET,
        incoming_call_webhook_url: str | Unset | None = UNSET,
        incoming_text_webhook_url: str | Unset | None = UNSET,
        filter_mode: FilterMode | str | Unset = UNSET,
    ) -> PhoneNumber:
        """Change how calls and texts are handled; only what you pass is sent (``None`` clears)."""
        body = bodies.number_update(
            incoming_call_action=incoming_call_action,
            client_websocket_url=client_websocket_url,
            incoming_call_webhook_url=incoming_call_webhook_url,
            incoming_text_webhook_url=incoming_text_webhook_url,
            filter_mode=filter_mode,
        )
        data = await self._transport.request("PATCH", number_path(phone_number_id), json=body)
        return structure(data, PhoneNumber)

    async def release(self, phone_number_id: UUID | str) -> None:
        """Release a number at the carrier (irreversible)."""
        await self._transport.request("DELETE", number_path(phone_number_id))

    async def search_transcripts(
        self,
        phone_number_id: UUID | str,
        *,
        q: str,
        party: TranscriptParty | str | None = None,
        limit: int = 50,
    ) -> builtins.list[PhoneTranscript]:
        """Full-text search of a number's call transcripts."""
        params = {
            "q": check.text("q", q, max_length=1000),
            "party": bodies.party(party),
            "limit": check.int_range("limit", limit, 1, bodies.LIMIT_MAX),
        }
        data = await self._transport.request(
            "GET", number_path(phone_number_id, "search"), params=params
        )
        return structure_list(data, PhoneTranscript)


class AsyncCalls:
    """``inkbox.calls``: list, read and place calls."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(
        self,
        phone_number_id: UUID | str,
        *,
        limit: int = 50,
        offset: int = 0,
        is_blocked: bool | None = None,
    ) -> builtins.list[PhoneCall]:
        """A number's calls, newest first."""
        params = {
            **bodies.page(limit, offset),
            "is_blocked": bodies.optional_bool("is_blocked", is_blocked),
        }
        data = await self._transport.request(
            "GET", number_path(phone_number_id, "calls"), params=params
        )
        return structure_list(data, PhoneCall)

    async def get(self, phone_number_id: UUID | str, call_id: UUID | str) -> PhoneCall:
        """One call."""
        path = number_path(phone_number_id, "calls", check.uuid("call_id", call_id))
        return structure(await self._transport.request("GET", path), PhoneCall)

    async def place(
        self,
        *,
        from_number: str | UUID,
        to_number: str,
        client_websocket_url: str | None = None,
    ) -> PhoneCallWithRateLimit:
        """Place an outbound call; the result carries the remaining quota.

        ``from_number`` is your number in E.164 form; a phone-number id (as the
        seed README passes) is accepted too and looked up first. A call is
        never retried once it may have reached the server.
        """
        body: dict[str, str] = {"to_number": bodies.e164("to_number", to_number)}
        if client_websocket_url is not None:
            body["client_websocket_url"] = check.url(
                "client_websocket_url", client_websocket_url, schemes=("wss", "ws")
            )
        if check.is_uuid(from_number):
            number = await AsyncPhoneNumbers(self._transport).get(from_number)
            sender = number.number
        else:
            sender = bodies.e164("from_number", from_number)
        data = await self._transport.request(
            "POST",
            f"{PHONE}/place-call",
            json={"from_number": sender, **body},
            idempotency_key=send_key(None),
        )
        return structure(data, PhoneCallWithRateLimit)


class AsyncTranscripts:
    """``inkbox.transcripts``: a call's transcript segments."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(
        self, phone_number_id: UUID | str, call_id: UUID | str
    ) -> builtins.list[PhoneTranscript]:
        """The segments of a call, in order."""
        path = number_path(phone_number_id, "calls", check.uuid("call_id", call_id), "transcripts")
        return structure_list(await self._transport.request("GET", path), PhoneTranscript)


class AsyncTexts:
    """``inkbox.texts``: send, list, search and update SMS/MMS."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def send(self, phone_number_id: UUID | str, *, to: str, text: str) -> TextMessage:
        """Send an SMS from a local number (returned ``queued``; the rest comes by webhook)."""
        body = {"to": bodies.e164("to", to), "text": bodies.text(text)}
        data = await self._transport.request(
            "POST", number_path(phone_number_id, "texts"), json=body, idempotency_key=send_key(None)
        )
        return structure(data, TextMessage)

    async def list(
        self,
        phone_number_id: UUID | str,
        *,
        limit: int = 50,
        offset: int = 0,
        is_read: bool | None = None,
        is_blocked: bool | None = None,
    ) -> builtins.list[TextMessage]:
        """A number's texts, newest first."""
        params = {
            **bodies.page(limit, offset),
            "is_read": bodies.optional_bool("is_read", is_read),
            "is_blocked": bodies.optional_bool("is_blocked", is_blocked),
        }
        data = await self._transport.request(
            "GET", number_path(phone_number_id, "texts"), params=params
        )
        return structure_list(data, TextMessage)

    async def get(self, phone_number_id: UUID | str, text_id: UUID | str) -> TextMessage:
        """One text (MMS media as temporary signed URLs)."""
        path = number_path(phone_number_id, "texts", check.uuid("text_id", text_id))
        return structure(await self._transport.request("GET", path), TextMessage)

    async def update(
        self,
        phone_number_id: UUID | str,
        text_id: UUID | str,
        *,
        is_read: bool | None = None,
        status: Literal["deleted"] | None = None,
    ) -> TextMessage:
        """Mark a text read or unread, or delete it with ``status="deleted"``.

        ``status`` is what the seed README shows; 0.4.4 dropped it, the API
        documentation still describes it. It is sent as ``{"status": "deleted"}``.
        """
        body: dict[str, object] = {}
        if is_read is not None:
            body["is_read"] = check.boolean("is_read", is_read)
        if status is not None:
            if status != "deleted":
                raise InvalidArgumentError("status", f"only 'deleted' is accepted, got {status!r}")
            body["status"] = status
        path = number_path(phone_number_id, "texts", check.uuid("text_id", text_id))
        return structure(await self._transport.request("PATCH", path, json=body), TextMessage)

    async def search(
        self,
        phone_number_id: UUID | str,
        *,
        q: str,
        limit: int = 50,
        is_blocked: bool | None = None,
    ) -> builtins.list[TextMessage]:
        """Full-text search of a number's texts."""
        params = {
            "q": check.text("q", q, max_length=1000),
            "limit": check.int_range("limit", limit, 1, bodies.LIMIT_MAX),
            "is_blocked": bodies.optional_bool("is_blocked", is_blocked),
        }
        data = await self._transport.request(
            "GET", number_path(phone_number_id, "texts", "search"), params=params
        )
        return structure_list(data, TextMessage)

    async def list_conversations(
        self,
        phone_number_id: UUID | str,
        *,
        limit: int = 50,
        offset: int = 0,
        is_blocked: bool | None = None,
    ) -> builtins.list[TextConversationSummary]:
        """One row per remote number, most recent first."""
        params = {
            **bodies.page(limit, offset),
            "is_blocked": bodies.optional_bool("is_blocked", is_blocked),
        }
        path = number_path(phone_number_id, "texts", "conversations")
        return structure_list(
            await self._transport.request("GET", path, params=params), TextConversationSummary
        )

    async def get_conversation(
        self, phone_number_id: UUID | str, remote_number: str, *, limit: int = 50, offset: int = 0
    ) -> builtins.list[TextMessage]:
        """The texts exchanged with one remote number, newest first."""
        path = number_path(
            phone_number_id, "texts", "conversations", bodies.e164("remote_number", remote_number)
        )
        data = await self._transport.request("GET", path, params=bodies.page(limit, offset))
        return structure_list(data, TextMessage)

    async def update_conversation(
        self, phone_number_id: UUID | str, remote_number: str, *, is_read: bool
    ) -> ConversationReadState:
        """Mark every text of a conversation read (or unread)."""
        path = number_path(
            phone_number_id, "texts", "conversations", bodies.e164("remote_number", remote_number)
        )
        body = {"is_read": check.boolean("is_read", is_read)}
        return structure(
            await self._transport.request("PATCH", path, json=body), ConversationReadState
        )


class AsyncSmsOptIns:
    """``inkbox.sms_opt_ins``: recipients' SMS consent."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(
        self,
        *,
        status: SmsOptInStatus | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[SmsOptIn]:
        """Consent rows, most recently updated first."""
        params = {
            "status": bodies.opt_in_status(status),
            "limit": None
            if limit is None
            else check.int_range("limit", limit, 1, bodies.LIMIT_MAX),
            "offset": None if offset is None else check.int_range("offset", offset, 0, 10**9),
        }
        data = await self._transport.request("GET", f"{PHONE}/sms-opt-ins", params=params)
        return structure_list(data, SmsOptIn)

    def _path(self, receiver_number: str, *rest: str) -> str:
        number = bodies.e164("receiver_number", receiver_number)
        return "/".join([PHONE, "sms-opt-ins", segment(number), *rest])

    async def get(self, receiver_number: str) -> SmsOptIn:
        """One recipient's consent (404 when there is none)."""
        return structure(
            await self._transport.request("GET", self._path(receiver_number)), SmsOptIn
        )

    async def opt_in(self, receiver_number: str) -> SmsOptIn:
        """Record consent gathered elsewhere (needs the organisation's own 10DLC campaign)."""
        data = await self._transport.request("POST", self._path(receiver_number, "opt-in"))
        return structure(data, SmsOptIn)

    async def opt_out(self, receiver_number: str) -> SmsOptIn:
        """Record an opt-out gathered elsewhere (needs the organisation's own campaign)."""
        data = await self._transport.request("POST", self._path(receiver_number, "opt-out"))
        return structure(data, SmsOptIn)


class AsyncPhoneContactRules:
    """``inkbox.phone_contact_rules``: per-number allow and block rules."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(
        self,
        phone_number_id: UUID | str,
        *,
        action: PhoneRuleAction | str | None = None,
        match_type: PhoneRuleMatchType | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[PhoneContactRule]:
        """A number's rules."""
        params = bodies.rule_filters(action, match_type, limit, offset)
        data = await self._transport.request(
            "GET", number_path(phone_number_id, "contact-rules"), params=params
        )
        return structure_list(data, PhoneContactRule)

    async def get(self, phone_number_id: UUID | str, rule_id: UUID | str) -> PhoneContactRule:
        """One rule."""
        path = number_path(phone_number_id, "contact-rules", check.uuid("rule_id", rule_id))
        return structure(await self._transport.request("GET", path), PhoneContactRule)

    async def create(
        self,
        phone_number_id: UUID | str,
        *,
        action: PhoneRuleAction | str,
        match_target: str,
        match_type: PhoneRuleMatchType | str = PhoneRuleMatchType.EXACT_NUMBER,
    ) -> PhoneContactRule:
        """Add a rule; a duplicate raises :class:`DuplicateContactRuleError`."""
        body = bodies.rule_create(action=action, match_target=match_target, match_type=match_type)
        data = await self._transport.request(
            "POST", number_path(phone_number_id, "contact-rules"), json=body
        )
        return structure(data, PhoneContactRule)

    async def update(
        self,
        phone_number_id: UUID | str,
        rule_id: UUID | str,
        *,
        action: PhoneRuleAction | str | Unset = UNSET,
        status: ContactRuleStatus | str | Unset = UNSET,
    ) -> PhoneContactRule:
        """Change a rule's action or pause it (admin keys)."""
        path = number_path(phone_number_id, "contact-rules", check.uuid("rule_id", rule_id))
        body = rule_update(action=action, status=status, actions=PhoneRuleAction)
        return structure(await self._transport.request("PATCH", path, json=body), PhoneContactRule)

    async def delete(self, phone_number_id: UUID | str, rule_id: UUID | str) -> None:
        """Remove a rule (admin keys)."""
        path = number_path(phone_number_id, "contact-rules", check.uuid("rule_id", rule_id))
        await self._transport.request("DELETE", path)

    async def list_all(
        self,
        *,
        phone_number_id: UUID | str | None = None,
        action: PhoneRuleAction | str | None = None,
        match_type: PhoneRuleMatchType | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[PhoneContactRule]:
        """Every phone rule of the organisation (admin keys)."""
        params = {
            "phone_number_id": check.optional_uuid("phone_number_id", phone_number_id),
            **bodies.rule_filters(action, match_type, limit, offset),
        }
        data = await self._transport.request("GET", f"{PHONE}/contact-rules", params=params)
        return structure_list(data, PhoneContactRule)
