"""Which webhook URLs the emulator sends through its own edge, and what an unserved tunnel
host answers (the end-to-end loop is in tests/async_/test_webhooks_via_tunnel.py)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator
from inkbox_emulator.webhooks.tunnels import EdgeRoute

from .conftest import create_identity, unique, wait_until


def attempts_to(emu: Emulator, url: str) -> list[dict[str, Any]]:
    return [a for a in emu.webhook_deliveries() if a["url"] == url]


def test_an_unserved_tunnel_host_is_answered_by_the_edge_not_the_internet(
    emu: Emulator, admin: httpx2.Client
) -> None:
    identity = create_identity(admin, unique("nohost"))
    plain = f"http://{unique('nobody')}.{emu.tunnel_zone}/hooks"
    tls = f"https://{unique('nobody')}.{emu.tunnel_zone}/hooks"
    for url in (plain, tls):
        created = admin.post(
            "/api/v1/webhooks/subscriptions",
            json={
                "url": url,
                "event_types": ["message.received"],
                "agent_identity_id": identity["id"],
            },
        )
        assert created.status_code == 201, created.text
    emu.inject_email(to=identity["email_address"], from_address="a@example.com", subject="x")
    wait_until(lambda: bool(attempts_to(emu, plain)) and bool(attempts_to(emu, tls)))
    first_plain = attempts_to(emu, plain)[0]
    assert (first_plain["status_code"], first_plain["error"]) == (404, "HTTP 404")
    # The TLS listener closes a connection whose SNI names no tunnel, before any answer.
    first_tls = attempts_to(emu, tls)[0]
    assert first_tls["status_code"] is None
    assert "Name or service not known" not in first_tls["error"]
    assert "nodename nor servname" not in first_tls["error"]


def route() -> EdgeRoute:
    return EdgeRoute(
        "Wire.Test",
        b"",
        edge_address=lambda: "127.0.0.1:7443",
        public_url=lambda: "http://127.0.0.1:7080",
    )


@pytest.mark.parametrize(
    ("url", "expected", "host"),
    [
        ("https://bot.wire.test/hooks?a=1", "https://127.0.0.1:7443/hooks?a=1", "bot.wire.test"),
        ("https://BOT.Wire.Test:443/x", "https://127.0.0.1:7443/x", "bot.wire.test"),
        ("http://bot.wire.test/", "http://127.0.0.1:7080/", "bot.wire.test"),
        ("https://bot.wire.test./y", "https://127.0.0.1:7443/y", "bot.wire.test"),
    ],
)
def test_tunnel_hosts_go_to_the_edge(url: str, expected: str, host: str) -> None:
    target = route().target(url)
    assert target.via_edge
    assert target.url == expected
    assert target.headers == {"Host": host}
    assert target.extensions == ({"sni_hostname": host} if url.startswith("https") else {})


@pytest.mark.parametrize(
    "url",
    [
        "https://wire.test/hooks",  # the zone itself names no tunnel
        "https://bot.wire.test:8443/hooks",  # the edge serves the default ports only
        "https://bot.wire.test.example.com/hooks",
        "https://example.com/hooks",
        "ftp://bot.wire.test/x",
        "not a url",
    ],
)
def test_other_urls_are_left_alone(url: str) -> None:
    target = route().target(url)
    assert not target.via_edge
    assert target.url == url
