"""verify_webhook and the typed payloads inside Starlette/FastAPI and Flask handlers,
fed with real signed deliveries from the emulator (the seed's receiver snippets)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, cast

import flask
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from inkbox_async import MailWebhookPayload, verify_webhook
from inkbox_emulator import Emulator, OrgCredentials


@pytest.fixture
def delivery(
    emulator: Emulator, org: OrgCredentials, receiver: Any
) -> tuple[str, dict[str, str], bytes]:
    """One real, signed ``message.received`` delivery and the identity's signing key."""
    headers = {"X-API-Key": org.api_key}
    with httpx2.Client(base_url=emulator.base_url, headers=headers) as http:
        handle = f"hooks-{uuid.uuid4().hex[:8]}"
        identity = http.post("/api/v1/identities/", json={"agent_handle": handle}).json()
        address = identity["email_address"]
        secret = http.post(f"/api/v1/identities/{handle}/signing-key", json={}).json()[
            "signing_key"
        ]
        subscription = {
            "url": receiver.url,
            "event_types": ["message.received"],
            "agent_identity_id": identity["id"],
        }
        http.post("/api/v1/webhooks/subscriptions", json=subscription).raise_for_status()
    emulator.inject_email(
        to=address, from_address="jane@example.com", subject="Pricing?", body_text="?"
    )
    received_headers, body = receiver.wait("message.received")
    return secret, received_headers, body


def test_starlette_and_fastapi_style_handler(delivery: tuple[str, dict[str, str], bytes]) -> None:
    secret, headers, body = delivery

    async def mail_hook(request: Request) -> Response:
        raw_body = await request.body()
        if not verify_webhook(payload=raw_body, headers=request.headers, secret=secret):
            return Response(status_code=403)
        payload = cast(MailWebhookPayload, json.loads(raw_body))
        return JSONResponse({"subject": payload["data"]["message"]["subject"]})

    app = Starlette(routes=[Route("/hooks/mail", mail_hook, methods=["POST"])])
    with TestClient(app) as client:
        ok = client.post("/hooks/mail", content=body, headers=headers)
        assert ok.status_code == 200 and ok.json() == {"subject": "Pricing?"}
        tampered = client.post(
            "/hooks/mail", content=body.replace(b"Pricing", b"Pr1cing"), headers=headers
        )
        assert tampered.status_code == 403


def test_flask_handler(delivery: tuple[str, dict[str, str], bytes]) -> None:
    secret, headers, body = delivery
    app = flask.Flask(__name__)

    @app.post("/hooks/mail")
    def mail_hook() -> Any:
        raw_body = flask.request.get_data()
        if not verify_webhook(payload=raw_body, headers=flask.request.headers, secret=secret):
            flask.abort(403)
        payload = cast(MailWebhookPayload, json.loads(raw_body))
        return {"contacts": payload["data"]["contacts"], "event": payload["event_type"]}

    client = app.test_client()
    ok = client.post("/hooks/mail", data=body, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["event"] == "message.received"
    stale = {**headers, "X-Inkbox-Timestamp": str(int(time.time()) - 3600)}
    assert client.post("/hooks/mail", data=body, headers=stale).status_code == 403
