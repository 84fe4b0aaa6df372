"""The official inkbox 0.4.4 client and ours send the same requests for the calls whose
wire did not change since (the harness is in ``harness.py``)."""

from __future__ import annotations

import json
import re
from typing import Any

import inkbox

import inkbox_async
import inkbox_sync
from inkbox_emulator import Emulator

from .harness import Blocking, close, flavour_name, flavours, run


def test_whoami_api_key_and_jwt(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        me = client.whoami()
        assert me.auth_type == "api_key" and me.organization_id == org.organization_id
        token = emu.create_human_session(org.organization_id, email="o@example.com")
        factory = flavours(portal)[flavour_name(module)][0]
        console = factory(token, base_url=emu.base_url)
        human = console.whoami()
        assert human.auth_type == "jwt" and human.email == "o@example.com"
        close(console, portal)

    run(emu, portal, scenario)


def test_api_keys(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-keys")
        created = client.api_keys.create(
            label="worker", description="d", scoped_identity_id=identity.id
        )
        assert created.record.label == "worker"
        client.api_keys.create(label="minimal", scoped_identity_id=str(identity.id))

    run(emu, portal, scenario)


def test_identity_lifecycle(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        emu.add_sending_domain(org.organization_id, "mail.acme.com")
        identity = client.create_identity("conf-bot", display_name="Conf Bot", description="about")
        assert identity.tunnel.public_host == "conf-bot.inkboxwire.com"
        client.create_identity("conf-min")
        client.create_identity(
            "conf-full",
            description=None,
            email_local_part="sales",
            sending_domain="mail.acme.com",
            tunnel=module.IdentityTunnelCreateOptions(tls_mode="passthrough"),
            phone_number=module.IdentityPhoneNumberCreateOptions(type="local", state="NY"),
            vault_secret_ids="*",
        )
        client.create_identity("conf-platform", sending_domain=None)
        assert {s.agent_handle for s in client.list_identities()} >= {"conf-bot", "conf-full"}
        fetched = client.get_identity("conf-bot")
        assert fetched.email_address == identity.email_address
        fetched.update(description=None)
        fetched.update(display_name="Renamed", description="new")
        fetched.update()
        # rename and status left the wire (see test_current_identity_mail.py)
        fetched.refresh()
        with_phone = client.get_identity("conf-full")
        with_phone.release_phone_number()
        fetched.delete()

    run(emu, portal, scenario)


# The identity visibility routes (list/grant/revoke_access) left the service in 0.5.13;
# ours raise FeatureRemovedError before any I/O, so there is no request to compare
# (test_current_identity_mail.py checks that nothing is sent).


def test_signup(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        cls = flavours(portal)[flavour_name(module)][0]
        signup: Any = module.Inkbox if module is inkbox else cls
        if module is inkbox_async:
            signup = Blocking(inkbox_async.AsyncInkbox, portal)
        base = emu.base_url
        result = signup.signup(
            "human@example.com",
            note_to_human="hello",
            display_name="Agent",
            agent_handle="conf-agent",
            email_local_part="agent",
            base_url=base,
        )
        assert result.claim_status == "agent_unclaimed"
        signup.get_signup_status(result.api_key, base_url=base)
        emu.advance_clock(301)
        signup.resend_signup_verification(result.api_key, base_url=base)
        code = emu.signup_code(result.agent_handle)
        assert (
            signup.verify_signup(result.api_key, code, base_url=base).claim_status
            == "agent_claimed"
        )

    recorded = run(emu, portal, scenario)
    resend = [r for r in recorded["official"] if r[1].endswith("/resend-verification")]
    assert resend and resend[0][3] is None  # no body at all


def test_headers_match_on_the_wire(emu: Emulator, portal: Any) -> None:
    seen: dict[str, dict[str, str]] = {}
    for name, (factory, _module) in flavours(portal).items():
        emu.reset()
        org = emu.create_org()
        client = factory(org.api_key, base_url=emu.base_url)
        emu.clear_requests()
        client.create_identity("conf-headers")
        (request,) = emu.requests()
        seen[name] = {
            k: request.headers.get(k, "") for k in ("x-api-key", "accept", "content-type")
        }
        seen[name]["x-api-key"] = (
            "ok" if request.headers.get("x-api-key") == org.api_key else "wrong"
        )
        close(client, portal)
    assert seen["sync"] == seen["official"] == seen["async"]


def test_verify_webhook_agrees_with_the_official_client(fixtures_dir: Any) -> None:
    body = (fixtures_dir / "webhook_payloads" / "text_received.json").read_bytes()
    secret = "whsec_c2lnbmluZy1rZXktZXhhbXBsZQ"
    good = "sha256=0964d20708583816dc4ac3667f2b3f0229789a9e6dab578eb8c0f025ed723fa0"
    base = {
        "X-Inkbox-Request-ID": "5f0c6a2e-8d1b-4c7e-9a3f-2b6d8e1f4c90",
        "X-Inkbox-Timestamp": "1775845457",
    }
    cases = [
        (body, {**base, "X-Inkbox-Signature": good}, secret),
        (body, {**base, "X-Inkbox-Signature": good}, secret.removeprefix("whsec_")),
        (body, {**base, "x-inkbox-signature": good}, "whsec_" + secret),
        (body, {**base, "X-Inkbox-Signature": good.upper()}, secret),
        (body + b" ", {**base, "X-Inkbox-Signature": good}, secret),
        (body, base, secret),
    ]
    for payload, headers, key in cases:
        official = inkbox.verify_webhook(payload=payload, headers=headers, secret=key)
        ours = inkbox_sync.verify_webhook(
            payload=payload, headers=headers, secret=key, tolerance=None
        )
        assert ours == official, (headers, key)


def test_mail(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        emu.add_sending_domain(org.organization_id, "mail.acme.com")
        bot = client.create_identity("conf-mail")
        peer = client.create_identity("conf-peer")
        email = bot.email_address
        emu.inject_email(
            to=email, from_address="c@example.com", subject="invoice 7", body_text="pay"
        )
        emu.inject_email(to=email, from_address="d@example.com", subject="hello", body_text="hi")

        sent = bot.send_email(
            to=[peer.email_address],
            subject="Hi",
            body_text="text",
            body_html="<p>html</p>",
            cc=["cc@example.com"],
            bcc=["bcc@example.com"],
            attachments=[
                {"filename": "a.txt", "content_type": "text/plain", "content_base64": "aGk="}
            ],
        )
        client.messages.send(
            email, to=["x@example.com"], subject="plain", in_reply_to_message_id=sent.message_id
        )
        listed = list(_iterate(bot.iter_emails(page_size=2)))
        assert len(listed) == 4
        inbound = list(_iterate(bot.iter_emails(direction="inbound")))
        unread = list(_iterate(bot.iter_unread_emails()))
        bot.mark_emails_read([m.id for m in unread])
        message = bot.get_message(inbound[0].id)
        assert message.body_text
        thread = bot.get_thread(sent.thread_id)
        assert thread.messages
        bot.forward_email(inbound[0].id, to=["fwd@example.com"])
        client.messages.forward(
            email,
            inbound[0].id,
            to=["f@example.com"],
            cc=["g@example.com"],
            mode="wrapped",
            subject="FYI",
            body_text="see",
            include_original_attachments=False,
            reply_to="r@example.com",
        )

        client.messages.get(email, inbound[0].id)
        client.messages.update_flags(email, inbound[0].id, is_read=True, is_starred=True)
        client.messages.update_flags(email, inbound[0].id)
        client.messages.mark_read(email, inbound[0].id)
        client.messages.mark_unread(email, inbound[0].id)
        client.messages.star(email, inbound[0].id)
        client.messages.unstar(email, inbound[0].id)
        link = client.messages.get_attachment(
            peer.email_address, _first(client, peer.email_address).id, "a.txt"
        )
        assert link["url"]
        client.messages.delete(email, inbound[1].id)

        threads = list(_iterate(client.threads.list(email)))
        list(_iterate(client.threads.list(email, folder="inbox")))
        client.threads.get(email, threads[0].id)
        client.threads.update(email, threads[0].id, folder="archive")
        client.threads.list_folders(email)
        client.threads.delete(email, threads[-1].id)

        assert [m.email_address for m in client.mailboxes.list()]
        client.mailboxes.get(email)
        client.mailboxes.update(email, filter_mode="whitelist")
        client.mailboxes.update(email)
        client.mailboxes.search(email, q="invoice")
        client.mailboxes.search(email, q="invoice", limit=5)

        client.domains.list()
        client.domains.list(status=module.SendingDomainStatus.VERIFIED)
        assert client.domains.set_default("mail.acme.com") == "mail.acme.com"
        assert client.domains.set_default("inkboxmail.com") is None
        # Contact rules moved to identity-keyed routes: see test_current_phone.py.

    run(emu, portal, scenario)


def _iterate(pager: Any) -> Any:
    """Items of a pager: official and sync iterate directly; the async one through the portal."""
    if isinstance(pager, Blocking):
        target = pager._target

        async def collect() -> list[Any]:
            return [item async for item in target]

        return pager._portal.call(collect)
    return pager


def _first(client: Any, email: str) -> Any:
    return next(iter(_iterate(client.messages.list(email))))


VAULT_KEY = "my-Vault-key-01!"
NEW_VAULT_KEY = "new-Vault-key-02!"
TOTP_URI = "otpauth://totp/Example:user?secret=JBSWY3DPEHPK3PXP&issuer=Example"


def test_vault(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        vault = client.vault
        assert vault.info() is None
        result = vault.initialize(VAULT_KEY)
        assert len(result.recovery_codes) == 4
        vault.info()
        vault.list_keys()
        vault.list_keys(key_type="recovery")
        unlocked = vault.unlock(VAULT_KEY)
        site = unlocked.create_secret(
            "Site", module.LoginPayload(password="pw", username="u"), description="d"
        )
        assert unlocked.get_secret(site.id).payload.password == "pw"
        unlocked.update_secret(site.id, name="Site 2")
        unlocked.update_secret(site.id, description=None)
        identity = client.create_identity("conf-vault")
        crm = identity.create_secret("CRM", module.LoginPayload(password="s3cret", username="bot"))
        identity.set_totp(crm.id, TOTP_URI)
        assert identity.get_totp_code(crm.id).code
        identity.remove_totp(crm.id)
        assert identity.get_secret(crm.id).payload.username == "bot"
        vault.list_secrets()
        vault.list_secrets(secret_type="login")
        vault.list_access_rules(crm.id)
        vault.grant_access(site.id, identity.id)
        vault.revoke_access(site.id, identity.id)
        identity.revoke_credential_access(crm.id)
        vault.update_key(NEW_VAULT_KEY, current_vault_key=VAULT_KEY)
        vault.update_key(VAULT_KEY, recovery_code=result.recovery_codes[0])
        identity.delete_secret(crm.id)
        vault.delete_secret(site.id)

    run(emu, portal, scenario)


def test_vault_secrets_cross_read(emu: Emulator) -> None:
    """Secrets written by the official client decrypt with ours, and the reverse."""
    emu.reset()
    org = emu.create_org()
    official = inkbox.Inkbox(org.api_key, base_url=emu.base_url)
    ours = inkbox_sync.Inkbox(org.api_key, base_url=emu.base_url)
    try:
        official.vault.initialize(VAULT_KEY)
        theirs = official.vault.unlock(VAULT_KEY).create_secret(
            "Theirs", inkbox.LoginPayload(password="p1", username="u1")
        )
        official_identity = official.create_identity("conf-cross")
        official_identity.set_totp(theirs.id, TOTP_URI)

        mine = ours.vault.unlock(VAULT_KEY)
        read = mine.get_secret(theirs.id).payload
        assert isinstance(read, inkbox_sync.LoginPayload)
        assert (read.username, read.password, read.totp is not None) == ("u1", "p1", True)
        created = mine.create_secret(
            "Mine", inkbox_sync.APIKeyPayload(api_key="sk-1", endpoint="https://api.example")
        )
        ours.get_identity("conf-cross").set_totp(theirs.id, TOTP_URI)

        again = official.vault.unlock(VAULT_KEY)
        by_name = {s.name: s for s in again.secrets}
        assert by_name["Mine"].payload.api_key == "sk-1"
        assert by_name["Theirs"].payload.password == "p1"
        assert str(created.id) in {str(s.id) for s in again.secrets}
        assert official_identity.get_totp_code(theirs.id).code == (
            ours.get_identity("conf-cross").get_totp_code(theirs.id).code
        )
    finally:
        official.close()
        ours.close()


def test_phone(emu: Emulator, portal: Any) -> None:
    customer = "+15551234567"

    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        identity = client.create_identity("conf-phone")
        number = identity.provision_phone_number(type="local", state="NY")
        emu.mark_sms_ready(str(number.id))
        emu.inject_text(to_number=number.number, from_number=customer, text="START")
        emu.inject_text(to_number=number.number, from_number=customer, text="invoice please")

        numbers = client.phone_numbers
        assert [n.number for n in numbers.list()] == [number.number]
        numbers.get(number.id)
        numbers.update(
            number.id, incoming_call_action="auto_accept", client_websocket_url="wss://a.example/ws"
        )
        numbers.update(number.id, filter_mode="blacklist")

        sent = identity.send_text(to=customer, text="hello")
        assert sent.direction == "outbound"
        identity.list_texts()
        identity.list_texts(limit=10, offset=0, is_read=False)
        inbound = next(t for t in identity.list_texts() if t.direction == "inbound")
        identity.get_text(inbound.id)
        identity.mark_text_read(inbound.id)
        identity.list_text_conversations()
        identity.get_text_conversation(customer, limit=5)
        identity.mark_text_conversation_read(customer)
        client.texts.search(number.id, q="invoice")
        client.texts.update(number.id, inbound.id, is_read=False)

        # Placing and reading calls, contact rules and provisioning defaults changed on the
        # wire: test_current_phone.py compares them with the current official client.
        call = emu.inject_call(to_number=number.number, from_number=customer)
        emu.append_transcript(str(call["id"]), "remote", "refund please")
        numbers.search_transcripts(number.id, q="refund")
        numbers.search_transcripts(number.id, q="refund", party="remote", limit=5)

        opt_ins = client.sms_opt_ins
        opt_ins.list()
        opt_ins.list(status="opted_in", limit=10)
        opt_ins.get(customer)
        emu.set_customer_campaign(org.organization_id, enabled=True)
        opt_ins.opt_out(customer)
        opt_ins.opt_in(customer)

        identity.release_phone_number()

    run(emu, portal, scenario)


_CSR = re.compile(
    r"-----BEGIN CERTIFICATE REQUEST-----[^-]+-----END CERTIFICATE REQUEST-----(\\n)?"
)


def _csr_pem(public_host: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    from inkbox_async._tunnel.state import build_csr

    return build_csr(ec.generate_private_key(ec.SECP256R1()), public_host)


def _without_csr(recorded: list[Any]) -> list[Any]:
    return [
        (method, path, query, json.loads(_CSR.sub("<csr>", json.dumps(body))))
        for method, path, query, body in recorded
    ]


def test_tunnels(emu: Emulator, portal: Any) -> None:
    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        edge = client.create_identity("conf-tunnel").tunnel
        passthrough = client.create_identity(
            "conf-tunnel-pt", tunnel=module.IdentityTunnelCreateOptions(tls_mode="passthrough")
        ).tunnel
        listed = client.tunnels.list()
        assert {t.tunnel_name for t in listed} == {"conf-tunnel", "conf-tunnel-pt"}
        assert client.tunnels.get(edge.id).public_host == "conf-tunnel.inkboxwire.com"
        updated = client.tunnels.update(str(edge.id), metadata={"team": "gtm"})
        assert updated.metadata == {"team": "gtm"}
        client.tunnels.update(edge.id, metadata=None)
        client.tunnels.update(edge.id)
        csr = _csr_pem(passthrough.public_host)
        signed = client.tunnels.sign_csr(passthrough.id, csr_pem=csr)
        assert "BEGIN CERTIFICATE" in signed.cert_pem and signed.cert_fingerprint_sha256
        assert client.tunnels.get(passthrough.id).status == "active"

    run(emu, portal, scenario, _without_csr)


def test_tunnel_connect_bootstrap(emu: Emulator, portal: Any, tmp_path: Any) -> None:
    """connect() looks the tunnel up (and signs a passthrough certificate) as 0.4.4 does."""

    def scenario(client: Any, module: Any, emu: Emulator, org: Any) -> None:
        flavour = flavour_name(module)
        client.create_identity("conf-connect")
        client.create_identity(
            "conf-connect-pt", tunnel=module.IdentityTunnelCreateOptions(tls_mode="passthrough")
        )
        emu.clear_requests()
        for handle in ("conf-connect", "conf-connect-pt", "conf-connect-pt"):
            listener = client.tunnels.connect(
                name=handle,
                forward_to="http://127.0.0.1:8080",
                state_dir=str(tmp_path / flavour / handle),
            )
            assert listener.public_url == f"https://{handle}.inkboxwire.com"

    recorded = run(emu, portal, scenario, _without_csr)
    # The third connect reads the cached tunnel id and the still-valid certificate.
    assert [r[:2] for r in recorded["official"]] == [
        ("GET", "/api/v1/tunnels/"),
        ("GET", "/api/v1/tunnels/"),
        ("POST", "/api/v1/tunnels/<id>/sign-csr"),
        ("GET", "/api/v1/tunnels/<id>"),
        ("GET", "/api/v1/tunnels/<id>"),
    ]
