"""Every workflow, for both flavours: ``nox`` runs the full CI check.

Sessions: ``ci`` (default: everything below in one environment), ``lint``,
``types``, ``codegen``, ``tests``, ``demo``, ``bench``. Pass pytest arguments
after ``--``, e.g. ``nox -s tests -- tests/async_ -k identity``.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["ci"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = None  # the interpreter nox runs on (any Python >= 3.11)
CODE = [
    "inkbox_async",
    "inkbox_sync",
    "inkbox_emulator",
    "codegen",
    "tests",
    "examples",
    "benchmarks",
    "noxfile.py",
]
JUNIT = ".nox/junit.xml"
SUITES = {
    "unit": ["tests/unit"],
    "async": ["tests/async_"],
    "sync": ["tests/sync"],
    "emulator": ["tests/emulator"],
    "conformance": ["tests/conformance"],
}


def install(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


def run_lint(session: nox.Session) -> None:
    session.run("ruff", "check", *CODE)
    session.run("ruff", "format", "--check", *CODE)


def run_types(session: nox.Session) -> None:
    session.run("mypy", "--strict")
    session.run("mypy", "--strict", "tests/typing")


def run_codegen(session: nox.Session) -> None:
    session.run("python", "codegen/generate.py", "--check")


def run_tests(session: nox.Session, *paths: str, junit: str | None = None) -> None:
    report = [f"--junitxml={junit}"] if junit else []
    session.run("pytest", "-q", *report, *(session.posargs or paths))


@nox.session(python=PYTHON)
def ci(session: nox.Session) -> None:
    """Lint, types, codegen check, the demo, then every test suite (unit, async on asyncio
    and trio, sync, emulator, conformance against the official 0.4.4 client)."""
    install(session)
    run_lint(session)
    run_types(session)
    run_codegen(session)
    session.run("python", "examples/demo.py")
    run_tests(session, *(p for paths in SUITES.values() for p in paths), junit=JUNIT)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    run_lint(session)


@nox.session(python=PYTHON)
def types(session: nox.Session) -> None:
    """mypy --strict over the packages and the typed user files."""
    install(session)
    run_types(session)


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Fail when inkbox_sync or the sync tests are not what codegen produces."""
    install(session)
    run_codegen(session)


@nox.session(python=PYTHON)
@nox.parametrize("suite", list(SUITES))
def tests(session: nox.Session, suite: str) -> None:
    """One test suite: unit, async, sync, emulator or conformance."""
    install(session)
    run_tests(session, *SUITES[suite])


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The seed's quick start in both flavours, against an emulator it starts itself."""
    session.install("-e", ".[emulator]")
    session.run("python", "examples/demo.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Print the benchmark figures (ratios measured in one run)."""
    install(session)
    session.run("python", "benchmarks/run_all.py")


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate inkbox_sync and the sync tests from the async sources."""
    install(session)
    session.run("python", "codegen/generate.py")
