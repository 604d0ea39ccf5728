from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.test import override_settings
from pypdf import PdfReader, PdfWriter

from reports.models import Report
from reports.services import report_issue
from reports.verification import report_verify
from tests.reports.scenario import Scenario


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tracemark tests"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
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
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key.pem", directory / f"{name}.cert.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.fixture
def signing_keys(tmp_path: Path) -> tuple[Path, Path]:
    return _self_signed(tmp_path, "tracemark-reports")


@pytest.fixture
def signed(scenario: Scenario, signing_keys: tuple[Path, Path]) -> Report:
    key, cert = signing_keys
    with override_settings(TRACEMARK_SIGNING_KEY=str(key), TRACEMARK_SIGNING_CERT=str(cert)):
        return report_issue(system_slug="credit-scoring", kind="annex-iv", as_of_seq=scenario.seq, requested_by="ana")


def test_a_signed_report_verifies_with_its_signature(signed: Report, signing_keys: tuple[Path, Path]) -> None:
    key, cert = signing_keys
    with override_settings(TRACEMARK_SIGNING_KEY=str(key), TRACEMARK_SIGNING_CERT=str(cert)):
        verdict = report_verify(pdf=bytes(signed.pdf))

    signature = next(c for c in verdict.checks if c.name == "signature")
    assert signed.signed
    assert verdict.ok, verdict.failures
    assert "intact, trusted and covering the whole file" in signature.detail
    assert "tracemark-reports" in signature.detail


def test_signing_keeps_the_evidence_attachment(signed: Report) -> None:
    reader = PdfReader(BytesIO(bytes(signed.pdf)))

    assert set(reader.attachments) == {"evidence.json", "tracemark-report.json"}


def test_content_added_after_signing_fails_the_signature(signed: Report, signing_keys: tuple[Path, Path]) -> None:
    writer = PdfWriter(BytesIO(bytes(signed.pdf)), incremental=True)
    writer.add_metadata({"/Subject": "approved by the board"})
    out = BytesIO()
    writer.write(out)
    key, cert = signing_keys

    with override_settings(TRACEMARK_SIGNING_KEY=str(key), TRACEMARK_SIGNING_CERT=str(cert)):
        verdict = report_verify(pdf=out.getvalue(), rebuild=False)

    failed = {c.name: c.detail for c in verdict.failures}
    assert "signature" in failed
    assert "after it was signed" in failed["signature"] or "changed after signing" in failed["signature"]


def test_a_signature_by_an_unknown_key_is_not_trusted(
    signed: Report, signing_keys: tuple[Path, Path], tmp_path: Path
) -> None:
    other_key, other_cert = _self_signed(tmp_path, "someone-else")

    with override_settings(TRACEMARK_SIGNING_KEY=str(other_key), TRACEMARK_SIGNING_CERT=str(other_cert)):
        verdict = report_verify(pdf=bytes(signed.pdf), rebuild=False)

    failed = {c.name: c.detail for c in verdict.failures}
    assert "not a trusted report signer" in failed["signature"]
