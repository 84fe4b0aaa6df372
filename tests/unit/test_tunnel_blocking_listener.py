"""The blocking listener's own semantics: wait/close, Ctrl-C, SIGTERM, errors raised once.

These run the real agent against the emulator edge; the listener is
hand-written (not generated), so they have no async twin.
"""

from __future__ import annotations

import _thread
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_sync import Inkbox, TunnelAuthError


@pytest.fixture
def inkbox(emulator: Emulator, org: OrgCredentials) -> Iterator[Inkbox]:
    with Inkbox(api_key=org.api_key, base_url=emulator.base_url) as client:
        yield client


def connect(inkbox: Inkbox, emulator: Emulator, tmp_path: Path, app: Any, **extra: Any) -> Any:
    name = f"blk-{uuid.uuid4().hex[:10]}"
    inkbox.create_identity(name)
    return inkbox.tunnels.connect(
        name=name,
        forward_to=app,
        edge=emulator.tunnel_edge,
        edge_ca=emulator.tunnel_ca_pem,
        state_dir=str(tmp_path / name),
        **extra,
    )


def later(delay: float, action: Any) -> threading.Timer:
    timer = threading.Timer(delay, action)
    timer.start()
    return timer


def runtime_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "inkbox-tunnel-runtime"]


def test_wait_serves_until_close_from_another_thread(
    inkbox: Inkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any, third_party: Any
) -> None:
    listener = connect(inkbox, emulator, tmp_path, asgi_app)
    answers: list[int] = []

    def call_then_close() -> None:
        emulator.wait_for_tunnel(listener.tunnel.tunnel_name)
        answers.append(third_party.http(listener.tunnel.tunnel_name, "GET", "/x").status)
        listener.close()

    timer = later(0, call_then_close)
    listener.wait()
    timer.join()
    assert answers == [200]
    assert listener.status == "closed"
    assert not runtime_threads()


def test_wait_with_a_timeout_returns_while_still_online(
    inkbox: Inkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    with connect(inkbox, emulator, tmp_path, asgi_app) as listener:
        listener.wait(timeout=0.5)
        emulator.wait_for_tunnel(listener.tunnel.tunnel_name)
        assert listener.status == "connected"
        assert len(runtime_threads()) == 1
    assert listener.status == "closed"
    assert not runtime_threads()


def test_ctrl_c_closes_the_tunnel_and_propagates(
    inkbox: Inkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    listener = connect(inkbox, emulator, tmp_path, asgi_app)
    later(0.5, _thread.interrupt_main)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        listener.wait()
    assert time.monotonic() - started < 10
    assert listener.status == "closed"
    assert not runtime_threads()


def test_sigterm_stops_wait_and_restores_the_handler(
    inkbox: Inkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    listener = connect(inkbox, emulator, tmp_path, asgi_app)
    before = signal.getsignal(signal.SIGTERM)
    later(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM))
    listener.wait()
    assert signal.getsignal(signal.SIGTERM) is before
    assert listener.status == "closed"
    assert not runtime_threads()  # the runtime thread is gone: the process can exit


def test_a_permanent_failure_is_raised_once(
    inkbox: Inkbox, emulator: Emulator, tmp_path: Path, asgi_app: Any
) -> None:
    listener = connect(inkbox, emulator, tmp_path, asgi_app)
    emulator.inject_tunnel_fault("hello_status", name=listener.tunnel.tunnel_name, status=403)
    try:
        with pytest.raises(TunnelAuthError):
            listener.wait()
    finally:
        emulator.clear_tunnel_faults()
    assert listener.status == "closed"
    with pytest.raises(RuntimeError, match="closed"):
        listener.wait()
