"""The ``inkbox-emulator`` command as a user runs it: a subprocess, its printed lines, restarts
on the same database, and one-line errors."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
INSTALL = 'pip install "inkbox-sdk[emulator]"'


class Run:
    """One running ``python -m inkbox_emulator``: its ``KEY=value`` lines and comments."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inkbox_emulator", "--port", "0", *args],
            cwd=REPO,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        self._pumping = threading.Thread(target=self._pump, args=(lines,), daemon=True)
        self._pumping.start()
        self.values: dict[str, str] = {}
        self.comments: list[str] = []
        deadline = time.monotonic() + 30
        while not any(c.startswith("# organization") for c in self.comments):
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"the emulator exited: {self.stop()}")
            if line.startswith("#"):
                self.comments.append(line)
            else:
                key, _, value = line.partition("=")
                self.values[key] = value

    def _pump(self, lines: queue.Queue[str | None]) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                lines.put(line.rstrip("\n"))
        lines.put(None)

    @property
    def organization_id(self) -> str:
        comment = next(c for c in self.comments if c.startswith("# organization"))
        return comment.split()[2].rstrip(";")

    def client(self) -> httpx2.Client:
        return httpx2.Client(
            base_url=self.values["INKBOX_BASE_URL"],
            headers={"X-API-Key": self.values["INKBOX_API_KEY"]},
            timeout=10,
        )

    def stop(self) -> str:
        """Ctrl-C; returns stderr after checking a clean exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        assert self.proc.stderr is not None
        with self.proc.stderr:
            err = self.proc.stderr.read()
        self._pumping.join(5)
        assert self.proc.returncode == 0, err
        return err


def fails(*args: str, port: str = "0") -> tuple[int, str]:
    """Run the command expecting it to stop at once; ``(exit code, stderr)``."""
    done = subprocess.run(
        [sys.executable, "-m", "inkbox_emulator", "--port", port, *args],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout == ""
    return done.returncode, done.stderr


def assert_one_line(stderr: str, *parts: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("inkbox-emulator: ")
    for part in parts:
        assert part in lines[0], (part, lines[0])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def free_ports(count: int) -> list[str]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [str(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def test_a_restart_on_the_same_state_dir_is_the_same_world(tmp_path: Path) -> None:
    state = tmp_path / "world"
    edge, public = free_ports(2)
    args = ("--state-dir", str(state), "--edge-port", edge, "--public-port", public)
    first = Run(*args)
    handle = f"support-bot-{uuid.uuid4().hex[:6]}"
    try:
        with first.client() as admin:
            created = admin.post("/api/v1/identities/", json={"agent_handle": handle})
            assert created.status_code == 201, created.text
        ca_before = Path(first.values["INKBOX_TUNNEL_CA"]).read_bytes()
    finally:
        first.stop()
    second = Run(*args)
    try:
        assert second.organization_id == first.organization_id
        tunnel_lines = {k: v for k, v in second.values.items() if k != "INKBOX_BASE_URL"}
        assert tunnel_lines == {k: v for k, v in first.values.items() if k != "INKBOX_BASE_URL"}
        assert second.values["INKBOX_TUNNEL_EDGE"] == f"127.0.0.1:{edge}"
        assert second.values["INKBOX_TUNNEL_PUBLIC_URL"] == f"http://127.0.0.1:{public}"
        assert Path(second.values["INKBOX_TUNNEL_CA"]).read_bytes() == ca_before
        with second.client() as admin:
            got = admin.get(f"/api/v1/identities/{handle}")
            assert got.status_code == 200, got.text
            assert got.json()["id"] == created.json()["id"]
            whoami = admin.get("/api/whoami").json()
            assert whoami["organization_id"] == first.organization_id
    finally:
        second.stop()
    assert Path(second.values["INKBOX_TUNNEL_CA"]).parent == state
    for secret in ("cli-state.json", "tunnel-ca.key"):
        assert stat.S_IMODE((state / secret).stat().st_mode) == 0o600
    assert (state / "emulator.sqlite3").exists()


def test_a_restart_on_the_same_db_keeps_the_org_and_the_last_ports(tmp_path: Path) -> None:
    db = tmp_path / "inkbox.sqlite3"
    first = Run("--db", str(db))
    first.stop()
    second = Run("--db", str(db))
    second.stop()
    assert second.organization_id == first.organization_id
    for key in ("INKBOX_API_KEY", "INKBOX_TUNNEL_EDGE", "INKBOX_TUNNEL_PUBLIC_URL"):
        assert second.values[key] == first.values[key], key
    assert second.values["INKBOX_TUNNEL_CA"] == f"{db}.tunnel-ca.pem"
    assert sorted(p.name for p in tmp_path.iterdir() if "sqlite3." in p.name) == [
        "inkbox.sqlite3.cli-state.json",
        "inkbox.sqlite3.tunnel-ca.key",
        "inkbox.sqlite3.tunnel-ca.pem",
    ]


def test_an_unknown_saved_key_is_replaced_in_the_same_org(tmp_path: Path) -> None:
    first = Run("--state-dir", str(tmp_path))
    first.stop()
    saved = tmp_path / "cli-state.json"
    state = json.loads(saved.read_text())
    state["api_key"] = state["api_key"][:-6] + "xxxxxx"
    saved.write_text(json.dumps(state))
    second = Run("--state-dir", str(tmp_path))
    try:
        assert second.organization_id == first.organization_id
        assert second.values["INKBOX_API_KEY"] not in (
            first.values["INKBOX_API_KEY"],
            state["api_key"],
        )
        with second.client() as admin:
            assert admin.get("/api/whoami").json()["organization_id"] == first.organization_id
    finally:
        second.stop()
    assert json.loads(saved.read_text())["api_key"] == second.values["INKBOX_API_KEY"]


def test_a_port_in_use_is_one_line(busy_port: int) -> None:
    code, err = fails(port=str(busy_port))
    assert code == 1
    assert_one_line(err, f"port {busy_port}", "--port", "in use")
    code, err = fails("--edge-port", str(busy_port))
    assert code == 1
    assert_one_line(err, f"port {busy_port}", "--edge-port", "in use")


def test_bad_database_and_state_paths_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "inkbox.sqlite3"
    code, err = fails("--db", str(missing))
    assert code == 2
    assert_one_line(err, "--db", str(tmp_path / "nowhere"), "does not exist")
    code, err = fails("--db", str(tmp_path))
    assert code == 2
    assert_one_line(err, "--db", "is a directory")
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a database, just text that is long enough to be a header " * 4)
    code, err = fails("--db", str(garbage))
    assert code == 2
    assert_one_line(err, "cannot open the database", str(garbage))
    code, err = fails("--state-dir", str(garbage))
    assert code == 2
    assert_one_line(err, "--state-dir", "is a file")
    code, err = fails("--state-dir", str(missing.parent / "deeper"))
    assert code == 2
    assert_one_line(err, "--state-dir", "does not exist")


BLOCK_STARLETTE = """
import sys

class NoStarlette:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "starlette":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoStarlette())
"""


def test_without_the_extra_the_command_names_it() -> None:
    script = BLOCK_STARLETTE + (
        "from inkbox_emulator.__main__ import main\nsys.exit(main(['--port', '0']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert_one_line(done.stderr, INSTALL, "starlette")


def test_without_the_extra_the_import_names_it() -> None:
    script = BLOCK_STARLETTE + (
        "try:\n"
        "    from inkbox_emulator import Emulator\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ImportError ")
    assert INSTALL in done.stdout
