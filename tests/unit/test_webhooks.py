"""verify_webhook against the worked examples of the wire reference (webhooks.md §8.5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inkbox_async import InvalidArgumentError, ReplayGuard, verify_webhook
from inkbox_async._webhooks import sign_webhook

SECRET = "whsec_c2lnbmluZy1rZXktZXhhbXBsZQ"
REQUEST_ID = "5f0c6a2e-8d1b-4c7e-9a3f-2b6d8e1f4c90"
TIMESTAMP = "1775845457"
BODY = (
    b'{"event_type":"text.received","timestamp":"2026-04-10T18:24:17.038Z",'
    b'"data":{"text_message":{"id":"7b3c6e3d-5c20-41ee-8cde-9b1ad1d4e9c0"},"contact":null}}'
)
SIGNATURE = "sha256=3b346899008ac3069c3c68e518dd97202bcba3a987a79d59898e71bffc69405b"


def headers(signature: str = SIGNATURE, **overrides: str) -> dict[str, str]:
    base = {
        "X-Inkbox-Signature": signature,
        "X-Inkbox-Request-ID": REQUEST_ID,
        "X-Inkbox-Timestamp": TIMESTAMP,
    }
    base.update(overrides)
    return base


def verify(**kwargs: object) -> bool:
    args: dict[str, object] = {
        "payload": BODY,
        "headers": headers(),
        "secret": SECRET,
        "tolerance": None,
    }
    args.update(kwargs)
    return verify_webhook(**args)  # type: ignore[arg-type]


def test_worked_example() -> None:
    assert len(BODY) == 154
    assert (
        sign_webhook(payload=BODY, secret=SECRET, request_id=REQUEST_ID, timestamp=TIMESTAMP)
        == SIGNATURE
    )
    assert verify()
    assert verify(secret="c2lnbmluZy1rZXktZXhhbXBsZQ")
    assert verify(headers={k.lower(): v for k, v in headers().items()})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "whsec_whsec_c2lnbmluZy1rZXktZXhhbXBsZQ"},
        {"headers": headers(SIGNATURE.upper().replace("SHA256=", "sha256="))},
        {"headers": headers(SIGNATURE.replace("sha256=", "SHA256="))},
        {"headers": headers(SIGNATURE + " ")},
        {"headers": {k: v for k, v in headers().items() if k != "X-Inkbox-Request-ID"}},
        {"headers": headers("sha256=é" + SIGNATURE[8:])},
        {
            "headers": headers(
                "sha256=62084a66a98081f7f35534350e5f25c25f5edc2102d8100f4c81f26626c3316a"
            )
        },
        {"payload": BODY + b"\n"},
    ],
)
def test_variations_rejected(kwargs: dict[str, object]) -> None:
    assert not verify(**kwargs)


def test_fixture_vector(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "webhook_payloads" / "text_received.json").read_bytes()
    expected = "sha256=0964d20708583816dc4ac3667f2b3f0229789a9e6dab578eb8c0f025ed723fa0"
    assert verify(payload=body, headers=headers(expected))


def test_freshness_tolerance() -> None:
    sent = int(TIMESTAMP)
    assert verify(tolerance=300, now=sent + 300)
    assert verify(tolerance=300, now=sent - 300)
    assert not verify(tolerance=300, now=sent + 301)
    assert not verify(tolerance=300, now=sent - 301)
    # the default is 300 s: a delivery from 2026-04 is stale today
    assert not verify_webhook(payload=BODY, headers=headers(), secret=SECRET)


def test_replay_guard() -> None:
    guard = ReplayGuard()
    now = int(TIMESTAMP) + 1
    assert verify(tolerance=300, now=now, replay_guard=guard)
    assert not verify(tolerance=300, now=now + 5, replay_guard=guard)
    assert verify(tolerance=None, now=now + 1000, replay_guard=guard)  # forgotten after the window


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="payload"):
        verify(payload=BODY.decode())
    with pytest.raises(InvalidArgumentError, match="secret"):
        verify(secret="whsec_")
