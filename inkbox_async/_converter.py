"""The one cattrs converter that turns response JSON into models.

Forward compatible: unknown keys are kept in each model's ``extra``, unknown
enum values stay plain strings, ``null`` for a field with a default means the
default, datetimes are timezone-aware (ISO strings and epoch numbers both
parse). cattrs is imported on first use so importing the SDK stays fast.
"""

from __future__ import annotations

import enum
import functools
import linecache
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, SafeUUID

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

    Models the fast path (:func:`_fast_model_hook`) cannot take use it; the
    tests hold the fast path to the same results.
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


_MISSING: Any = object()
_new_object = object.__new__
_set_uuid_int = UUID.__dict__["int"].__set__
_set_uuid_safe = UUID.__dict__["is_safe"].__set__
_UUID_SAFE_UNKNOWN = SafeUUID.unknown


_UUID_MEMO_SIZE = 256
_uuid_memo: dict[str, UUID] = {}
"""Recently parsed ids (a list repeats its parent's ids on every item); UUIDs are immutable."""


def _fast_uuid(value: Any) -> UUID:
    """``_uuid`` with the canonical 36-character form parsed without ``UUID.__init__``.

    Only strings ``UUID()`` reads the same way take the short cut (32
    characters once the hyphens are dropped, which ``int(..., 16)`` accepts);
    anything else goes through ``UUID()`` and its errors. Parsed strings are
    remembered in a small memo the generated structure functions read first.
    """
    if type(value) is not str:
        return _uuid(value, UUID)
    digits = value.replace("-", "")
    if len(value) != 36 or len(digits) != 32:
        return _uuid(value, UUID)
    try:
        number = int(digits, 16)
    except ValueError:
        return _uuid(value, UUID)
    parsed: UUID = _new_object(UUID)
    _set_uuid_int(parsed, number)
    _set_uuid_safe(parsed, _UUID_SAFE_UNKNOWN)
    if len(_uuid_memo) >= _UUID_MEMO_SIZE:
        _uuid_memo.clear()
    _uuid_memo[value] = parsed
    return parsed


def _not_an_object(cls: type, data: Any) -> TypeError:
    return TypeError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")


def _plain_model(cls: type) -> bool:
    """Whether instances of ``cls`` can be filled slot by slot instead of through ``__init__``.

    True for slotted attrs classes with a generated ``__init__`` whose fields
    have no validator, converter or ``takes_self`` default and whose slots are
    all fields (no cached hash).
    """
    fields = attrs.fields(cls)
    if "__init__" not in cls.__dict__ or hasattr(cls, "__attrs_init__"):
        return False
    if hasattr(cls, "__attrs_pre_init__"):
        return False
    names = {f.name for f in fields}
    slots = {s for k in cls.__mro__[:-1] for s in getattr(k, "__slots__", ())}
    if not slots <= names | {"__weakref__"}:
        return False
    for f in fields:
        if not isinstance(getattr(cls, f.name, None), types.MemberDescriptorType):
            return False
        if f.validator is not None or f.converter is not None or not f.init:
            return False
        if isinstance(f.default, attrs.Factory) and f.default.takes_self:  # type: ignore[arg-type]
            return False
    return True


def _value_code(conv: cattrs.Converter, hint: Any, var: str, env: dict[str, Any]) -> list[str]:
    """Lines turning the JSON value ``v`` into the field value ``var``.

    The shapes a well-behaved server sends take an inline branch that gives
    exactly what the converter's hook for ``hint`` gives; every other value
    goes to that hook, so odd input is handled (or refused) the same way.
    """
    hook, typ = f"_h_{var}", f"_t_{var}"
    env[hook], env[typ] = conv.get_structure_hook(hint), hint
    slow = f"{var} = {hook}(v, {typ})"
    args = typing.get_args(hint)
    optional = type(None) in args and typing.get_origin(hint) in (typing.Union, types.UnionType)
    inner = next(a for a in args if a is not type(None)) if optional and len(args) == 2 else hint
    none = "v is None or " if optional else ""
    if hint is Any:
        return [f"{var} = v"]
    if inner is UUID:
        lines = [f"{var} = _uuid_memo.get(v) if type(v) is str else None", f"if {var} is None:"]
        if optional:
            lines += ["    if v is not None:", f"        {var} = _fast_uuid(v)"]
        else:
            lines += [f"    {var} = _fast_uuid(v)"]
        return lines
    if inner == list[str]:
        env[hook] = conv.get_structure_hook(str)
        lines = [
            "if type(v) is list:",
            f"    {var} = [e if type(e) is str else {hook}(e, str) for e in v]",
        ]
        if optional:
            lines += ["elif v is None:", f"    {var} = None"]
        env[f"_l_{var}"] = conv.get_structure_hook(hint)
        return [*lines, "else:", f"    {var} = _l_{var}(v, {typ})"]
    if inner is datetime:
        lines = [
            "if type(v) is str:",
            "    d = _fromisoformat(v)",
            f"    {var} = d if d.tzinfo is not None else d.replace(tzinfo=_UTC)",
        ]
        if optional:
            lines += ["elif v is None:", f"    {var} = None"]
        return [*lines, "else:", f"    {slow}"]
    if _open_enum_member(hint) is not None:
        members = f"_m_{var}"
        env[members] = {str(m.value): m for m in _open_enum_member(hint)}  # type: ignore[union-attr]
        return [f"{var} = {members}.get(v, v) if type(v) is str else {hook}(v, {typ})"]
    test = {
        str: "type(v) is str",
        int: "type(v) is int",
        float: "type(v) is float",
        bool: "v is True or v is False",
    }.get(inner)
    if test is None:
        return [slow]
    return [f"if {none}{test}:", f"    {var} = v", "else:", f"    {slow}"]


def _fast_model_hook(conv: cattrs.Converter, cls: type) -> Callable[[Any, Any], Any]:
    """A structure function generated for ``cls``: the reference's results, faster.

    Straight-line code per field (no per-item set arithmetic): required keys
    are read, optional ones looked up once and counted, so unknown keys are
    gathered into ``extra`` only when the count says there are some; the
    instance is filled slot by slot (``__attrs_post_init__`` still runs).
    """
    from cattrs.errors import StructureHandlerNotFoundError

    if not _plain_model(cls):
        return _model_hook(conv, cls)
    try:
        return _generate(conv, cls)
    except StructureHandlerNotFoundError:  # a request-only type: the reference reports it
        return _model_hook(conv, cls)


def _generate(conv: cattrs.Converter, cls: type) -> Callable[[Any, Any], Any]:
    fields = attrs.fields(cls)
    hints = typing.get_type_hints(cls)
    env: dict[str, Any] = {
        "_MISSING": _MISSING,
        "_cls": cls,
        "_dict": dict,
        "_new": _new_object,
        "_not_an_object": _not_an_object,
        "_fast_uuid": _fast_uuid,
        "_uuid_memo": _uuid_memo,
        "_fromisoformat": datetime.fromisoformat,
        "_UTC": UTC,
    }
    body = [
        "if type(o) is not _dict and not isinstance(o, _dict):",
        "    raise _not_an_object(_cls, o)",
        "n = 0",
    ]
    required = 0
    known: list[str] = []
    extra = None
    for i, f in enumerate(fields):
        var = f"f{i}"
        env[f"_s_{var}"] = getattr(cls, f.name).__set__
        if f.name == "extra":
            extra = var
            continue
        key = f.metadata.get(WIRE_NAME, f.name)
        known.append(key)
        convert = _value_code(conv, hints[f.name], var, env)
        if f.default is attrs.NOTHING:
            required += 1
            body += [f"v = o[{key!r}]", *convert]
            continue
        if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            env[f"_d_{var}"] = f.default.factory
            default = f"_d_{var}()"
        else:
            env[f"_d_{var}"] = f.default
            default = f"_d_{var}"
        body += [f"v = o.get({key!r}, _MISSING)", "if v is _MISSING:", f"    {var} = {default}"]
        if type(None) in typing.get_args(hints[f.name]):
            body += ["else:", "    n += 1", *("    " + line for line in convert)]
        else:  # null means the default
            body += ["else:", "    n += 1", "    if v is None:", f"        {var} = {default}"]
            body += ["    else:", *("        " + line for line in convert)]
    if extra is not None:
        env["_known"] = frozenset(known)
        body += [
            f"if n + {required} == len(o):",
            f"    {extra} = {{}}",
            "else:",
            f"    {extra} = {{k: o[k] for k in o if k not in _known}}",
        ]
    body.append("self = _new(_cls)")
    body += [f"_s_f{i}(self, f{i})" for i in range(len(fields))]
    if hasattr(cls, "__attrs_post_init__"):
        body.append("self.__attrs_post_init__()")
    body.append("return self")
    name = f"structure_{cls.__name__}"
    source = f"def {name}(o, _=None):\n" + "".join(f"    {line}\n" for line in body)
    filename = f"<inkbox structure {cls.__module__}.{cls.__qualname__}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), env)  # our own generated source
    function: Callable[[Any, Any], Any] = env[name]
    return function


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
    model_hook = _fast_model_hook if fast else _model_hook
    conv.register_structure_hook_factory(attrs.has, functools.partial(model_hook, conv))
    return conv


@functools.cache
def converter() -> cattrs.Converter:
    """The shared converter, built on first use."""
    return _build_converter(fast=True)


def structure(data: Any, cls: type[T]) -> T:
    """Parse decoded JSON into ``cls``; a malformed response raises :class:`InkboxError`."""
    try:
        return converter().structure(data, cls)
    except MALFORMED as exc:
        raise unexpected(cls, exc) from exc


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
