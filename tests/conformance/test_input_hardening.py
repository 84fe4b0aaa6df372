"""Values at the edge of what the SDK still accepts (issue 14) go on the wire exactly as the
official 0.7.20 client sends them: the new refusals changed no request of valid input."""

from __future__ import annotations

from typing import Any

from inkbox_emulator import Emulator

from .harness import CURRENT, run

METADATA = {
    "\u00e9quipe": ["\u00fc", 1, -2, 2.5, 1e-300, None, True, {"deep": {"n": 2**62}}],
    "emoji": "\U0001f600 \u2028 tab\there",
}


def test_unusual_but_valid_values_send_the_same_requests(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-edges", display_name="Agent\tEdge \u00e9")
        tunnel_id = identity.tunnel.id
        client.tunnels.update(tunnel_id, metadata=METADATA)
        assert client.tunnels.get(tunnel_id).metadata == METADATA
        box = identity.email_address
        assert client.mailboxes.get(box).email_address == box
        sent = client.messages.send(
            box,
            to=["first+tag@example.com"],
            subject="R\u00e9sum\u00e9\tQ3 \U0001f4c8",
            body_text="line one\r\nline two\ttabbed",
            in_reply_to_message_id="<parent.1+x@mail.example.com>",
            attachments=[
                {
                    "filename": "r\u00e9sum\u00e9 (final).txt",
                    "content_type": "text/plain; charset=utf-8",
                    "content_base64": "aGk=",
                }
            ],
        )
        assert client.messages.get(box, sent.id).subject == "R\u00e9sum\u00e9\tQ3 \U0001f4c8"

    run(emu, portal, scenario, official=CURRENT)
