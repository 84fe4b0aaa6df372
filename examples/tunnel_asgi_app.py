"""The 0.4.4 README's tunnel example: put an in-process ASGI app online at ``https://{name}.{zone}``.

Against the emulator the script also plays the internet (a request through the
edge) and stops; against the hosted API it serves until Ctrl-C.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import _runtime

from inkbox_sync import Inkbox


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A tiny ASGI app (any FastAPI or Starlette app works the same way)."""
    body = json.dumps({"hello": "from my agent", "path": scope["path"]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        name = f"my-app-{uuid.uuid4().hex[:6]}"
        inkbox.create_identity(name)  # provisions the tunnel with the mailbox
        listener = inkbox.tunnels.connect(
            name=name, forward_to=app, state_dir=_runtime.tunnel_state_dir(name)
        )
        print("public URL:", listener.public_url)
        if _runtime.EMULATOR is None:
            listener.wait()  # blocks until close() or Ctrl-C
            return
        with listener.running():  # online for the duration of the block
            print("a caller got:", _runtime.call_public_url(listener.tunnel.public_host, "/hello"))
        print("listener:", listener.status)
        print("tunnels:", [t.tunnel_name for t in inkbox.tunnels.list()])


if __name__ == "__main__":
    main()
