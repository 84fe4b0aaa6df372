"""Request-body parsing with FastAPI/pydantic-shaped 422 errors.

Handlers read JSON bodies through :func:`parse_json_object` and
:class:`Fields`, which collect every problem (like pydantic does) and raise
one 422 whose ``detail`` is a list of ``{type, loc, msg, input[, ctx]}``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from enum import Enum
from typing import Any, Final, Literal, overload

from ._errors import ApiError, ValidationItem, validation_error

__all__ = ["MISSING", "Fields", "Missing", "parse_json_object", "parse_uuid"]


class Missing(Enum):
    """Marker for a key absent from the body (distinct from JSON ``null``)."""

    MISSING = "MISSING"


MISSING: Final = Missing.MISSING

Loc = tuple[str | int, ...]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def parse_json_object(raw: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    """Decode a request body that must be a JSON object.

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
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        pos = exc.pos if isinstance(exc, json.JSONDecodeError) else exc.start
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "Invalid UTF-8"
        raise validation_error(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", pos],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": reason},
                }
            ]
        ) from None
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
