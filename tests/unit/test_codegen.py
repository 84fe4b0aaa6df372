"""The generated sync code is current, and the check catches a hand edit."""

from __future__ import annotations

import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
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
    copy_tree(tmp_path)
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


def copy_tree(tmp_path: Path) -> None:
    for part in ("codegen", "inkbox_async", "inkbox_sync", "tests/async_", "tests/sync"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")


def test_check_refuses_pure_code_in_a_generated_module(tmp_path: Path) -> None:
    copy_tree(tmp_path)
    source = tmp_path / "inkbox_async" / "_notes.py"
    original = source.read_text()
    pure = (
        "\n\ndef note_label(note_id: str) -> str:\n"
        '    """Pure: the same in both flavours."""\n'
        '    return f"note {note_id}"\n'
    )
    source.write_text(original + pure)
    assert run_check(tmp_path).returncode == 1  # stale too; regenerate to isolate the new check
    subprocess.run(
        [sys.executable, str(tmp_path / "codegen" / "generate.py")],
        capture_output=True,
        cwd=tmp_path,
        check=False,
    )
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert (
        "inkbox_async/_notes.py" in result.stderr
        and "'note_label' has no async code" in result.stderr
    )
    assert "stale" not in result.stderr

    # The same helper taking the I/O object (a rewritten name) is flavoured, so allowed.
    source.write_text(
        original
        + "\n\ndef note_client(requester: AsyncRequester) -> AsyncNotes:\n"
        + "    return AsyncNotes(requester)\n"
    )
    subprocess.run(
        [sys.executable, str(tmp_path / "codegen" / "generate.py")],
        capture_output=True,
        cwd=tmp_path,
        check=False,
    )
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stderr


def test_one_class_for_both_flavours_of_a_pure_name() -> None:
    import inkbox_async
    import inkbox_sync

    assert inkbox_sync.UnreadableSecret is inkbox_async.UnreadableSecret


ASYNC_WORDS = re.compile(
    r"\basync (with|for|context manager|iterator)\b|\bawait |\baclose\b|\bAsync[A-Z]\w*"
)


def prose(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of every docstring and comment line of a module."""
    source = path.read_text()
    lines: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                start = value.lineno
                lines += [(start + i, text) for i, text in enumerate(value.value.splitlines())]
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    lines += [(t.start[0], t.string) for t in tokens if t.type == tokenize.COMMENT]
    return lines


def test_sync_docstrings_and_comments_speak_sync() -> None:
    wrong = [
        f"{path.name}:{number}: {text.strip()}"
        for path in sorted((ROOT / "inkbox_sync").glob("*.py"))
        if path.name
        != "_tunnel_listener.py"  # hand-written: it describes the async agent it drives
        for number, text in prose(path)
        if ASYNC_WORDS.search(text) and "inkbox_async" not in text
    ]
    assert wrong == []


def test_help_of_the_sync_client_says_with_and_close() -> None:
    import inkbox_sync

    doc = inkbox_sync.Inkbox.__doc__ or ""
    assert "a context manager, or call :meth:`close`" in doc
    assert "async" not in doc and "aclose" not in doc


def test_prose_rules_rewrite_async_words() -> None:
    sys.path.insert(0, str(ROOT / "codegen"))
    try:
        from generate import CountingRule
    finally:
        sys.path.remove(str(ROOT / "codegen"))
    rule = CountingRule("inkbox_async", "inkbox_sync", {"AsyncInkbox": "Inkbox"}, prose=True)
    source = (
        '"""Use ``async with AsyncInkbox() as c`` and ``await c.aclose()``."""\n'
        "# an async context manager\n"
        'x = "await kept: not prose"\n'
        '"""``inkbox_async`` keeps ``async with AsyncInkbox``."""\n'
    )
    assert rule.convert(source) == (
        '"""Use ``with Inkbox() as c`` and ``c.close()``."""\n'
        "# a context manager\n"
        'x = "await kept: not prose"\n'
        '"""``inkbox_async`` keeps ``async with AsyncInkbox``."""\n'
    )
