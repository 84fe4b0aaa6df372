"""What the ``inkbox-emulator`` command keeps between runs on one database.

With ``--state-dir DIR`` everything lives in DIR: ``emulator.sqlite3`` (unless ``--db``
names another file), ``tunnel-ca.pem`` / ``tunnel-ca.key`` (the tunnel test CA) and
``cli-state.json`` (the org id, its admin key and the edge ports of the last run, mode
0600). With only ``--db FILE`` the same files sit beside it: ``FILE.tunnel-ca.pem``,
``FILE.tunnel-ca.key``, ``FILE.cli-state.json``. An in-memory run keeps nothing. This module
never imports the emulator's server, so the CLI can check paths without the extra.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import uuid
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "CliState",
    "StatePaths",
    "UsageProblem",
    "check_port",
    "load_state",
    "resolve_paths",
    "save_state",
]

DB_NAME = "emulator.sqlite3"


class UsageProblem(Exception):
    """A one-line reason the command cannot start (printed as is) and its exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StatePaths:
    """Where one run's database and kept state live (``state`` None: nothing is kept)."""

    db: str
    state: str | None = None
    ca: str | None = None


@dataclass(frozen=True)
class CliState:
    """The org and edge ports of the last run."""

    organization_id: str
    api_key: str
    edge_port: int | None = None
    public_port: int | None = None

    def __repr__(self) -> str:
        return f"CliState(organization_id={self.organization_id!r}, api_key='…')"


def _writable_dir(path: str, what: str) -> None:
    if not os.path.isdir(path):
        raise UsageProblem(f"{what}: directory {path} does not exist")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageProblem(f"{what}: directory {path} is not writable")


def _check_db(db: str, what: str) -> None:
    if os.path.isdir(db):
        raise UsageProblem(f"{what} {db} is a directory, not a database file")
    _writable_dir(os.path.dirname(os.path.abspath(db)), f"{what} {db}")
    if os.path.exists(db) and not os.access(db, os.R_OK | os.W_OK):
        raise UsageProblem(f"{what} {db}: the file is not readable and writable")


def resolve_paths(db: str | None, state_dir: str | None) -> StatePaths:
    """The paths of a run, checked (a missing ``state_dir`` is created, mode 0700).
    Raises :class:`UsageProblem`."""
    if db is not None and db != ":memory:":
        db = os.path.abspath(db)
    if state_dir is not None:
        state_dir = os.path.abspath(state_dir)
        if os.path.exists(state_dir) and not os.path.isdir(state_dir):
            raise UsageProblem(f"--state-dir {state_dir} is a file, not a directory")
        if not os.path.exists(state_dir):
            parent = os.path.dirname(os.path.abspath(state_dir))
            _writable_dir(parent, f"--state-dir {state_dir}")
            try:
                os.mkdir(state_dir, 0o700)
            except OSError as exc:
                raise UsageProblem(f"--state-dir {state_dir}: {exc.strerror}") from None
        _writable_dir(state_dir, "--state-dir")
        db_path = os.path.join(state_dir, DB_NAME) if db is None else db
        if db_path != ":memory:":
            _check_db(db_path, "--db" if db is not None else "--state-dir database")
        return StatePaths(
            db=db_path,
            state=os.path.join(state_dir, "cli-state.json"),
            ca=os.path.join(state_dir, "tunnel-ca.pem"),
        )
    if db is None or db == ":memory:":
        return StatePaths(db=":memory:")
    _check_db(db, "--db")
    return StatePaths(db=db, state=f"{db}.cli-state.json", ca=f"{db}.tunnel-ca.pem")


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and 0 < value < 65536 else None


def load_state(path: str) -> CliState | None:
    """The state of the last run; None when there is none or it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    org, key = data.get("organization_id"), data.get("api_key")
    if not isinstance(org, str) or not isinstance(key, str):
        return None
    return CliState(org, key, _port(data.get("edge_port")), _port(data.get("public_port")))


def save_state(path: str, state: CliState) -> None:
    """Write the state (mode 0600), replacing the old file at once."""
    partial = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            json.dump(asdict(state), handle, indent=2)
            handle.write("\n")
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def check_port(host: str, port: int, option: str) -> None:
    """Raise :class:`UsageProblem` when ``host:port`` cannot be listened on right now."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageProblem(
                f"port {port} on {host} ({option}) is already in use, perhaps by another "
                f"emulator; stop it or pass another {option} (0 = any free port)",
                1,
            ) from None
        reason = exc.strerror or str(exc)
        raise UsageProblem(f"cannot listen on {host}:{port} ({option}): {reason}", 1) from None
