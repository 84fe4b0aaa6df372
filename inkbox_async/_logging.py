"""The ``inkbox`` logger, and redaction of secrets in what is shown."""

from __future__ import annotations

import logging
import os
import re

logger = logging.getLogger("inkbox")

LOG_ENV = "INKBOX_LOG"


def _configure_from_env() -> None:
    level = os.environ.get(LOG_ENV, "").upper()
    if level in ("DEBUG", "INFO", "WARNING") and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)


_configure_from_env()


def redacted(_value: object) -> str:
    """What a secret looks like in a repr."""
    return "'***'"


_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def loggable(path: str) -> str:
    """A request path with auth hashes masked (the vault puts them in paths)."""
    return _HEX64.sub("***", path)
