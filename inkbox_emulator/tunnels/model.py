"""Tunnel records: the control-plane operations and the lookups the edge needs.

Tunnels are created, renamed and deleted only through identities
(``identities.model``); here they are listed, read, given metadata, issued a
passthrough certificate, and authenticated / routed for the data plane.
Every function takes a :class:`~inkbox_emulator.core.store.Db` first and runs
inside one ``Store.run`` transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inkbox_emulator.accounts.model import Principal, authenticate
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.store import Db
from inkbox_emulator.core.times import iso
from inkbox_emulator.core.validation import MISSING, Missing, json_text
from inkbox_emulator.identities.records import tunnel_record

from .test_ca import CsrProblem, TunnelCA

__all__ = [
    "DataPlaneGrant",
    "DataPlaneTunnel",
    "find_tunnel",
    "get_tunnel",
    "grant_data_plane",
    "list_tunnels",
    "live_tunnel_by_host",
    "live_tunnel_by_id",
    "live_tunnel_by_name",
    "note_key_used",
    "record_connection",
    "sign_csr",
    "update_tunnel",
]

_LIVE = "status != 'deleted'"


@dataclass(frozen=True)
class DataPlaneTunnel:
    """What the edge needs to know about a tunnel."""

    id: str
    organization_id: str
    name: str
    tls_mode: str
    status: str
    public_host: str


@dataclass(frozen=True)
class DataPlaneGrant:
    """A successful data-plane authorization: the tunnel, and the key allowed to serve it."""

    tunnel: DataPlaneTunnel
    key_id: str
    expires_at: float | None
    """When (emulator clock) the key stops working, if ever."""


def _data_plane(row: Any) -> DataPlaneTunnel:
    return DataPlaneTunnel(
        id=str(row["id"]),
        organization_id=str(row["organization_id"]),
        name=str(row["tunnel_name"]),
        tls_mode=str(row["tls_mode"]),
        status=str(row["status"]),
        public_host=str(row["public_host"]),
    )


def find_tunnel(db: Db, principal: Principal, tunnel_id: str) -> Any:
    """The caller's live tunnel (identity-scoped keys: only their own identity's), else 404."""
    row = db.one(
        f"SELECT * FROM tunnels WHERE id = ? AND organization_id = ? AND {_LIVE}",
        (tunnel_id, principal.organization_id),
    )
    if row is None or (
        principal.kind == "scoped" and row["agent_identity_id"] != principal.identity_id
    ):
        raise ApiError(404, "Tunnel not found")
    return row


def list_tunnels(db: Db, principal: Principal, connected: frozenset[str]) -> dict[str, Any]:
    """``GET /api/v1/tunnels/``: the live tunnels of the caller's org, oldest first."""
    rows = db.all(
        f"SELECT * FROM tunnels WHERE organization_id = ? AND {_LIVE} ORDER BY created_at, rowid",
        (principal.organization_id,),
    )
    if principal.kind == "scoped":
        rows = [r for r in rows if r["agent_identity_id"] == principal.identity_id]
    return {"tunnels": [tunnel_record(r, connected) for r in rows]}


def get_tunnel(
    db: Db, principal: Principal, tunnel_id: str, connected: frozenset[str]
) -> dict[str, Any]:
    """``GET /api/v1/tunnels/{tunnel_id}``."""
    return tunnel_record(find_tunnel(db, principal, tunnel_id), connected)


def update_tunnel(
    db: Db,
    principal: Principal,
    tunnel_id: str,
    metadata: dict[str, Any] | Missing | None,
    connected: frozenset[str],
) -> dict[str, Any]:
    """``PATCH /api/v1/tunnels/{tunnel_id}``: ``metadata`` replaces (``{}``/``None`` clear)."""
    row = find_tunnel(db, principal, tunnel_id)
    if metadata is not MISSING:
        text = json_text(metadata or {}, ("body", "metadata"))
        db.exec(
            "UPDATE tunnels SET metadata = ?, updated_at = ? WHERE id = ?",
            (text, db.now, row["id"]),
        )
    return tunnel_record(db.one("SELECT * FROM tunnels WHERE id = ?", (row["id"],)), connected)


def sign_csr(
    db: Db, principal: Principal, tunnel_id: str, csr_pem: str, ca: TunnelCA
) -> dict[str, Any]:
    """``POST /api/v1/tunnels/{tunnel_id}/sign-csr``: issue the passthrough leaf certificate."""
    row = find_tunnel(db, principal, tunnel_id)
    if row["tls_mode"] != "passthrough":
        raise ApiError(
            409,
            "sign-csr is only available for tunnels with tls_mode 'passthrough'; "
            "this tunnel uses tls_mode 'edge'",
        )
    try:
        leaf = ca.sign_csr(csr_pem, str(row["public_host"]))
    except CsrProblem as exc:
        raise ApiError(422, str(exc)) from None
    db.exec(
        "UPDATE tunnels SET cert_pem = ?, cert_fingerprint_sha256 = ?, cert_expires_at = ?, "
        "status = 'active', updated_at = ? WHERE id = ?",
        (leaf.cert_pem, leaf.fingerprint_sha256, leaf.expires_at, db.now, row["id"]),
    )
    return {
        "cert_pem": leaf.cert_pem,
        "chain_pem": leaf.chain_pem,
        "cert_fingerprint_sha256": leaf.fingerprint_sha256,
        "cert_expires_at": iso(leaf.expires_at),
    }


# -- data plane ----------------------------------------------------------------------


def grant_data_plane(db: Db, api_key: str | None, tunnel_id: str | None) -> DataPlaneGrant:
    """Check ``x-api-key`` against ``x-tunnel-id``: 401 bad key, 404 unknown tunnel,
    403 a key of another org or of another identity (or a console session)."""
    principal = authenticate(db, api_key)
    row = None
    if tunnel_id:
        row = db.one(f"SELECT * FROM tunnels WHERE id = ? AND {_LIVE}", (tunnel_id.lower(),))
    if row is None:
        raise ApiError(404, "Tunnel not found")
    if principal.kind == "human" or principal.organization_id != row["organization_id"]:
        raise ApiError(403, "This API key may not serve this tunnel")
    if principal.kind == "scoped" and principal.identity_id != row["agent_identity_id"]:
        raise ApiError(403, "This identity-scoped API key belongs to another identity")
    key = db.one("SELECT id, expires_at FROM api_keys WHERE id = ?", (principal.key_id,))
    assert key is not None
    expires_at = key["expires_at"]
    return DataPlaneGrant(
        _data_plane(row), str(key["id"]), None if expires_at is None else float(expires_at)
    )


def note_key_used(db: Db, key_id: str) -> None:
    """Set an API key's ``last_used_at`` (what :func:`authenticate` does on every use)."""
    db.exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (db.now, key_id))


def record_connection(db: Db, tunnel_id: str, ip_addr: str) -> None:
    """Note a successful hello: ``last_connected_at`` / ``last_connected_ip_addr``."""
    db.exec(
        "UPDATE tunnels SET last_connected_at = ?, last_connected_ip_addr = ? WHERE id = ?",
        (db.now, ip_addr, tunnel_id),
    )


def live_tunnel_by_host(db: Db, public_host: str) -> DataPlaneTunnel | None:
    """The live tunnel serving ``public_host`` (case-insensitive), if any."""
    row = db.one(f"SELECT * FROM tunnels WHERE public_host = ? AND {_LIVE}", (public_host.lower(),))
    return None if row is None else _data_plane(row)


def live_tunnel_by_id(db: Db, tunnel_id: str) -> DataPlaneTunnel | None:
    """The live tunnel with this id, if any."""
    row = db.one(f"SELECT * FROM tunnels WHERE id = ? AND {_LIVE}", (tunnel_id.lower(),))
    return None if row is None else _data_plane(row)


def live_tunnel_by_name(db: Db, name: str) -> DataPlaneTunnel | None:
    """The live tunnel called ``name``, if any."""
    row = db.one(f"SELECT * FROM tunnels WHERE tunnel_name = ? AND {_LIVE}", (name.lower(),))
    return None if row is None else _data_plane(row)
