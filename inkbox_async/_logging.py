"""The ``inkbox`` logger, and redaction of secrets in what is shown."""

from __future__ import annotations

import logging
import os
import re
import threading

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
# a header as httpcore2's DEBUG traces print it: (b'Set-Cookie', b'...')
_SECRET_HEADER = re.compile(
    r"(\(b['\"](?:set-cookie|cookie|authorization|proxy-authorization|x-api-key|x-owner-token)"
    r"['\"], b)(['\"]).*?(?<!\\)\2\)",
    re.IGNORECASE,
)
# h11/h2 refusing a header value quote it: LocalProtocolError("Illegal header value b'...'")
_REFUSED_HEADER_VALUE = re.compile(
    r"(header value:? b?)(['\"]).*?(?<!\\)\2", re.IGNORECASE | re.DOTALL
)
_HTTP_LOGGERS = ("inkbox", "httpx2", "httpcore2.http11", "httpcore2.http2")

_SECRET_MIN_LENGTH = 8  # shorter values (test keys like "k") would mask ordinary words
_SECRETS_KEPT = 1024  # the most recently registered; older ones are forgotten
_registered: dict[str, None] = {}  # insertion-ordered
_secrets: tuple[str, ...] = ()  # longest first, so a key's stripped form never splits it
_secrets_lock = threading.Lock()


def register_secret(secret: str) -> str:
    """Mask ``secret`` (as given and stripped) in logs and connection errors; returns it.

    Redaction does not rely on the secret's form: header values are masked by
    name too. The last 1024 secrets registered in this process are kept.
    """
    forms = {form for form in (secret, secret.strip()) if len(form) >= _SECRET_MIN_LENGTH}
    global _secrets
    if not forms.issubset(_registered):
        with _secrets_lock:
            for form in forms:
                _registered.pop(form, None)
                _registered[form] = None
            while len(_registered) > _SECRETS_KEPT:
                del _registered[next(iter(_registered))]
            _secrets = tuple(sorted(_registered, key=len, reverse=True))
    return secret


def scrub(text: str) -> str:
    """``text`` with registered secrets, secret headers and URL secrets masked."""
    return _mask(text)


class _MaskURLSecrets(logging.Filter):
    """Masks secrets in what the HTTP libraries log about the SDK's requests.

    httpx2 logs every request's full URL at INFO, and the vault unlock carries
    its auth hash in the query (the wire requires it); an offloaded tunnel body
    is fetched from a capability URL. httpcore2's DEBUG traces print response
    headers, which for a tunnel's ``https://`` target include its users' cookies.
    Registered secrets (the API key) are masked in whatever form they appear.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(
                arg if isinstance(arg, int | float) else _mask(str(arg)) for arg in args
            )
        if isinstance(record.msg, str):
            record.msg = _mask(record.msg)
        return True


def _mask(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "***")
    text = _SECRET_HEADER.sub(r"\1\2***\2)", text)
    text = _REFUSED_HEADER_VALUE.sub(r"\1\2***\2", text)
    return _HEX64.sub("***", _SECRET_PARAM.sub(r"\1***", text))


def mask_http_library_logs() -> None:
    """Attach the masking filter to the HTTP libraries' loggers (once)."""
    for name in _HTTP_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, _MaskURLSecrets) for f in target.filters):
            target.addFilter(_MaskURLSecrets())
