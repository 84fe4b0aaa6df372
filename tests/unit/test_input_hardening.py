"""Issue 14: bad input is refused before any request, and secrets never show (defects 3, 4, 6, 8, 9).

Every client here sends through a recording mock transport: an empty
``requests`` list proves a refused call never reached the network.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from inkbox_async import InkboxConnectionError, InvalidArgumentError
from inkbox_async._requester import AsyncRequester
from inkbox_async._webhooks import ReplayGuard, sign_webhook, verify_webhook
from inkbox_sync import Inkbox

KEY = "ApiKey_5b1e0c8a-2f4d-4c69-9d1e-7a3f0b6c2e91.secret_Zq8wL2vN4xR7tY1u"
TUNNEL_ID = "3f0c2a9e-5d4b-4e8f-9a1c-7b6d5e4f3a2b"
MESSAGE_ID = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
NAN, INF = float("nan"), float("inf")


@pytest.fixture
def requests() -> list[httpx2.Request]:
    return []


@pytest.fixture
def client(requests: list[httpx2.Request]) -> Iterator[Inkbox]:
    def answer(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        return httpx2.Response(200, json={})

    with Inkbox(KEY, base_url="https://inkbox.ai", transport=httpx2.MockTransport(answer)) as c:
        yield c


def refused(call: Callable[[], object], argument: str) -> InvalidArgumentError:
    """``call`` raises InvalidArgumentError naming ``argument`` (or a member of it)."""
    with pytest.raises(InvalidArgumentError) as info:
        call()
    assert info.value.argument == argument or info.value.argument.startswith(
        (f"{argument}[", f"{argument}.", f"{argument} ")
    ), info.value.argument
    return info.value


# --- defect 3 and 8: API keys and other credentials ----------------------------------------

BAD_KEYS = [
    pytest.param(f" {KEY}", id="leading-space"),
    pytest.param(f"{KEY}\n", id="trailing-newline"),
    pytest.param(f"\t{KEY} ", id="tab-and-space"),
    pytest.param(f"{KEY[:20]} {KEY[20:]}", id="inner-space"),
    pytest.param(f"{KEY}\u00e9", id="non-ascii"),
    pytest.param(f"{KEY}\x7f", id="del"),
    pytest.param(f"{KEY}\x00", id="nul"),
    pytest.param(f"{KEY}\u200b", id="zero-width-space"),
    pytest.param(f"{KEY}\ud800", id="lone-surrogate"),
]


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_a_mangled_api_key_is_refused_without_showing_it(bad: str) -> None:
    from inkbox_async import AsyncInkbox

    for flavour in (Inkbox, AsyncInkbox):
        error = refused(lambda f=flavour: f(api_key=bad), "api_key")  # type: ignore[misc]
        assert KEY not in str(error) and KEY[20:] not in str(error)


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_a_mangled_key_in_the_environment_is_refused(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the environment holds neither NUL nor a lone surrogate: another control, another letter
    bad = bad.replace("\x00", "\x01").replace("\ud800", "\u00e9")
    monkeypatch.setenv("INKBOX_API_KEY", bad)
    error = refused(lambda: Inkbox(), "api_key")
    assert "INKBOX_API_KEY" in str(error) and KEY[20:] not in str(error)


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_signup_calls_refuse_a_mangled_key_before_sending(
    bad: str, requests: list[httpx2.Request]
) -> None:
    transport = httpx2.MockTransport(lambda r: requests.append(r) or httpx2.Response(200))  # type: ignore[func-returns-value]
    for call in (
        lambda: Inkbox.verify_signup(bad, "123456", transport=transport),
        lambda: Inkbox.resend_signup_verification(bad, transport=transport),
        lambda: Inkbox.get_signup_status(bad, transport=transport),
    ):
        error = refused(call, "api_key")
        assert KEY[20:] not in str(error)
    assert requests == []


def test_a_webhook_bearer_token_is_a_credential(
    client: Inkbox, requests: list[httpx2.Request]
) -> None:
    for bad in (" t0ken", "t0k\r\nX-Evil: 1", "t0k\u00e9n"):
        refused(
            lambda b=bad: client.webhooks.subscriptions.create(  # type: ignore[misc]
                "https://example.com/hook",
                ["message.received"],
                mailbox_id=MESSAGE_ID,
                auth_token=b,
            ),
            "auth_token",
        )
    assert requests == []


def test_the_key_is_masked_in_connection_errors_and_retry_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The HTTP library may quote the key (e.g. h11's "Illegal header value b'...'")."""

    def fail(request: httpx2.Request) -> httpx2.Response:
        value = request.headers["x-api-key"]
        raise httpx2.RemoteProtocolError(f"Illegal header value b' {value} ' near {value}")

    caplog.set_level(logging.DEBUG)
    mock = httpx2.MockTransport(fail)
    with (
        Inkbox(KEY, base_url="https://inkbox.ai", max_retries=1, transport=mock) as c,
        pytest.raises(InkboxConnectionError) as info,
    ):
        c.list_identities()
    assert KEY not in str(info.value) and "***" in str(info.value)
    assert "retrying" in caplog.text and KEY not in caplog.text


def test_redaction_covers_the_key_as_given_and_stripped() -> None:
    from inkbox_async._logging import register_secret, scrub

    given = "  sk_live_4f9a8b7c6d5e  \n"
    register_secret(given)
    for shown in (given, given.strip(), f"key={given.strip()}!"):
        assert given.strip() not in scrub(shown)
    # any value of a secret header, and any value h11/h2 refuse to send
    assert "whatever" not in scrub("(b'X-API-Key', b'whatever')")
    assert "whatever" not in scrub("(b'authorization', b'Bearer whatever')")
    assert "whatever" not in scrub("LocalProtocolError(\"Illegal header value b' whatever '\")")
    assert scrub("a short k stays") == "a short k stays"  # short test keys are not registered


def test_the_inkbox_logger_masks_registered_secrets(caplog: pytest.LogCaptureFixture) -> None:
    import inkbox_async._engine  # noqa: F401 - attaches the filters
    from inkbox_async._logging import register_secret

    register_secret(KEY)
    caplog.set_level(logging.INFO, logger="inkbox")
    logging.getLogger("inkbox").info("failed (%s)", f"header {KEY}")
    assert KEY not in caplog.text and "***" in caplog.text


# --- defect 4: free-form JSON ------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {"a": NAN},
        {"a": INF},
        {"a": [1, {"b": -INF}]},
        {"a": "x\ud800"},
        {"\udfff": 1},
        {1: "non-string key"},
        {"a": {1, 2}},
        {"a": 2**64},
    ],
    ids=["nan", "inf", "nested-inf", "surrogate", "surrogate-key", "int-key", "set", "huge-int"],
)
def test_tunnel_metadata_must_be_strict_json(
    metadata: dict[Any, Any], client: Inkbox, requests: list[httpx2.Request]
) -> None:
    refused(lambda: client.tunnels.update(TUNNEL_ID, metadata=metadata), "metadata")
    assert requests == []


def test_good_metadata_is_sent_as_given(client: Inkbox, requests: list[httpx2.Request]) -> None:
    metadata = {"a": [1, 2.5, None, True], "b": {"c": "\u00e9\U0001f600"}}
    with contextlib.suppress(Exception):  # the mock's {} is not a tunnel; the request matters
        client.tunnels.update(TUNNEL_ID, metadata=metadata)
    assert len(requests) == 1
    assert json.loads(requests[0].content) == {"metadata": metadata}


def test_contact_fields_given_as_dicts_must_be_strict_json(
    client: Inkbox, requests: list[httpx2.Request]
) -> None:
    refused(
        lambda: client.contacts.create(
            given_name="Ada", custom_fields=[{"label": "score", "value": NAN}]
        ),
        "custom_fields",
    )
    assert requests == []


def test_the_serialiser_never_emits_nan_or_raises_a_raw_error() -> None:
    from inkbox_async._wire import json_body

    assert json_body({"a": 1.5, "b": "\u00e9"}) == '{"a":1.5,"b":"\u00e9"}'.encode()
    for bad in ({"a": NAN}, {"a": INF}, ["\ud800"]):
        refused(lambda b=bad: json_body(b), "request body")  # type: ignore[misc]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_transport_refuses_a_non_json_body_before_sending() -> None:
    sent: list[httpx2.Request] = []

    async def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, json={})

    requester = AsyncRequester(
        base_url="https://inkbox.ai",
        api_key=KEY,
        timeout=5,
        max_retries=0,
        transport=httpx2.MockTransport(answer),
    )
    with pytest.raises(InvalidArgumentError):
        await requester.request("PATCH", "/x", json={"metadata": {"a": NAN}})
    with pytest.raises(InvalidArgumentError):
        await requester.request("PATCH", "/x", json={"metadata": {"a": "\ud800"}})
    await requester.aclose()
    assert sent == []


def test_json_value_limits_nesting() -> None:
    from inkbox_async._validate import json_value

    deep: Any = 1
    for _ in range(100):
        deep = [deep]
    refused(lambda: json_value("metadata", deep), "metadata")


# --- defect 6 and 8: header-like fields, recipients, lone surrogates ----------------------

CRLF = "Hi\r\nBcc: victim@example.com"


def _send(client: Inkbox, **overrides: Any) -> Callable[[], object]:
    kwargs: dict[str, Any] = {"to": ["a@example.com"], "subject": "Hi", "body_text": "x"}
    kwargs.update(overrides)
    return lambda: client.messages.send("agent@inkboxmail.com", **kwargs)


@pytest.mark.parametrize(
    ("overrides", "argument"),
    [
        ({"subject": CRLF}, "subject"),
        ({"subject": "Hi\nthere"}, "subject"),
        ({"subject": "Hi\x85there"}, "subject"),  # NEL, a C1 line break
        ({"in_reply_to_message_id": "<a@b.com>\r\nBcc: v@example.com"}, "in_reply_to_message_id"),
        ({"to": ["a\x00@example.com"]}, "to"),
        ({"to": ["a@example.com\r\n"]}, "to"),
        ({"cc": ["a@exam\x7fple.com"]}, "cc"),
        ({"bcc": ["\ud800@example.com"]}, "bcc"),
        (
            {
                "attachments": [
                    {"filename": "a\r\n.txt", "content_type": "text/plain", "content_base64": ""}
                ]
            },
            "attachments",
        ),
        (
            {
                "attachments": [
                    {
                        "filename": "a.txt",
                        "content_type": "text/plain\r\nX: 1",
                        "content_base64": "",
                    }
                ]
            },
            "attachments",
        ),
        ({"subject": "Hi \ud83d"}, "subject"),
        ({"body_text": "lone \udc00 surrogate"}, "body_text"),
        ({"body_html": "<p>\x00</p>"}, "body_html"),
    ],
)
def test_send_refuses_header_injection_and_unsendable_text(
    overrides: dict[str, Any], argument: str, client: Inkbox, requests: list[httpx2.Request]
) -> None:
    refused(_send(client, **overrides), argument)
    assert requests == []


def test_reply_and_forward_refuse_header_injection(
    client: Inkbox, requests: list[httpx2.Request]
) -> None:
    box = "agent@inkboxmail.com"
    refused(lambda: client.messages.reply_all(box, MESSAGE_ID, subject=CRLF), "subject")
    refused(
        lambda: client.messages.reply_all(box, MESSAGE_ID, reply_to="a@b.com\r\nBcc: c@d.com"),
        "reply_to",
    )
    refused(
        lambda: client.messages.forward(box, MESSAGE_ID, to=["a@b.com"], subject=CRLF), "subject"
    )
    refused(
        lambda: client.messages.forward(box, MESSAGE_ID, to=["a@b.com"], reply_to="x\n@b.com"),
        "reply_to",
    )
    assert requests == []


def test_identity_names_are_single_line(client: Inkbox, requests: list[httpx2.Request]) -> None:
    refused(lambda: client.create_identity("agent-one", display_name=CRLF), "display_name")
    refused(
        lambda: client.create_identity("agent-one", email_local_part="a\r\nb"), "email_local_part"
    )
    assert requests == []


def test_a_lone_surrogate_in_a_query_is_an_argument_error(
    client: Inkbox, requests: list[httpx2.Request]
) -> None:
    refused(lambda: client.mailboxes.search("agent@inkboxmail.com", q="x\ud800"), "q")
    assert requests == []


def test_sendable_text_keeps_newlines_where_they_belong() -> None:
    from inkbox_async._validate import sendable

    assert sendable("body_text", "line one\r\nline two\t\u00e9") == "line one\r\nline two\t\u00e9"
    refused(lambda: sendable("body_text", "a\x00b"), "body_text")
    assert sendable("subject", "a\tb", single_line=True) == "a\tb"  # tab is header whitespace
    refused(lambda: sendable("subject", "a\x0bb", single_line=True), "subject")


# --- defect 9: webhook verification with non-finite numbers -------------------------------


def _day_old_delivery() -> tuple[bytes, dict[str, str]]:
    timestamp = str(int(time.time()) - 86_400)
    payload = b'{"event_type":"message.received"}'
    signature = sign_webhook(
        payload=payload, secret="whsec_k3y", request_id="r1", timestamp=timestamp
    )
    headers = {
        "X-Inkbox-Signature": signature,
        "X-Inkbox-Request-ID": "r1",
        "X-Inkbox-Timestamp": timestamp,
    }
    return payload, headers


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"tolerance": NAN}, "tolerance"),
        ({"tolerance": INF}, "tolerance"),
        ({"now": NAN}, "now"),
        ({"now": -INF}, "now"),
        ({"now": "today"}, "now"),
        ({"tolerance": "300"}, "tolerance"),
    ],
)
def test_verify_webhook_refuses_non_finite_numbers(kwargs: dict[str, Any], argument: str) -> None:
    payload, headers = _day_old_delivery()
    refused(
        lambda: verify_webhook(payload=payload, headers=headers, secret="whsec_k3y", **kwargs),
        argument,
    )


def test_a_day_old_delivery_is_stale() -> None:
    payload, headers = _day_old_delivery()
    assert not verify_webhook(payload=payload, headers=headers, secret="whsec_k3y")
    assert verify_webhook(payload=payload, headers=headers, secret="whsec_k3y", tolerance=None)
    assert verify_webhook(
        payload=payload, headers=headers, secret="whsec_k3y", now=time.time() - 86_400
    )


def test_replay_guard_window_must_be_finite() -> None:
    refused(lambda: ReplayGuard(NAN), "window")
    refused(lambda: ReplayGuard(-1), "window")
