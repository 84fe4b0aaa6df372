"""Org-level mail: ``inkbox.mailboxes``, ``messages``, ``threads``, ``domains``,
``mail_contact_rules``."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from json import loads as json_loads
from uuid import UUID

import attrs

from inkbox_async import _mail_bodies as bodies
from inkbox_async import _validate as check
from inkbox_async._contact_rule_bodies import filters as rule_filters
from inkbox_async._contact_rule_bodies import mail_rule_body
from inkbox_async._converter import structure, structure_list
from inkbox_async._deprecation import deprecated, removed
from inkbox_async._errors import InkboxError, InvalidArgumentError
from inkbox_async._idempotency import send_key
from inkbox_async._paths import MAIL, mailbox_path, path_argument, segment
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.mail import (
    AttachmentLink,
    ContactRuleDirection,
    ContactRuleStatus,
    Domain,
    FilterMode,
    ForwardMode,
    Mailbox,
    MailContactRule,
    MailRuleAction,
    MailRuleMatchType,
    Message,
    MessageDetail,
    MessageDirection,
    SendingDomainStatus,
    Thread,
    ThreadDetail,
    ThreadFolder,
)

from ._contact_rules import (
    RULE_STATUS_REMOVED,
    AsyncIdentityMailContactRules,
    mailbox_owner,
    mailbox_owner_by_id,
)
from ._pagination import AsyncCursorPager
from ._requester import AsyncRequester


class AsyncMailboxes:
    """``inkbox.mailboxes``: read, update and search mailboxes.

    Mailboxes are created and deleted with their identity.
    """

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def list(self) -> builtins.list[Mailbox]:
        """Every mailbox this key can see."""
        return structure_list(await self._requester.request("GET", f"{MAIL}/mailboxes"), Mailbox)

    async def get(self, email_address: str) -> Mailbox:
        """One mailbox by address."""
        return structure(await self._requester.request("GET", mailbox_path(email_address)), Mailbox)

    async def update(
        self,
        email_address: str,
        *,
        webhook_url: str | Unset | None = UNSET,
        filter_mode: FilterMode | str | Unset = UNSET,
        signature_html: str | Unset | None = UNSET,
        signature_text: str | Unset | None = UNSET,
        signature_enabled: bool | Unset = UNSET,
    ) -> Mailbox:
        """Change the filter mode (admin keys) or the signature of outgoing mail.

        ``signature_html`` / ``signature_text`` (up to 16,384 characters;
        ``None`` clears) and ``signature_enabled`` set the signature added to
        outgoing mail; omitted ones stay unchanged.

        ``webhook_url`` is deprecated (the service dropped it): a URL sets up a
        webhook subscription of the mailbox's identity for the six mail
        events, ``None`` deletes it; use ``identity.subscribe_webhook(...)``.
        """
        path = mailbox_path(email_address)
        body = bodies.mailbox_update(filter_mode=filter_mode)
        body.update(
            bodies.mailbox_signature(
                html=signature_html, text=signature_text, enabled=signature_enabled
            )
        )
        if webhook_url is UNSET:
            return structure(await self._requester.request("PATCH", path, json=body), Mailbox)
        hook = bodies.legacy_webhook_url(webhook_url)
        from ._webhook_subscriptions import MAIL_HOOK_DEPRECATED, apply_legacy_url

        deprecated(MAIL_HOOK_DEPRECATED)
        if body:
            data = await self._requester.request("PATCH", path, json=body)
        else:
            data = await self._requester.request("GET", path)
        mailbox = structure(data, Mailbox)
        from inkbox_async.models.webhooks import MAIL_EVENT_TYPES

        await apply_legacy_url(
            self._requester,
            hook,
            MAIL_EVENT_TYPES,
            identity_id=mailbox.agent_identity_id,
            mailbox_id=mailbox.id,
        )
        return mailbox

    async def search(
        self, email_address: str, *, q: str, limit: int = 50
    ) -> builtins.list[Message]:
        """Full-text search of a mailbox's messages, best matches first (one page)."""
        params = {
            "q": check.text("q", q, max_length=1000),
            "limit": check.int_range("limit", limit, 1, 100),
        }
        data = await self._requester.request(
            "GET", mailbox_path(email_address, "search"), params=params
        )
        return structure_list(data, Message)


class AsyncMessages:
    """``inkbox.messages``: list, read, send, forward, flag and delete messages."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    def list(
        self,
        email_address: str,
        *,
        page_size: int = 50,
        direction: MessageDirection | str | None = None,
    ) -> AsyncCursorPager[Message]:
        """Every message of a mailbox, newest first, fetched a page at a time as you iterate."""
        return AsyncCursorPager(
            self._requester,
            mailbox_path(email_address, "messages"),
            Message,
            params={"direction": bodies.direction(direction)},
            page_size=bodies.page_size(page_size),
        )

    async def get(self, email_address: str, message_id: UUID | str) -> MessageDetail:
        """One message with its bodies (``message_id`` is the Inkbox id, ``Message.id``).

        Reading an unread inbound message this way with an API key marks it
        read on the server (lists and threads do not).
        """
        path = mailbox_path(email_address, "messages", check.uuid("message_id", message_id))
        return structure(await self._requester.request("GET", path), MessageDetail)

    async def send(
        self,
        email_address: str,
        *,
        to: builtins.list[str],
        subject: str,
        body_text: str | None = None,
        body_html: str | None = None,
        cc: builtins.list[str] | None = None,
        bcc: builtins.list[str] | None = None,
        in_reply_to_message_id: str | UUID | None = None,
        attachments: Iterable[bodies.AttachmentInput] | None = None,
        track_opens: bool = False,
        idempotency_key: str | None = None,
    ) -> Message:
        """Send an email from a mailbox.

        ``in_reply_to_message_id`` threads the reply: give the parent's RFC 5322
        ``Message-ID`` (``message.message_id``) or its Inkbox id
        (``message.id``, as the 0.4.4 README does) — an Inkbox id is looked up
        first and its ``Message-ID`` sent. Attachments are :class:`Attachment`
        objects or ``{"filename", "content_type", "content_base64"}`` dicts
        (add ``content_id`` for an inline image). ``track_opens`` embeds an
        open-tracking pixel (needs ``body_html``).

        Every send carries an ``Idempotency-Key`` (a fresh one per call, or
        ``idempotency_key``), so it is retried safely even after a lost answer
        and delivered at most once; pass the key from a failed call's error
        (``error.idempotency_key``) to retry that same send later.
        Raises :class:`StorageLimitExceededError` when the mailbox is full.
        """
        key = send_key(idempotency_key)
        path = mailbox_path(email_address, "messages")
        body = bodies.send(
            to=to,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            cc=cc,
            bcc=bcc,
            in_reply_to=bodies.reply_ref(in_reply_to_message_id),
            attachments_=attachments,
            track_opens=track_opens,
        )
        if in_reply_to_message_id is not None and check.is_uuid(in_reply_to_message_id):
            parent = await self.get(email_address, in_reply_to_message_id)
            if not parent.message_id:
                raise InkboxError(f"message {in_reply_to_message_id} has no Message-ID to reply to")
            body["in_reply_to_message_id"] = parent.message_id
        data = await self._requester.request("POST", path, json=body, idempotency_key=key)
        return structure(data, Message)

    async def reply_all(
        self,
        email_address: str,
        message_id: UUID | str,
        *,
        subject: str | None = None,
        body_text: str | None = None,
        body_html: str | None = None,
        attachments: Iterable[bodies.AttachmentInput] | None = None,
        reply_to: str | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Reply to everyone on a stored message; the server picks the recipients.

        Threads under the original; ``subject`` defaults to ``"Re: "`` plus
        the original's. Keyed and retried like :meth:`send`.
        """
        key = send_key(idempotency_key)
        path = mailbox_path(
            email_address, "messages", check.uuid("message_id", message_id), "reply-all"
        )
        body = bodies.reply_all(
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            attachments_=attachments,
            reply_to=reply_to,
        )
        data = await self._requester.request("POST", path, json=body, idempotency_key=key)
        return structure(data, Message)

    async def forward(
        self,
        email_address: str,
        message_id: UUID | str,
        *,
        to: builtins.list[str] | None = None,
        cc: builtins.list[str] | None = None,
        bcc: builtins.list[str] | None = None,
        mode: ForwardMode | str = ForwardMode.INLINE,
        subject: str | None = None,
        body_text: str | None = None,
        body_html: str | None = None,
        additional_attachments: Iterable[bodies.AttachmentInput] | None = None,
        include_original_attachments: bool = True,
        reply_to: str | None = None,
        track_opens: bool = False,
        idempotency_key: str | None = None,
    ) -> Message:
        """Forward a stored message (a new outbound message in a new thread).

        ``track_opens`` embeds an open-tracking pixel (a wrapped forward needs
        ``body_html``). Keyed and retried like :meth:`send`.
        """
        key = send_key(idempotency_key)
        path = mailbox_path(
            email_address, "messages", check.uuid("message_id", message_id), "forward"
        )
        body = bodies.forward(
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
        )
        data = await self._requester.request("POST", path, json=body, idempotency_key=key)
        return structure(data, Message)

    async def update_flags(
        self,
        email_address: str,
        message_id: UUID | str,
        *,
        is_read: bool | None = None,
        is_starred: bool | None = None,
    ) -> Message:
        """Set the read and starred flags (``None`` leaves a flag unchanged)."""
        path = mailbox_path(email_address, "messages", check.uuid("message_id", message_id))
        body = bodies.flags(is_read=is_read, is_starred=is_starred)
        return structure(await self._requester.request("PATCH", path, json=body), Message)

    async def mark_read(self, email_address: str, message_id: UUID | str) -> Message:
        """Mark a message read."""
        return await self.update_flags(email_address, message_id, is_read=True)

    async def mark_unread(self, email_address: str, message_id: UUID | str) -> Message:
        """Mark a message unread."""
        return await self.update_flags(email_address, message_id, is_read=False)

    async def star(self, email_address: str, message_id: UUID | str) -> Message:
        """Star a message."""
        return await self.update_flags(email_address, message_id, is_starred=True)

    async def unstar(self, email_address: str, message_id: UUID | str) -> Message:
        """Unstar a message."""
        return await self.update_flags(email_address, message_id, is_starred=False)

    async def delete(self, email_address: str, message_id: UUID | str) -> None:
        """Delete a message."""
        path = mailbox_path(email_address, "messages", check.uuid("message_id", message_id))
        await self._requester.request("DELETE", path)

    async def get_attachment(
        self,
        email_address: str,
        message_id: UUID | str,
        filename: str,
        *,
        redirect: bool = False,
    ) -> AttachmentLink:
        """A temporary signed URL for one attachment (``link.url`` or ``link["url"]``).

        With ``redirect=True`` the API answers with a redirect, whose target is
        returned (the redirect is not followed).
        """
        path = mailbox_path(
            email_address,
            "messages",
            check.uuid("message_id", message_id),
            "attachments",
            path_argument(
                "filename", check.text("filename", filename, max_length=bodies.FILENAME_MAX)
            ),
        )
        params = {"redirect": check.boolean("redirect", redirect)}
        response = await self._requester.send("GET", path, params=params)
        location = response.headers.get("location")
        if 300 <= response.status_code < 400 and location:
            return AttachmentLink(url=location, filename=filename)
        return structure(json_loads(response.content), AttachmentLink)


class AsyncThreads:
    """``inkbox.threads``: list, read, file and delete conversations."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    def list(
        self,
        email_address: str,
        *,
        folder: ThreadFolder | str | None = None,
        page_size: int = 50,
    ) -> AsyncCursorPager[Thread]:
        """Every thread of a mailbox, most recent activity first, a page at a time."""
        return AsyncCursorPager(
            self._requester,
            mailbox_path(email_address, "threads"),
            Thread,
            params={"folder": bodies.optional_choice("folder", folder, ThreadFolder)},
            page_size=bodies.page_size(page_size),
        )

    async def list_folders(self, email_address: str) -> builtins.list[str]:
        """The folders that hold at least one thread."""
        data = await self._requester.request(
            "GET", mailbox_path(email_address, "threads", "folders")
        )
        return [str(folder) for folder in data]

    async def get(self, email_address: str, thread_id: UUID | str) -> ThreadDetail:
        """A thread with its messages, oldest first."""
        path = mailbox_path(email_address, "threads", check.uuid("thread_id", thread_id))
        return structure(await self._requester.request("GET", path), ThreadDetail)

    async def update(
        self,
        email_address: str,
        thread_id: UUID | str,
        *,
        folder: ThreadFolder | str | Unset = UNSET,
    ) -> Thread:
        """Move a thread to ``inbox``, ``spam`` or ``archive``."""
        path = mailbox_path(email_address, "threads", check.uuid("thread_id", thread_id))
        body = {} if folder is UNSET else {"folder": bodies.thread_folder(folder)}
        return structure(await self._requester.request("PATCH", path, json=body), Thread)

    async def delete(self, email_address: str, thread_id: UUID | str) -> None:
        """Delete a thread and its messages."""
        path = mailbox_path(email_address, "threads", check.uuid("thread_id", thread_id))
        await self._requester.request("DELETE", path)


class AsyncDomains:
    """``inkbox.domains``: the organisation's custom sending domains."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def list(
        self, *, status: SendingDomainStatus | str | None = None
    ) -> builtins.list[Domain]:
        """The organisation's sending domains, optionally only those in one status."""
        data = await self._requester.request(
            "GET", "/api/v1/domains/", params={"status": bodies.domain_status(status)}
        )
        return structure_list(data, Domain)

    async def set_default(self, domain_name: str) -> str | None:
        """Make a verified domain the org default (admin keys).

        Returns the new default's bare name, or None when ``domain_name`` is the
        platform domain (new mailboxes then use the platform domain again).
        """
        name = check.text("domain_name", domain_name, max_length=253)
        path = f"/api/v1/domains/{segment(name, argument='domain_name')}/set-default"
        data = await self._requester.request("POST", path, json={})
        value = data.get("default_domain") if isinstance(data, dict) else None
        return None if value is None else str(value)


class AsyncMailContactRules:
    """``inkbox.mail_contact_rules``: mail allow/block rules, which belong to identities.

    ``for_identity(handle)`` (or ``identity.mail_contact_rules``) manages one
    identity's rules; ``list_all`` lists the organisation's. The 0.4.4 calls
    keyed by mailbox address still work, with a ``DeprecationWarning``: they
    look up the mailbox's identity first.
    """

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    def for_identity(self, agent_handle: str) -> AsyncIdentityMailContactRules:
        """The rules of one identity, by handle (no request is made)."""
        return AsyncIdentityMailContactRules(self._requester, agent_handle)

    async def _owned(
        self, email_address: str, call: str
    ) -> tuple[AsyncIdentityMailContactRules, str]:
        deprecated(
            f"inkbox.mail_contact_rules.{call}(email_address, ...) is deprecated: contact rules "
            f"belong to the identity now; use identity.mail_contact_rules.{call}(...) or "
            f"inkbox.mail_contact_rules.for_identity(handle).{call}(...)",
            stacklevel=4,
        )
        handle, _, mailbox_id = await mailbox_owner(self._requester, email_address)
        return self.for_identity(handle), mailbox_id

    async def list(
        self,
        email_address: str,
        *,
        action: MailRuleAction | str | None = None,
        match_type: MailRuleMatchType | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[MailContactRule]:
        """Deprecated: the rules of the identity owning a mailbox."""
        rule_filters(  # checked before the owner lookup
            actions=MailRuleAction,
            match_types=MailRuleMatchType,
            action=action,
            match_type=match_type,
            direction_=None,
            limit=limit,
            offset=offset,
        )
        rules, mailbox_id = await self._owned(email_address, "list")
        found = await rules.list(action=action, match_type=match_type, limit=limit, offset=offset)
        return [attrs.evolve(r, mailbox_id=UUID(mailbox_id)) for r in found]

    async def get(self, email_address: str, rule_id: UUID | str) -> MailContactRule:
        """Deprecated: one rule of the identity owning a mailbox."""
        check.uuid("rule_id", rule_id)
        rules, mailbox_id = await self._owned(email_address, "get")
        return attrs.evolve(await rules.get(rule_id), mailbox_id=UUID(mailbox_id))

    async def create(
        self,
        email_address: str,
        *,
        action: MailRuleAction | str,
        match_type: MailRuleMatchType | str,
        match_target: str,
    ) -> MailContactRule:
        """Deprecated: add a rule to the identity owning a mailbox."""
        mail_rule_body(action, match_type, match_target)
        rules, mailbox_id = await self._owned(email_address, "create")
        rule = await rules.create(action=action, match_type=match_type, match_target=match_target)
        return attrs.evolve(rule, mailbox_id=UUID(mailbox_id))

    async def update(
        self,
        email_address: str,
        rule_id: UUID | str,
        *,
        action: MailRuleAction | str | Unset = UNSET,
        status: ContactRuleStatus | str | Unset = UNSET,
    ) -> MailContactRule:
        """Deprecated: change a rule's action (rules can no longer be paused)."""
        if status is not UNSET:
            raise removed(RULE_STATUS_REMOVED.format(channel="mail"))
        check.uuid("rule_id", rule_id)
        if action is UNSET:
            raise InvalidArgumentError("action", "give the rule's new action")
        check.choice("action", action, MailRuleAction)
        rules, mailbox_id = await self._owned(email_address, "update")
        rule = await rules.update(rule_id, action=action)
        return attrs.evolve(rule, mailbox_id=UUID(mailbox_id))

    async def delete(self, email_address: str, rule_id: UUID | str) -> None:
        """Deprecated: remove a rule of the identity owning a mailbox (admin keys)."""
        check.uuid("rule_id", rule_id)
        rules, _ = await self._owned(email_address, "delete")
        await rules.delete(rule_id)

    async def list_all(
        self,
        *,
        agent_identity_id: UUID | str | None = None,
        action: MailRuleAction | str | None = None,
        match_type: MailRuleMatchType | str | None = None,
        direction: ContactRuleDirection | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        mailbox_id: UUID | str | None = None,
    ) -> builtins.list[MailContactRule]:
        """Every mail rule of the organisation, or of one identity (admin keys).

        ``mailbox_id`` (0.4.4) is deprecated: it is looked up and sent as its
        identity's ``agent_identity_id``.
        """
        params = {
            "agent_identity_id": check.optional_uuid("agent_identity_id", agent_identity_id),
            **rule_filters(
                actions=MailRuleAction,
                match_types=MailRuleMatchType,
                action=action,
                match_type=match_type,
                direction_=direction,
                limit=limit,
                offset=offset,
            ),
        }
        if mailbox_id is not None:
            if agent_identity_id is not None:
                raise InvalidArgumentError("mailbox_id", "give agent_identity_id or mailbox_id")
            check.uuid("mailbox_id", mailbox_id)
            deprecated(
                "inkbox.mail_contact_rules.list_all(mailbox_id=...) is deprecated: rules belong "
                "to identities; pass agent_identity_id=identity.id"
            )
            params["agent_identity_id"] = await mailbox_owner_by_id(self._requester, mailbox_id)
        data = await self._requester.request("GET", f"{MAIL}/contact-rules", params=params)
        return structure_list(data, MailContactRule)
