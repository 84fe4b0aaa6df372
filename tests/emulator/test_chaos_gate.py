"""A short fixed-seed run of benchmarks/chaos.py as a test.

``nox -s bench`` runs chaos.py in full (and exits 1 on a duplicate or a lost acknowledged
write), but that session is not part of CI; this runs the same code, both flavours, with a
small plan so a retry that doubles an effect, or a success reported for a write that never
happened, fails the ordinary test run too.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import anyio
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
OPS = 20
SEED = 1


@pytest.fixture
def chaos() -> Iterator[ModuleType]:
    """benchmarks/chaos.py as a module (it imports its sibling ``_common`` by bare name)."""
    had_common = "_common" in sys.modules
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("chaos_bench", BENCHMARKS / "chaos.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))
        sys.modules.pop("chaos_bench", None)
        if not had_common:
            sys.modules.pop("_common", None)


def test_a_seeded_chaos_run_has_no_duplicates_or_lost_acknowledged_writes(
    chaos: ModuleType,
) -> None:
    tallies = anyio.run(chaos.main_async, OPS, SEED)
    assert [t.operations for t in tallies] == [OPS, OPS]  # sync, then async
    # The plan did inject faults that fired: a run without any would prove nothing.
    assert sum(t.faults for t in tallies) > 0
    assert sum(t.recovered for t in tallies) > 0
    for flavour, tally in zip(("sync", "async"), tallies, strict=True):
        # chaos.py's own exit criterion (exit status 1)
        assert (tally.duplicates, tally.lost) == (0, 0), (flavour, tally.problems)
