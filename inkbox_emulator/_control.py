"""The control API under ``/_emulator``: no auth, JSON, same operations as the Python API."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import _accounts, _signup
from ._errors import ApiError
from ._recording import CONTROL_PREFIX
from ._store import Store
from ._validation import Fields, Missing, parse_json_object

__all__ = ["control_routes"]


def _bool(fields: Fields, name: str) -> bool:
    value = fields.raw(name)
    if value is Missing.MISSING or value is None:
        return False
    if not isinstance(value, bool):
        fields.error(name, "bool_type", "Input should be a valid boolean", value)
        return False
    return value


def control_routes(store: Store) -> list[BaseRoute]:
    """Routes of the control API, bound to ``store``."""

    async def body(request: Request) -> Fields:
        return Fields(parse_json_object(await request.body(), allow_empty=True))

    def opt(value: str | Missing | None) -> str | None:
        return None if isinstance(value, Missing) else value

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def create_org(request: Request) -> Response:
        fields = await body(request)
        name = fields.string("name", max_length=255)
        fields.raise_errors()
        org_id, key = store.run(_accounts.create_org, opt(name))
        return JSONResponse({"organization_id": org_id, "api_key": key}, status_code=201)

    async def human_session(request: Request) -> Response:
        fields = await body(request)
        email = fields.string("email")
        name = fields.string("name")
        fields.raise_errors()
        token = store.run(
            _accounts.create_human_session,
            str(request.path_params["org_id"]),
            opt(email),
            opt(name),
        )
        return JSONResponse({"token": token}, status_code=201)

    async def add_domain(request: Request) -> Response:
        fields = await body(request)
        domain = fields.string("domain", required=True, min_length=1)
        status = fields.literal("status", ("verified", "pending", "failed"), nullable=False)
        is_default = _bool(fields, "is_default")
        fields.raise_errors()
        row = store.run(
            _accounts.add_sending_domain,
            str(request.path_params["org_id"]),
            domain,
            status if isinstance(status, str) else "verified",
            is_default,
        )
        return JSONResponse(row, status_code=201)

    async def reset(request: Request) -> Response:
        store.reset()
        return JSONResponse({"status": "reset"})

    async def signups(request: Request) -> Response:
        return JSONResponse(store.run(_signup.list_signups))

    async def approve(request: Request) -> Response:
        return JSONResponse(store.run(_signup.approve, str(request.path_params["agent_handle"])))

    async def requests(request: Request) -> Response:
        with store.lock:
            items: list[Any] = [r.to_wire() for r in store.requests]
        return JSONResponse(items)

    async def clear_requests(request: Request) -> Response:
        with store.lock:
            store.requests.clear()
        return Response(status_code=204)

    async def clock(request: Request) -> Response:
        fields = await body(request)
        value = fields.raw("advance_seconds")
        if value is Missing.MISSING:
            fields.missing("advance_seconds")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            fields.error("advance_seconds", "float_type", "Input should be a valid number", value)
        elif value < 0:
            raise ApiError(422, "advance_seconds must not be negative")
        fields.raise_errors()
        now = store.advance_clock(float(value))
        return JSONResponse({"now": now})

    p = CONTROL_PREFIX
    return [
        Route(f"{p}/health", health, methods=["GET"]),
        Route(f"{p}/orgs", create_org, methods=["POST"]),
        Route(f"{p}/orgs/{{org_id}}/human-sessions", human_session, methods=["POST"]),
        Route(f"{p}/orgs/{{org_id}}/domains", add_domain, methods=["POST"]),
        Route(f"{p}/reset", reset, methods=["POST"]),
        Route(f"{p}/signups", signups, methods=["GET"]),
        Route(f"{p}/signups/{{agent_handle}}/approve", approve, methods=["POST"]),
        Route(f"{p}/requests", requests, methods=["GET"]),
        Route(f"{p}/requests", clear_requests, methods=["DELETE"]),
        Route(f"{p}/clock", clock, methods=["POST"]),
    ]
