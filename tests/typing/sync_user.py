"""Written as a sync user would; mypy --strict checks the public types users get."""

from __future__ import annotations

from inkbox_sync import (
    UNSET,
    HandleUnavailableError,
    IdentityAccess,
    IdentitySummary,
    IdentityTunnelCreateOptions,
    Inkbox,
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
        row: IdentityAccess = identity.grant_access(None)
        print(row.is_wildcard)
        listed: list[IdentitySummary] = inkbox.list_identities()
        print(len(listed), inkbox.create_signing_key().created_at)
    ok: bool = verify_webhook(payload=b"{}", headers={}, secret="whsec_x")
    print(ok)
