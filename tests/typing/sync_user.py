"""Written as a sync user would; mypy --strict checks the public types users get."""

from __future__ import annotations

import warnings

from inkbox_sync import (
    UNSET,
    ContactImportResult,
    ContactPhone,
    HandleUnavailableError,
    IdentitySummary,
    IdentityTunnelCreateOptions,
    Inkbox,
    MailContactRule,
    PhoneCall,
    TunnelSummary,
    WhoamiApiKeyResponse,
    verify_webhook,
)


def main(key: str, base_url: str) -> None:
    with Inkbox(api_key=key, base_url=base_url) as inkbox:
        me = inkbox.whoami()
        if isinstance(me, WhoamiApiKeyResponse):
            label: str | None = me.label
            print(label)
        try:
            identity = inkbox.create_identity(
                "sales-bot",
                display_name="Sales Bot",
                description=UNSET,
                tunnel=IdentityTunnelCreateOptions(tls_mode="passthrough"),
            )
        except HandleUnavailableError as exc:
            print(exc.blocking_namespace)
            return
        host: str | None = identity.tunnel.public_host if identity.tunnel else None
        print(identity.email_address, host)
        identity.update(description=None)
        identity.update(mail_filter_mode="whitelist", contact_sharing_enabled=False)
        tunnel: TunnelSummary | None = identity.tunnel
        print(tunnel.public_url if tunnel else None, identity.detail.mail_filter_mode)
        listed: list[IdentitySummary] = inkbox.list_identities()
        print(len(listed), inkbox.create_signing_key().created_at)
        added = inkbox.contacts.create(phones=[ContactPhone(value="+15551234567")])
        inkbox.contacts.update(added.id, notes=None, job_title=UNSET)
        imported: ContactImportResult = inkbox.contacts.vcards.import_vcards(b"BEGIN:VCARD")
        print([item.index for item in imported.errors], inkbox.notes.list(limit=10))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            seed_calls: list[PhoneCall] = inkbox.calls.list("phone-number-uuid", limit=10)
            call: PhoneCall = inkbox.calls.get("phone-number-uuid", "call-uuid")
        print(len(seed_calls), inkbox.transcripts.list(call.id), inkbox.calls.get(call.id))
        mail_rule: MailContactRule = identity.mail_contact_rules.create(
            action="allow", match_type="domain", match_target="partner.example"
        )
        identity.mail_contact_rules.update(mail_rule.id, action="block", apply_to="outbound")
    ok: bool = verify_webhook(payload=b"{}", headers={}, secret="whsec_x")
    print(ok)
