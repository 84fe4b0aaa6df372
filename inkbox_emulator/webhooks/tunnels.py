"""Webhooks addressed to tunnel hosts go through the emulator's own edge.

A webhook URL on ``{name}.{zone}`` (the emulator's tunnel zone) names a tunnel of
this emulator, not a host on the internet: ``https://`` URLs are sent to the edge's
TLS listener with SNI and ``Host`` ``{name}.{zone}`` (the certificate is checked
against the emulator's test CA, as a caller on the internet would check the real
one), ``http://`` URLs to the plain public listener with that ``Host``. Either way
the tunnel's agent receives the request as it would from the hosted edge, so
inbound mail → signed webhook → app behind a tunnel runs offline.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

__all__ = ["EdgeRoute", "Target"]

_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Target:
    """Where one webhook POST really goes."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)
    via_edge: bool = False


class EdgeRoute:
    """Maps webhook URLs on the tunnel zone onto the edge's listeners (see module docstring).

    ``edge_address`` and ``public_url`` are read at each delivery (the edge may restart on
    other ports); they raise ``RuntimeError`` while the edge is down, which the delivery
    records as its error.
    """

    def __init__(
        self,
        zone: str,
        ca_pem: bytes,
        edge_address: Callable[[], str],
        public_url: Callable[[], str],
    ) -> None:
        self.zone = zone.lower().rstrip(".")
        self._ca_pem = ca_pem
        self._edge_address = edge_address
        self._public_url = public_url

    def target(self, url: str) -> Target:
        """The request to make for a webhook to ``url``."""
        try:
            parsed = httpx2.URL(url)
        except Exception:  # left to the HTTP client, which reports it as the attempt's error
            return Target(url)
        host = parsed.host.lower().rstrip(".")
        scheme = parsed.scheme
        if (
            scheme not in _DEFAULT_PORTS
            or not host.endswith("." + self.zone)
            or parsed.port not in (None, _DEFAULT_PORTS[scheme])
        ):
            return Target(url)
        path = parsed.raw_path.decode("ascii")
        if scheme == "https":
            return Target(
                f"https://{self._edge_address()}{path}",
                {"Host": host},
                {"sni_hostname": host},
                via_edge=True,
            )
        return Target(f"{self._public_url()}{path}", {"Host": host}, via_edge=True)

    def client(self, timeout: float, **options: Any) -> httpx2.Client:
        """An HTTP client trusting the emulator's test CA (and nothing else)."""
        context = ssl.create_default_context(cadata=self._ca_pem.decode("ascii"))
        return httpx2.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=context, **options
        )
