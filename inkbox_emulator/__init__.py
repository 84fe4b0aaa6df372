"""A stateful local emulator of the hosted Inkbox API.

>>> from inkbox_emulator import Emulator
>>> with Emulator() as emu:                      # doctest: +SKIP
...     creds = emu.create_org()
...     # point any Inkbox client at emu.base_url with creds.api_key

It keeps real state in SQLite, serves real HTTP (HTTP/1.1 and HTTP/2) on
loopback, and exposes a control API under ``/_emulator``. Mail behaves like a
real service: local delivery between mailboxes, an outbox of what the outside
world received (delivered / bounced / failed), injected inbound mail, signed
attachment URLs and signed, retried webhooks; faults (error statuses, delays,
dropped connections) can be injected on any public route. Phone behaves like a
real provider: numbers from a deterministic pool with a 10DLC warm-up, the SMS
rules (local senders only, 15 texts per sender per rolling 24 h, recipient
opt-in by START/STOP, contact rules), outbound texts moving queued → sent →
delivered (or a failure chosen per recipient) with signed ``text.*`` webhooks,
injected inbound texts (MMS media at signed URLs) and calls routed through the
synchronous incoming-call webhook, per-number call usage limits, and
transcripts. The zero-knowledge
vault stores only what the hosted service stores (wrapped keys, auth hashes,
ciphertext, metadata, access rules) and enforces access rules for
identity-scoped keys. The address book keeps contacts (visible to an
identity-scoped key only when shared with it), merges and bulk-deletes them,
imports vCard 2.1/3.0/4.0 uploads card by card and exports vCard 4.0; webhook
``contacts`` are matched against it. Notes are shared with identities by
explicit grants. It speaks the hosted API's wire on its own and never imports
the SDK. It needs the ``emulator`` extra (``pip install "inkbox-sdk[emulator]"``);
without it, using its names raises an ImportError saying so.
"""

from __future__ import annotations

from ._extra import missing_extra

__all__ = ["Emulator", "OrgCredentials", "RecordedRequest", "signing_headers"]

try:
    from ._emulator import Emulator, OrgCredentials
    from .core.recording import RecordedRequest
    from .webhooks.signing import signing_headers
except ModuleNotFoundError as _exc:
    # Without the ``emulator`` extra the package still imports (so the CLI can say what to
    # install); using any of its names raises an ImportError naming the extra.
    _missing = missing_extra(_exc)

    def __getattr__(name: str) -> object:
        if name in __all__:
            raise _missing
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
