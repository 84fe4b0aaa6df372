"""Tunnels in the async flavour: ``serve_forever()`` in a task, ``aclose()`` from another.

Forwards to a local URL (a loopback HTTP server started here). Runs on asyncio
or trio: ``python tunnel_async.py trio``.
"""

from __future__ import annotations

import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import _runtime
import anyio
import anyio.to_thread

from inkbox_async import AsyncInkbox


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from 127.0.0.1, you asked for {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


async def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with _runtime.api() as (key, base_url):
            async with AsyncInkbox(api_key=key, base_url=base_url) as inkbox:
                name = f"my-app-{uuid.uuid4().hex[:6]}"
                await inkbox.create_identity(name)
                listener = await inkbox.tunnels.connect(
                    name=name,
                    forward_to=local_url,
                    on_status=lambda s: print("status:", s),
                    state_dir=_runtime.tunnel_state_dir(name),
                )
                print("public URL:", listener.public_url)
                if _runtime.EMULATOR is None:
                    await listener.serve_forever()  # until Ctrl-C
                    return
                async with anyio.create_task_group() as group:
                    group.start_soon(listener.serve_forever)
                    await anyio.to_thread.run_sync(_runtime.EMULATOR.wait_for_tunnel, name)
                    answer = await anyio.to_thread.run_sync(
                        _runtime.call_public_url, listener.tunnel.public_host, "/docs"
                    )
                    print("a caller got:", answer)
                    await listener.aclose()  # serve_forever() returns
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
