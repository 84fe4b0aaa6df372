"""The web inbox over real HTTP: every page and action, the CSRF guard, the sandboxed body
route and escaping. (The browser side is in tests/browser.)"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx2
import pytest
from markupsafe import escape

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_emulator.inbox.guard import BODY_CSP

from .conftest import HookServer, new_mailbox, wait_until
from .phone_support import new_number, ready_number, remote
from .test_cli import Run
from .test_mail_webhooks import subscribe
from .tunnel_agent_support import agent_pool, echo_handler, new_tunnel
from .vault_support import create_secret, initialize

HOSTILE_HTML = (
    "<p>hello</p><script>window.parent.pwned = 1</script>"
    '<img src="http://127.0.0.1:9/remote.png" onerror="window.parent.pwned = 2">'
)
ACTIONS = [
    "/inbox/actions/email",
    "/inbox/actions/text",
    "/inbox/actions/call",
    "/inbox/actions/signups/someone/approve",
    "/inbox/actions/clock",
    "/inbox/actions/faults/clear",
    "/inbox/actions/deliveries/00000000-0000-0000-0000-000000000000/replay",
]


@pytest.fixture
def page(emu: Emulator) -> Iterator[httpx2.Client]:
    """A browser-like client on the inbox (no API key)."""
    with httpx2.Client(base_url=emu.base_url, timeout=20) as client:
        yield client


def csrf_of(client: httpx2.Client) -> str:
    """The CSRF token, as a page's forms carry it."""
    response = client.get("/")
    match = re.search(r'name="csrf" value="([^"]+)"', response.text)
    assert match is not None
    return match.group(1)


def act(client: httpx2.Client, path: str, **form: str) -> httpx2.Response:
    """Submit an action form the way the page does (with its token), not following the 303."""
    data = {"csrf": csrf_of(client), "next": "/inbox/requests", **form}
    return client.post(path, data=data)


def ok_page(client: httpx2.Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<script>" not in response.text  # only <script src=…> from the inbox itself
    return response.text


def mailbox_id(admin: httpx2.Client, address: str) -> str:
    response = admin.get(f"/api/v1/mail/mailboxes/{address}")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


# -- pages ------------------------------------------------------------------------------


def test_the_root_is_the_overview_and_is_not_recorded(
    emu: Emulator, page: httpx2.Client, org: OrgCredentials
) -> None:
    before = len(emu.requests())
    text = ok_page(page, "/")
    assert f"/inbox/orgs/{org.organization_id}" in text
    assert f"/inbox/orgs/{org.organization_id}" in ok_page(page, "/inbox")
    assert page.get("/inbox/static/inbox.js").headers["content-type"].startswith("text/javascript")
    assert page.get("/inbox/static/inbox.css").status_code == 200
    assert page.get("/inbox/static/../app.py").status_code == 404
    assert page.get("/inbox/live").json()["stamp"]
    assert page.get("/favicon.ico").status_code == 204
    assert len(emu.requests()) == before  # inbox traffic stays out of requests()


def test_the_org_page_shows_identities_with_mailbox_number_and_tunnel(
    emu: Emulator, admin: httpx2.Client, page: httpx2.Client, org: OrgCredentials
) -> None:
    number = new_number(admin)
    tunnel = new_tunnel(admin, "inbox-tun")
    identity = new_mailbox(admin, "inbox-org")
    text = ok_page(page, f"/inbox/orgs/{org.organization_id}")
    assert number["handle"] in text and number["number"] in text
    assert identity["email_address"] in text
    assert tunnel["tunnel_name"] in text and "not connected" in text


def test_mailbox_thread_search_and_escaping(
    emu: Emulator, admin: httpx2.Client, page: httpx2.Client
) -> None:
    address = new_mailbox(admin, "inbox-mail")["email_address"]
    emu.inject_email(
        to=address,
        from_address="eve@example.com",
        subject='<b>Tom & "Jerry"</b>',
        body_text="plain <i>words</i> findme",
        body_html=HOSTILE_HTML,
    )
    emu.inject_email(to=address, from_address="bob@example.com", subject="Other", body_text="no")
    box = mailbox_id(admin, address)
    listing = ok_page(page, f"/inbox/mailboxes/{box}")
    assert str(escape('<b>Tom & "Jerry"</b>')) in listing
    assert '<b>Tom & "Jerry"</b>' not in listing
    thread_id = re.search(r'href="/inbox/threads/([^"]+)">&lt;b&gt;', listing)
    assert thread_id is not None
    thread = ok_page(page, f"/inbox/threads/{thread_id.group(1)}")
    assert "plain &lt;i&gt;words&lt;/i&gt; findme" in thread
    assert "window.parent.pwned" not in thread  # the HTML body never inline in a page
    frame = re.search(r'<iframe class="body-html" sandbox="" [^>]*src="([^"]+)"', thread)
    assert frame is not None
    body = page.get(frame.group(1))
    assert body.status_code == 200
    assert body.text == HOSTILE_HTML
    assert body.headers["content-security-policy"] == BODY_CSP
    assert "script-src" not in BODY_CSP and "default-src 'none'" in BODY_CSP
    assert body.headers["x-content-type-options"] == "nosniff"
    found = ok_page(page, f"/inbox/mailboxes/{box}?q=findme")
    assert "1 message matching" in found and "&lt;b&gt;Tom" in found
    assert "0 messages matching" in ok_page(page, f"/inbox/mailboxes/{box}?q=50%25_off")


def test_attachments_download_and_never_render(
    emu: Emulator, admin: httpx2.Client, page: httpx2.Client
) -> None:
    address = new_mailbox(admin, "inbox-att")["email_address"]
    content = b"<html><script>alert(1)</script></html>"
    emu.inject_email(
        to=address,
        from_address="eve@example.com",
        subject="files",
        attachments=[
            {
                "filename": "r\u00e9port <1>.html",
                "content_type": "text/html",
                "content_base64": base64.b64encode(content).decode(),
            }
        ],
    )
    thread = re.search(
        r'href="/inbox/threads/([^"]+)"',
        ok_page(page, f"/inbox/mailboxes/{mailbox_id(admin, address)}"),
    )
    assert thread is not None
    text = ok_page(page, f"/inbox/threads/{thread.group(1)}")
    assert "r\u00e9port &lt;1&gt;.html" in text
    link = re.search(r'href="(/inbox/attachments/[^"]+)"', text)
    assert link is not None
    download = page.get(link.group(1))
    assert download.content == content
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith(
        'attachment; filename="r_port__1_.html"'
    )
    assert page.get("/inbox/attachments/nope").status_code == 404


def test_texts_and_calls_pages(
    emu: Emulator, admin: httpx2.Client, page: httpx2.Client, org: OrgCredentials
) -> None:
    number = ready_number(emu, admin)
    sender = remote()
    emu.inject_text(number["number"], sender, "START")
    emu.inject_text(number["number"], sender, "<hi> & bye")
    texts = ok_page(page, f"/inbox/orgs/{org.organization_id}/texts")
    assert sender in texts and "&lt;hi&gt; &amp; bye" in texts
    call = emu.inject_call(number["number"], sender)
    emu.append_transcript(call["id"], "remote", "Hello <agent>")
    calls = ok_page(page, f"/inbox/orgs/{org.organization_id}/calls")
    assert f'id="call-{call["id"]}"' in calls and "Hello &lt;agent&gt;" in calls


def test_webhook_attempts_and_replay(
    emu: Emulator, admin: httpx2.Client, page: httpx2.Client, org: OrgCredentials, hooks: HookServer
) -> None:
    identity = new_mailbox(admin, "inbox-hook")
    subscribe(admin, identity, hooks.url)
    emu.inject_email(to=identity["email_address"], from_address="a@example.com", subject="hook me")
    wait_until(lambda: len(hooks.received) >= 1)
    path = f"/inbox/orgs/{org.organization_id}/webhooks"
    wait_until(lambda: "message.received" in page.get(path).text)
    text = ok_page(page, path)
    assert hooks.url in text and "x-inkbox-signature" in text.lower()
    assert text.count('class="delivery ') == 1
    delivery = re.search(r'action="(/inbox/actions/deliveries/[^"]+/replay)"', text)
    assert delivery is not None
    assert page.post(delivery.group(1), data={"next": path}).status_code == 403
    assert len(hooks.received) == 1
    replayed = act(page, delivery.group(1), next=path)
    assert replayed.status_code == 303 and replayed.headers["location"] == path
    assert len(hooks.received) == 2
    after = ok_page(page, path)
    assert after.count('class="delivery ') == 2 and '<span class="tag">replay</span>' in after


def test_every_attempt_of_a_retried_delivery_is_listed(
    emu: Emulator, admin: httpx2.Client, page: httpx2.Client, org: OrgCredentials
) -> None:
    flaky = HookServer(fail_first=1)
    try:
        identity = new_mailbox(admin, "inbox-retry")
        subscribe(admin, identity, flaky.url)
        emu.inject_email(to=identity["email_address"], from_address="a@example.com")
        wait_until(lambda: len(flaky.received) == 1)
        path = f"/inbox/orgs/{org.organization_id}/webhooks"
        wait_until(lambda: page.get(path).text.count('class="delivery ') == 2)
        text = ok_page(page, path)
        first, second = text.index("attempt 1 ·"), text.index("attempt 2 ·")
        assert second < first  # newest first
        assert text.count('class="delivery failed"') == 1 and "HTTP 500" in text
    finally:
        flaky.close()


def test_tunnel_page_connections_and_recent_requests(
    admin: httpx2.Client, page: httpx2.Client, emu: Emulator, org: OrgCredentials
) -> None:
    tunnel = new_tunnel(admin, "inbox-edge")
    with agent_pool(emu, org.api_key) as agents:
        agents(tunnel["id"]).connect().serve(echo_handler)
        emu.wait_for_tunnel(tunnel["tunnel_name"])
        # http.client sends the request target as given; httpx2 would percent-encode the
        # "<x>" (a page showing "%3Cx%3E" proves nothing about the page's escaping).
        public_url = urlsplit(emu.tunnel_public_url)
        public = http.client.HTTPConnection(str(public_url.hostname), public_url.port, timeout=20)
        try:
            public.request("GET", "/hello/<x>", headers={"Host": tunnel["public_host"]})
            answer = public.getresponse()
            assert answer.status == 201
            assert json.loads(answer.read())["path"] == "/hello/<x>"  # the raw target went out
        finally:
            public.close()
        text = ok_page(page, f"/inbox/orgs/{org.organization_id}/tunnels")
        assert tunnel["tunnel_name"] in text and "connected" in text
        assert "No agent connected" not in text.split(tunnel["tunnel_name"], 1)[1]
        assert "<code>/hello/&lt;x&gt;</code>" in text
        assert "/hello/<x>" not in text
        assert "<td>201</td>" in text


def test_requests_page_redacts_keys_and_lists_faults(
    emu: Emulator, admin: httpx2.Client, page: httpx2.Client, org: OrgCredentials
) -> None:
    admin.get("/api/v1/identities/")
    fault = emu.inject_fault("GET", "/api/v1/never/**", status=503, count=3)
    try:
        text = ok_page(page, "/inbox/requests")
        assert "/api/v1/identities/" in text
        assert org.api_key not in text and "…redacted…" in text
        assert "/api/v1/never/**" in text
    finally:
        emu.clear_faults()
    del fault


def test_vault_page_shows_metadata_never_ciphertext_nor_whole_auth_hashes(
    admin: httpx2.Client, page: httpx2.Client, org: OrgCredentials
) -> None:
    assert "no vault yet" in ok_page(page, f"/inbox/orgs/{org.organization_id}/vault")
    keys = initialize(admin)
    secret = create_secret(admin, name="Deploy <token>")
    text = ok_page(page, f"/inbox/orgs/{org.organization_id}/vault")
    assert secret["id"] in text and "Deploy \\u003ctoken\\u003e" in text
    assert secret["encrypted_payload"] not in text
    for key in [keys["vault_key"], *keys["recovery_keys"]]:
        assert key["id"] in text
        assert key["auth_hash"] not in text and key["auth_hash"][-6:] in text
        assert key["wrapped_org_encryption_key"] not in text


def test_unknown_ids_are_html_404s_with_the_id_escaped(page: httpx2.Client) -> None:
    response = page.get("/inbox/orgs/<svg onload=x>")
    assert response.status_code == 404
    assert "Organization not found" in response.text and "<svg" not in response.text
    assert page.get("/inbox/threads/nope").status_code == 404
    assert page.get("/inbox/messages/nope/body").status_code == 404


# -- actions and their guard ------------------------------------------------------------


@pytest.mark.parametrize("path", ACTIONS)
def test_every_action_needs_the_csrf_token(page: httpx2.Client, path: str) -> None:
    assert page.post(path, data={"seconds": "1"}).status_code == 403
    assert page.post(path, data={"csrf": "wrong", "seconds": "1"}).status_code == 403
    token = csrf_of(page)
    evil = page.post(path, data={"csrf": token}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    assert page.get(path).status_code == 405


def test_a_foreign_host_name_is_refused(page: httpx2.Client) -> None:
    assert page.get("/", headers={"Host": "rebound.example:1234"}).status_code == 403
    assert page.get("/", headers={"Host": "localhost"}).status_code == 200


def test_inject_email_action(emu: Emulator, admin: httpx2.Client, page: httpx2.Client) -> None:
    address = new_mailbox(admin, "inbox-act")["email_address"]
    stamp = page.get("/inbox/live").json()["stamp"]
    response = act(
        page,
        "/inbox/actions/email",
        to=address,
        from_address="form@example.com",
        subject="Via the form",
        body_text="line one\r\nline two",
    )
    assert response.status_code == 303
    assert page.get("/inbox/live").json()["stamp"] != stamp
    items = admin.get(f"/api/v1/mail/mailboxes/{address}/messages").json()["items"]
    assert [m["subject"] for m in items] == ["Via the form"]
    bad = act(page, "/inbox/actions/email", to=address, from_address="not an address")
    assert bad.status_code == 422 and "from_address" in bad.text


def test_inject_text_and_call_actions(
    emu: Emulator, admin: httpx2.Client, page: httpx2.Client
) -> None:
    number = ready_number(emu, admin)
    sender = remote()
    assert (
        act(
            page,
            "/inbox/actions/text",
            to_number=number["number"],
            from_number=sender,
            text="START",
        ).status_code
        == 303
    )
    texts = admin.get(f"/api/v1/phone/numbers/{number['id']}/texts")
    assert sender in texts.text
    assert (
        act(page, "/inbox/actions/call", to_number=number["number"], from_number=sender).status_code
        == 303
    )
    calls = admin.get(f"/api/v1/phone/numbers/{number['id']}/calls")
    assert sender in calls.text
    assert act(page, "/inbox/actions/text", to_number="", from_number=sender).status_code == 422


def test_approve_signup_action(emu: Emulator, http: httpx2.Client, page: httpx2.Client) -> None:
    signed = http.post(
        "/api/v1/agent-signup", json={"human_email": "human@example.com", "note_to_human": "hi"}
    )
    assert signed.status_code == 201, signed.text
    handle = signed.json()["agent_handle"]
    org_id = signed.json()["organization_id"]
    overview = ok_page(page, f"/inbox/orgs/{org_id}")
    assert f"/inbox/actions/signups/{handle}/approve" in overview
    assert act(page, f"/inbox/actions/signups/{handle}/approve").status_code == 303
    assert (
        next(s for s in emu.signups() if s["agent_handle"] == handle)["claim_status"]
        == "agent_claimed"
    )
    assert f"/signups/{handle}/approve" not in ok_page(page, f"/inbox/orgs/{org_id}")
    assert act(page, "/inbox/actions/signups/nobody-here/approve").status_code == 404


def test_clock_and_clear_faults_actions(emu: Emulator, page: httpx2.Client) -> None:
    before = emu.now()
    assert act(page, "/inbox/actions/clock", seconds="3600").status_code == 303
    assert emu.now() - before >= 3600
    assert act(page, "/inbox/actions/clock", seconds="-1").status_code == 422
    assert act(page, "/inbox/actions/clock", seconds="nan").status_code == 422
    emu.inject_fault("GET", "/api/v1/never/**", status=503, count=3)
    assert act(page, "/inbox/actions/faults/clear").status_code == 303
    assert page.get("/_emulator/faults").json() == []


def test_next_never_leaves_the_inbox(page: httpx2.Client) -> None:
    for target in ("//evil.example/", "https://evil.example/", "\\\\evil"):
        response = act(page, "/inbox/actions/clock", seconds="0", next=target)
        assert response.headers["location"] == "/"


def test_the_command_prints_the_inbox_url() -> None:
    run = Run()
    try:
        base = run.values["INKBOX_BASE_URL"]
        assert f"# web inbox: {base}/" in run.comments
        assert httpx2.get(base + "/", timeout=10).status_code == 200
    finally:
        run.stop()
