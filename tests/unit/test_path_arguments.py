"""Issue 14, defect 7: every path argument of every public call refuses "", "." and "..".

The calls are found by walking the client (resources, their sub-resources and an
identity's), and a call's path arguments by sending it once with sample values
through a mock transport and seeing which samples land in a request path. A new
call is covered without editing this file; a new required parameter name needs a
sample in ``SAMPLES`` (the test says so).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import httpx2
import pytest

from inkbox_async import InvalidArgumentError
from inkbox_async._paths import segment
from inkbox_async.models.vault import LoginPayload
from inkbox_sync import Inkbox

UUID_SAMPLE = "0b7c6d5e-4f3a-4b2c-9d1e-8f7a6b5c4d3e"
HANDLE = "path-probe"
IDENTITY = {
    "id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    "organization_id": "org_1",
    "agent_handle": HANDLE,
    "email_address": "path-probe@inkboxmail.com",
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
    "mailbox": {
        "id": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
        "email_address": "path-probe@inkboxmail.com",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    },
    "tunnel": {
        "id": "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b",
        "tunnel_name": HANDLE,
        "tls_mode": "edge",
        "status": "active",
        "public_host": "path-probe.inkboxwire.com",
        "zone": "inkboxwire.com",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    },
}

# A valid value for each required parameter, by name (ids default to a UUID).
SAMPLES: dict[str, Any] = {
    "email_address": "probe.box@inkboxmail.com",
    "agent_handle": "probe-handle",
    "domain_name": "probe-domain.example",
    "filename": "probe-file.txt",
    "receiver_number": "+15555550123",
    "remote_number": "+15555550124",
    "to_number": "+15555550125",
    "auth_hash": "ab" * 32,
    "action": "block",
    "match_type": "exact_email",
    "match_target": "someone@example.com",
    "to": ["someone@example.com"],
    "subject": "probe",
    "q": "probe",
    "body": "probe",
    "text": "probe",
    "is_read": True,
    "contact_ids": [UUID_SAMPLE],
    "losing_contact_ids": ["2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"],
    "csr_pem": "-----BEGIN CERTIFICATE REQUEST-----\nx\n-----END CERTIFICATE REQUEST-----",
    "vault_key": "probe-vault-key-1",
    "new_vault_key": "probe-vault-key-2",
    "url": "https://example.com/hook",
    "event_types": ["message.received"],
    "data": b"probe",
    "name": "probe-name",
    "message_ids": [UUID_SAMPLE],
    "content": "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Probe\r\nEND:VCARD\r\n",
    "totp": "otpauth://totp/probe?secret=JBSWY3DPEHPK3PXP",
    "payload": LoginPayload(username="probe", password="probe-pw"),
}
# Not requests of this client: a tunnel connection, the signup calls (own transport).
SKIPPED = {"close", "connect", "signup", "verify_signup", "resend_signup_verification",
           "get_signup_status", "verify_webhook", "unlock", "initialize"}  # fmt: skip
BAD_SEGMENTS = ["", ".", ".."]


def sample(call_name: str, name: str) -> Any:
    if name in SAMPLES:
        return SAMPLES[name]
    if name.endswith("_id"):
        return UUID_SAMPLE
    pytest.fail(f"{call_name}: add a sample for the required parameter {name!r} to SAMPLES")


class Recorder:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(request.url.raw_path.decode("ascii").split("?")[0])
        if request.url.path.rstrip("/").endswith("/identities/" + HANDLE):
            return httpx2.Response(200, json=IDENTITY)
        return httpx2.Response(200, json={})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[Inkbox]:
    with Inkbox("k", base_url="https://inkbox.ai", transport=httpx2.MockTransport(recorder)) as c:
        yield c


def _resources(obj: object, name: str, depth: int = 0) -> Iterator[tuple[str, object]]:
    """``obj`` and every SDK object reachable through its public attributes."""
    yield name, obj
    if depth >= 3:
        return
    cls = type(obj)
    names = {n for n in dir(cls) if not n.startswith("_")} | {
        n for n in vars(obj) if not n.startswith("_")
    }
    for attr in sorted(names):
        static = inspect.getattr_static(obj, attr)
        if callable(static) and not isinstance(static, functools.cached_property):
            continue
        try:
            value = getattr(obj, attr)
        except Exception:  # e.g. identity.credentials while the vault is locked
            continue
        if type(value).__module__.startswith("inkbox_sync") and not isinstance(value, type):
            yield from _resources(value, f"{name}.{attr}", depth + 1)


def public_calls(client: Inkbox) -> list[tuple[str, Callable[..., Any]]]:
    roots: list[tuple[str, object]] = [("inkbox", client)]
    roots.append(("identity", client.get_identity(HANDLE)))
    calls: dict[str, Callable[..., Any]] = {}
    seen: set[int] = set()
    for root_name, root in roots:
        for name, obj in _resources(root, root_name):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            for attr in dir(type(obj)):
                static = inspect.getattr_static(obj, attr)
                if attr.startswith("_") or attr in SKIPPED or isinstance(static, property):
                    continue
                if isinstance(static, functools.cached_property):
                    continue
                method = getattr(obj, attr)
                if inspect.ismethod(method) or inspect.isfunction(method):
                    calls[f"{name}.{attr}"] = method
    return sorted(calls.items())


def required(call_name: str, method: Callable[..., Any]) -> dict[str, Any]:
    out = {}
    for name, parameter in inspect.signature(method).parameters.items():
        if parameter.default is parameter.empty and parameter.kind not in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            out[name] = sample(call_name, name)
    return out


def invoke(method: Callable[..., Any], kwargs: dict[str, Any]) -> BaseException | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the seed's calls warn
            return _invoke(method, kwargs)
    except Exception as exc:
        return exc


def _invoke(method: Callable[..., Any], kwargs: dict[str, Any]) -> BaseException | None:
    try:
        result = method(**kwargs)
        if hasattr(result, "__iter__") and not isinstance(result, str | bytes | dict):
            next(iter(result), None)  # a pager sends its first request when iterated
    except Exception as exc:
        return exc
    return None


def path_arguments(
    recorder: Recorder, method: Callable[..., Any], kwargs: dict[str, Any]
) -> list[str]:
    """The parameters whose sample value is a whole segment of a path the call requested."""
    recorder.paths.clear()
    invoke(method, kwargs)
    segments = {unquote(part) for path in recorder.paths for part in path.split("/")}
    return [name for name, value in kwargs.items() if isinstance(value, str) and value in segments]


def test_every_path_argument_refuses_dot_segments_and_empty(
    client: Inkbox, recorder: Recorder
) -> None:
    covered: dict[str, list[str]] = {}
    for call_name, method in public_calls(client):
        kwargs = required(call_name, method)
        for argument in path_arguments(recorder, method, kwargs):
            covered.setdefault(call_name, []).append(argument)
            for bad in BAD_SEGMENTS:
                recorder.paths.clear()
                error = invoke(method, {**kwargs, argument: bad})
                assert isinstance(error, InvalidArgumentError), (call_name, argument, bad, error)
                assert error.argument == argument, (call_name, argument, bad, error.argument)
                assert recorder.paths == [], (call_name, argument, bad, recorder.paths)
    # the walk reached the calls of the report, and each kind of path argument
    assert covered["inkbox.mail_contact_rules.list"] == ["email_address"]
    assert covered["inkbox.domains.set_default"] == ["domain_name"]
    assert covered["inkbox.messages.get_attachment"] == [
        "email_address",
        "message_id",
        "filename",
    ]
    assert covered["inkbox.sms_opt_ins.get"] == ["receiver_number"]
    assert covered["inkbox.get_identity"] == ["agent_handle"]
    assert covered["inkbox.vault.delete_secret"] == ["secret_id"]
    assert "inkbox.contacts.get" in covered and "inkbox.notes.get" in covered
    assert covered["identity.get_message"] == ["message_id"]
    assert any(name.startswith("inkbox.webhooks.subscriptions.") for name in covered)
    assert len(covered) > 60, sorted(covered)


def test_mail_contact_rules_list_dot_dot_sends_nothing(client: Inkbox, recorder: Recorder) -> None:
    """The report's case: ``..`` used to resolve to another endpoint and succeed."""
    for bad in BAD_SEGMENTS:
        with pytest.raises(InvalidArgumentError) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the seed's per-mailbox call
            client.mail_contact_rules.list(bad)
        assert info.value.argument == "email_address"
    assert recorder.paths == []


def test_other_values_stay_one_escaped_segment() -> None:
    assert segment("a/../b", argument="x") == "a%2F..%2Fb"
    assert segment("...", argument="x") == "..."
    assert segment(".hidden", argument="x") == ".hidden"
    assert segment("a b?c#d%", argument="x") == "a%20b%3Fc%23d%25"
    assert segment("\u00e9@x.com", argument="x") == "%C3%A9@x.com"
    for bad in ("a\r\nb", "a\x00", "\ud800"):
        with pytest.raises(InvalidArgumentError) as info:
            segment(bad, argument="email_address")
        assert info.value.argument == "email_address"
