"""``GET /api/v1/phone/calls`` window bounds at the ends of the calendar: a 422 when the
bound cannot be computed (the day after 9999-12-31), never a 500; the first day still works."""

from __future__ import annotations

import httpx2
import pytest

from .phone_support import P, new_number
from .test_phone_calls_current import place

CALLS = f"{P}/calls"


@pytest.mark.parametrize("tz", [None, "Pacific/Kiritimati", "Etc/GMT+12"])
def test_extreme_bounds(admin: httpx2.Client, tz: str | None) -> None:
    number = new_number(admin, "local")
    call = place(admin, number).json()
    who = {"agent_identity_id": number["agent_identity_id"], **({"tz": tz} if tz else {})}

    def listed(**params: str) -> httpx2.Response:
        return admin.get(CALLS, params={**who, **params})

    for ok in (
        {"start_datetime": "0001-01-01"},
        {"start_datetime": "0001-01-01T00:00:00"},
        {"end_datetime": "9999-12-31T23:59:59"},
        {"start_datetime": "0001-01-01", "end_datetime": "9999-12-30"},
    ):
        response = listed(**ok)
        assert response.status_code == 200, (ok, response.text)
        assert [c["id"] for c in response.json()] == [call["id"]]
    overflow = listed(end_datetime="9999-12-31")
    assert overflow.status_code == 422, overflow.text
    (item,) = overflow.json()["detail"]
    assert item["loc"] == ["query", "end_datetime"] and item["input"] == "9999-12-31"
