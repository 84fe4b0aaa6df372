"""The webhook signer reproduces the worked examples of webhooks.md §8.5."""

from __future__ import annotations

import hashlib
from pathlib import Path

from inkbox_emulator import signing_headers
from inkbox_emulator.webhooks.signing import sign, signature

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SECRET = "whsec_c2lnbmluZy1rZXktZXhhbXBsZQ"
REQUEST_ID = "5f0c6a2e-8d1b-4c7e-9a3f-2b6d8e1f4c90"
TIMESTAMP = "1775845457"
BODY = (
    b'{"event_type":"text.received","timestamp":"2026-04-10T18:24:17.038Z","data":'
    b'{"text_message":{"id":"7b3c6e3d-5c20-41ee-8cde-9b1ad1d4e9c0"},"contact":null}}'
)


def test_first_vector() -> None:
    assert len(BODY) == 154
    assert hashlib.sha256(BODY).hexdigest() == (
        "11133d1e874ec4e46981f20e7c112bad8f4b58fc07e551f400a9c919d0d230e7"
    )
    expected = "sha256=3b346899008ac3069c3c68e518dd97202bcba3a987a79d59898e71bffc69405b"
    assert signature(SECRET, REQUEST_ID, TIMESTAMP, BODY) == expected
    # the prefix is optional and only one is stripped
    assert signature(SECRET.removeprefix("whsec_"), REQUEST_ID, TIMESTAMP, BODY) == expected
    assert signature("whsec_" + SECRET, REQUEST_ID, TIMESTAMP, BODY) != expected


def test_second_vector_fixture_file() -> None:
    body = (FIXTURES / "webhook_payloads" / "text_received.json").read_bytes()
    assert hashlib.sha256(body).hexdigest() == (
        "04496d8be996e2090e86685ad0249223744ab57471dc23f435d388db69af3356"
    )
    assert signature(SECRET, REQUEST_ID, TIMESTAMP, body) == (
        "sha256=0964d20708583816dc4ac3667f2b3f0229789a9e6dab578eb8c0f025ed723fa0"
    )


def test_headers() -> None:
    headers = signing_headers(SECRET, BODY, request_id=REQUEST_ID, timestamp=int(TIMESTAMP))
    assert headers == {
        "X-Inkbox-Request-ID": REQUEST_ID,
        "X-Inkbox-Timestamp": TIMESTAMP,
        "X-Inkbox-Signature": (
            "sha256=3b346899008ac3069c3c68e518dd97202bcba3a987a79d59898e71bffc69405b"
        ),
    }
    fresh = signing_headers(SECRET, BODY)
    assert fresh["X-Inkbox-Timestamp"].isdigit()
    assert fresh["X-Inkbox-Signature"] == signature(
        SECRET, fresh["X-Inkbox-Request-ID"], fresh["X-Inkbox-Timestamp"], BODY
    )
    assert sign(None, BODY) == {}
