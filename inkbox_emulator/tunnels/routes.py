"""HTTP routes of tunnels: the public control plane and the emulator's tunnel controls.

Public (``X-API-Key``; identity-scoped keys see only their own identity's tunnel):

* ``GET /api/v1/tunnels/`` → ``{"tunnels": [Tunnel]}``;
* ``GET /api/v1/tunnels/{tunnel_id}`` → Tunnel;
* ``PATCH /api/v1/tunnels/{tunnel_id}`` ``{"metadata": {...} | null}`` → Tunnel;
* ``POST /api/v1/tunnels/{tunnel_id}/sign-csr`` ``{"csr_pem": "..."}`` → SignedCert.

Control API (no auth):

* ``GET /_emulator/tunnel-edge`` → ``{edge, public_url, zone, ca_file, ca_pem}``;
* ``GET /_emulator/tunnels/{name}/connections`` → the live agent connections;
* ``POST /_emulator/tunnels/{name}/wait`` ``{"timeout": 10}`` → 200 once an agent parked
  an intake, 408 otherwise;
* ``POST /_emulator/tunnels/{name}/drain`` → ``{"drained": n}``;
* ``POST /_emulator/tunnel-faults`` ``{kind, name?, count?, ...params}`` → 201 fault;
  ``GET`` lists standing faults, ``DELETE`` clears them;
* ``GET /_emulator/tunnel-bodies/{token}`` → an offloaded request body (served once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from inkbox_emulator.accounts.auth import auth
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.recording import CONTROL_PREFIX
from inkbox_emulator.core.routing import (
    ContextHandler,
    RouteTable,
    bound_routes,
    json_response,
    single_method_routes,
)
from inkbox_emulator.core.store import Store
from inkbox_emulator.core.validation import MISSING, Fields, parse_json_object, parse_uuid
from inkbox_emulator.edge.faults import TunnelFault
from inkbox_emulator.edge.server import TunnelEdge

from .model import get_tunnel, list_tunnels, sign_csr, update_tunnel

__all__ = ["tunnel_control_routes", "tunnel_routes"]


@dataclass(frozen=True)
class TunnelApi:
    """What the public tunnel routes read: the store and the edge (which tunnels are
    connected, the CA that signs)."""

    store: Store
    edge: TunnelEdge


def tunnel_id(request: Request) -> str:
    return parse_uuid(str(request.path_params["tunnel_id"]), ("path", "tunnel_id"))


async def list_(api: TunnelApi, request: Request) -> Response:
    return json_response(
        api.store.run(list_tunnels, auth(api.store, request), api.edge.connected_ids())
    )


async def get(api: TunnelApi, request: Request) -> Response:
    principal = auth(api.store, request)
    ident = tunnel_id(request)
    return json_response(api.store.run(get_tunnel, principal, ident, api.edge.connected_ids()))


async def update(api: TunnelApi, request: Request) -> Response:
    principal = auth(api.store, request)
    ident = tunnel_id(request)
    fields = Fields(parse_json_object(await request.body(), allow_empty=True))
    metadata = fields.raw("metadata")
    if metadata is not MISSING and metadata is not None and not isinstance(metadata, dict):
        fields.error("metadata", "dict_type", "Input should be a valid dictionary", metadata)
    fields.raise_errors()
    result = api.store.run(update_tunnel, principal, ident, metadata, api.edge.connected_ids())
    return json_response(result)


async def sign(api: TunnelApi, request: Request) -> Response:
    principal = auth(api.store, request)
    ident = tunnel_id(request)
    fields = Fields(parse_json_object(await request.body()))
    csr_pem = fields.string("csr_pem", required=True, min_length=1)
    fields.raise_errors()
    return json_response(api.store.run(sign_csr, principal, ident, csr_pem, api.edge.ca))


def tunnel_routes(store: Store, edge: TunnelEdge) -> list[BaseRoute]:
    """The public ``/api/v1/tunnels`` routes."""

    base = "/api/v1/tunnels"
    table: RouteTable[TunnelApi] = [
        (f"{base}/", {"GET": list_}),
        (f"{base}/{{tunnel_id}}", {"GET": get, "PATCH": update}),
        (f"{base}/{{tunnel_id}}/sign-csr", {"POST": sign}),
    ]
    return bound_routes(TunnelApi(store, edge), table)


def _fault_wire(fault: TunnelFault) -> dict[str, Any]:
    wire = fault.to_wire()
    params = wire["params"]
    for key, value in list(params.items()):
        if isinstance(value, bytes):
            params[key] = value.decode("utf-8", "replace")
    return wire


def name(request: Request) -> str:
    return str(request.path_params["name"])


def lookup(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except LookupError as exc:
        raise ApiError(404, str(exc).strip("'\"")) from None


async def info(edge: TunnelEdge, request: Request) -> Response:
    return JSONResponse(
        {
            "edge": edge.edge_address,
            "public_url": edge.public_url,
            "zone": edge.settings.zone,
            "ca_file": edge.ca.ca_file,
            "ca_pem": edge.ca.ca_pem.decode(),
        }
    )


async def connections(edge: TunnelEdge, request: Request) -> Response:
    return JSONResponse(lookup(edge.connections, name(request)))


async def wait(edge: TunnelEdge, request: Request) -> Response:
    fields = Fields(parse_json_object(await request.body(), allow_empty=True))
    timeout = fields.raw("timeout")
    if timeout is MISSING or timeout is None:
        timeout = 10.0
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        fields.error("timeout", "float_type", "Input should be a valid number", timeout)
    fields.raise_errors()
    try:
        await anyio.to_thread.run_sync(edge.wait_for_tunnel, name(request), float(timeout))
    except TimeoutError as exc:
        raise ApiError(408, str(exc)) from None
    return JSONResponse({"status": "ready"})


async def drain(edge: TunnelEdge, request: Request) -> Response:
    return JSONResponse({"drained": lookup(edge.drain, name(request))})


async def add_fault(edge: TunnelEdge, request: Request) -> Response:
    data = dict(parse_json_object(await request.body()))
    kind = data.pop("kind", None)
    target = data.pop("name", None)
    count = data.pop("count", None)
    if not isinstance(kind, str):
        raise ApiError(422, "kind is required")
    if target is not None and not isinstance(target, str):
        raise ApiError(422, "name must be a string")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise ApiError(422, "count must be an integer")
    try:
        fault = edge.inject_fault(kind, name=target, count=count, **data)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    except LookupError as exc:
        raise ApiError(404, str(exc).strip("'\"")) from None
    return JSONResponse(_fault_wire(fault), status_code=201)


async def list_faults(edge: TunnelEdge, request: Request) -> Response:
    return JSONResponse([_fault_wire(f) for f in edge.faults.list()])


async def clear_faults(edge: TunnelEdge, request: Request) -> Response:
    edge.clear_faults()
    return Response(status_code=204)


async def take_body(edge: TunnelEdge, request: Request) -> Response:
    data = edge.bodies.take(str(request.path_params["token"]))
    if data is None:
        raise ApiError(404, "Body not found")
    return Response(data, media_type="application/octet-stream")


def tunnel_control_routes(edge: TunnelEdge) -> list[BaseRoute]:
    """The ``/_emulator`` routes of the tunnel edge."""

    p = CONTROL_PREFIX
    table: list[tuple[str, str, ContextHandler[TunnelEdge]]] = [
        (f"{p}/tunnel-edge", "GET", info),
        (f"{p}/tunnels/{{name}}/connections", "GET", connections),
        (f"{p}/tunnels/{{name}}/wait", "POST", wait),
        (f"{p}/tunnels/{{name}}/drain", "POST", drain),
        (f"{p}/tunnel-faults", "POST", add_fault),
        (f"{p}/tunnel-faults", "GET", list_faults),
        (f"{p}/tunnel-faults", "DELETE", clear_faults),
        (f"{p}/tunnel-bodies/{{token}}", "GET", take_body),
    ]
    return single_method_routes(edge, table)
