"""Self-signed certificates for the tests that need one (a token issuer, a TLS server)."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID


def self_signed(
    key: CertificateIssuerPrivateKeyTypes, common_name: str, addresses: Sequence[str] = (), names: Sequence[str] = ()
) -> x509.Certificate:
    """A CA certificate for KEY, valid from a day ago to a day ahead, naming ADDRESSES (IPs) and
    NAMES (DNS names)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if addresses or names:
        sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
        sans += [x509.DNSName(name) for name in names]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256())


def server_files(
    directory: Path, addresses: Sequence[str] = ("127.0.0.1",), names: Sequence[str] = ()
) -> tuple[Path, Path]:
    """(certificate, key) PEM files in DIRECTORY for a TLS server on ADDRESSES and NAMES; the
    certificate is its own CA, so it is also the file a client trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed(key, "costcalc test server", addresses, names)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
