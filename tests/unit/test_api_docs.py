"""api.md is what codegen/api_docs.py makes of the code, and the check catches a stale file."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    """The check on the standard library alone: isolated, no site-packages (it reads source)."""
    return subprocess.run(
        [sys.executable, "-I", "-S", str(root / "codegen" / "api_docs.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=root,
    )


def test_api_md_is_current() -> None:
    result = run_check(ROOT)
    assert result.returncode == 0, result.stderr


def test_api_md_lists_every_surface_of_both_flavours() -> None:
    text = (ROOT / "api.md").read_text()
    for heading in ("## inkbox\n", "## inkbox.webhooks.subscriptions", "## identity\n"):
        assert heading in text
    for signature in (
        "async def create_identity(self, agent_handle: str",
        "    def create_identity(self, agent_handle: str",
        "async def serve_forever(self) -> None:",
        "def wait(self, timeout: float | None = None) -> None:",
        "def verify_webhook(*, payload: bytes",
        "class AsyncAgentIdentity:",
        "class AgentIdentity:",
    ):
        assert signature in text, signature
    assert not re.search(r"<[\w.]+(: | object at )", text), "a default printed as a repr"


def test_check_catches_a_stale_file_and_a_changed_docstring(tmp_path: Path) -> None:
    for part in ("codegen", "inkbox_async", "inkbox_sync"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "api.md", tmp_path / "api.md")
    assert run_check(tmp_path).returncode == 0

    api = tmp_path / "api.md"
    api.write_text(api.read_text().replace("async def whoami", "async def who_am_i"))
    result = run_check(tmp_path)
    assert result.returncode == 1 and "stale" in result.stderr

    subprocess.run(
        [sys.executable, "-I", "-S", str(tmp_path / "codegen" / "api_docs.py")],
        check=True,
        cwd=tmp_path,
    )
    assert run_check(tmp_path).returncode == 0
    client = tmp_path / "inkbox_sync" / "_client.py"
    client.write_text(
        client.read_text().replace('"""Who the key belongs to', '"""Whose key this is', 1)
    )
    result = run_check(tmp_path)
    assert result.returncode == 1 and "stale" in result.stderr
