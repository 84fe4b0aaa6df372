"""``.ci/run`` runs the README's two commands verbatim, so CI does what a new user does."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    """The fenced commands of README.md's first section (the one after the title)."""
    text = (ROOT / "README.md").read_text()
    first_section = re.split(r"^## ", text, flags=re.M)[1]
    return re.findall(r"^```\n(.+?)\n```$", first_section, flags=re.M | re.S)


def test_the_readme_shows_the_demo_then_the_full_test_command() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert commands[0].endswith("nox -s demo")
    assert commands[1].endswith("nox")


def test_ci_runs_both_readme_commands_verbatim_in_that_order() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    positions = [lines.index(command) for command in readme_commands()]
    assert positions == sorted(positions)


def test_ci_runs_them_in_a_fresh_clone_with_nothing_beside_it() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    clone = script.index("git clone")
    assert "mktemp -d" in script[:clone]
    assert script.index('cd "$work/inkbox-sdk"') > clone
    assert script.index(readme_commands()[0]) > script.index('cd "$work/inkbox-sdk"')
