"""Structure functions generated per model: the converter's results, without its overhead.

For each plain attrs model (see :func:`plain_model`) one function is compiled
from straight-line source: required keys are read, optional ones looked up
once and counted, so unknown keys are gathered into ``extra`` only when the
count says there are some, and the instance is filled slot by slot
(``__attrs_post_init__`` still runs). Each value takes an inline branch for
the shape a well-behaved server sends, built to give exactly what the
converter's hook for the field's type gives, and goes to that hook otherwise,
so odd input is converted (or refused) the same way.

A list repeats one key layout item after item. Once a layout has been seen
:data:`SHAPE_AFTER` times, a second function specialised to it is compiled:
it unpacks the values by position, knows which keys are unknown and which
fields are absent, and is used for every later item with that layout.
"""

from __future__ import annotations

import itertools
import linecache
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, SafeUUID

import attrs

from inkbox_async._converter import WIRE_NAME, _model_hook, _open_enum_member, _uuid

if TYPE_CHECKING:
    import cattrs

SHAPE_AFTER = 8
"""Items of one key layout after which a function specialised to it is compiled."""
SHAPES_PER_MODEL = 16
"""Key layouts tracked per model: once this many have their function, others use the general one."""

_MISSING: Any = object()
_new_object = object.__new__
_set_uuid_int = UUID.__dict__["int"].__set__
_set_uuid_safe = UUID.__dict__["is_safe"].__set__
_UUID_SAFE_UNKNOWN = SafeUUID.unknown

UUID_MEMO_SIZE = 256
uuid_memo: dict[str, UUID] = {}
"""Recently parsed ids (a list repeats its parent's ids on every item); UUIDs are immutable."""


def fast_uuid(value: Any) -> UUID:
    """The converter's UUID hook, with the canonical form parsed without ``UUID.__init__``.

    Only strings ``UUID()`` reads the same way take the short cut (36
    characters, 32 once the hyphens are dropped, which ``int(..., 16)``
    accepts); anything else goes through ``UUID()`` and its errors. Parsed
    strings are remembered in :data:`uuid_memo`, which the generated
    functions read first.
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
    if len(uuid_memo) >= UUID_MEMO_SIZE:
        uuid_memo.clear()
    uuid_memo[value] = parsed
    return parsed


def _not_an_object(cls: type, data: Any) -> TypeError:
    return TypeError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")


def plain_model(cls: type) -> bool:
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
    """Lines turning the JSON value ``v`` into the field value ``var``."""
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
            return [*lines, "    if v is not None:", f"        {var} = _fast_uuid(v)"]
        return [*lines, f"    {var} = _fast_uuid(v)"]
    if inner == list[str]:
        env[f"_e_{var}"] = conv.get_structure_hook(str)
        lines = [
            "if type(v) is list:",
            f"    {var} = [e if type(e) is str else _e_{var}(e, str) for e in v]",
        ]
        if optional:
            lines += ["elif v is None:", f"    {var} = None"]
        return [*lines, "else:", f"    {slow}"]
    if inner is datetime:
        lines = [
            "if type(v) is str:",
            "    d = _fromisoformat(v)",
            f"    {var} = d if d.tzinfo is not None else d.replace(tzinfo=_UTC)",
        ]
        if optional:
            lines += ["elif v is None:", f"    {var} = None"]
        return [*lines, "else:", f"    {slow}"]
    enum_type = _open_enum_member(hint)
    if enum_type is not None:
        members = f"_m_{var}"
        env[members] = {str(m.value): m for m in enum_type}
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


def fast_model_hook(conv: cattrs.Converter, cls: type) -> Callable[[Any, Any], Any]:
    """The structure function of ``cls``: generated, or the reference one for other models."""
    from cattrs.errors import StructureHandlerNotFoundError

    if not plain_model(cls):
        return _model_hook(conv, cls)
    try:
        return _ModelCode(conv, cls).general()
    except StructureHandlerNotFoundError:  # a request-only type: the reference reports it
        return _model_hook(conv, cls)


def _indent(lines: list[str], depth: int) -> list[str]:
    return [" " * (4 * depth) + line for line in lines]


class _ModelCode:
    """The pieces of one model's generated source, and its compiled functions."""

    def __init__(self, conv: cattrs.Converter, cls: type) -> None:
        self.cls = cls
        self.env: dict[str, Any] = {
            "_MISSING": _MISSING,
            "_cls": cls,
            "_dict": dict,
            "_new": _new_object,
            "_not_an_object": _not_an_object,
            "_fast_uuid": fast_uuid,
            "_uuid_memo": uuid_memo,
            "_fromisoformat": datetime.fromisoformat,
            "_UTC": UTC,
        }
        hints = typing.get_type_hints(cls)
        self.count = len(attrs.fields(cls))
        self.extra: str | None = None
        # per wire key: (variable, conversion lines, default expression or None if required)
        self.fields: dict[str, tuple[str, list[str], str | None, bool]] = {}
        for i, f in enumerate(attrs.fields(cls)):
            var = f"f{i}"
            self.env[f"_s_{var}"] = getattr(cls, f.name).__set__
            if f.name == "extra":
                self.extra = var
                continue
            convert = _value_code(conv, hints[f.name], var, self.env)
            default = None
            if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
                self.env[f"_d_{var}"] = f.default.factory
                default = f"_d_{var}()"
            elif f.default is not attrs.NOTHING:
                self.env[f"_d_{var}"] = f.default
                default = f"_d_{var}"
            nullable = type(None) in typing.get_args(hints[f.name])
            self.fields[f.metadata.get(WIRE_NAME, f.name)] = (var, convert, default, nullable)
        self.shapes: dict[tuple[str, ...], Any] = {}
        self.serial = itertools.count()

    def _present(self, key: str) -> list[str]:
        """Lines converting the value ``v`` of a key that is present."""
        var, convert, default, nullable = self.fields[key]
        if default is None or nullable:
            return convert
        # null means the default
        return ["if v is None:", f"    {var} = {default}", "else:", *_indent(convert, 1)]

    def _finish(self, extra: str) -> list[str]:
        lines = [f"{self.extra} = {extra}"] if self.extra is not None else []
        lines.append("self = _new(_cls)")
        lines += [f"_s_f{i}(self, f{i})" for i in range(self.count)]
        if hasattr(self.cls, "__attrs_post_init__"):
            lines.append("self.__attrs_post_init__()")
        return [*lines, "return self"]

    def _compile(self, name: str, params: str, body: list[str]) -> Any:
        source = f"def {name}({params}):\n" + "".join(f"    {line}\n" for line in body)
        filename = f"<inkbox {name} {self.cls.__module__}.{self.cls.__qualname__}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        defined: dict[str, Any] = {}  # not self.env: threads may compile at the same time
        exec(compile(source, filename, "exec"), self.env, defined)  # our own generated source
        return defined[name]

    def general(self) -> Callable[[Any, Any], Any]:
        """The function for any input: dispatches to a layout's function once there is one."""
        self.env["_shapes"] = self.shapes
        self.env["_seen"] = self._seen
        body = [
            "if type(o) is _dict:",
            "    shape = tuple(o)",
            "    known = _shapes.get(shape)",
            "    if known is not None and known.__class__ is not int:",
            "        return known(o)",
            "    _seen(shape, known)",
            "elif not isinstance(o, _dict):",
            "    raise _not_an_object(_cls, o)",
            "n = 0",
        ]
        required = 0
        for key, (var, _, default, _) in self.fields.items():
            present = self._present(key)
            if default is None:
                required += 1
                body += [f"v = o[{key!r}]", *present]
            else:
                body += [
                    f"v = o.get({key!r}, _MISSING)",
                    "if v is _MISSING:",
                    f"    {var} = {default}",
                ]
                body += ["else:", "    n += 1", *_indent(present, 1)]
        self.env["_known"] = frozenset(self.fields)
        unknown = f"{{}} if n + {required} == len(o) else {{k: o[k] for k in o if k not in _known}}"
        function: Callable[[Any, Any], Any] = self._compile(
            f"structure_{self.cls.__name__}", "o, _=None", body + self._finish(unknown)
        )
        return function

    def _seen(self, shape: tuple[str, ...], count: int | None) -> None:
        """Count one item of a layout; compile the layout's function at :data:`SHAPE_AFTER`."""
        if count is None:
            if len(self.shapes) >= SHAPES_PER_MODEL:  # forget the layouts still being counted
                # list() copies in one step: other threads may insert while this evicts
                for key in [k for k, v in list(self.shapes.items()) if v.__class__ is int]:
                    self.shapes.pop(key, None)
                if len(self.shapes) >= SHAPES_PER_MODEL:
                    return
            count = 0
        elif count < 0:
            return
        count += 1
        if count < SHAPE_AFTER:
            self.shapes[shape] = count
        elif any(f[2] is None and key not in shape for key, f in self.fields.items()):
            self.shapes[shape] = -1  # a required key is missing: the general function reports it
        else:
            self.shapes[shape] = self._shaped(shape)

    def _shaped(self, shape: tuple[str, ...]) -> Callable[[Any], Any]:
        """The function for items whose keys are exactly ``shape``, in that order."""
        slots = [f"v{i}" for i in range(len(shape))]
        body = [f"({', '.join(slots)},) = o.values()" if slots else "pass"]
        unknown: list[str] = []
        for key, (var, _, default, _) in self.fields.items():
            if key in shape:
                body += [f"v = {slots[shape.index(key)]}", *self._present(key)]
            else:
                body.append(f"{var} = {default}")
        for i, key in enumerate(shape):
            if key not in self.fields:
                unknown.append(f"{key!r}: {slots[i]}")
        function: Callable[[Any], Any] = self._compile(
            f"structure_{self.cls.__name__}_shape{next(self.serial)}",
            "o",
            body + self._finish("{" + ", ".join(unknown) + "}"),
        )
        return function
