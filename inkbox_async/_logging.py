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


_SECRET_PARAM = re.compile(
    r"([?&](?:auth_hash|api_key|token|signature|sig|x-amz-signature)=)[^&#\s\"]+", re.IGNORECASE
)


class _MaskURLSecrets(logging.Filter):
    """Masks auth hashes and secret query values in the HTTP library's request lines.

    httpx2 logs every request's full URL at INFO, and the vault unlock carries
    its auth hash in the query (the wire requires it); an offloaded tunnel body
    is fetched from a capability URL.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(
                arg if isinstance(arg, int | float) else _mask(str(arg)) for arg in args
            )
        elif isinstance(record.msg, str):
            record.msg = _mask(record.msg)
        return True


def _mask(text: str) -> str:
    return _HEX64.sub("***", _SECRET_PARAM.sub(r"\1***", text))


def _mask_http_library_logs() -> None:
    target = logging.getLogger("httpx2")
    if not any(isinstance(f, _MaskURLSecrets) for f in target.filters):
        target.addFilter(_MaskURLSecrets())


_mask_http_library_logs()
