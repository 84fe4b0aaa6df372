"""Why a webhook delivery was rejected: verify_webhook_or_raise and verify_webhook's DEBUG line."""

from __future__ import annotations

import logging

import pytest

import inkbox_sync
from inkbox_async import (
    InkboxError,
    InvalidArgumentError,
    ReplayGuard,
    WebhookVerificationError,
    verify_webhook,
    verify_webhook_or_raise,
)
from inkbox_async._webhooks import sign_webhook

SECRET = "whsec_c2lnbmluZy1rZXktZXhhbXBsZQ"
REQUEST_ID = "5f0c6a2e-8d1b-4c7e-9a3f-2b6d8e1f4c90"
SENT_AT = 1775845457
BODY = b'{"event_type":"message.received","data":{}}'
SIGNATURE = sign_webhook(payload=BODY, secret=SECRET, request_id=REQUEST_ID, timestamp=str(SENT_AT))


def headers(**overrides: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "X-Inkbox-Signature": SIGNATURE,
        "X-Inkbox-Request-Id": REQUEST_ID,
        "X-Inkbox-Timestamp": str(SENT_AT),
        **overrides,
    }
    return {k: v for k, v in base.items() if v is not None}


def reject(**kwargs: object) -> WebhookVerificationError:
    args: dict[str, object] = {
        "payload": BODY,
        "headers": headers(),
        "secret": SECRET,
        "now": SENT_AT + 1,
        **kwargs,
    }
    assert verify_webhook(**args) is False  # type: ignore[arg-type]
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook_or_raise(**args)  # type: ignore[arg-type]
    return info.value


def test_a_good_delivery_passes_both() -> None:
    assert verify_webhook(payload=BODY, headers=headers(), secret=SECRET, now=SENT_AT + 1)
    verify_webhook_or_raise(payload=BODY, headers=headers(), secret=SECRET, now=SENT_AT + 1)


@pytest.mark.parametrize(
    "header", ["X-Inkbox-Signature", "X-Inkbox-Request-Id", "X-Inkbox-Timestamp"]
)
def test_missing_header_names_it(header: str) -> None:
    error = reject(headers=headers(**{header: None}))
    assert (error.reason, error.header) == ("missing_header", header)
    assert header in str(error)


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=", SIGNATURE[7:], SIGNATURE + " ", "sha256=é" + SIGNATURE[8:], "sha1=abc"],
)
def test_malformed_signature(signature: str) -> None:
    error = reject(headers=headers(**{"X-Inkbox-Signature": signature}))
    assert (error.reason, error.header) == ("malformed_signature", None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "whsec_another-secret-entirely"},
        {"payload": BODY + b" "},
        {"headers": headers(**{"X-Inkbox-Request-Id": "someone-else"})},
        {"headers": headers(**{"X-Inkbox-Signature": "sha256=" + "0" * 64})},
    ],
)
def test_bad_signature(kwargs: dict[str, object]) -> None:
    assert reject(**kwargs).reason == "bad_signature"


def test_stale_and_bad_timestamps() -> None:
    assert reject(now=SENT_AT + 301).reason == "stale_timestamp"
    assert reject(now=SENT_AT - 301, tolerance=300).reason == "stale_timestamp"
    timestamp = "soon"
    signed = sign_webhook(payload=BODY, secret=SECRET, request_id=REQUEST_ID, timestamp=timestamp)
    odd = headers(**{"X-Inkbox-Signature": signed, "X-Inkbox-Timestamp": timestamp})
    assert reject(headers=odd).reason == "bad_timestamp"
    # without a freshness check the timestamp is only signed data
    assert verify_webhook(payload=BODY, headers=odd, secret=SECRET, tolerance=None)


def test_replayed() -> None:
    guard = ReplayGuard()
    verify_webhook_or_raise(
        payload=BODY, headers=headers(), secret=SECRET, now=SENT_AT, replay_guard=guard
    )
    assert reject(replay_guard=guard).reason == "replayed"


def test_never_the_secret_or_the_signature(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="inkbox")
    other = "whsec_another-secret-entirely"
    for kwargs in (
        {"secret": other},
        {"headers": headers(**{"X-Inkbox-Signature": SIGNATURE + "0"})},
        {"now": SENT_AT + 1000},
    ):
        error = reject(**kwargs)
        for secret_text in (SECRET, SECRET[6:], other, other[6:], SIGNATURE[7:]):
            assert secret_text not in str(error) and secret_text not in repr(error.args)
    assert SIGNATURE[7:] not in caplog.text and SECRET[6:] not in caplog.text


def test_verify_webhook_logs_one_debug_line_with_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="inkbox")
    reject(headers=headers(**{"X-Inkbox-Timestamp": None}))
    caplog.clear()
    assert not verify_webhook(
        payload=BODY, headers=headers(**{"X-Inkbox-Timestamp": None}), secret=SECRET
    )
    records = [r for r in caplog.records if r.name == "inkbox"]
    assert len(records) == 1
    assert records[0].levelno == logging.DEBUG
    assert "missing_header" in records[0].getMessage()
    assert "X-Inkbox-Timestamp" in records[0].getMessage()
    caplog.clear()
    assert verify_webhook(payload=BODY, headers=headers(), secret=SECRET, now=SENT_AT)
    assert not caplog.records


def test_argument_errors_are_still_argument_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="secret"):
        verify_webhook_or_raise(payload=BODY, headers=headers(), secret="whsec_")
    with pytest.raises(InvalidArgumentError, match="tolerance"):
        verify_webhook_or_raise(payload=BODY, headers=headers(), secret=SECRET, tolerance=-1)


def test_both_flavours_export_it() -> None:
    assert inkbox_sync.verify_webhook_or_raise is verify_webhook_or_raise
    assert inkbox_sync.WebhookVerificationError is WebhookVerificationError
    assert issubclass(WebhookVerificationError, InkboxError)
