"""Mail between emulator mailboxes: local delivery, threading, reading, flags, search."""

from __future__ import annotations

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import (
    create_identity,
    messages,
    new_mailbox,
    scoped_key,
    send,
    sent_ok,
    unique,
)

M = "/api/v1/mail/mailboxes"


def test_local_delivery_and_threading_both_ways(emu: Emulator, admin: httpx2.Client) -> None:
    alice = new_mailbox(admin, "alice")["email_address"]
    bob = new_mailbox(admin, "bob")["email_address"]
    # a mailbox of another org receives local mail too
    other = emu.create_org()
    carol_client = httpx2.Client(
        base_url=emu.base_url, headers={"X-API-Key": other.api_key}, timeout=10
    )
    with carol_client:
        carol = new_mailbox(carol_client, "carol")["email_address"]
        first = sent_ok(
            admin,
            alice,
            to=[bob],
            cc=["outside@example.com"],
            bcc=[carol],
            subject="Quarterly numbers",
            body_text="Hi Bob,\n  the   numbers are in.",
        )
        assert first["direction"] == "outbound" and first["status"] == "sent"
        assert first["is_read"] is True and first["snippet"] == "Hi Bob, the numbers are in."
        assert first["message_id"].startswith("<") and first["message_id"].endswith(
            "@inkboxmail.com>"
        )
        (carol_copy,) = messages(carol_client, carol)
        assert carol_copy["message_id"] == first["message_id"]
        carol_detail = carol_client.get(f"{M}/{carol}/messages/{carol_copy['id']}").json()
        assert carol_detail["bcc_addresses"] is None

    (inbound,) = messages(admin, bob)
    assert inbound["direction"] == "inbound" and inbound["status"] == "received"
    assert inbound["is_read"] is False and inbound["from_address"] == alice
    assert inbound["message_id"] == first["message_id"]
    assert inbound["thread_id"] != first["thread_id"]  # each mailbox has its own thread
    assert inbound["cc_addresses"] == ["outside@example.com"]
    detail = admin.get(f"{M}/{bob}/messages/{inbound['id']}").json()
    assert detail["bcc_addresses"] is None and detail["body_text"].startswith("Hi Bob")
    sender_detail = admin.get(f"{M}/{alice}/messages/{first['id']}").json()
    assert sender_detail["bcc_addresses"] == [carol]
    assert sender_detail["ses_message_id"]

    # Bob replies by Inkbox row id (as the seed README does)
    reply = sent_ok(
        admin,
        bob,
        to=[alice],
        subject="Re: Quarterly numbers",
        body_text="Thanks!",
        in_reply_to_message_id=inbound["id"],
    )
    assert reply["thread_id"] == inbound["thread_id"]
    reply_detail = admin.get(f"{M}/{bob}/messages/{reply['id']}").json()
    assert reply_detail["in_reply_to"] == first["message_id"]
    assert reply_detail["references"] == [first["message_id"]]
    (alice_in,) = messages(admin, alice, direction="inbound")
    assert alice_in["thread_id"] == first["thread_id"]

    # Alice answers by RFC 5322 Message-ID (without brackets works too)
    again = sent_ok(
        admin,
        alice,
        to=[bob],
        subject="Re: Re: Quarterly numbers",
        body_text="Welcome",
        in_reply_to_message_id=alice_in["message_id"].strip("<>"),
    )
    assert again["thread_id"] == first["thread_id"]
    again_detail = admin.get(f"{M}/{alice}/messages/{again['id']}").json()
    assert again_detail["references"] == [first["message_id"], alice_in["message_id"]]
    bob_thread = admin.get(f"{M}/{bob}/threads/{inbound['thread_id']}").json()
    assert [m["subject"] for m in bob_thread["messages"]] == [
        "Quarterly numbers",
        "Re: Quarterly numbers",
        "Re: Re: Quarterly numbers",
    ]
    assert bob_thread["message_count"] == 3 and bob_thread["folder"] == "inbox"

    thread = admin.get(f"{M}/{alice}/threads/{first['thread_id']}").json()
    assert [m["direction"] for m in thread["messages"]] == ["outbound", "inbound", "outbound"]
    assert thread["subject"] == "Quarterly numbers"

    # an unknown parent id is kept as a header, the reply starts a new thread
    lone = sent_ok(admin, alice, to=[bob], in_reply_to_message_id="<nobody@example.com>")
    assert lone["thread_id"] != first["thread_id"]


def test_lists_pagination_and_limits(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    for n in range(5):
        emu.inject_email(to=box, from_address=f"p{n}@example.com", subject=f"m{n}", body_text=".")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = admin.get(f"{M}/{box}/messages", params=params).json()
        assert set(page) == {"items", "next_cursor", "has_more"}
        seen += [m["subject"] for m in page["items"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
    threads = admin.get(f"{M}/{box}/threads", params={"limit": 100}).json()
    assert [t["subject"] for t in threads["items"]] == ["m4", "m3", "m2", "m1", "m0"]
    assert messages(admin, box, direction="outbound") == []
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"direction": "sideways"}):
        response = admin.get(f"{M}/{box}/messages", params=bad)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "query"
    assert admin.get(f"{M}/{box}/threads", params={"limit": 101}).status_code == 422
    assert admin.get(f"{M}/{box}/messages", params={"cursor": "garbage!"}).status_code == 422


def test_flags_delete_and_threads(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    one = emu.inject_email(to=box, from_address="a@example.com", subject="one", body_text="1")
    two = emu.inject_email(to=box, from_address="b@example.com", subject="two", body_text="2")
    path = f"{M}/{box}/messages/{one['id']}"
    assert admin.patch(path, json={"is_read": True}).json()["is_read"] is True
    starred = admin.patch(path, json={"is_starred": True}).json()
    assert starred["is_starred"] is True and starred["is_read"] is True
    assert admin.patch(path, json={}).json()["is_starred"] is True
    assert admin.patch(path, json={"is_read": "yes"}).status_code == 422

    folders = f"{M}/{box}/threads/folders"
    assert admin.get(folders).json() == ["inbox"]
    moved = admin.patch(f"{M}/{box}/threads/{one['thread_id']}", json={"folder": "archive"})
    assert moved.status_code == 200 and "messages" not in moved.json()
    assert moved.json()["folder"] == "archive"
    assert admin.get(folders).json() == ["archive", "inbox"]
    archived = admin.get(f"{M}/{box}/threads", params={"folder": "archive"}).json()["items"]
    assert [t["id"] for t in archived] == [one["thread_id"]]
    blocked = admin.patch(f"{M}/{box}/threads/{one['thread_id']}", json={"folder": "blocked"})
    assert blocked.status_code == 422
    assert admin.get(f"{M}/{box}/threads", params={"folder": "bogus"}).status_code == 422

    assert admin.delete(path).status_code == 204
    assert one["id"] not in {m["id"] for m in messages(admin, box)}
    assert admin.get(path).json()["status"] == "deleted"
    assert admin.get(folders).json() == ["inbox"]  # the archived thread has no live message

    assert admin.delete(f"{M}/{box}/threads/{two['thread_id']}").status_code == 204
    assert admin.get(f"{M}/{box}/threads/{two['thread_id']}").status_code == 404
    assert messages(admin, box) == []
    assert admin.get(f"{M}/{box}/messages/not-a-uuid").status_code == 422
    missing = admin.get(f"{M}/{box}/messages/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


def test_search_ranks_subject_over_body(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    emu.inject_email(to=box, from_address="x@example.com", subject="hello", body_text="invoice")
    emu.inject_email(to=box, from_address="y@example.com", subject="Invoice 42", body_text="pay")
    emu.inject_email(to=box, from_address="billing@acme.test", subject="misc", body_text="nothing")
    search = f"{M}/{box}/search"
    hits = admin.get(search, params={"q": "invoice", "limit": 50}).json()
    assert hits["has_more"] is False and hits["next_cursor"] is None
    assert [h["subject"] for h in hits["items"]] == ["Invoice 42", "hello"]
    assert [h["subject"] for h in admin.get(search, params={"q": "acme"}).json()["items"]] == [
        "misc"
    ]
    assert admin.get(search, params={"q": "invoice pay"}).json()["items"][0]["subject"] == (
        "Invoice 42"
    )
    assert admin.get(search, params={"q": "invoice", "limit": 1}).json()["items"][0]["subject"] == (
        "Invoice 42"
    )
    assert admin.get(search, params={"q": "zebra"}).json()["items"] == []
    assert admin.get(search).status_code == 422
    assert admin.get(search, params={"q": "x", "limit": 0}).status_code == 422


def test_mailbox_get_list_update(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    ident = new_mailbox(admin)
    box = ident["email_address"]
    listed = admin.get("/api/v1/mail/mailboxes").json()
    assert box in [m["email_address"] for m in listed]
    got = admin.get(f"{M}/{box}").json()
    assert got["agent_identity_id"] == ident["id"] and got["filter_mode"] == "blacklist"
    assert admin.get(f"{M}/{box.split('@')[0]}").json()["id"] == got["id"]  # local part works

    # webhook_url was removed from the wire (webhook subscriptions replace it): 422
    url = "https://example.com/hook"
    assert admin.patch(f"{M}/{box}", json={"webhook_url": url}).status_code == 422
    assert admin.patch(f"{M}/{box}", json={"webhook_url": None}).status_code == 422
    unchanged = admin.patch(f"{M}/{box}", json={}).json()
    assert unchanged.get("webhook_url") is None and unchanged["filter_mode_change_notice"] is None
    assert admin.patch(f"{M}/{box}", json={"display_name": "X"}).status_code == 422
    assert admin.patch(f"{M}/{box}", json={"filter_mode": "greylist"}).status_code == 422

    owner = admin.get(f"{M}/{box}").json()["agent_identity_id"]
    handle = next(
        i["agent_handle"] for i in admin.get("/api/v1/identities/").json() if i["id"] == owner
    )
    admin.post(
        f"/api/v1/identities/{handle}/mail-contact-rules",
        json={"action": "block", "match_type": "domain", "match_target": "spam.example"},
    )
    flipped = admin.patch(f"{M}/{box}", json={"filter_mode": "whitelist"}).json()
    assert flipped["filter_mode"] == "whitelist"
    assert flipped["filter_mode_change_notice"] == {
        "new_filter_mode": "whitelist",
        "redundant_rule_action": "block",
        "redundant_rule_count": 1,
    }
    same = admin.patch(f"{M}/{box}", json={"filter_mode": "whitelist"}).json()
    assert same["filter_mode_change_notice"] is None


def test_scoped_key_reaches_only_its_mailbox(emu: Emulator, admin: httpx2.Client) -> None:
    mine = create_identity(admin, unique("mine"))
    theirs = new_mailbox(admin)["email_address"]
    key = scoped_key(admin, mine["id"])
    headers = {"X-API-Key": key}
    listed = admin.get("/api/v1/mail/mailboxes", headers=headers).json()
    assert [m["email_address"] for m in listed] == [mine["email_address"]]
    assert admin.get(f"{M}/{mine['email_address']}", headers=headers).status_code == 200
    assert admin.get(f"{M}/{theirs}", headers=headers).status_code == 403
    assert admin.get(f"{M}/{theirs}/messages", headers=headers).status_code == 403
    with httpx2.Client(base_url=emu.base_url) as anonymous:
        assert send(anonymous, theirs).status_code == 401
    outsider = emu.create_org()
    with httpx2.Client(base_url=emu.base_url, headers={"X-API-Key": outsider.api_key}) as other:
        assert other.get(f"{M}/{theirs}").status_code == 404
    denied = admin.patch(
        f"{M}/{mine['email_address']}", json={"filter_mode": "whitelist"}, headers=headers
    )
    assert denied.status_code == 403
    allowed = admin.patch(
        f"{M}/{mine['email_address']}", json={"signature_text": "-- the bot"}, headers=headers
    )
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"recipients": {"to": []}, "subject": "s"}, ["body", "recipients", "to"]),
        ({"recipients": {"to": ["nope"]}, "subject": "s"}, ["body", "recipients", "to", 0]),
        ({"recipients": {"to": ["a@b.co"], "cc": ["@x"]}, "subject": "s"}, None),
        ({"recipients": {"to": ["a@b.co"]}, "subject": "x" * 999}, ["body", "subject"]),
        ({"recipients": {"to": ["a@b.co"]}}, ["body", "subject"]),
        ({"subject": "s"}, ["body", "recipients"]),
        (
            {
                "recipients": {"to": ["a@b.co"]},
                "subject": "s",
                "attachments": [{"filename": "a.txt", "content_type": "text/plain"}],
            },
            ["body", "attachments", 0, "content_base64"],
        ),
        (
            {
                "recipients": {"to": ["a@b.co"]},
                "subject": "s",
                "attachments": [
                    {"filename": "a.txt", "content_type": "text/plain", "content_base64": "***"}
                ],
            },
            ["body", "attachments", 0, "content_base64"],
        ),
        (
            {
                "recipients": {"to": ["a@b.co"]},
                "subject": "s",
                "attachments": [
                    {"filename": "run.EXE", "content_type": "application/x", "content_base64": ""}
                ],
            },
            ["body", "attachments", 0, "filename"],
        ),
        (
            {
                "recipients": {"to": ["a@b.co"]},
                "subject": "s",
                "attachments": [
                    {"filename": "x" * 256, "content_type": "text/plain", "content_base64": ""}
                ],
            },
            ["body", "attachments", 0, "filename"],
        ),
    ],
)
def test_send_validation(admin: httpx2.Client, body: dict[str, object], loc: object) -> None:
    box = new_mailbox(admin)["email_address"]
    response = admin.post(f"{M}/{box}/messages", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert {"type", "loc", "msg", "input"} <= set(detail[0])
    if loc is not None:
        assert detail[0]["loc"] == loc
    assert messages(admin, box) == []


def test_attachment_total_size_limit(admin: httpx2.Client) -> None:
    import base64

    box = new_mailbox(admin)["email_address"]
    big = base64.b64encode(b"\0" * (13 * 1024 * 1024)).decode()
    parts = [{"filename": f"p{n}.bin", "content_type": "application/octet-stream"} for n in (1, 2)]
    response = admin.post(
        f"{M}/{box}/messages",
        json={
            "recipients": {"to": ["a@b.co"]},
            "subject": "big",
            "attachments": [{**p, "content_base64": big} for p in parts],
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "attachments"]
