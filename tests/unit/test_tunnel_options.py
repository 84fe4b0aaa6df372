"""``connect()``'s arguments resolved once: one immutable object, TLS material loaded up front."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import attrs
import pytest

from inkbox_async import InvalidArgumentError
from inkbox_async._tunnel.contracts import TunnelSettings
from inkbox_async._tunnel.forwarding import make_forwarder
from inkbox_async._tunnel.http_dispatch import BodyFetcher
from inkbox_async._tunnel.options import DEFAULT_BODY_CAP, ConnectOptions, connect_options


async def app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app that is never called here."""


def resolve(**changes: Any) -> ConnectOptions:
    """``connect_options`` with ``connect()``'s defaults, then ``changes``."""
    arguments: dict[str, Any] = {
        "name": "my-agent",
        "forward_to": app,
        "edge": None,
        "edge_ca": None,
        "edge_ssl_context": None,
        "data_plane_zone": None,
        "state_dir": None,
        "pool_size": None,
        "on_status": None,
        "max_inbound_body_bytes": DEFAULT_BODY_CAP,
        "max_outbound_body_bytes": DEFAULT_BODY_CAP,
        "allow_remote_forwarding": False,
        "enable_h2_transcode": True,
        "forward_to_verify_tls": True,
        "forward_to_ca_bundle": None,
        **changes,
    }
    return connect_options(**arguments)


@pytest.fixture(autouse=True)
def no_tunnel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INKBOX_TUNNEL_EDGE", raising=False)
    monkeypatch.delenv("INKBOX_TUNNEL_CA", raising=False)


def extra_cas(context: ssl.SSLContext) -> int:
    """How many CA certificates ``context`` trusts beyond the system store."""
    return len(context.get_ca_certs()) - len(ssl.create_default_context().get_ca_certs())


def test_the_options_are_one_immutable_resolved_object() -> None:
    options = resolve(name="@My-Agent", edge="127.0.0.1:8443", pool_size=4)
    assert (options.name, options.edge, options.pool_size) == ("my-agent", ("127.0.0.1", 8443), 4)
    assert options.lifespan == "auto" and options.max_inbound_body_bytes == DEFAULT_BODY_CAP
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.name = "other"  # type: ignore[misc]
    assert not hasattr(options, "forward_to_ca_bundle")  # consumed into the TLS context
    assert not hasattr(options, "allow_remote_forwarding")  # consumed by the target check


def test_the_environment_is_read_once_and_explicit_arguments_win(
    monkeypatch: pytest.MonkeyPatch, upstream_tls: Any, tmp_path: Path
) -> None:
    ca_file = tmp_path / "edge-ca.pem"
    ca_file.write_bytes(upstream_tls.ca_pem)
    monkeypatch.setenv("INKBOX_TUNNEL_EDGE", "edge.local:9443")
    monkeypatch.setenv("INKBOX_TUNNEL_CA", str(ca_file))
    options = resolve()
    assert options.edge == ("edge.local", 9443)
    assert options.edge_ssl_context is not None
    ca_file.unlink()  # loaded already: the options hold the context, not the path
    assert extra_cas(options.edge_ssl_context) == 1
    explicit = ssl.create_default_context()
    chosen = resolve(edge="[::1]:7443", edge_ssl_context=explicit)
    assert chosen.edge == ("::1", 7443) and chosen.edge_ssl_context is explicit


def test_upstream_tls_is_built_only_when_it_matters(upstream_tls: Any) -> None:
    assert resolve().upstream_ssl_context is None  # ASGI app: the system store, lazily
    assert resolve(forward_to="http://127.0.0.1:8080").upstream_ssl_context is None

    https = resolve(forward_to="https://127.0.0.1:8443").upstream_ssl_context
    assert https is not None and https.verify_mode == ssl.CERT_REQUIRED and https.check_hostname

    trusting = resolve(forward_to_ca_bundle=upstream_tls.ca_pem).upstream_ssl_context
    assert trusting is not None and extra_cas(trusting) == 1  # for offloaded bodies too

    unverified = resolve(forward_to_verify_tls=False).upstream_ssl_context
    assert unverified is not None and unverified.verify_mode == ssl.CERT_NONE
    assert not unverified.check_hostname


def test_every_upstream_user_shares_the_one_context(upstream_tls: Any) -> None:
    options = resolve(forward_to="https://127.0.0.1:8443", forward_to_ca_bundle=upstream_tls.ca_pem)
    settings = TunnelSettings(
        options=options,
        tunnel_id="t",
        api_key="k",
        public_host="my-agent.zone",
        zone_host="zone",
        edge_host="127.0.0.1",
    )
    forwarder: Any = make_forwarder(settings)
    fetcher: Any = BodyFetcher(settings)
    context = options.upstream_ssl_context
    assert context is not None
    assert forwarder._upstream._verify is context and fetcher._upstream._verify is context


@pytest.mark.parametrize(
    ("changes", "argument", "problem"),
    [
        ({"forward_to_ca_bundle": "/nonexistent/ca.pem"}, "forward_to_ca_bundle", "cannot read"),
        ({"forward_to_ca_bundle": b"-----BEGIN nothing"}, "forward_to_ca_bundle", "not PEM"),
        ({"forward_to_ca_bundle": b"\xff"}, "forward_to_ca_bundle", "not PEM"),
        ({"edge_ca": "/nonexistent/ca.pem"}, "edge_ca", "cannot read"),
        ({"edge_ca": b"nope"}, "edge_ca", "not PEM"),
        ({"edge_ca": b"x", "edge_ssl_context": ssl.create_default_context()}, "edge_ca", "either"),
        ({"data_plane_zone": "zone:0"}, "data_plane_zone", "port"),
        ({"lifespan": "on", "forward_to": "http://127.0.0.1:1"}, "lifespan", "ASGI app"),
        ({"forward_to_verify_tls": "yes"}, "forward_to_verify_tls", ""),
    ],
)
def test_a_bad_argument_is_named(changes: dict[str, Any], argument: str, problem: str) -> None:
    with pytest.raises((InvalidArgumentError, TypeError)) as caught:
        resolve(**changes)
    assert argument in str(caught.value) and problem in str(caught.value)


def test_a_file_that_is_not_pem_is_named(tmp_path: Path) -> None:
    text = tmp_path / "ca.txt"
    text.write_text("not a certificate\n")
    for argument in ("forward_to_ca_bundle", "edge_ca"):
        with pytest.raises(InvalidArgumentError, match=f"{argument}: the file .* no PEM CA"):
            resolve(**{argument: str(text)})
