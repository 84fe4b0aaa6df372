"""``h2`` as the peer of our HTTP/2 engines in the ``test_wire_h2_*`` tests."""

from __future__ import annotations

import struct
from typing import TypeVar

import h2.config
import h2.connection
import h2.settings

Connection = TypeVar("Connection", bound=h2.connection.H2Connection)


def h2_peer(
    kind: type[Connection], *, client_side: bool, validate: bool, settings: dict[str, int]
) -> Connection:
    """An ``h2`` connection (bytes as given unless ``validate``) announcing ``settings``
    (``SettingCodes`` names) once it initiates the connection."""
    config = h2.config.H2Configuration(
        client_side=client_side,
        header_encoding=None,
        validate_outbound_headers=validate,
        normalize_outbound_headers=validate,
    )
    peer = kind(config)
    if settings:
        peer.local_settings = h2.settings.Settings(
            client=client_side,
            initial_values={getattr(h2.settings.SettingCodes, k): v for k, v in settings.items()},
        )
    peer.initiate_connection()
    return peer


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One raw frame, as a peer that breaks the rules might send it."""
    return struct.pack(">IBI", len(payload) << 8 | kind, flags, stream_id) + payload
