"""TOTP: the vectors of vault.md §6.4, URI parsing (§5.2), stored config (§5.1)."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest

from inkbox_async import InvalidArgumentError, InvalidArgumentTypeError
from inkbox_async._totp import (
    TOTPAlgorithm,
    TOTPCode,
    TOTPConfig,
    generate_totp,
    parse_totp_uri,
    totp_from_dict,
    totp_to_dict,
)

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
SHORT_SECRET = "JBSWY3DPEHPK3PXP"  # 80 bits: the README's example


@pytest.mark.parametrize(
    ("secret", "algorithm", "digits", "period", "now", "code", "start", "end", "left"),
    [
        (RFC_SECRET, "sha1", 8, 30, 59, "94287082", 30, 60, 1),
        (SHORT_SECRET, "sha1", 6, 30, 1700000000, "324550", 1699999980, 1700000010, 10),
        (SHORT_SECRET, "sha256", 8, 60, 1700000000, "71205722", 1699999980, 1700000040, 40),
        (SHORT_SECRET, "sha512", 6, 30, 1700000000, "045688", 1699999980, 1700000010, 10),
    ],
)
def test_vectors(
    secret: str,
    algorithm: str,
    digits: int,
    period: int,
    now: int,
    code: str,
    start: int,
    end: int,
    left: int,
) -> None:
    config = TOTPConfig(secret, TOTPAlgorithm(algorithm), digits, period)
    result = generate_totp(config, now=now)
    assert result == TOTPCode(code=code, period_start=start, period_end=end, seconds_remaining=left)
    assert result.expires_in == left
    # Fractional seconds are truncated; a datetime works the same.
    assert generate_totp(config, now=now + 0.999) == result
    assert generate_totp(config, now=datetime.fromtimestamp(now, UTC)) == result


def test_seconds_remaining_runs_from_period_to_one() -> None:
    config = TOTPConfig(SHORT_SECRET)
    assert generate_totp(config, now=1699999980).seconds_remaining == 30
    assert generate_totp(config, now=1700000009).seconds_remaining == 1


def test_default_now_is_the_clock() -> None:
    result = generate_totp(TOTPConfig(SHORT_SECRET))
    assert 1 <= result.seconds_remaining <= 30
    assert len(result.code) == 6 and result.code.isdigit()


def test_uri_is_accepted_as_config() -> None:
    uri = f"otpauth://totp/Example:admin?secret={SHORT_SECRET}&issuer=Example"
    assert generate_totp(uri, now=1700000000).code == "324550"
    with pytest.raises(InvalidArgumentError, match=r"^config:"):
        generate_totp("otpauth://hotp/x?secret=AAAA", now=0)
    with pytest.raises(InvalidArgumentTypeError, match=r"^config:"):
        generate_totp(42, now=0)  # type: ignore[arg-type]


def test_code_hidden_in_repr() -> None:
    result = generate_totp(TOTPConfig(SHORT_SECRET), now=1700000000)
    assert "324550" not in repr(result)
    assert result.code == "324550"


# -- the 80-bit secret and pyotp -------------------------------------------------------


def test_80_bit_secret_is_accepted_although_stock_pyotp_refuses_it() -> None:
    if getattr(pyotp.OTP, "min_secret_length_bits", 0) > 80:
        with pytest.raises(ValueError):
            pyotp.TOTP(SHORT_SECRET).at(1700000000)
    assert generate_totp(TOTPConfig(SHORT_SECRET), now=1700000000).code == "324550"


@pytest.mark.parametrize("secret", ["JBSWY3DP", "MFRGG", "MFRGGZA", "mfrggzdfmztwq2lk"])
def test_even_shorter_secrets_work_like_the_official_client(secret: str) -> None:
    official = pytest.importorskip("inkbox.vault.totp")
    config = TOTPConfig(secret)
    for counter in (0, 1, 56666666):
        expected = official._generate_hotp(secret, counter, official.TOTPAlgorithm.SHA1, 6)
        assert generate_totp(config, now=counter * 30).code == expected


@pytest.mark.parametrize("algorithm", list(TOTPAlgorithm))
@pytest.mark.parametrize("digits", [6, 8])
@pytest.mark.parametrize("period", [30, 60])
def test_matches_pyotp_for_long_secrets(algorithm: TOTPAlgorithm, digits: int, period: int) -> None:
    import hashlib

    for _ in range(5):
        secret = base64.b32encode(os.urandom(20)).decode()
        now = int.from_bytes(os.urandom(4), "big")
        reference = pyotp.TOTP(
            secret, digits=digits, digest=getattr(hashlib, algorithm.value), interval=period
        )
        ours = generate_totp(TOTPConfig(secret, algorithm, digits, period), now=now)
        assert ours.code == reference.at(now)
        assert ours.period_end - ours.period_start == period


# -- stored configuration --------------------------------------------------------------


def test_config_defaults_and_repr() -> None:
    config = TOTPConfig(SHORT_SECRET)
    assert (config.algorithm, config.digits, config.period) == (TOTPAlgorithm.SHA1, 6, 30)
    assert config.issuer is None and config.account_name is None
    assert SHORT_SECRET not in repr(config)
    assert SHORT_SECRET not in str(config)


def test_config_algorithm_accepts_any_case_and_writes_lower() -> None:
    config = TOTPConfig(SHORT_SECRET, "SHA256")
    assert config.algorithm is TOTPAlgorithm.SHA256
    assert totp_to_dict(config)["algorithm"] == "sha256"


@pytest.mark.parametrize(
    ("kwargs", "argument", "message"),
    [
        ({"secret": ""}, "secret", "must be a non-empty base32 string"),
        ({"secret": "   "}, "secret", "must be a non-empty base32 string"),
        ({"secret": "JBSWY3DPE"}, "secret", r"Invalid base32 secret \(length=9\)"),
        ({"secret": "JBSW Y3DP"}, "secret", "Invalid base32 secret"),
        ({"secret": "JBSWY3DPEHPK3PX1"}, "secret", "Invalid base32 secret"),
        ({"algorithm": "md5"}, "algorithm", "Invalid algorithm: 'md5'"),
        ({"digits": 7}, "digits", "must be 6 or 8, got 7"),
        ({"period": 45}, "period", "must be 30 or 60, got 45"),
    ],
)
def test_config_validation(kwargs: dict[str, Any], argument: str, message: str) -> None:
    args: dict[str, Any] = {"secret": SHORT_SECRET, **kwargs}
    with pytest.raises(InvalidArgumentError, match=rf"^{argument}: {message}") as info:
        TOTPConfig(**args)
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"digits": "6"}, "digits"), ({"digits": True}, "digits"), ({"period": 30.0}, "period")],
)
def test_config_type_errors(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidArgumentTypeError, match=rf"^{argument}:"):
        TOTPConfig(SHORT_SECRET, **kwargs)


def test_padded_and_lower_case_secrets_are_valid() -> None:
    assert TOTPConfig("MFRGGZA=").secret == "MFRGGZA="
    assert TOTPConfig("jbswy3dpehpk3pxp").secret == "jbswy3dpehpk3pxp"  # stored as given
    with pytest.raises(InvalidArgumentError):
        TOTPConfig("JBSWY3DPEHPK3PXP=")


def test_stored_dict_order_defaults_and_unknown_keys() -> None:
    stored = {"secret": SHORT_SECRET, "issuer": "Ex", "x_future": [1, 2]}  # TS-style, trimmed
    config = totp_from_dict(stored)
    assert (config.algorithm, config.digits, config.period) == (TOTPAlgorithm.SHA1, 6, 30)
    assert config.extra == {"x_future": [1, 2]}
    written = totp_to_dict(config)
    assert list(written) == ["secret", "algorithm", "digits", "period", "issuer", "x_future"]
    full = TOTPConfig(SHORT_SECRET, issuer="Ex", account_name="me")
    assert list(totp_to_dict(full)) == [
        "secret",
        "algorithm",
        "digits",
        "period",
        "issuer",
        "account_name",
    ]
    assert totp_from_dict(totp_to_dict(full)) == full


def test_stored_dict_errors() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^secret: missing"):
        totp_from_dict({"digits": 6})
    with pytest.raises(InvalidArgumentTypeError, match=r"^digits:"):
        totp_from_dict({"secret": SHORT_SECRET, "digits": "6"})
    with pytest.raises(InvalidArgumentError, match=r"^digits:"):
        totp_from_dict({"secret": SHORT_SECRET, "digits": 7})
    with pytest.raises(TypeError):
        totp_from_dict("otpauth://totp/x?secret=AAAA")


# -- otpauth:// URIs -------------------------------------------------------------------


README_URI = "otpauth://totp/Example:user?secret=JBSWY3DPEHPK3PXP&issuer=Example"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            README_URI,
            TOTPConfig(SHORT_SECRET, issuer="Example", account_name="user"),
        ),
        (
            "OTPAUTH://TOTP/Example:user?secret=jbswy3dpehpk3pxp",
            TOTPConfig(SHORT_SECRET, issuer="Example", account_name="user"),
        ),
        (
            "otpauth://totp/ACME%20Co%3A%20jane%40acme.com?secret=JBSWY3DPEHPK3PXP"
            "&issuer=ACME+Inc&algorithm=SHA256&digits=+08&period=060&image=x&counter=3",
            TOTPConfig(
                SHORT_SECRET,
                TOTPAlgorithm.SHA256,
                8,
                60,
                issuer="ACME Inc",
                account_name="jane@acme.com",
            ),
        ),
        (
            "otpauth://totp/alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=",
            TOTPConfig(SHORT_SECRET, account_name="alice@example.com"),
        ),
        (
            "otpauth://totp/?secret=JBSWY3DPEHPK3PXP&secret=AAAAAAAA",
            TOTPConfig(SHORT_SECRET),
        ),
        (
            "otpauth://totp/Issuer:a:b?secret=JBSWY3DPEHPK3PXP",
            TOTPConfig(SHORT_SECRET, issuer="Issuer", account_name="a:b"),
        ),
    ],
)
def test_parse_good_uris(uri: str, expected: TOTPConfig) -> None:
    assert parse_totp_uri(uri) == expected
    assert TOTPConfig.from_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://totp/x?secret=JBSWY3DP", "Invalid scheme: expected 'otpauth', got 'https'"),
        ("otpauth://hotp/x?secret=JBSWY3DP&counter=1", "HOTP is not supported"),
        ("otpauth://motp/x?secret=JBSWY3DP", "Invalid OTP type: expected 'totp', got 'motp'"),
        ("otpauth://totp/x", "Missing required 'secret' parameter"),
        ("otpauth://totp/x?secret=", "Missing required 'secret' parameter"),
        ("otpauth://totp/x?secret=JBSWY3DPE", r"Invalid base32 secret \(length=9\)"),
        ("otpauth://totp/x?secret=JBSWY3DP&algorithm=md5", "Invalid algorithm: 'md5'"),
        ("otpauth://totp/x?secret=JBSWY3DP&digits=7", "Invalid digits: 7. Must be 6 or 8"),
        ("otpauth://totp/x?secret=JBSWY3DP&digits=six", "Invalid digits: 'six'"),
        ("otpauth://totp/x?secret=JBSWY3DP&period=45", "Invalid period: 45. Must be 30 or 60"),
        ("not a uri", "Invalid scheme"),
    ],
)
def test_parse_bad_uris(uri: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=rf"^uri: {message}"):
        parse_totp_uri(uri)
    with pytest.raises(InvalidArgumentError, match=rf"^totp: {message}"):
        parse_totp_uri(uri, argument="totp")


def test_parse_errors_do_not_echo_the_secret() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_totp_uri("otpauth://totp/x?secret=JBSWY3DPEHPK3PX1")
    assert "JBSWY3DPEHPK3PX1" not in str(info.value)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(InvalidArgumentTypeError, match=r"^uri:"):
        parse_totp_uri(None)  # type: ignore[arg-type]


def test_parse_agrees_with_the_official_client() -> None:
    official = pytest.importorskip("inkbox.vault.totp")
    uris = [
        README_URI,
        "OTPAUTH://TOTP/Example:user?secret=jbswy3dpehpk3pxp",
        "otpauth://totp/ACME%20Co%3A%20jane?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Inc"
        "&algorithm=SHA512&digits=8&period=60",
        "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    ]
    for uri in uris:
        theirs = official.parse_totp_uri(uri)
        ours = parse_totp_uri(uri)
        assert (ours.secret, ours.algorithm.value, ours.digits, ours.period) == (
            theirs.secret,
            str(theirs.algorithm.value),
            theirs.digits,
            theirs.period,
        )
        assert (ours.issuer, ours.account_name) == (theirs.issuer, theirs.account_name)
    for bad in ("otpauth://hotp/x?secret=AAAA", "otpauth://totp/x?secret=JBSWY3DPE"):
        with pytest.raises(ValueError):
            official.parse_totp_uri(bad)
        with pytest.raises(ValueError):
            parse_totp_uri(bad)
