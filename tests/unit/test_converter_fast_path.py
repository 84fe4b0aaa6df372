"""The generated structure functions give exactly what the reference (cattrs) path gives.

For every response model, a corpus of payloads is built from its field types:
well-formed values, the odd ones a server might send (numbers for strings,
unknown enum values, naive datetimes, epoch numbers, UUIDs in other spellings,
nulls, missing and unknown keys) and malformed ones. Each payload goes through
both converters: the models must be identical (``extra`` and value types
included) or both must refuse it with the same exception type.
"""

from __future__ import annotations

import copy
import enum
import importlib
import pickle
import pkgutil
import types
import typing
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import attrs
import pytest
from cattrs.errors import StructureHandlerNotFoundError

import inkbox_async.models
from inkbox_async import InkboxError, Message, MessageStatus
from inkbox_async._converter import (
    MALFORMED,
    _build_converter,
    converter,
    structure,
    structure_list,
)
from inkbox_async._model_structure import (
    SHAPE_AFTER,
    SHAPES_PER_MODEL,
    UUID_MEMO_SIZE,
    fast_model_hook,
    plain_model,
    uuid_memo,
)

REFERENCE = _build_converter(fast=False)
UUID_TEXT = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
UUIDS: list[Any] = [
    UUID_TEXT,
    UUID_TEXT.upper(),
    "{" + UUID_TEXT + "}",
    "urn:uuid:" + UUID_TEXT,
    UUID_TEXT.replace("-", ""),
    " b4e28ba-2fa1-11d2-883f-0016d3cca427",  # int() strips the space: UUID() accepts it too
    "+b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "1b4e28ba-2fa1-11d2-883f-0016d3cca42g",  # not hex
    "1b4e28ba-2fa1-11d2-883f-0016d3cca4",  # short
    "1b4e28ba-2fa1-11d2-883f--016d3cca427",  # a fifth hyphen
    "1b4e28ba_2fa1_11d2_883f_0016d3cca427",
    12345,
    [],
]
DATETIMES: list[Any] = [
    "2026-03-09T10:11:12Z",
    "2026-03-09T10:11:12.123456+02:00",
    "2026-03-09T10:11:12",  # naive: read as UTC
    "2026-03-09",
    1_700_000_000,
    1_700_000_000.5,
    "yesterday",
    True,
    {},
]


def model_classes() -> list[type]:
    found = []
    for module_info in pkgutil.iter_modules(inkbox_async.models.__path__):
        module = importlib.import_module(f"inkbox_async.models.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and attrs.has(value) and value.__module__ == module.__name__:
                found.append(value)
    return found


def unwrap(hint: Any) -> tuple[Any, bool]:
    """The type inside ``X | None`` and whether None was allowed."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) < len(typing.get_args(hint)) and len(args) == 1:
            return args[0], True
    return hint, False


def candidates(hint: Any, depth: int = 0) -> list[Any]:
    """Values to try for a field of type ``hint``, the well-formed one first."""
    inner, optional = unwrap(hint)
    extra = [None] if optional else []
    args = typing.get_args(inner)
    enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
    if inner is str:
        values: list[Any] = ["text", "", 5, 1.5, ["x"]]
    elif inner is bool:
        values = [True, False, 1, 0, "yes"]
    elif inner is int:
        values = [3, 0, "7", 2.0, True, "seven"]
    elif inner is float:
        values = [1.5, 2, "2.5", "x"]
    elif inner is UUID:
        values = list(UUIDS)
    elif inner is datetime:
        values = list(DATETIMES)
    elif inner is date:
        values = ["2026-03-09", "", "03/09/2026"]
    elif enums and str in args:
        values = [next(iter(enums[0])).value, "not-a-member-yet", 5]
    elif inner is Any:
        values = [{"any": [1, 2]}, "x"]
    elif typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        if attrs.has(item):
            values = [[payload(item, depth + 1)], []] if depth < 3 else [[]]
        else:
            values = [[candidates(item, depth + 1)[0]], [], [1, "b"], "ab"]
    elif typing.get_origin(inner) is dict:
        values = [{"k": True}, {}]
    elif typing.get_origin(inner) is typing.Literal:
        values = list(typing.get_args(inner))
    elif isinstance(inner, type) and attrs.has(inner):
        values = [payload(inner, depth + 1)] if depth < 3 else []
        if depth == 0:
            values.append("not an object")
    else:
        values = []
    return values + extra


def wire_key(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("inkbox_wire_name", field.name))


def payload(cls: type, depth: int = 0) -> dict[str, Any]:
    """A well-formed payload of ``cls`` (every field set)."""
    hints = typing.get_type_hints(cls)
    data = {}
    for field in attrs.fields(cls):
        if field.name == "extra":
            continue
        values = candidates(hints[field.name], depth)
        if values:
            data[wire_key(field)] = values[0]
    return data


def corpus(cls: type) -> Iterator[Any]:
    base = payload(cls)
    yield base
    yield {**base, "brand_new_field": {"nested": [1]}, "another": None}
    yield {**base, "extra": {"a": 1}}
    yield {}
    yield [base]
    yield "not an object"
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        if field.name == "extra":
            continue
        key = wire_key(field)
        for value in candidates(hints[field.name])[1:]:
            yield {**base, key: value}
        yield {**base, key: None}
        yield {k: v for k, v in base.items() if k != key}


def snapshot(value: Any) -> Any:
    """Everything a model holds, ``extra`` and the exact types of values included."""
    if attrs.has(type(value)):
        return (
            type(value),
            tuple((f.name, snapshot(getattr(value, f.name))) for f in attrs.fields(type(value))),
        )
    if isinstance(value, list):
        return [snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return (datetime, value, value.utcoffset())
    return (type(value), value)


def outcome(conv: Any, data: Any, cls: type) -> Any:
    try:
        hook = conv.get_structure_hook(cls)
    except StructureHandlerNotFoundError:  # request options: neither converter reads them
        return ("unsupported",)
    try:
        return snapshot(hook(copy.deepcopy(data), cls))
    except MALFORMED as exc:
        return ("raised", type(exc))


FAST_MODELS = [cls for cls in model_classes() if plain_model(cls)]


def test_most_models_take_the_fast_path() -> None:
    everything = model_classes()
    assert len(everything) > 60
    assert len(FAST_MODELS) >= len(everything) - 15
    assert Message in FAST_MODELS
    assert getattr(converter().get_structure_hook(Message), "__name__", "") == "structure_Message"


@pytest.mark.parametrize("cls", FAST_MODELS, ids=lambda cls: cls.__name__)
def test_fast_path_gives_the_reference_models(cls: type) -> None:
    fast = converter()
    checked = 0
    for data in corpus(cls):
        expected = outcome(REFERENCE, data, cls)
        assert outcome(fast, data, cls) == expected, data
        for _ in range(SHAPE_AFTER):  # by now this key layout has its own function
            assert outcome(fast, data, cls) == expected, data
        checked += 1
    assert checked > 5


def test_a_key_layout_gets_its_own_function() -> None:
    hook = _build_converter(fast=True).get_structure_hook(Message)
    shapes = hook.__globals__["_shapes"]
    data = payload(Message) | {"from_display_name": "Someone", "import_job_id": None}
    del data["cc_addresses"]
    for _ in range(SHAPE_AFTER - 1):
        hook(data, Message)
    assert not callable(shapes[tuple(data)])
    general = hook(data, Message)
    assert callable(shapes[tuple(data)])
    shaped = hook(data, Message)
    assert snapshot(shaped) == snapshot(general) == outcome(REFERENCE, data, Message)
    assert shaped.extra == {"from_display_name": "Someone", "import_job_id": None}
    assert shaped.cc_addresses is None
    missing = {k: v for k, v in data.items() if k != "created_at"}
    for _ in range(SHAPE_AFTER + 1):  # a required key missing stays an error
        with pytest.raises(KeyError):
            hook(missing, Message)


def test_many_layouts_stay_correct() -> None:
    hook = _build_converter(fast=True).get_structure_hook(Message)
    shapes = hook.__globals__["_shapes"]
    base = payload(Message)
    for n in range(SHAPES_PER_MODEL * 2):
        data = base | {f"new_{n}": n}
        expected = outcome(REFERENCE, data, Message)
        for _ in range(SHAPE_AFTER + 1):
            assert snapshot(hook(copy.deepcopy(data), Message)) == expected
        assert len(shapes) <= SHAPES_PER_MODEL
    assert sum(callable(v) for v in shapes.values()) == SHAPES_PER_MODEL
    # one-off layouts being counted make room for each other
    for n in range(SHAPES_PER_MODEL * 2):
        hook(base | {f"once_{n}": n}, Message)
        assert len(shapes) <= SHAPES_PER_MODEL


def test_the_corpus_reaches_both_outcomes() -> None:
    """The comparison above is not vacuous: models come out, and malformed input is refused."""
    results = [outcome(converter(), data, Message) for data in corpus(Message)]
    refused = [r for r in results if r[0] == "raised"]
    assert refused and len(refused) < len(results)
    assert {r[1] for r in refused} >= {KeyError, TypeError, ValueError}


def test_forward_compatible_values() -> None:
    data = payload(Message) | {
        "id": UUID_TEXT.upper(),
        "direction": "sideways",
        "status": "received",
        "created_at": "2026-03-09T10:11:12",
        "first_opened_at": "2026-03-09T12:00:00+02:00",
        "from_display_name": "Someone",
        "is_read": None,
    }
    message = structure(data, Message)
    assert message.id == UUID(UUID_TEXT) and type(message.id) is UUID
    assert message.direction == "sideways" and type(message.direction) is str
    assert message.status is MessageStatus.RECEIVED
    assert message.created_at == datetime(2026, 3, 9, 10, 11, 12, tzinfo=UTC)
    assert message.first_opened_at is not None
    assert message.first_opened_at.utcoffset() == timedelta(hours=2)
    assert message.is_read is False  # null means the default
    assert message.extra == {"from_display_name": "Someone"}


def test_malformed_responses_raise_typed_errors() -> None:
    good = payload(Message)
    for bad in (
        {**good, "id": "not-a-uuid"},
        {**good, "created_at": "soon"},
        {k: v for k, v in good.items() if k != "mailbox_id"},
        {**good, "to_addresses": 5},
    ):
        with pytest.raises(InkboxError, match="unexpected response shape for Message"):
            structure_list([good, bad], Message)
    with pytest.raises(InkboxError, match="expected a JSON object"):
        structure_list(["x"], Message)


def test_parsed_uuids_behave_like_constructed_ones() -> None:
    parsed = structure(payload(Message) | {"id": UUID_TEXT}, Message).id
    made = UUID(UUID_TEXT)
    assert parsed == made and hash(parsed) == hash(made) and str(parsed) == UUID_TEXT
    assert parsed.is_safe is uuid.SafeUUID.unknown
    assert pickle.loads(pickle.dumps(parsed)) == made
    assert copy.deepcopy(parsed) == made
    assert parsed.version == made.version and parsed.bytes == made.bytes
    with pytest.raises(TypeError):
        parsed.int = 5  # type: ignore[misc]


def test_the_uuid_memo_stays_small() -> None:
    ids = [str(uuid.uuid4()) for _ in range(3 * UUID_MEMO_SIZE)]
    items = [payload(Message) | {"id": i} for i in ids]
    parsed = structure_list(items, Message)
    assert [str(m.id) for m in parsed] == ids
    assert len(uuid_memo) <= UUID_MEMO_SIZE


def test_models_with_validators_or_converters_use_the_reference_path() -> None:
    slow = [cls for cls in model_classes() if not plain_model(cls)]
    assert slow  # e.g. vault payloads with validators
    for cls in slow:
        hook = fast_model_hook(REFERENCE, cls)
        assert getattr(hook, "__name__", "") == "structure"  # the reference wrapper


def test_post_init_still_runs() -> None:
    from inkbox_async import Mailbox

    data = payload(Mailbox) | {"email_address": "a@b.example", "sending_domain": None}
    assert structure(data, Mailbox).sending_domain == "b.example"


def test_offsets_are_kept() -> None:
    data = payload(Message) | {"created_at": "2026-03-09T10:11:12-05:00"}
    created = structure(data, Message).created_at
    assert created.tzinfo is not None
    assert created.utcoffset() == timezone(timedelta(hours=-5)).utcoffset(None)


def test_threads_compiling_layouts_at_once_get_their_own_functions() -> None:
    from concurrent.futures import ThreadPoolExecutor

    hook = _build_converter(fast=True).get_structure_hook(Message)
    base = payload(Message)
    layouts = [base | {f"only_in_{n}": n} for n in range(SHAPES_PER_MODEL)]

    def parse(data: dict[str, Any]) -> list[Any]:
        return [snapshot(hook(dict(data), Message)) for _ in range(4 * SHAPE_AFTER)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(parse, layouts))
    for data, got in zip(layouts, results, strict=True):
        assert got == [outcome(REFERENCE, data, Message)] * len(got)
    assert sum(callable(v) for v in hook.__globals__["_shapes"].values()) == SHAPES_PER_MODEL


def test_threads_evicting_layouts_at_once_never_fail() -> None:
    import sys
    from concurrent.futures import ThreadPoolExecutor

    hook = _build_converter(fast=True).get_structure_hook(Message)
    base = payload(Message)
    expected = hook(dict(base), Message)

    def parse(worker: int) -> int:
        for n in range(400):  # one-off layouts: the table is full and evicts as others insert
            model = hook(base | {f"w{worker}_{n}": n}, Message)
            assert attrs.evolve(model, extra=expected.extra) == expected
        return worker

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert sorted(pool.map(parse, range(8))) == list(range(8))
    finally:
        sys.setswitchinterval(interval)
