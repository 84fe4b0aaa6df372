"""Calls: placing, inbound routing state, usage, transcripts.

Placing a call: ``from_number`` is the E.164 number of an active number
the caller may use (403 otherwise: another org's, a released or an unknown
number, or another identity's for a scoped key); the contact-rule verdict on
``to_number`` may answer **403** ``recipient_blocked``; then the usage limit
is checked. The call is stored ``initiated`` and moves ``ringing`` →
``answered`` (``started_at``) → ``completed`` (``ended_at``,
``hangup_reason=remote``), one step every ``call_status_delay`` seconds.
``client_websocket_url`` falls back to the number's.

Usage (``rate_limit``, RateLimitInfo) is counted **per number** over the
rolling 24 h of the emulator clock: every call placed or received that was not
blocked counts as one call; every call that was answered bills whole minutes,
rounded up (at least 1; an ongoing call bills up to now). Limits are
:data:`CALLS_LIMIT` calls and :data:`MINUTES_LIMIT` minutes. When either is
used up, placing a call answers **429** ``{"error": "call_rate_limited", "message",
"calls_limit", "minutes_limit", "retry_after_seconds"}`` with ``Retry-After``
and ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` headers.

The current routes: ``GET /phone/calls`` lists one identity's calls (every
number it held; admin keys and humans must pass ``agent_identity_id``, 422
otherwise; identity-scoped keys get their own, 403 for another's), filtered by
``start_datetime``/``end_datetime`` (a bare date is a whole day, zone-less
values are in ``tz``, default UTC); ``GET /phone/calls/{id}`` and
``…/transcripts`` read one call; ``POST …/hangup`` ends a live call
(``hangup_reason=local``; ``completed`` once answered, ``canceled`` before)
and answers **409** ``call_not_active`` once it ended. Placing also checks the
organisation's live calls: at :data:`CONCURRENT_CALLS_LIMIT` it answers **429**
``concurrent_calls_limit`` with ``Retry-After``. ``mode=hosted_agent`` calls
(Inkbox Voice AI, with a ``reason``) run the same lifecycle without a
WebSocket; the emulator has no iMessage lines, so only ``dedicated_number``
origination is accepted (the route checks the body's shape).

Inbound calls are created by :func:`create_inbound_call` and decided by
``phone.call_routing``: ``auto_accept`` answers at once, ``auto_reject`` ends
``canceled`` with ``hangup_reason=rejected``, ``webhook`` leaves the call
``initiated`` until :func:`finish_inbound_call` applies the receiver's reply
(answer → ``answered`` then ``completed``; reject → ``canceled``/``rejected``;
a non-200 reply, a bad body or a timeout declines routing → ``failed`` with
no hangup reason). A caller blocked by the number's contact rules is stored
``failed``/``rejected`` with ``is_blocked=true`` and never reaches a webhook.
Identity-scoped keys never see blocked calls.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError, value_error
from inkbox_emulator.core.events import Later, WebhookEvent
from inkbox_emulator.core.store import Db
from inkbox_emulator.webhooks.fanout import emit_call_ended, phone_parties

from .model import (
    CALLS_LIMIT,
    MINUTES_LIMIT,
    call_record,
    is_e164,
    routing_of,
    transcript_record,
)
from .numbers import find_number, find_number_by_e164
from .rules import check_outbound, verdict

__all__ = [
    "CALL_EVENT_TYPE",
    "PARTIES",
    "WINDOW_SECONDS",
    "InboundPlan",
    "advance_call",
    "append_transcript",
    "create_inbound_call",
    "find_call",
    "finish_inbound_call",
    "get_call",
    "get_call_by_id",
    "hangup_call",
    "inbound_call_result",
    "list_calls",
    "list_identity_calls",
    "list_transcripts",
    "place_call",
    "rate_limit",
    "search_transcripts",
    "transcripts_by_id",
]

WINDOW_SECONDS = 24 * 3600
LIVE_STATUSES = ("initiated", "ringing", "answered")
CONCURRENT_CALLS_LIMIT = 10
"""Live calls an organization may have at once (429 ``concurrent_calls_limit`` beyond)."""
CONCURRENT_RETRY_AFTER = 5
CAPACITY_RETRY_AFTER = 1
PARTIES = ("local", "remote", "system")
CALL_EVENT_TYPE = "phone.incoming_call"
"""The ``event_type`` under which incoming-call POSTs appear in ``webhook_deliveries()``
(the payload itself is flat and has no event type)."""

InboundPlan = tuple[str, WebhookEvent | None]
"""``(call id, the incoming-call webhook to POST, or None when already decided)``."""


# -- usage ---------------------------------------------------------------------------------


def _usage(db: Db, number_id: str) -> tuple[int, float, float | None]:
    rows = db.all(
        "SELECT created_at, started_at, ended_at FROM phone_calls WHERE phone_number_id = ? "
        "AND is_blocked = 0 AND created_at > ? ORDER BY created_at",
        (number_id, db.now - WINDOW_SECONDS),
    )
    minutes = 0.0
    for row in rows:
        if row["started_at"] is not None:
            end = row["ended_at"] if row["ended_at"] is not None else db.now
            minutes += max(1, math.ceil(max(0.0, end - row["started_at"]) / 60))
    oldest = float(rows[0]["created_at"]) if rows else None
    return len(rows), minutes, oldest


def rate_limit(db: Db, number_id: str) -> dict[str, Any]:
    """RateLimitInfo of one number, now."""
    calls, minutes, _ = _usage(db, number_id)
    return {
        "calls_used": calls,
        "calls_remaining": max(0, CALLS_LIMIT - calls),
        "calls_limit": CALLS_LIMIT,
        "minutes_used": float(minutes),
        "minutes_remaining": float(max(0.0, MINUTES_LIMIT - minutes)),
        "minutes_limit": MINUTES_LIMIT,
    }


def _check_rate(db: Db, number: Any) -> None:
    calls, minutes, oldest = _usage(db, str(number["id"]))
    if calls < CALLS_LIMIT and minutes < MINUTES_LIMIT:
        return
    reset = (oldest or db.now) + WINDOW_SECONDS
    retry = max(1, math.ceil(reset - db.now))
    what = "calls" if calls >= CALLS_LIMIT else "call minutes"
    raise ApiError(
        429,
        {
            "error": "call_rate_limited",
            "message": f"This number has used up its {what} for the rolling 24 hours",
            "calls_limit": CALLS_LIMIT,
            "minutes_limit": MINUTES_LIMIT,
            "retry_after_seconds": retry,
        },
        headers={
            "Retry-After": str(retry),
            "X-RateLimit-Limit": str(CALLS_LIMIT),
            "X-RateLimit-Remaining": str(max(0, CALLS_LIMIT - calls)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        },
    )


# -- lifecycle -------------------------------------------------------------------------------


def _load(db: Db, call_id: str) -> Any:
    return db.one("SELECT * FROM phone_calls WHERE id = ?", (call_id,))


def _later(db: Db, call_id: str) -> None:
    db.emit(Later(db.settings.call_status_delay, partial(advance_call, call_id=call_id)))


def _insert(db: Db, number: Any, remote: str, direction: str, **values: Any) -> str:
    call_id = str(uuid.uuid4())
    db.insert(
        "phone_calls",
        {
            "id": call_id,
            "organization_id": number["organization_id"],
            "phone_number_id": number["id"],
            "local_phone_number": number["number"],
            "remote_phone_number": remote,
            "direction": direction,
            "created_at": db.now,
            "updated_at": db.now,
            **values,
        },
    )
    return call_id


def advance_call(db: Db, call_id: str) -> None:
    """One step of a call: initiated → ringing → answered → completed."""
    row = _load(db, call_id)
    if row is None:
        return
    status = row["status"]
    if status == "initiated":
        db.exec(
            "UPDATE phone_calls SET status = 'ringing', updated_at = ? WHERE id = ?",
            (db.now, call_id),
        )
    elif status == "ringing":
        db.exec(
            "UPDATE phone_calls SET status = 'answered', started_at = ?, updated_at = ? "
            "WHERE id = ?",
            (db.now, db.now, call_id),
        )
    elif status == "answered":
        db.exec(
            "UPDATE phone_calls SET status = 'completed', ended_at = ?, hangup_reason = ?, "
            "updated_at = ? WHERE id = ?",
            (db.now, "remote", db.now, call_id),
        )
        emit_call_ended(db, _load(db, call_id))
        return
    else:
        return
    _later(db, call_id)


def _check_capacity(db: Db) -> None:
    capacity = db.settings.call_capacity
    if capacity is None:
        return
    live = db.one(
        f"SELECT COUNT(*) FROM phone_calls WHERE status IN ({', '.join('?' * len(LIVE_STATUSES))})",
        LIVE_STATUSES,
    )
    if live is not None and int(live[0]) >= capacity:
        raise ApiError(
            503,
            {"error": "call_capacity_busy", "message": "No call capacity is free right now"},
            headers={"Retry-After": str(CAPACITY_RETRY_AFTER)},
        )


def _check_concurrency(db: Db, organization_id: str) -> None:
    live = db.one(
        "SELECT COUNT(*) FROM phone_calls WHERE organization_id = ? AND status IN "
        f"({', '.join('?' * len(LIVE_STATUSES))})",
        (organization_id, *LIVE_STATUSES),
    )
    if live is not None and int(live[0]) >= CONCURRENT_CALLS_LIMIT:
        raise ApiError(
            429,
            {
                "error": "concurrent_calls_limit",
                "message": f"The organization already has {CONCURRENT_CALLS_LIMIT} live calls",
                "limit": CONCURRENT_CALLS_LIMIT,
            },
            headers={"Retry-After": str(CONCURRENT_RETRY_AFTER)},
        )


def place_call(
    db: Db,
    principal: Principal,
    from_number: str | None,
    to_number: str,
    client_websocket_url: str | None,
    mode: str = "client_websocket",
    reason: str | None = None,
) -> dict[str, Any]:
    """``POST /api/v1/phone/place-call``: PhoneCallWithRateLimit (dedicated-number origination;
    the route checks the body's shape)."""
    number = find_number_by_e164(db, from_number) if from_number else None
    if (
        number is None
        or number["organization_id"] != principal.organization_id
        or (principal.kind == "scoped" and number["agent_identity_id"] != principal.identity_id)
    ):
        raise ApiError(403, f"{from_number} is not an active phone number you may call from")
    check_outbound(db, number, to_number)
    _check_rate(db, number)
    _check_concurrency(db, str(number["organization_id"]))
    _check_capacity(db)
    call_id = _insert(
        db,
        number,
        to_number,
        "outbound",
        status="initiated",
        client_websocket_url=None
        if mode == "hosted_agent"
        else client_websocket_url or number["client_websocket_url"],
        routing=json.dumps({"action": "outbound", "mode": mode, "reason": reason}),
    )
    _later(db, call_id)
    return {**call_record(_load(db, call_id)), "rate_limit": rate_limit(db, str(number["id"]))}


# -- inbound ---------------------------------------------------------------------------------------


def _route(db: Db, call_id: str, routing: dict[str, Any], **sets: Any) -> None:
    sets["routing"] = json.dumps(routing)
    sets["updated_at"] = db.now
    assignments = ", ".join(f"{col} = ?" for col in sets)
    db.exec(f"UPDATE phone_calls SET {assignments} WHERE id = ?", (*sets.values(), call_id))


_NOT_IN_HOOK = frozenset({"is_blocked", "origin", "mode", "reason"})
"""PhoneCall keys the flat incoming-call payload does not carry."""


def create_inbound_call(db: Db, to_number: str, from_number: str) -> InboundPlan:
    """Store a call from the outside world and decide it when no webhook is involved."""
    if not is_e164(from_number):
        raise value_error(
            ("body", "from_number"), "from_number must be an E.164 number", from_number
        )
    if not is_e164(to_number):
        raise value_error(("body", "to_number"), "to_number must be an E.164 number", to_number)
    number = find_number_by_e164(db, to_number)
    if number is None:
        raise ApiError(404, f"{to_number} is not an active emulator phone number")
    action = str(number["incoming_call_action"])
    allowed, rule_id = verdict(db, number, from_number)
    if not allowed:
        call_id = _insert(
            db,
            number,
            from_number,
            "inbound",
            status="failed",
            hangup_reason="rejected",
            is_blocked=1,
            ended_at=db.now,
            routing=json.dumps(
                {"action": action, "outcome": "blocked", "matched_rule_id": rule_id}
            ),
        )
        return call_id, None
    call_id = _insert(db, number, from_number, "inbound", status="initiated")
    if action == "auto_accept":
        _route(
            db,
            call_id,
            {"action": action, "outcome": "answered"},
            status="answered",
            started_at=db.now,
            client_websocket_url=number["client_websocket_url"],
        )
        _later(db, call_id)
        return call_id, None
    if action != "webhook" or not number["incoming_call_webhook_url"]:
        _route(
            db,
            call_id,
            {"action": action, "outcome": "rejected"},
            status="canceled",
            hangup_reason="rejected",
            ended_at=db.now,
        )
        emit_call_ended(db, _load(db, call_id))
        return call_id, None
    payload = {
        **{k: v for k, v in call_record(_load(db, call_id)).items() if k not in _NOT_IN_HOOK},
        "rate_limit": rate_limit(db, str(number["id"])),
    }
    payload["contacts"], payload["agent_identities"] = phone_parties(
        db, str(number["organization_id"]), from_number, number["agent_identity_id"]
    )
    _route(db, call_id, {"action": action, "outcome": "pending"})
    event = WebhookEvent(
        organization_id=str(number["organization_id"]),
        url=str(number["incoming_call_webhook_url"]),
        event_type=CALL_EVENT_TYPE,
        body=json.dumps(payload, separators=(",", ":")).encode(),
        phone_number_id=str(number["id"]),
        signer_identity_id=number["agent_identity_id"],
    )
    return call_id, event


def finish_inbound_call(
    db: Db,
    call_id: str,
    decision: str,
    client_websocket_url: str | None,
    note: dict[str, Any],
) -> None:
    """Apply a webhook decision: ``answer``, ``reject`` or ``declined`` (see module docstring)."""
    row = _load(db, call_id)
    if row is None or row["status"] != "initiated":
        return
    number = db.one("SELECT * FROM phone_numbers WHERE id = ?", (row["phone_number_id"],))
    routing = {**routing_of(row), **note}
    if decision == "answer":
        routing["outcome"] = "answered"
        fallback = number["client_websocket_url"] if number is not None else None
        _route(
            db,
            call_id,
            routing,
            status="answered",
            started_at=db.now,
            client_websocket_url=client_websocket_url or fallback,
        )
        _later(db, call_id)
    elif decision == "reject":
        routing["outcome"] = "rejected"
        _route(db, call_id, routing, status="canceled", hangup_reason="rejected", ended_at=db.now)
        emit_call_ended(db, _load(db, call_id))
    else:
        routing["outcome"] = "declined"
        _route(db, call_id, routing, status="failed", ended_at=db.now)
        emit_call_ended(db, _load(db, call_id))


def inbound_call_result(db: Db, call_id: str) -> dict[str, Any]:
    """The call record plus ``routing`` (how the emulator decided it)."""
    row = _load(db, call_id)
    return {**call_record(row), "routing": routing_of(row)}


# -- reads ---------------------------------------------------------------------------------------


def _visible(principal: Principal, is_blocked: bool | None) -> tuple[str, list[Any]]:
    if principal.kind == "scoped":
        return " AND is_blocked = 0", []
    if is_blocked is None:
        return "", []
    return " AND is_blocked = ?", [int(is_blocked)]


def list_calls(
    db: Db, principal: Principal, number_id: str, limit: int, offset: int, is_blocked: bool | None
) -> list[dict[str, Any]]:
    """``GET …/numbers/{id}/calls``: newest first."""
    number = find_number(db, principal, number_id)
    extra, params = _visible(principal, is_blocked)
    rows = db.all(
        f"SELECT * FROM phone_calls WHERE phone_number_id = ?{extra} "
        "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
        [number["id"], *params, limit, offset],
    )
    return [call_record(r) for r in rows]


def _find_call(db: Db, principal: Principal, number_id: str, call_id: str) -> Any:
    number = find_number(db, principal, number_id)
    extra, params = _visible(principal, None)
    row = db.one(
        f"SELECT * FROM phone_calls WHERE id = ? AND phone_number_id = ?{extra}",
        [call_id, number["id"], *params],
    )
    if row is None:
        raise ApiError(404, "Call not found")
    return row


def get_call(db: Db, principal: Principal, number_id: str, call_id: str) -> dict[str, Any]:
    """``GET …/calls/{call_id}``."""
    return call_record(_find_call(db, principal, number_id, call_id))


def list_transcripts(
    db: Db, principal: Principal, number_id: str, call_id: str
) -> list[dict[str, Any]]:
    """``GET …/calls/{call_id}/transcripts``: sorted by ``seq``."""
    call = _find_call(db, principal, number_id, call_id)
    rows = db.all("SELECT * FROM phone_transcripts WHERE call_id = ? ORDER BY seq", (call["id"],))
    return [transcript_record(r) for r in rows]


def search_transcripts(
    db: Db, principal: Principal, number_id: str, q: str, party: str | None, limit: int
) -> list[dict[str, Any]]:
    """``GET …/numbers/{id}/search``: segments containing every word of ``q``
    (case-insensitive), newest call first, then by ``seq``."""
    number = find_number(db, principal, number_id)
    where, params = "c.phone_number_id = ?", [number["id"]]
    if principal.kind == "scoped":
        where += " AND c.is_blocked = 0"
    if party is not None:
        where += " AND t.party = ?"
        params.append(party)
    for term in q.split():
        where += " AND instr(lower(t.text), ?) > 0"
        params.append(term.lower())
    rows = db.all(
        "SELECT t.* FROM phone_transcripts t JOIN phone_calls c ON c.id = t.call_id "
        f"WHERE {where} ORDER BY c.created_at DESC, c.rowid DESC, t.seq LIMIT ?",
        [*params, limit],
    )
    return [transcript_record(r) for r in rows]


def append_transcript(db: Db, call_id: str, party: str, text: str) -> dict[str, Any]:
    """Add the next transcript segment of a call (control API); returns the PhoneTranscript."""
    if party not in PARTIES:
        raise value_error(("body", "party"), f"party must be one of {', '.join(PARTIES)}", party)
    if not text.strip():
        raise value_error(("body", "text"), "text must not be empty", text)
    call = _load(db, call_id)
    if call is None:
        raise ApiError(404, "Call not found")
    last = db.one("SELECT MAX(seq) FROM phone_transcripts WHERE call_id = ?", (call_id,))
    seq = 0 if last is None or last[0] is None else int(last[0]) + 1
    origin = call["started_at"] if call["started_at"] is not None else call["created_at"]
    row = {
        "id": str(uuid.uuid4()),
        "call_id": call_id,
        "seq": seq,
        "ts_ms": max(0, int((db.now - origin) * 1000)),
        "party": party,
        "text": text,
        "created_at": db.now,
    }
    db.insert("phone_transcripts", row)
    return transcript_record(row)


# -- the current routes: /phone/calls ----------------------------------------------------------


def _moment(value: str | None, zone: Any, name: str, *, end: bool) -> float | None:
    """A ``start_datetime``/``end_datetime`` bound: a bare date is the whole day in ``zone``."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).replace(tzinfo=zone)
            return (day + timedelta(days=1 if end else 0)).timestamp()
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.timestamp()
    except (ValueError, OverflowError):  # OverflowError: the day after 9999-12-31
        message = f"{name} must be an ISO 8601 date or datetime"
        raise value_error(("query", name), message, value) from None


def list_identity_calls(
    db: Db,
    principal: Principal,
    agent_identity_id: str | None,
    limit: int,
    offset: int,
    is_blocked: bool | None,
    window: tuple[str | None, str | None, str | None],
) -> list[dict[str, Any]]:
    """``GET /api/v1/phone/calls``: one identity's calls (every number it held), newest first.

    Identity-scoped keys list their own identity; admin keys and humans must
    name one (``agent_identity_id``, 422 otherwise).
    """
    if principal.kind == "scoped":
        if agent_identity_id not in (None, principal.identity_id):
            raise ApiError(403, "Agent-scoped API keys may only list their own calls")
        agent_identity_id = principal.identity_id
    elif agent_identity_id is None:
        raise ApiError(
            422,
            [
                {
                    "type": "missing",
                    "loc": ["query", "agent_identity_id"],
                    "msg": "agent_identity_id is required for admin and human callers",
                    "input": None,
                }
            ],
        )
    identity = db.one(
        "SELECT id FROM identities WHERE id = ? AND organization_id = ? AND status != 'deleted'",
        (agent_identity_id, principal.organization_id),
    )
    if identity is None:
        raise ApiError(404, "Agent identity not found")
    start, end, tz = window
    try:
        zone: Any = ZoneInfo(tz) if tz else UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise value_error(("query", "tz"), "tz must be an IANA time zone name", tz) from None
    extra, params = _visible(principal, is_blocked)
    low = _moment(start, zone, "start_datetime", end=False)
    high = _moment(end, zone, "end_datetime", end=True)
    if low is not None:
        extra += " AND c.created_at >= ?"
        params.append(low)
    if high is not None:
        whole_day = end is not None and len(end) == 10
        extra += " AND c.created_at < ?" if whole_day else " AND c.created_at <= ?"
        params.append(high)
    rows = db.all(
        "SELECT c.* FROM phone_calls c JOIN phone_numbers n ON n.id = c.phone_number_id "
        f"WHERE n.agent_identity_id = ?{extra} "
        "ORDER BY c.created_at DESC, c.rowid DESC LIMIT ? OFFSET ?",
        [agent_identity_id, *params, limit, offset],
    )
    return [call_record(r) for r in rows]


def find_call(db: Db, principal: Principal, call_id: str) -> Any:
    """A call of the caller's organisation (a scoped key: its identity's, never blocked)."""
    row = db.one(
        "SELECT c.*, n.agent_identity_id AS owner FROM phone_calls c "
        "JOIN phone_numbers n ON n.id = c.phone_number_id "
        "WHERE c.id = ? AND c.organization_id = ?",
        (call_id, principal.organization_id),
    )
    if row is None or (
        principal.kind == "scoped" and (row["owner"] != principal.identity_id or row["is_blocked"])
    ):
        raise ApiError(404, "Call not found")
    return row


def get_call_by_id(db: Db, principal: Principal, call_id: str) -> dict[str, Any]:
    """``GET /api/v1/phone/calls/{id}``."""
    return call_record(find_call(db, principal, call_id))


def transcripts_by_id(db: Db, principal: Principal, call_id: str) -> list[dict[str, Any]]:
    """``GET /api/v1/phone/calls/{id}/transcripts``: sorted by ``seq``."""
    call = find_call(db, principal, call_id)
    rows = db.all("SELECT * FROM phone_transcripts WHERE call_id = ? ORDER BY seq", (call["id"],))
    return [transcript_record(r) for r in rows]


def hangup_call(db: Db, principal: Principal, call_id: str) -> dict[str, Any]:
    """``POST /api/v1/phone/calls/{id}/hangup``: end a live call (409 once it ended)."""
    row = find_call(db, principal, call_id)
    if row["status"] not in LIVE_STATUSES:
        raise ApiError(
            409,
            {"error": "call_not_active", "message": f"The call already ended ({row['status']})"},
        )
    answered = row["status"] == "answered"
    db.exec(
        "UPDATE phone_calls SET status = ?, hangup_reason = 'local', ended_at = ?, updated_at = ? "
        "WHERE id = ?",
        ("completed" if answered else "canceled", db.now, db.now, call_id),
    )
    row = _load(db, call_id)
    emit_call_ended(db, row)
    return call_record(row)
