"""Building request paths and query strings: each surface's base path and path builders."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError

MAIL = "/api/v1/mail"
PHONE = "/api/v1/phone"
CALLS = f"{PHONE}/calls"
VAULT = "/api/v1/vault"
IDENTITIES = "/api/v1/identities"
TUNNELS = "/api/v1/tunnels"
CONTACTS = "/api/v1/contacts"
NOTES = "/api/v1/notes"

# RFC 3986 pchar minus the characters that would end or split a segment.
_SEGMENT_SAFE = "!$&'()*+,;=:@"
# What quote() leaves as it is and the checks accept, but "." and "..": ids, handles, addresses.
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._~@+-]+")


def segment(value: str | UUID, *, argument: str = "path segment") -> str:
    """One path segment, percent-escaped (``/``, ``?``, ``#``, ``%``, spaces...).

    ``@`` and ``+`` stay literal, so handles and email addresses read as the
    hosted API expects them. Every caller-given path argument goes through
    here, named by ``argument``: an empty value, ``.`` and ``..`` (which
    servers resolve to another path, escaped or not) and control characters
    are refused with :class:`InvalidArgumentError`.
    """
    text = str(value)
    if _PLAIN_SEGMENT.fullmatch(text) and text not in (".", ".."):
        return text
    return quote(path_argument(argument, text), safe=_SEGMENT_SAFE)


def path_argument(argument: str, value: str) -> str:
    """``value`` if it can be one path segment (see :func:`segment`), unescaped."""
    if value in ("", ".", ".."):
        raise InvalidArgumentError(argument, f"{value!r} is not a valid path segment")
    return check.line(argument, value)


def query_string(params: Mapping[str, Any]) -> str:
    """Form-style query: ``None`` values dropped, booleans lower-case, a list repeats its key."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                item = "true" if item else "false"
            pairs.append((key, check.sendable(key, str(item))))
    return urlencode(pairs)


def mailbox_path(email_address: str, *rest: str | UUID) -> str:
    """``/api/v1/mail/mailboxes/{email}[/rest...]``, every segment escaped."""
    check.text("email_address", email_address, max_length=320)
    address = segment(email_address, argument="email_address")
    return "/".join([MAIL, "mailboxes", address, *(segment(p) for p in rest)])


def number_path(phone_number_id: UUID | str, *rest: str | UUID) -> str:
    """``/api/v1/phone/numbers/{id}[/rest...]``, every segment escaped."""
    number = check.uuid("phone_number_id", phone_number_id)
    return "/".join([PHONE, "numbers", number, *(segment(p) for p in rest)])


def call_path(call_id: UUID | str, *rest: str) -> str:
    """``/api/v1/phone/calls/{id}[/rest...]``."""
    return "/".join([CALLS, check.uuid("call_id", call_id), *rest])


def secret_path(secret_id: UUID | str, *rest: str | UUID) -> str:
    """``/api/v1/vault/secrets/{id}[/rest...]`` with the id in canonical form."""
    from inkbox_async._vault_crypto import canonical_id

    parts = [segment(canonical_id(secret_id, "secret_id")), *(segment(p) for p in rest)]
    return f"{VAULT}/secrets/" + "/".join(parts)


def identity_path(handle: str, *rest: str | UUID) -> str:
    """``/api/v1/identities/{handle}[/rest...]`` with every segment escaped."""
    return "/".join([IDENTITIES, segment(handle), *(segment(part) for part in rest)])


def tunnel_path(tunnel_id: UUID | str) -> str:
    """``/api/v1/tunnels/{id}`` for a checked UUID."""
    return f"{TUNNELS}/{segment(check.uuid('tunnel_id', tunnel_id))}"


def contact_path(contact_id: UUID | str, *rest: str) -> str:
    """``/api/v1/contacts/{id}[/rest...]`` for a checked contact id."""
    return "/".join([CONTACTS, segment(check.uuid("contact_id", contact_id)), *rest])


def note_path(note_id: UUID | str, *rest: str) -> str:
    """``/api/v1/notes/{id}[/rest...]`` for a checked note id."""
    return "/".join([NOTES, segment(check.uuid("note_id", note_id)), *rest])
