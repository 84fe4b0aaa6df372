"""Every workflow, for both flavours: ``nox`` runs the full CI check.

Sessions (``nox -l``): ``ci`` (the default: lint, types, codegen check, demo and every
suite in one environment), ``lint``, ``types``, ``codegen``, ``tests-unit``, ``tests-async``,
``tests-sync``, ``tests-emulator``, ``tests-conformance``, ``demo``, ``bench``, ``generate``,
``browser`` (the web inbox in a real Chromium; not part of ``ci``, it needs Debian's
``/usr/bin/chromium``).
Each installs what it needs from the project's own extras. Pytest arguments after ``--``
replace a suite's paths, e.g. ``nox -s tests-async -- tests/async_/test_mail.py -k send``.
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
    "inkbox_wire",
    "codegen",
    "tests",
    "examples",
    "benchmarks",
    "noxfile.py",
]
JUNIT = ".nox/junit.xml"
BROWSER_JUNIT = ".nox/junit-browser.xml"
SUITES = {
    "unit": ["tests/unit"],
    "async": ["tests/async_"],
    "sync": ["tests/sync"],
    "emulator": ["tests/emulator"],
    "conformance": ["tests/conformance"],
}


def install(session: nox.Session, extra: str = "dev") -> None:
    """Install the project from its own files: ``dev`` for everything, else one extra."""
    session.install("-e", f".[{extra}]")


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
    """Everything CI checks: lint, types, codegen, the demo, every test suite (JUnit report)."""
    install(session)
    run_lint(session)
    run_types(session)
    run_codegen(session)
    session.run("python", "examples/demo.py")
    run_tests(session, *(p for paths in SUITES.values() for p in paths), junit=JUNIT)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check (the pinned ruff of the ``lint`` extra)."""
    install(session, "lint")
    run_lint(session)


@nox.session(python=PYTHON)
def types(session: nox.Session) -> None:
    """mypy --strict over the packages and the typed user files."""
    install(session)
    run_types(session)


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Fail when inkbox_sync, the sync tests or api.md are not what codegen produces."""
    install(session)
    run_codegen(session)
    session.run("python", "codegen/api_docs.py", "--check")


def suite_session(suite: str, what: str) -> None:
    def run_suite(session: nox.Session) -> None:
        install(session)
        run_tests(session, *SUITES[suite])

    run_suite.__doc__ = f"The {suite} tests ({', '.join(SUITES[suite])}): {what}."
    nox.session(python=PYTHON, name=f"tests-{suite}")(run_suite)


suite_session("unit", "pure modules, and the engine's mock transport for error edges")
suite_session("async", "end to end against the emulator, on asyncio and trio")
suite_session("sync", "the generated blocking twin of the async tests")
suite_session("emulator", "the emulator's routes, edge and control API over real HTTP")
suite_session("conformance", "the official clients and ours send the same requests")


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """The web inbox in a real Chromium: Playwright drives Debian's ``/usr/bin/chromium``
    (``apt-get install chromium``; no browser download); screenshots go to .nox/screenshots."""
    install(session, "browser")
    run_tests(session, "tests/browser", junit=BROWSER_JUNIT)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The 0.4.4 README's quick start, both flavours (async on asyncio and trio), on its own emulator."""
    install(session, "examples")
    session.run("python", "examples/demo.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Print the benchmark figures (ratios measured in one run, the official client included),
    then the chaos figures (``nox -s bench -- --seed N --ops N`` passes options to chaos.py)."""
    install(session)
    session.run("python", "benchmarks/run_all.py")
    session.run("python", "benchmarks/chaos.py", *session.posargs)


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate inkbox_sync and the sync tests from the async sources."""
    install(session)
    session.run("python", "codegen/generate.py")
