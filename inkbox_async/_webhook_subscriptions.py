"""``inkbox.webhooks``: subscriptions (where events go) and deliveries (what was sent).

Since the service dropped a mailbox's ``webhook_url`` and a number's
``incoming_text_webhook_url``, subscriptions are the only way to receive mail
and text events. :func:`apply_legacy_url` maps those 0.4.4 parameters onto
subscriptions.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async import _webhook_bodies as bodies
from inkbox_async._converter import structure
from inkbox_async._errors import InkboxError
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.webhooks import (
    WebhookContextConfig,
    WebhookDelivery,
    WebhookSubscription,
    WebhookSubscriptionCreated,
)

from ._requester import AsyncRequester

MAIL_HOOK_DEPRECATED = (
    "mailboxes.update(webhook_url=...) is deprecated: the service dropped the mailbox "
    "webhook URL; it now sets up a webhook subscription of the mailbox's identity for the "
    "six mail events (None deletes it). Use identity.subscribe_webhook(url, "
    "events=MAIL_EVENT_TYPES) or inkbox.webhooks.subscriptions.create(url, MAIL_EVENT_TYPES, "
    "agent_identity_id=...), and identity.create_signing_key() for the key that signs them"
)
TEXT_HOOK_DEPRECATED = (
    "incoming_text_webhook_url is deprecated: the service dropped it; it now sets up a "
    "webhook subscription of the number's identity for the five text events (None deletes "
    "it). Use identity.subscribe_webhook(url, events=TEXT_EVENT_TYPES) or "
    "inkbox.webhooks.subscriptions.create(url, TEXT_EVENT_TYPES, agent_identity_id=...), "
    "and identity.create_signing_key() for the key that signs them"
)

WEBHOOKS = "/api/v1/webhooks"
SUBSCRIPTIONS = f"{WEBHOOKS}/subscriptions"
DELIVERIES = f"{WEBHOOKS}/deliveries"


class AsyncWebhookSubscriptions:
    """``inkbox.webhooks.subscriptions``: list, create, read, change and delete subscriptions."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def list(
        self,
        *,
        agent_identity_id: UUID | str | None = None,
        mailbox_id: UUID | str | None = None,
        phone_number_id: UUID | str | None = None,
        url: str | None = None,
        event_type: str | None = None,
        scope: Literal["identity"] | None = None,
    ) -> builtins.list[WebhookSubscription]:
        """The live subscriptions this key can see (not paginated).

        Filter by one owner at most (``agent_identity_id``, ``mailbox_id`` or
        ``phone_number_id``), by ``url`` and by ``event_type``. Without
        ``scope``, subscriptions mixing event families (e.g. mail and text)
        are left out, as the service does; ``scope="identity"`` includes them
        (the server's catalog is checked first: :class:`InkboxError` if it
        does not support identity subscriptions).
        """
        params: dict[str, Any] = bodies.owner_filters(
            mailbox_id=mailbox_id,
            phone_number_id=phone_number_id,
            agent_identity_id=agent_identity_id,
        )
        if bodies.scope(scope) is not None:
            params["scope"] = scope
        if url is not None:
            params["url"] = check.text("url", url, max_length=2048)
        if event_type is not None:
            params["event_type"] = check.text("event_type", event_type, max_length=100)
        if scope == "identity":
            await self._require_identity_subscriptions()
        data = await self._requester.request("GET", SUBSCRIPTIONS, params=params)
        items = data.get("subscriptions", []) if isinstance(data, dict) else data
        return [structure(item, WebhookSubscription) for item in items]

    async def _require_identity_subscriptions(self) -> None:
        catalog = await self._requester.request("GET", f"{WEBHOOKS}/catalog")
        if not (
            isinstance(catalog, dict) and catalog.get("supports_identity_subscriptions") is True
        ):
            raise InkboxError(
                "this server does not support identity-wide webhook subscriptions yet; "
                "list by mailbox_id or phone_number_id without scope instead"
            )

    async def create(
        self,
        url: str,
        event_types: Sequence[str],
        *,
        agent_identity_id: UUID | str | None = None,
        mailbox_id: UUID | str | None = None,
        phone_number_id: UUID | str | None = None,
        context_config: WebhookContextConfig | None = None,
        auth_token: str | None = None,
    ) -> WebhookSubscriptionCreated:
        """Send ``event_types`` of one owner to ``url``.

        Give exactly one owner: ``agent_identity_id`` (preferred) or the
        legacy ``mailbox_id`` / ``phone_number_id``. ``event_types`` is a
        non-empty list of distinct names (``MAIL_EVENT_TYPES``,
        ``TEXT_EVENT_TYPES``, ``"call.ended"``, ...); ``phone.incoming_call``
        is refused (it is the number's ``incoming_call_webhook_url``).
        ``context_config`` attaches conversation history to received events;
        ``auth_token`` is sent as ``Authorization: Bearer ...`` with every
        delivery. ``signing_key`` on the result is set only when this call
        minted the identity's first signing key: store it, it is shown once.
        """
        body = bodies.create(
            url=url,
            event_types_=event_types,
            owners={
                "agent_identity_id": agent_identity_id,
                "mailbox_id": mailbox_id,
                "phone_number_id": phone_number_id,
            },
            context_config_=context_config,
            auth_token=auth_token,
        )
        data = await self._requester.request("POST", SUBSCRIPTIONS, json=body)
        return structure(data, WebhookSubscriptionCreated)

    async def get(self, subscription_id: UUID | str) -> WebhookSubscription:
        """One live subscription (404 once deleted)."""
        path = f"{SUBSCRIPTIONS}/{check.uuid('subscription_id', subscription_id)}"
        return structure(await self._requester.request("GET", path), WebhookSubscription)

    async def update(
        self,
        subscription_id: UUID | str,
        *,
        url: str | Unset = UNSET,
        event_types: Sequence[str] | Unset = UNSET,
        context_config: WebhookContextConfig | Unset | None = UNSET,
        auth_token: str | Unset | None = UNSET,
        scope: Literal["identity"] | None = None,
    ) -> WebhookSubscription:
        """Change what you pass: ``event_types`` replaces the list; ``None`` clears
        ``context_config`` or ``auth_token``. The owner cannot change. A
        subscription mixing event families needs ``scope="identity"``."""
        sub = check.uuid("subscription_id", subscription_id)
        body = bodies.update(
            url=url, event_types_=event_types, context_config_=context_config, auth_token=auth_token
        )
        data = await self._requester.request(
            "PATCH", f"{SUBSCRIPTIONS}/{sub}", params=bodies.scope_query(scope), json=body
        )
        return structure(data, WebhookSubscription)

    async def delete(
        self, subscription_id: UUID | str, *, scope: Literal["identity"] | None = None
    ) -> None:
        """Stop a subscription (one mixing event families needs ``scope="identity"``)."""
        sub = check.uuid("subscription_id", subscription_id)
        await self._requester.request(
            "DELETE", f"{SUBSCRIPTIONS}/{sub}", params=bodies.scope_query(scope)
        )


class AsyncWebhookDeliveries:
    """``inkbox.webhooks.deliveries``: the log of delivery attempts, and replays."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def list(
        self,
        *,
        subscription_id: UUID | str | None = None,
        phone_number_id: UUID | str | None = None,
        event_type: str | None = None,
        success: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[WebhookDelivery]:
        """Logged attempts, newest first (``limit`` 1-200).

        ``subscription_id`` keeps one subscription's deliveries,
        ``phone_number_id`` a number's incoming-call deliveries; ``success``
        keeps 2xx answers (True) or the others (False).
        """
        params: dict[str, Any] = {
            "limit": check.int_range("limit", limit, 1, 200),
            "offset": check.int_range("offset", offset, 0, 10**9),
        }
        if subscription_id is not None:
            params["subscription_id"] = check.uuid("subscription_id", subscription_id)
        if phone_number_id is not None:
            params["phone_number_id"] = check.uuid("phone_number_id", phone_number_id)
        if event_type is not None:
            params["event_type"] = check.text("event_type", event_type, max_length=100)
        if success is not None:
            params["success"] = check.boolean("success", success)
        data = await self._requester.request("GET", DELIVERIES, params=params)
        items = data.get("deliveries", []) if isinstance(data, dict) else data
        return [structure(item, WebhookDelivery) for item in items]

    async def replay(self, delivery_id: UUID | str) -> WebhookDelivery:
        """Send a logged event again to its subscription's current URL; returns the new row.

        The envelope ``id`` stays the same, so a receiver that deduplicates
        by it ignores a replay of what it already processed. Incoming-call
        deliveries cannot be replayed (422); a subscription that is gone or
        no longer wants the event type gives 409.
        """
        path = f"{DELIVERIES}/{check.uuid('delivery_id', delivery_id)}/replay"
        return structure(await self._requester.request("POST", path), WebhookDelivery)


class AsyncWebhooks:
    """``inkbox.webhooks``: ``.subscriptions`` and ``.deliveries``."""

    def __init__(self, requester: AsyncRequester) -> None:
        self.subscriptions = AsyncWebhookSubscriptions(requester)
        """Where events go."""
        self.deliveries = AsyncWebhookDeliveries(requester)
        """What was sent, and replays."""


async def apply_legacy_url(
    requester: AsyncRequester,
    url: str | None,
    event_types: Sequence[str],
    *,
    identity_id: UUID | None,
    mailbox_id: UUID | None = None,
    phone_number_id: UUID | None = None,
) -> None:
    """Make one subscription of exactly ``event_types`` point at ``url`` (``None``: none).

    The owner is the identity when there is one, else the mailbox or number.
    A subscription of that owner whose event types are exactly these is
    re-pointed (or, for ``None``, deleted); without one, one is created.
    """
    subscriptions = AsyncWebhookSubscriptions(requester)
    owner = {
        "agent_identity_id": identity_id,
        "mailbox_id": None if identity_id is not None else mailbox_id,
        "phone_number_id": None if identity_id is not None or mailbox_id else phone_number_id,
    }
    wanted = set(event_types)
    existing = await subscriptions.list(
        agent_identity_id=owner["agent_identity_id"],
        mailbox_id=owner["mailbox_id"],
        phone_number_id=owner["phone_number_id"],
    )
    matching = [s for s in existing if set(s.event_types) == wanted]
    if url is None:
        for sub in matching:
            await subscriptions.delete(sub.id)
        return
    if not matching:
        await subscriptions.create(
            url,
            list(event_types),
            agent_identity_id=owner["agent_identity_id"],
            mailbox_id=owner["mailbox_id"],
            phone_number_id=owner["phone_number_id"],
        )
        return
    first, *others = matching
    if first.url != url:
        await subscriptions.update(first.id, url=url)
    for sub in others:
        await subscriptions.delete(sub.id)
