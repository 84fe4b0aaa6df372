"""The exception hierarchy and the one map from HTTP responses to exceptions."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any, ClassVar, TypeVar
from uuid import UUID

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "CustomerCampaignRequiredError",
    "DedicatedIMessageNumberInventoryPendingError",
    "DedicatedIMessageNumberQuotaExceededError",
    "DuplicateContactRuleError",
    "FeatureRemovedError",
    "IdempotencyInProgressError",
    "IdempotencyKeyReusedError",
    "HandleUnavailableError",
    "InkboxAPIError",
    "InkboxConnectionError",
    "InkboxError",
    "InkboxTimeoutError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "MailImportQuotaExceededError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecipientBlockedError",
    "RecipientNotOptedInError",
    "RecipientOptedOutError",
    "RedundantContactAccessGrantError",
    "SenderRateLimitedError",
    "SenderSmsPendingError",
    "StorageLimitExceededError",
    "UnprocessableEntityError",
    "InkboxVaultKeyError",
    "VaultDecryptionError",
    "VaultLockedError",
    "VaultPayloadError",
    "VaultSecretTypeError",
    "VaultUnlockError",
    "CredentialNotFoundError",
    "TotpNotConfiguredError",
    "TunnelError",
    "TunnelAuthError",
    "TunnelSupersededError",
    "TunnelNotProvisionedError",
    "TunnelStateError",
    "TunnelLifespanError",
    "ForwardingRefusedError",
    "WebhookVerificationError",
    "error_from_response",
]


class InkboxError(Exception):
    """Base class of every error this SDK raises."""


class InvalidArgumentError(InkboxError, ValueError):
    """An argument was rejected before any request was sent."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument had the wrong type; raised before any request was sent."""


class FeatureRemovedError(InkboxError):
    """The hosted service no longer offers what this 0.4.4-era call did.

    Raised before any request; the message names what to use instead.
    """


class InkboxConnectionError(InkboxError):
    """The API could not be reached, or the connection failed mid-request.

    ``request_sent`` is False only when the request provably never left this
    process (connection refused, connect timeout, no free pooled connection).
    ``idempotency_key`` is the key a send carried (None for other calls):
    retrying the same send with ``idempotency_key=`` that value cannot
    deliver it twice.
    """

    idempotency_key: str | None = None

    def __init__(self, message: str, *, request_sent: bool) -> None:
        from inkbox_async._logging import scrub  # the HTTP library may quote a header value

        super().__init__(scrub(message))
        self.request_sent = request_sent


class InkboxTimeoutError(InkboxConnectionError):
    """The request timed out."""


class OutcomeUnknownError(InkboxConnectionError):
    """A write may or may not have taken effect, and the SDK could not tell which.

    Its answer was lost (or the retries ran out after such an attempt) and the
    call has no way to check. Look before acting again: e.g. list or get what
    the call would have changed. ``method`` and ``path`` name the request
    (auth hashes masked); the last failure is chained as ``__cause__``;
    ``idempotency_key`` is set for a send (retrying it with that key is safe).
    """

    def __init__(self, method: str, path: str, reason: str) -> None:
        super().__init__(
            f"{method} {path}: the outcome is unknown ({reason}); "
            "check whether it took effect before retrying",
            request_sent=True,
        )
        self.method = method
        self.path = path


class InkboxAPIError(InkboxError):
    """The API answered with an error status.

    ``status_code`` is the HTTP status; ``detail`` is the body's ``detail``
    member (a string, an object for structured errors, or a list of
    validation problems), or the raw body text when it has none; ``code`` is
    the stable error code (``detail["error"]``) when the API gave one.
    ``agent_support`` is the service's escalation text for agents (the body's
    top-level ``agent_support`` string) or None; ``retry_after`` the
    ``Retry-After`` delay in seconds when the response had one;
    ``idempotency_key`` the key a send carried (None for other calls);
    ``method`` and ``path`` the request that failed (the URL path without its
    query, auth hashes masked), when the SDK sent it.

    ``str(error)`` reads as a sentence: the status, the service's message,
    the error code and the request, e.g. ``409 Conflict: Handle 'support-bot'
    is already in use by an agent identity (handle_unavailable) — POST
    /api/v1/identities``.
    """

    status: ClassVar[int | None] = None
    error_code: ClassVar[str | None] = None
    idempotency_key: str | None = None

    def __init__(
        self,
        status_code: int,
        detail: Any,
        *,
        request_id: str | None = None,
        agent_support: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.detail = detail
        self.request_id = request_id
        self.agent_support = agent_support
        self.retry_after = retry_after
        self.method = method
        self.path = path
        super().__init__(_sentence(status_code, detail, method, path))

    def recast(self, cls: type[_E]) -> _E:
        """This error as the more specific ``cls``, keeping everything it carries."""
        other = cls(
            self.status_code,
            self.detail,
            request_id=self.request_id,
            agent_support=self.agent_support,
            retry_after=self.retry_after,
            method=self.method,
            path=self.path,
        )
        other.idempotency_key = self.idempotency_key
        return other

    def _field(self, name: str) -> Any:
        return self.detail.get(name) if isinstance(self.detail, dict) else None

    @property
    def message(self) -> str | None:
        """The human-readable ``detail["message"]`` of a structured error, if any."""
        value = self._field("message")
        return None if value is None else str(value)

    @property
    def code(self) -> str | None:
        """The stable error code carried in ``detail["error"]``, if any."""
        if isinstance(self.detail, dict):
            value = self.detail.get("error")
            if isinstance(value, str):
                return value
        return None


_E = TypeVar("_E", bound=InkboxAPIError)

_SHOWN_CHARS = 300  # of a text body (an HTML error page from a proxy, say)
_SHOWN_PROBLEMS = 3  # of a validation error's list
_BASE_URL_HINT = "is base_url right? it should be the service root, e.g. https://inkbox.ai"


def _sentence(status_code: int, detail: Any, method: str | None, path: str | None) -> str:
    """``409 Conflict: <the service's message> (<code>) — POST /api/v1/identities``."""
    from inkbox_async._logging import scrub  # a service message may quote the key back

    try:
        head = f"{status_code} {HTTPStatus(status_code).phrase}"
    except ValueError:
        head = f"HTTP {status_code}"
    said = _service_message(detail)
    if said.lower() in (head.lower(), head.partition(" ")[2].lower()):
        said = ""  # not "404 Not Found: Not Found"
    code = detail.get("error") if isinstance(detail, dict) else None
    if isinstance(code, str) and code and code not in said:
        said = f"{said} ({code})" if said else code
    if status_code == 404 and _no_such_route(detail):
        said = f"{said}; {_BASE_URL_HINT}" if said else _BASE_URL_HINT
    text = f"{head}: {said}" if said else head
    if method and path:
        text = f"{text} — {method} {path}"
    return scrub(text)


def _service_message(detail: Any) -> str:
    """The human-readable part of an error's ``detail``, on one line."""
    if isinstance(detail, dict):
        for key in ("detail", "message"):
            value = detail.get(key)
            if isinstance(value, str) and value.strip():
                return _one_line(value).removesuffix(".")
        return ""
    if isinstance(detail, list):
        problems = [_problem(item) for item in detail[:_SHOWN_PROBLEMS]]
        if len(detail) > _SHOWN_PROBLEMS:
            problems.append(f"and {len(detail) - _SHOWN_PROBLEMS} more")
        return "; ".join(problems)
    if detail is None:
        return ""
    text = str(detail)
    if text.lstrip().startswith("<"):  # an HTML error page: its title, else its words
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = title.group(1) if title else re.sub(r"<[^>]*>", " ", text)
    return _one_line(text).removesuffix(".")


def _problem(item: Any) -> str:
    """One entry of a 422's list: ``body.agent_handle: Field required``."""
    if not isinstance(item, dict):
        return _one_line(str(item))
    where = ".".join(str(part) for part in item.get("loc") or ())
    message = _one_line(str(item.get("msg", "invalid")))
    return f"{where}: {message}" if where else message


def _one_line(text: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= _SHOWN_CHARS else flat[: _SHOWN_CHARS - 1] + "…"


def _no_such_route(detail: Any) -> bool:
    """Whether a 404 came from the web server (no such route), not from an Inkbox route."""
    if not isinstance(detail, str):
        return False
    text = detail.strip().lower()
    return text in ("", "not found", "404 not found", "404: not found") or text.startswith("<")


class BadRequestError(InkboxAPIError):
    """HTTP 400."""

    status = 400


class PaymentRequiredError(InkboxAPIError):
    """HTTP 402: the plan's quota or storage does not allow this."""

    status = 402


class AuthenticationError(InkboxAPIError):
    """HTTP 401: the API key is missing, unknown or revoked."""

    status = 401


class PermissionDeniedError(InkboxAPIError):
    """HTTP 403: the key may not do this."""

    status = 403


class NotFoundError(InkboxAPIError):
    """HTTP 404."""

    status = 404


class ConflictError(InkboxAPIError):
    """HTTP 409."""

    status = 409


class UnprocessableEntityError(InkboxAPIError):
    """HTTP 422: the request was understood but its content was rejected."""

    status = 422


class RateLimitError(InkboxAPIError):
    """HTTP 429."""

    status = 429


class InternalServerError(InkboxAPIError):
    """HTTP 5xx."""


class HandleUnavailableError(ConflictError):
    """The agent handle is taken (by an identity, a tunnel or a mailbox).

    ``blocking_namespace`` is ``"identities"``, ``"tunnels"`` or ``"mail"``
    when the API said which, else None.
    """

    error_code = "handle_unavailable"

    @property
    def blocking_namespace(self) -> str | None:
        """Which namespace holds the handle, when the API said."""
        if isinstance(self.detail, dict):
            value = self.detail.get("blocking_namespace")
            if value in ("identities", "tunnels", "mail"):
                return str(value)
        return None


def handle_unavailable(error: ConflictError) -> HandleUnavailableError:
    """Every 409 of identity create means the handle is unavailable."""
    if isinstance(error, HandleUnavailableError):
        return error
    return error.recast(HandleUnavailableError)


class RedundantContactAccessGrantError(ConflictError):
    """A per-identity grant on a target that is already visible to everyone."""

    error_code = "redundant_grant"

    @property
    def detail_message(self) -> str:
        """The human-readable part of the structured detail."""
        if isinstance(self.detail, dict):
            return str(self.detail.get("detail", ""))
        return ""


class DuplicateContactRuleError(ConflictError):
    """A contact rule with the same match already exists."""

    @property
    def existing_rule_id(self) -> UUID | None:
        """The id of the rule that already exists."""
        if isinstance(self.detail, dict) and self.detail.get("existing_rule_id"):
            return UUID(str(self.detail["existing_rule_id"]))
        return None


class RecipientBlockedError(PermissionDeniedError):
    """A contact rule or the filter mode blocks this recipient."""

    error_code = "recipient_blocked"

    @property
    def matched_rule_id(self) -> UUID | None:
        """The blocking rule, or None when the filter mode blocked it."""
        value = self._field("matched_rule_id")
        return UUID(str(value)) if value else None

    @property
    def address(self) -> str | None:
        """The blocked address or number."""
        value = self._field("address")
        return None if value is None else str(value)

    @property
    def reason(self) -> str | None:
        """Why it was blocked."""
        value = self._field("reason")
        return None if value is None else str(value)


class RecipientNotOptedInError(PermissionDeniedError):
    """The SMS recipient never texted START to a number of this organisation."""

    error_code = "recipient_not_opted_in"


class RecipientOptedOutError(PermissionDeniedError):
    """The SMS recipient texted STOP."""

    error_code = "recipient_opted_out"


class SenderSmsPendingError(ConflictError):
    """The sending number is not yet ready for SMS (``sms_status`` pending)."""

    error_code = "sender_sms_pending"


class CustomerCampaignRequiredError(ConflictError):
    """Opt-in writes need the organisation's own 10DLC campaign."""

    error_code = "customer_campaign_required"


class SenderRateLimitedError(RateLimitError):
    """The sending number reached its rolling 24-hour text limit."""

    error_code = "sender_rate_limited"


class StorageLimitExceededError(PaymentRequiredError):
    """A send, reply-all or forward would take the mailbox past its plan's storage cap.

    Free space by deleting messages or threads (immediate), or raise the cap
    at ``upgrade_url``.
    """

    error_code = "storage_limit_exceeded"

    @property
    def upgrade_url(self) -> str | None:
        """The billing page that raises the cap."""
        value = self._field("upgrade_url")
        return None if value is None else str(value)

    @property
    def limit_bytes(self) -> int | None:
        """The cap that was reached, in bytes."""
        value = self._field("limit_bytes")
        return None if value is None else int(value)


class DedicatedIMessageNumberQuotaExceededError(PaymentRequiredError):
    """The organisation holds as many dedicated iMessage numbers as its plan allows."""

    error_code = "dedicated_imessage_number_quota_exceeded"

    @property
    def limit(self) -> int | None:
        """How many dedicated numbers the plan allows."""
        value = self._field("limit")
        return None if value is None else int(value)

    @property
    def upgrade_url(self) -> str | None:
        """The billing page that raises the quota."""
        value = self._field("upgrade_url")
        return None if value is None else str(value)


class IdempotencyKeyReusedError(ConflictError):
    """The ``Idempotency-Key`` was already used for a different request.

    A new message needs a new key; a retry must repeat the original request.
    """

    error_code = "idempotency_key_reused"


class IdempotencyInProgressError(ConflictError):
    """A request with the same ``Idempotency-Key`` is still being processed.

    Sends retry this themselves; wait and retry with the same key.
    """

    error_code = "idempotency_in_progress"


class MailImportQuotaExceededError(RateLimitError):
    """The organisation's daily mail-import quota is spent (see ``retry_after``)."""

    error_code = "mail_import_quota_exceeded"


class DedicatedIMessageNumberInventoryPendingError(InternalServerError):
    """HTTP 503: no dedicated iMessage number is free yet (see ``retry_after``)."""

    status = 503
    error_code = "dedicated_imessage_number_inventory_pending"


class ConcurrentCallsLimitError(RateLimitError):
    """The organisation has as many live calls as its plan allows (see ``retry_after``)."""

    error_code = "concurrent_calls_limit"


class CallCapacityBusyError(InternalServerError):
    """HTTP 503: no call capacity is free right now; retry after ``retry_after`` seconds."""

    status = 503
    error_code = "call_capacity_busy"


class SigningKeyPerIdentityError(ConflictError):
    """The organisation-wide signing key is gone: signing keys belong to identities now.

    ``inkbox.create_signing_key()`` raises it when ``POST /signing-keys``
    answers 409 (an admin key: the service points at the per-identity route)
    or 410 (the route was retired after 2026-08-31); ``status_code`` tells
    which. Use ``identity.create_signing_key()`` instead.
    """


class InkboxVaultKeyError(InvalidArgumentError):
    """A vault key to be registered failed the strength rules.

    Raised by ``initialize`` and ``update_key`` (for the new key) before any
    request. Its message is the official rule text, prefixed with the argument
    name, e.g. ``"vault_key: Vault key must contain at least one digit"``.
    Subclasses :class:`~inkbox_async.InvalidArgumentError` (hence
    ``InkboxError`` and ``ValueError``).
    """


class VaultDecryptionError(InkboxError):
    """A blob did not decrypt: wrong vault key, wrong id, or altered data.

    Also raised for a blob that is not valid base64 or is too short.
    """


class VaultPayloadError(InkboxError, ValueError):
    """A decrypted payload does not have the shape its ``secret_type`` requires."""


class VaultSecretTypeError(InkboxError, TypeError):
    """A secret is of another type than the operation needs (e.g. TOTP on an api_key)."""


class VaultLockedError(InkboxError):
    """A call needs the unlocked vault: unlock it with ``inkbox.vault.unlock(vault_key)``
    (or pass ``vault_key=`` to the client)."""


class VaultUnlockError(InkboxError):
    """The vault key or recovery code does not open this organisation's vault."""


class CredentialNotFoundError(InkboxError, KeyError):
    """No secret with that id is available to this identity in the unlocked vault."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TunnelError(InkboxError):
    """A tunnel could not be brought or kept online."""


class TunnelAuthError(TunnelError):
    """The edge refused the API key for this tunnel (hello 401/403); never retried."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"the tunnel edge refused the API key (HTTP {status_code}): {detail}")
        self.status_code = status_code
        self.detail = detail


class TunnelSupersededError(TunnelError):
    """Another agent took this tunnel over; this one stopped for good."""


class TunnelNotProvisionedError(TunnelError):
    """No live tunnel has this name (create the identity first), or it was removed."""


class TunnelStateError(TunnelError):
    """The tunnel is not in a state that can serve (not active, or passthrough not signed)."""


class TunnelLifespanError(TunnelError):
    """The ASGI app's lifespan startup failed (or, with ``lifespan="on"``, is not supported).

    Raised when serving starts, before the tunnel goes online.
    """


class ForwardingRefusedError(InvalidArgumentError):
    """``forward_to`` is not a loopback URL and ``allow_remote_forwarding`` was not given.

    Forwarding public traffic to any other host would let callers on the
    internet reach services behind this machine (SSRF); opt in with
    ``allow_remote_forwarding=True`` only after reviewing that trade-off.
    """


class WebhookVerificationError(InkboxError):
    """A webhook delivery failed verification (``verify_webhook_or_raise``).

    ``reason`` is one of ``"missing_header"`` (``header`` names which),
    ``"malformed_signature"``, ``"bad_signature"`` (wrong secret or altered
    body), ``"bad_timestamp"``, ``"stale_timestamp"`` or ``"replayed"``.
    Neither the secret nor the signature is ever part of it. Answer such a
    delivery with 401 or 403 and do not act on it.
    """

    _SAID: ClassVar[dict[str, str]] = {
        "missing_header": "the {header} header is missing",
        "malformed_signature": "X-Inkbox-Signature is not 'sha256=' and 64 hex digits",
        "bad_signature": "the signature does not match (wrong secret, or the body was altered)",
        "bad_timestamp": "X-Inkbox-Timestamp is not a whole number of seconds",
        "stale_timestamp": "X-Inkbox-Timestamp is outside the tolerance",
        "replayed": "this X-Inkbox-Request-Id was already seen",
    }

    def __init__(self, reason: str, *, header: str | None = None) -> None:
        said = self._SAID.get(reason, reason).format(header=header)
        super().__init__(f"webhook delivery not verified: {said} ({reason})")
        self.reason = reason
        self.header = header


class TotpNotConfiguredError(InkboxError, ValueError):
    """The login secret has no TOTP configured."""


_BY_STATUS: dict[int, type[InkboxAPIError]] = {
    cls.status: cls
    for cls in (
        BadRequestError,
        PaymentRequiredError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
    )
    if cls.status is not None
}

_BY_CODE: dict[tuple[int, str], type[InkboxAPIError]] = {
    (cls.status, cls.error_code): cls
    for cls in (
        HandleUnavailableError,
        RedundantContactAccessGrantError,
        RecipientBlockedError,
        RecipientNotOptedInError,
        RecipientOptedOutError,
        SenderSmsPendingError,
        CustomerCampaignRequiredError,
        SenderRateLimitedError,
        StorageLimitExceededError,
        DedicatedIMessageNumberQuotaExceededError,
        IdempotencyKeyReusedError,
        IdempotencyInProgressError,
        MailImportQuotaExceededError,
        DedicatedIMessageNumberInventoryPendingError,
        ConcurrentCallsLimitError,
        CallCapacityBusyError,
    )
    if cls.status is not None and cls.error_code is not None
}


def parse_detail(body: bytes) -> Any:
    """The ``detail`` member of an error body, or the raw text when it has none."""
    return _parse_envelope(body)[0]


def _parse_envelope(body: bytes) -> tuple[Any, str | None]:
    """``(detail, agent_support)`` of an error body (see :func:`parse_detail`)."""
    text = body.decode("utf-8", errors="replace")
    try:
        decoded = json.loads(text)
    except ValueError:
        return text, None
    if not isinstance(decoded, dict):
        return text, None
    support = decoded.get("agent_support")
    support = support if isinstance(support, str) and support else None
    return decoded.get("detail", text), support


def error_class(status_code: int, detail: Any) -> type[InkboxAPIError]:
    """The most specific exception class for a status and detail."""
    if isinstance(detail, dict):
        code = detail.get("error")
        if isinstance(code, str) and (status_code, code) in _BY_CODE:
            return _BY_CODE[(status_code, code)]
        if status_code == 409 and "existing_rule_id" in detail:
            return DuplicateContactRuleError
    if status_code >= 500:
        return InternalServerError
    return _BY_STATUS.get(status_code, InkboxAPIError)


def error_from_response(
    status_code: int,
    body: bytes,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    method: str | None = None,
    path: str | None = None,
) -> InkboxAPIError:
    """Build the typed exception for an error response to ``method path``."""
    detail, agent_support = _parse_envelope(body)
    return error_class(status_code, detail)(
        status_code,
        detail,
        request_id=request_id,
        agent_support=agent_support,
        retry_after=retry_after,
        method=method,
        path=path,
    )
