"""``python -m inkbox_emulator`` / ``inkbox-emulator``: serve the emulator until Ctrl-C.

A run on a database file (``--db`` or ``--state-dir``) keeps its org, admin key, tunnel CA
and edge ports for the next run on the same file (see ``_cli_state``). Problems starting
(missing extra, bad paths, ports in use) print one line on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._cli_state import (
    CliState,
    StatePaths,
    UsageProblem,
    check_port,
    load_state,
    resolve_paths,
    save_state,
)
from ._extra import missing_extra

if TYPE_CHECKING:
    from ._emulator import Emulator, OrgCredentials

__all__ = ["main"]

_PROG = "inkbox-emulator"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Run a local emulator of the Inkbox API.",
        epilog="A run on a database file comes back on the next start with the same "
        "organization, admin key, tunnel CA and edge ports.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    parser.add_argument(
        "--db",
        default=None,
        help="SQLite file (default: in memory, or emulator.sqlite3 in --state-dir)",
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        help="directory holding the database, the tunnel CA and the org's admin key "
        "(created if missing)",
    )
    parser.add_argument("--mail-domain", default="inkboxmail.com")
    parser.add_argument("--tunnel-zone", default="inkboxwire.com")
    parser.add_argument(
        "--edge-port",
        type=int,
        default=None,
        help="tunnel edge TLS port for agents (0 = any free; default: the last run's, else any)",
    )
    parser.add_argument(
        "--public-port",
        type=int,
        default=None,
        help="plain-HTTP port for requests to tunnels, routed by Host "
        "(0 = any free; default: the last run's, else any)",
    )
    return parser


def _note(text: str) -> None:
    print(f"{_PROG}: {text}", file=sys.stderr, flush=True)


def _edge_port(requested: int | None, remembered: int | None, host: str, option: str) -> int:
    """The port to ask for: the one given, else the last run's while it is free, else any."""
    if requested is not None:
        check_port(host, requested, option)
        return requested
    if remembered is None:
        return 0
    try:
        check_port(host, remembered, option)
    except UsageProblem:
        _note(f"the last run's {option} {remembered} is in use now; using another one")
        return 0
    return remembered


def _open(args: argparse.Namespace, paths: StatePaths, last: CliState | None) -> Emulator:
    try:
        from ._emulator import Emulator
    except ModuleNotFoundError as exc:
        raise UsageProblem(str(missing_extra(exc))) from None
    check_port(args.host, args.port, "--port")
    edge_port = _edge_port(
        args.edge_port, last.edge_port if last else None, args.host, "--edge-port"
    )
    public_port = _edge_port(
        args.public_port, last.public_port if last else None, args.host, "--public-port"
    )
    try:
        return Emulator(
            db=paths.db,
            host=args.host,
            port=args.port,
            mail_domain=args.mail_domain,
            tunnel_zone=args.tunnel_zone,
            edge_port=edge_port,
            public_port=public_port,
            tunnel_ca_path=paths.ca,
        )
    except sqlite3.Error as exc:
        raise UsageProblem(f"cannot open the database {paths.db}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise UsageProblem(f"cannot keep the tunnel CA at {paths.ca}: {exc}") from None


def _organization(emulator: Emulator, last: CliState | None) -> OrgCredentials:
    if last is not None:
        creds = emulator.resume_org(last.organization_id, last.api_key)
        if creds is not None:
            return creds
    return emulator.create_org()


def main(argv: Sequence[str] | None = None) -> int:
    """Start the emulator, print its base URL, the org's admin key, the tunnel edge's
    address, public URL and CA file and the web inbox's URL, and serve until stopped."""
    args = _parser().parse_args(argv)
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    emulator: Emulator | None = None
    try:
        paths = resolve_paths(args.db, args.state_dir)
        last = load_state(paths.state) if paths.state is not None else None
        emulator = _open(args, paths, last)
        try:
            emulator.start()
        except (OSError, RuntimeError) as exc:
            reason = exc.__cause__ or exc
            raise UsageProblem(f"cannot start serving on {args.host}: {reason}", 1) from None
        creds = _organization(emulator, last)
        if paths.state is not None:
            state = CliState(
                creds.organization_id,
                creds.api_key,
                int(emulator.tunnel_edge.rpartition(":")[2]),
                int(emulator.tunnel_public_url.rpartition(":")[2]),
            )
            try:
                save_state(paths.state, state)
            except OSError as exc:
                raise UsageProblem(f"cannot write {paths.state}: {exc.strerror}") from None
        print(f"INKBOX_BASE_URL={emulator.base_url}")
        print(f"INKBOX_API_KEY={creds.api_key}")
        print(f"INKBOX_TUNNEL_EDGE={emulator.tunnel_edge}")
        print(f"INKBOX_TUNNEL_PUBLIC_URL={emulator.tunnel_public_url}")
        print(f"INKBOX_TUNNEL_CA={emulator.tunnel_ca_file}")
        print(f"# web inbox: {emulator.base_url}/")
        if paths.state is not None:
            print(f"# state kept in {paths.db}, {paths.state} and {paths.ca}")
        print(f"# organization {creds.organization_id}; Ctrl-C to stop", flush=True)
        while not done.wait(0.5):
            pass
    except UsageProblem as exc:
        _note(str(exc))
        return exc.code
    finally:
        if emulator is not None:
            emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
