"""Request-body parsing with FastAPI/pydantic-shaped 422 errors.

Handlers read JSON bodies through :func:`parse_json_object` and
:class:`Fields`, which collect every problem (like pydantic does) and raise
one 422 whose ``detail`` is a list of ``{type, loc, msg, input[, ctx]}``.
:func:`parse_json` is the one JSON parser of the routes: strict (no NaN or
Infinity, no lone surrogates, bounded depth, integer length and body size), so
what a handler gets can always be stored and echoed back.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from enum import Enum
from typing import Any, Final, Literal, overload

from .errors import ApiError, ValidationItem, validation_error, value_error

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MISSING",
    "Fields",
    "Missing",
    "json_text",
    "parse_json",
    "parse_json_object",
    "parse_uuid",
]


class Missing(Enum):
    """Marker for a key absent from the body (distinct from JSON ``null``)."""

    MISSING = "MISSING"


MISSING: Final = Missing.MISSING

Loc = tuple[str | int, ...]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


MAX_BODY_BYTES: Final = 64 * 1024 * 1024
"""The largest JSON body accepted (25 MB of attachments, base64-encoded, fit well)."""

MAX_DEPTH: Final = 64
"""The deepest nesting of objects and arrays accepted in a body."""

MAX_INT_DIGITS: Final = 4300
"""The longest integer literal accepted (Python's own ``int`` conversion limit)."""


class _Refused(ValueError):
    """A JSON text that parses but is not JSON-safe (NaN, ±Infinity, huge numbers)."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a valid JSON value")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"integer longer than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("number out of range")
    return value


def _json_invalid(loc: Loc, reason: str) -> ApiError:
    return validation_error(
        [
            {
                "type": "json_invalid",
                "loc": list(loc),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": reason},
            }
        ]
    )


def _unsafe_part(value: object) -> tuple[Loc, str] | None:
    """Where a value nests too deep, holds a lone surrogate or a non-finite number, and why."""
    stack: list[tuple[object, Loc]] = [(value, ())]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return loc, "lone surrogate in string"
            continue
        if isinstance(item, float) and not math.isfinite(item):
            return loc, "number out of range"
        if isinstance(item, dict):
            children: list[tuple[object, Loc]] = []
            for key, child in item.items():
                if not _encodable(key):
                    return loc, "lone surrogate in object key"
                children.append((child, (*loc, key)))
        elif isinstance(item, list):
            children = [(child, (*loc, i)) for i, child in enumerate(item)]
        else:
            continue
        if children and len(loc) >= MAX_DEPTH:
            return loc, f"nesting deeper than {MAX_DEPTH} levels"
        stack.extend(children)
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json(raw: bytes) -> Any:
    """Decode a request body strictly: the one JSON parser of every route.

    Refuses (422 ``json_invalid``) malformed JSON and invalid UTF-8, the
    ``NaN``/``Infinity`` constants, numbers that overflow a float, integers
    longer than :data:`MAX_INT_DIGITS` digits, lone surrogate escapes and
    nesting deeper than :data:`MAX_DEPTH`; a body over :data:`MAX_BODY_BYTES`
    answers 413. What it returns is therefore safe to store and to echo.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "Request body too large")
    try:
        value = json.loads(
            raw,
            parse_constant=_refuse_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except json.JSONDecodeError as exc:
        raise _json_invalid(("body", exc.pos), exc.msg) from None
    except UnicodeDecodeError as exc:
        raise _json_invalid(("body", exc.start), "Invalid UTF-8") from None
    except _Refused as exc:
        raise _json_invalid(("body",), str(exc)) from None
    except RecursionError:
        raise _json_invalid(("body",), f"nesting deeper than {MAX_DEPTH} levels") from None
    unsafe = _unsafe_part(value)
    if unsafe is not None:
        loc, reason = unsafe
        raise _json_invalid(("body", *loc), reason)
    return value


def json_text(value: Any, loc: Loc) -> str:
    """The JSON text to store for a free-form value, refused (422 at ``loc``) unless it is
    JSON-safe: finite numbers, no lone surrogates, at most :data:`MAX_DEPTH` levels.

    Call it before writing, inside the write's transaction, so a value that could not be
    read back never reaches the database.
    """
    unsafe = _unsafe_part(value)
    try:
        text = json.dumps(value, allow_nan=False) if unsafe is None else None
    except (ValueError, TypeError):
        text = None
    if text is None:
        reason = "not valid JSON" if unsafe is None else unsafe[1]
        where = loc if unsafe is None else (*loc, *unsafe[0])
        raise value_error(where, f"value is not JSON-safe: {reason}", None)
    return text


def parse_json_object(raw: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    """Decode a request body that must be a JSON object (strictly, see :func:`parse_json`).

    An empty body is ``{}`` when ``allow_empty`` else a ``missing`` error at
    ``["body"]``; malformed JSON gives ``json_invalid``; any other JSON value
    gives ``model_attributes_type``, as FastAPI does.
    """
    if not raw.strip():
        if allow_empty:
            return {}
        raise validation_error(
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        )
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise validation_error([_model_type(("body",), value)])
    return value


def _model_type(loc: Loc, value: object) -> ValidationItem:
    return {
        "type": "model_attributes_type",
        "loc": list(loc),
        "msg": "Input should be a valid dictionary or object to extract fields from",
        "input": value,
    }


def parse_uuid(value: str, loc: Loc) -> str:
    """Return the canonical form of a UUID string or raise a ``uuid_parsing`` 422."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise validation_error([_uuid_item(loc, value)]) from None


def _uuid_item(loc: Loc, value: object) -> ValidationItem:
    return {
        "type": "uuid_parsing",
        "loc": list(loc),
        "msg": "Input should be a valid UUID, unable to parse string as a UUID",
        "input": value,
        "ctx": {"error": "unable to parse string as a UUID"},
    }


class Fields:
    """Typed accessors over one JSON object, collecting validation errors.

    Call :meth:`check` (or :meth:`raise_errors`) once every field has been
    read; accessors return a placeholder for invalid values so reading can
    continue and every error is reported together.
    """

    def __init__(
        self, data: dict[str, Any], loc: Loc = ("body",), errors: list[ValidationItem] | None = None
    ) -> None:
        self.data = data
        self.loc = loc
        self.errors: list[ValidationItem] = [] if errors is None else errors

    # -- primitives -------------------------------------------------------

    def missing(self, name: str) -> None:
        self.errors.append(
            {
                "type": "missing",
                "loc": [*self.loc, name],
                "msg": "Field required",
                "input": self.data,
            }
        )

    def error(self, name: str | None, type_: str, msg: str, value: object, **ctx: Any) -> None:
        """Record one validation item at ``loc + name``."""
        loc = [*self.loc] if name is None else [*self.loc, name]
        item: ValidationItem = {"type": type_, "loc": loc, "msg": msg, "input": value}
        if ctx:
            item["ctx"] = ctx
        self.errors.append(item)

    @overload
    def string(
        self,
        name: str,
        *,
        required: Literal[True],
        min_length: int | None = ...,
        max_length: int | None = ...,
    ) -> str: ...

    @overload
    def string(
        self,
        name: str,
        *,
        required: Literal[False] = ...,
        min_length: int | None = ...,
        max_length: int | None = ...,
    ) -> str | Missing | None: ...

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        min_length: int | None = None,
        max_length: int | None = None,
    ) -> str | Missing | None:
        """A string field; ``None`` for JSON null (optional fields only), MISSING if absent."""
        if name not in self.data:
            if required:
                self.missing(name)
                return ""
            return MISSING
        value = self.data[name]
        if value is None and not required:
            return None
        if not isinstance(value, str):
            self.error(name, "string_type", "Input should be a valid string", value)
            return ""
        if min_length is not None and len(value) < min_length:
            self.error(
                name,
                "string_too_short",
                f"String should have at least {_plural(min_length, 'character')}",
                value,
                min_length=min_length,
            )
        if max_length is not None and len(value) > max_length:
            self.error(
                name,
                "string_too_long",
                f"String should have at most {_plural(max_length, 'character')}",
                value,
                max_length=max_length,
            )
        return value

    def literal(
        self, name: str, choices: Sequence[str], *, nullable: bool = True
    ) -> str | Missing | None:
        """A string restricted to ``choices``; ``None`` for null when ``nullable``."""
        if name not in self.data:
            return MISSING
        value = self.data[name]
        if value is None and nullable:
            return None
        if value not in choices:
            quoted = [f"'{c}'" for c in choices]
            expected = (
                quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
            )
            self.error(
                name, "literal_error", f"Input should be {expected}", value, expected=expected
            )
            return None
        return str(value)

    def uuid(self, name: str) -> str | Missing | None:
        """A UUID string (canonicalised); ``None`` for null, MISSING if absent."""
        if name not in self.data:
            return MISSING
        value = self.data[name]
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(
                name, "uuid_type", "UUID input should be a string, bytes or UUID object", value
            )
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            self.errors.append(_uuid_item((*self.loc, name), value))
            return None

    def obj(self, name: str) -> Fields | Missing | None:
        """A nested object, returned as a child :class:`Fields` sharing the error list."""
        if name not in self.data:
            return MISSING
        value = self.data[name]
        if value is None:
            return None
        if not isinstance(value, dict):
            self.errors.append(_model_type((*self.loc, name), value))
            return None
        return Fields(value, (*self.loc, name), self.errors)

    def raw(self, name: str) -> Any:
        """The raw JSON value, or MISSING."""
        return self.data.get(name, MISSING)

    def raise_errors(self) -> None:
        """Raise the collected 422, if any error was recorded."""
        if self.errors:
            raise ApiError(422, list(self.errors))
