"""The emulator's state: one SQLite database behind one lock.

Every operation runs through :meth:`Store.run`, which takes the lock, opens a
transaction (``BEGIN IMMEDIATE``), calls the operation with a :class:`Db`
handle and commits, or rolls back if the operation raised, so a failed request
never leaves half-written rows. The HTTP handlers and the Python API both call
the same operations.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

__all__ = ["SCHEMA", "Db", "Settings", "Store"]

P = ParamSpec("P")
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    owner_user_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS human_sessions (
    token_hash TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    user_id TEXT NOT NULL,
    email TEXT,
    name TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    secret_hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    creator_type TEXT NOT NULL,
    scoped_identity_id TEXT,
    label TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    last4 TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    last_used_at REAL,
    expires_at REAL,
    revoked_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS identities (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    agent_handle TEXT NOT NULL,
    display_name TEXT,
    description TEXT,
    email_address TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS identities_live_handle
    ON identities(agent_handle) WHERE status != 'deleted';
CREATE TABLE IF NOT EXISTS mailboxes (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    agent_identity_id TEXT REFERENCES identities(id),
    email_address TEXT NOT NULL,
    sending_domain TEXT NOT NULL,
    webhook_url TEXT,
    filter_mode TEXT NOT NULL DEFAULT 'blacklist',
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS mailboxes_live_address
    ON mailboxes(email_address) WHERE status != 'deleted';
CREATE TABLE IF NOT EXISTS tunnels (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    agent_identity_id TEXT REFERENCES identities(id),
    tunnel_name TEXT NOT NULL,
    tls_mode TEXT NOT NULL,
    status TEXT NOT NULL,
    public_host TEXT NOT NULL,
    zone TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    cert_pem TEXT,
    cert_fingerprint_sha256 TEXT,
    cert_expires_at REAL,
    last_connected_at REAL,
    last_connected_ip_addr TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS tunnels_live_name
    ON tunnels(tunnel_name) WHERE status != 'deleted';
CREATE TABLE IF NOT EXISTS phone_numbers (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    agent_identity_id TEXT REFERENCES identities(id),
    number TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    sms_status TEXT NOT NULL,
    sms_ready_at REAL,
    incoming_call_action TEXT NOT NULL,
    client_websocket_url TEXT,
    incoming_call_webhook_url TEXT,
    incoming_text_webhook_url TEXT,
    filter_mode TEXT NOT NULL DEFAULT 'blacklist',
    state TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    released_at REAL,
    forwarding_target_type TEXT,
    forwarding_phone_number TEXT,
    forwarding_sip_uri TEXT
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    organization_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    status INTEGER,
    body BLOB,
    created_at REAL NOT NULL,
    PRIMARY KEY (organization_id, scope, key)
);
CREATE TABLE IF NOT EXISTS identity_access (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    target_identity_id TEXT NOT NULL REFERENCES identities(id),
    viewer_identity_id TEXT REFERENCES identities(id),
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sending_domains (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    domain TEXT NOT NULL,
    status TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    verified_at REAL,
    created_at REAL NOT NULL,
    UNIQUE (organization_id, domain)
);
CREATE TABLE IF NOT EXISTS signing_keys (
    organization_id TEXT PRIMARY KEY REFERENCES orgs(id),
    secret TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS mail_threads (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id),
    subject TEXT,
    folder TEXT NOT NULL DEFAULT 'inbox',
    last_message_at REAL NOT NULL,
    created_at REAL NOT NULL,
    deleted_at REAL
);
CREATE INDEX IF NOT EXISTS mail_threads_mailbox ON mail_threads(mailbox_id, last_message_at);
CREATE TABLE IF NOT EXISTS mail_messages (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id),
    thread_id TEXT NOT NULL REFERENCES mail_threads(id),
    message_id TEXT NOT NULL,
    from_address TEXT NOT NULL,
    to_addresses TEXT NOT NULL,
    cc_addresses TEXT,
    bcc_addresses TEXT,
    reply_to TEXT,
    subject TEXT,
    body_text TEXT,
    body_html TEXT,
    snippet TEXT,
    attachment_count INTEGER NOT NULL DEFAULT 0,
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    is_read INTEGER NOT NULL,
    is_starred INTEGER NOT NULL DEFAULT 0,
    in_reply_to TEXT,
    "references" TEXT,
    ses_message_id TEXT,
    track_opens INTEGER NOT NULL DEFAULT 0,
    first_opened_at REAL,
    open_count INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL
);
CREATE INDEX IF NOT EXISTS mail_messages_mailbox ON mail_messages(mailbox_id, created_at);
CREATE INDEX IF NOT EXISTS mail_messages_rfc ON mail_messages(mailbox_id, message_id);
CREATE TABLE IF NOT EXISTS mail_attachments (
    id TEXT PRIMARY KEY,
    message_row_id TEXT NOT NULL REFERENCES mail_messages(id),
    position INTEGER NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    content BLOB NOT NULL,
    content_id TEXT
);
CREATE INDEX IF NOT EXISTS mail_attachments_message ON mail_attachments(message_row_id);
CREATE TABLE IF NOT EXISTS mail_rules (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    agent_identity_id TEXT NOT NULL REFERENCES identities(id),
    direction TEXT NOT NULL DEFAULT 'both',
    action TEXT NOT NULL,
    match_type TEXT NOT NULL,
    match_target TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL
);
CREATE TABLE IF NOT EXISTS mail_outbox (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id),
    message_row_id TEXT NOT NULL REFERENCES mail_messages(id),
    recipients TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS delivery_outcomes (
    pattern TEXT PRIMARY KEY,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    emails TEXT NOT NULL,
    phones TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    card TEXT NOT NULL DEFAULT '{}',
    meta TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'active'
);
CREATE TABLE IF NOT EXISTS contact_access (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    identity_id TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_access_contact ON contact_access(contact_id);
CREATE TABLE IF NOT EXISTS notes (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    created_by TEXT NOT NULL,
    title TEXT,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS note_access (
    id TEXT PRIMARY KEY,
    note_id TEXT NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    identity_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (note_id, identity_id)
);
CREATE TABLE IF NOT EXISTS signups (
    identity_id TEXT PRIMARY KEY REFERENCES identities(id),
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    agent_handle TEXT NOT NULL,
    api_key_id TEXT NOT NULL,
    human_email TEXT NOT NULL,
    note_to_human TEXT NOT NULL,
    verification_code TEXT NOT NULL,
    code_issued_at REAL NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    claim_status TEXT NOT NULL,
    claimed_at REAL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS vaults (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL UNIQUE REFERENCES orgs(id),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS vault_keys (
    vault_id TEXT NOT NULL REFERENCES vaults(id),
    id TEXT NOT NULL,
    key_type TEXT NOT NULL,
    wrapped_org_encryption_key TEXT NOT NULL,
    auth_hash TEXT NOT NULL,
    created_by TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (vault_id, id),
    UNIQUE (vault_id, auth_hash)
);
CREATE TABLE IF NOT EXISTS vault_secrets (
    vault_id TEXT NOT NULL REFERENCES vaults(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    secret_type TEXT NOT NULL,
    encrypted_payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (vault_id, id)
);
CREATE INDEX IF NOT EXISTS vault_secrets_vault ON vault_secrets(vault_id, created_at);
CREATE TABLE IF NOT EXISTS vault_access_rules (
    id TEXT PRIMARY KEY,
    vault_id TEXT NOT NULL,
    vault_secret_id TEXT NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities(id),
    created_at REAL NOT NULL,
    UNIQUE (vault_id, vault_secret_id, identity_id),
    FOREIGN KEY (vault_id, vault_secret_id) REFERENCES vault_secrets(vault_id, id)
);
CREATE INDEX IF NOT EXISTS vault_access_rules_identity ON vault_access_rules(identity_id);
CREATE TABLE IF NOT EXISTS phone_rules (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    agent_identity_id TEXT NOT NULL REFERENCES identities(id),
    direction TEXT NOT NULL DEFAULT 'both',
    action TEXT NOT NULL,
    match_type TEXT NOT NULL,
    match_target TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL
);
CREATE TABLE IF NOT EXISTS phone_calls (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    phone_number_id TEXT NOT NULL REFERENCES phone_numbers(id),
    local_phone_number TEXT NOT NULL,
    remote_phone_number TEXT NOT NULL,
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    client_websocket_url TEXT,
    hangup_reason TEXT,
    is_blocked INTEGER NOT NULL DEFAULT 0,
    routing TEXT NOT NULL DEFAULT '{}',
    started_at REAL,
    ended_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS phone_calls_number ON phone_calls(phone_number_id, created_at);
CREATE TABLE IF NOT EXISTS phone_transcripts (
    id TEXT PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES phone_calls(id),
    seq INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    party TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (call_id, seq)
);
CREATE TABLE IF NOT EXISTS text_messages (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    phone_number_id TEXT NOT NULL REFERENCES phone_numbers(id),
    direction TEXT NOT NULL,
    local_phone_number TEXT NOT NULL,
    remote_phone_number TEXT NOT NULL,
    text TEXT,
    type TEXT NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0,
    delivery_status TEXT,
    origin TEXT NOT NULL DEFAULT 'user_initiated',
    outcome TEXT,
    error_code TEXT,
    error_detail TEXT,
    sent_at REAL,
    delivered_at REAL,
    failed_at REAL,
    is_blocked INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL,
    media_urls TEXT
);
CREATE INDEX IF NOT EXISTS text_messages_number ON text_messages(phone_number_id, created_at);
CREATE TABLE IF NOT EXISTS text_media (
    id TEXT PRIMARY KEY,
    text_id TEXT NOT NULL REFERENCES text_messages(id),
    position INTEGER NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS text_outcomes (
    recipient_number TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    error_code TEXT,
    error_detail TEXT
);
CREATE TABLE IF NOT EXISTS sms_opt_ins (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    receiver_number TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    opted_in_at REAL,
    opted_out_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (organization_id, receiver_number)
);
CREATE TABLE IF NOT EXISTS sms_campaigns (
    organization_id TEXT PRIMARY KEY REFERENCES orgs(id),
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_signing_keys (
    agent_identity_id TEXT PRIMARY KEY REFERENCES identities(id),
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    secret TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    agent_identity_id TEXT,
    mailbox_id TEXT,
    phone_number_id TEXT,
    owner_identity_id TEXT,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    context_config TEXT,
    auth_token TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_delivery_log (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES orgs(id),
    webhook_subscription_id TEXT,
    phone_number_id TEXT,
    owner_identity_id TEXT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    url TEXT NOT NULL,
    request_payload TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    error_detail TEXT,
    duration_ms INTEGER,
    is_replay INTEGER NOT NULL,
    replayable INTEGER NOT NULL,
    replay_unavailable_reason TEXT,
    created_at REAL NOT NULL
);
"""

TABLES = (
    "webhook_delivery_log",
    "webhook_subscriptions",
    "identity_signing_keys",
    "idempotency_keys",
    "sms_campaigns",
    "sms_opt_ins",
    "text_outcomes",
    "text_media",
    "text_messages",
    "phone_transcripts",
    "phone_calls",
    "phone_rules",
    "vault_access_rules",
    "vault_secrets",
    "vault_keys",
    "vaults",
    "note_access",
    "notes",
    "contact_access",
    "contacts",
    "delivery_outcomes",
    "mail_outbox",
    "mail_rules",
    "mail_attachments",
    "mail_messages",
    "mail_threads",
    "signups",
    "signing_keys",
    "identity_access",
    "phone_numbers",
    "tunnels",
    "mailboxes",
    "sending_domains",
    "api_keys",
    "identities",
    "human_sessions",
    "orgs",
)


@dataclass(frozen=True)
class Settings:
    """Deployment constants of one emulator."""

    mail_domain: str = "inkboxmail.com"
    tunnel_zone: str = "inkboxwire.com"
    attachment_url_ttl: int = 3600
    """Lifetime (emulator-clock seconds) of a signed attachment URL."""
    sms_ready_delay: float = 1.0
    """Emulator-clock seconds a new local number stays ``sms_status=pending`` (10DLC warm-up)."""
    text_status_delay: float = 0.05
    """Wall-clock seconds between two delivery-status transitions of an outbound text."""
    call_status_delay: float = 0.05
    """Wall-clock seconds between two status transitions of a call."""
    call_webhook_timeout: float = 5.0
    """Seconds the emulator waits for the reply to an incoming-call webhook."""
    call_capacity: int | None = None
    """Live calls the whole emulator carries at once (``None``: unlimited); one more
    answers 503 ``call_capacity_busy`` with ``Retry-After``."""
    org_signing_keys_sunset: float | None = 1788220800.0
    """Emulator-clock epoch from which ``POST /api/v1/signing-keys`` answers 410 (the service
    retired it after 2026-08-31); ``None`` keeps the deprecated route answering."""
    legacy_rules_until: float = 1788134400.0
    """Emulator-clock time (2026-08-31T00:00:00Z, their sunset) from which the per-mailbox
    and per-number contact-rule routes answer 410."""
    files_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    """Per-emulator HMAC key of the signed attachment URLs."""
    connected_tunnels: Callable[[], frozenset[str]] = field(default=frozenset, repr=False)
    """Ids of the tunnels an agent is connected to right now (the edge's live view)."""


class Db:
    """The view of the database an operation gets: inside one open transaction."""

    def __init__(self, conn: sqlite3.Connection, settings: Settings, now: float) -> None:
        self.conn = conn
        self.settings = settings
        self.now = now
        """The emulator clock at the start of the operation (epoch seconds)."""
        self.events: list[Any] = []
        """Side effects (webhooks, scheduled deliveries) released only after COMMIT."""
        self.public_url = ""
        """``http://host:port`` of the running server (``""`` when not serving), for the
        absolute URLs put into webhook bodies (signed media URLs)."""

    def emit(self, event: Any) -> None:
        """Queue a side effect; it is handed to ``Store.on_commit`` once the transaction commits
        (and dropped if it rolls back)."""
        self.events.append(event)

    def one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """The first row of a query, or ``None``."""
        row: sqlite3.Row | None = self.conn.execute(sql, tuple(params)).fetchone()
        return row

    def all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Every row of a query."""
        return list(self.conn.execute(sql, tuple(params)).fetchall())

    def exec(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows changed."""
        return self.conn.execute(sql, tuple(params)).rowcount

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Insert one row given as a column → value mapping."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))


class Store:
    """Thread-safe owner of the SQLite connection, the emulator clock and the request log."""

    def __init__(
        self,
        path: str = ":memory:",
        settings: Settings | None = None,
        *,
        clock_start: float | None = None,
    ) -> None:
        self.path = path
        self.settings = settings or Settings()
        self._lock = threading.RLock()
        self._start_offset = 0.0 if clock_start is None else clock_start - time.time()
        """Where the clock starts, against the wall clock (``clock_start``: the epoch it reads)."""
        self._clock_offset = self._start_offset
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.executescript(SCHEMA)
        self._migrate()
        self.tunnels_version = 0
        """Bumped by every write to the ``tunnels`` table (whatever its path: cascades, reset
        and rolled-back writes included), so caches of tunnel rows know when to reload."""
        self._conn.create_function("inkbox_tunnels_changed", 0, self._tunnels_changed)
        for op in ("INSERT", "UPDATE", "DELETE"):
            self._conn.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS inkbox_tunnels_{op.lower()} AFTER {op} "
                "ON tunnels BEGIN SELECT inkbox_tunnels_changed(); END"
            )
        self.credentials_version = 0
        """Bumped by every write that can take an API key's rights away (its deletion or a
        change of its secret, status, expiry, org or identity), so caches of successful
        authentications know when to check again."""
        self._conn.create_function("inkbox_credentials_changed", 0, self._credentials_changed)
        watched = "secret_hash, status, expires_at, organization_id, scoped_identity_id"
        for name, event in (("update", f"UPDATE OF {watched}"), ("delete", "DELETE")):
            self._conn.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS inkbox_api_keys_{name} AFTER {event} "
                "ON api_keys BEGIN SELECT inkbox_credentials_changed(); END"
            )
        self.requests: list[Any] = []
        """Recorded requests (guarded by the same lock; see ``core.recording``)."""
        self.on_commit: Callable[[list[Any]], None] | None = None
        """Receives the events an operation emitted, after its transaction committed."""
        self.public_url = ""
        """Base URL of the running server, handed to every operation as ``Db.public_url``."""

    def _migrate(self) -> None:
        """Bring a database file written by an older emulator up to the current schema."""
        columns = {str(r[1]) for r in self._conn.execute("PRAGMA table_info(contacts)")}
        if "phones" not in columns:
            self._conn.execute("ALTER TABLE contacts ADD COLUMN phones TEXT NOT NULL DEFAULT '[]'")
        if "card" not in columns:
            # Contacts seeded before the address book: visible to every identity.
            for column in ("card TEXT NOT NULL DEFAULT '{}'", "meta TEXT NOT NULL DEFAULT '{}'"):
                self._conn.execute(f"ALTER TABLE contacts ADD COLUMN {column}")
            self._conn.execute(
                "ALTER TABLE contacts ADD COLUMN status TEXT NOT NULL DEFAULT 'active'"
            )
            self._conn.execute(
                "INSERT INTO contact_access (id, contact_id, identity_id, created_at) "
                "SELECT lower(hex(randomblob(16))), id, NULL, created_at FROM contacts"
            )
        self._migrate_phone_and_rules()
        for table in ("identities", "mailboxes"):
            columns = {str(r[1]) for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if "settings" not in columns:
                self._conn.execute(
                    f"ALTER TABLE {table} ADD COLUMN settings TEXT NOT NULL DEFAULT '{{}}'"
                )

    def _migrate_phone_and_rules(self) -> None:
        """Forwarding columns on numbers; contact rules keyed by identity (with a direction)."""
        columns = {str(r[1]) for r in self._conn.execute("PRAGMA table_info(phone_numbers)")}
        for column in ("forwarding_target_type", "forwarding_phone_number", "forwarding_sip_uri"):
            if column not in columns:
                self._conn.execute(f"ALTER TABLE phone_numbers ADD COLUMN {column} TEXT")
        columns = {str(r[1]) for r in self._conn.execute("PRAGMA table_info(text_messages)")}
        if "media_urls" not in columns:
            self._conn.execute("ALTER TABLE text_messages ADD COLUMN media_urls TEXT")
        columns = {str(r[1]) for r in self._conn.execute("PRAGMA table_info(mail_messages)")}
        if "track_opens" not in columns:
            for column in (
                "track_opens INTEGER NOT NULL DEFAULT 0",
                "first_opened_at REAL",
                "open_count INTEGER NOT NULL DEFAULT 0",
            ):
                self._conn.execute(f"ALTER TABLE mail_messages ADD COLUMN {column}")
            self._conn.execute("ALTER TABLE mail_attachments ADD COLUMN content_id TEXT")
        for table, owner, owners in (
            ("mail_rules", "mailbox_id", "mailboxes"),
            ("phone_rules", "phone_number_id", "phone_numbers"),
        ):
            columns = {str(r[1]) for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if "agent_identity_id" in columns:
                continue
            # Rules written per mailbox / number move to the identity that owns it.
            self._conn.execute(f"ALTER TABLE {table} RENAME TO {table}_per_{owner}")
            self._conn.executescript(SCHEMA)
            self._conn.execute(
                f"INSERT INTO {table} (id, organization_id, agent_identity_id, direction, action, "
                "match_type, match_target, status, created_at, updated_at, deleted_at) "
                "SELECT r.id, r.organization_id, o.agent_identity_id, 'both', r.action, "
                "r.match_type, r.match_target, r.status, r.created_at, r.updated_at, r.deleted_at "
                f"FROM {table}_per_{owner} r JOIN {owners} o ON o.id = r.{owner} "
                "WHERE o.agent_identity_id IS NOT NULL"
            )
            self._conn.execute(f"DROP TABLE {table}_per_{owner}")

    def _tunnels_changed(self) -> None:
        self.tunnels_version += 1

    def _credentials_changed(self) -> None:
        self.credentials_version += 1

    @property
    def lock(self) -> threading.RLock:
        """The single lock guarding the database, the clock and the request log."""
        return self._lock

    def now(self) -> float:
        """The emulator clock: wall-clock time plus every :meth:`advance_clock`."""
        with self._lock:
            return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator clock forward; returns the new time."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._clock_offset += seconds
            return time.time() + self._clock_offset

    def run(self, op: Callable[Concatenate[Db, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``op(db, *args, **kwargs)`` in one transaction, under the lock."""
        with self._lock:
            db = Db(self._conn, self.settings, time.time() + self._clock_offset)
            db.public_url = self.public_url
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = op(db, *args, **kwargs)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            if db.events and self.on_commit is not None:
                self.on_commit(db.events)
            return result

    def reset(self) -> None:
        """Delete every row, clear the request log and set the clock back to its start."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for table in TABLES:
                    self._conn.execute(f"DELETE FROM {table}")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self.requests.clear()
            self._clock_offset = self._start_offset

    def row_counts(self) -> dict[str, int]:
        """Number of rows per table (diagnostics for tests)."""
        with self._lock:
            return {
                t: int(self._conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
                for t in TABLES
            }

    def dump(self) -> str:
        """An SQL text dump of the whole database (``sqlite3`` ``iterdump``), taken under
        the lock so it is a consistent snapshot. Blobs appear as ``X'…'`` hex literals and
        text columns exactly as stored."""
        with self._lock:
            return "\n".join(self._conn.iterdump()) + "\n"

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
