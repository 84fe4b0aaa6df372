"""Contact rules keyed by identity (mail and phone), and the 0.4.4 per-mailbox/per-number
calls mapped onto them with a DeprecationWarning."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from inkbox_async import (
    AsyncInkbox,
    ContactRuleDirection,
    DuplicateContactRuleError,
    FeatureRemovedError,
    InvalidArgumentError,
    PermissionDeniedError,
    RecipientBlockedError,
)
from inkbox_emulator import Emulator

CUSTOMER = "+15551234567"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_identity_phone_rules_cover_a_direction(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("prules"))
    rules = identity.phone_contact_rules
    # rules can be set before the identity has a number
    rule = await rules.create(action="block", match_target=CUSTOMER, direction="outbound")
    assert rule.direction == ContactRuleDirection.OUTBOUND
    assert rule.agent_identity_id == identity.id and rule.phone_number_id is None
    number = await identity.provision_phone_number()
    assert number is not None
    emulator.mark_sms_ready(str(number.id))
    emulator.inject_text(to_number=number.number, from_number=CUSTOMER, text="START")
    with pytest.raises(RecipientBlockedError) as blocked:
        await identity.send_text(to=CUSTOMER, text="hi")
    assert blocked.value.matched_rule_id == rule.id
    inbound = emulator.inject_text(to_number=number.number, from_number=CUSTOMER, text="hello")
    assert inbound["is_blocked"] is False  # an outbound rule leaves inbound texts alone

    with pytest.raises(DuplicateContactRuleError) as duplicate:
        await rules.create(action="allow", match_target=CUSTOMER)
    assert duplicate.value.existing_rule_id == rule.id
    extended = await rules.create(action="block", match_target=CUSTOMER, direction="inbound")
    assert (extended.id, extended.direction) == (rule.id, "both")
    split = await rules.update(rule.id, action="allow", apply_to="inbound")
    assert (split.action, split.direction) == ("allow", "inbound")
    assert (await rules.get(rule.id)).direction == "outbound"
    assert {r.id for r in await rules.list(direction="inbound")} == {split.id}
    assert {r.id for r in await rules.list(action="block")} == {rule.id}
    assert (await rules.update(rule.id, direction="both")).direction == "both"
    org_wide = await inkbox.phone_contact_rules.list_all(agent_identity_id=identity.id)
    assert {r.id for r in org_wide} == {rule.id, split.id}
    by_handle = inkbox.phone_contact_rules.for_identity(identity.agent_handle)
    await by_handle.delete(split.id)
    assert [r.id for r in await rules.list()] == [rule.id]


async def test_identity_mail_rules(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("mrules"))
    rules = identity.mail_contact_rules
    rule = await rules.create(action="block", match_type="domain", match_target="spam.example")
    assert (rule.direction, rule.agent_identity_id) == ("both", identity.id)
    assert identity.email_address is not None
    emulator.inject_email(to=identity.email_address, from_address="x@spam.example", subject="s")
    emulator.inject_email(to=identity.email_address, from_address="a@ok.example", subject="ok")
    subjects = [m.subject async for m in identity.iter_emails()]
    assert subjects == ["ok"]
    assert [r.id for r in await rules.list(match_type="domain", direction="both")] == [rule.id]
    assert (await rules.update(rule.id, direction="outbound")).direction == "outbound"
    assert (await rules.get(rule.id)).match_target == "spam.example"
    listed = await inkbox.mail_contact_rules.list_all(agent_identity_id=identity.id)
    assert [r.id for r in listed] == [rule.id]
    assert listed[0].mailbox_id == (identity.mailbox.id if identity.mailbox else None)
    await inkbox.mail_contact_rules.for_identity(identity.agent_handle).delete(rule.id)
    assert await rules.list() == []


async def test_seed_rule_calls_warn_and_map_onto_the_identity(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("legacy"))
    number = await identity.provision_phone_number()
    assert number is not None and identity.email_address is not None
    email = identity.email_address
    with pytest.warns(DeprecationWarning, match="identity.mail_contact_rules.create") as warned:
        mail = await inkbox.mail_contact_rules.create(
            email, action="block", match_type="exact_email", match_target="a@b.example"
        )
    assert warned[0].filename == __file__
    assert mail.mailbox_id is not None and mail.agent_identity_id == identity.id
    with pytest.warns(DeprecationWarning):
        assert [r.id for r in await inkbox.mail_contact_rules.list(email)] == [mail.id]
    with pytest.warns(DeprecationWarning):
        assert (await inkbox.mail_contact_rules.update(email, mail.id, action="allow")).action == (
            "allow"
        )
    with pytest.warns(DeprecationWarning, match="mailbox_id"):
        assert [
            r.id
            for r in await inkbox.mail_contact_rules.list_all(
                mailbox_id=identity.mailbox.id if identity.mailbox else None
            )
        ] == [mail.id]
    with (
        pytest.warns(DeprecationWarning, match="no longer be paused"),
        pytest.raises(FeatureRemovedError),
    ):
        await inkbox.mail_contact_rules.update(email, mail.id, status="paused")
    with pytest.warns(DeprecationWarning):
        await inkbox.mail_contact_rules.delete(email, mail.id)

    with pytest.warns(DeprecationWarning, match="identity.phone_contact_rules.create"):
        phone = await inkbox.phone_contact_rules.create(
            number.id, action="block", match_target=CUSTOMER
        )
    assert phone.phone_number_id == number.id and phone.agent_identity_id == identity.id
    with pytest.warns(DeprecationWarning):
        assert (await inkbox.phone_contact_rules.get(number.id, phone.id)).id == phone.id
    with pytest.warns(DeprecationWarning):
        assert [r.id for r in await inkbox.phone_contact_rules.list(number.id)] == [phone.id]
    with pytest.warns(DeprecationWarning, match="phone_number_id"):
        listed = await inkbox.phone_contact_rules.list_all(phone_number_id=number.id)
    assert [r.id for r in listed] == [phone.id]
    with (
        pytest.warns(DeprecationWarning, match="no longer be paused"),
        pytest.raises(FeatureRemovedError),
    ):
        await inkbox.phone_contact_rules.update(number.id, phone.id, status="paused")
    with pytest.warns(DeprecationWarning):
        await inkbox.phone_contact_rules.delete(number.id, phone.id)
    # every request went to the identity-keyed routes (or looked the owner up)
    assert not [
        r
        for r in emulator.requests()
        if "/contact-rules" in r.path and ("/mailboxes/" in r.path or "/numbers/" in r.path)
    ]


async def test_rule_calls_check_arguments_before_io(
    inkbox: AsyncInkbox, emulator: Emulator
) -> None:
    identity = await inkbox.create_identity(unique("badrules"))
    emulator.clear_requests()
    phone, mail = identity.phone_contact_rules, identity.mail_contact_rules
    rule_id = uuid.uuid4()
    calls: list[Callable[[], Any]] = [
        lambda: phone.create(action="block", match_target="555"),
        lambda: phone.create(action="block", match_target=CUSTOMER, direction="sideways"),
        lambda: phone.update(rule_id),
        lambda: phone.update(rule_id, apply_to="inbound"),
        lambda: phone.update(rule_id, action="allow", apply_to="both"),
        lambda: phone.update(rule_id, action="allow", direction="both", apply_to="inbound"),
        lambda: phone.list(limit=0),
        lambda: phone.get("nope"),
        lambda: mail.create(action="block", match_type="domain", match_target="a@b.example"),
        lambda: mail.list(direction="up"),
        lambda: inkbox.mail_contact_rules.for_identity("Bad_Handle").list(),
        lambda: inkbox.phone_contact_rules.list_all(agent_identity_id="nope"),
        lambda: inkbox.mail_contact_rules.list_all(mailbox_id="nope"),
        lambda: inkbox.phone_contact_rules.list(uuid.uuid4(), action="mute"),
        lambda: inkbox.phone_contact_rules.update(uuid.uuid4(), rule_id),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError):
            await call()
    assert emulator.requests() == []


async def test_rule_changes_need_an_admin_key(inkbox: AsyncInkbox, emulator: Emulator) -> None:
    identity = await inkbox.create_identity(unique("scopedrules"))
    rule = await identity.phone_contact_rules.create(action="block", match_target=CUSTOMER)
    key = await inkbox.api_keys.create(label="agent", scoped_identity_id=identity.id)
    async with AsyncInkbox(api_key=key.api_key, base_url=emulator.base_url) as agent:
        mine = await agent.get_identity(identity.agent_handle)
        assert [r.id for r in await mine.phone_contact_rules.list()] == [rule.id]
        with pytest.raises(PermissionDeniedError):
            await mine.phone_contact_rules.update(rule.id, action="allow")
