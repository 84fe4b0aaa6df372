"""``inkbox.tunnels``: read and edit tunnels, sign passthrough certificates, connect.

Tunnels are created and deleted with their identity; there is no create or
delete call here.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from inkbox_async import _validate as check
from inkbox_async._converter import structure, structure_list
from inkbox_async._errors import (
    InvalidArgumentError,
    NotFoundError,
    TunnelNotProvisionedError,
    TunnelStateError,
)
from inkbox_async._paths import TUNNELS, tunnel_path
from inkbox_async._sentinel import UNSET, Unset
from inkbox_async._tunnel.contracts import MIB, ASGIApp
from inkbox_async.models.identities import SignedCert, TlsMode, Tunnel, TunnelStatus

from ._requester import AsyncRequester

if TYPE_CHECKING:
    from pathlib import Path

    from inkbox_async._tunnel.options import ConnectOptions

    from ._tunnel_listener import AsyncTunnelListener

SIGN_CSR_TIMEOUT = 180.0
DEFAULT_ZONE = "inkboxwire.com"


class AsyncTunnels:
    """``inkbox.tunnels``: tunnels of the organisation and the data-plane listener."""

    def __init__(self, requester: AsyncRequester) -> None:
        self._requester = requester

    async def list(self) -> list[Tunnel]:
        """The live tunnels this key can see."""
        data = await self._requester.request("GET", f"{TUNNELS}/")
        if isinstance(data, dict) and "tunnels" in data:
            data = data["tunnels"]
        return structure_list(data, Tunnel)

    async def get(self, tunnel_id: UUID | str) -> Tunnel:
        """One tunnel by id."""
        return structure(await self._requester.request("GET", tunnel_path(tunnel_id)), Tunnel)

    async def update(
        self,
        tunnel_id: UUID | str,
        *,
        metadata: Mapping[str, Any] | Unset | None = UNSET,
    ) -> Tunnel:
        """Replace the tunnel's ``metadata`` (its only mutable field); ``None`` or ``{}`` clear it."""
        path = tunnel_path(tunnel_id)
        body: dict[str, Any] = {}
        if metadata is not UNSET:
            if metadata is not None and not isinstance(metadata, Mapping):
                raise check.type_error("metadata", "a mapping or None", metadata)
            body["metadata"] = None if metadata is None else check.json_value("metadata", metadata)
        return structure(await self._requester.request("PATCH", path, json=body), Tunnel)

    async def sign_csr(self, tunnel_id: UUID | str, *, csr_pem: str | bytes) -> SignedCert:
        """Have Inkbox sign a CSR for a passthrough tunnel (can take minutes; 180 s timeout).

        ``csr_pem`` is the PEM text (bytes are accepted and decoded as ASCII).
        A 409 means the tunnel is an edge tunnel or not awaiting a certificate.
        """
        path = tunnel_path(tunnel_id) + "/sign-csr"
        if isinstance(csr_pem, bytes):
            try:
                csr_pem = csr_pem.decode("ascii")
            except UnicodeDecodeError:
                raise InvalidArgumentError("csr_pem", "must be PEM text") from None
        pem = check.text("csr_pem", csr_pem)
        if "-----BEGIN CERTIFICATE REQUEST-----" not in pem:
            raise InvalidArgumentError("csr_pem", "must be a PEM certificate signing request")
        data = await self._requester.request(
            "POST", path, json={"csr_pem": pem}, timeout=SIGN_CSR_TIMEOUT
        )
        return structure(data, SignedCert)

    async def connect(
        self,
        *,
        name: str,
        forward_to: str | ASGIApp,
        edge: str | None = None,
        edge_ca: str | bytes | os.PathLike[str] | None = None,
        edge_ssl_context: ssl.SSLContext | None = None,
        data_plane_zone: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        pool_size: int | None = None,
        on_status: Callable[[str], object] | None = None,
        max_inbound_body_bytes: int = 32 * MIB,
        max_outbound_body_bytes: int = 32 * MIB,
        allow_remote_forwarding: bool = False,
        enable_h2_transcode: bool = True,
        forward_to_verify_tls: bool = True,
        forward_to_ca_bundle: bytes | str | None = None,
        lifespan: Literal["auto", "on", "off"] = "auto",
    ) -> AsyncTunnelListener:
        """Prepare the listener that puts ``forward_to`` online at ``https://{name}.{zone}``.

        ``forward_to`` is a loopback URL (``http://127.0.0.1:8080``; any URL
        with ``allow_remote_forwarding=True``) or an in-process ASGI app.
        This looks the tunnel up, and for a passthrough tunnel makes sure a
        valid certificate is on disk (signing one when needed), but does not
        go online: ``serve_forever()`` (or ``wait()`` in the blocking client)
        does. ``edge`` (``host:port``) and ``edge_ca`` / ``edge_ssl_context``
        point the data plane at another edge, e.g. the local emulator's
        (defaults: ``INKBOX_TUNNEL_EDGE`` / ``INKBOX_TUNNEL_CA``, else the zone on 443).
        State lives in ``state_dir`` (default ``~/.inkbox/tunnels/{name}``);
        a cached tunnel id the server no longer knows is looked up again by name.

        An ASGI app's lifespan (``lifespan="auto"``, as uvicorn): its startup
        runs when serving starts, before the tunnel goes online, and its
        shutdown when serving stops; an app without lifespan support is
        served as is. ``"on"`` requires lifespan support, ``"off"`` skips it.
        A failed startup raises :class:`~inkbox_async.TunnelLifespanError`
        from ``serve_forever()``.
        """
        from inkbox_async._tunnel import options as opts

        if sys.platform == "win32":
            raise NotImplementedError("tunnels.connect() needs a POSIX system")
        options = opts.connect_options(
            name=name,
            forward_to=forward_to,
            edge=edge,
            edge_ca=edge_ca,
            edge_ssl_context=edge_ssl_context,
            data_plane_zone=data_plane_zone,
            state_dir=state_dir,
            pool_size=pool_size,
            on_status=on_status,
            max_inbound_body_bytes=max_inbound_body_bytes,
            max_outbound_body_bytes=max_outbound_body_bytes,
            allow_remote_forwarding=allow_remote_forwarding,
            enable_h2_transcode=enable_h2_transcode,
            forward_to_verify_tls=forward_to_verify_tls,
            forward_to_ca_bundle=forward_to_ca_bundle,
            lifespan=lifespan,
        )
        return await self._bootstrap(options)

    async def _bootstrap(self, options: ConnectOptions) -> AsyncTunnelListener:
        from inkbox_async._tunnel import state as disk
        from inkbox_async._tunnel.contracts import TunnelSettings
        from inkbox_async._tunnel.options import split_host_port

        from ._tunnel_listener import AsyncTunnelListener

        directory = disk.prepare_directory(options.name, options.state_dir)
        saved = disk.read_state(directory)
        tunnel = await self._find(options.name, saved, directory)
        passthrough_context = None
        if tunnel.tls_mode == TlsMode.PASSTHROUGH:
            tunnel = await self._ensure_certificate(tunnel, directory)
            passthrough_context = disk.passthrough_context(
                directory, enable_h2_transcode=options.enable_h2_transcode
            )
        if tunnel.status != TunnelStatus.ACTIVE:
            raise TunnelStateError(
                f"tunnel {tunnel.tunnel_name!r} is {str(tunnel.status)!r}, not active"
            )
        zone = options.data_plane_zone or tunnel.zone or saved.get("zone") or DEFAULT_ZONE
        public_host = tunnel.public_host or saved.get("public_host") or f"{options.name}.{zone}"
        disk.write_state(
            directory,
            tunnel_id=str(tunnel.id),
            name=options.name,
            mode=str(tunnel.tls_mode),
            zone=tunnel.zone,
            public_host=public_host,
        )
        zone_host, zone_port = split_host_port("zone", zone)  # once: SNI, :authority, edge
        edge_host, edge_port = options.edge or (zone_host, zone_port)
        settings = TunnelSettings(
            options=options,
            tunnel_id=str(tunnel.id),
            api_key=self._requester.api_key or "",
            public_host=public_host,
            zone_host=zone_host,
            edge_host=edge_host,
            edge_port=edge_port,
            tls_mode=str(tunnel.tls_mode),
            passthrough_ssl_context=passthrough_context,
        )
        return AsyncTunnelListener(settings, tunnel)

    async def _find(self, name: str, saved: Mapping[str, Any], directory: Path) -> Tunnel:
        """The tunnel named ``name``: by the cached id when it is still live, else by name.

        A cached id the server no longer knows (the identity was recreated, or
        a local emulator restarted) is looked up again by name; the caller
        then rewrites ``state.json``.
        """
        from inkbox_async._tunnel.state import STATE_FILE

        saved_id = saved.get("tunnel_id")
        stale = False
        if (
            isinstance(saved_id, str)
            and check.is_uuid(saved_id)
            and saved.get("name") in (None, name)
        ):
            try:
                tunnel = await self.get(saved_id)
            except NotFoundError:
                stale = True
            else:
                if tunnel.tunnel_name == name:
                    return tunnel
                stale = True
        for tunnel in await self.list():
            if tunnel.tunnel_name == name:
                return tunnel
        state_file = directory / STATE_FILE
        if stale:
            raise TunnelNotProvisionedError(
                f"tunnel {name!r} (id {saved_id}, cached in {str(state_file)!r}) was removed "
                f"and no live tunnel has that name; create the identity {name!r} again"
            )
        raise TunnelNotProvisionedError(
            f"no tunnel named {name!r}; create the identity {name!r} first "
            f"(state directory: {str(directory)!r})"
        )

    async def _ensure_certificate(self, tunnel: Tunnel, directory: Path) -> Tunnel:
        from inkbox_async._tunnel import state as disk

        key = disk.load_or_create_key(directory)
        awaiting = tunnel.status == TunnelStatus.AWAITING_CERT
        if not disk.needs_signing(directory, key, awaiting_cert=awaiting):
            return tunnel
        signed = await self.sign_csr(tunnel.id, csr_pem=disk.build_csr(key, tunnel.public_host))
        disk.write_chain(directory, signed.cert_pem, signed.chain_pem)
        return await self.get(tunnel.id)
