"""The blocking flavour's waiting and off-loading (the twin of ``_aio``)."""

from __future__ import annotations

from collections.abc import Callable
from time import sleep
from typing import TypeVar

__all__ = ["offload", "sleep"]

T = TypeVar("T")


def offload(function: Callable[..., T], *args: object) -> T:
    """Run ``function(*args)`` here: a blocking caller has no event loop to keep free."""
    return function(*args)
