"""Pure request bodies and queries of the identity-keyed contact rules (shared by both flavours)."""

from __future__ import annotations

import enum
from typing import Any

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.mail import ContactRuleDirection, MailRuleAction, MailRuleMatchType
from inkbox_async.models.phone import PhoneRuleAction, PhoneRuleMatchType

LIMIT_MAX = 200


def direction_value(argument: str, value: ContactRuleDirection | str | None) -> str | None:
    """A rule ``direction`` (``inbound``/``outbound``/``both``), or None when not given."""
    return None if value is None else check.choice(argument, value, ContactRuleDirection)


def filters(
    *,
    actions: type[enum.Enum],
    match_types: type[enum.Enum],
    action: enum.Enum | str | None,
    match_type: enum.Enum | str | None,
    direction_: ContactRuleDirection | str | None,
    limit: int | None,
    offset: int | None,
) -> dict[str, Any]:
    """Query of the rule lists, each key only when given."""
    return {
        "direction": direction_value("direction", direction_),
        "action": None if action is None else check.choice("action", action, actions),
        "match_type": None
        if match_type is None
        else check.choice("match_type", match_type, match_types),
        "limit": None if limit is None else check.int_range("limit", limit, 1, LIMIT_MAX),
        "offset": None if offset is None else check.int_range("offset", offset, 0, 10**9),
    }


def update_body(
    *,
    actions: type[enum.Enum],
    action: enum.Enum | str | Unset | None,
    direction_: ContactRuleDirection | str | Unset | None,
    apply_to: ContactRuleDirection | str | Unset | None,
) -> dict[str, Any]:
    """Body of a rule PATCH: ``action`` and/or ``direction``, or ``action`` + ``apply_to``."""
    body: dict[str, Any] = {}
    if direction_ is not UNSET and direction_ is not None:
        body["direction"] = check.choice("direction", direction_, ContactRuleDirection)
    if action is not UNSET and action is not None:
        body["action"] = check.choice("action", action, actions)
    if apply_to is not UNSET and apply_to is not None:
        side = check.choice("apply_to", apply_to, ContactRuleDirection)
        if side == ContactRuleDirection.BOTH:
            raise InvalidArgumentError("apply_to", "must be 'inbound' or 'outbound'")
        if "action" not in body:
            raise InvalidArgumentError("apply_to", "needs action (the side's new action)")
        if "direction" in body:
            raise InvalidArgumentError("apply_to", "cannot be combined with direction")
        body["apply_to"] = side
    if not body:
        raise InvalidArgumentError("action", "give action, direction or both")
    return body


def mail_rule_body(
    action: MailRuleAction | str, match_type: MailRuleMatchType | str, match_target: str
) -> dict[str, Any]:
    """The ``action``/``match_type``/``match_target`` of a new mail rule."""
    from inkbox_async._mail_bodies import rule_create

    return rule_create(action=action, match_type=match_type, match_target=match_target)


def phone_rule_body(
    action: PhoneRuleAction | str, match_type: PhoneRuleMatchType | str, match_target: str
) -> dict[str, Any]:
    """The ``action``/``match_type``/``match_target`` of a new phone rule."""
    from inkbox_async._phone_bodies import rule_create

    return rule_create(action=action, match_target=match_target, match_type=match_type)
