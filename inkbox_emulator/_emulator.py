"""The :class:`Emulator` object: one store, one app, one server thread."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import anyio.to_thread

from . import _accounts, _signup
from ._app import build_app
from ._recording import RecordedRequest
from ._server import ServerThread
from ._store import Settings, Store

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
    """

    def __init__(
        self,
        db: str = ":memory:",
        host: str = "127.0.0.1",
        port: int = 0,
        mail_domain: str = "inkboxmail.com",
        tunnel_zone: str = "inkboxwire.com",
    ) -> None:
        self.host = host
        self.port = port
        self._store = Store(db, Settings(mail_domain=mail_domain, tunnel_zone=tunnel_zone))
        self._app = build_app(self._store)
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
        return self

    def stop(self) -> None:
        """Stop serving (state is kept; :meth:`start` serves it again, on a new free port
        when ``port`` was 0)."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def close(self) -> None:
        """Stop serving and close the database."""
        self.stop()
        if not self._closed:
            self._closed = True
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
        org_id, key = self._store.run(_accounts.create_org, name)
        return OrgCredentials(organization_id=org_id, api_key=key)

    def create_human_session(
        self, organization_id: str, email: str = "owner@example.com", name: str | None = "Owner"
    ) -> str:
        """A console (JWT-shaped) credential for a human admin of the org, used as ``X-API-Key``."""
        return self._store.run(_accounts.create_human_session, organization_id, email, name)

    def add_sending_domain(
        self,
        organization_id: str,
        domain: str,
        status: str = "verified",
        is_default: bool = False,
    ) -> dict[str, Any]:
        """Register a custom sending domain of the org; returns the Domain record."""
        return self._store.run(
            _accounts.add_sending_domain, organization_id, domain, status, is_default
        )

    def signing_key(self, organization_id: str) -> str | None:
        """The org's current webhook signing key (``whsec_…``), or ``None`` before one exists."""
        return self._store.run(_accounts.current_signing_key, organization_id)

    def reset(self) -> None:
        """Wipe all state: every row, the request log and the clock offset."""
        self._store.reset()

    def signups(self) -> list[dict[str, Any]]:
        """Every agent signup: agent_handle, human_email, organization_id,
        verification_code, claim_status, api_key_id."""
        return self._store.run(_signup.list_signups)

    def signup_code(self, agent_handle: str) -> str:
        """The current 6-digit verification code of a signup."""
        return self._store.run(_signup.signup_code, agent_handle)

    def approve_signup(self, agent_handle: str) -> dict[str, Any]:
        """Approve a signup as its human would in the console: it becomes claimed."""
        return self._store.run(_signup.approve, agent_handle)

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
