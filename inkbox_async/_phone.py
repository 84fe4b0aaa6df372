"""Org-level phone: ``inkbox.phone_numbers``, ``calls``, ``transcripts``, ``texts``,
``sms_opt_ins``, ``phone_contact_rules``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal, overload
from uuid import UUID

import attrs

from inkbox_async import _phone_bodies as bodies
from inkbox_async import _validate as check
from inkbox_async._contact_rule_bodies import filters as rule_filters
from inkbox_async._converter import structure, structure_list
from inkbox_async._deprecation import deprecated, removed
from inkbox_async._errors import InkboxError, InvalidArgumentError
from inkbox_async._idempotency import send_key
from inkbox_async._paths import CALLS, PHONE, call_path, number_path, segment
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.identities import (
    ForwardingTargetType,
    IncomingCallAction,
    PhoneNumberType,
)
from inkbox_async.models.mail import ContactRuleDirection, ContactRuleStatus, FilterMode
from inkbox_async.models.phone import (
    CallMode,
    CallOrigin,
    ConversationReadState,
    HostedAgentAuthorityMode,
    OnVoicemail,
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
    VoicemailDetection,
)

from ._contact_rules import (
    RULE_STATUS_REMOVED,
    AsyncIdentityPhoneContactRules,
    number_owner,
)
from ._requester import AsyncRequester


class AsyncPhoneNumbers:
    """``inkbox.phone_numbers``: list, provision, configure and release numbers."""

    def __init__(self, requester: AsyncRequester, *, _stacklevel: int = 3) -> None:
        self._requester = requester
        # Frames between a warning in provision() and the user's line.
        self._stacklevel = _stacklevel

    async def list(self) -> builtins.list[PhoneNumber]:
        """Every number of the organisation."""
        return structure_list(await self._requester.request("GET", f"{PHONE}/numbers"), PhoneNumber)

    async def get(self, phone_number_id: UUID | str) -> PhoneNumber:
        """One number by id."""
        return structure(
            await self._requester.request("GET", number_path(phone_number_id)), PhoneNumber
        )

    async def provision(
        self,
        *,
        agent_handle: str,
        type: PhoneNumberType | str = PhoneNumberType.LOCAL,
        state: str | None = None,
        incoming_text_webhook_url: str | None = None,
    ) -> PhoneNumber:
        """Provision a local number bound to an identity (``state``: a US state code).

        ``type="toll_free"`` is no longer offered: it warns and provisions a
        local number. ``incoming_text_webhook_url`` is deprecated: it sets up a
        webhook subscription of the identity for the five text events.
        """
        body = bodies.provision(
            agent_handle=agent_handle,
            type=type,
            state=state,
            incoming_text_webhook_url=incoming_text_webhook_url,
            stacklevel=self._stacklevel,
        )
        if incoming_text_webhook_url is not None:
            from ._webhook_subscriptions import TEXT_HOOK_DEPRECATED

            deprecated(TEXT_HOOK_DEPRECATED, stacklevel=self._stacklevel)
        number = structure(
            await self._requester.request("POST", f"{PHONE}/numbers", json=body), PhoneNumber
        )
        if incoming_text_webhook_url is not None:
            await _text_hook(self._requester, number, incoming_text_webhook_url)
        return number

    async def update(
        self,
        phone_number_id: UUID | str,
        *,
        incoming_call_action: IncomingCallAction | str | Unset = UNSET,
        client_websocket_url: str | Unset | None = UNSET,
        incoming_call_webhook_url: str | Unset | None = UNSET,
        incoming_text_webhook_url: str | Unset | None = UNSET,
        filter_mode: FilterMode | str | Unset = UNSET,
        forwarding_target_type: ForwardingTargetType | str | Unset | None = UNSET,
        forwarding_phone_number: str | Unset | None = UNSET,
        forwarding_sip_uri: str | Unset | None = UNSET,
    ) -> PhoneNumber:
        """Change how calls and texts are handled; only what you pass is sent (``None`` clears).

        ``incoming_call_action`` is ``auto_accept`` (needs ``client_websocket_url``),
        ``auto_reject``, ``webhook`` (needs ``incoming_call_webhook_url``),
        ``hosted_agent`` (Inkbox Voice AI answers) or ``forward`` (needs
        ``forwarding_target_type`` ``"phone"`` with ``forwarding_phone_number``,
        or ``"sip"`` with ``forwarding_sip_uri``).
        """
        body = bodies.number_update(
            incoming_call_action=incoming_call_action,
            client_websocket_url=client_websocket_url,
            incoming_call_webhook_url=incoming_call_webhook_url,
            incoming_text_webhook_url=incoming_text_webhook_url,
            forwarding_target_type=forwarding_target_type,
            forwarding_phone_number=forwarding_phone_number,
            forwarding_sip_uri=forwarding_sip_uri,
            filter_mode=filter_mode,
        )
        path = number_path(phone_number_id)
        if incoming_text_webhook_url is UNSET:
            return structure(await self._requester.request("PATCH", path, json=body), PhoneNumber)
        from ._webhook_subscriptions import TEXT_HOOK_DEPRECATED

        deprecated(TEXT_HOOK_DEPRECATED)
        if body:
            data = await self._requester.request("PATCH", path, json=body)
        else:
            data = await self._requester.request("GET", path)
        number = structure(data, PhoneNumber)
        await _text_hook(self._requester, number, incoming_text_webhook_url)
        return number

    async def release(self, phone_number_id: UUID | str) -> None:
        """Release a number at the carrier (irreversible)."""
        await self._requester.request("DELETE", number_path(phone_number_id))

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
        data = await self._requester.request(
            "GET", number_path(phone_number_id, "search"), params=params
        )
        return structure_list(data, PhoneTranscript)


async def _text_hook(requester: AsyncRequester, number: PhoneNumber, url: str | None) -> None:
    """Point the number's identity's text-event subscription at ``url`` (``None``: delete it)."""
    from inkbox_async.models.webhooks import TEXT_EVENT_TYPES

    from ._webhook_subscriptions import apply_legacy_url

    await apply_legacy_url(
        requester,
        url,
        TEXT_EVENT_TYPES,
        identity_id=number.agent_identity_id,
        phone_number_id=number.id,
    )


class AsyncCalls:
    """``inkbox.calls``: list, read, place and hang up calls."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def list(
        self,
        phone_number_id: UUID | str | None = None,
        *,
        agent_identity_id: UUID | str | None = None,
        limit: int = 50,
        offset: int = 0,
        is_blocked: bool | None = None,
        start_datetime: str | date | datetime | None = None,
        end_datetime: str | date | datetime | None = None,
        tz: str | None = None,
    ) -> builtins.list[PhoneCall]:
        """Calls, newest first: one identity's (``agent_identity_id``, needed with admin keys)
        or, with an identity-scoped key, its own.

        ``start_datetime``/``end_datetime`` bound ``created_at`` (a bare date
        is a whole day; zone-less values are in ``tz``, default UTC). The 0.4.4
        form ``list(phone_number_id)`` is deprecated: it looks up the number's
        identity and lists that.
        """
        params = bodies.call_filters(
            agent_identity_id=agent_identity_id,
            limit=limit,
            offset=offset,
            is_blocked=is_blocked,
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            tz=tz,
        )
        if phone_number_id is not None:
            if agent_identity_id is not None:
                raise InvalidArgumentError(
                    "phone_number_id", "give agent_identity_id or phone_number_id, not both"
                )
            check.uuid("phone_number_id", phone_number_id)
            deprecated(
                "inkbox.calls.list(phone_number_id) is deprecated: calls are listed per "
                "identity; use inkbox.calls.list(agent_identity_id=identity.id) or "
                "identity.list_calls()"
            )
            number = await self._requester.request("GET", number_path(phone_number_id))
            owner = number.get("agent_identity_id")
            if owner is None:  # no identity filter would list the key's own calls instead
                raise InkboxError(f"phone number {phone_number_id} belongs to no agent identity")
            params["agent_identity_id"] = owner
        data = await self._requester.request("GET", CALLS, params=params)
        return structure_list(data, PhoneCall)

    @overload
    async def get(self, call_id: UUID | str, /) -> PhoneCall: ...
    @overload
    async def get(self, phone_number_id: UUID | str, call_id: UUID | str, /) -> PhoneCall: ...
    async def get(self, *ids: UUID | str) -> PhoneCall:
        """One call, by id (``get(phone_number_id, call_id)`` is the deprecated 0.4.4 form)."""
        call_id = bodies.legacy_call_id("inkbox.calls.get", ids, "inkbox.calls.get(call_id)")
        return structure(await self._requester.request("GET", call_path(call_id)), PhoneCall)

    async def hangup(self, call_id: UUID | str) -> PhoneCall:
        """Hang up a live call from outside it.

        The carrier confirms asynchronously, so the call returned may still
        show its live status. A call that already ended raises
        :class:`ConflictError` (409).
        """
        path = call_path(call_id, "hangup")
        return structure(await self._requester.request("POST", path), PhoneCall)

    async def place(
        self,
        *,
        to_number: str,
        from_number: str | UUID | None = None,
        client_websocket_url: str | None = None,
        origination: CallOrigin | str = CallOrigin.DEDICATED_NUMBER,
        mode: CallMode | str = CallMode.CLIENT_WEBSOCKET,
        agent_identity_id: UUID | str | None = None,
        reason: str | None = None,
        hosted_agent_authority_mode: HostedAgentAuthorityMode | str | None = None,
        on_voicemail: OnVoicemail | str | None = None,
        voicemail_message: str | None = None,
        voicemail_detection: VoicemailDetection | str | None = None,
    ) -> PhoneCallWithRateLimit:
        """Place an outbound call; the result carries the remaining quota.

        ``from_number`` (your number, E.164) is needed for the default
        ``dedicated_number`` origination; a phone-number id (as the 0.4.4
        README passes) is accepted too and looked up first. iMessage-line
        originations take ``agent_identity_id`` instead. ``mode="hosted_agent"``
        lets Inkbox Voice AI run the call: it needs ``reason`` (the task) and
        takes no ``client_websocket_url``. ``on_voicemail`` chooses what
        happens on a voicemail (``voicemail_message`` with ``leave_message``).
        A placement is sent with an ``Idempotency-Key``, so a retry after a
        lost answer never places a second call. 429 ``concurrent_calls_limit``
        and 503 ``call_capacity_busy`` raise :class:`ConcurrentCallsLimitError`
        and :class:`CallCapacityBusyError` (see ``retry_after``).
        """
        lookup = from_number is not None and check.is_uuid(from_number)
        body = bodies.place_call(
            to_number=to_number,
            from_number=None
            if from_number is None
            else str(from_number)
            if lookup
            else bodies.e164("from_number", from_number),
            origination=origination,
            mode=mode,
            agent_identity_id=agent_identity_id,
            client_websocket_url=client_websocket_url,
            hosted_agent_authority_mode=hosted_agent_authority_mode,
            voicemail_detection=voicemail_detection,
            on_voicemail=on_voicemail,
            voicemail_message=voicemail_message,
            reason=reason,
        )
        if lookup:
            assert from_number is not None
            number = await AsyncPhoneNumbers(self._requester).get(from_number)
            body["from_number"] = number.number
        data = await self._requester.request(
            "POST",
            f"{PHONE}/place-call",
            json=body,
            idempotency_key=send_key(None),
        )
        return structure(data, PhoneCallWithRateLimit)


class AsyncTranscripts:
    """``inkbox.transcripts``: a call's transcript segments."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    @overload
    async def list(self, call_id: UUID | str, /) -> builtins.list[PhoneTranscript]: ...
    @overload
    async def list(
        self, phone_number_id: UUID | str, call_id: UUID | str, /
    ) -> builtins.list[PhoneTranscript]: ...
    async def list(self, *ids: UUID | str) -> builtins.list[PhoneTranscript]:
        """The segments of a call, in order (``list(phone_number_id, call_id)`` is deprecated)."""
        call_id = bodies.legacy_call_id(
            "inkbox.transcripts.list", ids, "inkbox.transcripts.list(call_id)"
        )
        path = call_path(call_id, "transcripts")
        return structure_list(await self._requester.request("GET", path), PhoneTranscript)


class AsyncTexts:
    """``inkbox.texts``: send, list, search and update SMS/MMS."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def send(
        self,
        phone_number_id: UUID | str,
        *,
        to: str | Sequence[str] | None = None,
        text: str | None = None,
        conversation_id: UUID | str | None = None,
        media_urls: Sequence[str] | None = None,
    ) -> TextMessage:
        """Send an SMS/MMS from a number (returned ``queued``; the rest comes by webhook).

        ``to`` is one E.164 number or a list of them (a group text);
        ``conversation_id`` replies into an existing conversation instead.
        Send ``text``, ``media_urls`` (MMS) or both. The send carries an
        ``Idempotency-Key``, so a retry after a lost answer sends once.
        """
        body = bodies.text_send(
            to=to, conversation_id=conversation_id, text=text, media_urls=media_urls
        )
        data = await self._requester.request(
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
        data = await self._requester.request(
            "GET", number_path(phone_number_id, "texts"), params=params
        )
        return structure_list(data, TextMessage)

    async def get(self, phone_number_id: UUID | str, text_id: UUID | str) -> TextMessage:
        """One text (MMS media as temporary signed URLs)."""
        path = number_path(phone_number_id, "texts", check.uuid("text_id", text_id))
        return structure(await self._requester.request("GET", path), TextMessage)

    async def update(
        self,
        phone_number_id: UUID | str,
        text_id: UUID | str,
        *,
        is_read: bool | None = None,
        status: Literal["deleted"] | None = None,
    ) -> TextMessage:
        """Mark a text read or unread, or delete it with ``status="deleted"``.

        ``status`` is what the 0.4.4 README shows; 0.4.4 dropped it, the API
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
        return structure(await self._requester.request("PATCH", path, json=body), TextMessage)

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
        data = await self._requester.request(
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
        include_groups: bool = False,
    ) -> builtins.list[TextConversationSummary]:
        """One row per conversation, most recent first (group texts with ``include_groups``)."""
        params = {
            **bodies.page(limit, offset),
            "is_blocked": bodies.optional_bool("is_blocked", is_blocked),
            "include_groups": True if check.boolean("include_groups", include_groups) else None,
        }
        path = number_path(phone_number_id, "texts", "conversations")
        return structure_list(
            await self._requester.request("GET", path, params=params), TextConversationSummary
        )

    async def get_conversation(
        self,
        phone_number_id: UUID | str,
        remote_number: UUID | str,
        *,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[TextMessage]:
        """A conversation's texts, newest first: by remote E.164 number or conversation id."""
        path = number_path(
            phone_number_id, "texts", "conversations", bodies.conversation_key(remote_number)
        )
        data = await self._requester.request("GET", path, params=bodies.page(limit, offset))
        return structure_list(data, TextMessage)

    async def update_conversation(
        self, phone_number_id: UUID | str, remote_number: UUID | str, *, is_read: bool
    ) -> ConversationReadState:
        """Mark every text of a conversation read (or unread): by remote number or id."""
        path = number_path(
            phone_number_id, "texts", "conversations", bodies.conversation_key(remote_number)
        )
        body = {"is_read": check.boolean("is_read", is_read)}
        return structure(
            await self._requester.request("PATCH", path, json=body), ConversationReadState
        )


class AsyncSmsOptIns:
    """``inkbox.sms_opt_ins``: recipients' SMS consent."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

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
        data = await self._requester.request("GET", f"{PHONE}/sms-opt-ins", params=params)
        return structure_list(data, SmsOptIn)

    def _path(self, receiver_number: str, *rest: str) -> str:
        number = bodies.e164("receiver_number", receiver_number)
        return "/".join([PHONE, "sms-opt-ins", segment(number), *rest])

    async def get(self, receiver_number: str) -> SmsOptIn:
        """One recipient's consent (404 when there is none)."""
        return structure(
            await self._requester.request("GET", self._path(receiver_number)), SmsOptIn
        )

    async def opt_in(self, receiver_number: str) -> SmsOptIn:
        """Record consent gathered elsewhere (needs the organisation's own 10DLC campaign)."""
        data = await self._requester.request("POST", self._path(receiver_number, "opt-in"))
        return structure(data, SmsOptIn)

    async def opt_out(self, receiver_number: str) -> SmsOptIn:
        """Record an opt-out gathered elsewhere (needs the organisation's own campaign)."""
        data = await self._requester.request("POST", self._path(receiver_number, "opt-out"))
        return structure(data, SmsOptIn)


class AsyncPhoneContactRules:
    """``inkbox.phone_contact_rules``: call/text allow/block rules, which belong to identities.

    ``for_identity(handle)`` (or ``identity.phone_contact_rules``) manages one
    identity's rules; ``list_all`` lists the organisation's. The 0.4.4 calls
    keyed by phone-number id still work, with a ``DeprecationWarning``: they
    look up the number's identity first.
    """

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    def for_identity(self, agent_handle: str) -> AsyncIdentityPhoneContactRules:
        """The rules of one identity, by handle (no request is made)."""
        return AsyncIdentityPhoneContactRules(self._requester, agent_handle)

    async def _owned(
        self, phone_number_id: UUID | str, call: str
    ) -> AsyncIdentityPhoneContactRules:
        deprecated(
            f"inkbox.phone_contact_rules.{call}(phone_number_id, ...) is deprecated: contact "
            f"rules belong to the identity now; use identity.phone_contact_rules.{call}(...) "
            f"or inkbox.phone_contact_rules.for_identity(handle).{call}(...)",
            stacklevel=4,
        )
        handle, _ = await number_owner(self._requester, phone_number_id)
        return self.for_identity(handle)

    async def list(
        self,
        phone_number_id: UUID | str,
        *,
        action: PhoneRuleAction | str | None = None,
        match_type: PhoneRuleMatchType | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[PhoneContactRule]:
        """Deprecated: the rules of the identity owning a number."""
        check.uuid("phone_number_id", phone_number_id)
        rule_filters(  # checked before the owner lookup
            actions=PhoneRuleAction,
            match_types=PhoneRuleMatchType,
            action=action,
            match_type=match_type,
            direction_=None,
            limit=limit,
            offset=offset,
        )
        rules = await self._owned(phone_number_id, "list")
        found = await rules.list(action=action, match_type=match_type, limit=limit, offset=offset)
        return [attrs.evolve(r, phone_number_id=UUID(str(phone_number_id))) for r in found]

    async def get(self, phone_number_id: UUID | str, rule_id: UUID | str) -> PhoneContactRule:
        """Deprecated: one rule of the identity owning a number."""
        check.uuid("phone_number_id", phone_number_id)
        check.uuid("rule_id", rule_id)
        rule = await (await self._owned(phone_number_id, "get")).get(rule_id)
        return attrs.evolve(rule, phone_number_id=UUID(str(phone_number_id)))

    async def create(
        self,
        phone_number_id: UUID | str,
        *,
        action: PhoneRuleAction | str,
        match_target: str,
        match_type: PhoneRuleMatchType | str = PhoneRuleMatchType.EXACT_NUMBER,
    ) -> PhoneContactRule:
        """Deprecated: add a rule to the identity owning a number."""
        check.uuid("phone_number_id", phone_number_id)
        bodies.rule_create(action=action, match_target=match_target, match_type=match_type)
        rules = await self._owned(phone_number_id, "create")
        rule = await rules.create(action=action, match_target=match_target, match_type=match_type)
        return attrs.evolve(rule, phone_number_id=UUID(str(phone_number_id)))

    async def update(
        self,
        phone_number_id: UUID | str,
        rule_id: UUID | str,
        *,
        action: PhoneRuleAction | str | Unset = UNSET,
        status: ContactRuleStatus | str | Unset = UNSET,
    ) -> PhoneContactRule:
        """Deprecated: change a rule's action (rules can no longer be paused)."""
        if status is not UNSET:
            raise removed(RULE_STATUS_REMOVED.format(channel="phone"))
        check.uuid("phone_number_id", phone_number_id)
        check.uuid("rule_id", rule_id)
        if action is UNSET:
            raise InvalidArgumentError("action", "give the rule's new action")
        check.choice("action", action, PhoneRuleAction)
        rules = await self._owned(phone_number_id, "update")
        rule = await rules.update(rule_id, action=action)
        return attrs.evolve(rule, phone_number_id=UUID(str(phone_number_id)))

    async def delete(self, phone_number_id: UUID | str, rule_id: UUID | str) -> None:
        """Deprecated: remove a rule of the identity owning a number (admin keys)."""
        check.uuid("phone_number_id", phone_number_id)
        check.uuid("rule_id", rule_id)
        await (await self._owned(phone_number_id, "delete")).delete(rule_id)

    async def list_all(
        self,
        *,
        agent_identity_id: UUID | str | None = None,
        action: PhoneRuleAction | str | None = None,
        match_type: PhoneRuleMatchType | str | None = None,
        direction: ContactRuleDirection | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        phone_number_id: UUID | str | None = None,
    ) -> builtins.list[PhoneContactRule]:
        """Every phone rule of the organisation, or of one identity (admin keys).

        ``phone_number_id`` (0.4.4) is deprecated: it is looked up and sent as
        its identity's ``agent_identity_id``.
        """
        params = {
            "agent_identity_id": check.optional_uuid("agent_identity_id", agent_identity_id),
            **rule_filters(
                actions=PhoneRuleAction,
                match_types=PhoneRuleMatchType,
                action=action,
                match_type=match_type,
                direction_=direction,
                limit=limit,
                offset=offset,
            ),
        }
        if phone_number_id is not None:
            if agent_identity_id is not None:
                raise InvalidArgumentError(
                    "phone_number_id", "give agent_identity_id or phone_number_id"
                )
            check.uuid("phone_number_id", phone_number_id)
            deprecated(
                "inkbox.phone_contact_rules.list_all(phone_number_id=...) is deprecated: rules "
                "belong to identities; pass agent_identity_id=identity.id"
            )
            _, params["agent_identity_id"] = await number_owner(self._requester, phone_number_id)
        data = await self._requester.request("GET", f"{PHONE}/contact-rules", params=params)
        return structure_list(data, PhoneContactRule)
