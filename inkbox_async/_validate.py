"""Argument checks run before any I/O; each error names the argument."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any, TypeVar
from uuid import UUID

from inkbox_async._errors import InvalidArgumentError, InvalidArgumentTypeError

E = TypeVar("E", bound=enum.Enum)

_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*")


def type_error(argument: str, expected: str, value: object) -> InvalidArgumentTypeError:
    """The error for a wrongly typed argument."""
    return InvalidArgumentTypeError(argument, f"expected {expected}, got {type(value).__name__}")


def text(
    argument: str,
    value: object,
    *,
    max_length: int | None = None,
    allow_empty: bool = False,
) -> str:
    """A string, non-blank unless ``allow_empty``, at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise type_error(argument, "a str", value)
    if not allow_empty and not value.strip():
        raise InvalidArgumentError(argument, "must not be empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(
            argument, f"must be at most {max_length} characters, got {len(value)}"
        )
    return value


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
    address = text(argument, value, max_length=320)
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
