"""Bad input answers a structured 4xx and never reaches the database (issue 14, defects 4-6).

* JSON bodies are parsed once, strictly: NaN/Infinity, numbers that overflow, integers
  over 4,300 digits, lone surrogates and nesting deeper than 64 levels are 422s;
* free-form JSON (tunnel ``metadata``) is refused before it is written, so the tunnel,
  the org's tunnel list and the identity keep answering;
* query integers beyond 64 bits and crafted cursors are 422s; a non-ASCII attachment
  signature is a 403;
* values that end up in mail headers refuse CR, LF and NUL with a 422 naming the field;
* an unexpected exception is a bare 500 that shows neither the exception nor a traceback.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_emulator.accounts import model as accounts
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.validation import MAX_BODY_BYTES, json_text, parse_json

from .conftest import create_identity, new_mailbox, send, sent_ok, unique

M = "/api/v1/mail/mailboxes"
T = "/api/v1/tunnels"
JSON = {"Content-Type": "application/json"}


def _detail(response: httpx2.Response, status: int = 422) -> Any:
    assert response.status_code == status, response.text
    return response.json()["detail"]


def _invalid_json(response: httpx2.Response) -> dict[str, Any]:
    detail = _detail(response)
    assert isinstance(detail, list) and len(detail) == 1
    item: dict[str, Any] = detail[0]
    assert item["type"] == "json_invalid" and item["loc"][0] == "body"
    return item


# -- defect 4: tunnel metadata -----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        b'{"k": NaN}',
        b'{"k": Infinity}',
        b'{"k": -Infinity}',
        b'{"k": 1e999}',
        b'{"k": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"k": ' + b"[" * 100 + b"]" * 100 + b"}",
        b'{"k": ' + b"7" * 5000 + b"}",
    ],
)
def test_a_bad_tunnel_metadata_value_is_refused_and_nothing_breaks(
    admin: httpx2.Client, bad: bytes
) -> None:
    identity = create_identity(admin, unique("meta"), tunnel={"tls_mode": "edge"})
    tunnel = identity["tunnel"]
    url = f"{T}/{tunnel['id']}"
    assert admin.patch(url, json={"metadata": {"team": "blue"}}).status_code == 200
    refused = admin.patch(url, content=b'{"metadata": ' + bad + b"}", headers=JSON)
    _invalid_json(refused)
    got = admin.get(url)
    assert got.status_code == 200 and got.json()["metadata"] == {"team": "blue"}
    listed = admin.get(f"{T}/")
    assert listed.status_code == 200
    assert [t["metadata"] for t in listed.json()["tunnels"] if t["id"] == tunnel["id"]] == [
        {"team": "blue"}
    ]
    ident = admin.get(f"/api/v1/identities/{identity['agent_handle']}")
    assert ident.status_code == 200, ident.text


def test_stored_free_form_json_is_checked_before_the_write() -> None:
    assert json_text({"a": [1, 2.5, "x"]}, ("body", "metadata")) == '{"a": [1, 2.5, "x"]}'
    for value, loc in (
        ({"a": float("nan")}, ["body", "metadata", "a"]),
        ({"a": [float("-inf")]}, ["body", "metadata", "a", 0]),
        ({"a": {"b": "\ud800"}}, ["body", "metadata", "a", "b"]),
        ({"a": object()}, ["body", "metadata"]),
    ):
        with pytest.raises(ApiError) as caught:
            json_text(value, ("body", "metadata"))
        assert caught.value.status == 422
        assert isinstance(caught.value.detail, list)
        assert caught.value.detail[0]["loc"] == loc
        json.dumps(caught.value.body(), allow_nan=False).encode()  # the error itself renders


# -- defect 5: strict bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"label": NaN}', "NaN is not a valid JSON value"),
        (b'{"label": Infinity}', "Infinity is not a valid JSON value"),
        (b'{"label": -Infinity}', "-Infinity is not a valid JSON value"),
        (b'{"label": 1e400}', "number out of range"),
        (b'{"label": ' + b"1" * 4301 + b"}", "integer longer than 4300 digits"),
        (b'{"label": "\\ud800"}', "lone surrogate in string"),
        (b'{"\\ud800": "x"}', "lone surrogate in object key"),
        (b'{"label": ' + b"[" * 100 + b"]" * 100 + b"}", "nesting deeper than 64 levels"),
        (b"[" * 200_000 + b"]" * 200_000, "nesting deeper than 64 levels"),
        (b'{"label": "\xff"}', "Invalid UTF-8"),
    ],
)
def test_bodies_are_parsed_strictly(admin: httpx2.Client, body: bytes, reason: str) -> None:
    response = admin.post("/api/v1/api-keys", content=body, headers=JSON)
    assert _invalid_json(response)["ctx"] == {"error": reason}


def test_nesting_up_to_the_limit_and_long_integers_within_it_parse() -> None:
    assert parse_json(b"[" * 64 + b"]" * 64) is not None
    assert parse_json(b"1" * 4300) == int("1" * 4300)
    assert parse_json(b'{"k": 1.5e300}') == {"k": 1.5e300}
    with pytest.raises(ApiError) as caught:
        parse_json(b" " * (MAX_BODY_BYTES + 1))
    assert caught.value.status == 413


def test_a_body_over_the_limit_is_413_before_it_is_buffered(
    emu: Emulator, admin: httpx2.Client
) -> None:
    emu.clear_requests()
    response = admin.post("/api/v1/api-keys", content=b" " * (MAX_BODY_BYTES + 1), headers=JSON)
    assert _detail(response, 413) == "Request body too large"
    [recorded] = emu.requests()
    assert (recorded.status, recorded.body) == (413, b"")
    assert admin.get("/api/whoami").status_code == 200


def test_a_lone_surrogate_on_the_path_to_a_store_is_refused(admin: httpx2.Client) -> None:
    response = admin.post("/api/v1/notes", content=b'{"body": "note \\udc80 here"}', headers=JSON)
    assert _invalid_json(response)["loc"] == ["body", "body"]
    assert admin.get("/api/v1/notes").status_code == 200


# -- defect 5: query strings, cursors, signatures ----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/webhooks/deliveries",
        "/api/v1/phone/sms-opt-ins",
        "/api/v1/phone/contact-rules",
        "/api/v1/mail/contact-rules",
    ],
)
@pytest.mark.parametrize("name", ["offset", "limit"])
def test_query_integers_beyond_64_bits_are_422(admin: httpx2.Client, path: str, name: str) -> None:
    for value in (str(2**63), str(-(2**63) - 1), "9" * 5000):
        detail = _detail(admin.get(path, params={name: value}))
        assert [item["loc"] for item in detail] == [["query", name]]


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        b'[{"a": 1}, "x"]',
        b'[["nested"], [1]]',
        b"[" + str(2**70).encode() + b", 1]",
        b'["\\ud800", 1]',
        b"[NaN, 1]",
        b"[true, 1]",
        b"not json",
    ],
)
@pytest.mark.parametrize("listing", ["threads", "messages"])
def test_crafted_cursors_are_422(admin: httpx2.Client, raw: bytes, listing: str) -> None:
    box = new_mailbox(admin)["email_address"]
    sent_ok(admin, box, subject="one")
    response = admin.get(f"{M}/{box}/{listing}", params={"cursor": _cursor(raw), "limit": 1})
    assert [item["loc"] for item in _detail(response)] == [["query", "cursor"]]


def test_a_real_cursor_still_pages(admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    for subject in ("one", "two"):
        sent_ok(admin, box, subject=subject)
    first = admin.get(f"{M}/{box}/threads", params={"limit": 1}).json()
    second = admin.get(
        f"{M}/{box}/threads", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert [t["subject"] for t in first["items"] + second["items"]] == ["two", "one"]


def test_a_non_ascii_attachment_signature_is_403(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    stored = emu.inject_email(
        to=box,
        from_address="a@example.com",
        subject="file",
        attachments=[{"filename": "a.txt", "content_type": "text/plain", "content_base64": "aGk="}],
    )
    link = admin.get(f"{M}/{box}/messages/{stored['id']}/attachments/a.txt").json()["url"]
    parts = urlsplit(link)
    expires = dict(p.split("=") for p in parts.query.split("&"))["expires"]
    with httpx2.Client(base_url=emu.base_url) as anyone:
        assert anyone.get(link).content == b"hi"
        for signature in ("é" * 64, "\u2603", "%FF"):
            response = anyone.get(parts.path, params={"expires": expires, "signature": signature})
            assert _detail(response, 403) == "Invalid or missing signature"


# -- defect 6: header injection -------------------------------------------------------------

BREAKS = ["Hi\r\nBcc: evil@example.com", "Hi\nX: y", "Hi\x00there", "Hi\u2028there"]


@pytest.mark.parametrize("value", BREAKS)
def test_header_breaking_send_fields_are_422_and_nothing_is_stored(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials, value: str
) -> None:
    box = new_mailbox(admin)["email_address"]
    attachment = {"filename": "a.txt", "content_type": "text/plain", "content_base64": "aGk="}
    cases: list[tuple[dict[str, Any], list[str | int]]] = [
        ({"subject": value}, ["body", "subject"]),
        ({"in_reply_to_message_id": f"<{value}@example.com>"}, ["body", "in_reply_to_message_id"]),
        ({"to": [f"x@example.com{value}"]}, ["body", "recipients", "to", 0]),
        ({"cc": [f"{value}x@example.com"]}, ["body", "recipients", "cc", 0]),
        (
            {"attachments": [{**attachment, "filename": f"{value}.txt"}]},
            ["body", "attachments", 0, "filename"],
        ),
        (
            {"attachments": [{**attachment, "content_type": f"text/plain;{value}"}]},
            ["body", "attachments", 0, "content_type"],
        ),
    ]
    for body, loc in cases:
        detail = _detail(send(admin, box, **body))
        assert [item["loc"] for item in detail] == [loc], body
        assert "must not contain line breaks or NUL characters" in detail[0]["msg"]
    assert emu.outbox(org.organization_id) == []
    assert admin.get(f"{M}/{box}/messages").json()["items"] == []


@pytest.mark.parametrize("mode", ["inline", "wrapped"])
def test_header_breaking_forward_and_reply_fields_are_422(
    emu: Emulator, admin: httpx2.Client, mode: str
) -> None:
    box = new_mailbox(admin)["email_address"]
    original = emu.inject_email(to=box, from_address="a@example.com", subject="Original")
    message = f"{M}/{box}/messages/{original['id']}"
    to = {"recipients": {"to": ["b@example.com"]}, "mode": mode}
    for field, value in (
        ("subject", "Fwd\r\nBcc: evil@example.com"),
        ("reply_to", "a@example.com\r\n"),
        ("reply_to", "a@exa\x00mple.com"),
    ):
        response = admin.post(f"{message}/forward", json={**to, field: value})
        assert [item["loc"] for item in _detail(response)] == [["body", field]]
        reply = admin.post(f"{message}/reply-all", json={"body_text": "x", field: value})
        assert [item["loc"] for item in _detail(reply)] == [["body", field]]
    forwarded = admin.post(f"{message}/forward", json={**to, "body_html": "<p>fyi</p>"})
    assert forwarded.status_code == 200, forwarded.text


def test_injected_mail_refuses_header_breaking_values(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    for kwargs, name in (
        ({"subject": "a\r\nb"}, "subject"),
        ({"message_id": "<a\n@example.com>"}, "message_id"),
        ({"in_reply_to": "<a\r@example.com>"}, "in_reply_to"),
        ({"references": ["<ok@example.com>", "<a\x00@example.com>"]}, "references"),
        ({"from_address": "a@example.com\n"}, "from_address"),
    ):
        args: dict[str, Any] = {"from_address": "a@example.com", "subject": "s", **kwargs}
        with pytest.raises(ApiError) as caught:
            emu.inject_email(to=box, **args)
        assert caught.value.status == 422
        assert isinstance(caught.value.detail, list)
        assert [item["loc"] for item in caught.value.detail] == [["body", name]]


def test_an_injected_message_id_must_be_a_msg_id_and_forwards_wrapped(
    emu: Emulator, admin: httpx2.Client
) -> None:
    box = new_mailbox(admin)["email_address"]
    for bad in ("<>", "(", "é@example.com", "<a b@c>", "no-at-sign"):
        with pytest.raises(ApiError) as caught:
            emu.inject_email(to=box, from_address="a@example.com", message_id=bad)
        assert caught.value.status == 422
        assert isinstance(caught.value.detail, list)
        assert caught.value.detail[0]["loc"] == ["body", "message_id"]
    for good in ("plain@example.com", "<a.b+c@[10.0.0.1]>", "<" + "x" * 900 + "@example.com>"):
        stored = emu.inject_email(to=box, from_address="a@example.com", message_id=good)
        forwarded = admin.post(
            f"{M}/{box}/messages/{stored['id']}/forward",
            json={"recipients": {"to": ["b@example.com"]}, "mode": "wrapped", "body_text": "x"},
        )
        assert forwarded.status_code == 200, forwarded.text


# -- the safety net -----------------------------------------------------------------------------


def test_a_bug_in_a_route_is_a_bare_500(
    admin: httpx2.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("internal detail sk-secret-42")

    monkeypatch.setattr(accounts, "whoami", broken)
    response = admin.get("/api/whoami")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "Traceback" not in response.text and "sk-secret-42" not in response.text
