"""The outside world: outbox, delivery outcomes, inbound injection, forward, attachment URLs."""

from __future__ import annotations

import base64
import email
from email import policy
from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import messages, new_mailbox, sent_ok, unique, wait_until

M = "/api/v1/mail/mailboxes"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def status_of(client: httpx2.Client, box: str, message_id: str) -> str:
    return str(client.get(f"{M}/{box}/messages/{message_id}").json()["status"])


def test_outbox_and_delivery_outcomes(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    box = new_mailbox(admin)["email_address"]
    bouncy = f"{unique('bounce')}.example"
    broken = f"{unique('broken')}.example"
    emu.set_delivery_outcome(f"@{bouncy}", "bounced")
    emu.set_delivery_outcome(f"nobody@{broken}", "failed")
    ok = sent_ok(admin, box, to=["Someone@Example.com"], subject="one", body_text="hi")
    bounced = sent_ok(admin, box, to=[f"x@{bouncy}"], subject="two")
    failed = sent_ok(admin, box, to=[f"nobody@{broken}"], cc=[f"y@{bouncy}"], subject="three")
    outbox = emu.outbox(org.organization_id)
    assert [o["subject"] for o in outbox] == ["one", "two", "three"]
    first = outbox[0]
    assert first["message_row_id"] == ok["id"] and first["message_id"] == ok["message_id"]
    assert first["from_address"] == box and first["to_addresses"] == ["Someone@Example.com"]
    assert first["cc_addresses"] == [] and first["bcc_addresses"] == []
    assert first["body_text"] == "hi" and first["attachments"] == []
    assert first["in_reply_to"] is None and first["references"] == []
    wait_until(
        lambda: (
            [o["status"] for o in emu.outbox(org.organization_id)]
            == ["delivered", "bounced", "failed"]
        )
    )
    assert status_of(admin, box, ok["id"]) == "delivered"
    assert status_of(admin, box, bounced["id"]) == "bounced"
    assert status_of(admin, box, failed["id"]) == "failed"
    emu.set_delivery_outcome(f"@{bouncy}", "delivered")  # back to normal
    later = sent_ok(admin, box, to=[f"x@{bouncy}"], subject="four")
    wait_until(lambda: status_of(admin, box, later["id"]) == "delivered")
    # over HTTP: the same operations
    assert (
        admin.post("/_emulator/mail/outcomes", json={"pattern": "bad", "outcome": "x"}).status_code
        == 422
    )
    ok_pattern = admin.post(
        "/_emulator/mail/outcomes", json={"pattern": f"@{bouncy}", "outcome": "failed"}
    )
    assert ok_pattern.status_code == 200
    wire = admin.get("/_emulator/mail/outbox", params={"organization_id": org.organization_id})
    assert [o["subject"] for o in wire.json()] == ["one", "two", "three", "four"]


def test_local_only_mail_is_delivered_without_outbox(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    a = new_mailbox(admin)["email_address"]
    b = new_mailbox(admin)["email_address"]
    sent = sent_ok(admin, a, to=[b])
    assert emu.outbox(org.organization_id) == []
    wait_until(lambda: status_of(admin, a, sent["id"]) == "delivered")


def test_inject_with_attachments_and_signed_urls(
    emu: Emulator, admin: httpx2.Client, http: httpx2.Client
) -> None:
    box = new_mailbox(admin)["email_address"]
    pdf = b"%PDF-1.4 quarterly"
    stored = emu.inject_email(
        to=box,
        from_address="customer@example.com",
        subject="Report",
        body_html="<p>See <b>attached</b></p>",
        cc=["legal@example.com"],
        attachments=[
            {
                "filename": "report q3.pdf",
                "content_type": "application/pdf",
                "content_base64": b64(pdf),
            },
            {
                "filename": "run.exe",
                "content_type": "application/x-msdownload",
                "content_base64": "",
            },
        ],
        message_id="custom-id@example.com",
    )
    assert stored["message_id"] == "<custom-id@example.com>"
    assert stored["has_attachments"] is True and stored["snippet"] == "See attached"
    assert stored["attachment_metadata"] == [
        {"filename": "report q3.pdf", "content_type": "application/pdf", "size": len(pdf)},
        {"filename": "run.exe", "content_type": "application/x-msdownload", "size": 0},
    ]
    assert stored["cc_addresses"] == ["legal@example.com"]
    base = f"{M}/{box}/messages/{stored['id']}/attachments"
    link = admin.get(f"{base}/report q3.pdf", params={"redirect": "false"}).json()
    assert set(link) == {"url", "filename", "expires_in"}
    assert link["filename"] == "report q3.pdf" and link["expires_in"] == 3600
    fetched = http.get(link["url"])
    assert fetched.status_code == 200 and fetched.content == pdf
    assert fetched.headers["content-type"] == "application/pdf"
    tampered = link["url"].replace("signature=", "signature=0")
    assert http.get(tampered).status_code == 403
    redirect = admin.get(f"{base}/report q3.pdf", params={"redirect": "true"})
    assert redirect.status_code == 302
    assert http.get(redirect.headers["location"]).content == pdf
    assert redirect.json()["url"] == redirect.headers["location"]
    assert admin.get(f"{base}/missing.txt", params={"redirect": "false"}).status_code == 404
    emu.advance_clock(3601)
    assert http.get(link["url"]).status_code == 410


def test_inject_threads_through_headers_and_validates(
    emu: Emulator, admin: httpx2.Client, http: httpx2.Client
) -> None:
    box = new_mailbox(admin)["email_address"]
    sent = sent_ok(admin, box, to=["client@example.com"], subject="Offer")
    answer = emu.inject_email(
        to=[box],
        from_address="client@example.com",
        subject="Re: Offer",
        body_text="yes",
        references=[sent["message_id"]],
    )
    assert answer["thread_id"] == sent["thread_id"]
    again = emu.inject_email(
        to=box,
        from_address="client@example.com",
        subject="Re: Offer",
        in_reply_to=answer["message_id"],
    )
    assert again["thread_id"] == sent["thread_id"] and again["in_reply_to"] == answer["message_id"]
    over_http = http.post(
        "/_emulator/mail/inbound",
        json={"to": box, "from_address": "z@example.com", "subject": "via control"},
    )
    assert over_http.status_code == 201 and over_http.json()["subject"] == "via control"
    assert http.post("/_emulator/mail/inbound", json={"to": box}).status_code == 422
    nowhere = http.post(
        "/_emulator/mail/inbound", json={"to": "ghost@example.com", "from_address": "a@b.co"}
    )
    assert nowhere.status_code == 404
    assert len(messages(admin, box, direction="inbound")) == 3


def forward(client: httpx2.Client, box: str, message_id: str, **body: Any) -> httpx2.Response:
    return client.post(f"{M}/{box}/messages/{message_id}/forward", json=body)


def test_forward_inline_and_wrapped(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    box = new_mailbox(admin)["email_address"]
    original = emu.inject_email(
        to=box,
        from_address="client@example.com",
        subject="Contract",
        body_text="version 2",
        attachments=[
            {"filename": "c.txt", "content_type": "text/plain", "content_base64": b64(b"v2")}
        ],
    )
    inline = forward(
        admin,
        box,
        original["id"],
        recipients={"to": ["lawyer@example.com"]},
        mode="inline",
        include_original_attachments=True,
        body_text="FYI",
        reply_to="me@example.com",
    )
    assert inline.status_code == 200, inline.text
    fwd = inline.json()
    assert fwd["subject"] == "Fwd: Contract" and fwd["thread_id"] != original["thread_id"]
    assert fwd["direction"] == "outbound" and fwd["has_attachments"] is True
    detail = admin.get(f"{M}/{box}/messages/{fwd['id']}").json()
    assert detail["body_text"].startswith("FYI") and "version 2" in detail["body_text"]
    assert "---------- Forwarded message ---------" in detail["body_text"]

    again = forward(
        admin,
        box,
        fwd["id"],
        recipients={"cc": ["boss@example.com"]},
        mode="wrapped",
        include_original_attachments=True,
    ).json()
    assert again["subject"] == "Fwd: Contract"  # never "Fwd: Fwd:"
    custom = forward(
        admin,
        box,
        original["id"],
        recipients={"to": ["x@example.com"]},
        subject="See this",
        mode="inline",
        include_original_attachments=False,
    ).json()
    assert custom["subject"] == "See this" and custom["has_attachments"] is False

    outbox = {o["message_row_id"]: o for o in emu.outbox(org.organization_id)}
    assert outbox[fwd["id"]]["reply_to"] == "me@example.com"
    assert [a["filename"] for a in outbox[fwd["id"]]["attachments"]] == ["c.txt"]
    (eml,) = outbox[again["id"]]["attachments"]
    assert eml["content_type"] == "message/rfc822"
    parsed = email.message_from_bytes(
        base64.b64decode(eml["content_base64"]), policy=policy.default
    )
    assert parsed["Subject"] == "Fwd: Contract" and parsed["Message-ID"] == fwd["message_id"]

    bad = forward(admin, box, original["id"], recipients={}, mode="inline")
    assert bad.status_code == 422
    assert (
        forward(admin, box, original["id"], recipients={"to": ["a@b.co"]}, mode="x").status_code
        == 422
    )
    missing = forward(
        admin,
        box,
        "00000000-0000-0000-0000-000000000000",
        recipients={"to": ["a@b.co"]},
        mode="inline",
    )
    assert missing.status_code == 404


@pytest.mark.parametrize("outcome", ["bounced", "failed"])
def test_outcome_applies_to_cc_and_bcc(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials, outcome: str
) -> None:
    box = new_mailbox(admin)["email_address"]
    target = f"{unique('t')}@example.org"
    emu.set_delivery_outcome(target, outcome)
    sent = sent_ok(admin, box, to=["fine@example.org"], bcc=[target.upper()])
    wait_until(lambda: status_of(admin, box, sent["id"]) == outcome)
    (entry,) = emu.outbox(org.organization_id)
    assert entry["status"] == outcome and entry["bcc_addresses"] == [target.upper()]


def test_reset_clears_mail_state() -> None:
    with Emulator() as emu:
        creds = emu.create_org()
        with httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": creds.api_key}, timeout=10
        ) as client:
            box = new_mailbox(client)["email_address"]
            sent_ok(client, box, to=["x@example.com"])
            emu.add_contact(creds.organization_id, "X", emails=["x@example.com"])
            emu.set_delivery_outcome("@nowhere.example", "failed")
            emu.inject_fault(method="GET", path="/nothing")
            assert client.post("/_emulator/reset").status_code == 200
        assert emu.outbox() == [] and emu.webhook_deliveries() == []
        assert set(emu.row_counts().values()) == {0}
        with httpx2.Client(base_url=emu.base_url) as http:
            assert http.get("/_emulator/faults").json() == []
