"""Every route of the emulator, fed malformed input, answers 4xx, never 5xx.

The routes come from the Starlette app itself, so a new route is covered without
touching this file. Path parameters are filled with the ids of real objects made
once for the module (so handlers get past their 404s), then every route gets:

* bodies: NaN/Infinity/-Infinity, 100-deep nesting, lone surrogate escapes,
  5000-digit integers, non-object JSON, invalid UTF-8, an empty body;
* query strings: ``limit``/``offset`` and every other query parameter the emulator
  reads set to 2**63, -1, ``abc``, 5000 digits, NUL, invalid UTF-8; crafted cursors;
* path parameters: ``..``, ``%00``, non-ASCII, invalid UTF-8, 5000 digits;
* headers: odd ``X-API-Key``, ``Idempotency-Key`` and ``Content-Type`` values.

One test collects every 5xx and reports each route and input that caused one.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx2
import pytest
from starlette.routing import Route

from inkbox_emulator import Emulator

from .conftest import HookServer, create_identity, unique

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

API = "/api/v1"

DEEP = b'{"a":' * 100 + b"1" + b"}" * 100
HUGE_INT = b"9" * 5000

BAD_BODIES: dict[str, bytes] = {
    "nan": b'{"metadata": {"k": NaN}, "name": NaN, "text": NaN, "limit": NaN}',
    "infinity": b'{"metadata": {"k": Infinity}, "name": Infinity, "subject": Infinity}',
    "-infinity": b'{"metadata": {"k": -Infinity}, "name": -Infinity, "body": -Infinity}',
    "bare-nan": b"NaN",
    "deep-object": DEEP,
    "deep-array": b"[" * 100 + b"]" * 100,
    "very-deep-array": b"[" * 100_000 + b"]" * 100_000,
    "deep-in-list": b'{"to": [' + b"[" * 2000 + b"]" * 2000 + b"]}",
    "deep-in-field": b'{"metadata": ' + DEEP + b', "custom_fields": ' + DEEP + b"}",
    "lone-surrogate": b'{"metadata": {"k": "\\ud800"}, "name": "\\ud800", "subject": "\\udfff"}',
    "surrogate-key": b'{"\\ud800": 1}',
    "huge-int": b'{"metadata": {"k": ' + HUGE_INT + b'}, "limit": ' + HUGE_INT + b"}",
    "huge-int-top": HUGE_INT,
    "int64-overflow": (
        b'{"limit": 9223372036854775808, "offset": 9223372036854775808, "count": -9223372036854775809,'
        b' "timeout": 9223372036854775808, "seconds": 9223372036854775808}'
    ),
    "big-float": b'{"metadata": {"k": 1e999}, "timeout": 1e999, "seconds": 1e999}',
    "array": b"[1, 2, 3]",
    "string": b'"text"',
    "null": b"null",
    "number": b"12",
    "invalid-utf8": b'{"name": "\xff\xfe"}',
    "truncated": b'{"name": ',
    "empty": b"",
}

# The body fields the emulator reads (every one set to the same odd value at once).
FIELDS = (
    "access_identity_ids",
    "action",
    "additional_attachments",
    "advance_seconds",
    "agent_handle",
    "agent_identity_id",
    "apply_to",
    "attachments",
    "auth_token",
    "bcc",
    "body",
    "body_html",
    "body_text",
    "cc",
    "claim_imessage_number",
    "client_websocket_url",
    "content_id",
    "content_type",
    "context_config",
    "conversation_id",
    "count",
    "csr_pem",
    "cursor",
    "delay",
    "description",
    "direction",
    "display_name",
    "domain",
    "email",
    "email_local_part",
    "emails",
    "enabled",
    "end_datetime",
    "error_code",
    "error_detail",
    "event_type",
    "event_types",
    "field_sources",
    "filename",
    "filter_mode",
    "folder",
    "forwarding_phone_number",
    "forwarding_sip_uri",
    "forwarding_target_type",
    "from_address",
    "from_number",
    "hosted_agent_authority_mode",
    "human_email",
    "identity_id",
    "imessage_number_id",
    "in_reply_to",
    "in_reply_to_message_id",
    "include_groups",
    "include_original_attachments",
    "incoming_call_action",
    "incoming_call_webhook_url",
    "is_default",
    "is_read",
    "key_type",
    "kind",
    "label",
    "limit",
    "mailbox",
    "mailbox_id",
    "match_target",
    "match_type",
    "media",
    "media_urls",
    "message_id",
    "metadata",
    "method",
    "mode",
    "name",
    "note_to_human",
    "offset",
    "on_voicemail",
    "order",
    "organization_id",
    "origination",
    "outcome",
    "party",
    "path",
    "pattern",
    "permissions",
    "phone_number",
    "phone_number_id",
    "phones",
    "profile",
    "q",
    "reason",
    "recipient_number",
    "recipients",
    "recovery_keys",
    "redirect",
    "references",
    "reply_to",
    "retry_after",
    "review_status",
    "scope",
    "scoped_identity_id",
    "secret_type",
    "sending_domain",
    "signature_enabled",
    "start_datetime",
    "state",
    "status",
    "subject",
    "subscription_id",
    "success",
    "text",
    "timeout",
    "title",
    "tls_mode",
    "to",
    "to_number",
    "track_opens",
    "tunnel",
    "type",
    "tz",
    "url",
    "vault_secret_ids",
    "verification_code",
    "voicemail_detection",
    "voicemail_message",
    "addresses",
    "auth_hash",
    "birthday",
    "company_name",
    "contact_ids",
    "current_auth_hash",
    "custom_fields",
    "dates",
    "encrypted_payload",
    "family_name",
    "given_name",
    "id",
    "job_title",
    "losing_contact_ids",
    "middle_name",
    "notes",
    "preferred_name",
    "recovery_auth_hash",
    "vault_key",
    "websites",
    "wrapped_org_encryption_key",
)
ODD_VALUES: dict[str, object] = {
    "int64": 2**63,
    "-int64": -(2**63) - 1,
    "negative": -1,
    "float": 0.5,
    "true": True,
    "null": None,
    "empty-list": [],
    "empty-object": {},
    "nested": [[{"a": [{}]}]],
    "header-breaking": "a\r\nBcc: x@example.com\x00",
    "long-string": "x" * 1000,
    "digits": "9" * 1000,
    "non-ascii": "\u00e9\u2603\U0001f600",
    "path-ish": "../../_emulator/reset",
}
for _label, _value in ODD_VALUES.items():
    BAD_BODIES[f"fields:{_label}"] = json.dumps(dict.fromkeys(FIELDS, _value)).encode()

BIG = str(2**63)
QUERY_VALUES = [BIG, "-1", "abc", "9" * 5000, "%00", "%FF", "%C3%A9", "%ED%A0%80", "1e999", "nan"]
QUERY_NAMES = [
    "limit",
    "offset",
    "cursor",
    "q",
    "direction",
    "folder",
    "status",
    "order",
    "identity_id",
    "agent_identity_id",
    "organization_id",
    "phone_number_id",
    "mailbox_id",
    "subscription_id",
    "event_type",
    "success",
    "expires",
    "signature",
    "auth_hash",
    "review_status",
    "start_datetime",
    "end_datetime",
    "email",
    "phone",
]


def _cursor(parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


CURSORS = [
    "garbage!!",
    base64.urlsafe_b64encode(b"\x00\xff\xfe random bytes").decode(),
    _cursor([{"a": 1}, "x"]),
    _cursor([["nested"], [1]]),
    _cursor([None, None]),
    _cursor([2**70, 2**70]),
    _cursor(["x", "y"]),
    _cursor([1.5, True]),
    _cursor({"a": 1}),
    base64.urlsafe_b64encode(b"[NaN, Infinity]").decode(),
    base64.urlsafe_b64encode(b'["\\ud800", 1]').decode(),
    base64.urlsafe_b64encode(b"[" + HUGE_INT + b", 1]").decode(),
]

PATH_VALUES = [
    "..",
    ".",
    "%00",
    "%C3%A9t%C3%A9",
    "%FF%FE",
    "%ED%A0%80",
    "9" * 5000,
    BIG,
    "a%2Fb",
    "%20",
    "%0D%0AX:%20y",
]

BAD_HEADERS: dict[str, dict[str, bytes]] = {
    "key-latin1": {"X-API-Key": b"\xff\xfe"},
    "key-long": {"X-API-Key": b"a" * 20_000},
    "key-empty": {"X-API-Key": b""},
    "key-del": {"X-API-Key": b"sk-\x7f"},
    "idempotency-latin1": {"Idempotency-Key": b"\xe9" * 3},
    "idempotency-long": {"Idempotency-Key": b"x" * 5000},
    "idempotency-nul": {"Idempotency-Key": b"a\x00b"},
    "content-type-latin1": {"Content-Type": b"text/plain; charset=\xff"},
}

# Control routes that would wipe, stall or fault the emulator under test on a body that
# happens to be a valid object (none of them is public API).
SKIP = {
    ("POST", "/_emulator/reset"),
    ("POST", "/_emulator/faults"),
    ("POST", "/_emulator/tunnel-faults"),
    ("POST", "/_emulator/clock"),
    ("POST", "/_emulator/tunnels/{name}/wait"),
    ("DELETE", "/_emulator/requests"),
}


@dataclass
class Objects:
    """Real ids for every path parameter of the app."""

    values: dict[str, str]
    by_path: dict[tuple[str, str], str]
    queries: dict[str, str]
    """A query a route needs to get past its first check (``/files`` needs a signature)."""

    def fill(self, path: str, name: str) -> str:
        for (prefix, param), value in self.by_path.items():
            if param == name and path.startswith(prefix):
                return value
        return self.values[name]


def _ok(response: httpx2.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture(scope="module")
def corpus_emu() -> Iterator[Emulator]:
    # Legacy routes kept open (and the org signing key route alive) so their handlers run too.
    with Emulator(
        delivery_delay=0.0,
        webhook_retry_delays=(),
        legacy_rules_until=4e9,
        org_signing_keys_sunset=None,
    ) as emu:
        yield emu


@pytest.fixture(scope="module")
def objects(corpus_emu: Emulator) -> Iterator[tuple[str, Objects]]:
    emu = corpus_emu
    org = emu.create_org()
    hooks = HookServer()
    try:
        with httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
        ) as c:
            yield org.api_key, _make_objects(emu, c, org.organization_id, hooks)
    finally:
        hooks.close()


def _make_objects(emu: Emulator, c: httpx2.Client, org_id: str, hooks: HookServer) -> Objects:
    handle = unique("corpus")
    owner = create_identity(c, handle, tunnel={"tls_mode": "edge"})
    other = create_identity(c, unique("other"))
    box = owner["email_address"]
    subscription = _ok(
        c.post(
            f"{API}/webhooks/subscriptions",
            json={
                "url": hooks.url,
                "event_types": ["message.received", "text.received"],
                "agent_identity_id": owner["id"],
            },
        )
    )
    attachment = {
        "filename": "note.txt",
        "content_type": "text/plain",
        "content_base64": base64.b64encode(b"hello").decode(),
    }
    message = emu.inject_email(
        to=box, from_address="sender@example.com", subject="Hi", attachments=[attachment]
    )
    sent = _ok(
        c.post(
            f"{API}/mail/mailboxes/{box}/messages",
            json={"recipients": {"to": ["reader@example.com"]}, "subject": "Out"},
        ),
        200,
    )
    number = _ok(c.post(f"{API}/phone/numbers", json={"agent_handle": handle, "type": "local"}))
    emu.mark_sms_ready(number["id"])
    outside = "+19995550123"
    text = emu.inject_text(number["number"], outside, "START")
    call = emu.inject_call(number["number"], outside)
    mail_rule = _ok(
        c.post(
            f"{API}/identities/{handle}/mail-contact-rules",
            json={
                "action": "block",
                "match_type": "exact_email",
                "match_target": "spam@example.com",
            },
        )
    )
    phone_rule = _ok(
        c.post(
            f"{API}/identities/{handle}/phone-contact-rules",
            json={"action": "block", "match_type": "exact_number", "match_target": "+19995550999"},
        )
    )
    vault_key = {
        "id": str(uuid.uuid4()),
        "wrapped_org_encryption_key": base64.b64encode(b"k" * 60).decode(),
        "auth_hash": "ab" * 32,
        "key_type": "primary",
    }
    recovery = [
        {**vault_key, "id": str(uuid.uuid4()), "auth_hash": f"{i:02x}" * 32, "key_type": "recovery"}
        for i in range(4)
    ]
    _ok(c.post(f"{API}/vault/initialize", json={"vault_key": vault_key, "recovery_keys": recovery}))
    secret_id = str(uuid.uuid4())
    _ok(
        c.post(
            f"{API}/vault/secrets",
            json={
                "id": secret_id,
                "name": "GitHub",
                "secret_type": "login",
                "encrypted_payload": base64.b64encode(b"s" * 120).decode(),
            },
        )
    )
    _ok(c.post(f"{API}/vault/secrets/{secret_id}/access", json={"identity_id": other["id"]}))
    contact = _ok(c.post(f"{API}/contacts", json={"given_name": "Jane"}))
    note = _ok(c.post(f"{API}/notes", json={"body": "a note"}))
    _ok(c.post(f"{API}/notes/{note['id']}/access", json={"identity_id": other["id"]}))
    deadline = time.monotonic() + 5
    while not (deliveries := c.get(f"{API}/webhooks/deliveries").json()["deliveries"]):
        assert time.monotonic() < deadline, "no webhook delivery logged"
        time.sleep(0.05)
    link = _ok(
        c.get(f"{API}/mail/mailboxes/{box}/messages/{message['id']}/attachments/note.txt"), 200
    )
    file_token = urlsplit(link["url"]).path.rsplit("/", 1)[1]
    return Objects(
        values={
            "agent_handle": handle,
            "handle": handle,
            "name": handle,
            "email": box,
            "message_id": message["id"],
            "filename": "note.txt",
            "thread_id": message["thread_id"],
            "pn": number["id"],
            "phone_number_id": number["id"],
            "call_id": call["id"],
            "remote_number": outside,
            "receiver_number": outside,
            "text_id": text["id"],
            "tunnel_id": owner["tunnel"]["id"],
            "auth_hash": recovery[0]["auth_hash"],
            "secret_id": secret_id,
            "identity_id": other["id"],
            "contact_ref": contact["id"],
            "contact_id": contact["id"],
            "note_id": note["id"],
            "subscription_id": subscription["id"],
            "delivery_id": deliveries[0]["id"],
            "domain_name": box.partition("@")[2],
            "org_id": org_id,
            "fault_id": str(uuid.uuid4()),
            "token": file_token,
        },
        by_path={
            ("/_emulator/mail/messages/", "message_id"): sent["id"],
            (f"{API}/mail/", "rule_id"): mail_rule["id"],
            (f"{API}/identities/{{handle}}/mail", "rule_id"): mail_rule["id"],
            (f"{API}/phone/", "rule_id"): phone_rule["id"],
            (f"{API}/identities/{{handle}}/phone", "rule_id"): phone_rule["id"],
        },
        queries={"/files/{token}": urlsplit(link["url"]).query},
    )


@dataclass(frozen=True)
class Case:
    method: str
    template: str
    path: str
    query: str
    body: bytes | None
    label: str
    headers: dict[str, bytes] = field(default_factory=dict)


def _routes(emu: Emulator) -> list[tuple[str, str]]:
    app: Any = emu._app  # the corpus reads the route table of the app it drives
    while not hasattr(app, "routes"):
        app = app.app
    pairs = [
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in sorted(route.methods or ())
        if method != "HEAD" and (method, route.path) not in SKIP
    ]
    # DELETEs last, deepest paths first, so objects outlive the routes that need them.
    return sorted(
        pairs, key=lambda p: (p[0] == "DELETE", -p[1].count("/") if p[0] == "DELETE" else 0)
    )


def _params(template: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in template.split("/") if part.startswith("{")]


def _render(template: str, values: dict[str, str]) -> str:
    parts = []
    for part in template.split("/"):
        if part.startswith("{"):
            name = part[1:-1].split(":")[0]
            parts.append(values[name])
        else:
            parts.append(part)
    return "/".join(parts)


def _cases(emu: Emulator, objects: Objects) -> list[Case]:
    cases: list[Case] = []
    for method, template in _routes(emu):
        real = {name: quote(objects.fill(template, name), safe="@+") for name in _params(template)}
        path = _render(template, real)
        base = objects.queries.get(template, "")
        empty = b"{}" if method in ("POST", "PUT", "PATCH") else None
        cases.append(Case(method, template, path, base, empty, "baseline"))
        for label, headers in BAD_HEADERS.items():
            cases.append(Case(method, template, path, base, empty, f"header:{label}", headers))
        if method in ("POST", "PUT", "PATCH"):
            for label, body in BAD_BODIES.items():
                cases.append(Case(method, template, path, "", body, f"body:{label}"))
        if method == "GET":
            for name in QUERY_NAMES:
                for value in QUERY_VALUES:
                    query = "&".join(q for q in (base, f"{name}={value}") if q)
                    cases.append(Case(method, template, path, query, None, f"q:{name}"))
            for cursor in CURSORS:
                query = "&".join(q for q in (base, f"cursor={quote(cursor)}&limit=1") if q)
                cases.append(Case(method, template, path, query, None, f"cursor:{cursor[:20]}"))
        for name in real:
            for value in PATH_VALUES:
                bad = _render(template, {**real, name: value})
                cases.append(Case(method, template, bad, base, empty, f"path:{name}={value[:12]}"))
    return cases


class RawClient:
    """Sends request lines exactly as given (no dot-segment normalisation)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.api_key = api_key
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def send(self, case: Case) -> tuple[int, bytes]:
        target = case.path + (f"?{case.query}" if case.query else "")
        headers: dict[str, str | bytes] = {
            "X-API-Key": self.api_key,
            "Content-Type": "application/json",
            **case.headers,
        }
        for attempt in range(2):
            try:
                self.conn.request(case.method, target, body=case.body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.reset()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def reset(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def close(self) -> None:
        self.conn.close()


def test_no_route_answers_5xx_to_malformed_input(
    corpus_emu: Emulator, objects: tuple[str, Objects]
) -> None:
    api_key, found = objects
    cases = _cases(corpus_emu, found)
    client = RawClient(corpus_emu.base_url, api_key)
    failures: list[str] = []
    found_objects: set[tuple[str, str]] = set()
    try:
        for case in cases:
            try:
                status, body = client.send(case)
            except OSError as exc:  # a hung or dropped request is as bad as a 5xx
                status, body = 599, repr(exc).encode()
                client.reset()
            if case.label == "baseline" and status not in (404, 405):
                found_objects.add((case.method, case.template))
            if status >= 500:
                failures.append(
                    f"{status} {case.method} {case.template} [{case.label}] "
                    f"{case.query[:60]!r}: {body[:120]!r}"
                )
    finally:
        client.close()
    routes = len({(c.method, c.template) for c in cases})
    assert routes >= 150 and len(cases) >= 20_000
    # The ids are real: every route but a few (signup-agent and one-shot control routes)
    # gets past its 404; DELETEs are left out as one object can be deleted only once.
    missed = {(c.method, c.template) for c in cases if c.method != "DELETE"} - found_objects
    assert len(missed) <= 4, sorted(missed)
    assert not failures, (
        f"{len(failures)} of {len(cases)} requests ({routes} routes) got 5xx:\n"
        + "\n".join(failures)
    )
