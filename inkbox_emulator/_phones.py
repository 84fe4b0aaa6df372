"""The emulator's deterministic phone-number pool."""

from __future__ import annotations

__all__ = ["AREA_CODES", "TOLL_FREE_PREFIX", "number_prefix"]

TOLL_FREE_PREFIX = "+1833555"
"""Toll-free numbers are ``+1833555`` followed by four digits, handed out in order."""

DEFAULT_LOCAL_AREA_CODE = "212"

AREA_CODES: dict[str, str] = {
    "AL": "205", "AK": "907", "AZ": "602", "AR": "501", "CA": "415", "CO": "303",
    "CT": "203", "DE": "302", "DC": "202", "FL": "305", "GA": "404", "HI": "808",
    "ID": "208", "IL": "312", "IN": "317", "IA": "515", "KS": "316", "KY": "502",
    "LA": "504", "ME": "207", "MD": "410", "MA": "617", "MI": "313", "MN": "612",
    "MS": "601", "MO": "314", "MT": "406", "NE": "402", "NV": "702", "NH": "603",
    "NJ": "201", "NM": "505", "NY": "212", "NC": "704", "ND": "701", "OH": "216",
    "OK": "405", "OR": "503", "PA": "215", "RI": "401", "SC": "803", "SD": "605",
    "TN": "615", "TX": "512", "UT": "801", "VT": "802", "VA": "804", "WA": "206",
    "WV": "304", "WI": "414", "WY": "307",
}  # fmt: skip
"""One area code per US state (plus DC) for local numbers: ``+1<area>555xxxx``."""


def number_prefix(type_: str, state: str | None) -> str:
    """The E.164 prefix (all but the last four digits) for a new number."""
    if type_ == "toll_free":
        return TOLL_FREE_PREFIX
    area = AREA_CODES.get(state or "", DEFAULT_LOCAL_AREA_CODE)
    return f"+1{area}555"
