"""The Inkbox SDK.

``inkbox_async`` is the async flavour (``async with AsyncInkbox(...)``) and
``inkbox_sync`` its generated blocking twin (``with Inkbox(...)``); both share
the same models, errors and webhook verification.
"""

from typing import TYPE_CHECKING, Any

from inkbox_async._errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CustomerCampaignRequiredError,
    DuplicateContactRuleError,
    HandleUnavailableError,
    InkboxAPIError,
    InkboxConnectionError,
    InkboxError,
    InkboxTimeoutError,
    InternalServerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RecipientBlockedError,
    RecipientNotOptedInError,
    RecipientOptedOutError,
    RedundantContactAccessGrantError,
    SenderRateLimitedError,
    SenderSmsPendingError,
    UnprocessableEntityError,
)
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async._webhooks import ReplayGuard, verify_webhook
from inkbox_async.models import (
    AgentSignupResendResponse,
    AgentSignupResponse,
    AgentSignupRestrictions,
    AgentSignupStatusResponse,
    AgentSignupVerifyResponse,
    ApiKey,
    CreatedApiKey,
    FilterMode,
    IdentityAccess,
    IdentityDetail,
    IdentityMailbox,
    IdentityPhoneNumber,
    IdentityPhoneNumberCreateOptions,
    IdentityStatus,
    IdentitySummary,
    IdentityTunnelCreateOptions,
    IncomingCallAction,
    PhoneNumberType,
    SigningKey,
    TlsMode,
    Tunnel,
    TunnelStatus,
    WhoamiApiKeyResponse,
    WhoamiJwtResponse,
    WhoamiResponse,
)

if TYPE_CHECKING:
    from ._client import AsyncInkbox
    from ._identity import AsyncAgentIdentity
    from ._pagination import AsyncCursorPager

_LAZY = {
    "AsyncInkbox": "_client",
    "AsyncAgentIdentity": "_identity",
    "AsyncCursorPager": "_pagination",
}


def __getattr__(name: str) -> Any:
    # The client modules import the async runtime; load them on first use so
    # that importing the shared models and errors stays cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "UNSET",
    "AgentSignupResendResponse",
    "AgentSignupResponse",
    "AgentSignupRestrictions",
    "AgentSignupStatusResponse",
    "AgentSignupVerifyResponse",
    "ApiKey",
    "AsyncAgentIdentity",
    "AsyncCursorPager",
    "AsyncInkbox",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "CreatedApiKey",
    "CustomerCampaignRequiredError",
    "DuplicateContactRuleError",
    "FilterMode",
    "HandleUnavailableError",
    "IdentityAccess",
    "IdentityDetail",
    "IdentityMailbox",
    "IdentityPhoneNumber",
    "IdentityPhoneNumberCreateOptions",
    "IdentityStatus",
    "IdentitySummary",
    "IdentityTunnelCreateOptions",
    "IncomingCallAction",
    "InkboxAPIError",
    "InkboxConnectionError",
    "InkboxError",
    "InkboxTimeoutError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "NotFoundError",
    "PermissionDeniedError",
    "PhoneNumberType",
    "RateLimitError",
    "RecipientBlockedError",
    "RecipientNotOptedInError",
    "RecipientOptedOutError",
    "RedundantContactAccessGrantError",
    "ReplayGuard",
    "SenderRateLimitedError",
    "SenderSmsPendingError",
    "SigningKey",
    "TlsMode",
    "Tunnel",
    "TunnelStatus",
    "Unset",
    "UnprocessableEntityError",
    "WhoamiApiKeyResponse",
    "WhoamiJwtResponse",
    "WhoamiResponse",
    "verify_webhook",
]
