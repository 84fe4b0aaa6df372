"""Validation of the send and forward bodies with FastAPI-shaped 422s.

Rules: ``recipients.to`` non-empty on send (forward: at least one address
across to/cc/bcc); every address a plain well-formed ``local@domain.tld``;
``subject`` at most 998 characters; each attachment ``{filename,
content_type, content_base64}`` with a 1-255 character filename, a
``type/subtype`` content type and valid base64; ``.exe``, ``.bat`` and ``.scr``
files are refused; all attachments together at most 25 MB (decoded).
Values that end up in a header (subject, addresses, message ids, reply_to,
attachment filenames, content types and ids) must not hold a line break or
NUL, so no caller can inject a header.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from inkbox_emulator.core.validation import MISSING, Fields, Missing

from .model import is_email

__all__ = [
    "BLOCKED_EXTENSIONS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_SUBJECT",
    "ForwardRequest",
    "InjectRequest",
    "NewAttachment",
    "ReplyAllRequest",
    "SendRequest",
    "breaks_header",
    "header_safe",
    "parse_attachments",
    "parse_forward",
    "parse_inject",
    "parse_reply_all",
    "parse_send",
]

MAX_SUBJECT = 998
MAX_FILENAME = 255
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
BLOCKED_EXTENSIONS = (".exe", ".bat", ".scr")
HEADER_BREAKERS = frozenset("\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
"""NUL and every character Python treats as a line boundary."""
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_MSG_ID = re.compile(rf"<?{_ATEXT}(\.{_ATEXT})*@({_ATEXT}(\.{_ATEXT})*|\[[!-Z^-~]*\])>?")
"""An RFC 5322 msg-id (angle brackets optional): what an injected ``message_id`` must be."""
_MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?")


@dataclass(frozen=True)
class NewAttachment:
    """A decoded attachment of a request."""

    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None
    """Set for an inline image (shown by the HTML body as ``cid:{content_id}``)."""


@dataclass(frozen=True)
class SendRequest:
    """A parsed send body."""

    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str = ""
    body_text: str | None = None
    body_html: str | None = None
    in_reply_to: str | None = None
    attachments: list[NewAttachment] = field(default_factory=list)
    track_opens: bool = False


@dataclass(frozen=True)
class ReplyAllRequest:
    """A parsed reply-all body (the recipients come from the original message)."""

    subject: str | None = None
    body_text: str | None = None
    body_html: str | None = None
    reply_to: str | None = None
    attachments: list[NewAttachment] = field(default_factory=list)


@dataclass(frozen=True)
class ForwardRequest:
    """A parsed forward body."""

    to: list[str]
    cc: list[str]
    bcc: list[str]
    mode: str = "inline"
    include_original_attachments: bool = True
    subject: str | None = None
    body_text: str | None = None
    body_html: str | None = None
    reply_to: str | None = None
    attachments: list[NewAttachment] = field(default_factory=list)
    track_opens: bool = False


def _email_error(fields: Fields, loc: list[str | int], value: object) -> None:
    reason = (
        "An email address must have an @-sign."
        if isinstance(value, str) and "@" not in value
        else "The email address is not valid."
    )
    fields.errors.append(
        {
            "type": "value_error",
            "loc": [*fields.loc, *loc],
            "msg": f"value is not a valid email address: {reason}",
            "input": value,
            "ctx": {"reason": reason},
        }
    )


def breaks_header(value: object) -> bool:
    """Whether a string holds a character that would end a header line (or a NUL)."""
    return isinstance(value, str) and not HEADER_BREAKERS.isdisjoint(value)


def header_safe(fields: Fields, loc: list[str | int], name: str, value: object) -> bool:
    """Record a 422 naming ``name`` when ``value`` would break a header; True if safe."""
    if not breaks_header(value):
        return True
    _value_error(fields, loc, f"{name} must not contain line breaks or NUL characters", value)
    return False


def address_list(fields: Fields, name: str, *, required: bool = False) -> list[str]:
    """A list of plain email addresses (``null`` = empty when optional)."""
    value = fields.raw(name)
    if value is MISSING or value is None:
        if required:
            fields.missing(name)
        return []
    if not isinstance(value, list):
        fields.error(name, "list_type", "Input should be a valid list", value)
        return []
    result: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            fields.errors.append(
                {
                    "type": "string_type",
                    "loc": [*fields.loc, name, index],
                    "msg": "Input should be a valid string",
                    "input": item,
                }
            )
        elif not header_safe(fields, [name, index], name, item):
            continue
        elif not is_email(item.strip()):
            _email_error(fields, [name, index], item)
        else:
            result.append(item.strip())
    return result


def _bool(fields: Fields, name: str, default: bool) -> bool:
    value = fields.raw(name)
    if value is MISSING:
        return default
    if not isinstance(value, bool):
        fields.error(name, "bool_type", "Input should be a valid boolean", value)
        return default
    return value


def _opt(value: str | Missing | None) -> str | None:
    return None if isinstance(value, Missing) else value


def _value_error(fields: Fields, loc: list[str | int], message: str, value: object) -> None:
    fields.errors.append(
        {
            "type": "value_error",
            "loc": [*fields.loc, *loc],
            "msg": f"Value error, {message}",
            "input": value,
            "ctx": {"error": message},
        }
    )


def parse_attachments(
    fields: Fields, name: str, *, outbound: bool = True, inline: bool | None = None
) -> list[NewAttachment]:
    """A list of ``{filename, content_type, content_base64[, content_id]}`` objects, decoded.

    ``outbound`` applies the sending rules (blocked extensions, 25 MB total);
    inbound injection accepts any file. ``inline``: whether a ``content_id``
    (inline image) may be given: ``True`` when the message has an HTML body,
    ``False`` when it has none, ``None`` when inline images are not supported.
    """
    value = fields.raw(name)
    if value is MISSING or value is None:
        return []
    if not isinstance(value, list):
        fields.error(name, "list_type", "Input should be a valid list", value)
        return []
    result: list[NewAttachment] = []
    total = 0
    for index, item in enumerate(value):
        loc: list[str | int] = [name, index]
        if not isinstance(item, dict):
            fields.errors.append(
                {
                    "type": "model_attributes_type",
                    "loc": [*fields.loc, *loc],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": item,
                }
            )
            continue
        sub = Fields(item, (*fields.loc, name, index), fields.errors)
        filename = sub.string("filename", required=True, min_length=1, max_length=MAX_FILENAME)
        content_type = sub.string("content_type", required=True, min_length=1)
        encoded = sub.string("content_base64", required=True)
        content_id = _opt(sub.string("content_id", min_length=1, max_length=255))
        before = len(fields.errors)
        for key, text in (
            ("filename", filename),
            ("content_type", content_type),
            ("content_id", content_id),
        ):
            header_safe(fields, [*loc, key], key, text)
        if len(fields.errors) > before:
            continue
        if content_id is not None and outbound:
            _check_inline(fields, [*loc, "content_id"], content_id, content_type, inline, result)
        if content_type and not _MIME.fullmatch(content_type):
            _value_error(
                fields, [*loc, "content_type"], "content_type must be a MIME type", content_type
            )
        if outbound and filename and filename.lower().endswith(BLOCKED_EXTENSIONS):
            ext = filename.rsplit(".", 1)[-1].lower()
            _value_error(
                fields,
                [*loc, "filename"],
                f"attachments with the extension .{ext} are not allowed",
                filename,
            )
        content = b""
        if isinstance(item.get("content_base64"), str):
            try:
                content = base64.b64decode("".join(encoded.split()), validate=True)
            except (binascii.Error, ValueError):
                _value_error(
                    fields, [*loc, "content_base64"], "content_base64 is not valid base64", "…"
                )
        if len(fields.errors) == before and filename and content_type:
            total += len(content)
            result.append(NewAttachment(filename, content_type, content, content_id))
    if outbound and total > MAX_ATTACHMENT_BYTES:
        _value_error(fields, [name], "attachments exceed the 25 MB total size limit", len(value))
    return result


def _check_inline(
    fields: Fields,
    loc: list[str | int],
    content_id: str,
    content_type: object,
    inline: bool | None,
    earlier: list[NewAttachment],
) -> None:
    if inline is None:
        _value_error(fields, loc, "inline images (content_id) are not supported here", content_id)
    elif not inline:
        _value_error(fields, loc, "an inline image (content_id) requires body_html", content_id)
    elif not isinstance(content_type, str) or not content_type.lower().startswith("image/"):
        _value_error(fields, loc, "an inline image needs an image/* content_type", content_id)
    elif any(a.content_id == content_id for a in earlier):
        _value_error(fields, loc, "content_id must be unique within the message", content_id)


def _track_opens(fields: Fields, has_html: bool) -> bool:
    track = _bool(fields, "track_opens", False)
    if track and not has_html:
        _value_error(fields, ["track_opens"], "track_opens requires an HTML body", True)
    return track


def _reply_to(fields: Fields) -> str | Missing | None:
    reply_to = fields.string("reply_to")
    if not header_safe(fields, ["reply_to"], "reply_to", reply_to):
        return None
    if isinstance(reply_to, str) and not is_email(reply_to.strip()):
        _email_error(fields, ["reply_to"], reply_to)
    return reply_to


def parse_reply_all(data: dict[str, Any]) -> ReplyAllRequest:
    """Validate a reply-all body (every problem in one 422)."""
    fields = Fields(data)
    subject = fields.string("subject", max_length=MAX_SUBJECT)
    header_safe(fields, ["subject"], "subject", subject)
    body_text = fields.string("body_text")
    body_html = fields.string("body_html")
    reply_to = _reply_to(fields)
    attachments = parse_attachments(fields, "attachments", inline=isinstance(body_html, str))
    fields.raise_errors()
    return ReplyAllRequest(
        subject=_opt(subject),
        body_text=_opt(body_text),
        body_html=_opt(body_html),
        reply_to=_opt(reply_to),
        attachments=attachments,
    )


def parse_send(data: dict[str, Any]) -> SendRequest:
    """Validate a send body (every problem in one 422)."""
    fields = Fields(data)
    recipients = fields.obj("recipients")
    to: list[str] = []
    cc: list[str] = []
    bcc: list[str] = []
    if isinstance(recipients, Fields):
        to = address_list(recipients, "to", required=True)
        raw_to = recipients.raw("to")
        if isinstance(raw_to, list) and not raw_to:
            recipients.error(
                "to",
                "too_short",
                "List should have at least 1 item after validation, not 0",
                raw_to,
                field_type="List",
                min_length=1,
                actual_length=0,
            )
        cc = address_list(recipients, "cc")
        bcc = address_list(recipients, "bcc")
    elif recipients is MISSING:
        fields.missing("recipients")
    else:
        fields.error("recipients", "model_type", "Input should be an object", None)
    subject = fields.string("subject", required=True, max_length=MAX_SUBJECT)
    header_safe(fields, ["subject"], "subject", subject)
    body_text = fields.string("body_text")
    body_html = fields.string("body_html")
    in_reply_to = fields.string("in_reply_to_message_id", max_length=998)
    header_safe(fields, ["in_reply_to_message_id"], "in_reply_to_message_id", in_reply_to)
    attachments = parse_attachments(fields, "attachments", inline=isinstance(body_html, str))
    track_opens = _track_opens(fields, isinstance(body_html, str))
    fields.raise_errors()
    return SendRequest(
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        body_text=_opt(body_text),
        body_html=_opt(body_html),
        in_reply_to=_opt(in_reply_to) or None,
        attachments=attachments,
        track_opens=track_opens,
    )


def parse_forward(data: dict[str, Any]) -> ForwardRequest:
    """Validate a forward body (every problem in one 422)."""
    fields = Fields(data)
    recipients = fields.obj("recipients")
    to: list[str] = []
    cc: list[str] = []
    bcc: list[str] = []
    if isinstance(recipients, Fields):
        to = address_list(recipients, "to")
        cc = address_list(recipients, "cc")
        bcc = address_list(recipients, "bcc")
        if not recipients.errors and not (to or cc or bcc):
            _value_error(
                fields,
                ["recipients"],
                "at least one recipient is required across to, cc and bcc",
                recipients.data,
            )
    elif recipients is MISSING:
        fields.missing("recipients")
    else:
        fields.error("recipients", "model_type", "Input should be an object", None)
    mode = fields.literal("mode", ("inline", "wrapped"), nullable=False)
    include = _bool(fields, "include_original_attachments", True)
    subject = fields.string("subject", max_length=MAX_SUBJECT)
    header_safe(fields, ["subject"], "subject", subject)
    body_text = fields.string("body_text")
    body_html = fields.string("body_html")
    reply_to = _reply_to(fields)
    attachments = parse_attachments(fields, "additional_attachments")
    # An inline forward carries the original's HTML; a wrapped one needs the caller's.
    track_opens = _track_opens(fields, mode != "wrapped" or isinstance(body_html, str))
    fields.raise_errors()
    return ForwardRequest(
        to=to,
        cc=cc,
        bcc=bcc,
        mode=mode if isinstance(mode, str) else "inline",
        include_original_attachments=include,
        subject=_opt(subject),
        body_text=_opt(body_text),
        body_html=_opt(body_html),
        reply_to=_opt(reply_to),
        attachments=attachments,
        track_opens=track_opens,
    )


@dataclass(frozen=True)
class InjectRequest:
    """A parsed inbound-injection body (control API / ``Emulator.inject_email``)."""

    to: list[str]
    from_address: str
    subject: str | None = None
    body_text: str | None = None
    body_html: str | None = None
    cc: list[str] = field(default_factory=list)
    attachments: list[NewAttachment] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    message_id: str | None = None


def _one_or_many(fields: Fields, name: str, *, required: bool = False) -> list[str]:
    value = fields.raw(name)
    if isinstance(value, str):
        fields.data = {**fields.data, name: [value]}
    return address_list(fields, name, required=required)


def parse_inject(data: dict[str, Any]) -> InjectRequest:
    """Validate an injection body: ``to`` (string or list) and ``from_address`` required."""
    fields = Fields(dict(data))
    to = _one_or_many(fields, "to", required=True)
    if fields.raw("to") == []:
        _value_error(fields, ["to"], "at least one recipient is required", [])
    cc = _one_or_many(fields, "cc")
    sender = fields.string("from_address", required=True)
    if not header_safe(fields, ["from_address"], "from_address", sender):
        sender = ""
    if sender and not is_email(sender.strip()):
        _email_error(fields, ["from_address"], sender)
    subject = fields.string("subject", max_length=MAX_SUBJECT)
    body_text = fields.string("body_text")
    body_html = fields.string("body_html")
    in_reply_to = fields.string("in_reply_to")
    message_id = fields.string("message_id", max_length=998)
    for name, text in (
        ("subject", subject),
        ("in_reply_to", in_reply_to),
        ("message_id", message_id),
    ):
        header_safe(fields, [name], name, text)
    own_id = message_id.strip() if isinstance(message_id, str) else ""
    if own_id and not breaks_header(own_id) and not _MSG_ID.fullmatch(own_id):
        _value_error(
            fields, ["message_id"], "message_id must be a msg-id like <id@domain>", message_id
        )
    refs = fields.raw("references")
    references: list[str] = []
    if isinstance(refs, str):
        references = refs.split()
    elif isinstance(refs, list) and all(isinstance(r, str) for r in refs):
        references = [r.strip() for r in refs if r.strip()]
    elif refs is not MISSING and refs is not None:
        fields.error("references", "list_type", "Input should be a valid list of strings", refs)
    for ref in references:
        if not header_safe(fields, ["references"], "references", ref):
            break
    attachments = parse_attachments(fields, "attachments", outbound=False)
    fields.raise_errors()
    return InjectRequest(
        to=to,
        from_address=sender.strip(),
        subject=_opt(subject),
        body_text=_opt(body_text),
        body_html=_opt(body_html),
        cc=cc,
        attachments=attachments,
        in_reply_to=_opt(in_reply_to) or None,
        references=references,
        message_id=_opt(message_id) or None,
    )
