"""Warnings for 0.4.4-era calls the service changed or removed."""

from __future__ import annotations

import warnings

from inkbox_async._errors import FeatureRemovedError


def deprecated(message: str, *, stacklevel: int = 3) -> None:
    """Warn that a call is deprecated; ``message`` names what to use instead.

    The default ``stacklevel`` points at the user's line when called from the
    public method itself (the method's caller).
    """
    warnings.warn(message, DeprecationWarning, stacklevel=stacklevel)


def removed(message: str, *, stacklevel: int = 3) -> FeatureRemovedError:
    """Warn like :func:`deprecated`, then return the error to raise (before any I/O)."""
    warnings.warn(message, DeprecationWarning, stacklevel=stacklevel)
    return FeatureRemovedError(message)
