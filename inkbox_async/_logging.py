"""The ``inkbox`` logger, and redaction of secrets in what is shown."""

from __future__ import annotations

import logging
import os

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
