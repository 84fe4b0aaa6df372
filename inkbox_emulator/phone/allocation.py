"""The emulator's deterministic phone-number pool and the one place numbers are created.

Numbers are handed out in order from ``+1833555xxxx`` (toll-free) or
``+1<area>555xxxx`` (local, the area code of the requested US state, 212 when
none is given); released numbers are never handed out again. A new local
number starts ``sms_status=pending`` with ``sms_ready_at`` = creation time +
the emulator's ``sms_ready_delay`` (emulator clock); toll-free numbers are
``ready`` at once (they still cannot send: see ``phone.texts``).
"""

from __future__ import annotations

import uuid
from typing import Any

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db

__all__ = ["AREA_CODES", "TOLL_FREE_PREFIX", "allocate_number", "insert_number", "number_prefix"]

TOLL_FREE_PREFIX = "+1833555"
"""Toll-free numbers are ``+1833555`` followed by four digits, handed out in order."""

DEFAULT_LOCAL_AREA_CODE = "212"

AREA_CODES: dict[str, str] = {
    "AL": "205", "AK": "907", "AZ": "602", "AR": "501", "CA": "415", "CO": "303",
    "CT": "203", "DE": "302", "DC": "202", "FL": "305", "GA": "404", "HI": "808",
    "ID": "208", "IL": "312", "IN": "317", "IA": "515", "KS": "316", "KY": "502",
    "LA": "504", "ME": "207", "MD": "410", "MA": "617", "MI": "313", "MN": "612",
    "MS": "601", "MO": "314", "MT": "406", "NE": "402", "NV": "702", "NH": "603",
    "NJ": "201", "NM": "505", "NY": "212", "NC": "704", "ND": "701", "OH": "216",
    "OK": "405", "OR": "503", "PA": "215", "RI": "401", "SC": "803", "SD": "605",
    "TN": "615", "TX": "512", "UT": "801", "VT": "802", "VA": "804", "WA": "206",
    "WV": "304", "WI": "414", "WY": "307",
}  # fmt: skip
"""One area code per US state (plus DC) for local numbers: ``+1<area>555xxxx``."""


def number_prefix(type_: str, state: str | None) -> str:
    """The E.164 prefix (all but the last four digits) for a new number."""
    if type_ == "toll_free":
        return TOLL_FREE_PREFIX
    area = AREA_CODES.get(state or "", DEFAULT_LOCAL_AREA_CODE)
    return f"+1{area}555"


def allocate_number(db: Db, prefix: str) -> str:
    """The first never-used number with ``prefix`` (503 when the pool is exhausted)."""
    used = {
        str(r[0])
        for r in db.all("SELECT number FROM phone_numbers WHERE number LIKE ?", (prefix + "%",))
    }
    for n in range(1, 10000):
        candidate = f"{prefix}{n:04d}"
        if candidate not in used:
            return candidate
    raise ApiError(503, "The emulator's phone-number pool is exhausted")


def insert_number(
    db: Db,
    organization_id: str,
    identity_id: str,
    *,
    type_: str,
    state: str | None,
    incoming_call_action: str = "auto_reject",
    client_websocket_url: str | None = None,
    incoming_call_webhook_url: str | None = None,
    incoming_text_webhook_url: str | None = None,
    filter_mode: str = "blacklist",
    forwarding: dict[str, str | None] | None = None,
) -> Any:
    """Allocate a number, bind it to ``identity_id`` and return the new row."""
    number_id = str(uuid.uuid4())
    local = type_ == "local"
    db.insert(
        "phone_numbers",
        {
            "id": number_id,
            "organization_id": organization_id,
            "agent_identity_id": identity_id,
            "number": allocate_number(db, number_prefix(type_, state)),
            "type": type_,
            "status": "active",
            "sms_status": "pending" if local else "ready",
            "sms_ready_at": db.now + db.settings.sms_ready_delay if local else db.now,
            "incoming_call_action": incoming_call_action,
            "client_websocket_url": client_websocket_url,
            "incoming_call_webhook_url": incoming_call_webhook_url,
            "incoming_text_webhook_url": incoming_text_webhook_url,
            "filter_mode": filter_mode,
            "state": (state or "NY") if local else None,
            "created_at": db.now,
            "updated_at": db.now,
            **(forwarding or {}),
        },
    )
    return db.one("SELECT * FROM phone_numbers WHERE id = ?", (number_id,))
