"""The web inbox in a real Chromium: live updates, the sandboxed HTML body, replay, every page.

Screenshots of the main pages land in ``.nox/screenshots/``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import RemoteHost


def hostile_html(remote: str) -> str:
    """An HTML body that reaches ``remote`` through every channel a mail body might try."""
    return (
        "<p>hello from the outside</p>"
        f'<script>fetch("{remote}/script-ran"); document.title = "pwned";</script>'
        f'<img src="{remote}/remote-image.gif" alt="remote">'
        f'<img src="data:," onerror="fetch(\'{remote}/onerror-ran\')">'
        f'<div style="background: url({remote}/css-background.gif); width: 9px; height: 9px"></div>'
        f'<link rel="stylesheet" href="{remote}/remote.css">'
        f'<iframe src="{remote}/nested-frame"></iframe>'
        f'<object data="{remote}/object"></object>'
    )


@pytest.fixture
def admin(emulator: Emulator, org: OrgCredentials) -> Iterator[httpx2.Client]:
    with httpx2.Client(
        base_url=emulator.base_url, headers={"X-API-Key": org.api_key}, timeout=20
    ) as client:
        yield client


def new_identity(admin: httpx2.Client, prefix: str) -> dict[str, Any]:
    handle = f"{prefix}-{uuid.uuid4().hex[:8]}"
    response = admin.post("/api/v1/identities/", json={"agent_handle": handle})
    assert response.status_code == 201, response.text
    identity: dict[str, Any] = response.json()
    mailbox = admin.get(f"/api/v1/mail/mailboxes/{identity['email_address']}")
    assert mailbox.status_code == 200, mailbox.text
    identity["mailbox_id"] = mailbox.json()["id"]
    return identity


def watch(page: Page, url: str) -> None:
    """Open ``url`` and wait for the live poll's first answer; mark the document so a reload
    would show."""
    page.goto(url)
    page.wait_for_function("document.documentElement.dataset.liveStamp !== undefined")
    page.evaluate("window.sameDocument = true")


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", note)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def shoot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_an_email_from_the_form_appears_live_and_its_html_cannot_run_or_load(
    emulator: Emulator,
    org: OrgCredentials,
    admin: httpx2.Client,
    context: BrowserContext,
    remote_host: RemoteHost,
    screenshots: Path,
) -> None:
    identity = new_identity(admin, "browser-mail")
    base = emulator.base_url
    watcher = context.new_page()
    watch(watcher, f"{base}/inbox/mailboxes/{identity['mailbox_id']}")
    subject = f"Numbers <b>{uuid.uuid4().hex[:6]}</b> & more"

    actor = context.new_page()
    actor.goto(f"{base}/inbox/orgs/{org.organization_id}")
    shoot(actor, screenshots, "org")
    form = actor.locator("#inject-email")
    form.locator("[name=to]").fill(identity["email_address"])
    form.locator("[name=from_address]").fill("outside@example.com")
    form.locator("[name=subject]").fill(subject)
    form.locator("[name=body_text]").fill("The plain text part.")
    form.locator("[name=body_html]").fill(hostile_html(remote_host.url))
    with actor.expect_navigation():
        form.locator("button[type=submit]").click()

    link = watcher.get_by_role("link", name=subject)  # the subject's markup shows as text
    expect(link).to_be_visible()
    assert watcher.evaluate("window.sameDocument") is True  # appeared without a reload
    shoot(watcher, screenshots, "mailbox")

    link.click()
    watcher.wait_for_load_state()
    frame = watcher.locator("iframe.body-html")
    assert frame.get_attribute("sandbox") == ""
    expect(watcher.frame_locator("iframe.body-html").locator("p")).to_have_text(
        "hello from the outside"
    )
    expect(watcher.locator("pre.body-text")).to_contain_text("The plain text part.")
    time.sleep(1.5)  # time for any script, handler or remote load to happen
    assert remote_host.hits() == []
    assert "pwned" not in watcher.title()
    shoot(watcher, screenshots, "thread")

    body_url = frame.get_attribute("src")
    assert body_url is not None
    alone = context.new_page()  # opened on its own, the body is still inert (CSP sandbox)
    alone.goto(base + body_url)
    expect(alone.locator("p")).to_have_text("hello from the outside")
    time.sleep(1.0)
    assert remote_host.hits() == []
    assert "pwned" not in alone.title()

    probe = context.new_page()  # the same HTML outside the inbox does all of it
    probe.set_content(hostile_html(remote_host.url))
    wait_for(
        lambda: {"/script-ran", "/remote-image.gif", "/onerror-ran"} <= set(remote_host.hits())
    )
    assert probe.title() == "pwned"


def test_replaying_a_delivery_from_the_page_shows_the_new_attempt(
    emulator: Emulator,
    org: OrgCredentials,
    admin: httpx2.Client,
    context: BrowserContext,
    receiver: Any,
    screenshots: Path,
) -> None:
    identity = new_identity(admin, "browser-hook")
    created = admin.post(
        "/api/v1/webhooks/subscriptions",
        json={
            "url": receiver.url,
            "event_types": ["message.received"],
            "agent_identity_id": identity["id"],
        },
    )
    assert created.status_code == 201, created.text
    emulator.inject_email(
        to=identity["email_address"], from_address="a@example.com", subject="Hook me"
    )
    receiver.wait("message.received")
    page = context.new_page()
    errors = console_errors(page)
    page.goto(f"{emulator.base_url}/inbox/orgs/{org.organization_id}/webhooks")
    deliveries = page.locator("section.delivery")
    expect(deliveries).to_have_count(1)  # the live poll brings it if the log lags
    expect(deliveries.first.locator(".status")).to_have_text("200")
    with page.expect_navigation():
        page.locator("form.replay button").first.click()
    expect(deliveries).to_have_count(2)
    expect(deliveries.first.locator(".tag")).to_have_text("replay")
    assert len(receiver.wait_count("message.received", 2)) == 2
    page.locator("section.delivery details summary").first.click()
    shoot(page, screenshots, "webhooks")
    assert errors == []


def test_a_text_appears_live_and_every_page_renders_cleanly(
    emulator: Emulator,
    org: OrgCredentials,
    admin: httpx2.Client,
    context: BrowserContext,
    screenshots: Path,
) -> None:
    identity = new_identity(admin, "browser-phone")
    provisioned = admin.post(
        "/api/v1/phone/numbers", json={"agent_handle": identity["agent_handle"], "type": "local"}
    )
    assert provisioned.status_code == 201, provisioned.text
    number = provisioned.json()
    emulator.mark_sms_ready(number["id"])
    base = emulator.base_url
    org_pages = f"{base}/inbox/orgs/{org.organization_id}"
    logged = len(emulator.requests())

    texts = context.new_page()
    errors = console_errors(texts)
    watch(texts, f"{org_pages}/texts")
    actor = context.new_page()
    actor.goto(org_pages)
    form = actor.locator("#inject-text")
    form.locator("[name=to_number]").fill(number["number"])
    form.locator("[name=from_number]").fill("+19995550123")
    form.locator("[name=text]").fill("START please <now>")
    with actor.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(texts.get_by_text("START please <now>")).to_be_visible()
    assert texts.evaluate("window.sameDocument") is True
    shoot(texts, screenshots, "texts")

    call = emulator.inject_call(number["number"], "+19995550123")
    emulator.append_transcript(call["id"], "remote", "Hi, is this the support line?")
    emulator.append_transcript(call["id"], "local", "It is. How can I help?")
    emulator.inject_fault("GET", "/api/v1/never-called/**", status=503, count=2)
    try:
        for name, path in [
            ("overview", "/"),
            ("calls", f"{org_pages}/calls"),
            ("tunnels", f"{org_pages}/tunnels"),
            ("vault", f"{org_pages}/vault"),
            ("requests", "/inbox/requests"),
        ]:
            page = context.new_page()
            page_errors = console_errors(page)
            page.goto(path if path.startswith("http") else base + path)
            expect(page.locator("main#live h1").first).to_be_visible()
            shoot(page, screenshots, name)
            assert page_errors == [], (name, page_errors)
            page.close()
    finally:
        emulator.clear_faults()
    assert errors == []
    # browsing (the favicon included) leaves the API's request log alone
    assert [r.path for r in emulator.requests()[logged:]] == []
