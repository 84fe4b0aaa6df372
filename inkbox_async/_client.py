"""The client: one connection pool, every resource, identities and account calls."""

from __future__ import annotations

import functools
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from inkbox_async import _bodies
from inkbox_async import _validate as check
from inkbox_async._config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    check_max_retries,
    check_timeout,
    resolve_api_key,
    resolve_base_url,
)
from inkbox_async._converter import structure, structure_list
from inkbox_async._deprecation import deprecated
from inkbox_async._errors import (
    ConflictError,
    InkboxAPIError,
    SigningKeyPerIdentityError,
    handle_unavailable,
)
from inkbox_async._paths import IDENTITIES, identity_path
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async.models.account import (
    SigningKey,
    WhoamiApiKeyResponse,
    WhoamiJwtResponse,
    WhoamiResponse,
)
from inkbox_async.models.identities import IdentityDetail, IdentitySummary

from ._account import AsyncApiKeys, AsyncSignup
from ._identity import AsyncAgentIdentity
from ._requester import AsyncRequester

if TYPE_CHECKING:
    import httpx2

    from ._contacts import AsyncContacts

    # Resources load on first use, so a program pays only for what it calls.
    from ._mail import (
        AsyncDomains,
        AsyncMailboxes,
        AsyncMailContactRules,
        AsyncMessages,
        AsyncThreads,
    )
    from ._notes import AsyncNotes
    from ._phone import (
        AsyncCalls,
        AsyncPhoneContactRules,
        AsyncPhoneNumbers,
        AsyncSmsOptIns,
        AsyncTexts,
        AsyncTranscripts,
    )
    from ._tunnels import AsyncTunnels
    from ._vault import AsyncVault
    from ._webhook_subscriptions import AsyncWebhooks


class AsyncInkbox(AsyncSignup):
    """The Inkbox API client.

    ``api_key`` falls back to ``INKBOX_API_KEY`` and ``base_url`` to
    ``INKBOX_BASE_URL`` (then the hosted API). ``base_url`` must be https,
    except for loopback hosts. ``timeout`` is in seconds; ``max_retries``
    bounds the retries of failed requests that are safe to repeat.
    ``transport`` replaces the network with an httpx2 transport (e.g.
    ``httpx2.MockTransport``) for tests. Construction does no I/O; use it as
    an async context manager, or call :meth:`aclose`.
    """

    WhoamiApiKeyResponse = WhoamiApiKeyResponse
    WhoamiJwtResponse = WhoamiJwtResponse

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        vault_key: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._vault_key = check.optional_text("vault_key", vault_key)
        self._requester = AsyncRequester(
            base_url=resolve_base_url(base_url),
            api_key=resolve_api_key(api_key),
            timeout=check_timeout(timeout),
            max_retries=check_max_retries(max_retries),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key='***')"

    @property
    def base_url(self) -> str:
        """The API root this client talks to."""
        return self._requester.base_url

    async def __aenter__(self) -> Self:
        await self._unlock_configured_vault()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._requester.aclose()

    @functools.cached_property
    def vault(self) -> AsyncVault:
        """The end-to-end encrypted vault."""
        from ._vault import AsyncVault

        return AsyncVault(self._requester)

    async def _unlock_configured_vault(self) -> None:
        """Unlock with the ``vault_key`` given to the constructor, once.

        Runs on entering the client's context, and before returning an
        identity, so ``identity.credentials`` works without an explicit unlock.
        """
        if self._vault_key is None:
            return
        if self.vault.unlocked is None:
            await self.vault.unlock(self._vault_key)

    async def _identity(self, data: object) -> AsyncAgentIdentity:
        await self._unlock_configured_vault()
        return AsyncAgentIdentity(
            self._requester, structure(data, IdentityDetail), lambda: self.vault
        )

    @functools.cached_property
    def api_keys(self) -> AsyncApiKeys:
        """Mint API keys."""
        return AsyncApiKeys(self._requester)

    @functools.cached_property
    def mailboxes(self) -> AsyncMailboxes:
        """Read, update and search mailboxes."""
        from ._mail import AsyncMailboxes

        return AsyncMailboxes(self._requester)

    @functools.cached_property
    def messages(self) -> AsyncMessages:
        """List, read, send, forward, flag and delete messages of any mailbox."""
        from ._mail import AsyncMessages

        return AsyncMessages(self._requester)

    @functools.cached_property
    def threads(self) -> AsyncThreads:
        """List, read, file and delete threads of any mailbox."""
        from ._mail import AsyncThreads

        return AsyncThreads(self._requester)

    @functools.cached_property
    def domains(self) -> AsyncDomains:
        """Custom sending domains."""
        from ._mail import AsyncDomains

        return AsyncDomains(self._requester)

    @functools.cached_property
    def mail_contact_rules(self) -> AsyncMailContactRules:
        """Per-mailbox allow and block rules."""
        from ._mail import AsyncMailContactRules

        return AsyncMailContactRules(self._requester)

    @functools.cached_property
    def phone_numbers(self) -> AsyncPhoneNumbers:
        """List, provision, configure and release phone numbers."""
        from ._phone import AsyncPhoneNumbers

        return AsyncPhoneNumbers(self._requester)

    @functools.cached_property
    def calls(self) -> AsyncCalls:
        """List, read and place calls."""
        from ._phone import AsyncCalls

        return AsyncCalls(self._requester)

    @functools.cached_property
    def transcripts(self) -> AsyncTranscripts:
        """Call transcripts."""
        from ._phone import AsyncTranscripts

        return AsyncTranscripts(self._requester)

    @functools.cached_property
    def texts(self) -> AsyncTexts:
        """SMS/MMS of any number."""
        from ._phone import AsyncTexts

        return AsyncTexts(self._requester)

    @functools.cached_property
    def sms_opt_ins(self) -> AsyncSmsOptIns:
        """Recipients' SMS consent."""
        from ._phone import AsyncSmsOptIns

        return AsyncSmsOptIns(self._requester)

    @functools.cached_property
    def phone_contact_rules(self) -> AsyncPhoneContactRules:
        """Per-number allow and block rules."""
        from ._phone import AsyncPhoneContactRules

        return AsyncPhoneContactRules(self._requester)

    @functools.cached_property
    def tunnels(self) -> AsyncTunnels:
        """Tunnels: list, get, update metadata, sign CSRs, and ``connect()`` to go online."""
        from ._tunnels import AsyncTunnels

        return AsyncTunnels(self._requester)

    @functools.cached_property
    def contacts(self) -> AsyncContacts:
        """The organisation's address book (``.access``, ``.vcards``)."""
        from ._contacts import AsyncContacts

        return AsyncContacts(self._requester)

    @functools.cached_property
    def webhooks(self) -> AsyncWebhooks:
        """Webhook ``.subscriptions`` (where mail and text events go) and ``.deliveries``."""
        from ._webhook_subscriptions import AsyncWebhooks

        return AsyncWebhooks(self._requester)

    @functools.cached_property
    def notes(self) -> AsyncNotes:
        """The organisation's notes and who they are shared with (``.access``)."""
        from ._notes import AsyncNotes

        return AsyncNotes(self._requester)

    async def whoami(self) -> WhoamiResponse:
        """Who the key belongs to: :class:`WhoamiApiKeyResponse` or :class:`WhoamiJwtResponse`."""
        data: Any = await self._requester.request("GET", "/api/whoami")
        if isinstance(data, dict) and data.get("auth_type") == "api_key":
            return structure(data, WhoamiApiKeyResponse)
        return structure(data, WhoamiJwtResponse)

    async def create_signing_key(self) -> SigningKey:
        """Deprecated: signing keys belong to identities; use ``identity.create_signing_key()``.

        Still sends the organisation-level ``POST /signing-keys``: with an
        identity-scoped key the service rotates that identity's key (shown
        once). With an admin key it answers 409, and after its 2026-08-31
        sunset it answers 410 to everyone: both raise
        :class:`SigningKeyPerIdentityError`.
        """
        deprecated(
            "inkbox.create_signing_key() is deprecated: webhook signing keys belong to "
            "identities now; use identity.create_signing_key() (and "
            "identity.signing_key_status())"
        )
        try:
            data = await self._requester.request("POST", "/api/v1/signing-keys", json={})
        except InkboxAPIError as exc:
            if exc.status_code not in (409, 410):
                raise
            raise exc.recast(SigningKeyPerIdentityError) from exc
        return structure(data, SigningKey)

    async def create_identity(
        self,
        agent_handle: str,
        *,
        display_name: str | None = None,
        description: str | Unset | None = UNSET,
        email_local_part: str | None = None,
        sending_domain: str | Unset | None = UNSET,
        tunnel: _bodies.TunnelOption | None = None,
        phone_number: _bodies.PhoneOption | None = None,
        vault_secret_ids: str | UUID | list[str | UUID] | None = None,
        imessage_enabled: bool | None = None,
        contact_sharing_enabled: bool | None = None,
        claim_imessage_number: bool = False,
    ) -> AsyncAgentIdentity:
        """Create an agent identity with its mailbox and tunnel (atomically).

        ``sending_domain``: omit to use the organisation's default, ``None``
        for the platform domain, or a verified custom domain name.
        ``tunnel`` and ``phone_number`` take the options classes or plain
        dicts. ``imessage_enabled`` and ``contact_sharing_enabled`` are sent
        only when given (server defaults: False, True);
        ``claim_imessage_number=True`` (with ``imessage_enabled=True``) also
        claims a dedicated iMessage line. Raises
        :class:`HandleUnavailableError` when the handle is taken.
        """
        body = _bodies.identity_create(
            agent_handle,
            display_name=display_name,
            description=description,
            email_local_part=email_local_part,
            sending_domain=sending_domain,
            tunnel=tunnel,
            phone_number=phone_number,
            vault_secret_ids_=vault_secret_ids,
            imessage_enabled=imessage_enabled,
            contact_sharing_enabled=contact_sharing_enabled,
            claim_imessage_number=claim_imessage_number,
        )
        text_hook = _bodies.legacy_text_hook(phone_number)
        if text_hook is not None:
            from ._webhook_subscriptions import TEXT_HOOK_DEPRECATED

            deprecated(TEXT_HOOK_DEPRECATED)
        try:
            data = await self._requester.request("POST", IDENTITIES + "/", json=body)
        except ConflictError as exc:
            raise handle_unavailable(exc) from exc
        identity = await self._identity(data)
        if text_hook is not None:
            from inkbox_async.models.webhooks import TEXT_EVENT_TYPES

            from ._webhook_subscriptions import apply_legacy_url

            await apply_legacy_url(
                self._requester, text_hook, TEXT_EVENT_TYPES, identity_id=identity.id
            )
        return identity

    async def get_identity(self, agent_handle: str) -> AsyncAgentIdentity:
        """Fetch one identity by handle."""
        check.handle("agent_handle", agent_handle)
        data = await self._requester.request("GET", identity_path(agent_handle))
        return await self._identity(data)

    async def list_identities(self) -> list[IdentitySummary]:
        """Every identity this key can see."""
        data = await self._requester.request("GET", IDENTITIES + "/")
        return structure_list(data, IdentitySummary)
