"""The one cattrs converter that turns response JSON into models.

Forward compatible: unknown keys are kept in each model's ``extra``, unknown
enum values stay plain strings, ``null`` for a field with a default means the
default, datetimes are timezone-aware (ISO strings and epoch numbers both
parse). cattrs is imported on first use so importing the SDK stays fast.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import attrs

from inkbox_async._errors import InkboxError

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

MALFORMED = (AttributeError, KeyError, TypeError, ValueError)
"""What structuring raises for a response that does not have the documented shape."""


def _datetime(value: Any, _: type) -> datetime:
    if type(value) is not str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        value = str(value)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _uuid(value: Any, _: type) -> UUID:
    return (
        UUID(value)
        if type(value) is str
        else value
        if isinstance(value, UUID)
        else UUID(str(value))
    )


def _optional_date(value: Any, _: type) -> date | None:
    # Some services send "" for an unset date.
    return None if value is None or value == "" else date.fromisoformat(str(value))


def _optional_str(value: Any, _: type) -> str | None:
    return value if value is None or type(value) is str else str(value)


def _open_enum_member(union: Any) -> type[enum.Enum] | None:
    """The enum of an ``SomeEnum | str`` (or ``SomeEnum | str | None``) annotation, else None."""
    if typing.get_origin(union) not in (typing.Union, types.UnionType):
        return None
    args = typing.get_args(union)
    enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
    if len(enums) == 1 and str in args and len(args) == 2 + (type(None) in args):
        return enums[0]
    return None


def _open_enum_hook(union: Any) -> Callable[[Any, Any], Any]:
    enum_type = _open_enum_member(union)
    assert enum_type is not None
    members = {str(m.value): m for m in enum_type}

    def structure(value: Any, _: Any) -> Any:
        if value is None:
            return None
        return members.get(value, value) if isinstance(value, str) else str(value)

    return structure


WIRE_NAME = "inkbox_wire_name"


def wire_name(name: str) -> dict[str, str]:
    """Field metadata for an attribute whose JSON key differs: ``attrs.field(metadata=...)``."""
    return {WIRE_NAME: name}


def _model_hook(conv: cattrs.Converter, cls: type) -> Callable[[Any, Any], Any]:
    """The reference structure function of a model: cattrs' own, behind the key filtering.

    Models the generated functions (:mod:`inkbox_async._model_structure`)
    cannot take use it; the tests hold those to the same results.
    """
    from cattrs.gen import make_dict_structure_fn, override

    fields = attrs.fields(cls)
    renamed = {f.name: f.metadata[WIRE_NAME] for f in fields if WIRE_NAME in f.metadata}
    names = frozenset(renamed.get(f.name, f.name) for f in fields if f.name != "extra")
    has_extra = any(f.name == "extra" for f in fields)
    hints = typing.get_type_hints(cls)
    null_means_default = frozenset(
        renamed.get(f.name, f.name)
        for f in fields
        if f.default is not attrs.NOTHING and type(None) not in typing.get_args(hints[f.name])
    )
    overrides: dict[str, Any] = {attr: override(rename=key) for attr, key in renamed.items()}
    inner: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, conv, **overrides)

    def structure(data: Any, _: Any) -> Any:
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
        unknown = data.keys() - names
        if unknown or (
            null_means_default and any(data.get(k, 0) is None for k in null_means_default)
        ):
            known = {
                k: v
                for k, v in data.items()
                if k not in unknown and not (v is None and k in null_means_default)
            }
            if has_extra:
                known["extra"] = {k: data[k] for k in unknown}
            data = known
        return inner(data, cls)

    return structure


def _build_converter(*, fast: bool) -> cattrs.Converter:
    import cattrs

    conv = cattrs.Converter(detailed_validation=False)
    conv.register_structure_hook(datetime, _datetime)
    conv.register_structure_hook(date, lambda v, _: date.fromisoformat(str(v)))
    conv.register_structure_hook(date | None, _optional_date)
    conv.register_structure_hook(UUID, _uuid)
    conv.register_structure_hook(str | None, _optional_str)
    conv.register_structure_hook_factory(
        lambda t: _open_enum_member(t) is not None, _open_enum_hook
    )
    from inkbox_async._model_structure import fast_model_hook

    model_hook = fast_model_hook if fast else _model_hook
    conv.register_structure_hook_factory(attrs.has, functools.partial(model_hook, conv))
    return conv


@functools.cache
def converter() -> cattrs.Converter:
    """The shared converter, built on first use."""
    return _build_converter(fast=True)


def structure(data: Any, cls: type[T]) -> T:
    """Parse decoded JSON into ``cls``; a malformed response raises :class:`InkboxError`."""
    try:
        result: T = converter().get_structure_hook(cls)(data, cls)
    except MALFORMED as exc:
        raise unexpected(cls, exc) from exc
    return result


def unexpected(cls: type, exc: Exception) -> InkboxError:
    """The error for a response that does not have the documented shape."""
    return InkboxError(f"unexpected response shape for {cls.__name__}: {exc!r}")


def structure_list(data: Any, cls: type[T]) -> list[T]:
    """Parse a JSON array (or an ``{"items": [...]}`` envelope) into ``list[cls]``."""
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    if not isinstance(data, list):
        raise unexpected(cls, TypeError(f"expected a JSON array, got {type(data).__name__}"))
    hook = converter().get_structure_hook(cls)
    try:
        return [hook(item, cls) for item in data]
    except MALFORMED as exc:
        raise unexpected(cls, exc) from exc
