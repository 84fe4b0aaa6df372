"""The async flavour's waiting and off-loading (codegen maps this module to ``_blocking``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from anyio import sleep

__all__ = ["offload", "sleep"]

T = TypeVar("T")


async def offload(function: Callable[..., T], *args: object) -> T:
    """Run CPU-bound ``function(*args)`` in a worker thread so the event loop keeps going."""
    return await anyio.to_thread.run_sync(function, *args)
