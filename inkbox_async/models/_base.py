"""What every model shares."""

from __future__ import annotations

from typing import Any

import attrs


def extra_field() -> Any:
    """Response keys this SDK does not know yet, kept instead of dropped."""
    return attrs.field(factory=dict, repr=False, eq=False)
