"""``python -m inkbox_emulator`` / ``inkbox-emulator``: serve the emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from ._emulator import Emulator

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Start the emulator, create an org, print its base URL, admin key and the tunnel edge's
    address, public URL and CA file, serve until stopped."""
    parser = argparse.ArgumentParser(
        prog="inkbox-emulator", description="Run a local emulator of the Inkbox API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    parser.add_argument("--db", default=":memory:", help="SQLite file (default: in memory)")
    parser.add_argument("--mail-domain", default="inkboxmail.com")
    parser.add_argument("--tunnel-zone", default="inkboxwire.com")
    parser.add_argument(
        "--edge-port", type=int, default=0, help="tunnel edge TLS port for agents (0 = any free)"
    )
    parser.add_argument(
        "--public-port",
        type=int,
        default=0,
        help="plain-HTTP port for requests to tunnels, routed by Host (0 = any free)",
    )
    args = parser.parse_args(argv)

    emulator = Emulator(
        db=args.db,
        host=args.host,
        port=args.port,
        mail_domain=args.mail_domain,
        tunnel_zone=args.tunnel_zone,
        edge_port=args.edge_port,
        public_port=args.public_port,
    )
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        emulator.start()
        creds = emulator.create_org()
        print(f"INKBOX_BASE_URL={emulator.base_url}")
        print(f"INKBOX_API_KEY={creds.api_key}")
        print(f"INKBOX_TUNNEL_EDGE={emulator.tunnel_edge}")
        print(f"INKBOX_TUNNEL_PUBLIC_URL={emulator.tunnel_public_url}")
        print(f"INKBOX_TUNNEL_CA={emulator.tunnel_ca_file}")
        print(f"# organization {creds.organization_id}; Ctrl-C to stop", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
