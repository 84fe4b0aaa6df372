"""Tunnel throughput and latency: a small local app called through the tunnel vs directly.

Four processes share the two cores: the emulator (edge and public listener),
the agent (``Inkbox(...).tunnels.connect(...).wait()``), a tiny keep-alive
HTTP app on loopback, and this script, the caller (an ``httpx2.AsyncClient``).
"Direct" calls the app on loopback; "tunnel" calls the emulator's public
listener, which hands each request to the agent over HTTP/2, which calls the
same app and posts the answer back. Rounds alternate direct / tunnel; each
round sends ``REQUESTS`` GETs at concurrency 1 and at 32.

Figures: tunnel throughput as a fraction of direct (target >= 0.5) and the
p50 latency overhead in ms (target <= 2 ms), at both concurrencies. When the
official ``inkbox`` client is installed and port 443 can be bound (it always
dials the zone on 443), its agent is measured the same way beside ours.

Each side also prints the CPU each process spends per tunnelled request
(from ``/proc``) and the request rate that total allows on two cores: the
ceiling the processes sharing this machine put on the tunnel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import httpx2
from _common import Figure, emit, median, official_available

ROUNDS = 5
REQUESTS = {1: 300, 32: 1500}

EMULATOR = """
import json, sys
from inkbox_emulator import Emulator
zone, port = sys.argv[1], int(sys.argv[2])
with Emulator(tunnel_zone=zone, edge_port=port) as emu:
    org = emu.create_org()
    print(json.dumps({"base_url": emu.base_url, "api_key": org.api_key, "edge": emu.tunnel_edge,
        "ca_file": emu.tunnel_ca_file, "public_url": emu.tunnel_public_url, "zone": emu.tunnel_zone}),
        flush=True)
    sys.stdin.read()
"""

APP = """
import asyncio, sys
BODY = b'{"ok":true}'
RESPONSE = (b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: "
            + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY)
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""

OURS = """
import sys
from inkbox_sync import Inkbox
base_url, api_key, name, target, edge, ca_file, state = sys.argv[1:8]
with Inkbox(api_key=api_key, base_url=base_url) as inkbox:
    listener = inkbox.tunnels.connect(name=name, forward_to=target, edge=edge, edge_ca=ca_file,
                                      state_dir=state)
    listener.wait()
"""

OFFICIAL = """
import sys
import inkbox
base_url, api_key, name, target, state = sys.argv[1:6]
client = inkbox.Inkbox(api_key=api_key, base_url=base_url)
listener = client.tunnels.connect(name=name, forward_to=target, state_dir=state)
listener.wait()
"""


@contextlib.contextmanager
def child(script: str, *args: str, env: dict[str, str] | None = None) -> Iterator[Any]:
    """A child Python process whose first stdout line is returned; stdin EOF stops it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.terminate()  # an agent's wait() stops cleanly on SIGTERM
            proc.wait(timeout=30)


async def burst(
    url: str, host: str | None, count: int, concurrency: int
) -> tuple[float, list[float]]:
    """``count`` GETs, ``concurrency`` at a time; returns (seconds, latencies)."""
    headers = {"host": host} if host else {}
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    async with httpx2.AsyncClient(limits=limits, timeout=60, trust_env=False) as client:
        queue = iter(range(count))

        async def worker() -> None:
            for _ in queue:
                started = time.perf_counter()
                response = await client.get(url, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")

        await client.get(url, headers=headers)  # warm the connection
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def wait_online(public_url: str, host: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx2.get(public_url + "/", headers={"host": host}, timeout=5).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the tunnel did not come online")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process (this one for ``None``); 0 without ``/proc``."""
    if pid is None:
        return time.process_time()
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    label: str, direct_url: str, public_url: str, host: str, processes: dict[str, int | None]
) -> dict[int, dict[str, float]]:
    """Figures per concurrency; ``processes`` (name -> pid, ``None`` = this one) are the
    processes whose CPU per tunnelled request is printed too."""
    results: dict[int, dict[str, float]] = {}
    for concurrency, count in REQUESTS.items():
        rps = {"direct": [], "tunnel": []}  # type: dict[str, list[float]]
        lat = {"direct": [], "tunnel": []}  # type: dict[str, list[float]]
        cpu = dict.fromkeys(processes, 0.0)
        for round_no in range(ROUNDS):
            order = ["direct", "tunnel"] if round_no % 2 == 0 else ["tunnel", "direct"]
            for side in order:
                url, hdr = (direct_url, None) if side == "direct" else (public_url, host)
                before = {name: cpu_seconds(pid) for name, pid in processes.items()}
                seconds, latencies = asyncio.run(burst(url + "/", hdr, count, concurrency))
                if side == "tunnel":
                    for name, pid in processes.items():
                        cpu[name] += cpu_seconds(pid) - before[name]
                rps[side].append(count / seconds)
                lat[side].extend(latencies)
        summary = {
            "direct_rps": median(rps["direct"]),
            "tunnel_rps": median(rps["tunnel"]),
            "direct_p50": percentile(lat["direct"], 0.5) * 1e3,
            "tunnel_p50": percentile(lat["tunnel"], 0.5) * 1e3,
            "direct_p99": percentile(lat["direct"], 0.99) * 1e3,
            "tunnel_p99": percentile(lat["tunnel"], 0.99) * 1e3,
        }
        results[concurrency] = summary
        print(
            f"  {label} c={concurrency}: direct {summary['direct_rps']:.0f} req/s "
            f"(p50 {summary['direct_p50']:.2f} ms, p99 {summary['direct_p99']:.2f} ms); "
            f"tunnel {summary['tunnel_rps']:.0f} req/s "
            f"(p50 {summary['tunnel_p50']:.2f} ms, p99 {summary['tunnel_p99']:.2f} ms)",
            flush=True,
        )
        per_request = {name: seconds * 1e3 / (count * ROUNDS) for name, seconds in cpu.items()}
        total = sum(per_request.values())
        shares = ", ".join(f"{name} {ms:.2f}" for name, ms in per_request.items())
        print(
            f"  {label} c={concurrency}: CPU ms per tunnelled request: {shares}; "
            f"total {total:.2f} (at most {2e3 / total:.0f} req/s on 2 fully used cores)"
            if total
            else f"  {label} c={concurrency}: CPU per request not available (no /proc)",
            flush=True,
        )
    return results


def can_bind_443() -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 443))
        except OSError:
            return False
    return True


def main() -> None:
    official = official_available() and can_bind_443()
    zone, port = ("127.0.0.1", "443") if official else ("inkboxwire.com", "0")
    state = tempfile.mkdtemp(prefix="inkbox-bench-")
    with child(EMULATOR, zone, port) as (emu_proc, emu_out), child(APP) as (app_proc, app_out):
        emu = json.loads(emu_out.readline())
        app_url = f"http://127.0.0.1:{app_out.readline().strip()}"
        control = httpx2.Client(base_url=emu["base_url"], headers={"X-API-Key": emu["api_key"]})
        for name in ("bench-ours", "bench-official"):
            control.post("/api/v1/identities/", json={"agent_handle": name}).raise_for_status()
        control.close()
        runs: dict[str, dict[int, dict[str, float]]] = {}

        def processes(agent_pid: int) -> dict[str, int | None]:
            return {"caller": None, "edge": emu_proc.pid, "agent": agent_pid, "app": app_proc.pid}

        ours_args = [emu["base_url"], emu["api_key"], "bench-ours", app_url, emu["edge"]]
        with child(OURS, *ours_args, emu["ca_file"], state + "/ours") as (agent, _):
            host = f"bench-ours.{emu['zone']}"
            wait_online(emu["public_url"], host)
            runs["ours"] = measure("ours", app_url, emu["public_url"], host, processes(agent.pid))
        if official:
            official_args = [emu["base_url"], emu["api_key"], "bench-official", app_url]
            with child(
                OFFICIAL, *official_args, state + "/official", env={"SSL_CERT_FILE": emu["ca_file"]}
            ) as (agent, _):
                host = f"bench-official.{emu['zone']}"
                wait_online(emu["public_url"], host)
                runs["official"] = measure(
                    "official", app_url, emu["public_url"], host, processes(agent.pid)
                )
        else:
            print("  official client: skipped (not installed, or port 443 cannot be bound)")
    for concurrency, summary in runs["ours"].items():
        note = ""
        if "official" in runs:
            theirs = runs["official"][concurrency]
            note = (
                f"official: {theirs['tunnel_rps'] / theirs['direct_rps']:.2f}x, "
                f"p50 +{theirs['tunnel_p50'] - theirs['direct_p50']:.2f} ms"
            )
        emit(
            Figure(
                "tunnel",
                f"tunnel throughput vs direct, c={concurrency}",
                summary["tunnel_rps"] / summary["direct_rps"],
                0.5,
                ">=",
                "x",
                note,
            )
        )
        emit(
            Figure(
                "tunnel",
                f"tunnel p50 overhead, c={concurrency}",
                summary["tunnel_p50"] - summary["direct_p50"],
                2.0,
                "<=",
                "ms",
                note,
            )
        )


if __name__ == "__main__":
    main()
