"""Client settings: defaults, environment fallback and the base-URL rule."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from inkbox_async._errors import InvalidArgumentError, InvalidArgumentTypeError
from inkbox_async._logging import register_secret
from inkbox_async._validate import credential

DEFAULT_BASE_URL = "https://inkbox.ai"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
API_KEY_ENV = "INKBOX_API_KEY"
BASE_URL_ENV = "INKBOX_BASE_URL"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | None) -> str:
    """The validated base URL, trailing slashes removed.

    ``https`` is required, except for loopback hosts (``localhost``,
    127.0.0.0/8, ``::1``) where ``http`` is allowed too. Falls back to
    ``INKBOX_BASE_URL`` and then to the hosted API.
    """
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if not isinstance(base_url, str):
        raise InvalidArgumentTypeError("base_url", f"expected a str, got {type(base_url).__name__}")
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise InvalidArgumentError("base_url", f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if not host:
        raise InvalidArgumentError("base_url", f"{base_url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidArgumentError("base_url", "credentials in the URL are not allowed")
    if parts.query or parts.fragment:
        raise InvalidArgumentError("base_url", "a query or fragment is not allowed")
    if scheme != "https" and not (scheme == "http" and is_loopback_host(host)):
        raise InvalidArgumentError(
            "base_url",
            f"{base_url!r} is not https; plain http is allowed only for loopback hosts "
            "(localhost, 127.0.0.0/8, ::1)",
        )
    return base_url.rstrip("/")


def resolve_api_key(api_key: str | None) -> str:
    """The API key, falling back to ``INKBOX_API_KEY``.

    A key with leading or trailing whitespace, inner spaces, control or
    non-ASCII characters is refused with :class:`InvalidArgumentError`
    (never stripped, never shown): it is a mangled copy of the real key.
    The accepted key is masked wherever the SDK or its HTTP libraries log.
    """
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV)
        if not api_key:
            raise InvalidArgumentError("api_key", f"no API key given and {API_KEY_ENV} is not set")
        return register_secret(credential("api_key", api_key, source=API_KEY_ENV))
    return register_secret(credential("api_key", api_key))


def check_timeout(timeout: float) -> float:
    """A positive number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise InvalidArgumentTypeError("timeout", f"expected seconds, got {type(timeout).__name__}")
    if not timeout > 0:
        raise InvalidArgumentError("timeout", f"must be positive, got {timeout!r}")
    return float(timeout)


def check_max_retries(max_retries: int) -> int:
    """A non-negative retry count."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise InvalidArgumentTypeError(
            "max_retries", f"expected an int, got {type(max_retries).__name__}"
        )
    if max_retries < 0:
        raise InvalidArgumentError("max_retries", f"must be >= 0, got {max_retries}")
    return max_retries
