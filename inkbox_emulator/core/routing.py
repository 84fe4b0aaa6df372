"""Route and query-string helpers shared by the public route modules.

Query parameters are validated like FastAPI does: every problem is collected
and reported in one 422 whose ``detail`` items have ``loc = ["query", name]``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .errors import ApiError, ValidationItem
from .validation import Fields, parse_json, parse_json_object, parse_uuid

__all__ = [
    "ContextHandler",
    "Handler",
    "Query",
    "RouteTable",
    "body_fields",
    "bind",
    "bound_routes",
    "decode_cursor",
    "encode_cursor",
    "json_body",
    "json_response",
    "method_route",
    "no_content",
    "path_uuid",
    "single_method_routes",
]

Handler = Callable[[Request], Awaitable[Response]]

C = TypeVar("C")
ContextHandler = Callable[[C, Request], Awaitable[Response]]
"""A module-level handler: what it needs (a store, or a context object) comes first."""

RouteTable = Sequence[tuple[str, Mapping[str, ContextHandler[C]]]]
"""Paths, each with its handler per method."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""The integers the database binds: larger query integers answer 422."""


def json_response(data: Any, status: int = 200) -> JSONResponse:
    """A JSON response."""
    return JSONResponse(data, status_code=status)


def no_content() -> Response:
    """An empty 204 response."""
    return Response(status_code=204)


async def json_body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request's JSON object body (422 when it is not one)."""
    return parse_json_object(await request.body(), allow_empty=allow_empty)


async def body_fields(request: Request, *, allow_empty: bool = False) -> Fields:
    """The request's JSON object body, ready for typed field access."""
    return Fields(await json_body(request, allow_empty=allow_empty))


def path_uuid(request: Request, name: str) -> str:
    """The UUID path parameter ``name`` (422 when it does not parse)."""
    return parse_uuid(str(request.path_params[name]), ("path", name))


def bind(context: C, handler: ContextHandler[C]) -> Handler:
    """``handler`` as a request handler, given ``context`` first."""

    async def endpoint(request: Request) -> Response:
        return await handler(context, request)

    return endpoint


def bound_routes(context: C, table: RouteTable[C]) -> list[BaseRoute]:
    """The routes of ``table``, each handler given ``context`` first."""
    return [
        method_route(path, {method: bind(context, handler) for method, handler in handlers.items()})
        for path, handlers in table
    ]


def single_method_routes(
    context: C, table: Sequence[tuple[str, str, ContextHandler[C]]]
) -> list[BaseRoute]:
    """One route per ``(path, method, handler)`` row, each handler given ``context`` first.

    Unlike :func:`bound_routes`, a 405 names only the first matching row's method (the
    control API has always answered that way).
    """
    return [
        Route(path, bind(context, handler), methods=[method]) for path, method, handler in table
    ]


def method_route(path: str, handlers: Mapping[str, Handler]) -> Route:
    """One route serving several methods (so 405 answers carry the full ``Allow`` list)."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, dispatch, methods=list(handlers))


class Query:
    """Typed accessors over a request's query string, collecting 422 items."""

    def __init__(self, request: Request) -> None:
        self.params = request.query_params
        self.errors: list[ValidationItem] = []

    def _error(self, name: str, type_: str, msg: str, value: object, **ctx: Any) -> None:
        item: ValidationItem = {"type": type_, "loc": ["query", name], "msg": msg, "input": value}
        if ctx:
            item["ctx"] = ctx
        self.errors.append(item)

    def string(self, name: str, *, required: bool = False, min_length: int = 0) -> str | None:
        """A string parameter (``None`` when absent and optional)."""
        value = self.params.get(name)
        if value is None:
            if required:
                self._error(name, "missing", "Field required", None)
            return None
        if len(value) < min_length:
            self._error(
                name,
                "string_too_short",
                f"String should have at least {min_length} character"
                + ("" if min_length == 1 else "s"),
                value,
                min_length=min_length,
            )
        return value

    def integer(
        self, name: str, *, default: int | None = None, ge: int | None = None, le: int | None = None
    ) -> int | None:
        """An integer parameter with optional bounds."""
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self._error(
                name,
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
                raw,
            )
            return default
        if ge is None or ge < INT64_MIN:
            ge = INT64_MIN
        if le is None or le > INT64_MAX:
            le = INT64_MAX
        if value < ge:
            self._error(
                name,
                "greater_than_equal",
                f"Input should be greater than or equal to {ge}",
                raw,
                ge=ge,
            )
            return default
        if value > le:
            self._error(
                name, "less_than_equal", f"Input should be less than or equal to {le}", raw, le=le
            )
            return default
        return value

    def literal(self, name: str, choices: Sequence[str]) -> str | None:
        """A parameter restricted to ``choices``."""
        value = self.params.get(name)
        if value is None:
            return None
        if value not in choices:
            quoted = [f"'{c}'" for c in choices]
            expected = (
                ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]
            )
            self._error(
                name, "literal_error", f"Input should be {expected}", value, expected=expected
            )
            return None
        return value

    def boolean(self, name: str, *, default: bool = False) -> bool:
        """A boolean parameter (``true``/``false``/``1``/``0``/``yes``/``no``/``on``/``off``)."""
        raw = self.params.get(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("true", "1", "yes", "on", "t", "y"):
            return True
        if lowered in ("false", "0", "no", "off", "f", "n"):
            return False
        self._error(
            name, "bool_parsing", "Input should be a valid boolean, unable to interpret input", raw
        )
        return default

    def optional_boolean(self, name: str) -> bool | None:
        """A tri-state boolean parameter (as :meth:`boolean`): ``None`` when absent."""
        if name not in self.params:
            return None
        return self.boolean(name)

    def raise_errors(self) -> None:
        """Raise the collected 422, if any."""
        if self.errors:
            raise ApiError(422, list(self.errors))


def encode_cursor(*parts: Any) -> str:
    """An opaque pagination cursor carrying ``parts`` (JSON, URL-safe base64)."""
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The parts of a cursor made by :func:`encode_cursor` (422 when it is not one).

    Every part must be a string, a finite number or a 64-bit integer, so a
    crafted cursor can never reach the database as something it cannot bind.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = parse_json(base64.urlsafe_b64decode(padded.encode()))
        if (
            isinstance(parts, list)
            and len(parts) == arity
            and all(_cursor_part(part) for part in parts)
        ):
            return parts
    except (ValueError, ApiError):
        pass
    raise ApiError(
        422,
        [
            {
                "type": "value_error",
                "loc": ["query", "cursor"],
                "msg": "Value error, invalid cursor",
                "input": cursor,
                "ctx": {"error": "invalid cursor"},
            }
        ],
    )


def _cursor_part(part: object) -> bool:
    if isinstance(part, bool):
        return False
    if isinstance(part, int):
        return INT64_MIN <= part <= INT64_MAX
    return isinstance(part, str | float)
