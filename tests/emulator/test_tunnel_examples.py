"""The tunnel examples, run as a new user runs them, leave nothing in the home directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_tunnel_examples_leave_nothing_in_home(home: Path) -> None:
    environment = {**os.environ, "HOME": str(home)}
    environment.pop("INKBOX_API_KEY", None)
    for script, *arguments in (["tunnel_asgi_app.py"], ["tunnel_async.py", "asyncio"]):
        result = subprocess.run(
            [sys.executable, script, *arguments],
            cwd=EXAMPLES,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "a caller got: 200" in result.stdout
    # the home fixture then checks that HOME is still empty
