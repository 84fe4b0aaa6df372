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

__all__ = ["ConnectOptions", "connect_options", "edge_context", "split_host_port"]

MAX_POOL_SIZE = 32
MAX_BODY_BYTES = 1024 * MIB


@attrs.frozen(kw_only=True)
class ConnectOptions:
    """Validated ``connect()`` arguments."""

    name: str
    forward_to: str | ASGIApp
    edge: tuple[str, int] | None
    edge_ssl_context: ssl.SSLContext | None
    data_plane_zone: str | None
    state_dir: str | os.PathLike[str] | None
    pool_size: int | None
    on_status: Callable[[str], object] | None
    max_inbound_body_bytes: int
    max_outbound_body_bytes: int
    forward_to_verify_tls: bool
    forward_to_ca_bundle: bytes | str | None
    enable_h2_transcode: bool
    lifespan: LifespanMode


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
    context = ssl.create_default_context()
    try:
        if isinstance(edge_ca, bytes):
            context.load_verify_locations(cadata=edge_ca.decode("ascii"))
        elif isinstance(edge_ca, str | os.PathLike):
            context.load_verify_locations(cafile=os.fspath(edge_ca))
        else:
            raise check.type_error("edge_ca", "PEM bytes or a file path", edge_ca)
    except (OSError, ssl.SSLError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError("edge_ca", f"cannot load the CA: {exc}") from None
    return context


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
    """Check every ``connect()`` argument; raises a clear error naming the bad one.

    ``edge`` and ``edge_ca`` fall back to ``INKBOX_TUNNEL_EDGE`` and
    ``INKBOX_TUNNEL_CA`` (a CA file path), which the emulator's command prints.
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
        forward_to_verify_tls=check.boolean("forward_to_verify_tls", forward_to_verify_tls),
        forward_to_ca_bundle=forward_to_ca_bundle,
        enable_h2_transcode=check.boolean("enable_h2_transcode", enable_h2_transcode),
    )
