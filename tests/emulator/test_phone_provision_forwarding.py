"""``POST /api/v1/phone/numbers`` checks and stores forwarding like identity create does."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from .conftest import create_identity, unique
from .phone_support import P

PHONE = {
    "incoming_call_action": "forward",
    "forwarding_target_type": "phone",
    "forwarding_phone_number": "+15557654321",
}
SIP = {
    "incoming_call_action": "forward",
    "forwarding_target_type": "sip",
    "forwarding_sip_uri": "sip:desk@pbx.example.com",
}


def _provision(admin: httpx2.Client, **body: Any) -> httpx2.Response:
    handle = unique("fwd")
    create_identity(admin, handle)
    return admin.post(f"{P}/numbers", json={"agent_handle": handle, **body})


@pytest.mark.parametrize("target", [PHONE, SIP], ids=["phone", "sip"])
def test_forwarding_is_stored_and_returned(admin: httpx2.Client, target: dict[str, str]) -> None:
    response = _provision(admin, **target)
    assert response.status_code == 201, response.text
    number = response.json()
    assert {k: number[k] for k in target} == target
    fetched = admin.get(f"{P}/numbers/{number['id']}").json()
    assert {k: fetched[k] for k in target} == target


@pytest.mark.parametrize(
    "body",
    [
        {"incoming_call_action": "forward"},
        {"incoming_call_action": "forward", "forwarding_phone_number": "+15557654321"},
        {**PHONE, "forwarding_sip_uri": "sip:desk@pbx.example.com"},
        {"forwarding_target_type": "sip"},
    ],
    ids=["no-target", "no-type", "two-targets", "type-without-target"],
)
def test_forwarding_that_disagrees_is_refused(admin: httpx2.Client, body: dict[str, str]) -> None:
    response = _provision(admin, **body)
    assert response.status_code == 422, response.text
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", "forwarding_target_type"]
    assert item["type"] == "value_error"


def test_every_option_problem_is_listed_at_once(admin: httpx2.Client) -> None:
    response = _provision(admin, state="ZZ", incoming_call_action="forward")
    assert response.status_code == 422, response.text
    locs = [item["loc"] for item in response.json()["detail"]]
    assert locs == [["body", "state"], ["body", "forwarding_target_type"]]
