"""Error mapping, retries, pagination and redaction on the engine's mock transport."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from inkbox_async import (
    AsyncCursorPager,
    AsyncInkbox,
    AuthenticationError,
    ConflictError,
    DedicatedIMessageNumberInventoryPendingError,
    DedicatedIMessageNumberQuotaExceededError,
    HandleUnavailableError,
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    IdentitySummary,
    InkboxAPIError,
    InkboxConnectionError,
    InkboxError,
    InternalServerError,
    MailImportQuotaExceededError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    RecipientBlockedError,
    RecipientNotOptedInError,
    RedundantContactAccessGrantError,
    SenderSmsPendingError,
    StorageLimitExceededError,
    UnprocessableEntityError,
)
from inkbox_async._tunnels import SIGN_CSR_TIMEOUT

KEY = "ApiKey_00000000-0000-0000-0000-000000000000.secret_topsecret"
SUMMARY = {
    "id": "eeee5555-0000-4000-8000-000000000000",
    "organization_id": "org-abc123",
    "agent_handle": "sales-agent",
    "display_name": "Sales Agent",
    "description": None,
    "email_address": "sales-agent@inkbox.ai",
    "created_at": "2026-03-09T00:00:00Z",
    "updated_at": "2026-03-09T00:00:00Z",
}
TUNNEL = {  # the summary the current service embeds: no org, state or cert fields
    "id": SUMMARY["id"],
    "tunnel_name": "sales-agent",
    "agent_identity_id": SUMMARY["id"],
    "tls_mode": "edge",
    "status": "active",
    "public_host": "sales-agent.inkboxwire.com",
    "zone": "inkboxwire.com",
    "created_at": "2026-03-09T00:00:00Z",
    "updated_at": "2026-03-09T00:00:00Z",
}
MAILBOX = {
    "id": "ffff6666-0000-4000-8000-000000000000",
    "email_address": "sales-agent@inkbox.ai",
    "created_at": "2026-03-09T00:00:00Z",
    "updated_at": "2026-03-09T00:00:00Z",
}
DETAIL = {**SUMMARY, "mailbox": MAILBOX, "tunnel": TUNNEL, "phone_number": None}

Handler = Callable[[httpx2.Request], httpx2.Response]


class Recorder:
    """A mock server: answers from a script and records what it was sent."""

    def __init__(self, *answers: httpx2.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(handler: Handler, **kwargs: Any) -> AsyncInkbox:
    return AsyncInkbox(
        KEY, base_url="https://api.test", transport=httpx2.MockTransport(handler), **kwargs
    )


def error(status: int, detail: Any, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json={"detail": detail}, headers=headers)


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        (401, "Invalid API key", AuthenticationError),
        (404, "not found", NotFoundError),
        (409, "Access already granted", ConflictError),
        (409, {"error": "redundant_grant", "detail": "wildcard"}, RedundantContactAccessGrantError),
        (409, {"error": "sender_sms_pending"}, SenderSmsPendingError),
        (
            403,
            {
                "error": "recipient_blocked",
                "matched_rule_id": None,
                "address": "+1555",
                "reason": "r",
            },
            RecipientBlockedError,
        ),
        (403, {"error": "recipient_not_opted_in", "message": "m"}, RecipientNotOptedInError),
        (
            422,
            [{"loc": ["body", "x"], "msg": "Field required", "type": "missing"}],
            UnprocessableEntityError,
        ),
        (500, "boom", InternalServerError),
        (418, "teapot", InkboxAPIError),
        (402, "Payment required", PaymentRequiredError),
        (
            402,
            {"error": "storage_limit_exceeded", "message": "m", "limit_bytes": 5},
            StorageLimitExceededError,
        ),
        (
            402,
            {"error": "dedicated_imessage_number_quota_exceeded", "limit": 1},
            DedicatedIMessageNumberQuotaExceededError,
        ),
        (409, {"error": "idempotency_key_reused", "message": "m"}, IdempotencyKeyReusedError),
        (409, {"error": "idempotency_in_progress", "message": "m"}, IdempotencyInProgressError),
        (429, {"error": "mail_import_quota_exceeded"}, MailImportQuotaExceededError),
        (
            503,
            {"error": "dedicated_imessage_number_inventory_pending"},
            DedicatedIMessageNumberInventoryPendingError,
        ),
    ],
)
async def test_error_map(status: int, detail: Any, expected: type[InkboxAPIError]) -> None:
    async with client(Recorder(error(status, detail)), max_retries=0) as inkbox:
        with pytest.raises(expected) as info:
            await inkbox.list_identities()
    assert type(info.value) is expected
    assert info.value.status_code == status and info.value.detail == detail
    assert isinstance(info.value, InkboxAPIError) and isinstance(info.value, InkboxError)


async def test_error_without_detail_carries_raw_text() -> None:
    async with client(
        Recorder(httpx2.Response(502, text="<html>bad gateway</html>")), max_retries=0
    ) as inkbox:
        with pytest.raises(InternalServerError) as info:
            await inkbox.whoami()
    assert info.value.detail == "<html>bad gateway</html>"


async def test_every_create_conflict_is_handle_unavailable() -> None:
    detail = {"error": "handle_unavailable", "detail": "taken", "blocking_namespace": "tunnels"}
    async with client(Recorder(error(409, detail))) as inkbox:
        with pytest.raises(HandleUnavailableError) as info:
            await inkbox.create_identity("sales-bot")
    assert info.value.blocking_namespace == "tunnels"
    answer = httpx2.Response(409, json={"detail": "plain", "agent_support": "Pick another."})
    async with client(Recorder(answer)) as inkbox:
        with pytest.raises(HandleUnavailableError) as plain:
            await inkbox.create_identity("sales-bot")
    assert plain.value.blocking_namespace is None
    assert plain.value.agent_support == "Pick another."


async def test_get_retried_on_503_honouring_retry_after() -> None:
    server = Recorder(
        error(503, "busy", **{"Retry-After": "0"}), httpx2.Response(200, json=[SUMMARY])
    )
    async with client(server) as inkbox:
        identities = await inkbox.list_identities()
    assert [i.agent_handle for i in identities] == ["sales-agent"]
    assert len(server.requests) == 2


async def test_retries_are_bounded() -> None:
    server = Recorder(error(503, "busy", **{"Retry-After": "0"}))
    async with client(server, max_retries=2) as inkbox:
        with pytest.raises(InternalServerError):
            await inkbox.list_identities()
    assert len(server.requests) == 3


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the org signing-key POST
async def test_post_not_retried_once_it_may_have_been_processed() -> None:
    for answer in (error(503, "busy", **{"Retry-After": "0"}), httpx2.ReadError("reset")):
        server = Recorder(answer)
        async with client(server) as inkbox:
            with pytest.raises((InternalServerError, InkboxConnectionError)):
                await inkbox.create_signing_key()
        assert len(server.requests) == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the org signing-key POST
async def test_post_retried_when_never_sent_or_refused() -> None:
    key = {"signing_key": "whsec_abc", "created_at": "2026-03-09T00:00:00Z"}
    for first in (httpx2.ConnectError("refused"), error(429, "slow down", **{"Retry-After": "0"})):
        server = Recorder(first, httpx2.Response(201, json=key))
        async with client(server) as inkbox:
            assert (await inkbox.create_signing_key()).signing_key == "whsec_abc"
        assert len(server.requests) == 2


async def test_retry_after_too_long_is_not_waited_for() -> None:
    server = Recorder(error(429, "later", **{"Retry-After": "3600"}))
    async with client(server) as inkbox:
        with pytest.raises(RateLimitError):
            await inkbox.list_identities()
    assert len(server.requests) == 1


async def test_connection_error_is_typed() -> None:
    async with client(Recorder(httpx2.ConnectError("refused")), max_retries=0) as inkbox:
        with pytest.raises(InkboxConnectionError) as info:
            await inkbox.whoami()
    assert info.value.request_sent is False


async def test_request_shape_and_escaping() -> None:
    detail = DETAIL
    server = Recorder(httpx2.Response(200, json=detail))
    async with client(server) as inkbox:
        await inkbox.get_identity("@sales-agent")
    request = server.requests[0]
    assert request.url.raw_path == b"/api/v1/identities/@sales-agent"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["accept"] == "application/json"


async def test_pager_walks_cursors_one_page_at_a_time() -> None:
    pages = {
        None: {"items": [SUMMARY] * 2, "next_cursor": "c1", "has_more": True},
        "c1": {"items": [SUMMARY], "next_cursor": None, "has_more": False},
    }
    seen: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        cursor = request.url.params.get("cursor")
        seen.append(cursor)
        assert request.url.params["limit"] == "2"
        return httpx2.Response(200, json=pages[cursor])

    async with client(handler) as inkbox:
        pager = AsyncCursorPager(inkbox._requester, "/items", IdentitySummary, page_size=2)
        items = [item async for item in pager]
    assert len(items) == 3 and seen == [None, "c1"]


async def test_pager_refuses_to_loop_forever() -> None:
    page: dict[str, object] = {"items": [], "next_cursor": None, "has_more": True}
    async with client(Recorder(httpx2.Response(200, json=page))) as inkbox:
        with pytest.raises(InkboxError, match="without a new cursor"):
            async for _ in AsyncCursorPager(inkbox._requester, "/items", IdentitySummary):
                pass


async def test_unknown_fields_and_values_are_tolerated() -> None:
    body = {
        **DETAIL,
        "brand_new": {"x": 1},
        "tunnel": {
            **TUNNEL,
            "tls_mode": "quantum",
            "status": "hibernating",
            "public_host": "t.z",
            "later": True,
        },
    }
    async with client(Recorder(httpx2.Response(200, json=body))) as inkbox:
        identity = await inkbox.get_identity("sales-agent")
    assert identity.detail.extra == {"brand_new": {"x": 1}}
    assert identity.tunnel is not None
    assert (identity.tunnel.tls_mode, identity.tunnel.status) == ("quantum", "hibernating")
    assert identity.tunnel.public_url == "https://t.z"
    assert identity.tunnel.extra == {"later": True}
    assert identity.detail.imessage_enabled is False  # absent: the service's default


async def test_error_keeps_agent_support_and_retry_after() -> None:
    body = {"detail": {"error": "x"}, "agent_support": "Escalate to support with id 7."}
    answer = httpx2.Response(429, json=body, headers={"Retry-After": "3600", "X-Request-Id": "r"})
    async with client(Recorder(answer)) as inkbox:
        with pytest.raises(RateLimitError) as info:
            await inkbox.list_identities()
    assert info.value.agent_support == "Escalate to support with id 7."
    assert info.value.retry_after == 3600.0
    assert info.value.request_id == "r"
    assert info.value.idempotency_key is None  # not a send
    for support in ("", 7, None):
        odd = httpx2.Response(400, json={"detail": "d", "agent_support": support})
        async with client(Recorder(odd)) as inkbox:
            with pytest.raises(InkboxAPIError) as plain:
                await inkbox.whoami()
        assert plain.value.agent_support is None


MESSAGE = {
    "id": "aaaa1111-0000-4000-8000-000000000000",
    "mailbox_id": "bbbb1111-0000-4000-8000-000000000000",
    "from_address": "a@inkbox.ai",
    "direction": "outbound",
    "status": "sent",
    "created_at": "2026-03-09T00:00:00Z",
}


async def send(inkbox: AsyncInkbox, **kwargs: Any) -> Any:
    return await inkbox.messages.send(
        "a@inkbox.ai", to=["b@example.com"], subject="s", body_text="t", **kwargs
    )


def keys(server: Recorder) -> list[str]:
    return [r.headers["idempotency-key"] for r in server.requests]


async def test_keyed_send_retried_after_a_lost_answer_with_the_same_key() -> None:
    server = Recorder(httpx2.ReadError("reset"), httpx2.Response(200, json=MESSAGE))
    async with client(server) as inkbox:
        sent = await send(inkbox)
    assert str(sent.id) == MESSAGE["id"]
    assert len(server.requests) == 2
    first, second = keys(server)
    assert first == second and len(first) == 36
    assert all(r.headers["prefer"] == "idempotency-replay" for r in server.requests)


@pytest.mark.parametrize(
    "first",
    [
        error(409, {"error": "idempotency_in_progress"}, **{"Retry-After": "0"}),
        error(503, "busy", **{"Retry-After": "0"}),
    ],
)
async def test_keyed_send_retried_while_in_progress_or_unavailable(
    first: httpx2.Response,
) -> None:
    server = Recorder(first, httpx2.Response(200, json=MESSAGE))
    async with client(server) as inkbox:
        await send(inkbox)
    assert len(set(keys(server))) == 1 and len(server.requests) == 2


async def test_keyed_send_errors_carry_the_key_and_are_not_retried() -> None:
    server = Recorder(error(409, {"error": "idempotency_key_reused", "message": "m"}))
    async with client(server) as inkbox:
        with pytest.raises(IdempotencyKeyReusedError) as info:
            await send(inkbox, idempotency_key="order-42")
    assert info.value.idempotency_key == "order-42"
    assert info.value.message == "m"
    assert keys(server) == ["order-42"]
    dropped = Recorder(httpx2.ReadError("reset"))
    async with client(dropped, max_retries=1) as inkbox:
        with pytest.raises(InkboxConnectionError) as lost:
            await send(inkbox)
    assert lost.value.idempotency_key == keys(dropped)[0] == keys(dropped)[1]


async def test_every_send_call_gets_its_own_key() -> None:
    server = Recorder(httpx2.Response(200, json=MESSAGE))
    async with client(server) as inkbox:
        await send(inkbox)
        await send(inkbox)
        await inkbox.messages.forward("a@inkbox.ai", MESSAGE["id"], to=["c@example.com"])
        await inkbox.messages.reply_all("a@inkbox.ai", MESSAGE["id"], body_text="r")
    assert len(set(keys(server))) == 4


async def test_secrets_never_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    server = Recorder(error(503, "busy", **{"Retry-After": "0"}), httpx2.Response(200, json=[]))
    with caplog.at_level(logging.DEBUG, logger="inkbox"):
        async with client(server) as inkbox:
            await inkbox.list_identities()
            assert "topsecret" not in repr(inkbox)
    assert caplog.records
    assert all("topsecret" not in r.getMessage() for r in caplog.records)


async def test_patch_body_is_exact() -> None:
    detail = DETAIL
    server = Recorder(httpx2.Response(200, json=detail), httpx2.Response(200, json=SUMMARY))
    async with client(server) as inkbox:
        identity = await inkbox.get_identity("sales-agent")
        await identity.update(description=None)
    assert json.loads(server.requests[1].content) == {"description": None}
    # a summary-only answer (the older wire) keeps the cached channels
    assert identity.tunnel.public_host == TUNNEL["public_host"]
    assert identity.mailbox.email_address == identity.email_address == MAILBOX["email_address"]


async def test_malformed_response_is_an_inkbox_error() -> None:
    for body in ([{"id": "not-a-uuid"}], {"unexpected": True}, [1, 2]):
        async with client(Recorder(httpx2.Response(200, json=body))) as inkbox:
            with pytest.raises(InkboxError, match="unexpected response shape"):
                await inkbox.list_identities()


async def test_identity_without_mailbox_or_tunnel_is_a_clear_error() -> None:
    for channel in ("mailbox", "tunnel"):
        for broken in (
            {**DETAIL, channel: None},
            {k: v for k, v in DETAIL.items() if k != channel},
        ):
            async with client(Recorder(httpx2.Response(200, json=broken))) as inkbox:
                with pytest.raises(
                    InkboxError, match="unexpected response shape for IdentityDetail"
                ):
                    await inkbox.get_identity("sales-agent")


async def test_identity_address_comes_from_its_mailbox_when_the_summary_has_none() -> None:
    for answer in (
        {**DETAIL, "email_address": None},
        {k: v for k, v in DETAIL.items() if k != "email_address"},
    ):
        async with client(Recorder(httpx2.Response(200, json=answer))) as inkbox:
            identity = await inkbox.get_identity("sales-agent")
        assert identity.email_address == identity.detail.email_address == MAILBOX["email_address"]


async def test_identity_without_phone_number_is_a_clear_error() -> None:
    server = Recorder(httpx2.Response(200, json=DETAIL))
    async with client(server) as inkbox:
        identity = await inkbox.get_identity("sales-agent")
        with pytest.raises(InkboxError, match="no phone number"):
            await identity.release_phone_number()
    assert len(server.requests) == 1


async def test_attachment_redirect_returns_the_location() -> None:
    server = Recorder(httpx2.Response(302, headers={"Location": "https://files.test/a?sig=1"}))
    async with client(server) as inkbox:
        link = await inkbox.messages.get_attachment(
            "a@b.com", "eeee5555-0000-4000-8000-000000000000", "report #1.pdf", redirect=True
        )
    assert link.url == "https://files.test/a?sig=1"
    request = server.requests[0]
    assert request.url.raw_path.endswith(b"/attachments/report%20%231.pdf?redirect=true")


async def test_pager_fetches_lazily() -> None:
    page = {"items": [SUMMARY] * 2, "next_cursor": "more", "has_more": True}
    server = Recorder(httpx2.Response(200, json=page))
    async with client(server) as inkbox:
        async for _ in AsyncCursorPager(inkbox._requester, "/items", IdentitySummary, page_size=2):
            break
    assert len(server.requests) == 1


async def test_sticky_session_cookies_are_replayed_across_resources() -> None:
    seen: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers.get("cookie"))
        return httpx2.Response(200, json=[], headers={"Set-Cookie": "AWSALB=sticky; Path=/"})

    async with client(handler) as inkbox:
        await inkbox.list_identities()
        await inkbox.mailboxes.list()
    assert seen == [None, "AWSALB=sticky"]


async def test_requests_carry_the_headers_and_timeouts_the_wire_expects() -> None:
    server = Recorder(httpx2.Response(200, json=[]))
    async with client(server, timeout=7.5) as inkbox:
        await inkbox.list_identities()
    request = server.requests[0]
    assert list(request.headers.keys()) == [
        "host",
        "accept-encoding",
        "connection",
        "accept",
        "user-agent",
        "x-api-key",
    ]
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert request.headers["connection"] == "keep-alive"
    assert request.headers["host"] == "api.test"
    assert request.extensions["timeout"] == dict.fromkeys(("connect", "read", "write", "pool"), 7.5)


async def test_a_call_with_its_own_timeout_sends_it() -> None:
    signed = {
        "cert_pem": "cert",
        "chain_pem": "chain",
        "cert_fingerprint_sha256": "ab" * 32,
        "cert_expires_at": "2027-03-09T00:00:00Z",
    }
    server = Recorder(httpx2.Response(200, json=signed), httpx2.Response(200, json=[]))
    csr = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
    async with client(server, timeout=7.5) as inkbox:
        await inkbox.tunnels.sign_csr(SUMMARY["id"], csr_pem=csr)
        await inkbox.list_identities()
    sign, listing = (r.extensions["timeout"] for r in server.requests)
    assert sign == dict.fromkeys(("connect", "read", "write", "pool"), SIGN_CSR_TIMEOUT)
    assert listing["read"] == 7.5


async def test_compressed_answers_are_decoded() -> None:
    body = gzip.compress(json.dumps([SUMMARY]).encode())
    server = Recorder(httpx2.Response(200, content=body, headers={"Content-Encoding": "gzip"}))
    async with client(server) as inkbox:
        (identity,) = await inkbox.list_identities()
    assert identity.agent_handle == "sales-agent"


async def test_an_answer_that_does_not_decompress_is_a_connection_error() -> None:
    def broken() -> httpx2.Response:
        return httpx2.Response(
            200, stream=httpx2.ByteStream(b"not gzip"), headers={"Content-Encoding": "gzip"}
        )

    server = Recorder(broken(), httpx2.Response(200, json=[SUMMARY]))
    async with client(server) as inkbox:
        (identity,) = await inkbox.list_identities()  # a GET: retried
    assert identity.agent_handle == "sales-agent"
    async with client(Recorder(broken()), max_retries=0) as inkbox:
        with pytest.raises(InkboxConnectionError, match="could not be decoded") as raised:
            await inkbox.list_identities()
    assert raised.value.request_sent


async def test_response_headers_reach_errors_with_repeated_ones_joined() -> None:
    answer = httpx2.Response(
        429,
        json={"detail": "slow down"},
        headers=[("Retry-After", "0"), ("X-Request-Id", "req-1"), ("X-Request-Id", "req-2")],
    )
    async with client(Recorder(answer), max_retries=0) as inkbox:
        with pytest.raises(RateLimitError) as raised:
            await inkbox.list_identities()
    assert raised.value.request_id == "req-1, req-2"


async def test_legacy_calls_list_of_a_number_without_identity_refuses() -> None:
    number = {"id": MAILBOX["id"], "agent_identity_id": None}
    server = Recorder(httpx2.Response(200, json=number), httpx2.Response(200, json=[]))
    async with client(server) as inkbox:
        with (
            pytest.warns(DeprecationWarning),
            pytest.raises(InkboxError, match="belongs to no agent identity"),
        ):
            await inkbox.calls.list(phone_number_id=MAILBOX["id"])
    assert [r.url.path for r in server.requests] == [f"/api/v1/phone/numbers/{MAILBOX['id']}"]
