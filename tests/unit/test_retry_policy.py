"""The retry policy's edges: what a caller is told after an attempt that may have acted."""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import httpx2
import pytest

from inkbox_async import (
    ConflictError,
    InkboxConnectionError,
    InternalServerError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    _retry,
)
from inkbox_async._errors import InkboxAPIError, InkboxError
from inkbox_async._requester import AsyncRequester, Verifier
from inkbox_async._retry import Outcome, Verified, settle

KEY = "ApiKey_00000000-0000-0000-0000-000000000000.secret_topsecret"
HASH = "ab" * 32
LOST = httpx2.RemoteProtocolError("Server disconnected without sending a response.")


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_DELAY", 0.0)


def answer(status: int, body: Any = None, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json={"detail": body or "x"}, headers=headers)


class Script:
    """A mock server answering from a list (the last answer repeats), recording requests."""

    def __init__(self, *answers: httpx2.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, str]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append((request.method, request.url.path))
        item = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(item, Exception):
            raise item
        return item


def requester(script: Script, max_retries: int = 2) -> AsyncRequester:
    return AsyncRequester(
        base_url="https://api.test",
        api_key=KEY,
        timeout=5.0,
        max_retries=max_retries,
        transport=httpx2.MockTransport(script),
    )


def connection(request_sent: bool) -> InkboxConnectionError:
    return InkboxConnectionError("lost", request_sent=request_sent)


def api(status: int, code: str | None = None) -> InkboxAPIError:
    return InkboxAPIError(status, {"error": code} if code else "x")


@pytest.mark.parametrize(
    ("method", "failure", "uncertain", "keyed", "verifiable", "expected"),
    [
        ("GET", connection(True), True, False, False, Outcome.FAILED),
        ("PUT", api(403), False, False, True, Outcome.FAILED),
        ("DELETE", api(404), True, False, False, Outcome.DONE),
        ("DELETE", api(404), False, False, False, Outcome.FAILED),
        ("DELETE", api(409), True, False, False, Outcome.FAILED),
        ("PUT", api(403), True, False, True, Outcome.VERIFY),
        ("POST", connection(True), True, False, True, Outcome.VERIFY),
        ("PATCH", api(409), True, False, False, Outcome.FAILED),
        ("PATCH", api(503), True, False, False, Outcome.UNKNOWN),
        ("PATCH", api(500), True, False, False, Outcome.UNKNOWN),
        ("POST", api(500), True, True, False, Outcome.UNKNOWN),
        ("POST", api(500), False, True, False, Outcome.FAILED),
        ("PATCH", connection(True), True, False, False, Outcome.UNKNOWN),
        ("POST", connection(True), True, False, False, Outcome.UNKNOWN),
        ("POST", api(502), True, False, False, Outcome.UNKNOWN),
        ("POST", api(422), True, True, False, Outcome.FAILED),
        ("POST", api(409, "idempotency_in_progress"), True, True, False, Outcome.UNKNOWN),
    ],
)
def test_settle(
    method: str,
    failure: InkboxError,
    uncertain: bool,
    keyed: bool,
    verifiable: bool,
    expected: Outcome,
) -> None:
    got = settle(method, failure, uncertain=uncertain, keyed=keyed, verifiable=verifiable)
    assert got is expected


def test_what_may_have_taken_effect() -> None:
    assert _retry.may_have_taken_effect(connection(True))
    assert not _retry.may_have_taken_effect(connection(False))
    assert _retry.may_have_taken_effect(api(502)) and _retry.may_have_taken_effect(api(504))
    for refusal in (429, 503, 500, 404):
        assert not _retry.may_have_taken_effect(api(refusal))


def check(found: Verified | None) -> Verifier:
    async def verify() -> Verified | None:
        return found

    return verify


async def test_put_refused_on_the_retry_is_checked_and_reported_done() -> None:
    script = Script(LOST, answer(403))
    async with aclosing(requester(script)) as t:
        got = await t.request("PUT", "/k", json={}, verify=check(Verified({"id": "new"})))
    assert got == {"id": "new"}
    assert script.requests == [("PUT", "/k"), ("PUT", "/k")]


async def test_put_refused_on_the_retry_and_not_done_keeps_the_refusal() -> None:
    async with aclosing(requester(Script(LOST, answer(403)))) as t:
        with pytest.raises(PermissionDeniedError):
            await t.request("PUT", "/k", json={}, verify=check(None))


async def test_a_check_that_fails_is_outcome_unknown() -> None:
    async def broken() -> Verified | None:
        raise InkboxConnectionError("down", request_sent=False)

    async with aclosing(requester(Script(LOST, answer(403)))) as t:
        with pytest.raises(OutcomeUnknownError, match="checking it failed") as info:
            await t.request("PUT", "/k", json={}, verify=broken)
    assert isinstance(info.value.__cause__, PermissionDeniedError)


async def test_patch_retry_answer_stands_and_lost_answers_are_unknown() -> None:
    async with aclosing(requester(Script(LOST, answer(409)))) as t:
        with pytest.raises(ConflictError):
            await t.request("PATCH", "/p", json={})
    script = Script(LOST)
    path = f"/api/v1/vault/keys/{HASH}"
    async with aclosing(requester(script)) as t:
        with pytest.raises(OutcomeUnknownError) as info:
            await t.request("PATCH", path, json={})
    assert len(script.requests) == 3
    error = info.value
    assert (error.method, error.path, error.request_sent) == (
        "PATCH",
        "/api/v1/vault/keys/***",
        True,
    )
    assert HASH not in str(error) and KEY not in str(error)
    assert isinstance(error.__cause__, InkboxConnectionError)


async def test_delete_404_is_done_only_after_an_attempt_that_may_have_acted() -> None:
    for first in (LOST, answer(502), answer(504)):
        async with aclosing(requester(Script(first, answer(404)))) as t:
            assert await t.request("DELETE", "/d") is None
    for first in (answer(503, **{"Retry-After": "0"}), answer(429, **{"Retry-After": "0"})):
        async with aclosing(requester(Script(first, answer(404)))) as t:
            with pytest.raises(NotFoundError):
                await t.request("DELETE", "/d")
    async with aclosing(requester(Script(answer(404)))) as t:
        with pytest.raises(NotFoundError):
            await t.request("DELETE", "/d")


async def test_reads_and_refusals_keep_their_error() -> None:
    async with aclosing(requester(Script(LOST))) as t:
        with pytest.raises(InkboxConnectionError) as info:
            await t.request("GET", "/g")
    assert type(info.value) is InkboxConnectionError
    async with aclosing(requester(Script(answer(503, **{"Retry-After": "0"})))) as t:
        with pytest.raises(InternalServerError):
            await t.request("DELETE", "/d")


async def test_unkeyed_post_is_not_resent_after_a_lost_answer() -> None:
    script = Script(LOST)
    async with aclosing(requester(script)) as t:
        with pytest.raises(OutcomeUnknownError):
            await t.request("POST", "/c", json={})
    assert len(script.requests) == 1
    never_sent = Script(httpx2.ConnectError("refused"), answer(201))
    async with aclosing(requester(never_sent)) as t:
        await t.request("POST", "/c", json={})
    assert len(never_sent.requests) == 2


async def test_keyed_send_out_of_retries_after_a_lost_answer_is_unknown_with_its_key() -> None:
    script = Script(LOST, answer(503, **{"Retry-After": "0"}))
    async with aclosing(requester(script)) as t:
        with pytest.raises(OutcomeUnknownError) as info:
            await t.request("POST", "/s", json={}, idempotency_key="order-7")
    assert info.value.idempotency_key == "order-7"
    assert isinstance(info.value.__cause__, InternalServerError)
    ok = Script(LOST, httpx2.Response(200, content=json.dumps({"id": 1}).encode()))
    async with aclosing(requester(ok)) as t:
        assert await t.request("POST", "/s", json={}, idempotency_key="order-8") == {"id": 1}
