"""The emulator's test certificate authority for the tunnel edge (throwaway, or kept in files).

One :class:`TunnelCA` per emulator: an EC P-256 root, a server certificate for
the edge (the zone, ``*.{zone}``, ``localhost``, ``*.localhost`` and
``127.0.0.1``) and the signer behind ``POST /api/v1/tunnels/{id}/sign-csr``.
Clients trust the edge by trusting :attr:`TunnelCA.ca_pem` (or the file at
:attr:`TunnelCA.ca_file`, e.g. through ``SSL_CERT_FILE``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import ssl
import tempfile
import threading
import uuid
import weakref
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["LEAF_LIFETIME_DAYS", "CsrProblem", "SignedLeaf", "TunnelCA", "ca_key_path"]

LEAF_LIFETIME_DAYS = 90


class CsrProblem(ValueError):
    """A CSR that cannot be signed (unparseable, bad signature, wrong name)."""


@dataclass(frozen=True)
class SignedLeaf:
    """A certificate issued for a passthrough tunnel."""

    cert_pem: str
    chain_pem: str
    fingerprint_sha256: str
    expires_at: float


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Inkbox emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _host_names(zone: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    seen: set[str] = set()
    for host in (zone, f"*.{zone}", "localhost", "*.localhost"):
        if host in seen:
            continue
        seen.add(host)
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    if loopback not in names:
        names.append(loopback)
    return names


def ca_key_path(ca_path: str) -> str:
    """Where the private key of the CA kept at ``ca_path`` lives: ``x.pem`` → ``x.key``."""
    stem = ca_path[:-4] if ca_path.endswith(".pem") else ca_path
    return stem + ".key"


def _new_root() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(f"Inkbox emulator tunnel CA {uuid.uuid4().hex[:8]}")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _load_root(path: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None:
    """The root kept at ``path`` (and its key file); None when either file is missing.
    Raises ``ValueError`` when they exist but are not this emulator's CA."""
    key_path = ca_key_path(path)
    try:
        with open(path, "rb") as handle:
            cert_pem = handle.read()
        with open(key_path, "rb") as handle:
            key_pem = handle.read()
    except FileNotFoundError:
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError:
        raise ValueError(f"{path} / {key_path} do not hold a PEM certificate and key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise ValueError(f"the key in {key_path} does not belong to the certificate in {path}")
    return key, cert


def _save_root(path: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    """Write the key (mode 0600) and then the certificate, each replacing its file at once."""
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for target, data, mode in (
        (ca_key_path(path), key_pem, 0o600),
        (path, cert.public_bytes(serialization.Encoding.PEM), 0o644),
    ):
        partial = f"{target}.{uuid.uuid4().hex[:8]}.tmp"
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as handle:
            handle.write(data)
        os.replace(partial, target)


class TunnelCA:
    """An EC P-256 root CA with an edge server certificate.

    Generated in memory, unless ``path`` names where to keep it: the certificate there and its
    private key beside it (:func:`ca_key_path`, mode 0600), loaded when both exist and written
    when not, so a later emulator on the same files is trusted by the same clients. The edge
    certificate is issued afresh by that root on each start.
    """

    def __init__(self, zone: str, path: str | None = None) -> None:
        self.zone = zone
        self.path = path
        root = _load_root(path) if path is not None else None
        if root is None:
            root = _new_root()
            if path is not None:
                _save_root(path, *root)
        self._key, self._cert = root
        self.ca_pem: bytes = self._cert.public_bytes(serialization.Encoding.PEM)
        """The root certificate (PEM) every edge certificate chains to."""
        self._edge_key = ec.generate_private_key(ec.SECP256R1())
        self._edge_cert = self._issue(
            self._edge_key.public_key(), _name(zone), _host_names(zone), days=3650
        )
        self._lock = threading.Lock()
        self._dir: str | None = None
        self._finalizer: weakref.finalize[..., TunnelCA] | None = None

    def _issue(
        self,
        public_key: CertificatePublicKeyTypes,
        subject: x509.Name,
        names: list[x509.GeneralName],
        *,
        days: int,
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )

    @property
    def ca_file(self) -> str:
        """Path of a file holding :attr:`ca_pem`: :attr:`path` when the CA is kept there, else a
        temporary file written on first use and removed by :meth:`close`."""
        if self.path is not None:
            return self.path
        with self._lock:
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="inkbox-emulator-ca-")
                self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
                with open(os.path.join(self._dir, "tunnel-ca.pem"), "wb") as handle:
                    handle.write(self.ca_pem)
            return os.path.join(self._dir, "tunnel-ca.pem")

    def close(self) -> None:
        """Remove the temporary CA file, if one was written."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._dir = None
            self._finalizer = None

    def server_context(self, alpn: list[str]) -> ssl.SSLContext:
        """A TLS server context presenting the edge certificate and offering ``alpn``."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(alpn)
        key_pem = self._edge_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        cert_pem = self._edge_cert.public_bytes(serialization.Encoding.PEM)
        # ssl only loads chains from files; a private temporary directory keeps the key unseen.
        with tempfile.TemporaryDirectory(prefix="inkbox-emulator-edge-") as tmp:
            cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            with open(cert_path, "wb") as handle:
                handle.write(cert_pem + self.ca_pem)
            with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
                handle.write(key_pem)
            context.load_cert_chain(cert_path, key_path)
        return context

    def sign_csr(self, csr_pem: str, public_host: str) -> SignedLeaf:
        """Check a CSR (PEM parses, self-signature valid, CN or a SAN equals ``public_host``)
        and issue a 90-day leaf whose SAN is ``public_host``. Raises :class:`CsrProblem`."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError:
            raise CsrProblem("csr_pem is not a PEM-encoded certificate signing request") from None
        try:
            valid = csr.is_signature_valid
        except (InvalidSignature, ValueError):
            valid = False
        if not valid:
            raise CsrProblem("the CSR signature does not verify")
        host = public_host.lower()
        names = [
            str(a.value).lower() for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            names += [n.lower() for n in san.value.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            pass
        if host not in names:
            raise CsrProblem(f"the CSR must name the tunnel's public host {public_host}")
        leaf = self._issue(
            csr.public_key(),
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, public_host)]),
            [x509.DNSName(public_host)],
            days=LEAF_LIFETIME_DAYS,
        )
        return SignedLeaf(
            cert_pem=leaf.public_bytes(serialization.Encoding.PEM).decode(),
            chain_pem=self.ca_pem.decode(),
            fingerprint_sha256=leaf.fingerprint(hashes.SHA256()).hex(),
            expires_at=leaf.not_valid_after_utc.timestamp(),
        )
