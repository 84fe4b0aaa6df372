"""Identity-keyed contact rules (mail and phone): directions, extension, apply_to, org lists,
and the legacy per-mailbox / per-number routes up to their 2026-08-31 cutoff."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator
from inkbox_emulator.contacts.rules import LEGACY_CUTOFF
from inkbox_emulator.core.store import Settings

from .conftest import create_identity, emulator_at, unique
from .phone_support import P, new_number, opted_in, ready_number, remote, send

IDENTITIES = "/api/v1/identities"
MAILBOXES = "/api/v1/mail/mailboxes"


def phone_rules(handle: str) -> str:
    return f"{IDENTITIES}/{handle}/phone-contact-rules"


def mail_rules(handle: str) -> str:
    return f"{IDENTITIES}/{handle}/mail-contact-rules"


def test_directions_extend_split_and_filter(emu: Emulator, admin: httpx2.Client) -> None:
    number = ready_number(emu, admin)
    rules = phone_rules(number["handle"])
    who = opted_in(emu, number)
    out = admin.post(rules, json={"action": "block", "match_target": who, "direction": "outbound"})
    assert out.status_code == 201 and out.json()["direction"] == "outbound"
    rule = out.json()
    assert send(admin, number["id"], who).status_code == 403
    assert emu.inject_text(number["number"], who, "still there")["is_blocked"] is False

    # the same action on the other side extends the rule; a covered side is a duplicate
    extended = admin.post(
        rules, json={"action": "block", "match_target": who, "direction": "inbound"}
    )
    assert extended.status_code == 201
    assert (extended.json()["id"], extended.json()["direction"]) == (rule["id"], "both")
    assert emu.inject_text(number["number"], who, "blocked now")["is_blocked"] is True
    for direction in ("inbound", "both"):
        dup = admin.post(
            rules, json={"action": "allow", "match_target": who, "direction": direction}
        )
        assert dup.status_code == 409
        assert dup.json()["detail"]["existing_rule_id"] == rule["id"]

    # apply_to splits one side off with the new action
    split = admin.patch(f"{rules}/{rule['id']}", json={"action": "allow", "apply_to": "inbound"})
    assert split.status_code == 200
    assert (split.json()["action"], split.json()["direction"]) == ("allow", "inbound")
    assert split.json()["id"] != rule["id"]
    assert admin.get(f"{rules}/{rule['id']}").json()["direction"] == "outbound"
    inbound = admin.get(rules, params={"direction": "inbound"}).json()
    assert [r["id"] for r in inbound] == [split.json()["id"]]
    wrong_side = admin.patch(
        f"{rules}/{split.json()['id']}", json={"action": "block", "apply_to": "outbound"}
    )
    assert wrong_side.status_code == 422
    for body in (
        {},
        {"apply_to": "inbound"},
        {"action": "block", "direction": "both", "apply_to": "inbound"},
        {"direction": "sideways"},
    ):
        assert admin.patch(f"{rules}/{rule['id']}", json=body).status_code == 422, body
    widened = admin.patch(f"{rules}/{rule['id']}", json={"direction": "both"}).json()
    assert widened["direction"] == "both"


def test_rules_before_a_number_and_org_lists(admin: httpx2.Client) -> None:
    handle = unique("norules")
    ident = create_identity(admin, handle)
    early = admin.post(phone_rules(handle), json={"action": "allow", "match_target": remote()})
    assert early.status_code == 201  # no number needed
    mail = admin.post(
        mail_rules(handle),
        json={"action": "block", "match_type": "exact_email", "match_target": "X@Spam.example"},
    )
    assert mail.status_code == 201 and mail.json()["match_target"] == "x@spam.example"
    listed = admin.get(f"{P}/contact-rules", params={"agent_identity_id": ident["id"]}).json()
    assert [r["id"] for r in listed] == [early.json()["id"]]
    assert "phone_number_id" not in listed[0]  # no number yet
    mails = admin.get("/api/v1/mail/contact-rules", params={"agent_identity_id": ident["id"]})
    assert [r["id"] for r in mails.json()] == [mail.json()["id"]]
    assert admin.get(phone_rules("no-such-identity")).status_code == 404


@pytest.fixture
def before_cutoff() -> Iterator[tuple[Emulator, httpx2.Client]]:
    """An emulator whose clock is an hour before the legacy routes' cutoff."""
    with Emulator(legacy_rules_until=datetime.now(UTC).timestamp() + 3600) as emu:
        org = emu.create_org()
        with httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
        ) as admin:
            yield emu, admin


def test_legacy_routes_answer_until_the_cutoff(
    before_cutoff: tuple[Emulator, httpx2.Client],
) -> None:
    emu, admin = before_cutoff
    number = new_number(admin, "local")
    box = admin.get(f"{IDENTITIES}/{number['handle']}").json()["mailbox"]
    legacy_phone = f"{P}/numbers/{number['id']}/contact-rules"
    legacy_mail = f"{MAILBOXES}/{box['email_address']}/contact-rules"

    made = admin.post(legacy_phone, json={"action": "block", "match_target": remote()})
    assert made.status_code == 201
    rule = made.json()
    assert (rule["phone_number_id"], rule["agent_identity_id"]) == (
        number["id"],
        number["agent_identity_id"],
    )
    # the same rule, seen through the identity
    via_identity = admin.get(f"{phone_rules(number['handle'])}/{rule['id']}").json()
    assert "phone_number_id" not in via_identity and via_identity["id"] == rule["id"]
    assert admin.patch(f"{legacy_phone}/{rule['id']}", json={"status": "paused"}).status_code == (
        422
    )
    assert admin.patch(f"{legacy_phone}/{rule['id']}", json={"action": "allow"}).status_code == 200
    mail = admin.post(
        legacy_mail, json={"action": "block", "match_type": "domain", "match_target": "x.example"}
    )
    assert mail.status_code == 201 and mail.json()["mailbox_id"] == box["id"]
    assert [r["id"] for r in admin.get(legacy_mail).json()] == [mail.json()["id"]]

    emu.advance_clock(2 * 3600)  # past 2026-08-31 on this emulator's clock
    for method, path in (
        ("GET", legacy_phone),
        ("POST", legacy_phone),
        ("GET", f"{legacy_phone}/{rule['id']}"),
        ("DELETE", f"{legacy_phone}/{rule['id']}"),
        ("GET", legacy_mail),
        ("PATCH", f"{legacy_mail}/{mail.json()['id']}"),
    ):
        gone = admin.request(method, path, json={"action": "allow"})
        assert gone.status_code == 410, (method, path)
        detail = gone.json()["detail"]
        assert detail["error"] == "endpoint_removed"
        assert "contact-rules" in detail["replacement"]
    # the identity-keyed routes (and the rules) live on
    assert [r["id"] for r in admin.get(phone_rules(number["handle"])).json()] == [rule["id"]]


def test_the_default_cutoff_is_2026_08_31() -> None:
    cutoff = datetime(2026, 8, 31, tzinfo=UTC)
    assert LEGACY_CUTOFF == Settings.legacy_rules_until == cutoff.timestamp()
    # An emulator with the default settings, its clock a minute before the cutoff: the legacy
    # routes answer; two minutes later they are gone.
    with emulator_at(cutoff - timedelta(minutes=1)) as (emu, admin):
        number = new_number(admin, "local")
        box = admin.get(f"{IDENTITIES}/{number['handle']}").json()["mailbox"]
        legacy = (
            f"{P}/numbers/{number['id']}/contact-rules",
            f"{MAILBOXES}/{box['email_address']}/contact-rules",
        )
        for path in legacy:
            assert admin.get(path).status_code == 200, path
        emu.advance_clock(120)
        for path in legacy:
            gone = admin.get(path)
            assert gone.status_code == 410, path
            assert gone.json()["detail"]["error"] == "endpoint_removed"


def test_rules_of_an_older_database_move_to_their_identities(tmp_path: Any) -> None:
    path = str(tmp_path / "old.db")
    with Emulator(db=path) as emu:
        org = emu.create_org()
        with httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
        ) as admin:
            number = new_number(admin, "local")
            box = admin.get(f"{IDENTITIES}/{number['handle']}").json()["mailbox"]
    # Rewrite the rule tables as an emulator from before identity-keyed rules left them.
    with sqlite3.connect(path) as conn:
        for table, owner, owner_id, target in (
            ("phone_rules", "phone_number_id", number["id"], "+15550001111"),
            ("mail_rules", "mailbox_id", box["id"], "spam.example"),
        ):
            conn.execute(f"DROP TABLE {table}")
            conn.execute(
                f"CREATE TABLE {table} (id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, "
                f"{owner} TEXT NOT NULL, action TEXT NOT NULL, match_type TEXT NOT NULL, "
                "match_target TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL, "
                "updated_at REAL NOT NULL, deleted_at REAL)"
            )
            conn.execute(
                f"INSERT INTO {table} VALUES (?, ?, ?, 'block', ?, ?, 'active', 1, 1, NULL)",
                (
                    f"{table}-1",
                    org.organization_id,
                    owner_id,
                    "exact_number" if table == "phone_rules" else "domain",
                    target,
                ),
            )
    with (
        Emulator(db=path) as emu,
        httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
        ) as admin,
    ):
        phone = admin.get(phone_rules(number["handle"])).json()
        assert [(r["id"], r["direction"]) for r in phone] == [("phone_rules-1", "both")]
        mail = admin.get(mail_rules(number["handle"])).json()
        assert [(r["id"], r["match_target"]) for r in mail] == [("mail_rules-1", "spam.example")]
