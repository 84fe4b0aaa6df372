"""Webhook subscriptions, the delivery log and per-identity signing keys.

Subscriptions are owned by an identity (``agent_identity_id``) or, legacy, by a
mailbox or phone number; either way ``owner_identity_id`` is the identity
whose signing key signs the deliveries. The first subscription of an identity
with no key mints one and returns it once as ``signing_key``. A subscription
whose event types span several families (``message.``, ``text.``, ``call.``)
is *mixed*: lists leave it out unless ``scope=identity``, and PATCH / DELETE
of it need ``?scope=identity`` (409 ``identity_scope_required`` otherwise).
Identity-scoped keys see and manage only their own identity's subscriptions
and deliveries; admin keys and human sessions see the whole organisation.

Every delivery attempt is one row of the delivery log; rows of subscription
deliveries are ``replayable`` (the incoming-call webhook's are not: 422).
A replay re-sends the logged body (same envelope ``id``) to the
subscription's current URL, freshly signed, as a new row with
``is_replay=true``; 409 when the subscription is gone or no longer wants the
event type.

The org-level ``POST /signing-keys`` is deprecated and sunset after
2026-08-31 (:data:`ORG_SIGNING_KEYS_SUNSET`, an emulator setting): before the
cutoff an identity-scoped key rotates its own identity's key and an admin key
gets 409 ``signing_key_identity_required`` pointing at
``POST /identities/{agent_handle}/signing-key``; from the cutoff on (by the
emulator clock) every caller gets 410 ``endpoint_sunset``.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inkbox_emulator.accounts.model import Principal
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.events import WebhookEvent
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso, iso_or_none
from inkbox_emulator.identities.model import find_identity

__all__ = [
    "EVENT_CATALOG",
    "ORG_SIGNING_KEYS_SUNSET",
    "DeliveryFilter",
    "NewSubscription",
    "SubscriptionFilter",
    "SubscriptionPatch",
    "catalog",
    "create_identity_signing_key",
    "create_subscription",
    "delete_subscription",
    "delivery_record",
    "get_subscription",
    "identity_signing_key",
    "identity_signing_key_status",
    "list_deliveries",
    "list_subscriptions",
    "log_delivery",
    "org_signing_key",
    "replay_event",
    "update_subscription",
]

MAIL_EVENTS = (
    "message.received",
    "message.sent",
    "message.forwarded",
    "message.delivered",
    "message.bounced",
    "message.failed",
)
TEXT_EVENTS = (
    "text.received",
    "text.sent",
    "text.delivered",
    "text.delivery_failed",
    "text.delivery_unconfirmed",
)
EVENT_CATALOG = (*MAIL_EVENTS, *TEXT_EVENTS, "call.ended")
"""Every event type a subscription may list (``phone.incoming_call`` is not one)."""

ORG_SIGNING_KEYS_SUNSET = datetime(2026, 9, 1, tzinfo=UTC).timestamp()
"""Epoch seconds from which ``POST /api/v1/signing-keys`` answers 410 (after 2026-08-31);
the default of ``Settings.org_signing_keys_sunset``."""

_IDENTITY_ROUTE = "/api/v1/identities/{agent_handle}/signing-key"


def _family(event_type: str) -> str:
    return event_type.partition(".")[0]


def _is_mixed(event_types: list[str]) -> bool:
    return len({_family(e) for e in event_types}) > 1


# -- signing keys --------------------------------------------------------------------


def _new_secret() -> str:
    return "whsec_" + base64.urlsafe_b64encode(secrets.token_bytes(24)).rstrip(b"=").decode()


def _store_key(db: Db, identity: Any) -> dict[str, Any]:
    secret = _new_secret()
    db.exec(
        "INSERT INTO identity_signing_keys (agent_identity_id, organization_id, secret, "
        "created_at) VALUES (?, ?, ?, ?) ON CONFLICT(agent_identity_id) DO UPDATE SET "
        "secret = excluded.secret, created_at = excluded.created_at",
        (identity["id"], identity["organization_id"], secret, db.now),
    )
    return {"signing_key": secret, "created_at": iso(db.now)}


def identity_signing_key(db: Db, identity_id: str) -> str | None:
    """The identity's current signing key (``whsec_…``), or ``None``."""
    row = db.one(
        "SELECT secret FROM identity_signing_keys WHERE agent_identity_id = ?", (identity_id,)
    )
    return None if row is None else str(row["secret"])


def create_identity_signing_key(db: Db, principal: Principal, handle: str) -> dict[str, Any]:
    """``POST /identities/{h}/signing-key``: mint or rotate the identity's key (shown once)."""
    return _store_key(db, find_identity(db, principal, handle))


def identity_signing_key_status(db: Db, principal: Principal, handle: str) -> dict[str, Any]:
    """``GET /identities/{h}/signing-key``: ``{configured, created_at}``."""
    identity = find_identity(db, principal, handle)
    row = db.one(
        "SELECT created_at FROM identity_signing_keys WHERE agent_identity_id = ?",
        (identity["id"],),
    )
    return {
        "configured": row is not None,
        "created_at": None if row is None else iso(row["created_at"]),
    }


def org_signing_key(db: Db, principal: Principal, sunset: float | None) -> dict[str, Any]:
    """The deprecated ``POST /signing-keys`` (see the module docstring)."""
    if sunset is not None and db.now >= sunset:
        raise ApiError(
            410,
            {
                "error": "endpoint_sunset",
                "message": "POST /api/v1/signing-keys was retired after 2026-08-31; "
                f"signing keys belong to identities: POST {_IDENTITY_ROUTE}",
                "replacement": _IDENTITY_ROUTE,
            },
        )
    if principal.kind != "scoped" or principal.identity_id is None:
        raise ApiError(
            409,
            {
                "error": "signing_key_identity_required",
                "message": "Signing keys belong to identities; with an admin credential use "
                f"POST {_IDENTITY_ROUTE}",
                "replacement": _IDENTITY_ROUTE,
            },
        )
    identity = db.one("SELECT * FROM identities WHERE id = ?", (principal.identity_id,))
    if identity is None or identity["status"] == "deleted":
        raise ApiError(404, "Identity not found")
    return _store_key(db, identity)


# -- subscriptions ---------------------------------------------------------------------


@dataclass(frozen=True)
class NewSubscription:
    """A parsed ``POST /webhooks/subscriptions`` body (exactly one owner id is set)."""

    url: str
    event_types: list[str]
    agent_identity_id: str | None
    mailbox_id: str | None
    phone_number_id: str | None
    context_config: dict[str, Any] | None
    auth_token: str | None


@dataclass(frozen=True)
class SubscriptionPatch:
    """A parsed PATCH body: ``None`` attributes were absent; ``clear_*`` sent null."""

    url: str | None = None
    event_types: list[str] | None = None
    context_config: dict[str, Any] | None = None
    clear_context_config: bool = False
    auth_token: str | None = None
    clear_auth_token: bool = False


@dataclass(frozen=True)
class SubscriptionFilter:
    """Query of ``GET /webhooks/subscriptions``."""

    agent_identity_id: str | None = None
    mailbox_id: str | None = None
    phone_number_id: str | None = None
    url: str | None = None
    event_type: str | None = None
    identity_scope: bool = False


def _context(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    stored: dict[str, Any] = json.loads(raw)
    return {klass: stored.get(klass) for klass in ("email", "texts", "calls")}


def subscription_record(row: Any) -> dict[str, Any]:
    """The WebhookSubscription wire object."""
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "mailbox_id": row["mailbox_id"],
        "phone_number_id": row["phone_number_id"],
        "agent_identity_id": row["agent_identity_id"],
        "owner_identity_id": row["owner_identity_id"],
        "url": row["url"],
        "event_types": json.loads(row["event_types"]),
        "status": row["status"],
        "context_config": _context(row["context_config"]),
        "has_auth_token": row["auth_token"] is not None,
        "auth_token": row["auth_token"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _owner(db: Db, principal: Principal, request: NewSubscription) -> tuple[str | None, str]:
    """``(owner identity id, error noun)`` of a new subscription, checking visibility."""
    if request.agent_identity_id is not None:
        row = db.one(
            "SELECT * FROM identities WHERE id = ? AND organization_id = ? AND status != 'deleted'",
            (request.agent_identity_id, principal.organization_id),
        )
        owner, what = (None if row is None else str(row["id"])), "Agent identity"
    elif request.mailbox_id is not None:
        row = db.one(
            "SELECT * FROM mailboxes WHERE id = ? AND organization_id = ? AND status != 'deleted'",
            (request.mailbox_id, principal.organization_id),
        )
        owner, what = (None if row is None else row["agent_identity_id"]), "Mailbox"
    else:
        row = db.one(
            "SELECT * FROM phone_numbers WHERE id = ? AND organization_id = ? "
            "AND status != 'released'",
            (request.phone_number_id, principal.organization_id),
        )
        owner, what = (None if row is None else row["agent_identity_id"]), "Phone number"
    if row is None or (principal.kind == "scoped" and owner != principal.identity_id):
        raise ApiError(404, f"{what} not found")
    return owner, what


def create_subscription(db: Db, principal: Principal, request: NewSubscription) -> dict[str, Any]:
    """``POST /webhooks/subscriptions``: the row plus ``signing_key`` when this minted one."""
    owner, _ = _owner(db, principal, request)
    sub_id = str(uuid.uuid4())
    db.insert(
        "webhook_subscriptions",
        {
            "id": sub_id,
            "organization_id": principal.organization_id,
            "agent_identity_id": request.agent_identity_id,
            "mailbox_id": request.mailbox_id,
            "phone_number_id": request.phone_number_id,
            "owner_identity_id": owner,
            "url": request.url,
            "event_types": json.dumps(request.event_types),
            "context_config": None
            if request.context_config is None
            else json.dumps(request.context_config),
            "auth_token": request.auth_token,
            "status": "active",
            "created_at": db.now,
            "updated_at": db.now,
        },
    )
    signing_key = None
    if owner is not None and identity_signing_key(db, owner) is None:
        identity = db.one("SELECT * FROM identities WHERE id = ?", (owner,))
        signing_key = _store_key(db, identity)["signing_key"]
    row = db.one("SELECT * FROM webhook_subscriptions WHERE id = ?", (sub_id,))
    return {**subscription_record(row), "signing_key": signing_key}


def _find(db: Db, principal: Principal, sub_id: str) -> Any:
    row = db.one(
        "SELECT * FROM webhook_subscriptions WHERE id = ? AND organization_id = ? "
        "AND status = 'active'",
        (sub_id, principal.organization_id),
    )
    if row is None or (
        principal.kind == "scoped" and row["owner_identity_id"] != principal.identity_id
    ):
        raise ApiError(404, "Webhook subscription not found")
    return row


def _require_scope(row: Any, identity_scope: bool) -> None:
    if _is_mixed(json.loads(row["event_types"])) and not identity_scope:
        raise ApiError(
            409,
            {
                "error": "identity_scope_required",
                "message": "This subscription mixes event families; repeat the request "
                "with ?scope=identity",
            },
        )


def get_subscription(db: Db, principal: Principal, sub_id: str) -> dict[str, Any]:
    """``GET /webhooks/subscriptions/{id}``."""
    return subscription_record(_find(db, principal, sub_id))


def list_subscriptions(db: Db, principal: Principal, query: SubscriptionFilter) -> dict[str, Any]:
    """``GET /webhooks/subscriptions``: ``{"subscriptions": [...]}``, oldest first."""
    rows = db.all(
        "SELECT * FROM webhook_subscriptions WHERE organization_id = ? AND status = 'active' "
        "ORDER BY created_at, rowid",
        (principal.organization_id,),
    )
    result = []
    for row in rows:
        event_types = json.loads(row["event_types"])
        if principal.kind == "scoped" and row["owner_identity_id"] != principal.identity_id:
            continue
        if query.agent_identity_id is not None and query.agent_identity_id not in (
            row["agent_identity_id"],
            row["owner_identity_id"],
        ):
            continue
        if query.mailbox_id is not None and row["mailbox_id"] != query.mailbox_id:
            continue
        if query.phone_number_id is not None and row["phone_number_id"] != query.phone_number_id:
            continue
        if query.url is not None and row["url"] != query.url:
            continue
        if query.event_type is not None and query.event_type not in event_types:
            continue
        if _is_mixed(event_types) and not query.identity_scope:
            continue
        result.append(subscription_record(row))
    return {"subscriptions": result}


def update_subscription(
    db: Db, principal: Principal, sub_id: str, patch: SubscriptionPatch, identity_scope: bool
) -> dict[str, Any]:
    """``PATCH /webhooks/subscriptions/{id}``: tri-state fields; owners are immutable."""
    row = _find(db, principal, sub_id)
    _require_scope(row, identity_scope)
    sets: dict[str, Any] = {}
    if patch.url is not None:
        sets["url"] = patch.url
    if patch.event_types is not None:
        sets["event_types"] = json.dumps(patch.event_types)
    if patch.clear_context_config:
        sets["context_config"] = None
    elif patch.context_config is not None:
        sets["context_config"] = json.dumps(patch.context_config)
    if patch.clear_auth_token:
        sets["auth_token"] = None
    elif patch.auth_token is not None:
        sets["auth_token"] = patch.auth_token
    if sets:
        sets["updated_at"] = db.now
        assignments = ", ".join(f"{column} = ?" for column in sets)
        db.exec(
            f"UPDATE webhook_subscriptions SET {assignments} WHERE id = ?",
            (*sets.values(), sub_id),
        )
    return subscription_record(
        db.one("SELECT * FROM webhook_subscriptions WHERE id = ?", (sub_id,))
    )


def delete_subscription(db: Db, principal: Principal, sub_id: str, identity_scope: bool) -> None:
    """``DELETE /webhooks/subscriptions/{id}`` (the row stays, ``deleted``, for the log)."""
    row = _find(db, principal, sub_id)
    _require_scope(row, identity_scope)
    db.exec(
        "UPDATE webhook_subscriptions SET status = 'deleted', updated_at = ? WHERE id = ?",
        (db.now, sub_id),
    )


def catalog() -> dict[str, Any]:
    """``GET /webhooks/catalog``: what subscriptions can carry on this server."""
    return {
        "supports_identity_subscriptions": True,
        "event_types": [{"event_type": e, "family": _family(e)} for e in EVENT_CATALOG],
    }


# -- delivery log -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryFilter:
    """Query of ``GET /webhooks/deliveries``."""

    subscription_id: str | None = None
    phone_number_id: str | None = None
    event_type: str | None = None
    success: bool | None = None
    limit: int = 50
    offset: int = 0


def log_delivery(
    db: Db,
    event: WebhookEvent,
    status: int | None,
    response_body: str | None,
    error: str | None,
    duration_ms: int,
) -> str:
    """Record one delivery attempt; returns the row id."""
    delivery_id = str(uuid.uuid4())
    owner = event.signer_identity_id
    replayable = event.subscription_id is not None
    db.insert(
        "webhook_delivery_log",
        {
            "id": delivery_id,
            "organization_id": event.organization_id,
            "webhook_subscription_id": event.subscription_id,
            "phone_number_id": None if replayable else event.phone_number_id,
            "owner_identity_id": owner,
            "event_id": event.event_id or ("evt_" + uuid.uuid4().hex),
            "event_type": event.event_type,
            "url": event.url,
            "request_payload": event.body.decode("utf-8", errors="replace"),
            "response_status": status,
            "response_body": response_body,
            "error_detail": error,
            "duration_ms": duration_ms,
            "is_replay": int(event.is_replay),
            "replayable": int(replayable),
            "replay_unavailable_reason": None if replayable else "incoming_call_not_replayable",
            "created_at": db.now,
        },
    )
    return delivery_id


def delivery_record(row: Any) -> dict[str, Any]:
    """The WebhookDelivery wire object."""
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "webhook_subscription_id": row["webhook_subscription_id"],
        "phone_number_id": row["phone_number_id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "url": row["url"],
        "request_payload": row["request_payload"],
        "response_status": row["response_status"],
        "response_body": row["response_body"],
        "error_detail": row["error_detail"],
        "duration_ms": row["duration_ms"],
        "is_replay": bool(row["is_replay"]),
        "created_at": iso_or_none(row["created_at"]),
        "replayable": bool(row["replayable"]),
        "replay_unavailable_reason": row["replay_unavailable_reason"],
    }


def list_deliveries(db: Db, principal: Principal, query: DeliveryFilter) -> dict[str, Any]:
    """``GET /webhooks/deliveries``: newest first, ``limit``/``offset`` paged."""
    clauses = ["organization_id = ?"]
    params: list[Any] = [principal.organization_id]
    if principal.kind == "scoped":
        clauses.append("owner_identity_id = ?")
        params.append(principal.identity_id)
    for column, value in (
        ("webhook_subscription_id", query.subscription_id),
        ("phone_number_id", query.phone_number_id),
        ("event_type", query.event_type),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.success is True:
        clauses.append("response_status BETWEEN 200 AND 299")
    elif query.success is False:
        clauses.append("(response_status IS NULL OR response_status NOT BETWEEN 200 AND 299)")
    rows = db.all(
        f"SELECT * FROM webhook_delivery_log WHERE {' AND '.join(clauses)} "
        "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
        (*params, query.limit, query.offset),
    )
    return {"deliveries": [delivery_record(r) for r in rows]}


def replay_event(db: Db, principal: Principal, delivery_id: str) -> WebhookEvent:
    """The event a replay re-sends (422 incoming-call rows, 409 gone subscriptions)."""
    row = db.one(
        "SELECT * FROM webhook_delivery_log WHERE id = ? AND organization_id = ?",
        (delivery_id, principal.organization_id),
    )
    if row is None or (
        principal.kind == "scoped" and row["owner_identity_id"] != principal.identity_id
    ):
        raise ApiError(404, "Webhook delivery not found")
    if not row["replayable"]:
        raise ApiError(
            422,
            {
                "error": "delivery_not_replayable",
                "message": "Incoming-call deliveries decide a live call and cannot be replayed",
            },
        )
    sub = db.one(
        "SELECT * FROM webhook_subscriptions WHERE id = ?", (row["webhook_subscription_id"],)
    )
    if sub is None or sub["status"] != "active":
        raise ApiError(
            409,
            {"error": "subscription_inactive", "message": "The subscription no longer exists"},
        )
    if row["event_type"] not in json.loads(sub["event_types"]):
        raise ApiError(
            409,
            {
                "error": "event_type_not_subscribed",
                "message": f"The subscription no longer subscribes to {row['event_type']}",
            },
        )
    return WebhookEvent(
        organization_id=str(row["organization_id"]),
        url=str(sub["url"]),
        event_type=str(row["event_type"]),
        body=str(row["request_payload"]).encode(),
        phone_number_id=None,
        subscription_id=str(sub["id"]),
        event_id=str(row["event_id"]),
        signer_identity_id=sub["owner_identity_id"],
        auth_token=sub["auth_token"],
        is_replay=True,
    )


def delivery_by_id(db: Db, delivery_id: str) -> dict[str, Any]:
    """One logged row, as the wire object (after a replay)."""
    return delivery_record(
        db.one("SELECT * FROM webhook_delivery_log WHERE id = ?", (delivery_id,))
    )
