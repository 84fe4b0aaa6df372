"""The organisation's address book: contacts, their card items, access rows and vCard results.

The card items (:class:`ContactEmail`, :class:`ContactPhone`, ...) are both
what a contact carries and what ``contacts.create``/``update`` take, built
with keywords (``ContactEmail(value="ada@example.com", label="work")``).
Their attribute names are uniform (``value``, ``postal_code``); the wire keys
differ for some (``value_e164``, ``url``, ``date``, ``postal``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any
from uuid import UUID

import attrs

from inkbox_async._converter import wire_name
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models._base import extra_field

__all__ = [
    "Contact",
    "ContactAccess",
    "ContactAddress",
    "ContactBulkDeleteResult",
    "ContactBulkDeleteResultItem",
    "ContactBulkDeleteStatus",
    "ContactChannelAccessUpdate",
    "ContactCreatePermissions",
    "ContactCreationSource",
    "ContactCustomField",
    "ContactDate",
    "ContactEmail",
    "ContactImportResult",
    "ContactImportResultItem",
    "ContactImportStatus",
    "ContactMemorySummary",
    "ContactNameSource",
    "ContactOrder",
    "ContactPhone",
    "ContactReviewStatus",
    "ContactSlackAccount",
    "ContactVCardExportResult",
    "ContactWebsite",
]


class ContactOrder(enum.StrEnum):
    """Sort order of ``contacts.list``."""

    NAME = "name"
    RECENT = "recent"


class ContactReviewStatus(enum.StrEnum):
    """Whether a person confirmed a contact (auto-created ones start unreviewed)."""

    UNREVIEWED = "unreviewed"
    CONFIRMED = "confirmed"


class ContactCreationSource(enum.StrEnum):
    """How a contact came to exist."""

    MANUAL = "manual"
    VCARD = "vcard"
    COMMUNICATION = "communication"
    BACKFILL = "backfill"


class ContactNameSource(enum.StrEnum):
    """Where a contact's ``preferred_name`` came from."""

    MANUAL = "manual"
    VCARD = "vcard"
    PROVIDER = "provider"
    MAIL_HEADER = "mail_header"
    IDENTIFIER_FALLBACK = "identifier_fallback"


class ContactImportStatus(enum.StrEnum):
    """Outcome of one card of a vCard import."""

    CREATED = "created"
    CONFLICT = "conflict"
    ERROR = "error"


class ContactBulkDeleteStatus(enum.StrEnum):
    """Outcome of one contact of a bulk delete."""

    DELETED = "deleted"
    ERROR = "error"


@attrs.frozen(kw_only=True)
class ContactEmail:
    """An email address on a contact card."""

    label: str | None = None
    value: str
    is_primary: bool = False
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactPhone:
    """A phone number on a contact card, in E.164 form (wire key ``value_e164``)."""

    label: str | None = None
    value: str = attrs.field(metadata=wire_name("value_e164"))
    is_primary: bool = False
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactWebsite:
    """A web address on a contact card (wire key ``url``)."""

    label: str | None = None
    value: str = attrs.field(metadata=wire_name("url"))
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactDate:
    """A labelled date on a contact card, such as an anniversary (wire key ``date``)."""

    label: str | None = None
    value: date = attrs.field(metadata=wire_name("date"))
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactAddress:
    """A postal address on a contact card (``postal_code`` is ``postal`` on the wire)."""

    label: str | None = None
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = attrs.field(default=None, metadata=wire_name("postal"))
    country: str | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactCustomField:
    """A free label/value pair on a contact card."""

    label: str
    value: str
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactAccess:
    """A legacy access row of a contact; ``identity_id`` None is the every-identity wildcard.

    The current service keeps these as read-only metadata.
    """

    id: UUID
    contact_id: UUID
    identity_id: UUID | None = None
    created_at: datetime
    extra: dict[str, Any] = extra_field()

    @property
    def is_wildcard(self) -> bool:
        """True for the row that makes the contact visible to every identity."""
        return self.identity_id is None


@attrs.frozen(kw_only=True)
class ContactMemorySummary:
    """The most recently updated memory kept about a contact."""

    id: UUID
    content: str
    updated_at: datetime
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactSlackAccount:
    """A Slack account linked to a contact."""

    workspace_id: str
    user_id: str
    workspace_name: str | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Contact:
    """A contact (address-book entry) of the organisation."""

    id: UUID
    organization_id: str | None = None
    preferred_name: str | None = None
    name_prefix: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    name_suffix: str | None = None
    company_name: str | None = None
    job_title: str | None = None
    birthday: date | None = None
    notes: str | None = None
    emails: list[ContactEmail] = attrs.field(factory=list)
    phones: list[ContactPhone] = attrs.field(factory=list)
    websites: list[ContactWebsite] = attrs.field(factory=list)
    dates: list[ContactDate] = attrs.field(factory=list)
    addresses: list[ContactAddress] = attrs.field(factory=list)
    custom_fields: list[ContactCustomField] = attrs.field(factory=list)
    access: list[ContactAccess] = attrs.field(factory=list)
    creation_source: ContactCreationSource | str = ContactCreationSource.BACKFILL
    review_status: ContactReviewStatus | str = ContactReviewStatus.CONFIRMED
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    preferred_name_source: ContactNameSource | str = ContactNameSource.MANUAL
    preferred_name_locked_at: datetime | None = None
    created_by_identity_id: UUID | None = None
    merged_into_contact_id: UUID | None = None
    is_auto_created: bool = False
    is_confirmed: bool = True
    memory_count: int | None = None
    latest_memory: ContactMemorySummary | None = None
    slack_accounts: list[ContactSlackAccount] = attrs.field(factory=list)
    status: str | None = None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = extra_field()

    @property
    def display_name(self) -> str | None:
        """The name to show: the preferred name, else given and family names, else the company."""
        if self.preferred_name:
            return self.preferred_name
        parts = [p for p in (self.given_name, self.family_name) if p]
        return " ".join(parts) if parts else self.company_name


@attrs.frozen(kw_only=True)
class ContactChannelAccessUpdate:
    """One channel's (email or phone) visibility and contactable addresses for an identity.

    Leave a list :data:`UNSET` to keep it; ``contactable`` sets both
    directions and cannot be combined with the directional lists.
    """

    visible: bool | None = None
    contactable: list[str] | Unset = UNSET
    inbound_contactable: list[str] | Unset = UNSET
    outbound_contactable: list[str] | Unset = UNSET


@attrs.frozen(kw_only=True)
class ContactCreatePermissions:
    """What one identity may see and use of a contact, saved with ``contacts.create``.

    ``emails``/``phones`` map an address to yes/no; ``email``/``phone`` are the
    group form (one or the other, not both). ``profile=False`` hides the
    contact from the identity and cannot be combined with anything enabled.
    """

    identity_id: UUID | str
    emails: dict[str, bool] | None = None
    phones: dict[str, bool] | None = None
    profile: bool | None = None
    memories: bool | None = None
    email: ContactChannelAccessUpdate | None = None
    phone: ContactChannelAccessUpdate | None = None


@attrs.frozen(kw_only=True)
class ContactImportResultItem:
    """One card of a vCard import: ``index`` is its 0-based position in the upload."""

    index: int
    status: ContactImportStatus | str
    contact: Contact | None = None
    error: str | None = None
    conflicting_contact_id: UUID | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactImportResult:
    """The result of a vCard import; cards that failed are reported, not raised."""

    created_count: int
    error_count: int
    results: list[ContactImportResultItem] = attrs.field(factory=list)
    extra: dict[str, Any] = extra_field()

    @property
    def created_ids(self) -> list[UUID]:
        """Ids of the contacts created, in upload order."""
        return [item.contact.id for item in self.results if item.contact is not None]

    @property
    def errors(self) -> list[ContactImportResultItem]:
        """The cards rejected as invalid."""
        return [item for item in self.results if item.status == ContactImportStatus.ERROR]

    @property
    def conflicts(self) -> list[ContactImportResultItem]:
        """The cards that clashed with an existing contact."""
        return [item for item in self.results if item.status == ContactImportStatus.CONFLICT]


@attrs.frozen(kw_only=True)
class ContactBulkDeleteResultItem:
    """One contact of a bulk delete."""

    contact_id: UUID
    status: ContactBulkDeleteStatus | str
    error: str | None = None
    error_code: str | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactBulkDeleteResult:
    """The result of ``contacts.bulk_delete``: one item per requested id."""

    deleted_count: int
    error_count: int
    results: list[ContactBulkDeleteResultItem] = attrs.field(factory=list)
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ContactVCardExportResult:
    """Several contacts as one vCard document (``vcard``)."""

    content_type: str
    contact_count: int
    vcard: str
    extra: dict[str, Any] = extra_field()
