"""The demo: the quick start in both flavours (async on asyncio and trio), agent signup and
the 0.4.4 README's mail, phone and tunnel examples, each against a fresh emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [
    ["quickstart.py"],
    ["quickstart_async.py", "asyncio"],
    ["quickstart_async.py", "trio"],
    ["agent_signup.py"],
    ["agent_send_email.py"],
    ["read_agent_messages.py"],
    ["address_book_agent.py"],
    ["create_agent_mailbox.py"],
    ["receive_agent_email_webhook.py"],
    ["create_agent_phone_number.py"],
    ["list_agent_phone_numbers.py"],
    ["read_agent_calls.py"],
    ["receive_agent_call_webhook.py"],
    ["tunnel_asgi_app.py"],
    ["tunnel_async.py", "asyncio"],
    ["tunnel_async.py", "trio"],
]


def main() -> int:
    for script, *args in RUNS:
        print(f"\n=== {script} {' '.join(args)}".rstrip(), flush=True)
        result = subprocess.run([sys.executable, str(HERE / script), *args], cwd=HERE)
        if result.returncode:
            print(f"{script} failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
    print("\ndemo: all runs succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
