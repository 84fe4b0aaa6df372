"""The generated sync code is current, and the check catches a hand edit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "codegen" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=root,
    )


def test_generated_code_is_current() -> None:
    result = run_check(ROOT)
    assert result.returncode == 0, result.stderr


def test_check_catches_hand_edit_and_stale_file(tmp_path: Path) -> None:
    for part in ("codegen", "inkbox_async", "inkbox_sync", "tests/async_", "tests/sync"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert run_check(tmp_path).returncode == 0

    client = tmp_path / "inkbox_sync" / "_client.py"
    original = client.read_text()
    client.write_text(original + "\n# tweak\n")
    result = run_check(tmp_path)
    assert result.returncode == 1 and "edited by hand" in result.stderr

    client.write_text(original)
    source = tmp_path / "inkbox_async" / "_client.py"
    source.write_text(source.read_text() + "\nEXTRA = 1\n")
    result = run_check(tmp_path)
    assert result.returncode == 1 and "stale" in result.stderr

    (tmp_path / "inkbox_sync" / "stray.py").write_text("x = 1\n")
    assert "neither generated" in run_check(tmp_path).stderr
