"""Where the examples run: the hosted API when INKBOX_API_KEY is set, else a fresh emulator."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EMULATOR: Any = None
"""The running emulator when the example runs on one (None against the hosted API)."""

_STATE_ROOT: str | None = None


@contextmanager
def api() -> Iterator[tuple[str, str | None]]:
    """Yield ``(api_key, base_url)``; starts a local emulator when no key is configured."""
    key = os.environ.get("INKBOX_API_KEY")
    if key:
        yield key, os.environ.get("INKBOX_BASE_URL")
        return
    from inkbox_emulator import Emulator

    global EMULATOR, _STATE_ROOT
    with Emulator() as emu, tempfile.TemporaryDirectory(prefix="inkbox-tunnels-") as root:
        org = emu.create_org()
        print(f"(running against a local emulator at {emu.base_url})")
        EMULATOR = emu
        _STATE_ROOT = root
        # tunnels.connect() finds the emulator's edge (and trusts its test CA) through these.
        os.environ["INKBOX_TUNNEL_EDGE"] = emu.tunnel_edge
        os.environ["INKBOX_TUNNEL_CA"] = emu.tunnel_ca_file
        try:
            yield org.api_key, emu.base_url
        finally:
            EMULATOR = _STATE_ROOT = None
            del os.environ["INKBOX_TUNNEL_EDGE"], os.environ["INKBOX_TUNNEL_CA"]


def tunnel_state_dir(name: str) -> str | None:
    """Where ``tunnels.connect()`` keeps a tunnel's state for this run.

    ``None`` (the default, ``~/.inkbox/tunnels/{name}``) against the hosted
    API; a temporary directory, removed at the end, against the emulator, so
    that throwaway tunnels leave nothing in the home directory.
    """
    return None if _STATE_ROOT is None else os.path.join(_STATE_ROOT, name)


def call_public_url(host: str, path: str) -> str:
    """Play the internet: GET ``path`` on a tunnel's public host through the emulator's edge."""
    import httpx2

    assert EMULATOR is not None
    response = httpx2.get(EMULATOR.tunnel_public_url + path, headers={"host": host}, timeout=30)
    return f"{response.status_code} {response.text}"
