"""Routing an inbound call through the synchronous incoming-call webhook.

The call is stored in one transaction; when its number's action is
``webhook`` the flat payload (the call record minus ``is_blocked``, plus
``rate_limit`` and ``contact``) is POSTed, signed like every webhook (to a
``{tunnel}.{zone}`` URL through the emulator's own edge), **outside the store
lock**, and the emulator waits up to ``call_webhook_timeout`` seconds for the reply; a second transaction applies the decision. Reply rules:
HTTP **200** with a JSON object whose ``action`` is ``"answer"`` (optional
string ``client_websocket_url``, else the number's) answers, ``"reject"``
rejects; any other status, a body that is not such an object, a transport
error or a timeout declines routing (the call ends ``failed``). There are no
retries. The attempt is recorded with the other webhook deliveries under the
event type ``phone.incoming_call``.
"""

from __future__ import annotations

import json
from typing import Any

from inkbox_emulator.core.store import Store
from inkbox_emulator.webhooks.dispatcher import Dispatcher

from .calls import create_inbound_call, finish_inbound_call, inbound_call_result

__all__ = ["interpret_reply", "route_inbound_call"]


def interpret_reply(
    status: int | None, content: bytes, error: str | None
) -> tuple[str, str | None, dict[str, Any]]:
    """``(decision, client_websocket_url, routing note)`` for a webhook reply."""
    note: dict[str, Any] = {"webhook_status": status}
    if status is None:
        return "declined", None, {**note, "reason": error or "no response"}
    if status != 200:
        return "declined", None, {**note, "reason": f"HTTP {status}"}
    try:
        reply = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return "declined", None, {**note, "reason": "invalid body: not JSON"}
    if not isinstance(reply, dict):
        return "declined", None, {**note, "reason": "invalid body: not a JSON object"}
    action = reply.get("action")
    websocket = reply.get("client_websocket_url")
    if websocket is not None and not isinstance(websocket, str):
        return "declined", None, {**note, "reason": "invalid body: client_websocket_url"}
    if action == "answer":
        return "answer", websocket, {**note, "reply_action": "answer"}
    if action == "reject":
        return "reject", None, {**note, "reply_action": "reject"}
    return "declined", None, {**note, "reason": f"invalid body: action {action!r}"}


def route_inbound_call(
    store: Store, dispatcher: Dispatcher, to_number: str, from_number: str
) -> dict[str, Any]:
    """Inject a call from ``from_number`` to the emulator number ``to_number``; returns the
    PhoneCall after routing plus ``routing`` (``action``, ``outcome``: ``answered``,
    ``rejected``, ``declined`` or ``blocked``; for webhooks ``webhook_status`` and
    ``reply_action`` or ``reason``)."""
    call_id, event = store.run(create_inbound_call, to_number, from_number)
    if event is not None:
        status, content, error = dispatcher.post_now(event, store.settings.call_webhook_timeout)
        decision, websocket, note = interpret_reply(status, content, error)
        store.run(finish_inbound_call, call_id, decision, websocket, note)
    return store.run(inbound_call_result, call_id)
