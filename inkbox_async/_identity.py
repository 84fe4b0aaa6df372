"""An agent identity and the calls scoped to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import attrs

from inkbox_async import _bodies
from inkbox_async import _validate as check
from inkbox_async._converter import structure
from inkbox_async._deprecation import removed
from inkbox_async._errors import (
    InkboxError,
    InvalidArgumentError,
    VaultLockedError,
)
from inkbox_async._idempotency import send_key
from inkbox_async._paths import identity_path
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.account import SigningKey
from inkbox_async.models.identities import (
    IdentityAccess,
    IdentityDetail,
    IdentityMailbox,
    IdentityPhoneNumber,
    IdentityStatus,
    IdentitySummary,
    TunnelSummary,
)
from inkbox_async.models.mail import (
    FilterMode,
    Message,
    MessageDetail,
    MessageDirection,
    ThreadDetail,
)
from inkbox_async.models.webhooks import SigningKeyStatus

from ._requester import AsyncRequester

if TYPE_CHECKING:
    # Mail, phone and vault load on first use, so a program pays only for what it calls.
    from inkbox_async._credentials import Credentials
    from inkbox_async._mail_bodies import AttachmentInput
    from inkbox_async._totp import TOTPCode, TOTPConfig
    from inkbox_async.models.identities import PhoneNumberType
    from inkbox_async.models.mail import ForwardMode
    from inkbox_async.models.phone import (
        CallMode,
        CallOrigin,
        ConversationReadState,
        HostedAgentAuthorityMode,
        OnVoicemail,
        PhoneCall,
        PhoneCallWithRateLimit,
        PhoneTranscript,
        TextConversationSummary,
        TextMessage,
        VoicemailDetection,
    )
    from inkbox_async.models.vault import DecryptedVaultSecret, SecretPayload, VaultSecret
    from inkbox_async.models.webhooks import (
        WebhookContextConfig,
        WebhookSubscription,
        WebhookSubscriptionCreated,
    )

    from ._contact_rules import AsyncIdentityMailContactRules, AsyncIdentityPhoneContactRules
    from ._mail import AsyncMessages, AsyncThreads
    from ._pagination import AsyncCursorPager
    from ._phone import AsyncCalls, AsyncPhoneNumbers, AsyncTexts, AsyncTranscripts
    from ._vault import AsyncUnlockedVault, AsyncVault
    from ._webhook_subscriptions import AsyncWebhookSubscriptions

_ACCESS_REMOVED = (
    "identity.{call} was removed from the Inkbox API (identity visibility rules are gone, "
    "with no replacement): admin keys see every identity, an identity-scoped key sees its "
    "own. To limit who can reach an identity, use its contact rules and filter modes "
    "(identity.update(mail_filter_mode=..., phone_filter_mode=...))."
)


class AsyncAgentIdentity:
    """An agent identity: its cached channels and the calls scoped to it.

    Returned by ``create_identity`` and ``get_identity``. The channels
    (``mailbox``, ``tunnel``, ``phone_number``) are cached from the last
    response; :meth:`refresh` reloads them.
    """

    def __init__(
        self,
        requester: AsyncRequester,
        detail: IdentityDetail,
        vault: Callable[[], AsyncVault] | None = None,
    ) -> None:
        self._requester = requester
        self._detail = detail
        self._vault_source = vault

    @property
    def _vault(self) -> AsyncVault:
        """The client's vault (shared, so an unlock through the client is seen here)."""
        if self._vault_source is None:
            from ._vault import AsyncVault

            vault = AsyncVault(self._requester)
            self._vault_source = lambda: vault
        return self._vault_source()

    def _messages(self) -> AsyncMessages:
        from ._mail import AsyncMessages

        return AsyncMessages(self._requester)

    def _threads(self) -> AsyncThreads:
        from ._mail import AsyncThreads

        return AsyncThreads(self._requester)

    def _numbers(self) -> AsyncPhoneNumbers:
        from ._phone import AsyncPhoneNumbers

        # One frame more than a direct call, for the toll-free warning.
        return AsyncPhoneNumbers(self._requester, _stacklevel=4)

    def _calls(self) -> AsyncCalls:
        from ._phone import AsyncCalls

        return AsyncCalls(self._requester)

    def _transcripts(self) -> AsyncTranscripts:
        from ._phone import AsyncTranscripts

        return AsyncTranscripts(self._requester)

    def _texts(self) -> AsyncTexts:
        from ._phone import AsyncTexts

        return AsyncTexts(self._requester)

    def __repr__(self) -> str:
        phone = self._detail.phone_number.number if self._detail.phone_number else None
        return (
            f"{type(self).__name__}(agent_handle={self.agent_handle!r}, "
            f"email_address={self.email_address!r}, phone_number={phone!r})"
        )

    @property
    def detail(self) -> IdentityDetail:
        """The identity as last returned by the API."""
        return self._detail

    @property
    def id(self) -> UUID:
        """The identity's id."""
        return self._detail.id

    @property
    def organization_id(self) -> str:
        """The organisation that owns it."""
        return self._detail.organization_id

    @property
    def agent_handle(self) -> str:
        """The handle (unique across Inkbox)."""
        return self._detail.agent_handle

    @property
    def display_name(self) -> str | None:
        """The display name."""
        return self._detail.display_name

    @property
    def description(self) -> str | None:
        """The org-internal description."""
        return self._detail.description

    @property
    def email_address(self) -> str:
        """The mailbox address assigned at creation."""
        return self._detail.email_address

    @property
    def created_at(self) -> datetime:
        """When it was created."""
        return self._detail.created_at

    @property
    def updated_at(self) -> datetime:
        """When it last changed."""
        return self._detail.updated_at

    @property
    def mailbox(self) -> IdentityMailbox:
        """Its mailbox (every identity has one)."""
        return self._detail.mailbox

    @property
    def tunnel(self) -> TunnelSummary:
        """Its tunnel (every identity has one).

        A summary: ``inkbox.tunnels.get(identity.tunnel.id)`` has the live state.
        """
        return self._detail.tunnel

    @property
    def phone_number(self) -> IdentityPhoneNumber | None:
        """Its phone number, if one was provisioned."""
        return self._detail.phone_number

    async def refresh(self) -> AsyncAgentIdentity:
        """Reload the identity and its channels; returns ``self``."""
        data = await self._requester.request("GET", identity_path(self.agent_handle))
        self._detail = structure(data, IdentityDetail)
        return self

    async def update(
        self,
        *,
        new_handle: str | None = None,
        display_name: str | Unset | None = UNSET,
        description: str | Unset | None = UNSET,
        status: IdentityStatus | str | None = None,
        imessage_enabled: bool | None = None,
        contact_sharing_enabled: bool | None = None,
        imessage_number_id: UUID | str | Unset | None = UNSET,
        claim_imessage_number: bool = False,
        idempotency_key: str | None = None,
        mail_filter_mode: FilterMode | str | None = None,
        phone_filter_mode: FilterMode | str | None = None,
        imessage_filter_mode: FilterMode | str | None = None,
        slack_filter_mode: FilterMode | str | None = None,
        mail_inbound_filter_mode: FilterMode | str | None = None,
        mail_outbound_filter_mode: FilterMode | str | None = None,
        phone_inbound_filter_mode: FilterMode | str | None = None,
        phone_outbound_filter_mode: FilterMode | str | None = None,
        slack_inbound_filter_mode: FilterMode | str | None = None,
        slack_outbound_filter_mode: FilterMode | str | None = None,
    ) -> None:
        """Change the identity's settings; the cached identity is refreshed from the answer.

        ``display_name`` and ``description``: omit to leave unchanged, pass
        ``None`` to clear. ``imessage_enabled``, ``contact_sharing_enabled``
        and the filter modes (admin keys; ``{channel}_filter_mode`` sets both
        directions, ``{channel}_{inbound,outbound}_filter_mode`` one) are sent
        only when given. ``imessage_number_id`` attaches an owned dedicated
        iMessage line (``None`` detaches it); ``claim_imessage_number=True``
        claims a new one, keyed with ``idempotency_key`` (or a fresh key).

        ``new_handle`` and ``status`` (0.4.4) were removed by the service: a
        handle is fixed at creation and identities cannot be paused. Passing
        either warns and raises :class:`FeatureRemovedError` before any request.
        """
        if new_handle is not None:
            raise removed(
                "identity.update(new_handle=...) was removed from the Inkbox API: a handle "
                "is fixed at creation. Create a new identity with inkbox.create_identity"
                "(new_handle) and delete this one instead."
            )
        if status is not None:
            raise removed(
                "identity.update(status=...) was removed from the Inkbox API: identities "
                "can no longer be paused. Block traffic with the filter modes instead, e.g. "
                "identity.update(mail_filter_mode='whitelist', phone_filter_mode='whitelist')."
            )
        key = send_key(idempotency_key) if claim_imessage_number is True else None
        body = _bodies.identity_update(
            display_name=display_name,
            description=description,
            imessage_enabled=imessage_enabled,
            contact_sharing_enabled=contact_sharing_enabled,
            imessage_number_id=imessage_number_id,
            claim_imessage_number=claim_imessage_number,
            filter_modes={
                "mail_filter_mode": mail_filter_mode,
                "phone_filter_mode": phone_filter_mode,
                "imessage_filter_mode": imessage_filter_mode,
                "slack_filter_mode": slack_filter_mode,
                "mail_inbound_filter_mode": mail_inbound_filter_mode,
                "mail_outbound_filter_mode": mail_outbound_filter_mode,
                "phone_inbound_filter_mode": phone_inbound_filter_mode,
                "phone_outbound_filter_mode": phone_outbound_filter_mode,
                "slack_inbound_filter_mode": slack_inbound_filter_mode,
                "slack_outbound_filter_mode": slack_outbound_filter_mode,
            },
        )
        data = await self._requester.request(
            "PATCH", identity_path(self.agent_handle), json=body, idempotency_key=key
        )
        if isinstance(data, dict) and not {"mailbox", "tunnel"} <= data.keys():
            # The older wire answers with the summary only: the cached channels stay.
            summary = structure(data, IdentitySummary)
            fields = {f.name: getattr(summary, f.name) for f in attrs.fields(IdentitySummary)}
            if fields["email_address"] is None:
                del fields["email_address"]
            self._detail = attrs.evolve(self._detail, **fields)
        else:
            self._detail = structure(data, IdentityDetail)

    async def delete(self) -> None:
        """Delete the identity, its mailbox, tunnel and phone number.

        Identity-scoped API keys are revoked.
        """
        await self._requester.request("DELETE", identity_path(self.agent_handle))

    async def release_phone_number(self) -> None:
        """Release the identity's phone number (at the carrier; irreversible)."""
        self._phone()
        await self._requester.request("DELETE", identity_path(self.agent_handle, "phone_number"))
        self._detail = attrs.evolve(self._detail, phone_number=None)

    async def list_access(self) -> list[IdentityAccess]:
        """Removed by the service (0.5.13): warns and raises :class:`FeatureRemovedError`.

        Identity visibility rules no longer exist; there is nothing to list.
        """
        raise removed(_ACCESS_REMOVED.format(call="list_access()"))

    async def grant_access(self, viewer_identity_id: UUID | str | None) -> IdentityAccess:
        """Removed by the service (0.5.13): warns and raises :class:`FeatureRemovedError`."""
        del viewer_identity_id
        raise removed(_ACCESS_REMOVED.format(call="grant_access()"))

    async def revoke_access(self, viewer_identity_id: UUID | str) -> None:
        """Removed by the service (0.5.13): warns and raises :class:`FeatureRemovedError`."""
        del viewer_identity_id
        raise removed(_ACCESS_REMOVED.format(call="revoke_access()"))

    # -- mail -------------------------------------------------------------------

    def _mailbox_address(self) -> str:
        return self._detail.mailbox.email_address

    async def send_email(
        self,
        *,
        to: list[str],
        subject: str,
        body_text: str | None = None,
        body_html: str | None = None,
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
        in_reply_to_message_id: str | UUID | None = None,
        attachments: Iterable[AttachmentInput] | None = None,
        track_opens: bool = False,
        idempotency_key: str | None = None,
    ) -> Message:
        """Send an email from this identity's mailbox (see ``inkbox.messages.send``)."""
        return await self._messages().send(
            self._mailbox_address(),
            to=to,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            cc=cc,
            bcc=bcc,
            in_reply_to_message_id=in_reply_to_message_id,
            attachments=attachments,
            track_opens=track_opens,
            idempotency_key=idempotency_key,
        )

    async def reply_all(
        self,
        message_id: UUID | str,
        *,
        subject: str | None = None,
        body_text: str | None = None,
        body_html: str | None = None,
        attachments: Iterable[AttachmentInput] | None = None,
        reply_to: str | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Reply to everyone on one of this identity's messages (see ``inkbox.messages.reply_all``)."""
        return await self._messages().reply_all(
            self._mailbox_address(),
            message_id,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            attachments=attachments,
            reply_to=reply_to,
            idempotency_key=idempotency_key,
        )

    async def forward_email(
        self,
        message_id: UUID | str,
        *,
        to: list[str] | None = None,
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
        mode: ForwardMode | str = "inline",
        subject: str | None = None,
        body_text: str | None = None,
        body_html: str | None = None,
        additional_attachments: Iterable[AttachmentInput] | None = None,
        include_original_attachments: bool = True,
        reply_to: str | None = None,
        track_opens: bool = False,
        idempotency_key: str | None = None,
    ) -> Message:
        """Forward one of this identity's messages (a new thread)."""
        return await self._messages().forward(
            self._mailbox_address(),
            message_id,
            to=to,
            cc=cc,
            bcc=bcc,
            mode=mode,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            additional_attachments=additional_attachments,
            include_original_attachments=include_original_attachments,
            reply_to=reply_to,
            track_opens=track_opens,
            idempotency_key=idempotency_key,
        )

    def iter_emails(
        self, *, page_size: int = 50, direction: MessageDirection | str | None = None
    ) -> AsyncCursorPager[Message]:
        """Every message of this identity's mailbox, newest first, a page at a time."""
        return self._messages().list(
            self._mailbox_address(), page_size=page_size, direction=direction
        )

    def iter_unread_emails(
        self, *, page_size: int = 50, direction: MessageDirection | str | None = None
    ) -> AsyncCursorPager[Message]:
        """The unread messages (the API has no unread filter: every page is read)."""
        return self.iter_emails(page_size=page_size, direction=direction).where(
            lambda message: not message.is_read
        )

    async def mark_emails_read(self, message_ids: Iterable[UUID | str]) -> None:
        """Mark messages read, one request per id, in order."""
        ids = [
            check.uuid(f"message_ids[{i}]", m)
            for i, m in enumerate(_bodies.message_id_list(message_ids))
        ]
        messages = self._messages()
        address = self._mailbox_address()
        for message_id in ids:
            await messages.mark_read(address, message_id)

    async def get_message(self, message_id: UUID | str) -> MessageDetail:
        """One message of this identity's mailbox, with its bodies."""
        return await self._messages().get(self._mailbox_address(), message_id)

    async def get_thread(self, thread_id: UUID | str) -> ThreadDetail:
        """One thread of this identity's mailbox, messages oldest first."""
        return await self._threads().get(self._mailbox_address(), thread_id)

    # -- contact rules ----------------------------------------------------------------

    @property
    def mail_contact_rules(self) -> AsyncIdentityMailContactRules:
        """This identity's mail allow/block rules (list, get, create, update, delete)."""
        from ._contact_rules import AsyncIdentityMailContactRules

        return AsyncIdentityMailContactRules(self._requester, self.agent_handle)

    @property
    def phone_contact_rules(self) -> AsyncIdentityPhoneContactRules:
        """This identity's call and text allow/block rules (list, get, create, update, delete)."""
        from ._contact_rules import AsyncIdentityPhoneContactRules

        return AsyncIdentityPhoneContactRules(self._requester, self.agent_handle)

    # -- phone --------------------------------------------------------------------

    def _phone(self) -> IdentityPhoneNumber:
        if self._detail.phone_number is None:
            raise InkboxError(
                f"identity {self.agent_handle!r} has no phone number: "
                "call provision_phone_number() first"
            )
        return self._detail.phone_number

    async def provision_phone_number(
        self, *, type: PhoneNumberType | str = "local", state: str | None = None
    ) -> IdentityPhoneNumber | None:
        """Provision a local number for this identity, reload it, and return the number.

        ``type="toll_free"`` is no longer offered: it warns and provisions a
        local number.
        """
        await self._numbers().provision(agent_handle=self.agent_handle, type=type, state=state)
        await self.refresh()
        return self._detail.phone_number

    async def place_call(
        self,
        *,
        to_number: str,
        client_websocket_url: str | None = None,
        origination: CallOrigin | str = "dedicated_number",
        mode: CallMode | str = "client_websocket",
        reason: str | None = None,
        hosted_agent_authority_mode: HostedAgentAuthorityMode | str | None = None,
        on_voicemail: OnVoicemail | str | None = None,
        voicemail_message: str | None = None,
        voicemail_detection: VoicemailDetection | str | None = None,
    ) -> PhoneCallWithRateLimit:
        """Call a number as this identity.

        By default from its own number, audio bridged over the WebSocket;
        ``mode="hosted_agent"`` with a ``reason`` lets Inkbox Voice AI run the
        call. iMessage-line ``origination`` values need no phone number. See
        :meth:`AsyncCalls.place` for the voicemail options.
        """
        dedicated = str(origination) == "dedicated_number"
        return await self._calls().place(
            to_number=to_number,
            from_number=self._phone().number if dedicated else None,
            agent_identity_id=None if dedicated else self.id,
            client_websocket_url=client_websocket_url,
            origination=origination,
            mode=mode,
            reason=reason,
            hosted_agent_authority_mode=hosted_agent_authority_mode,
            on_voicemail=on_voicemail,
            voicemail_message=voicemail_message,
            voicemail_detection=voicemail_detection,
        )

    async def list_calls(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        is_blocked: bool | None = None,
        start_datetime: str | date | datetime | None = None,
        end_datetime: str | date | datetime | None = None,
        tz: str | None = None,
    ) -> list[PhoneCall]:
        """This identity's calls, newest first (optionally between two moments)."""
        return await self._calls().list(
            agent_identity_id=self.id,
            limit=limit,
            offset=offset,
            is_blocked=is_blocked,
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            tz=tz,
        )

    async def list_transcripts(self, call_id: UUID | str) -> list[PhoneTranscript]:
        """The transcript segments of one of this identity's calls."""
        return await self._transcripts().list(call_id)

    async def hangup_call(self, call_id: UUID | str) -> PhoneCall:
        """Hang up one of this identity's live calls from outside it (409 once it ended)."""
        return await self._calls().hangup(call_id)

    async def send_text(
        self,
        *,
        to: str | Sequence[str] | None = None,
        text: str | None = None,
        conversation_id: UUID | str | None = None,
        media_urls: Sequence[str] | None = None,
    ) -> TextMessage:
        """Send an SMS/MMS from this identity's number (see :meth:`AsyncTexts.send`)."""
        return await self._texts().send(
            self._phone().id,
            to=to,
            text=text,
            conversation_id=conversation_id,
            media_urls=media_urls,
        )

    async def list_texts(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        is_read: bool | None = None,
        is_blocked: bool | None = None,
    ) -> list[TextMessage]:
        """This identity's texts, newest first."""
        return await self._texts().list(
            self._phone().id, limit=limit, offset=offset, is_read=is_read, is_blocked=is_blocked
        )

    async def get_text(self, text_id: UUID | str) -> TextMessage:
        """One text."""
        return await self._texts().get(self._phone().id, text_id)

    async def list_text_conversations(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        is_blocked: bool | None = None,
        include_groups: bool = False,
    ) -> list[TextConversationSummary]:
        """One row per conversation (group texts too with ``include_groups``)."""
        return await self._texts().list_conversations(
            self._phone().id,
            limit=limit,
            offset=offset,
            is_blocked=is_blocked,
            include_groups=include_groups,
        )

    async def get_text_conversation(
        self, remote_number: UUID | str, *, limit: int = 50, offset: int = 0
    ) -> list[TextMessage]:
        """A conversation's texts: by remote E.164 number or conversation id."""
        return await self._texts().get_conversation(
            self._phone().id, remote_number, limit=limit, offset=offset
        )

    async def mark_text_read(self, text_id: UUID | str) -> TextMessage:
        """Mark one text read."""
        return await self._texts().update(self._phone().id, text_id, is_read=True)

    async def mark_text_conversation_read(self, remote_number: UUID | str) -> ConversationReadState:
        """Mark every text of a conversation (remote number or conversation id) read."""
        return await self._texts().update_conversation(
            self._phone().id, remote_number, is_read=True
        )

    # -- vault ------------------------------------------------------------------

    def _unlocked(self) -> AsyncUnlockedVault:
        unlocked = self._vault.unlocked
        if unlocked is None:
            raise VaultLockedError(
                "the vault is locked: call inkbox.vault.unlock(vault_key) first, "
                "or pass vault_key= to the client"
            )
        return unlocked

    @property
    def credentials(self) -> Credentials:
        """The decrypted secrets this identity may use (from the unlocked vault; no I/O).

        When the API reports each secret's access rules, only the secrets
        granted to this identity are included; otherwise every unlocked secret
        is (as in the 0.4.4 client).
        """
        from inkbox_async._credentials import Credentials

        return Credentials(s for s in self._unlocked().secrets if s.visible_to(self.id))

    async def create_secret(
        self, name: str, payload: SecretPayload, *, description: str | None = None
    ) -> VaultSecret:
        """Store a new secret and grant this identity access to it.

        Two requests: if the grant fails, the secret exists without the grant.
        """
        secret = await self._unlocked().create_secret(name, payload, description=description)
        await self._vault.grant_access(secret.id, self.id)
        return secret

    async def get_secret(self, secret_id: UUID | str) -> DecryptedVaultSecret:
        """Fetch and decrypt one secret."""
        return await self._unlocked().get_secret(secret_id)

    async def delete_secret(self, secret_id: UUID | str) -> None:
        """Delete a secret (for every identity)."""
        await self._unlocked().delete_secret(secret_id)

    async def revoke_credential_access(self, secret_id: UUID | str) -> None:
        """Remove this identity's access to a secret (the secret stays)."""
        await self._vault.revoke_access(secret_id, self.id)

    async def set_totp(self, secret_id: UUID | str, totp: TOTPConfig | str) -> VaultSecret:
        """Add or replace a login's TOTP (a TOTPConfig or an ``otpauth://`` URI)."""
        return await self._unlocked().set_totp(secret_id, totp)

    async def remove_totp(self, secret_id: UUID | str) -> VaultSecret:
        """Remove a login's TOTP."""
        return await self._unlocked().remove_totp(secret_id)

    async def get_totp_code(self, secret_id: UUID | str) -> TOTPCode:
        """The current TOTP code of a login, computed locally."""
        return await self._unlocked().get_totp_code(secret_id)

    # -- webhooks -----------------------------------------------------------------

    async def subscribe_webhook(
        self,
        url: str,
        *,
        events: Sequence[str] | None = None,
        context_config: WebhookContextConfig | None = None,
        auth_token: str | None = None,
    ) -> WebhookSubscriptionCreated:
        """POST this identity's ``events`` to ``url`` (default: every mail and text event).

        ``events`` takes names such as ``"message.received"`` or the tuples
        ``MAIL_EVENT_TYPES`` / ``TEXT_EVENT_TYPES``. Deliveries are signed
        with this identity's key: the first subscription mints it and returns
        it once as ``signing_key`` (``create_signing_key()`` rotates it).
        ``auth_token`` is sent as ``Authorization: Bearer ...``.
        """
        from inkbox_async.models.webhooks import MAIL_EVENT_TYPES, TEXT_EVENT_TYPES

        chosen = [*MAIL_EVENT_TYPES, *TEXT_EVENT_TYPES] if events is None else events
        return await self._subscriptions().create(
            url,
            chosen,
            agent_identity_id=self.id,
            context_config=context_config,
            auth_token=auth_token,
        )

    async def list_webhook_subscriptions(
        self, *, event_type: str | None = None
    ) -> list[WebhookSubscription]:
        """Every live subscription of this identity (mixed-family ones included)."""
        return await self._subscriptions().list(
            agent_identity_id=self.id, event_type=event_type, scope="identity"
        )

    async def unsubscribe_webhook(self, subscription_id: UUID | str) -> None:
        """Delete one of this identity's subscriptions (another's is refused, not deleted)."""
        subscriptions = self._subscriptions()
        found = await subscriptions.get(subscription_id)
        if self.id not in (found.agent_identity_id, found.owner_identity_id):
            raise InvalidArgumentError(
                "subscription_id", f"{found.id} is not a subscription of {self.agent_handle!r}"
            )
        await subscriptions.delete(found.id, scope="identity")

    async def create_signing_key(self) -> SigningKey:
        """Create, or rotate, this identity's webhook signing key (shown once: store it).

        Every delivery of this identity's events is signed with it; verify
        them with ``verify_webhook(..., secret=key.signing_key)``.
        """
        path = identity_path(self.agent_handle, "signing-key")
        return structure(await self._requester.request("POST", path, json={}), SigningKey)

    async def signing_key_status(self) -> SigningKeyStatus:
        """Whether this identity has a signing key, and when it was made (never the key)."""
        path = identity_path(self.agent_handle, "signing-key")
        return structure(await self._requester.request("GET", path), SigningKeyStatus)

    get_signing_key_status = signing_key_status

    def _subscriptions(self) -> AsyncWebhookSubscriptions:
        from ._webhook_subscriptions import AsyncWebhookSubscriptions

        return AsyncWebhookSubscriptions(self._requester)
