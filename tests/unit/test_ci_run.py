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


def test_ci_runs_the_browser_session_after_both_commands_every_time() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    lines = script.splitlines()
    last_command = max(lines.index(command) for command in readme_commands())
    browser = lines.index("python3 -m nox -s browser || browser=$?")
    summary = lines.index("python3 .ci/summary.py .nox/junit.xml")
    assert last_command < browser < summary
    # Chromium comes from Debian when missing, right before the session; nothing skips it.
    install = next(i for i, line in enumerate(lines) if "apt-get install -y chromium" in line)
    assert last_command < install < browser
    assert "[ ! -x /usr/bin/chromium ]" in lines[install - 1]
    between = "\n".join(lines[last_command + 1 : summary])
    assert "skip" not in between.lower() and "exit 0" not in between
    # its failure fails the run, after the summary line
    assert lines[summary + 1 :] == [
        'if [ "$browser" -ne 0 ]; then',
        '    echo "ci: the browser session failed" >&2',
        '    exit "$browser"',
        "fi",
    ]


def test_the_browser_session_is_not_part_of_the_default_run() -> None:
    noxfile = (ROOT / "noxfile.py").read_text()
    assert 'nox.options.sessions = ["ci"]' in noxfile
    assert 'BROWSER_JUNIT = ".nox/junit-browser.xml"' in noxfile
    suites = noxfile[noxfile.index("SUITES = {") : noxfile.index("}", noxfile.index("SUITES = {"))]
    assert "tests/browser" not in suites
    pyproject = (ROOT / "pyproject.toml").read_text()
    testpaths = next(line for line in pyproject.splitlines() if line.startswith("testpaths"))
    assert "tests/browser" not in testpaths and '"tests"' not in testpaths
