"""The cross-language conformance fixtures for the passthrough plaintext parsers (tunnels.md App. C)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from inkbox_async._tunnel.plaintext_h1 import parse_h1_request
from inkbox_async._tunnel.plaintext_h2 import h2_request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tunnels"


def load(kind: str) -> list[Any]:
    paths = sorted((FIXTURES / kind).glob("*.json"))
    assert paths, f"no fixtures under {FIXTURES / kind}"
    return [pytest.param(json.loads(path.read_text()), id=path.stem) for path in paths]


def test_every_fixture_directory_is_covered() -> None:
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == {
        "h1_envelope_reference",
        "h2_transcode_reference",
    }


@pytest.mark.parametrize("fixture", load("h1_envelope_reference"))
def test_h1_envelope_reference(fixture: dict[str, Any]) -> None:
    expected = fixture["expected_dispatch_request"]
    request, body = parse_h1_request(fixture["input_raw_h1"].encode("latin-1"))
    assert request.method == expected["method"]
    assert request.target == expected["path"]
    assert request.is_websocket == expected["is_websocket"]
    assert request.transport == expected.get("transport", "h1")
    assert [list(pair) for pair in request.headers] == expected["headers"]
    assert body == base64.b64decode(expected.get("body_bytes_b64", ""))


@pytest.mark.parametrize("fixture", load("h2_transcode_reference"))
def test_h2_transcode_reference(fixture: dict[str, Any]) -> None:
    expected = fixture["expected_dispatch_request"]
    request = h2_request(
        [tuple(pair) for pair in fixture["input_h2_pseudo_headers"]]
        + [tuple(pair) for pair in fixture["input_h2_regular_headers"]]
    )
    assert request.method == expected["method"]
    assert request.target == expected["path"]
    assert request.is_websocket == expected["is_websocket"]
    assert request.transport == expected["transport"]
    for pair in expected["headers_must_contain"]:
        assert tuple(pair) in request.headers
    if "headers" in expected:
        assert [list(pair) for pair in request.headers] == expected["headers"]
