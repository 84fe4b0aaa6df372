"""Envelope parsing, control-stream header lists, hello answers and the backoff schedule."""

from __future__ import annotations

import json

import pytest

from inkbox_async._tunnel.backoff import Backoff, backoff_schedule, jittered
from inkbox_async._tunnel.contracts import Reply
from inkbox_async._tunnel.envelope import (
    HelloRejected,
    bridge_headers,
    fixed_reply,
    hello_headers,
    intake_headers,
    parse_envelope,
    parse_hello,
    response_headers,
)

PSEUDO = [(":method", "POST"), (":scheme", "https"), (":authority", "zone.test")]


def test_envelope_of_the_reference_example() -> None:
    envelope = parse_envelope(
        [
            (":status", "200"),
            ("inkbox-request-id", "7f0c"),
            ("inkbox-method", "POST"),
            ("inkbox-path", "/hooks/github?delivery=42"),
            ("inkbox-route-kind", "webhook"),
            ("inkbox-forwarded-for", "203.0.113.9"),
            ("inkbox-h-content-type", "application/json"),
            ("inkbox-h-x-multi", "a"),
            ("inkbox-h-x-multi", "b"),
            ("inkbox-h-inkbox-reason", "kept as a forwarded header"),
            ("inkbox-custom", "opaque"),
        ],
        b'{"action":1}',
    )
    assert envelope is not None
    assert envelope.request_id == "7f0c"
    assert envelope.method == "POST"
    assert envelope.path == "/hooks/github?delivery=42"
    assert envelope.route_kind == "webhook"
    assert envelope.forwarded_for == "203.0.113.9"
    assert envelope.body == b'{"action":1}'
    assert envelope.headers == [
        ("content-type", "application/json"),
        ("x-multi", "a"),
        ("x-multi", "b"),
        ("inkbox-reason", "kept as a forwarded header"),
    ]


def test_envelope_defaults_and_bridge_ids() -> None:
    assert parse_envelope([("inkbox-method", "GET")]) is None
    envelope = parse_envelope([("Inkbox-Request-Id", "r")])
    assert envelope is not None
    assert (envelope.method, envelope.path, envelope.route_kind) == ("GET", "/", "webhook")
    assert envelope.forwarded_for is None and envelope.body_uri is None
    tcp = parse_envelope(
        [
            ("inkbox-request-id", "r"),
            ("inkbox-route-kind", "tcp-stream"),
            ("inkbox-tcp-id", "t1"),
            ("inkbox-sni-host", "a.zone"),
            ("inkbox-body-uri", "http://x/b"),
            ("inkbox-ws-id", "w1"),
        ]
    )
    assert tcp is not None
    assert (tcp.tcp_id, tcp.sni_host, tcp.body_uri, tcp.ws_id) == (
        "t1",
        "a.zone",
        "http://x/b",
        "w1",
    )


def test_hello_and_intake_headers_in_wire_order() -> None:
    assert hello_headers("zone.test", "tid", "key", None) == [
        *PSEUDO,
        (":path", "/_system/hello"),
        ("x-tunnel-id", "tid"),
        ("x-api-key", "key"),
        ("content-length", "0"),
    ]
    assert hello_headers("zone.test", "tid", "key", 3)[-1] == ("x-pool-size", "3")
    assert intake_headers("zone.test", "tid", "tok", 2) == [
        *PSEUDO,
        (":path", "/_system/intake"),
        ("x-tunnel-id", "tid"),
        ("x-owner-token", "tok"),
        ("x-pool-slot", "2"),
        ("content-length", "0"),
    ]


def test_response_headers_keep_duplicates_and_drop_lengths() -> None:
    reply = Reply(
        status=201,
        headers=[
            ("Set-Cookie", "a=1"),
            ("content-length", "99"),
            ("transfer-encoding", "chunked"),
            ("set-cookie", "b=2"),
            ("x-bad", "a\r\nb"),
            ("content-encoding", "gzip"),
        ],
        body=b"hello",
    )
    assert response_headers("zone.test", "tid", "key", "r1", reply) == [
        *PSEUDO,
        (":path", "/_system/response/r1"),
        ("x-tunnel-id", "tid"),
        ("x-api-key", "key"),
        ("inkbox-status", "201"),
        ("inkbox-request-id", "r1"),
        ("content-length", "5"),
        ("inkbox-h-set-cookie", "a=1"),
        ("inkbox-h-set-cookie", "b=2"),
        ("inkbox-h-content-encoding", "gzip"),
    ]


def test_fixed_reply_reason_travels_both_ways() -> None:
    reply = fixed_reply(504, "response-deadline-exceeded", "local handler too slow")
    assert reply.body == b"local handler too slow"
    headers = response_headers("zone.test", "tid", "key", "r", reply)
    assert headers[-3:] == [
        ("inkbox-h-content-type", "text/plain"),
        ("inkbox-h-inkbox-reason", "response-deadline-exceeded"),
        ("inkbox-reason", "response-deadline-exceeded"),
    ]
    assert fixed_reply(500, None, "").headers == []


def test_bridge_headers_for_both_bridge_kinds() -> None:
    ws = bridge_headers(
        "zone.test",
        "tid",
        "key",
        "/_system/ws/w1",
        "inkbox-tunnel-ws",
        [("sec-websocket-version", "13"), ("inkbox-ws-id", "w1")],
    )
    assert ws == [
        (":method", "CONNECT"),
        (":scheme", "https"),
        (":authority", "zone.test"),
        (":path", "/_system/ws/w1"),
        (":protocol", "inkbox-tunnel-ws"),
        ("sec-websocket-version", "13"),
        ("x-tunnel-id", "tid"),
        ("x-api-key", "key"),
        ("inkbox-ws-id", "w1"),
    ]
    tcp = bridge_headers(
        "zone.test",
        "tid",
        "key",
        "/_system/tcp/t1",
        "inkbox-tunnel-tcp",
        [
            ("sec-websocket-version", "13"),
            ("sec-websocket-protocol", "inkbox-tunnel-tcp"),
            ("inkbox-tcp-id", "t1"),
        ],
    )
    assert [name for name, _ in tcp[5:]] == [
        "sec-websocket-version",
        "sec-websocket-protocol",
        "x-tunnel-id",
        "x-api-key",
        "inkbox-tcp-id",
    ]


def test_hello_answers() -> None:
    body = json.dumps(
        {"owner_token": "t", "default_pool_size": 2, "response_deadline_seconds": 30, "x": 1}
    ).encode()
    hello = parse_hello(200, body, 3)
    assert (hello.owner_token, hello.pool_size, hello.response_deadline) == ("t", 2, 30)
    assert "t" not in repr(hello).replace("pool", "").replace("deadline", "").replace("Hello", "")
    fallback = parse_hello(200, b'{"owner_token": "t", "response_deadline_seconds": 0}', 3)
    assert (fallback.pool_size, fallback.response_deadline) == (3, None)
    assert parse_hello(200, b'{"owner_token": "t"}', None).pool_size == 1
    for status, answer, kind in [
        (401, b"", "auth"),
        (403, b"{}", "auth"),
        (409, b'{"reason": "hello-superseded"}', "superseded"),
        (409, b'{"reason": "other"}', "transient"),
        (503, b"", "draining"),
        (500, b"", "transient"),
        (200, b"not json", "transient"),
        (200, b"", "transient"),
        (200, b'{"owner_token": ""}', "transient"),
    ]:
        with pytest.raises(HelloRejected) as caught:
            parse_hello(status, answer, None)
        assert caught.value.kind == kind, (status, answer)


def test_reference_backoff_schedule() -> None:
    draws = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    schedule = backoff_schedule(draws)
    assert [round(sleep, 6) for sleep, _ in schedule] == [
        0.75,
        1.6,
        3.4,
        7.2,
        15.2,
        30.0,
        31.5,
        33.0,
    ]
    assert [value for _, value in schedule] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_reset_and_floor() -> None:
    backoff = Backoff(1.0, 30.0, rng=lambda: 0.5)
    assert [backoff.next() for _ in range(3)] == [1.0, 2.0, 4.0]
    backoff.reset()
    assert backoff.next() == 1.0
    assert jittered(0.1, 0.0) == 0.1


def test_ids_that_would_escape_their_path_segment_are_refused() -> None:
    for bad in ("../hello", "a/b", "a b", "r\x00", "", "x" * 257, "%2e%2e"):
        assert parse_envelope([("inkbox-request-id", bad)]) is None, bad
    kept = parse_envelope(
        [
            ("inkbox-request-id", "req_7f0c-1.2~3"),
            ("inkbox-ws-id", "../x"),
            ("inkbox-tcp-id", "t/1"),
        ]
    )
    assert kept is not None
    assert (kept.request_id, kept.ws_id, kept.tcp_id) == ("req_7f0c-1.2~3", None, None)
