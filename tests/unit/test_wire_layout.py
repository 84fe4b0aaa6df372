"""Where the protocol codecs live: once, in ``inkbox_wire``, which both sides import.

The emulator's API semantics stay independent of the SDK (it never imports
``inkbox_async`` or ``inkbox_sync``); ``inkbox_wire`` imports neither side;
no package reaches into ``hpack``'s private modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["inkbox_async", "inkbox_sync", "inkbox_emulator", "inkbox_wire"]
HPACK_PRIVATE = {"table", "huffman", "huffman_table", "huffman_constants", "hpack"}
"""``hpack``'s modules behind its public names (``hpack.Encoder``, ``hpack.HeaderTuple``...)."""


def imports(package: str) -> list[tuple[str, str]]:
    """(file, module) for every absolute import in a package, and every ``hpack.x``
    reached as an attribute (``import hpack`` then ``hpack.table``)."""
    found: list[tuple[str, str]] = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((path.name, node.module))
                if node.module == "hpack":
                    found += [(path.name, f"hpack.{alias.name}") for alias in node.names]
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "hpack"
            ):
                found.append((path.name, f"hpack.{node.attr}"))
    return found


def top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", PACKAGES)
def test_hpack_is_used_through_its_public_api_only(package: str) -> None:
    private = [
        (name, module)
        for name, module in imports(package)
        if top(module) == "hpack" and module.count(".") and module.split(".")[1] in HPACK_PRIVATE
    ]
    assert private == []


def test_the_codecs_import_neither_side() -> None:
    sides = {"inkbox_async", "inkbox_sync", "inkbox_emulator"}
    assert [(name, m) for name, m in imports("inkbox_wire") if top(m) in sides] == []


def test_the_emulator_never_imports_the_sdk() -> None:
    sdk = {"inkbox_async", "inkbox_sync"}
    assert [(name, m) for name, m in imports("inkbox_emulator") if top(m) in sdk] == []


def test_both_sides_use_the_shared_codecs() -> None:
    agent = {m for _, m in imports("inkbox_async") if top(m) == "inkbox_wire"}
    edge = {m for _, m in imports("inkbox_emulator") if top(m) == "inkbox_wire"}
    assert {"inkbox_wire.h2_client", "inkbox_wire.hpack_codec", "inkbox_wire.ws_frames"} <= agent
    assert {"inkbox_wire.h2_server", "inkbox_wire.ws_frames"} <= edge


def test_no_side_keeps_a_codec_of_its_own() -> None:
    gone = [
        "inkbox_async/_tunnel/h2_engine.py",
        "inkbox_async/_tunnel/hpack_codec.py",
        "inkbox_async/_tunnel/ws_frames.py",
        "inkbox_emulator/_edge_h2.py",
        "inkbox_emulator/_edge_hpack.py",
        "inkbox_emulator/_edge_frames.py",
    ]
    assert [path for path in gone if (ROOT / path).exists()] == []
