"""A runtime check of a JSON value against the SDK's webhook TypedDicts.

TypedDicts are erased at runtime, so ``cast(MailWebhookPayload, ...)`` proves
nothing about a real payload; this walks the annotations instead. Keys are
required unless annotated ``NotRequired`` (or the TypedDict is
``total=False``); with ``exact`` a key the type does not declare is a
mismatch too. Errors name the JSON path.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, is_typeddict

__all__ = ["key_tree", "shape_errors"]


def _typeddict_errors(value: Any, tp: Any, path: str, exact: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    hints = typing.get_type_hints(tp, include_extras=True)
    errors: list[str] = []
    for key, hint in hints.items():
        optional = get_origin(hint) is NotRequired or not tp.__total__
        if get_origin(hint) is NotRequired:
            hint = get_args(hint)[0]
        if key not in value:
            if not optional:
                errors.append(f"{path}.{key}: missing")
            continue
        errors.extend(shape_errors(value[key], hint, f"{path}.{key}", exact=exact))
    if exact:
        errors.extend(f"{path}.{key}: not declared" for key in value if key not in hints)
    return errors


def shape_errors(value: Any, tp: Any, path: str = "$", *, exact: bool = True) -> list[str]:
    """Why ``value`` (parsed JSON) does not fit ``tp``; empty when it does."""
    origin = get_origin(tp)
    if tp is Any:
        return []
    if is_typeddict(tp):
        return _typeddict_errors(value, tp, path, exact)
    if origin in (Union, types.UnionType):
        options = [shape_errors(value, arm, path, exact=exact) for arm in get_args(tp)]
        if any(not errs for errs in options):
            return []
        return min(options, key=len) if len(options) > 1 else options[0]
    if origin is Literal:
        return [] if value in get_args(tp) else [f"{path}: {value!r} not in {get_args(tp)}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        (item,) = get_args(tp)
        return [
            e
            for i, v in enumerate(value)
            for e in shape_errors(v, item, f"{path}[{i}]", exact=exact)
        ]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        key_tp, value_tp = get_args(tp)
        return [
            e
            for k, v in value.items()
            for e in [
                *shape_errors(k, key_tp, f"{path} key"),
                *shape_errors(v, value_tp, f"{path}.{k}", exact=exact),
            ]
        ]
    if tp is type(None):
        return [] if value is None else [f"{path}: expected null, got {value!r}"]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if tp in (str, int, bool):
        ok = isinstance(value, tp) and (tp is bool or not isinstance(value, bool))
        return [] if ok else [f"{path}: expected {tp.__name__}, got {value!r}"]
    raise TypeError(f"{path}: the checker does not handle {tp!r}")


def key_tree(value: Any) -> Any:
    """The keys of a JSON value, recursively (lists reduced to their first item's keys)."""
    if isinstance(value, dict):
        return {key: key_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [key_tree(value[0])] if value else []
    return None
