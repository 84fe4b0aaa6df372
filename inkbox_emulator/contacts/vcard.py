"""vCard reading (2.1, 3.0, 4.0) and writing (4.0) for the contacts import and export.

Reading survives what real address books produce: folded lines (CRLF or LF
followed by a space or tab), quoted-printable values with soft line breaks
and a ``CHARSET``, grouped properties (``item1.EMAIL``), ``TYPE`` parameters
in every spelling (``TYPE=work,pref``, ``TYPE=work;TYPE=pref``, the 2.1 bare
``;WORK;PREF``), ``PREF=1``, ``tel:`` URIs and escaped text. A card that
cannot become a contact is reported with its 0-based index and a reason; the
others still import.

Cards become the wire shape of a contact card: names,
``emails``, ``phones`` (E.164: national formatting is stripped; a bare
10-digit number is read as a North American one), ``websites``, ``dates``,
``addresses``, ``custom_fields``.
"""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["MAX_CARDS", "ParsedCard", "VCardError", "dump_cards", "parse_cards"]

MAX_CARDS = 1000
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_EMAIL = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")
_PROPERTY = re.compile(
    r"(?:(?P<group>[A-Za-z0-9-]+)\.)?(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;.*)?)$", re.DOTALL
)
_TYPE_IGNORED = {"pref", "internet", "voice", "x400", "text"}
_DATE_LABEL = "X-INKBOX-DATE"
_CUSTOM = "X-INKBOX-CUSTOM"


class VCardError(ValueError):
    """Why one card cannot become a contact."""


@dataclass
class ParsedCard:
    """One card of an upload: the contact fields, or the error that rejected it."""

    index: int
    card: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class _Property:
    group: str
    name: str
    params: dict[str, list[str]]
    value: str


# -- reading ---------------------------------------------------------------


def decode(raw: bytes) -> str:
    """The upload as text: UTF-8 (with or without BOM), else Latin-1 (older exports)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _soft_break(line: str) -> bool:
    """A quoted-printable value ending in ``=`` continues on the next physical line."""
    head = line.split(":", 1)[0].upper()
    return "QUOTED-PRINTABLE" in head and line.endswith("=")


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for line in re.split(r"\r\n|\r|\n", text):
        if lines and _soft_break(lines[-1]):
            lines[-1] = lines[-1][:-1] + line.lstrip(" \t")
        elif lines and line[:1] in (" ", "\t"):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def _split_unquoted(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_line(line: str) -> _Property | None:
    head_and_value = _split_unquoted(line, ":")
    if len(head_and_value) < 2:
        return None
    head, value = head_and_value[0], ":".join(head_and_value[1:])
    match = _PROPERTY.match(head)
    if match is None:
        return None
    params: dict[str, list[str]] = {}
    for raw in _split_unquoted(match["params"], ";")[1:]:
        if not raw:
            continue
        key, eq, val = raw.partition("=")
        if not eq:
            # vCard 2.1 bare parameter: ";WORK", ";PREF", ";QUOTED-PRINTABLE".
            key, val = _bare_param(key)
        values = [v.strip('"') for v in _split_unquoted(val, ",")]
        params.setdefault(key.upper(), []).extend(values)
    return _Property((match["group"] or "").lower(), match["name"].upper(), params, value)


def _bare_param(token: str) -> tuple[str, str]:
    upper = token.upper()
    if upper in ("QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B"):
        return "ENCODING", token
    return "TYPE", token


def _text(prop: _Property) -> str:
    value = prop.value
    encoding = [e.upper() for e in prop.params.get("ENCODING", [])]
    if "QUOTED-PRINTABLE" in encoding:
        charset = (prop.params.get("CHARSET") or ["utf-8"])[0]
        data = quopri.decodestring(value.encode("latin-1", "replace"))
        try:
            value = data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            raise VCardError(f"{prop.name} is not valid {charset} text") from None
    return value


def _unescape(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt in ("n", "N") else nxt)
        else:
            out.append(char)
    return "".join(out)


def _components(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == ";":
            parts.append(_unescape("".join(current)).strip())
            current = []
        else:
            current.append(char)
    parts.append(_unescape("".join(current)).strip())
    return parts


def _types(prop: _Property) -> list[str]:
    found: list[str] = []
    for raw in prop.params.get("TYPE", []):
        for item in raw.split(","):
            item = item.strip().lower()
            if item and item not in found:
                found.append(item)
    return found


def _label(prop: _Property, labels: dict[str, str]) -> str | None:
    if "LABEL" in prop.params and prop.name in (_DATE_LABEL, _CUSTOM):
        return prop.params["LABEL"][0]
    if prop.group in labels:
        return labels[prop.group]
    kinds = [t for t in _types(prop) if t not in _TYPE_IGNORED]
    return kinds[0] if kinds else None


def _is_pref(prop: _Property) -> bool:
    return "pref" in _types(prop) or any(v.strip() == "1" for v in prop.params.get("PREF", []))


def phone_e164(raw: str) -> str | None:
    """``raw`` as E.164, or None when it cannot be read as an international number."""
    value = raw.strip()
    if value.lower().startswith("tel:"):
        value = value[4:].split(";", 1)[0]
    value = re.sub(r"(?i)\s*(ext\.?|x)\s*\d+$", "", value)
    digits = re.sub(r"[\s().\-/]", "", value)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        if len(digits) == 10 and digits.isdigit() and digits[0] in "23456789":
            digits = "+1" + digits
        elif len(digits) == 11 and digits.isdigit() and digits[0] == "1":
            digits = "+" + digits
    return digits if _E164.fullmatch(digits) else None


def _date(raw: str, what: str) -> str:
    value = raw.strip()
    if "T" in value:
        value = value.split("T", 1)[0]
    for candidate in (value, f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 else ""):
        try:
            return date.fromisoformat(candidate).isoformat()
        except ValueError:
            continue
    raise VCardError(f"{what} {raw!r} is not a full date (YYYY-MM-DD)")


def _card(props: list[_Property]) -> dict[str, Any]:
    versions = [p.value.strip() for p in props if p.name == "VERSION"]
    if not versions:
        raise VCardError("missing VERSION")
    if versions[0] not in ("2.1", "3.0", "4.0"):
        raise VCardError(f"unsupported VERSION {versions[0]!r} (2.1, 3.0 and 4.0 are read)")
    labels = {
        p.group: _unescape(_text(p)).strip() for p in props if p.name == "X-ABLABEL" and p.group
    }
    labels = {g: re.sub(r"^_\$!<(.*)>!\$_$", r"\1", v).lower() for g, v in labels.items()}
    card: dict[str, Any] = {}
    lists: dict[str, list[dict[str, Any]]] = {
        "emails": [],
        "phones": [],
        "websites": [],
        "dates": [],
        "addresses": [],
        "custom_fields": [],
    }
    for prop in props:
        name = prop.name
        if name in ("BEGIN", "END", "VERSION", "PRODID", "UID", "REV", "X-ABLABEL"):
            continue
        value = _text(prop)
        if name == "FN":
            card.setdefault("preferred_name", _unescape(value).strip() or None)
        elif name == "N":
            parts = [*_components(value), "", "", "", "", ""][:5]
            for key, part in zip(
                ("family_name", "given_name", "middle_name", "name_prefix", "name_suffix"),
                parts,
                strict=True,
            ):
                if part:
                    card[key] = part
        elif name == "ORG":
            company = _components(value)[0]
            if company:
                card["company_name"] = company
        elif name == "TITLE" and value.strip():
            card["job_title"] = _unescape(value).strip()
        elif name == "NOTE":
            card["notes"] = _unescape(value)
        elif name == "BDAY":
            card["birthday"] = _date(value, "BDAY")
        elif name == "EMAIL":
            address = _unescape(value).strip()
            if address.lower().startswith("mailto:"):
                address = address[7:]
            if not _EMAIL.fullmatch(address):
                raise VCardError(f"EMAIL {address!r} is not an email address")
            lists["emails"].append(_item("value", address, prop, labels, primary=True))
        elif name == "TEL":
            number = phone_e164(_unescape(value))
            if number is None:
                raise VCardError(f"TEL {value.strip()!r} is not an international phone number")
            lists["phones"].append(_item("value_e164", number, prop, labels, primary=True))
        elif name == "URL":
            url = _unescape(value).strip()
            if url:
                lists["websites"].append(_item("url", url, prop, labels))
        elif name in ("ANNIVERSARY", "X-ANNIVERSARY", _DATE_LABEL, "X-ABDATE"):
            item = _item("date", _date(value, name), prop, labels)
            if name != _DATE_LABEL and item.get("label") is None:
                item["label"] = "anniversary"
            lists["dates"].append(item)
        elif name == "ADR":
            lists["addresses"].append(_address(value, prop, labels))
        elif name == _CUSTOM:
            label = _label(prop, labels) or "custom"
            lists["custom_fields"].append({"label": label, "value": _unescape(value)})
    for key, items in lists.items():
        if items:
            card[key] = items
    if display_name(card) is None:
        raise VCardError("the card has no name, organisation, email or phone")
    for key in ("emails", "phones"):
        primaries = [i for i in card.get(key, []) if i["is_primary"]]
        for later in primaries[1:]:
            later["is_primary"] = False
    return card


def _item(
    key: str, value: str, prop: _Property, labels: dict[str, str], *, primary: bool = False
) -> dict[str, Any]:
    item: dict[str, Any] = {key: value, "label": _label(prop, labels)}
    if primary:
        item["is_primary"] = _is_pref(prop)
    return item


def _address(value: str, prop: _Property, labels: dict[str, str]) -> dict[str, Any]:
    parts = [*_components(value), "", "", "", "", "", "", ""][:7]
    box, extended, street, city, region, postal, country = parts
    street_lines = [s for s in (box, extended, street) if s]
    address: dict[str, Any] = {"label": _label(prop, labels)}
    for key, part in (
        ("street", "\n".join(street_lines)),
        ("city", city),
        ("region", region),
        ("postal", postal),
        ("country", country),
    ):
        address[key] = part or None
    return address


def parse_cards(text: str) -> list[ParsedCard]:
    """Every card of an upload, in order; a broken card carries its ``error``."""
    cards: list[ParsedCard] = []
    current: list[_Property] | None = None
    broken: str | None = None
    for line in _unfold(text):
        if not line.strip():
            continue
        prop = _parse_line(line)
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            if current is not None:
                cards.append(ParsedCard(len(cards), error="BEGIN:VCARD before the previous END"))
            current, broken = [], None
            continue
        if current is None:
            continue
        if upper == "END:VCARD":
            cards.append(_finish(len(cards), current, broken))
            current = None
            continue
        if prop is None:
            broken = broken or f"unreadable line {line[:40]!r}"
            continue
        current.append(prop)
    if current is not None:
        cards.append(ParsedCard(len(cards), error="missing END:VCARD"))
    return cards


def _finish(index: int, props: list[_Property], broken: str | None) -> ParsedCard:
    if broken is not None:
        return ParsedCard(index, error=broken)
    try:
        return ParsedCard(index, card=_card(props))
    except VCardError as exc:
        return ParsedCard(index, error=str(exc))


# -- writing ---------------------------------------------------------------


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _param(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ';:,"') else value


def _fold(line: str) -> list[str]:
    out: list[str] = []
    data = line
    limit = 75
    while len(data.encode()) > limit:
        cut = limit
        while len(data[:cut].encode()) > limit:
            cut -= 1
        out.append(data[:cut])
        data = " " + data[cut:]
        limit = 75
    out.append(data)
    return out


def _typed(name: str, label: str | None, extra: str = "") -> str:
    typed = f";TYPE={_param(label.replace(chr(34), ''))}" if label else ""
    return name + extra + typed


def dump_card(contact: dict[str, Any]) -> str:
    """One contact (the wire Contact) as a vCard 4.0 card, CRLF line ends, lines folded."""
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"UID:urn:uuid:{contact['id']}"]
    display = contact.get("preferred_name") or display_name(contact) or ""
    lines.append("FN:" + _escape(display))
    names = [
        contact.get(k) or ""
        for k in ("family_name", "given_name", "middle_name", "name_prefix", "name_suffix")
    ]
    if any(names):
        lines.append("N:" + ";".join(_escape(n) for n in names))
    if contact.get("company_name"):
        lines.append("ORG:" + _escape(contact["company_name"]))
    if contact.get("job_title"):
        lines.append("TITLE:" + _escape(contact["job_title"]))
    if contact.get("birthday"):
        lines.append("BDAY:" + contact["birthday"].replace("-", ""))
    for email in contact.get("emails") or []:
        pref = ";PREF=1" if email.get("is_primary") else ""
        lines.append(_typed("EMAIL", email.get("label"), pref) + ":" + _escape(email["value"]))
    for phone in contact.get("phones") or []:
        pref = ";PREF=1" if phone.get("is_primary") else ""
        head = _typed("TEL", phone.get("label"), ";VALUE=uri" + pref)
        lines.append(f"{head}:tel:{phone['value_e164']}")
    for site in contact.get("websites") or []:
        lines.append(_typed("URL", site.get("label")) + ":" + site["url"])
    for item in contact.get("dates") or []:
        label = item.get("label")
        if label == "anniversary":
            lines.append("ANNIVERSARY:" + item["date"].replace("-", ""))
        else:
            head = _DATE_LABEL + (f";LABEL={_param(label)}" if label else "")
            lines.append(f"{head}:{item['date']}")
    for address in contact.get("addresses") or []:
        parts = [
            "",
            "",
            address.get("street") or "",
            address.get("city") or "",
            address.get("region") or "",
            address.get("postal") or "",
            address.get("country") or "",
        ]
        lines.append(_typed("ADR", address.get("label")) + ":" + ";".join(map(_escape, parts)))
    for custom in contact.get("custom_fields") or []:
        lines.append(f"{_CUSTOM};LABEL={_param(custom['label'])}:{_escape(custom['value'])}")
    if contact.get("notes"):
        lines.append("NOTE:" + _escape(contact["notes"]))
    lines.append("END:VCARD")
    return "".join(part + "\r\n" for line in lines for part in _fold(line))


def dump_cards(contacts: list[dict[str, Any]]) -> str:
    """Several contacts as one vCard 4.0 document."""
    return "".join(dump_card(c) for c in contacts)


def display_name(card: dict[str, Any]) -> str | None:
    """What a person would call a contact: preferred name, given + family, company, an address."""
    if card.get("preferred_name"):
        return str(card["preferred_name"])
    names = " ".join(n for n in (card.get("given_name"), card.get("family_name")) if n)
    if names:
        return names
    if card.get("company_name"):
        return str(card["company_name"])
    for key, value_key in (("emails", "value"), ("phones", "value_e164")):
        for item in card.get(key) or []:
            return str(item[value_key])
    return None
