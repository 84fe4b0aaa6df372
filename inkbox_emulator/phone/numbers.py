"""Phone numbers: visibility, list, get, provision, update, release.

Visibility: admin keys and human sessions reach every active number of their
organisation; an identity-scoped key reaches only its own identity's number.
Anything else (another organisation's number, a released number, another
identity's number for a scoped key) answers **404**, as the service does.

Provision binds a new number to an identity by ``agent_handle`` (a
leading ``@`` is stripped; 404 when no such identity is visible); an identity
that already holds an active number answers **409**. A scoped key may only
provision for its own identity (403 otherwise). Only ``local`` numbers are
offered (the default); ``type: "toll_free"`` answers **422**, as the service
does since toll-free provisioning ended; ``state`` must be a known US state
code. Provision checks the new number's options and update the options as
they stand once the keys sent are applied: ``auto_accept`` needs a
``client_websocket_url``, ``webhook`` an ``incoming_call_webhook_url`` and
``forward`` a ``forwarding_target_type`` with its one target (``phone`` →
``forwarding_phone_number``, ``sip`` → ``forwarding_sip_uri``) (**422**
otherwise, also when a PATCH clears what the current action needs);
``hosted_agent`` needs nothing. ``filter_mode`` is admin-only (403 for scoped
keys) and a real change adds ``filter_mode_change_notice`` (counting the
identity's now-redundant rules).
Release (also the identity's ``DELETE …/phone_number``) is irreversible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inkbox_emulator.accounts.handles import normalize_handle
from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError, value_error
from inkbox_emulator.core.removed_fields import forbid_removed_field
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.validation import MISSING, Fields, Missing

from .allocation import AREA_CODES, insert_number
from .model import is_e164, number_record, settle_sms

__all__ = [
    "CALL_ACTIONS",
    "NumberPatch",
    "ProvisionRequest",
    "find_number",
    "find_number_by_e164",
    "get_number",
    "list_numbers",
    "mark_sms_ready",
    "check_forwarding",
    "check_new_number",
    "forwarding_fields",
    "forwarding_problem",
    "parse_number_patch",
    "parse_provision",
    "provision_number",
    "release_number",
    "update_number",
]

CALL_ACTIONS = ("auto_accept", "auto_reject", "webhook", "hosted_agent", "forward")
FILTER_MODES = ("whitelist", "blacklist")
FORWARDING_TYPES = ("phone", "sip")
FORWARDING = ("forwarding_target_type", "forwarding_phone_number", "forwarding_sip_uri")


@dataclass(frozen=True)
class ProvisionRequest:
    """A parsed provision body."""

    agent_handle: str
    type: str = "local"
    state: str | None = None
    incoming_call_action: str = "auto_reject"
    client_websocket_url: str | None = None
    incoming_call_webhook_url: str | None = None
    incoming_text_webhook_url: str | None = None
    filter_mode: str = "blacklist"
    forwarding: dict[str, str | None] = field(default_factory=dict)
    """``forwarding_target_type`` / ``forwarding_phone_number`` / ``forwarding_sip_uri``."""


@dataclass(frozen=True)
class NumberPatch:
    """A parsed update body (MISSING = leave unchanged; ``None`` clears a URL)."""

    incoming_call_action: str | Missing = MISSING
    client_websocket_url: str | Missing | None = MISSING
    incoming_call_webhook_url: str | Missing | None = MISSING
    incoming_text_webhook_url: str | Missing | None = MISSING
    filter_mode: str | Missing = MISSING
    forwarding_target_type: str | Missing | None = MISSING
    forwarding_phone_number: str | Missing | None = MISSING
    forwarding_sip_uri: str | Missing | None = MISSING


def _url(fields: Fields, name: str, schemes: tuple[str, ...]) -> str | Missing | None:
    value = fields.string(name, max_length=2048)
    if isinstance(value, str):
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in schemes or not rest.strip("/"):
            wanted = " or ".join(schemes)
            fields.error(
                name, "url_parsing", f"Input should be a valid URL with a {wanted} scheme", value
            )
    return value


def _call_fields(fields: Fields) -> dict[str, Any]:
    return {
        "incoming_call_action": fields.literal(
            "incoming_call_action", CALL_ACTIONS, nullable=False
        ),
        "client_websocket_url": _url(fields, "client_websocket_url", ("wss", "ws")),
        "incoming_call_webhook_url": _url(fields, "incoming_call_webhook_url", ("https", "http")),
        "incoming_text_webhook_url": forbid_removed_field(fields, "incoming_text_webhook_url"),
        "filter_mode": fields.literal("filter_mode", FILTER_MODES, nullable=False),
        **forwarding_fields(fields),
    }


def forwarding_fields(fields: Fields) -> dict[str, Any]:
    """The three ``forwarding_*`` fields as sent (MISSING when absent, ``None`` clears)."""
    number = fields.string("forwarding_phone_number", max_length=16)
    if isinstance(number, str) and not is_e164(number):
        fields.error(
            "forwarding_phone_number",
            "value_error",
            "Value error, forwarding_phone_number must be a complete E.164 number",
            number,
            error="invalid E.164 number",
        )
    sip = fields.string("forwarding_sip_uri", max_length=2048)
    if isinstance(sip, str) and (
        sip.partition(":")[0].lower() not in ("sip", "sips") or "@" not in sip
    ):
        fields.error(
            "forwarding_sip_uri",
            "value_error",
            "Value error, forwarding_sip_uri must be a SIP URI such as sip:desk@pbx.example.com",
            sip,
            error="invalid SIP URI",
        )
    return {
        "forwarding_target_type": fields.literal("forwarding_target_type", FORWARDING_TYPES),
        "forwarding_phone_number": number,
        "forwarding_sip_uri": sip,
    }


def forwarding_problem(
    action: str, kind: str | None, number: str | None, sip: str | None
) -> str | None:
    """Why the forwarding fields disagree with each other or with ``action`` (None if fine)."""
    if action == "forward" and kind is None:
        return "forwarding_target_type is required when incoming_call_action is forward"
    if kind == "phone" and (not number or sip):
        return "phone forwarding takes only forwarding_phone_number"
    if kind == "sip" and (not sip or number):
        return "SIP forwarding takes only forwarding_sip_uri"
    if kind is None and (number or sip):
        return "forwarding_target_type is required with a forwarding target"
    return None


def check_forwarding(action: str, kind: str | None, number: str | None, sip: str | None) -> None:
    """422 with :func:`forwarding_problem`'s reason, if any."""
    problem = forwarding_problem(action, kind, number, sip)
    if problem is not None:
        raise value_error(("body", "forwarding_target_type"), problem, kind)


def _call_url_problem(
    action: str, websocket: str | None, call_hook: str | None
) -> tuple[str, str, str | None] | None:
    """The URL ``action`` needs but lacks: (field, reason, value), or None."""
    if action == "auto_accept" and not websocket:
        reason = "client_websocket_url is required when incoming_call_action is auto_accept"
        return "client_websocket_url", reason, websocket
    if action == "webhook" and not call_hook:
        reason = "incoming_call_webhook_url is required when incoming_call_action is webhook"
        return "incoming_call_webhook_url", reason, call_hook
    return None


def _check_call_urls(action: str, websocket: str | None, call_hook: str | None) -> None:
    problem = _call_url_problem(action, websocket, call_hook)
    if problem is not None:
        name, reason, value = problem
        raise value_error(("body", name), reason, value)


def check_new_number(
    fields: Fields,
    *,
    action: str,
    state: str | None,
    websocket: str | None,
    call_hook: str | None,
    forwarding: dict[str, str | None],
) -> None:
    """Record in ``fields`` each rule a new number's options break (provision and identity
    create): an unknown ``state``, a URL the call action needs, forwarding that disagrees."""
    problems: list[tuple[str, str, str | None]] = []
    if state is not None and state not in AREA_CODES:
        problems.append(("state", "state must be a two-letter US state code", state))
    url = _call_url_problem(action, websocket, call_hook)
    if url is not None:
        problems.append(url)
    kind = forwarding.get("forwarding_target_type")
    forward = forwarding_problem(action, *(forwarding.get(name) for name in FORWARDING))
    if forward is not None:
        problems.append(("forwarding_target_type", forward, kind))
    for name, reason, value in problems:
        fields.error(name, "value_error", f"Value error, {reason}", value, error=reason)


def _opt(value: Any) -> Any:
    return None if isinstance(value, Missing) else value


def parse_provision(data: dict[str, Any]) -> ProvisionRequest:
    """Validate a provision body (422 listing every problem)."""
    fields = Fields(data)
    handle = fields.string("agent_handle", required=True, min_length=1)
    fields.literal("type", ("local",), nullable=False)
    state = fields.string("state")
    extra = _call_fields(fields)
    fields.raise_errors()
    action = extra["incoming_call_action"]
    request = ProvisionRequest(
        agent_handle=normalize_handle(handle),
        state=state.upper() if isinstance(state, str) and state else None,
        incoming_call_action=action if isinstance(action, str) else "auto_reject",
        client_websocket_url=_opt(extra["client_websocket_url"]),
        incoming_call_webhook_url=_opt(extra["incoming_call_webhook_url"]),
        incoming_text_webhook_url=_opt(extra["incoming_text_webhook_url"]),
        filter_mode=extra["filter_mode"] if isinstance(extra["filter_mode"], str) else "blacklist",
        forwarding={name: _opt(extra[name]) for name in FORWARDING},
    )
    check_new_number(
        fields,
        action=request.incoming_call_action,
        state=request.state,
        websocket=request.client_websocket_url,
        call_hook=request.incoming_call_webhook_url,
        forwarding=request.forwarding,
    )
    fields.raise_errors()
    return request


def parse_number_patch(data: dict[str, Any]) -> NumberPatch:
    """Validate an update body (only the keys sent)."""
    fields = Fields(data)
    extra = _call_fields(fields)
    fields.raise_errors()
    return NumberPatch(**extra)


# -- lookups -----------------------------------------------------------------------


def find_number(db: Db, principal: Principal, number_id: str) -> Any:
    """The active number of the path, as the caller may see it (404 otherwise)."""
    settle_sms(db)
    row = db.one(
        "SELECT * FROM phone_numbers WHERE id = ? AND organization_id = ? AND status != 'released'",
        (number_id, principal.organization_id),
    )
    if row is None or (
        principal.kind == "scoped" and row["agent_identity_id"] != principal.identity_id
    ):
        raise ApiError(404, "Phone number not found")
    return row


def find_number_by_e164(db: Db, number: str) -> Any:
    """The active emulator number with this E.164 value (any organisation), or ``None``."""
    settle_sms(db)
    return db.one(
        "SELECT * FROM phone_numbers WHERE number = ? AND status != 'released'", (number,)
    )


# -- operations ----------------------------------------------------------------------


def list_numbers(db: Db, principal: Principal) -> list[dict[str, Any]]:
    """``GET /api/v1/phone/numbers``: the caller's active numbers, oldest first."""
    settle_sms(db)
    rows = db.all(
        "SELECT * FROM phone_numbers WHERE organization_id = ? AND status != 'released' "
        "ORDER BY created_at, rowid",
        (principal.organization_id,),
    )
    return [
        number_record(r, db.now)
        for r in rows
        if principal.kind != "scoped" or r["agent_identity_id"] == principal.identity_id
    ]


def get_number(db: Db, principal: Principal, number_id: str) -> dict[str, Any]:
    """``GET /api/v1/phone/numbers/{id}``."""
    return number_record(find_number(db, principal, number_id), db.now)


def provision_number(db: Db, principal: Principal, request: ProvisionRequest) -> dict[str, Any]:
    """``POST /api/v1/phone/numbers``: a new number bound to an identity."""
    identity = db.one(
        "SELECT * FROM identities WHERE organization_id = ? AND agent_handle = ? "
        "AND status != 'deleted'",
        (principal.organization_id, request.agent_handle),
    )
    if identity is None:
        raise ApiError(404, f"Identity '{request.agent_handle}' not found")
    if principal.kind == "scoped" and identity["id"] != principal.identity_id:
        raise ApiError(403, "Agent-scoped API keys may only provision their own phone number")
    if db.one(
        "SELECT 1 FROM phone_numbers WHERE agent_identity_id = ? AND status != 'released'",
        (identity["id"],),
    ):
        raise ApiError(409, f"Identity '{request.agent_handle}' already has a phone number")
    row = insert_number(
        db,
        principal.organization_id,
        str(identity["id"]),
        type_=request.type,
        state=request.state,
        incoming_call_action=request.incoming_call_action,
        client_websocket_url=request.client_websocket_url,
        incoming_call_webhook_url=request.incoming_call_webhook_url,
        incoming_text_webhook_url=request.incoming_text_webhook_url,
        filter_mode=request.filter_mode,
        forwarding=request.forwarding,
    )
    return number_record(row, db.now)


def update_number(
    db: Db, principal: Principal, number_id: str, patch: NumberPatch
) -> dict[str, Any]:
    """``PATCH /api/v1/phone/numbers/{id}`` (see module docstring)."""
    row = find_number(db, principal, number_id)
    if not isinstance(patch.filter_mode, Missing) and not principal.is_org_admin:
        raise ApiError(403, "Changing filter_mode requires an admin-scoped API key")
    sets: dict[str, Any] = {
        name: getattr(patch, name)
        for name in (
            "incoming_call_action",
            "client_websocket_url",
            "incoming_call_webhook_url",
            "incoming_text_webhook_url",
            "filter_mode",
            *FORWARDING,
        )
        if not isinstance(getattr(patch, name), Missing)
    }
    merged = {**dict(row), **sets}
    _check_call_urls(
        merged["incoming_call_action"],
        merged["client_websocket_url"],
        merged["incoming_call_webhook_url"],
    )
    check_forwarding(
        merged["incoming_call_action"],
        *(merged[name] for name in FORWARDING),
    )
    sets["updated_at"] = db.now
    assignments = ", ".join(f"{col} = ?" for col in sets)
    db.exec(f"UPDATE phone_numbers SET {assignments} WHERE id = ?", (*sets.values(), row["id"]))
    record = number_record(db.one("SELECT * FROM phone_numbers WHERE id = ?", (row["id"],)), db.now)
    mode = sets.get("filter_mode")
    if mode is not None and mode != row["filter_mode"]:
        redundant = "block" if mode == "whitelist" else "allow"
        count = db.one(
            "SELECT COUNT(*) FROM phone_rules WHERE agent_identity_id = ? AND action = ? "
            "AND status = 'active' AND deleted_at IS NULL",
            (row["agent_identity_id"], redundant),
        )
        record["filter_mode_change_notice"] = {
            "new_filter_mode": mode,
            "redundant_rule_action": redundant,
            "redundant_rule_count": int(count[0]) if count else 0,
        }
    return record


def release_number(db: Db, principal: Principal, number_id: str) -> None:
    """``DELETE /api/v1/phone/numbers/{id}``: the identity loses its number for good."""
    row = find_number(db, principal, number_id)
    db.exec(
        "UPDATE phone_numbers SET status = 'released', released_at = ?, updated_at = ? "
        "WHERE id = ?",
        (db.now, db.now, row["id"]),
    )


def mark_sms_ready(db: Db, phone_number_id: str) -> dict[str, Any]:
    """End a number's 10DLC warm-up now (control API); returns the PhoneNumber."""
    settle_sms(db)
    row = db.one("SELECT * FROM phone_numbers WHERE id = ?", (phone_number_id,))
    if row is None:
        raise ApiError(404, "Phone number not found")
    if row["sms_status"] != "ready":
        db.exec(
            "UPDATE phone_numbers SET sms_status = 'ready', sms_ready_at = ?, updated_at = ? "
            "WHERE id = ?",
            (db.now, db.now, phone_number_id),
        )
    return number_record(
        db.one("SELECT * FROM phone_numbers WHERE id = ?", (phone_number_id,)), db.now
    )
