"""The project speaks of itself, the official client and the hosted API: no internal jargon."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# "the seed" was the team's word for the 0.4.4 README (TOTP seeds and random seeds are fine)
JARGON = re.compile(r"\bthe seed\b|\bseed(?:'s| README| call)", re.IGNORECASE)


def user_facing_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "noxfile.py", *sorted((ROOT / "docs").glob("*.md"))]
    for package in (
        "inkbox_async",
        "inkbox_sync",
        "inkbox_wire",
        "inkbox_emulator",
        "examples",
        "benchmarks",
    ):
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


# The hosted API's wire notes are not part of the repository: code states the facts instead.
WIRE_FILES = re.compile(
    r"\b(?:tunnels|phone|mail|webhooks|identities|vault|account|http)\.md\b"
    r"|changes-0\.7\.20|wire reference|wire changes"
)
# A section sign is only for public standards, named on the same line ("RFC 9113 §8.1.1").
BARE_SECTION = re.compile(r"^(?!.*\bRFC \d+).*§")


def test_code_cites_nothing_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in (
            "inkbox_async",
            "inkbox_sync",
            "inkbox_wire",
            "inkbox_emulator",
            "examples",
            "benchmarks",
            "codegen",
        )
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if WIRE_FILES.search(line) or BARE_SECTION.search(line)
    ]
    assert found == []
