"""``context_config`` with a ``mode`` that is not a string (a list, an object) is a 422
naming the field, on create and on update, never a 500."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from .conftest import create_identity, unique

S = "/api/v1/webhooks/subscriptions"
MAIL = ["message.received"]
MODES: list[Any] = [["count"], {"count": 3}, [], {}]


def _refused(response: httpx2.Response) -> None:
    assert response.status_code == 422, response.text
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", "context_config"] and item["type"] == "value_error"


@pytest.mark.parametrize("klass", ["email", "texts", "calls"])
@pytest.mark.parametrize("mode", MODES, ids=["list", "object", "empty-list", "empty-object"])
def test_unhashable_mode_is_422(admin: httpx2.Client, klass: str, mode: Any) -> None:
    owner = create_identity(admin, unique("ctx"))["id"]
    config = {klass: {"mode": mode, "count": 3}}
    base = {"url": "https://x.test/h", "event_types": MAIL, "agent_identity_id": owner}
    _refused(admin.post(S, json={**base, "context_config": config}))
    created = admin.post(S, json=base)
    assert created.status_code == 201, created.text
    _refused(admin.patch(f"{S}/{created.json()['id']}", json={"context_config": config}))
