"""The official ``inkbox`` 0.4.4 client works against the emulator (a wire-level peer)."""

from __future__ import annotations

import json
import uuid

import httpx2
import pytest
from inkbox import Inkbox, verify_webhook  # type: ignore[import-untyped]
from inkbox.exceptions import InkboxAPIError  # type: ignore[import-untyped]

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_emulator.webhooks.signing import signing_headers


def test_identity_lifecycle(emu: Emulator, org: OrgCredentials) -> None:
    with Inkbox(org.api_key, base_url=emu.base_url) as client:
        who = client.whoami()
        assert who.organization_id == org.organization_id
        identity = client.create_identity("official-peer", display_name="Peer", description=None)
        assert identity.email_address == "official-peer@inkboxmail.com"
        assert identity.tunnel is not None
        assert identity.tunnel.public_host == "official-peer.inkboxwire.com"
        fetched = client.get_identity("@Official-Peer")
        assert fetched.id == identity.id
        assert [i.agent_handle for i in client.list_identities()] == ["official-peer"]
        with pytest.raises(InkboxAPIError) as removed:  # renames are gone from the service
            identity.update(new_handle="official-peer-2")
        assert removed.value.status_code == 422
        identity.update(description="now described")
        assert identity.description == "now described"
        assert identity.tunnel.tunnel_name == "official-peer"
        identity.delete()
        assert client.list_identities() == []


def test_signup_and_signing_key(emu: Emulator, org: OrgCredentials) -> None:
    signup = Inkbox.signup(
        "human@example.com", note_to_human="hello", agent_handle="peer", base_url=emu.base_url
    )
    assert signup.claim_status == "agent_unclaimed"
    code = emu.signup_code(signup.agent_handle)
    verified = Inkbox.verify_signup(signup.api_key, code, base_url=emu.base_url)
    assert verified.claim_status == "agent_claimed"
    with Inkbox(org.api_key, base_url=emu.base_url) as client:
        # The org-level signing key route is past its sunset: keys belong to identities.
        with pytest.raises(InkboxAPIError) as gone:
            client.create_signing_key()
        assert gone.value.status_code == 410
        handle = client.create_identity(f"signer-{uuid.uuid4().hex[:8]}").agent_handle
    secret = httpx2.post(
        f"{emu.base_url}/api/v1/identities/{handle}/signing-key",
        json={},
        headers={"X-API-Key": org.api_key},
    ).json()["signing_key"]
    body = json.dumps({"event_type": "message.received", "data": {}}).encode()
    assert verify_webhook(payload=body, headers=signing_headers(secret, body), secret=secret)
