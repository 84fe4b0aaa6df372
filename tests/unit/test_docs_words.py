"""The project speaks of itself, the official client and the hosted API: no internal jargon."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# "the seed" was the team's word for the 0.4.4 README (TOTP seeds and random seeds are fine)
JARGON = re.compile(r"\bthe seed\b|\bseed(?:'s| README| call)", re.IGNORECASE)


def user_facing_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "noxfile.py"]
    for package in ("inkbox_async", "inkbox_sync", "inkbox_emulator", "examples", "benchmarks"):
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def test_no_internal_jargon() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in user_facing_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if JARGON.search(line)
    ]
    assert found == []
