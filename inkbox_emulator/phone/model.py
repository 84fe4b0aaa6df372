"""Wire records of the phone API and the small shared phone helpers.

Every record carries every field of its response model, nullable ones as
``null``. A number's ``sms_status`` is stored ``pending`` with ``sms_ready_at``
set to the end of its 10DLC warm-up; :func:`number_record` shows ``ready``
once the emulator clock has passed that time (and :func:`settle_sms` writes it
back), so ``advance_clock`` ends the warm-up.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso, iso_or_none

__all__ = [
    "CALLS_LIMIT",
    "E164",
    "MINUTES_LIMIT",
    "call_record",
    "conversation_id",
    "participants",
    "is_e164",
    "number_record",
    "opt_in_record",
    "phone_error",
    "settle_sms",
    "text_record",
    "transcript_record",
]

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
"""An E.164 number: ``+``, a non-zero digit, 7 to 15 digits in all."""

CALLS_LIMIT = 100
"""Calls per phone number per rolling 24 h (the fixture's ``calls_limit``)."""
MINUTES_LIMIT = 300
"""Call minutes per phone number per rolling 24 h (the fixture's ``minutes_limit``)."""


def is_e164(value: object) -> bool:
    """Whether ``value`` is an E.164 string."""
    return isinstance(value, str) and E164.fullmatch(value) is not None


def phone_error(status: int, code: str, message: str, **extra: Any) -> ApiError:
    """A structured phone error: ``{"detail": {"error": code, "message": …, **extra}}``."""
    return ApiError(status, {"error": code, "message": message, **extra})


def _sms_ready(row: Any, now: float) -> bool:
    return (
        row["sms_status"] == "pending"
        and row["sms_ready_at"] is not None
        and (row["sms_ready_at"] <= now)
    )


def settle_sms(db: Db) -> None:
    """Write ``sms_status=ready`` on every number whose warm-up has ended."""
    db.exec(
        "UPDATE phone_numbers SET sms_status = 'ready', updated_at = sms_ready_at "
        "WHERE sms_status = 'pending' AND sms_ready_at IS NOT NULL AND sms_ready_at <= ?",
        (db.now,),
    )


def number_record(row: Any, now: float) -> dict[str, Any]:
    """PhoneNumber (also the identity's ``phone_number``)."""
    ready = _sms_ready(row, now)
    return {
        "id": row["id"],
        "number": row["number"],
        "type": row["type"],
        "status": row["status"],
        "sms_status": "ready" if ready else row["sms_status"],
        "sms_error_code": None,
        "sms_error_detail": None,
        "sms_ready_at": iso_or_none(row["sms_ready_at"]),
        "incoming_call_action": row["incoming_call_action"],
        "client_websocket_url": row["client_websocket_url"],
        "incoming_call_webhook_url": row["incoming_call_webhook_url"],
        "forwarding_target_type": row["forwarding_target_type"],
        "forwarding_phone_number": row["forwarding_phone_number"],
        "forwarding_sip_uri": row["forwarding_sip_uri"],
        "filter_mode": row["filter_mode"],
        "state": row["state"],
        "agent_identity_id": row["agent_identity_id"],
        "filter_mode_change_notice": None,
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["sms_ready_at"] if ready else row["updated_at"]),
    }


def call_record(row: Any) -> dict[str, Any]:
    """PhoneCall (with ``origin``/``mode``/``reason`` of the current wire)."""
    routing = routing_of(row)
    return {
        "id": row["id"],
        "local_phone_number": row["local_phone_number"],
        "remote_phone_number": row["remote_phone_number"],
        "direction": row["direction"],
        "status": row["status"],
        "client_websocket_url": row["client_websocket_url"],
        "use_inkbox_tts": None,
        "use_inkbox_stt": None,
        "hangup_reason": row["hangup_reason"],
        "started_at": iso_or_none(row["started_at"]),
        "ended_at": iso_or_none(row["ended_at"]),
        "is_blocked": bool(row["is_blocked"]),
        "origin": "dedicated_number",
        "mode": routing.get("mode") or "client_websocket",
        # inbound routing notes keep a webhook failure under "reason": not the call's brief
        "reason": routing.get("reason") if routing.get("action") == "outbound" else None,
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def transcript_record(row: Any) -> dict[str, Any]:
    """PhoneTranscript."""
    return {
        "id": row["id"],
        "call_id": row["call_id"],
        "seq": row["seq"],
        "ts_ms": row["ts_ms"],
        "party": row["party"],
        "text": row["text"],
        "created_at": iso(row["created_at"]),
    }


CONVERSATIONS = uuid.UUID("5b0c8f1e-3f0a-4c8e-9a51-2f4d6b7c8e90")
"""Namespace of the emulator's conversation ids (uuid5 of number id and conversation key)."""


def participants(key: str) -> list[str]:
    """The remote numbers of a conversation key (one, or a group's comma-joined numbers)."""
    return key.split(",")


def conversation_id(phone_number_id: str, key: str) -> str:
    """The stable id of the conversation ``key`` on a number."""
    return str(uuid.uuid5(CONVERSATIONS, f"{phone_number_id}/{key}"))


def text_record(row: Any, media: list[dict[str, Any]] | None) -> dict[str, Any]:
    """TextMessage, with the current wire's group fields.

    ``media`` are ``TextMediaItem``s (``None`` for SMS). A group text's
    ``remote_phone_number`` column holds its conversation key, the
    comma-joined participants: the record shows ``null`` and ``recipients``.
    """
    key = str(row["remote_phone_number"])
    group = participants(key) if "," in key else None
    outbound = row["direction"] == "outbound"
    return {
        "id": row["id"],
        "direction": row["direction"],
        "local_phone_number": row["local_phone_number"],
        "remote_phone_number": None if group else key,
        "conversation_id": conversation_id(str(row["phone_number_id"]), key),
        "sender_phone_number": row["local_phone_number"] if outbound else key,
        "recipients": None
        if group is None or not outbound
        else [
            {
                "recipient_phone_number": number,
                "delivery_status": row["delivery_status"],
                "error_code": row["error_code"],
                "error_detail": row["error_detail"],
                "sent_at": iso_or_none(row["sent_at"]),
                "delivered_at": iso_or_none(row["delivered_at"]),
                "failed_at": iso_or_none(row["failed_at"]),
            }
            for number in group
        ],
        "text": row["text"],
        "type": row["type"],
        "media": media or None,
        "is_read": bool(row["is_read"]),
        "delivery_status": row["delivery_status"],
        "origin": row["origin"],
        "error_code": row["error_code"],
        "error_detail": row["error_detail"],
        "sent_at": iso_or_none(row["sent_at"]),
        "delivered_at": iso_or_none(row["delivered_at"]),
        "failed_at": iso_or_none(row["failed_at"]),
        "is_blocked": bool(row["is_blocked"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def opt_in_record(row: Any) -> dict[str, Any]:
    """SmsOptIn."""
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "receiver_number": row["receiver_number"],
        "status": row["status"],
        "source": row["source"],
        "opted_in_at": iso_or_none(row["opted_in_at"]),
        "opted_out_at": iso_or_none(row["opted_out_at"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def routing_of(row: Any) -> dict[str, Any]:
    """The stored routing note of a call (how an inbound call was decided)."""
    value: dict[str, Any] = json.loads(row["routing"])
    return value
