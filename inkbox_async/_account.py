"""Account calls: API keys and agent self-signup."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from inkbox_async import _bodies
from inkbox_async import _validate as check
from inkbox_async._config import DEFAULT_MAX_RETRIES, check_timeout, resolve_base_url
from inkbox_async._converter import structure
from inkbox_async._logging import register_secret
from inkbox_async._wire import NO_BODY
from inkbox_async.models.account import (
    AgentSignupResendResponse,
    AgentSignupResponse,
    AgentSignupStatusResponse,
    AgentSignupVerifyResponse,
    CreatedApiKey,
)

from ._requester import AsyncRequester

if TYPE_CHECKING:
    import httpx2

SIGNUP = "/api/v1/agent-signup"
DEFAULT_API_KEY_LABEL = "inkbox-sdk"


class AsyncApiKeys:
    """``inkbox.api_keys``: mint API keys."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def create(
        self,
        *,
        label: str = DEFAULT_API_KEY_LABEL,
        description: str | None = None,
        scoped_identity_id: UUID | str | None = None,
    ) -> CreatedApiKey:
        """Mint an API key; ``scoped_identity_id`` limits it to one identity.

        Admin-scoped callers must scope the key. The secret (``api_key``) is
        returned only here. ``label`` defaults to ``"inkbox-sdk"``.
        """
        body = _bodies.api_key_create(
            label=label, description=description, scoped_identity_id=scoped_identity_id
        )
        data = await self._requester.request("POST", "/api/v1/api-keys", json=body)
        return structure(data, CreatedApiKey)


class AsyncSignup:
    """Agent self-signup calls; each uses its own one-shot connection."""

    @staticmethod
    async def _call(
        method: str,
        suffix: str,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        transport: httpx2.AsyncBaseTransport | None,
        json: object = NO_BODY,
    ) -> object:
        if api_key is not None:
            register_secret(check.credential("api_key", api_key))
        http = AsyncRequester(
            base_url=resolve_base_url(base_url),
            api_key=api_key,
            timeout=check_timeout(timeout),
            max_retries=DEFAULT_MAX_RETRIES,
            transport=transport,
        )
        try:
            return await http.request(method, SIGNUP + suffix, json=json)
        finally:
            await http.aclose()

    @classmethod
    async def signup(
        cls,
        human_email: str,
        *,
        note_to_human: str,
        display_name: str | None = None,
        agent_handle: str | None = None,
        email_local_part: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> AgentSignupResponse:
        """Register a new agent (no API key needed); returns its one-time API key."""
        body = _bodies.signup(
            human_email=human_email,
            note_to_human=note_to_human,
            display_name=display_name,
            agent_handle=agent_handle,
            email_local_part=email_local_part,
        )
        data = await cls._call(
            "POST",
            "",
            api_key=None,
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            json=body,
        )
        return structure(data, AgentSignupResponse)

    @classmethod
    async def verify_signup(
        cls,
        api_key: str,
        verification_code: str,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> AgentSignupVerifyResponse:
        """Claim the agent with the 6-digit code its human received."""
        code = check.text("verification_code", verification_code, max_length=32)
        data = await cls._call(
            "POST",
            "/verify",
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            json={"verification_code": code},
        )
        return structure(data, AgentSignupVerifyResponse)

    @classmethod
    async def resend_signup_verification(
        cls,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> AgentSignupResendResponse:
        """Send the human a new code (at most once every 5 minutes)."""
        data = await cls._call(
            "POST",
            "/resend-verification",
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            transport=transport,
        )
        return structure(data, AgentSignupResendResponse)

    @classmethod
    async def get_signup_status(
        cls,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> AgentSignupStatusResponse:
        """The claim status and the restrictions that apply."""
        data = await cls._call(
            "GET",
            "/status",
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            transport=transport,
        )
        return structure(data, AgentSignupStatusResponse)
