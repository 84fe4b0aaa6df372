"""Telling a user without the ``emulator`` extra what to install, in one line."""

from __future__ import annotations

__all__ = ["INSTALL_HINT", "missing_extra"]

INSTALL_HINT = 'pip install "inkbox-sdk[emulator]"'

# What the ``emulator`` extra brings in (and what hypercorn pulls in with it).
_EXTRA_MODULES = frozenset(["starlette", "hypercorn", "wsproto", "h11", "jinja2", "markupsafe"])


def missing_extra(exc: ModuleNotFoundError) -> ImportError:
    """The ImportError to raise for ``exc``; re-raises ``exc`` when it is not about the extra."""
    top = (exc.name or "").partition(".")[0]
    if top not in _EXTRA_MODULES:
        raise exc
    error = ImportError(
        f"the Inkbox emulator needs the 'emulator' extra ({top} is not installed): {INSTALL_HINT}",
        name=exc.name,
    )
    error.__cause__ = exc
    return error
