"""Request bodies and queries for mail calls, validated before any I/O (pure)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.mail import (
    FilterMode,
    ForwardMode,
    MailRuleAction,
    MailRuleMatchType,
    MessageDirection,
    SendingDomainStatus,
    ThreadFolder,
)

SUBJECT_MAX = 998
FILENAME_MAX = 255
ATTACHMENTS_MAX_BYTES = 25 * 1024 * 1024
BLOCKED_EXTENSIONS = (".exe", ".bat", ".scr")
PAGE_MIN, PAGE_MAX = 1, 100


@attrs.frozen(kw_only=True)
class Attachment:
    """A file to send: ``content_base64`` is the file's bytes in base64.

    ``content_id`` makes an image inline: the HTML body shows it with
    ``<img src="cid:{content_id}">`` (sends and reply-alls with ``body_html``;
    not forwards). Plain dicts with the same keys work too (the 0.4.4 README's form).
    """

    filename: str
    content_type: str
    content_base64: str = attrs.field(repr=lambda v: f"<{len(v)} base64 chars>")
    content_id: str | None = None

    @classmethod
    def from_bytes(
        cls,
        filename: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        content_id: str | None = None,
    ) -> Attachment:
        """An attachment from raw bytes."""
        return cls(
            filename=filename,
            content_type=content_type,
            content_base64=base64.b64encode(data).decode(),
            content_id=content_id,
        )

    @classmethod
    def from_path(
        cls, path: str | Path, content_type: str | None = None, *, content_id: str | None = None
    ) -> Attachment:
        """An attachment read from a file (content type guessed from the name when not given)."""
        import mimetypes

        path = Path(path)
        guessed = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return cls.from_bytes(path.name, path.read_bytes(), guessed, content_id=content_id)


AttachmentInput = Attachment | Mapping[str, Any]


def attachments(
    argument: str,
    value: Iterable[AttachmentInput],
    *,
    inline: bool = True,
    body_html: str | None = None,
) -> list[dict[str, str]]:
    """Checked attachment objects: filename, content type, valid base64, size limits.

    ``inline``: whether ``content_id`` (an inline image) is allowed; it needs
    ``body_html``, an ``image/*`` content type and an id unused in the message.
    """
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise check.type_error(argument, "a list of attachments", value)
    out: list[dict[str, str]] = []
    total = 0
    content_ids: set[str] = set()
    for i, item in enumerate(value):
        name = f"{argument}[{i}]"
        if isinstance(item, Attachment):
            item = {k: v for k, v in attrs.asdict(item).items() if v is not None}
        if not isinstance(item, Mapping):
            raise check.type_error(name, "an Attachment or a dict", item)
        unknown = set(item) - {"filename", "content_type", "content_base64", "content_id"}
        if unknown:
            raise InvalidArgumentError(name, f"unknown keys {sorted(unknown)}")
        filename = check.line(f"{name}.filename", item.get("filename"), max_length=FILENAME_MAX)
        if filename.lower().endswith(BLOCKED_EXTENSIONS):
            raise InvalidArgumentError(
                f"{name}.filename", f"{filename!r}: executables cannot be attached"
            )
        content_type = check.line(f"{name}.content_type", item.get("content_type"), max_length=255)
        encoded = check.text(f"{name}.content_base64", item.get("content_base64"), allow_empty=True)
        try:
            total += len(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidArgumentError(f"{name}.content_base64", "is not valid base64") from None
        entry = {"filename": filename, "content_type": content_type, "content_base64": encoded}
        if item.get("content_id") is not None:
            entry["content_id"] = _content_id(
                f"{name}.content_id", item["content_id"], content_type, inline, body_html
            )
            if entry["content_id"] in content_ids:
                raise InvalidArgumentError(f"{name}.content_id", "is used twice in this message")
            content_ids.add(entry["content_id"])
        out.append(entry)
    if total > ATTACHMENTS_MAX_BYTES:
        raise InvalidArgumentError(argument, f"attachments total {total} bytes; the limit is 25 MB")
    return out


def _content_id(
    argument: str, value: object, content_type: str, inline: bool, body_html: str | None
) -> str:
    content_id = check.line(argument, value, max_length=255)
    if not inline:
        raise InvalidArgumentError(argument, "inline images are not supported on forwards")
    if body_html is None:
        raise InvalidArgumentError(argument, "an inline image needs body_html")
    if not content_type.lower().startswith("image/"):
        raise InvalidArgumentError(argument, "an inline image needs an image/* content_type")
    return content_id


def page_size(value: object) -> int:
    """Items per page, 1 to 100."""
    return check.int_range("page_size", value, PAGE_MIN, PAGE_MAX)


def send(
    *,
    to: list[str],
    subject: str,
    body_text: str | None,
    body_html: str | None,
    cc: list[str] | None,
    bcc: list[str] | None,
    in_reply_to: str | None,
    attachments_: Iterable[AttachmentInput] | None,
    track_opens: bool = False,
) -> dict[str, Any]:
    """Body of ``POST …/messages``."""
    recipients: dict[str, Any] = {"to": check.email_list("to", to)}
    if not recipients["to"]:
        raise InvalidArgumentError("to", "needs at least one recipient")
    if cc:
        recipients["cc"] = check.email_list("cc", cc)
    if bcc:
        recipients["bcc"] = check.email_list("bcc", bcc)
    body: dict[str, Any] = {
        "recipients": recipients,
        "subject": check.line("subject", subject, max_length=SUBJECT_MAX, allow_empty=True),
    }
    if body_text is not None:
        body["body_text"] = check.text("body_text", body_text, allow_empty=True)
    if body_html is not None:
        body["body_html"] = check.text("body_html", body_html, allow_empty=True)
    if in_reply_to is not None:
        body["in_reply_to_message_id"] = check.line(
            "in_reply_to_message_id", in_reply_to, max_length=998
        )
    if attachments_ is not None:
        body["attachments"] = attachments("attachments", attachments_, body_html=body_html)
    if check.boolean("track_opens", track_opens):
        if body_html is None:
            raise InvalidArgumentError("track_opens", "open tracking needs body_html")
        body["track_opens"] = True
    return body


def reply_all(
    *,
    subject: str | None,
    body_text: str | None,
    body_html: str | None,
    attachments_: Iterable[AttachmentInput] | None,
    reply_to: str | None,
) -> dict[str, Any]:
    """Body of ``POST …/messages/{id}/reply-all`` (the server picks the recipients)."""
    body: dict[str, Any] = {}
    if subject is not None:
        body["subject"] = check.line("subject", subject, max_length=SUBJECT_MAX)
    if body_text is not None:
        body["body_text"] = check.text("body_text", body_text, allow_empty=True)
    if body_html is not None:
        body["body_html"] = check.text("body_html", body_html, allow_empty=True)
    if attachments_ is not None:
        body["attachments"] = attachments("attachments", attachments_, body_html=body_html)
    if reply_to is not None:
        body["reply_to"] = check.email_address("reply_to", reply_to)
    return body


def forward(
    *,
    to: list[str] | None,
    cc: list[str] | None,
    bcc: list[str] | None,
    mode: ForwardMode | str,
    subject: str | None,
    body_text: str | None,
    body_html: str | None,
    additional_attachments: Iterable[AttachmentInput] | None,
    include_original_attachments: bool,
    reply_to: str | None,
    track_opens: bool = False,
) -> dict[str, Any]:
    """Body of ``POST …/messages/{id}/forward``."""
    recipients: dict[str, Any] = {}
    for name, value in (("to", to), ("cc", cc), ("bcc", bcc)):
        if value:
            recipients[name] = check.email_list(name, value)
    if not recipients:
        raise InvalidArgumentError("to", "a forward needs at least one recipient in to, cc or bcc")
    body: dict[str, Any] = {
        "recipients": recipients,
        "mode": check.choice("mode", mode, ForwardMode),
        "include_original_attachments": check.boolean(
            "include_original_attachments", include_original_attachments
        ),
    }
    if subject is not None:
        body["subject"] = check.line("subject", subject, max_length=SUBJECT_MAX)
    if body_text is not None:
        body["body_text"] = check.text("body_text", body_text, allow_empty=True)
    if body_html is not None:
        body["body_html"] = check.text("body_html", body_html, allow_empty=True)
    if additional_attachments is not None:
        body["additional_attachments"] = attachments(
            "additional_attachments", additional_attachments, inline=False
        )
    if reply_to is not None:
        body["reply_to"] = check.email_address("reply_to", reply_to)
    if check.boolean("track_opens", track_opens):
        if body["mode"] == ForwardMode.WRAPPED and body_html is None:
            raise InvalidArgumentError("track_opens", "a wrapped forward needs body_html to track")
        body["track_opens"] = True
    return body


def flags(*, is_read: bool | None, is_starred: bool | None) -> dict[str, Any]:
    """Body of the message PATCH."""
    body: dict[str, Any] = {}
    if is_read is not None:
        body["is_read"] = check.boolean("is_read", is_read)
    if is_starred is not None:
        body["is_starred"] = check.boolean("is_starred", is_starred)
    return body


def legacy_webhook_url(webhook_url: str | None) -> str | None:
    """The 0.4.4 mailbox ``webhook_url`` (never sent: mapped onto a subscription), checked."""
    if webhook_url is None:
        return None
    return check.url("webhook_url", webhook_url, schemes=("https", "http"))


def mailbox_update(*, filter_mode: FilterMode | str | Unset) -> dict[str, Any]:
    """Body of the mailbox PATCH (the filter mode; the signature fields come separately)."""
    body: dict[str, Any] = {}
    if filter_mode is not UNSET:
        body["filter_mode"] = check.choice("filter_mode", filter_mode, FilterMode)
    return body


SIGNATURE_MAX = 16384


def mailbox_signature(
    *, html: str | Unset | None, text: str | Unset | None, enabled: bool | Unset
) -> dict[str, Any]:
    """The signature fields of the mailbox PATCH (each only when given; ``None`` clears)."""
    body: dict[str, Any] = {}
    for name, value in (("signature_html", html), ("signature_text", text)):
        if value is not UNSET:
            body[name] = check.optional_text(
                name, value, max_length=SIGNATURE_MAX, allow_empty=True
            )
    if enabled is not UNSET:
        body["signature_enabled"] = check.boolean("signature_enabled", enabled)
    return body


def thread_folder(folder: ThreadFolder | str) -> str:
    """A folder a caller may move a thread to (not ``blocked``)."""
    value = check.choice("folder", folder, ThreadFolder)
    if value == ThreadFolder.BLOCKED:
        raise InvalidArgumentError("folder", "'blocked' is assigned by Inkbox and cannot be set")
    return value


def optional_choice(argument: str, value: Any, enum_type: Any) -> str | None:
    """An enum value or None."""
    return None if value is None else check.choice(argument, value, enum_type)


def direction(value: MessageDirection | str | None) -> str | None:
    """The ``direction`` filter."""
    return optional_choice("direction", value, MessageDirection)


def domain_status(value: SendingDomainStatus | str | None) -> str | None:
    """The ``status`` filter of the domains list."""
    return optional_choice("status", value, SendingDomainStatus)


def rule_create(
    *, action: MailRuleAction | str, match_type: MailRuleMatchType | str, match_target: str
) -> dict[str, Any]:
    """Body of a contact rule create."""
    kind = check.choice("match_type", match_type, MailRuleMatchType)
    target = check.line("match_target", match_target, max_length=320)
    if kind == MailRuleMatchType.EXACT_EMAIL:
        check.email_address("match_target", target)
    elif "@" in target or "." not in target:
        raise InvalidArgumentError("match_target", f"{target!r} is not a bare domain")
    return {
        "action": check.choice("action", action, MailRuleAction),
        "match_type": kind,
        "match_target": target,
    }


def reply_ref(value: str | UUID | None) -> str | None:
    """``in_reply_to_message_id`` as sent: a UUID or a Message-ID header value."""
    if value is None:
        return None
    if isinstance(value, UUID):
        return str(value)
    return check.line("in_reply_to_message_id", value, max_length=998)
