"""``inkbox.contacts``: the organisation's address book, its access rows and vCards."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal
from uuid import UUID

from inkbox_async import _contact_bodies as bodies
from inkbox_async import _validate as check
from inkbox_async._converter import structure, structure_list
from inkbox_async._deprecation import deprecated, removed
from inkbox_async._paths import CONTACTS, contact_path, segment
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.contacts import (
    Contact,
    ContactAccess,
    ContactAddress,
    ContactBulkDeleteResult,
    ContactCreatePermissions,
    ContactCustomField,
    ContactDate,
    ContactEmail,
    ContactImportResult,
    ContactOrder,
    ContactPhone,
    ContactReviewStatus,
    ContactVCardExportResult,
    ContactWebsite,
)

from ._requester import AsyncRequester

VCARD = "text/vcard"

_GRANT_REMOVED = (
    "contacts.access.{call}() is deprecated and no longer exists on the service; "
    "choose what an identity may see of a contact with "
    "contacts.create(..., permissions=ContactCreatePermissions(identity_id=...))"
)


class AsyncContactAccessRows:
    """``inkbox.contacts.access``: a contact's legacy access rows (read-only on the service)."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def list(self, contact_id: UUID | str) -> builtins.list[ContactAccess]:
        """The access rows of a contact (one wildcard row, or one row per identity)."""
        data = await self._requester.request("GET", contact_path(contact_id, "access"))
        return structure_list(data, ContactAccess)

    async def grant(
        self,
        contact_id: UUID | str,
        *,
        identity_id: UUID | str | None = None,
        wildcard: bool = False,
    ) -> ContactAccess:
        """Removed from the service: raises :class:`FeatureRemovedError` (no request is sent)."""
        raise removed(_GRANT_REMOVED.format(call="grant"))

    async def revoke(self, contact_id: UUID | str, identity_id: UUID | str) -> None:
        """Removed from the service: raises :class:`FeatureRemovedError` (no request is sent)."""
        raise removed(_GRANT_REMOVED.format(call="revoke"))


class AsyncVCards:
    """``inkbox.contacts.vcards``: import and export vCards."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def import_vcards(
        self, content: str | bytes, *, content_type: str = VCARD
    ) -> ContactImportResult:
        """Create contacts from vCard 3.0/4.0 text (at most 5 MiB and 1000 cards).

        Cards the service cannot read are reported in the result's ``errors``
        (by their 0-based ``index``) while the others are created.
        ``content_type`` may also be ``text/x-vcard``.
        """
        data, kind = bodies.vcard_content(content, content_type)
        result = await self._requester.request(
            "POST", f"{CONTACTS}/import", content=data, content_type=kind
        )
        return structure(result, ContactImportResult)

    async def export_vcard(self, contact_id: UUID | str) -> str:
        """One contact as vCard 4.0 text."""
        path = f"{CONTACTS}/{segment(check.uuid('contact_id', contact_id))}.vcf"
        response = await self._requester.send("GET", path, accept=VCARD)
        return response.content.decode("utf-8")

    async def export_vcards(self, contact_ids: Sequence[UUID | str]) -> ContactVCardExportResult:
        """Up to 25 contacts as one vCard document (``result.vcard``)."""
        ids = bodies.id_list("contact_ids", contact_ids, maximum=bodies.EXPORT_MAX)
        data = await self._requester.request(
            "POST", f"{CONTACTS}/vcard-export", json={"contact_ids": ids}
        )
        return structure(data, ContactVCardExportResult)


class AsyncContacts:
    """``inkbox.contacts``: list, look up, create, update, merge and delete contacts.

    Admin keys see every contact; an identity-scoped key sees the contacts
    shared with its identity.
    """

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester
        self.access = AsyncContactAccessRows(requester)
        """The legacy access rows of contacts."""
        self.vcards = AsyncVCards(requester)
        """vCard import and export."""

    async def list(
        self,
        *,
        q: str | None = None,
        order: ContactOrder | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        review_status: Sequence[ContactReviewStatus | str]
        | ContactReviewStatus
        | str
        | None = None,
    ) -> builtins.list[Contact]:
        """Contacts, optionally filtered.

        ``q`` matches names, company, job title and notes (case-insensitive,
        at most 100 characters); ``order`` is ``"name"`` or ``"recent"``;
        ``offset`` goes up to 10,000; ``review_status`` keeps only the given
        review states.
        """
        params = bodies.contact_list_query(
            q=q, order=order, limit=limit, offset=offset, review_status=review_status
        )
        data = await self._requester.request("GET", CONTACTS, params=params)
        return structure_list(data, Contact)

    async def lookup(
        self,
        *,
        email: str | None = None,
        email_contains: str | None = None,
        email_domain: str | None = None,
        phone: str | None = None,
        phone_contains: str | None = None,
    ) -> builtins.list[Contact]:
        """Contacts with one matching address: pass exactly one filter.

        ``phone`` is an E.164 number; ``email`` matches a whole address
        (case-insensitive).
        """
        params = bodies.lookup_query(
            {
                "email": email,
                "email_contains": email_contains,
                "email_domain": email_domain,
                "phone": phone,
                "phone_contains": phone_contains,
            }
        )
        data = await self._requester.request("GET", f"{CONTACTS}/lookup", params=params)
        return structure_list(data, Contact)

    async def get(self, contact_id: UUID | str) -> Contact:
        """One contact."""
        return structure(await self._requester.request("GET", contact_path(contact_id)), Contact)

    async def create(
        self,
        *,
        preferred_name: str | None = None,
        name_prefix: str | None = None,
        given_name: str | None = None,
        middle_name: str | None = None,
        family_name: str | None = None,
        name_suffix: str | None = None,
        company_name: str | None = None,
        job_title: str | None = None,
        birthday: date | str | None = None,
        notes: str | None = None,
        emails: Sequence[ContactEmail | dict[str, Any]] | None = None,
        phones: Sequence[ContactPhone | dict[str, Any]] | None = None,
        websites: Sequence[ContactWebsite | dict[str, Any]] | None = None,
        dates: Sequence[ContactDate | dict[str, Any]] | None = None,
        addresses: Sequence[ContactAddress | dict[str, Any]] | None = None,
        custom_fields: Sequence[ContactCustomField | dict[str, Any]] | None = None,
        permissions: ContactCreatePermissions | None = None,
        access_identity_ids: Sequence[UUID | str] | Literal["wildcard"] | Unset | None = UNSET,
    ) -> Contact:
        """Create a contact; ``permissions`` also saves what one identity may see of it.

        ``birthday`` is a date or ``"YYYY-MM-DD"``. Saving permissions needs an
        admin key. ``access_identity_ids`` (0.4.4) is deprecated: the default
        visibility it named is what every contact gets; lists of identities
        are no longer supported and raise :class:`FeatureRemovedError`.
        """
        body = bodies.card(locals())
        if permissions is not None:
            body["permissions"] = bodies.permissions(permissions)
        if access_identity_ids is not UNSET:
            if access_identity_ids is None or access_identity_ids == "wildcard":
                deprecated(
                    "contacts.create(access_identity_ids=...) is deprecated: every contact "
                    "gets the default visibility; omit the argument, or pass "
                    "permissions=ContactCreatePermissions(identity_id=...)"
                )
            else:
                raise removed(
                    "contacts.create(access_identity_ids=[...]) is no longer supported by the "
                    "service; pass permissions=ContactCreatePermissions(identity_id=...) instead"
                )
        path = f"{CONTACTS}/with-permissions" if permissions is not None else CONTACTS
        return structure(await self._requester.request("POST", path, json=body), Contact)

    async def update(
        self,
        contact_id: UUID | str,
        *,
        preferred_name: str | Unset | None = UNSET,
        name_prefix: str | Unset | None = UNSET,
        given_name: str | Unset | None = UNSET,
        middle_name: str | Unset | None = UNSET,
        family_name: str | Unset | None = UNSET,
        name_suffix: str | Unset | None = UNSET,
        company_name: str | Unset | None = UNSET,
        job_title: str | Unset | None = UNSET,
        birthday: date | str | Unset | None = UNSET,
        notes: str | Unset | None = UNSET,
        emails: Sequence[ContactEmail | dict[str, Any]] | Unset | None = UNSET,
        phones: Sequence[ContactPhone | dict[str, Any]] | Unset | None = UNSET,
        websites: Sequence[ContactWebsite | dict[str, Any]] | Unset | None = UNSET,
        dates: Sequence[ContactDate | dict[str, Any]] | Unset | None = UNSET,
        addresses: Sequence[ContactAddress | dict[str, Any]] | Unset | None = UNSET,
        custom_fields: Sequence[ContactCustomField | dict[str, Any]] | Unset | None = UNSET,
        review_status: ContactReviewStatus | str | Unset = UNSET,
    ) -> Contact:
        """Change the fields passed: ``None`` clears one, a list replaces the whole list."""
        path = contact_path(contact_id)
        body = bodies.card_patch(locals())
        return structure(await self._requester.request("PATCH", path, json=body), Contact)

    async def delete(self, contact_id: UUID | str) -> None:
        """Delete a contact."""
        await self._requester.request("DELETE", contact_path(contact_id))

    async def merge(
        self,
        contact_id: UUID | str,
        *,
        losing_contact_ids: Sequence[UUID | str],
        field_sources: dict[str, UUID | str] | None = None,
    ) -> Contact:
        """Fold other contacts into ``contact_id`` (admin keys); returns the merged contact.

        Lists (emails, phones, ...) are combined; ``field_sources`` picks, per
        scalar field name, the contact whose value is kept (by default the
        surviving contact's). The losing contacts are gone afterwards.
        """
        path = contact_path(contact_id, "merge")
        body = bodies.merge(check.uuid("contact_id", contact_id), losing_contact_ids, field_sources)
        return structure(await self._requester.request("POST", path, json=body), Contact)

    async def bulk_delete(self, contact_ids: Sequence[UUID | str]) -> ContactBulkDeleteResult:
        """Delete several contacts; each id's outcome is in the result, none raises."""
        ids = bodies.id_list("contact_ids", contact_ids)
        data = await self._requester.request(
            "POST", f"{CONTACTS}/bulk-delete", json={"contact_ids": ids}
        )
        return structure(data, ContactBulkDeleteResult)
