"""TOTP for vault logins: the stored configuration, ``otpauth://`` URIs, codes.

Pure and synchronous. The configuration is the ``totp`` member of an encrypted
``login`` payload; codes are computed here, on the
client, and never sent anywhere.

Codes are computed with a direct RFC 6238 / RFC 4226 implementation on
:mod:`hmac` rather than ``pyotp.TOTP``: pyotp 2.11+ refuses short secrets
(2.11.2 under 80 bits, 2.12.0 under 112 bits with no way to lower it), while
the official client accepts any non-empty valid base32 secret, and 80-bit
secrets such as ``JBSWY3DPEHPK3PXP`` are common. The result is identical to
pyotp's wherever pyotp accepts the secret (the tests check this).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import struct
import time
from datetime import datetime
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from inkbox_async._errors import InvalidArgumentError
from inkbox_async._validate import type_error

__all__ = [
    "TOTPAlgorithm",
    "TOTPCode",
    "TOTPConfig",
    "generate_totp",
    "parse_totp_uri",
    "totp_from_dict",
    "totp_to_dict",
]

_DIGITS = (6, 8)
_PERIODS = (30, 60)


class TOTPAlgorithm(enum.StrEnum):
    """HMAC hash of a TOTP configuration."""

    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"


_ALGORITHMS = ", ".join(a.value for a in TOTPAlgorithm)
_ALGORITHM_NAMES = frozenset(a.value for a in TOTPAlgorithm)


def _decode_secret(secret: str) -> bytes:
    """The key bytes of a base32 secret, by the official client's rules.

    Upper-cased, ``=``-padded to a multiple of 8, then decoded strictly (no
    spaces or hyphens; lengths of 1, 3 or 6 modulo 8 are invalid).
    Raises ``ValueError``.
    """
    if not secret.strip():
        raise ValueError("empty secret")
    text = secret.upper()
    text += "=" * (-len(text) % 8)
    try:
        return base64.b32decode(text)
    except (binascii.Error, ValueError):
        raise ValueError(f"Invalid base32 secret (length={len(secret)})") from None


def _check_secret(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, str):
        raise type_error("secret", "a base32 str", value)
    if not value.strip():
        raise InvalidArgumentError("secret", "must be a non-empty base32 string")
    try:
        _decode_secret(value)
    except ValueError as exc:
        raise InvalidArgumentError("secret", str(exc)) from None


def _to_algorithm(value: TOTPAlgorithm | str) -> TOTPAlgorithm:
    # A value that is no algorithm passes through for the validator to report.
    if isinstance(value, str) and not isinstance(value, TOTPAlgorithm):
        try:
            return TOTPAlgorithm(value.lower())
        except ValueError:
            pass
    return cast(TOTPAlgorithm, value)


def _check_algorithm(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, TOTPAlgorithm):
        raise InvalidArgumentError(
            "algorithm", f"Invalid algorithm: {value!r}. Must be one of: {_ALGORITHMS}"
        )


def _check_choice(argument: str, allowed: tuple[int, ...]) -> Any:
    def check(_: Any, __: Any, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise type_error(argument, "an int", value)
        if value not in allowed:
            shown = " or ".join(str(a) for a in allowed)
            raise InvalidArgumentError(argument, f"must be {shown}, got {value}")

    return check


def _check_optional_text(_: Any, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise type_error(attribute.name, "a str or None", value)


def _hide(value: object) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen
class TOTPConfig:
    """A TOTP configuration as stored inside a login payload.

    ``secret`` is base32 (validated like the official client: any non-empty
    valid base32, 80-bit secrets included). ``algorithm`` accepts
    :class:`TOTPAlgorithm` or its name in any case; it is always written in
    lower case. ``digits`` is 6 or 8 and ``period`` 30 or 60. Keys of a stored
    configuration that this SDK does not know are kept in ``extra`` and
    written back. The secret never appears in the repr.
    """

    secret: str = attrs.field(validator=_check_secret, repr=_hide)
    algorithm: TOTPAlgorithm = attrs.field(
        default=TOTPAlgorithm.SHA1,
        converter=_to_algorithm,
        validator=_check_algorithm,
    )
    digits: int = attrs.field(default=6, validator=_check_choice("digits", _DIGITS))
    period: int = attrs.field(default=30, validator=_check_choice("period", _PERIODS))
    issuer: str | None = attrs.field(default=None, validator=_check_optional_text)
    account_name: str | None = attrs.field(default=None, validator=_check_optional_text)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, kw_only=True)

    @classmethod
    def from_uri(cls, uri: str) -> TOTPConfig:
        """Parse an ``otpauth://totp/...`` URI (see :func:`parse_totp_uri`)."""
        return parse_totp_uri(uri)


@attrs.frozen(kw_only=True)
class TOTPCode:
    """A TOTP code and the time window it is valid in (unix seconds).

    ``seconds_remaining`` runs from ``period`` down to 1; ``expires_in`` is the
    same number under the name the official README uses. The code itself is
    hidden in the repr (read ``.code``).
    """

    code: str = attrs.field(repr=_hide)
    period_start: int
    period_end: int
    seconds_remaining: int

    @property
    def expires_in(self) -> int:
        """Seconds until the code expires (alias of ``seconds_remaining``)."""
        return self.seconds_remaining


def totp_to_dict(config: TOTPConfig) -> dict[str, Any]:
    """The stored JSON object: secret, algorithm, digits, period, then issuer and
    account_name when set, then unknown keys kept from a read."""
    data: dict[str, Any] = {
        "secret": config.secret,
        "algorithm": config.algorithm.value,
        "digits": config.digits,
        "period": config.period,
    }
    if config.issuer is not None:
        data["issuer"] = config.issuer
    if config.account_name is not None:
        data["account_name"] = config.account_name
    for key, value in config.extra.items():
        data.setdefault(key, value)
    return data


_KNOWN = ("secret", "algorithm", "digits", "period", "issuer", "account_name")


def totp_from_dict(data: object) -> TOTPConfig:
    """A stored ``totp`` object; missing algorithm/digits/period take the defaults.

    Raises :class:`~inkbox_async.InvalidArgumentError` (naming the field) or
    ``TypeError`` for a malformed block.
    """
    if not isinstance(data, dict):
        raise TypeError(f"totp must be a JSON object, got {type(data).__name__}")
    if "secret" not in data:
        raise InvalidArgumentError("secret", "missing from the totp object")
    kwargs: dict[str, Any] = {
        k: data[k] for k in _KNOWN if k in data and (data[k] is not None or k == "secret")
    }
    extra = {k: v for k, v in data.items() if k not in _KNOWN}
    return TOTPConfig(**kwargs, extra=extra)


def parse_totp_uri(uri: str, *, argument: str = "uri") -> TOTPConfig:
    """Parse an ``otpauth://totp/[issuer:]account?secret=...`` URI.

    Follows the official client's rules: the scheme is case-insensitive;
    ``hotp`` is refused; the label is split at its first colon into issuer and
    account name; a non-empty ``issuer`` query value wins over the label's;
    the secret is upper-cased and must be valid base32; ``algorithm`` defaults
    to sha1, ``digits`` to 6 (6 or 8), ``period`` to 30 (30 or 60); unknown
    parameters are ignored. Errors raise
    :class:`~inkbox_async.InvalidArgumentError` naming ``argument``; the
    secret is never echoed.
    """
    if not isinstance(uri, str):
        raise type_error(argument, "an otpauth:// URI string", uri)
    parts = urlsplit(uri.strip())
    if parts.scheme != "otpauth":
        raise InvalidArgumentError(
            argument, f"Invalid scheme: expected 'otpauth', got {parts.scheme!r}"
        )
    kind = parts.netloc.lower()
    if kind == "hotp":
        raise InvalidArgumentError(argument, "HOTP is not supported; only TOTP URIs are accepted")
    if kind != "totp":
        raise InvalidArgumentError(argument, f"Invalid OTP type: expected 'totp', got {kind!r}")

    label = unquote(parts.path.removeprefix("/"))
    label_issuer: str | None = None
    if ":" in label:
        head, _, tail = label.partition(":")
        label_issuer = head.strip() or None
        account = tail.strip()
    else:
        account = label.strip()

    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    secret = params.get("secret")
    if not secret:
        raise InvalidArgumentError(argument, "Missing required 'secret' parameter")
    secret = secret.upper()
    try:
        _decode_secret(secret)
    except ValueError:
        raise InvalidArgumentError(
            argument, f"Invalid base32 secret (length={len(secret)})"
        ) from None

    algorithm = params.get("algorithm", "sha1").lower()
    if algorithm not in _ALGORITHM_NAMES:
        raise InvalidArgumentError(
            argument, f"Invalid algorithm: {algorithm!r}. Must be one of: {_ALGORITHMS}"
        )
    digits = _uri_int(argument, "digits", params.get("digits"), 6, _DIGITS)
    period = _uri_int(argument, "period", params.get("period"), 30, _PERIODS)
    return TOTPConfig(
        secret=secret,
        algorithm=TOTPAlgorithm(algorithm),
        digits=digits,
        period=period,
        issuer=params.get("issuer") or label_issuer,
        account_name=account or None,
    )


def _uri_int(
    argument: str, name: str, raw: str | None, default: int, allowed: tuple[int, ...]
) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgumentError(argument, f"Invalid {name}: {raw!r}") from None
    if value not in allowed:
        shown = " or ".join(str(a) for a in allowed)
        raise InvalidArgumentError(argument, f"Invalid {name}: {value}. Must be {shown}")
    return value


def _hotp(key: bytes, counter: int, algorithm: TOTPAlgorithm, digits: int) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, algorithm.value)).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def generate_totp(config: TOTPConfig | str, *, now: float | datetime | None = None) -> TOTPCode:
    """The TOTP code for ``config`` (a :class:`TOTPConfig` or an ``otpauth://`` URI).

    ``now`` (unix seconds or an aware datetime; the local clock by default)
    is truncated to whole seconds. No clock-skew window is applied.
    """
    if isinstance(config, str):
        config = parse_totp_uri(config, argument="config")
    elif not isinstance(config, TOTPConfig):
        raise type_error("config", "a TOTPConfig or an otpauth:// URI", config)
    if now is None:
        seconds = int(time.time())
    elif isinstance(now, datetime):
        seconds = int(now.timestamp())
    elif isinstance(now, int | float) and not isinstance(now, bool):
        seconds = int(now)
    else:
        raise type_error("now", "unix seconds or a datetime", now)
    counter = seconds // config.period
    start = counter * config.period
    end = start + config.period
    code = _hotp(_decode_secret(config.secret), counter, config.algorithm, config.digits)
    return TOTPCode(code=code, period_start=start, period_end=end, seconds_remaining=end - seconds)
