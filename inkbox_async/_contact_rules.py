"""Contact rules keyed by identity: ``identity.mail_contact_rules`` / ``phone_contact_rules``.

Rules belong to an agent identity and live under
``/api/v1/identities/{handle}/{mail,phone}-contact-rules``. The 0.4.4 calls
keyed by mailbox or phone number resolve their owner here first
(:func:`mailbox_owner`, :func:`number_owner`).
"""

from __future__ import annotations

import builtins
from typing import Any
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async._contact_rule_bodies import (
    direction_value,
    filters,
    mail_rule_body,
    phone_rule_body,
    update_body,
)
from inkbox_async._converter import structure, structure_list
from inkbox_async._errors import InkboxError
from inkbox_async._paths import IDENTITIES, mailbox_path, number_path, segment
from inkbox_async.models.mail import (
    ContactRuleDirection,
    MailContactRule,
    MailRuleAction,
    MailRuleMatchType,
)
from inkbox_async.models.phone import PhoneContactRule, PhoneRuleAction, PhoneRuleMatchType

from ._requester import AsyncRequester

RULE_STATUS_REMOVED = (
    "{channel} contact rules can no longer be paused (the API dropped 'status'): delete the "
    "rule, or change its action or direction with "
    "identity.{channel}_contact_rules.update(rule_id, action=..., direction=...)"
)


class _IdentityRules:
    """The calls both channels share, on ``/identities/{handle}/{kind}-contact-rules``."""

    _kind = ""
    _model: type[Any] = object

    def __init__(self, requester: AsyncRequester, agent_handle: str) -> None:
        self._requester = requester
        self._handle = check.handle("agent_handle", agent_handle)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(agent_handle={self._handle!r})"

    def _path(self, rule_id: UUID | str | None = None) -> str:
        base = f"{IDENTITIES}/{segment(self._handle)}/{self._kind}-contact-rules"
        return base if rule_id is None else f"{base}/{check.uuid('rule_id', rule_id)}"

    async def _list(self, params: dict[str, Any]) -> Any:
        return structure_list(
            await self._requester.request("GET", self._path(), params=params), self._model
        )

    async def _create(self, body: dict[str, Any]) -> Any:
        return structure(
            await self._requester.request("POST", self._path(), json=body), self._model
        )

    async def _get(self, rule_id: UUID | str) -> Any:
        return structure(await self._requester.request("GET", self._path(rule_id)), self._model)

    async def _update(self, rule_id: UUID | str, body: dict[str, Any]) -> Any:
        path = self._path(rule_id)
        return structure(await self._requester.request("PATCH", path, json=body), self._model)

    async def delete(self, rule_id: UUID | str) -> None:
        """Remove a rule (admin keys)."""
        await self._requester.request("DELETE", self._path(rule_id))


class AsyncIdentityMailContactRules(_IdentityRules):
    """An identity's mail allow/block rules (``identity.mail_contact_rules``).

    A rule matches an exact address or a domain and covers inbound mail,
    outbound mail or both (``direction``, default both); the identity's mail
    filter mode decides what an unmatched address gets.
    """

    _kind = "mail"
    _model = MailContactRule

    async def list(
        self,
        *,
        action: MailRuleAction | str | None = None,
        match_type: MailRuleMatchType | str | None = None,
        direction: ContactRuleDirection | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[MailContactRule]:
        """The identity's rules, filtered by what you pass."""
        params = filters(
            actions=MailRuleAction,
            match_types=MailRuleMatchType,
            action=action,
            match_type=match_type,
            direction_=direction,
            limit=limit,
            offset=offset,
        )
        rules: builtins.list[MailContactRule] = await self._list(params)
        return rules

    async def get(self, rule_id: UUID | str) -> MailContactRule:
        """One rule."""
        rule: MailContactRule = await self._get(rule_id)
        return rule

    async def create(
        self,
        *,
        action: MailRuleAction | str,
        match_type: MailRuleMatchType | str,
        match_target: str,
        direction: ContactRuleDirection | str | None = None,
    ) -> MailContactRule:
        """Add a rule (both directions unless ``direction`` says otherwise).

        A rule that repeats one already covering that side raises
        :class:`DuplicateContactRuleError`.
        """
        body = {
            "direction": direction_value("direction", direction),
            **mail_rule_body(action, match_type, match_target),
        }
        rule: MailContactRule = await self._create({k: v for k, v in body.items() if v is not None})
        return rule

    async def update(
        self,
        rule_id: UUID | str,
        *,
        action: MailRuleAction | str | None = None,
        direction: ContactRuleDirection | str | None = None,
        apply_to: ContactRuleDirection | str | None = None,
    ) -> MailContactRule:
        """Change a rule's action and/or direction (admin keys).

        ``apply_to="inbound"`` (or ``"outbound"``) with ``action`` changes only
        that side of a rule covering both.
        """
        body = update_body(
            actions=MailRuleAction, action=action, direction_=direction, apply_to=apply_to
        )
        rule: MailContactRule = await self._update(rule_id, body)
        return rule


class AsyncIdentityPhoneContactRules(_IdentityRules):
    """An identity's call and text allow/block rules (``identity.phone_contact_rules``).

    A rule matches an exact E.164 number and covers inbound traffic, outbound
    traffic or both (``direction``, default both). Rules may be set before
    the identity has a number.
    """

    _kind = "phone"
    _model = PhoneContactRule

    async def list(
        self,
        *,
        action: PhoneRuleAction | str | None = None,
        match_type: PhoneRuleMatchType | str | None = None,
        direction: ContactRuleDirection | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[PhoneContactRule]:
        """The identity's rules, filtered by what you pass."""
        params = filters(
            actions=PhoneRuleAction,
            match_types=PhoneRuleMatchType,
            action=action,
            match_type=match_type,
            direction_=direction,
            limit=limit,
            offset=offset,
        )
        rules: builtins.list[PhoneContactRule] = await self._list(params)
        return rules

    async def get(self, rule_id: UUID | str) -> PhoneContactRule:
        """One rule."""
        rule: PhoneContactRule = await self._get(rule_id)
        return rule

    async def create(
        self,
        *,
        action: PhoneRuleAction | str,
        match_target: str,
        match_type: PhoneRuleMatchType | str = PhoneRuleMatchType.EXACT_NUMBER,
        direction: ContactRuleDirection | str | None = None,
    ) -> PhoneContactRule:
        """Add a rule (both directions unless ``direction`` says otherwise).

        A rule that repeats one already covering that side raises
        :class:`DuplicateContactRuleError`.
        """
        body = {
            "direction": direction_value("direction", direction),
            **phone_rule_body(action, match_type, match_target),
        }
        rule: PhoneContactRule = await self._create(
            {k: v for k, v in body.items() if v is not None}
        )
        return rule

    async def update(
        self,
        rule_id: UUID | str,
        *,
        action: PhoneRuleAction | str | None = None,
        direction: ContactRuleDirection | str | None = None,
        apply_to: ContactRuleDirection | str | None = None,
    ) -> PhoneContactRule:
        """Change a rule's action and/or direction (admin keys).

        ``apply_to="inbound"`` (or ``"outbound"``) with ``action`` changes only
        that side of a rule covering both.
        """
        body = update_body(
            actions=PhoneRuleAction, action=action, direction_=direction, apply_to=apply_to
        )
        rule: PhoneContactRule = await self._update(rule_id, body)
        return rule


# -- owners of the 0.4.4 keys ------------------------------------------------------------


async def handle_of(requester: AsyncRequester, identity_id: object, what: str) -> str:
    """The handle of the identity with this id (as the key sees identities)."""
    if identity_id is None:
        raise InkboxError(f"{what} belongs to no agent identity")
    data = await requester.request("GET", IDENTITIES + "/")
    rows = data["items"] if isinstance(data, dict) and "items" in data else data
    for row in rows if isinstance(rows, builtins.list) else []:
        if isinstance(row, dict) and row.get("id") == str(identity_id):
            return str(row["agent_handle"])
    raise InkboxError(f"{what} belongs to an identity this key cannot see")


async def mailbox_owner(requester: AsyncRequester, email_address: str) -> tuple[str, str, str]:
    """``(handle, identity id, mailbox id)`` of the identity owning a mailbox."""
    mailbox = await requester.request("GET", mailbox_path(email_address))
    owner = mailbox.get("agent_identity_id")
    handle = await handle_of(requester, owner, f"mailbox {email_address!r}")
    return handle, str(owner), str(mailbox["id"])


async def number_owner(requester: AsyncRequester, phone_number_id: UUID | str) -> tuple[str, str]:
    """``(handle, identity id)`` of the identity owning a phone number."""
    number = await requester.request("GET", number_path(phone_number_id))
    owner = number.get("agent_identity_id")
    return await handle_of(requester, owner, f"phone number {phone_number_id}"), str(owner)


async def mailbox_owner_by_id(requester: AsyncRequester, mailbox_id: UUID | str) -> str:
    """The identity id owning the mailbox with this id."""
    wanted = check.uuid("mailbox_id", mailbox_id)
    for mailbox in await requester.request("GET", "/api/v1/mail/mailboxes"):
        if mailbox.get("id") == wanted and mailbox.get("agent_identity_id"):
            return str(mailbox["agent_identity_id"])
    raise InkboxError(f"mailbox {wanted} belongs to no agent identity this key can see")
