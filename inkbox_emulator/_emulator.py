"""The :class:`Emulator` object: one store, one app, one server thread."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import anyio.to_thread

from .accounts import model as accounts
from .accounts import signup
from .contacts import matching
from .core.app import build_app
from .core.control import reset_all
from .core.faults import FaultRegistry
from .core.recording import RecordedRequest
from .core.server import ServerThread
from .core.store import Settings, Store
from .edge.hub import EdgeSettings
from .edge.server import TunnelEdge
from .identities import records as identity_records
from .mail import delivery
from .mail.parse import parse_inject
from .phone import calls, texts
from .phone import numbers as phone_numbers
from .phone import opt_ins as sms_opt_ins
from .phone.call_routing import route_inbound_call
from .vault import model as vault_model
from .webhooks.dispatcher import Dispatcher
from .webhooks.subscriptions import ORG_SIGNING_KEYS_SUNSET, identity_signing_key
from .webhooks.tunnels import EdgeRoute

__all__ = ["Emulator", "OrgCredentials"]


@dataclass(frozen=True)
class OrgCredentials:
    """An organisation created in the emulator and its admin-scoped API key."""

    organization_id: str
    api_key: str

    def __repr__(self) -> str:
        return f"OrgCredentials(organization_id={self.organization_id!r}, api_key='…')"


class Emulator:
    """A stateful local emulator of the hosted Inkbox API.

    ``Emulator()`` keeps its state in an in-memory SQLite database; pass
    ``db="path.sqlite3"`` for a file that survives restarts. Use it as a
    (sync or async) context manager, or call :meth:`start` / :meth:`stop`.
    The Python methods operate on the store directly and are thread-safe;
    the same operations are reachable over HTTP under ``/_emulator``.

    Mail sent to outside addresses lands in the :meth:`outbox` and turns
    ``delivered`` (or what :meth:`set_delivery_outcome` says) after
    ``delivery_delay`` seconds. Webhooks are POSTed in the background and
    retried after each of ``webhook_retry_delays`` (``webhook_timeout`` per
    attempt). Signed attachment URLs live ``attachment_url_ttl`` seconds of
    the emulator clock. The vault keeps only ciphertext and metadata:
    :meth:`vault_state` shows what it holds and :meth:`dump_database` the
    whole database, e.g. to prove no plaintext secret reached the emulator.

    Phone: a new local number stays ``sms_status=pending`` for ``sms_ready_delay``
    seconds of the emulator clock (:meth:`advance_clock` or :meth:`mark_sms_ready`
    end it); outbound texts move ``queued`` → ``sent`` → outcome, and calls
    ``initiated`` → ``ringing`` → ``answered`` → ``completed``, one step every
    ``text_status_delay`` / ``call_status_delay`` seconds; an incoming-call webhook
    gets ``call_webhook_timeout`` seconds to reply. ``call_capacity`` caps the live
    calls of all organisations together: a call placed beyond it answers 503
    ``call_capacity_busy`` with ``Retry-After`` (the service's shared capacity
    running out; each organisation's own limit answers 429 ``concurrent_calls_limit``).

    Webhooks: mail and text events reach the webhook subscriptions of the owning
    identity, signed with that identity's key (:meth:`identity_signing_key`). The
    deprecated org-level ``POST /signing-keys`` answers 410 from
    ``org_signing_keys_sunset`` (emulator-clock epoch; default: after 2026-08-31,
    as the service; ``None`` keeps it answering 409 to admin keys and rotating the
    identity key of identity-scoped keys).

    Tunnels: a real HTTP/2 edge runs beside the API. Agents dial :attr:`tunnel_edge`
    (TLS with SNI = the zone, certificate from the test CA at :attr:`tunnel_ca_file`;
    ``edge_port``, default any free port); third parties call :attr:`tunnel_public_url`
    (``public_port``) with ``Host: {tunnel_name}.{zone}``. Hello offers a pool of
    ``tunnel_pool_size`` intakes and a ``tunnel_response_deadline``; a public request
    waits ``tunnel_connect_wait`` seconds for a parked intake (then 503) and the
    deadline plus ``tunnel_reply_grace`` for its reply (then 504); request bodies above
    ``tunnel_offload_threshold`` bytes are fetched by the agent from a one-time URL.
    Webhooks (subscriptions and the incoming-call webhook) addressed to
    ``https://{tunnel_name}.{zone}/…`` go through this edge, never the internet.

    Contact rules: the per-mailbox and per-number rule routes answer until
    ``legacy_rules_until`` (emulator clock; default 2026-08-31T00:00:00Z, their
    sunset), then 410 like removed routes.

    The emulator clock is the wall clock unless ``clock_start`` (an aware
    ``datetime``) says where it starts, e.g. before one of the service's dated
    changes; it then runs on, and :meth:`advance_clock` moves it forward.

    ``tunnel_ca_path`` keeps the tunnel test CA in files instead of memory: its
    certificate at that path (then :attr:`tunnel_ca_file`), its key beside it
    (``x.pem`` → ``x.key``, mode 0600); an emulator started on the same files
    later is trusted by the same clients.
    """

    def __init__(
        self,
        db: str = ":memory:",
        host: str = "127.0.0.1",
        port: int = 0,
        mail_domain: str = "inkboxmail.com",
        tunnel_zone: str = "inkboxwire.com",
        *,
        delivery_delay: float = 0.05,
        webhook_retry_delays: Sequence[float] = (0.1, 0.3, 1.0),
        webhook_timeout: float = 5.0,
        attachment_url_ttl: int = 3600,
        sms_ready_delay: float = 1.0,
        text_status_delay: float = 0.05,
        call_status_delay: float = 0.05,
        call_webhook_timeout: float = 5.0,
        call_capacity: int | None = None,
        org_signing_keys_sunset: float | None = ORG_SIGNING_KEYS_SUNSET,
        edge_port: int = 0,
        public_port: int = 0,
        tunnel_pool_size: int = 2,
        tunnel_response_deadline: float = 30.0,
        tunnel_reply_grace: float = 5.0,
        tunnel_connect_wait: float = 5.0,
        tunnel_offload_threshold: int = 1 << 20,
        legacy_rules_until: float | None = None,
        tunnel_ca_path: str | None = None,
        clock_start: datetime | None = None,
    ) -> None:
        self.host = host
        self.port = port
        settings = Settings(
            mail_domain=mail_domain,
            tunnel_zone=tunnel_zone,
            attachment_url_ttl=attachment_url_ttl,
            sms_ready_delay=sms_ready_delay,
            text_status_delay=text_status_delay,
            call_status_delay=call_status_delay,
            call_webhook_timeout=call_webhook_timeout,
            call_capacity=call_capacity,
            org_signing_keys_sunset=org_signing_keys_sunset,
            connected_tunnels=lambda: self._edge.connected_ids(),
        )
        if legacy_rules_until is not None:
            settings = dataclasses.replace(settings, legacy_rules_until=legacy_rules_until)
        if clock_start is not None and clock_start.tzinfo is None:
            raise ValueError("clock_start must be timezone-aware")
        self._store = Store(
            db, settings, clock_start=None if clock_start is None else clock_start.timestamp()
        )
        self._faults = FaultRegistry()
        self._dispatcher = Dispatcher(
            self._store,
            delivery_delay=delivery_delay,
            retry_delays=tuple(webhook_retry_delays),
            timeout=webhook_timeout,
        )
        self._store.on_commit = self._dispatcher.handle_events
        self._edge = TunnelEdge(
            self._store,
            EdgeSettings(
                zone=tunnel_zone,
                pool_size=tunnel_pool_size,
                response_deadline=tunnel_response_deadline,
                reply_grace=tunnel_reply_grace,
                connect_wait=tunnel_connect_wait,
                offload_threshold=tunnel_offload_threshold,
            ),
            host=host,
            edge_port=edge_port,
            public_port=public_port,
            ca_path=tunnel_ca_path,
        )
        self._dispatcher.edge_route = EdgeRoute(
            tunnel_zone,
            self._edge.ca.ca_pem,
            edge_address=lambda: self._edge.edge_address,
            public_url=lambda: self._edge.public_url,
        )
        self._app = build_app(self._store, self._faults, self._dispatcher, self._edge)
        self._server: ServerThread | None = None
        self._closed = False

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> Self:
        """Start serving on ``host:port`` (a free port when ``port`` is 0); returns self."""
        if self._closed:
            raise RuntimeError("this Emulator has been closed")
        if self._server is None:
            server = ServerThread(self._app, self.host, self.port)
            server.start()
            self._server = server
            self._store.public_url = self.base_url
        if not self._edge.running:
            try:
                self._edge.start()
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop serving (state is kept; :meth:`start` serves it again, on a new free port
        when ``port`` was 0). The tunnel edge closes every agent connection."""
        self._edge.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._store.public_url = ""

    def close(self) -> None:
        """Stop serving and close the database."""
        self.stop()
        if not self._closed:
            self._closed = True
            self._edge.close()
            self._dispatcher.close()
            self._store.close()

    @property
    def running(self) -> bool:
        """Whether the HTTP server is running."""
        return self._server is not None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server (no trailing slash)."""
        if self._server is None or self._server.port is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.close)

    # -- seeding and inspection ------------------------------------------------

    def create_org(self, name: str | None = None) -> OrgCredentials:
        """Create an organisation and return its id with an admin-scoped API key."""
        org_id, key = self._store.run(accounts.create_org, name)
        return OrgCredentials(organization_id=org_id, api_key=key)

    def resume_org(self, organization_id: str, api_key: str) -> OrgCredentials | None:
        """Credentials for an org an earlier run created in this database file: ``api_key``
        while it is still a live admin key of the org, else a new admin key; ``None`` when the
        database holds no such org."""
        key = self._store.run(accounts.resume_org, organization_id, api_key)
        return None if key is None else OrgCredentials(organization_id, key)

    def create_human_session(
        self, organization_id: str, email: str = "owner@example.com", name: str | None = "Owner"
    ) -> str:
        """A console (JWT-shaped) credential for a human admin of the org, used as ``X-API-Key``."""
        return self._store.run(accounts.create_human_session, organization_id, email, name)

    def add_sending_domain(
        self,
        organization_id: str,
        domain: str,
        status: str = "verified",
        is_default: bool = False,
    ) -> dict[str, Any]:
        """Register a custom sending domain of the org; returns the Domain record."""
        return self._store.run(
            accounts.add_sending_domain, organization_id, domain, status, is_default
        )

    def signing_key(self, organization_id: str) -> str | None:
        """The org's current webhook signing key (``whsec_…``), or ``None`` before one exists."""
        return self._store.run(accounts.current_signing_key, organization_id)

    def identity_signing_key(self, agent_identity_id: str) -> str | None:
        """An identity's current webhook signing key (``whsec_…``), or ``None`` before one."""
        return self._store.run(identity_signing_key, agent_identity_id)

    def reset(self) -> None:
        """Wipe all state: every row (vaults, keys, secrets and access rules included), the
        request log, the clock offset, faults, pending deliveries, recorded webhook
        attempts and the tunnel edge (agent connections, queued requests, edge faults)."""
        reset_all(self._store, self._faults, self._dispatcher, self._edge)

    def signups(self) -> list[dict[str, Any]]:
        """Every agent signup: agent_handle, human_email, organization_id,
        verification_code, claim_status, api_key_id."""
        return self._store.run(signup.list_signups)

    def signup_code(self, agent_handle: str) -> str:
        """The current 6-digit verification code of a signup."""
        return self._store.run(signup.signup_code, agent_handle)

    def approve_signup(self, agent_handle: str) -> dict[str, Any]:
        """Approve a signup as its human would in the console: it becomes claimed."""
        return self._store.run(signup.approve, agent_handle)

    def advance_clock(self, seconds: float) -> float:
        """Jump the emulator clock forward (cooldowns, code expiry); returns the new time."""
        return self._store.advance_clock(seconds)

    def now(self) -> float:
        """The emulator clock, in epoch seconds."""
        return self._store.now()

    def requests(self) -> list[RecordedRequest]:
        """Every public-API request served so far (control-API requests excluded), in order."""
        with self._store.lock:
            return list(self._store.requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._store.lock:
            self._store.requests.clear()

    def row_counts(self) -> dict[str, int]:
        """Number of rows per table (diagnostics, e.g. to check nothing was half-written)."""
        return self._store.row_counts()

    def dump_database(self) -> str:
        """An SQL text dump of the whole state (``sqlite3`` ``iterdump``, one consistent
        snapshot under the store lock). Text columns appear as stored (vault ciphertext as the
        base64 the client sent), blobs as ``X'…'`` hex: scan it to prove what the emulator
        does *not* store."""
        return self._store.dump()

    # -- vault -------------------------------------------------------------------------

    def vault_state(self, organization_id: str) -> dict[str, Any]:
        """What the org's vault holds, minus ciphertext.

        Keys: ``organization_id``; ``vault_id``, ``created_at``, ``updated_at`` (``None``
        before ``initialize``); ``keys`` (``id``, ``key_type``, ``auth_hash``,
        ``created_by``); ``secrets`` (``id``, ``name``, ``secret_type``, ``description``);
        ``access_rules`` (``id``, ``vault_secret_id``, ``identity_id``), each oldest first.
        An unknown org raises the emulator's ``ApiError`` (404).
        """
        return self._store.run(vault_model.vault_state, organization_id)

    # -- mail and the outside world ------------------------------------------------

    def inject_email(
        self,
        to: str | Sequence[str],
        from_address: str,
        subject: str | None = None,
        body_text: str | None = None,
        body_html: str | None = None,
        cc: Sequence[str] | None = None,
        attachments: Sequence[dict[str, Any]] | None = None,
        in_reply_to: str | None = None,
        references: str | Sequence[str] | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """Deliver an email from the outside world to the emulator mailboxes among ``to``/``cc``.

        ``attachments`` are ``{"filename", "content_type", "content_base64"}``
        dicts; ``in_reply_to``/``references`` are RFC 5322 Message-IDs (they
        thread the message); ``message_id`` defaults to a fresh one. Contact
        rules apply (blocked mail goes to the ``blocked`` folder, no webhook);
        otherwise ``message.received`` fires. Returns the stored message of
        the first recipient mailbox (MessageDetail shape). Bad input raises the
        emulator's ``ApiError`` (``status`` 422, or 404 when no recipient is an
        emulator mailbox).
        """
        data: dict[str, Any] = {
            "to": to if isinstance(to, str) else list(to),
            "from_address": from_address,
            "subject": subject,
            "body_text": body_text,
            "body_html": body_html,
            "cc": None if cc is None else list(cc),
            "attachments": None if attachments is None else [dict(a) for a in attachments],
            "in_reply_to": in_reply_to,
            "references": references if isinstance(references, str | None) else list(references),
            "message_id": message_id,
        }
        return self._store.run(delivery.inject_inbound, parse_inject(data))

    def outbox(self, organization_id: str | None = None) -> list[dict[str, Any]]:
        """Mail delivered to the outside world, oldest first.

        Each entry: ``id``, ``organization_id``, ``mailbox_id``, ``message_row_id``,
        ``message_id`` (RFC 5322), ``from_address``, ``to_addresses``, ``cc_addresses``,
        ``bcc_addresses``, ``recipients`` (the external ones), ``reply_to``, ``subject``,
        ``body_text``, ``body_html``, ``attachments`` (``filename``, ``content_type``,
        ``size``, ``content_base64``), ``in_reply_to``, ``references``, ``status``
        (``sent`` → ``delivered``/``bounced``/``failed``), ``created_at``, ``updated_at``.
        """
        return self._store.run(delivery.list_outbox, organization_id)

    def set_delivery_outcome(self, pattern: str, outcome: str) -> None:
        """Make later outside deliveries to an address (or ``"@domain"``) end ``delivered``,
        ``bounced`` or ``failed`` (``delivered`` removes the override)."""
        self._store.run(delivery.set_delivery_outcome, pattern, outcome)

    def open_email(self, message_id: str) -> dict[str, Any]:
        """A recipient opens the sent message ``message_id`` (its id, not the RFC Message-ID).

        Sends made with ``track_opens`` count it (``open_count``, ``first_opened_at``);
        others are unchanged. Returns the Message.
        """
        return self._store.run(delivery.record_open, message_id)

    def set_storage_limit(self, email_address: str, limit_bytes: int) -> None:
        """Lower (or raise) one mailbox's storage cap; a send past it answers 402
        ``storage_limit_exceeded``."""
        self._store.run(identity_records.set_storage_limit, email_address, limit_bytes)

    def webhook_deliveries(self, organization_id: str | None = None) -> list[dict[str, Any]]:
        """Every webhook attempt, in the order they finished: ``url``, ``event_type``,
        ``attempt`` (1-based), ``status_code`` (``None`` on a transport error), ``error``,
        ``headers`` (as sent), ``body`` (bytes), ``delivered``, ``mailbox_id`` /
        ``phone_number_id``, plus ids and timings. Text events appear as ``text.*``, the
        synchronous incoming-call POSTs as ``phone.incoming_call``."""
        return self._dispatcher.attempts(organization_id)

    def wait_for_webhooks(
        self,
        count: int,
        *,
        timeout: float = 5.0,
        event_type: str | None = None,
        organization_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Block until ``count`` successful deliveries (optionally of one event type / org)
        exist; returns all that match. Raises ``TimeoutError`` otherwise."""
        return self._dispatcher.wait_for(
            count, timeout=timeout, event_type=event_type, organization_id=organization_id
        )

    def add_contact(
        self,
        organization_id: str,
        name: str,
        emails: Sequence[str] = (),
        phones: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Add a contact to the org's address book (used to fill webhook ``contacts``; its
        E.164 ``phones`` fill the ``contact`` of text and incoming-call webhooks)."""
        return self._store.run(
            matching.add_contact, organization_id, name, list(emails), list(phones)
        )

    # -- phone and the outside world -----------------------------------------------

    def inject_text(
        self,
        to_number: str,
        from_number: str,
        text: str | None = None,
        media: Sequence[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A text from the outside world (``from_number``) to the emulator number ``to_number``.

        ``media`` are ``{"content_type", "content_base64"}`` dicts (the text becomes an MMS
        whose items are served at signed URLs). ``START``/``STOP`` update the org's opt-in
        registry (``source=sms``). Contact rules apply (a blocked text is stored with
        ``is_blocked=true`` and fires nothing); otherwise ``text.received`` fires. Returns
        the stored TextMessage. Raises the emulator's ``ApiError`` (422 bad input, 404 when
        ``to_number`` is not an active emulator number).
        """
        items = texts.parse_media(None if media is None else [dict(m) for m in media])
        return self._store.run(texts.inject_text, to_number, from_number, text, items)

    def set_text_outcome(
        self,
        recipient_number: str,
        outcome: str,
        error_code: str | None = None,
        error_detail: str | None = None,
    ) -> None:
        """Make later texts to ``recipient_number`` end ``delivered``, ``delivery_failed``
        (``error_code``/``error_detail``, default ``30007``/``Message filtered by carrier``)
        or ``delivery_unconfirmed`` (``delivered`` removes the override)."""
        self._store.run(texts.set_text_outcome, recipient_number, outcome, error_code, error_detail)

    def set_customer_campaign(self, organization_id: str, enabled: bool = True) -> None:
        """Give the org its own 10DLC campaign (opt-in writes are then allowed) or take it away."""
        self._store.run(sms_opt_ins.set_customer_campaign, organization_id, enabled)

    def mark_sms_ready(self, phone_number_id: str) -> dict[str, Any]:
        """End a number's 10DLC warm-up now; returns the PhoneNumber."""
        return self._store.run(phone_numbers.mark_sms_ready, phone_number_id)

    def inject_call(self, to_number: str, from_number: str) -> dict[str, Any]:
        """A call from the outside world to the emulator number ``to_number``, routed by its
        ``incoming_call_action`` (for ``webhook``: after the synchronous POST got its reply
        or timed out). Returns the PhoneCall plus ``routing``: ``action``, ``outcome``
        (``answered``, ``rejected``, ``declined`` or ``blocked``) and, for webhooks,
        ``webhook_status`` and ``reply_action`` or ``reason``."""
        return route_inbound_call(self._store, self._dispatcher, to_number, from_number)

    def append_transcript(self, call_id: str, party: str, text: str) -> dict[str, Any]:
        """Append the next transcript segment (``party`` ``local``/``remote``/``system``) to a
        call; returns the PhoneTranscript."""
        return self._store.run(calls.append_transcript, call_id, party, text)

    def sent_texts(self, organization_id: str | None = None) -> list[dict[str, Any]]:
        """Texts the outside world received, oldest first: ``id``, ``organization_id``,
        ``phone_number_id``, ``from_number``, ``to_number``, ``text``, ``type``, ``media``,
        ``delivery_status``, ``error_code``, ``error_detail``, ``created_at``,
        ``updated_at``."""
        return self._store.run(texts.list_sent_texts, organization_id)

    def inject_fault(
        self,
        method: str = "POST",
        path: str = "/api/v1/mail/mailboxes/*/messages",
        kind: str = "status",
        count: int = 1,
        status: int = 503,
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> str:
        """Make the next ``count`` matching public requests fail; returns the fault id.

        ``kind``: ``"status"`` (answer ``status`` with optional ``Retry-After``),
        ``"delay"`` (wait ``delay`` s first), ``"drop_before"`` (close the connection,
        nothing processed), ``"drop_after"`` (process, then close without answering).
        ``path`` is a glob (``*`` within a segment, ``**`` across) or a regex starting
        with ``^``; ``method`` ``"*"`` matches any.
        """
        return self._faults.add(method, path, kind, count, status, retry_after, delay)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    # -- tunnels -------------------------------------------------------------------------

    @property
    def tunnel_zone(self) -> str:
        """The data-plane zone: public hosts are ``{tunnel_name}.{zone}``."""
        return self._store.settings.tunnel_zone

    @property
    def tunnel_edge(self) -> str:
        """``127.0.0.1:PORT`` of the edge's TLS listener, the address agents dial (SNI = the
        zone, ALPN ``h2``); its certificate chains to :attr:`tunnel_ca_pem`."""
        return self._edge.edge_address

    @property
    def tunnel_public_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the plain-HTTP public listener: send third-party
        requests there with ``Host: {tunnel_name}.{zone}``."""
        return self._edge.public_url

    @property
    def tunnel_ca_pem(self) -> bytes:
        """The PEM of the emulator's test CA (edge certificate and signed CSRs chain to it)."""
        return self._edge.ca.ca_pem

    @property
    def tunnel_ca_file(self) -> str:
        """Path of a temporary file holding :attr:`tunnel_ca_pem` (e.g. for ``SSL_CERT_FILE``)."""
        return self._edge.ca.ca_file

    def wait_for_tunnel(self, name: str, timeout: float = 10.0) -> None:
        """Block until an agent connection of tunnel ``name`` said hello and parked at least
        one intake (draining and superseded connections do not count). Raises
        ``TimeoutError``."""
        self._edge.wait_for_tunnel(name, timeout)

    async def wait_for_tunnel_async(self, name: str, timeout: float = 10.0) -> None:
        """:meth:`wait_for_tunnel` without blocking the event loop (asyncio or trio)."""
        await anyio.to_thread.run_sync(self._edge.wait_for_tunnel, name, timeout)

    def tunnel_connections(self, name: str) -> list[dict[str, Any]]:
        """The live agent connections of tunnel ``name``, oldest first: ``tunnel_id``,
        ``tunnel_name``, ``peer`` (``ip:port``), ``pool_size``, ``parked_intakes``,
        ``draining``, ``superseded``, ``hello_count``. Raises ``LookupError`` for an unknown
        tunnel."""
        return self._edge.connections(name)

    def drain_tunnel(self, name: str) -> int:
        """Send GOAWAY(NO_ERROR) to the tunnel's live connection and mark it draining: new
        requests wait for a replacement connection; the old one still takes replies and keeps
        its open bridges. Returns the number of connections drained."""
        return self._edge.drain(name)

    def inject_tunnel_fault(
        self, kind: str, *, name: str | None = None, count: int | None = None, **params: Any
    ) -> str:
        """Make the edge misbehave; returns the fault id.

        Standing faults (``count`` uses, ``None`` = until :meth:`clear_tunnel_faults`), for
        tunnel ``name`` or every tunnel: ``hello_status`` (``status``, ``body``),
        ``hello_stall``, ``withhold_ping_acks``, ``slow_response`` (``delay``),
        ``intake_status`` (``status``, ``reason``), ``malformed_envelope``
        (``request_id``), ``bridge_refuse`` (``status``).
        Immediate actions on the current connections: ``drop_connection``, ``goaway``
        (``error_code``, ``debug_data``). Bad arguments raise ``ValueError``.
        """
        return self._edge.inject_fault(kind, name=name, count=count, **params).id

    def clear_tunnel_faults(self) -> None:
        """Remove every standing tunnel-edge fault."""
        self._edge.clear_faults()
