"""Argument checks run before any I/O; each error names the argument."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from uuid import UUID

from inkbox_async._errors import InvalidArgumentError, InvalidArgumentTypeError

E = TypeVar("E", bound=enum.Enum)

_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*")
# Lone surrogates cannot be encoded as UTF-8; NUL is refused by the service's storage.
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")
# ... and C0 controls but tab (CR, LF...), DEL and C1 controls (NEL...): never in a header.
_NOT_ONE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
# What a credential may hold: visible ASCII, no spaces.
_CREDENTIAL = re.compile("[\x21-\x7e]+")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def type_error(argument: str, expected: str, value: object) -> InvalidArgumentTypeError:
    """The error for a wrongly typed argument."""
    return InvalidArgumentTypeError(argument, f"expected {expected}, got {type(value).__name__}")


def _describe(char: str) -> str:
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate U+{ord(char):04X} (not valid Unicode text)"
    return f"a control character U+{ord(char):04X}"


def sendable(argument: str, value: str, *, single_line: bool = False) -> str:
    """``value`` if it can go on the wire: no lone surrogate, no NUL.

    ``single_line`` also refuses the control characters but tab (CR, LF,
    DEL, C1...), for values that end up in a header or a header-like field.
    """
    found = (_NOT_ONE_LINE if single_line else _UNSENDABLE).search(value)
    if found is not None:
        raise InvalidArgumentError(
            argument, f"contains {_describe(found.group())} at index {found.start()}"
        )
    return value


def text(
    argument: str,
    value: object,
    *,
    max_length: int | None = None,
    allow_empty: bool = False,
    single_line: bool = False,
) -> str:
    """A string, non-blank unless ``allow_empty``, at most ``max_length`` characters.

    Lone surrogates and NUL are refused; ``single_line`` refuses the other
    control characters but tab too (for subjects, names, ids and other
    header-like values).
    """
    if not isinstance(value, str):
        raise type_error(argument, "a str", value)
    if not allow_empty and not value.strip():
        raise InvalidArgumentError(argument, "must not be empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(
            argument, f"must be at most {max_length} characters, got {len(value)}"
        )
    return sendable(argument, value, single_line=single_line)


def line(argument: str, value: object, **kwargs: Any) -> str:
    """Like :func:`text` with ``single_line``: no CR, LF or other control character but tab."""
    return text(argument, value, single_line=True, **kwargs)


def credential(
    argument: str, value: object, *, max_length: int = 4096, source: str | None = None
) -> str:
    """A secret sent in a request header (an API key, a bearer token).

    Refused, never stripped: leading or trailing whitespace, inner spaces,
    control characters and non-ASCII characters mean a mangled copy-paste, and
    sending a different key than the one given would hide that. The error
    never shows the value; ``source`` names where it came from (an
    environment variable).
    """
    if not isinstance(value, str):
        raise type_error(argument, "a str", value)
    where = "" if source is None else f" (from {source})"
    if not value.strip():
        raise InvalidArgumentError(argument, f"must not be empty{where}")
    if value != value.strip():
        raise InvalidArgumentError(
            argument, f"has leading or trailing whitespace{where}: remove it"
        )
    if len(value) > max_length:
        raise InvalidArgumentError(argument, f"must be at most {max_length} characters{where}")
    if not _CREDENTIAL.fullmatch(value):
        bad = next(c for c in value if not "\x21" <= c <= "\x7e")
        raise InvalidArgumentError(
            argument,
            f"contains a character that cannot be sent in a header (U+{ord(bad):04X}){where}; "
            "only visible ASCII is allowed",
        )
    return value


_JSON_MAX_DEPTH = 64


def json_value(argument: str, value: object, *, _depth: int = 0) -> Any:
    """Free-form JSON (metadata and the like) as plain dicts and lists.

    Refuses what strict JSON cannot carry: NaN and infinities, lone
    surrogates, non-string keys, other types, nesting deeper than 64,
    integers outside 64 bits. The error names the offending member
    (``metadata['a'][0]``).
    """
    if _depth > _JSON_MAX_DEPTH:
        raise InvalidArgumentError(argument, f"is nested deeper than {_JSON_MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise InvalidArgumentError(argument, "is outside the 64-bit integer range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(argument, f"{value!r} is not a JSON number")
        return value
    if isinstance(value, str):
        return sendable(argument, value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise type_error(f"{argument} key {key!r}", "a str", key)
            sendable(f"{argument} key", key)
            out[key] = json_value(f"{argument}[{key!r}]", item, _depth=_depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [
            json_value(f"{argument}[{i}]", item, _depth=_depth + 1) for i, item in enumerate(value)
        ]
    raise type_error(argument, "a JSON value (dict, list, str, int, float, bool or None)", value)


def optional_text(argument: str, value: object, **kwargs: Any) -> str | None:
    """Like :func:`text`, but ``None`` passes through."""
    return None if value is None else text(argument, value, **kwargs)


def handle(argument: str, value: object) -> str:
    """An agent handle: 3-63 chars of ``a-z0-9-`` after an optional ``@``.

    It must start and end with a letter or digit and contain no ``--``.
    Upper case is accepted (the API lower-cases). Returns the value as given.
    """
    if not isinstance(value, str):
        raise type_error(argument, "a str", value)
    normal = value.removeprefix("@").lower()
    if not 3 <= len(normal) <= 63:
        raise InvalidArgumentError(
            argument, f"{value!r} must be 3 to 63 characters long (after a leading '@')"
        )
    if not _HANDLE.fullmatch(normal):
        raise InvalidArgumentError(
            argument,
            f"{value!r} may contain only a-z, 0-9 and single hyphens, "
            "and must start and end with a letter or digit",
        )
    return value


def uuid(argument: str, value: object) -> str:
    """A UUID (object or string) as canonical lower-case hyphenated text."""
    if isinstance(value, UUID):
        return str(value)
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value
    if not isinstance(value, str):
        raise type_error(argument, "a UUID or UUID string", value)
    try:
        return str(UUID(value))
    except ValueError:
        raise InvalidArgumentError(argument, f"{value!r} is not a UUID") from None


def optional_uuid(argument: str, value: object) -> str | None:
    """Like :func:`uuid`, but ``None`` passes through."""
    return None if value is None else uuid(argument, value)


def choice(argument: str, value: object, enum_type: type[E]) -> str:
    """One of an enum's values (the member or its string); returns the string."""
    if isinstance(value, enum_type):
        return str(value.value)
    allowed = [str(m.value) for m in enum_type]
    if isinstance(value, str) and value in allowed:
        return value
    if not isinstance(value, str):
        raise type_error(argument, f"one of {allowed}", value)
    raise InvalidArgumentError(argument, f"{value!r} is not one of {allowed}")


def url(argument: str, value: object, *, schemes: Iterable[str]) -> str:
    """An absolute URL with one of the given schemes."""
    from urllib.parse import urlsplit

    text(argument, value)
    assert isinstance(value, str)
    schemes = tuple(schemes)
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        raise InvalidArgumentError(
            argument, f"{value!r} is not an absolute {'/'.join(schemes)} URL"
        )
    return value


def boolean(argument: str, value: object) -> bool:
    """A real bool (not a truthy value)."""
    if not isinstance(value, bool):
        raise type_error(argument, "a bool", value)
    return value


def email_address(argument: str, value: object) -> str:
    """A plausible single email address (``local@domain``)."""
    address = line(argument, value, max_length=320)
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
        or any(c.isspace() or c in '<>,;"' for c in address)
    ):
        raise InvalidArgumentError(argument, f"{address!r} is not an email address")
    return address


def email_list(argument: str, value: object) -> list[str]:
    """A list of email addresses (a single string is refused: it is a common slip)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise type_error(argument, "a list of email addresses", value)
    return [email_address(f"{argument}[{i}]", item) for i, item in enumerate(value)]


def int_range(argument: str, value: object, low: int, high: int) -> int:
    """An int within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise type_error(argument, "an int", value)
    if not low <= value <= high:
        raise InvalidArgumentError(argument, f"must be between {low} and {high}, got {value}")
    return value


def is_uuid(value: object) -> bool:
    """True for a UUID or a string that parses as one."""
    if isinstance(value, UUID):
        return True
    if not isinstance(value, str):
        return False
    try:
        UUID(value)
    except ValueError:
        return False
    return True
