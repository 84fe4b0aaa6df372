"""The inbox's read-only pages (GET), the sandboxed email body, downloads and the live stamp."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from importlib import resources
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from inkbox_emulator.vault import model as vault_model

from . import queries
from .context import (
    Inbox,
    mask_secret,
    redact_body,
    redact_headers,
    redact_path,
    redact_query,
)
from .guard import BODY_CSP, page_headers

__all__ = [
    "attachment",
    "body",
    "calls",
    "favicon",
    "index",
    "live",
    "mailbox",
    "org",
    "requests_page",
    "static",
    "texts",
    "thread",
    "tunnels",
    "vault",
    "webhooks",
]

_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_STATIC_NAME = re.compile(r"[a-z0-9_-]+\.(css|js)")
_SHOWN_REQUESTS = 300
_SHOWN_BODY = 4096


def _param(request: Request, name: str) -> str:
    return str(request.path_params[name])


async def index(inbox: Inbox, request: Request) -> Response:
    """Every organisation, the pending signups and the clock."""
    return inbox.render(request, "index.html", orgs=inbox.store.run(queries.orgs))


async def org(inbox: Inbox, request: Request) -> Response:
    """One organisation: its identities with their mailbox, numbers and tunnel status."""
    view = inbox.store.run(queries.org_overview, _param(request, "org_id"))
    connected = inbox.edge.connected_ids()
    for tunnel in view["tunnels"]:
        tunnel["connected"] = tunnel["id"] in connected
    return inbox.render(request, "org.html", **view)


async def mailbox(inbox: Inbox, request: Request) -> Response:
    """A mailbox's threads; with ``?q=`` the messages matching the search."""
    mailbox_id = _param(request, "mailbox_id")
    view = inbox.store.run(queries.mailbox_threads, mailbox_id)
    query = request.query_params.get("q", "").strip()
    results = inbox.store.run(queries.search_messages, mailbox_id, query) if query else None
    return inbox.render(request, "mailbox.html", q=query, results=results, **view)


async def thread(inbox: Inbox, request: Request) -> Response:
    """A thread: each message's headers, text, sandboxed HTML and attachments."""
    view = inbox.store.run(queries.thread, _param(request, "thread_id"))
    return inbox.render(request, "thread.html", **view)


async def body(inbox: Inbox, request: Request) -> Response:
    """An email's HTML body, alone, under a CSP that forbids script and remote loads.

    This is the only route that answers untrusted HTML; pages embed it in an
    ``<iframe sandbox>``.
    """
    message = inbox.store.run(queries.message, _param(request, "message_id"))
    html = message["body_html"] or ""
    headers = page_headers(BODY_CSP)
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)


async def attachment(inbox: Inbox, request: Request) -> Response:
    """An attachment, always as a download (never rendered by the browser)."""
    item = inbox.store.run(queries.attachment, _param(request, "attachment_id"))
    filename = str(item["filename"]) or "attachment"
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "attachment"
    headers = page_headers(BODY_CSP)
    headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    return Response(bytes(item["content"]), media_type="application/octet-stream", headers=headers)


async def texts(inbox: Inbox, request: Request) -> Response:
    """An organisation's texts, by conversation."""
    view = inbox.store.run(queries.text_conversations, _param(request, "org_id"))
    return inbox.render(request, "texts.html", **view)


async def calls(inbox: Inbox, request: Request) -> Response:
    """An organisation's calls with their transcripts."""
    view = inbox.store.run(queries.calls, _param(request, "org_id"))
    return inbox.render(request, "calls.html", **view)


def _attempts_by_event(inbox: Inbox, org_id: str) -> dict[str, list[dict[str, Any]]]:
    """The dispatcher's record of each attempt (number, request headers), per event id, in
    the order the delivery log got its rows."""
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for attempt in inbox.dispatcher.attempts(org_id):
        by_event[str(attempt["event_id"])].append(
            {"attempt": attempt["attempt"], "headers": redact_headers(attempt["headers"])}
        )
    return by_event


async def webhooks(inbox: Inbox, request: Request) -> Response:
    """Every webhook delivery attempt: status, timing, request, response; replay buttons."""
    org_id = _param(request, "org_id")
    view = inbox.store.run(queries.deliveries, org_id)
    attempts = _attempts_by_event(inbox, org_id)
    seen: dict[str, int] = defaultdict(int)
    for row in reversed(view["deliveries"]):  # oldest first, as the dispatcher saw them
        n = seen[row["event_id"]]
        seen[row["event_id"]] += 1
        known = attempts.get(row["event_id"], [])
        row["dispatch"] = known[n] if n < len(known) else None
    return inbox.render(request, "webhooks.html", **view)


async def tunnels(inbox: Inbox, request: Request) -> Response:
    """An organisation's tunnels: live connections and the recent requests through the edge."""
    view = inbox.store.run(queries.tunnels, _param(request, "org_id"))
    connected = inbox.edge.connected_ids()
    for tunnel in view["tunnels"]:
        tunnel["connected"] = tunnel["id"] in connected
        tunnel["connections"] = inbox.edge.hub.snapshot(tunnel["id"])
        tunnel["recent"] = list(reversed(inbox.edge.hub.recent_requests(tunnel["id"])))
    return inbox.render(
        request,
        "tunnels.html",
        public_url=_public_url(inbox),
        zone=inbox.edge.hub.settings.zone,
        **view,
    )


def _public_url(inbox: Inbox) -> str | None:
    try:
        return inbox.edge.public_url
    except RuntimeError:
        return None


async def vault(inbox: Inbox, request: Request) -> Response:
    """What the service stores for an org's vault: ids, key metadata, secret metadata."""
    org_id = _param(request, "org_id")
    org_row = inbox.store.run(queries.org_name, org_id)
    state = inbox.store.run(vault_model.vault_state, org_id)
    for key in state["keys"]:  # an auth hash unlocks the vault's keys: show only its end
        key["auth_hash"] = mask_secret(key["auth_hash"])
    return inbox.render(request, "vault.html", org=org_row, vault=state)


def _request_row(entry: Any) -> dict[str, Any]:
    wire = entry.to_wire()
    text = None if wire["body_text"] is None else redact_body(wire["body_text"])
    return {
        "method": wire["method"],
        "path": redact_path(wire["path"]),
        "query": redact_query(wire["query"]),
        "status": wire["status"],
        "fault": wire["fault"],
        "headers": redact_headers(wire["headers"]),
        "body": None if text is None else text[:_SHOWN_BODY],
        "truncated": text is not None and len(text) > _SHOWN_BODY,
        "size": len(entry.body),
    }


async def requests_page(inbox: Inbox, request: Request) -> Response:
    """The request log (newest first) and the faults in force."""
    with inbox.store.lock:
        recorded = list(inbox.store.requests)
    rows = [_request_row(r) for r in reversed(recorded[-_SHOWN_REQUESTS:])]
    return inbox.render(
        request,
        "requests.html",
        requests=rows,
        total=len(recorded),
        faults=[f.to_wire() for f in inbox.faults.list()],
        tunnel_faults=[f.to_wire() for f in inbox.edge.faults.list()],
    )


def stamp(inbox: Inbox) -> str:
    """A value that changes whenever something a live page shows changes."""
    with inbox.store.lock:
        logged = len(inbox.store.requests)
    parts = [
        inbox.store.run(queries.fingerprint),
        str(logged),
        str(len(inbox.faults.list())),
        str(len(inbox.edge.faults.list())),
        str(len(inbox.dispatcher.attempts())),
        str(len(inbox.edge.hub.recent_requests())),
        ",".join(sorted(inbox.edge.connected_ids())),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


async def live(inbox: Inbox, request: Request) -> Response:
    """``{"stamp": …}``: the page script polls it and refreshes when it changes."""
    return JSONResponse({"stamp": stamp(inbox)}, headers=page_headers())


async def favicon(inbox: Inbox, request: Request) -> Response:
    """No icon (204), so a browser's own request stays out of the API's request log."""
    return Response(status_code=204, headers=page_headers())


async def static(inbox: Inbox, request: Request) -> Response:
    """The inbox's own CSS and JavaScript (package data; no CDN)."""
    name = _param(request, "name")
    if not _STATIC_NAME.fullmatch(name):
        return Response(status_code=404)
    resource = resources.files("inkbox_emulator.inbox").joinpath("static", name)
    if not resource.is_file():
        return Response(status_code=404)
    media = _STATIC_TYPES["." + name.rpartition(".")[2]]
    headers = page_headers()
    headers["Cache-Control"] = "no-cache"
    return Response(resource.read_bytes(), media_type=media, headers=headers)
