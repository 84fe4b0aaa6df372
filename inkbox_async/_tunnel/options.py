"""``tunnels.connect()`` arguments, checked before any I/O."""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Callable
from typing import Any

import attrs

from inkbox_async import _validate as check
from inkbox_async._errors import InvalidArgumentError
from inkbox_async._tunnel.contracts import MIB, ASGIApp
from inkbox_async._tunnel.lifespan import LIFESPAN_MODES, LifespanMode

__all__ = [
    "DEFAULT_BODY_CAP",
    "ConnectOptions",
    "connect_options",
    "edge_context",
    "split_host_port",
    "upstream_context",
]

MAX_POOL_SIZE = 32
MAX_BODY_BYTES = 1024 * MIB
DEFAULT_BODY_CAP = 32 * MIB


@attrs.frozen(kw_only=True)
class ConnectOptions:
    """``connect()``'s arguments, checked and resolved once; the tunnel runtime reads these.

    Files and TLS material are loaded here, so a bad CA fails at ``connect()``.
    """

    name: str
    """The tunnel's name (the identity's handle, lower-case, no ``@``)."""
    forward_to: str | ASGIApp
    edge: tuple[str, int] | None = None
    """The edge's address when not the zone's (``edge=`` or ``INKBOX_TUNNEL_EDGE``)."""
    edge_ssl_context: ssl.SSLContext | None = None
    """Trust for the edge's certificate; ``None``: the system store."""
    data_plane_zone: str | None = None
    state_dir: str | os.PathLike[str] | None = None
    pool_size: int | None = None
    on_status: Callable[[str], object] | None = None
    max_inbound_body_bytes: int = DEFAULT_BODY_CAP
    max_outbound_body_bytes: int = DEFAULT_BODY_CAP
    enable_h2_transcode: bool = True
    lifespan: LifespanMode = "auto"
    upstream_ssl_context: ssl.SSLContext | None = None
    """Client TLS for ``https://`` upstreams (``forward_to`` and offloaded bodies), from
    ``forward_to_verify_tls`` and ``forward_to_ca_bundle``; ``None``: the system store,
    left to the upstream client to load if a body fetch ever needs it."""


def split_host_port(argument: str, value: str, default_port: int = 443) -> tuple[str, int]:
    """``"host"``, ``"host:port"`` or ``"[v6]:port"`` as ``(host, port)``."""
    host, port = value, default_port
    if value.startswith("["):
        closing = value.find("]")
        if closing < 0:
            raise InvalidArgumentError(argument, f"{value!r} is not host[:port]")
        host, rest = value[1:closing], value[closing + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise InvalidArgumentError(argument, f"{value!r} is not host[:port]")
            port = _port(argument, value, rest[1:])
    elif value.count(":") == 1:
        host, text = value.split(":")
        port = _port(argument, value, text)
    elif ":" in value:
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            raise InvalidArgumentError(argument, f"{value!r} is not host[:port]") from None
    if not host or any(char in host for char in "/@?# "):
        raise InvalidArgumentError(argument, f"{value!r} is not host[:port]")
    return host, port


def _port(argument: str, value: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidArgumentError(argument, f"{value!r} has an invalid port")
    return int(text)


def edge_context(
    edge_ca: str | bytes | os.PathLike[str] | None, edge_ssl_context: ssl.SSLContext | None
) -> ssl.SSLContext | None:
    """The TLS context trusted for the edge (``None``: the system store)."""
    if edge_ssl_context is not None:
        if edge_ca is not None:
            raise InvalidArgumentError("edge_ca", "pass either edge_ca or edge_ssl_context")
        if not isinstance(edge_ssl_context, ssl.SSLContext):
            raise check.type_error("edge_ssl_context", "an ssl.SSLContext", edge_ssl_context)
        return edge_ssl_context
    if edge_ca is None:
        return None
    if not isinstance(edge_ca, bytes | str | os.PathLike):
        raise check.type_error("edge_ca", "PEM bytes or a file path", edge_ca)
    context = ssl.create_default_context()
    _trust("edge_ca", context, edge_ca)
    return context


def upstream_context(
    forward_to: object, verify: bool, ca_bundle: bytes | str | os.PathLike[str] | None
) -> ssl.SSLContext | None:
    """The one client context for ``https://`` upstreams, or ``None`` for the system store.

    Built here when it matters (an ``https://`` target, a CA bundle, or no
    verification) and shared by every upstream exchange and WebSocket.
    """
    https = isinstance(forward_to, str) and forward_to.lower().startswith("https:")
    if not https and verify and ca_bundle is None:
        return None
    context = ssl.create_default_context()
    if ca_bundle is not None:
        _trust("forward_to_ca_bundle", context, ca_bundle)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def _trust(argument: str, context: ssl.SSLContext, ca: bytes | str | os.PathLike[str]) -> None:
    """Add the CA certificates of ``ca`` (PEM bytes, or a PEM file's path) to ``context``."""
    if isinstance(ca, bytes):
        try:
            context.load_verify_locations(cadata=ca.decode("ascii"))
        except (ssl.SSLError, ValueError):  # UnicodeDecodeError is a ValueError
            raise InvalidArgumentError(argument, "is not PEM CA certificates") from None
        return
    path = os.fspath(ca)
    try:
        context.load_verify_locations(cafile=path)
    except (ssl.SSLError, ValueError):  # before OSError: SSLError is one
        raise InvalidArgumentError(
            argument, f"the file {path!r} holds no PEM CA certificate"
        ) from None
    except OSError as exc:
        raise InvalidArgumentError(
            argument, f"cannot read the CA file {path!r}: {exc.strerror or exc}"
        ) from None


def _lifespan(value: object, forward_to: object) -> LifespanMode:
    if not isinstance(value, str):
        raise check.type_error("lifespan", "'auto', 'on' or 'off'", value)
    for mode in LIFESPAN_MODES:
        if value == mode:
            if mode == "on" and isinstance(forward_to, str):
                raise InvalidArgumentError(
                    "lifespan", "'on' needs an ASGI app as forward_to, not a URL"
                )
            return mode
    raise InvalidArgumentError("lifespan", f"must be 'auto', 'on' or 'off', not {value!r}")


def _body_cap(argument: str, value: object) -> int:
    return check.int_range(argument, value, 1, MAX_BODY_BYTES)


def connect_options(
    *,
    name: object,
    forward_to: object,
    edge: object,
    edge_ca: Any,
    edge_ssl_context: Any,
    data_plane_zone: object,
    state_dir: Any,
    pool_size: object,
    on_status: object,
    max_inbound_body_bytes: object,
    max_outbound_body_bytes: object,
    allow_remote_forwarding: object,
    enable_h2_transcode: object,
    forward_to_verify_tls: object,
    forward_to_ca_bundle: object,
    lifespan: object = "auto",
) -> ConnectOptions:
    """Check and resolve every ``connect()`` argument; raises a clear error naming the bad one.

    ``edge`` and ``edge_ca`` fall back to ``INKBOX_TUNNEL_EDGE`` and
    ``INKBOX_TUNNEL_CA`` (a CA file path), which the emulator's command prints.
    CA files are read and TLS contexts built here, before any network I/O.
    """
    from inkbox_async._tunnel.forwarding import check_forward_target

    handle = check.handle("name", name).removeprefix("@").lower()
    allow_remote = check.boolean("allow_remote_forwarding", allow_remote_forwarding)
    if isinstance(forward_to, str):
        check_forward_target(forward_to, allow_remote)
    elif not callable(forward_to):
        raise check.type_error("forward_to", "a URL string or an ASGI app", forward_to)
    if edge is None:
        edge = os.environ.get("INKBOX_TUNNEL_EDGE") or None
    if edge_ca is None and edge_ssl_context is None:
        edge_ca = os.environ.get("INKBOX_TUNNEL_CA") or None
    edge_address = None
    if edge is not None:
        edge_address = split_host_port("edge", check.text("edge", edge))
    zone = check.optional_text("data_plane_zone", data_plane_zone)
    if zone is not None:
        split_host_port("data_plane_zone", zone)
    if state_dir is not None and not isinstance(state_dir, str | os.PathLike):
        raise check.type_error("state_dir", "a path", state_dir)
    if pool_size is not None:
        pool_size = check.int_range("pool_size", pool_size, 1, MAX_POOL_SIZE)
    if on_status is not None and not callable(on_status):
        raise check.type_error("on_status", "a callable taking a status string", on_status)
    verify = check.boolean("forward_to_verify_tls", forward_to_verify_tls)
    if forward_to_ca_bundle is not None and not isinstance(forward_to_ca_bundle, str | bytes):
        raise check.type_error(
            "forward_to_ca_bundle", "PEM bytes or a file path", forward_to_ca_bundle
        )
    return ConnectOptions(
        lifespan=_lifespan(lifespan, forward_to),
        name=handle,
        forward_to=forward_to,
        edge=edge_address,
        edge_ssl_context=edge_context(edge_ca, edge_ssl_context),
        data_plane_zone=zone,
        state_dir=state_dir,
        pool_size=pool_size,
        on_status=on_status,
        max_inbound_body_bytes=_body_cap("max_inbound_body_bytes", max_inbound_body_bytes),
        max_outbound_body_bytes=_body_cap("max_outbound_body_bytes", max_outbound_body_bytes),
        enable_h2_transcode=check.boolean("enable_h2_transcode", enable_h2_transcode),
        upstream_ssl_context=upstream_context(forward_to, verify, forward_to_ca_bundle),
    )
