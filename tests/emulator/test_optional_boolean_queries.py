"""Tri-state boolean query filters (``success``, ``is_read``, ``is_blocked``): absent is no
filter, a boolean spelling filters, anything else is a 422 naming the parameter."""

from __future__ import annotations

import httpx2
import pytest

from .phone_support import P, new_number


def _bad(response: httpx2.Response, name: str) -> None:
    assert response.status_code == 422, response.text
    (item,) = response.json()["detail"]
    assert item["loc"] == ["query", name] and item["type"] == "bool_parsing"


def test_delivery_success_filter(admin: httpx2.Client) -> None:
    path = "/api/v1/webhooks/deliveries"
    for params in ({}, {"success": "true"}, {"success": "0"}):
        response = admin.get(path, params=params)
        assert response.status_code == 200, (params, response.text)
    _bad(admin.get(path, params={"success": "maybe"}), "success")
    _bad(admin.get(path, params={"success": ""}), "success")


@pytest.mark.parametrize(
    ("where", "name"),
    [("texts", "is_read"), ("texts", "is_blocked"), ("calls", "is_blocked")],
)
def test_phone_filters(admin: httpx2.Client, where: str, name: str) -> None:
    path = f"{P}/numbers/{new_number(admin, 'local')['id']}/{where}"
    for params in ({}, {name: "yes"}, {name: "off"}):
        response = admin.get(path, params=params)
        assert response.status_code == 200, (params, response.text)
    _bad(admin.get(path, params={name: "sometimes"}), name)
