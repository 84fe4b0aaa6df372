"""The sentinel that tells an omitted argument from an explicit ``None``."""

from __future__ import annotations

import enum
from typing import Final, Literal


class _UnsetType(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _UnsetType.UNSET
"""Default of three-state arguments: leave the field out of the request body.

Passing ``None`` instead sends an explicit JSON ``null`` (which clears the field).
"""

Unset = Literal[_UnsetType.UNSET]
"""The type of :data:`UNSET`, for annotations such as ``str | None | Unset``."""
