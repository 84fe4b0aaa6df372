"""A tunnel's on-disk state: ``state.json``, the passthrough key and certificate.

The directory (default ``~/.inkbox/tunnels/{name}``) is created 0700 and
refused when it is a symlink; files are written 0600, atomically (temporary
file in the same directory, then rename). The layout is the one the other
official SDKs read, so a directory can be shared between them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any

from inkbox_async._errors import InvalidArgumentError

__all__ = [
    "CERT_FILE",
    "KEY_FILE",
    "STATE_FILE",
    "build_csr",
    "load_or_create_key",
    "needs_signing",
    "passthrough_context",
    "prepare_directory",
    "read_state",
    "write_chain",
    "write_state",
]

STATE_FILE = "state.json"
KEY_FILE = "private_key.pem"
CERT_FILE = "cert_chain.pem"
RENEW_BEFORE = dt.timedelta(days=14)


def prepare_directory(name: str, state_dir: str | os.PathLike[str] | None) -> Path:
    """The state directory for tunnel ``name``, created (0700) if missing."""
    directory = (
        Path(state_dir) if state_dir is not None else Path.home() / ".inkbox" / "tunnels" / name
    )
    if directory.is_symlink():
        raise InvalidArgumentError("state_dir", f"{str(directory)!r} is a symlink; refusing it")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not directory.is_dir():
        raise InvalidArgumentError("state_dir", f"{str(directory)!r} is not a directory")
    directory.chmod(0o700)
    return directory


def read_state(directory: Path) -> dict[str, Any]:
    """``state.json`` as a dict; ``{}`` when missing or unreadable."""
    try:
        data = json.loads((directory / STATE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(directory: Path, **fields: str | None) -> None:
    """Rewrite ``state.json`` with the known fields (sorted keys, two-space indent)."""
    state = {key: value for key, value in fields.items() if value is not None}
    _write_atomic(directory / STATE_FILE, (json.dumps(state, indent=2, sort_keys=True) + "\n"))


def _write_atomic(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load_or_create_key(directory: Path) -> Any:
    """The EC P-256 private key in ``private_key.pem``; generated (0600, PKCS#8) if absent."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = directory / KEY_FILE
    if path.exists():
        if path.is_symlink():
            raise InvalidArgumentError("state_dir", f"{str(path)!r} is a symlink; refusing it")
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return key


def needs_signing(directory: Path, key: Any, *, awaiting_cert: bool) -> bool:
    """Whether a new certificate must be signed for ``key``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if awaiting_cert:
        return True
    try:
        certificate = x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes())
    except (OSError, ValueError):
        return True
    remaining = certificate.not_valid_after_utc - dt.datetime.now(dt.UTC)
    if remaining < RENEW_BEFORE:
        return True
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    ours = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    theirs = certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    return bool(ours != theirs)


def build_csr(key: Any, public_host: str) -> str:
    """A PEM CSR with CN and DNS SAN = ``public_host``, signed with SHA-256."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, public_host)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(public_host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode("ascii")


def write_chain(directory: Path, cert_pem: str, chain_pem: str) -> None:
    """Store the signed leaf followed by its chain in ``cert_chain.pem`` (0600)."""
    leaf = cert_pem if cert_pem.endswith("\n") else cert_pem + "\n"
    _write_atomic(directory / CERT_FILE, leaf + chain_pem)


def passthrough_context(directory: Path, *, enable_h2_transcode: bool) -> ssl.SSLContext:
    """The TLS server context that terminates public traffic in passthrough mode."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / CERT_FILE, directory / KEY_FILE)
    context.set_alpn_protocols(["h2", "http/1.1"] if enable_h2_transcode else ["http/1.1"])
    return context
