"""PAdES signatures on issued reports (pyHanko): a certification signature by Tracemark.

Key and certificate come from ``TRACEMARK_SIGNING_KEY`` / ``TRACEMARK_SIGNING_CERT`` (PEM paths).
Signing appends an incremental update, so the bytes WeasyPrint wrote stay the file's first
revision and the embedded evidence is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SIGNATURE_FIELD = "TracemarkCertification"


@dataclass(frozen=True)
class SignatureCheck:
    present: bool
    intact: bool = False
    trusted: bool = False
    covers_whole_file: bool = False
    signer: str = ""
    signed_at: str = ""
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.present or (self.intact and self.trusted and self.covers_whole_file)


def signing_configured() -> bool:
    key, cert = settings.TRACEMARK_SIGNING_KEY, settings.TRACEMARK_SIGNING_CERT
    if bool(key) != bool(cert):
        raise ImproperlyConfigured("TRACEMARK_SIGNING_KEY and TRACEMARK_SIGNING_CERT go together: set both or neither")
    return bool(key)


def pdf_sign(pdf: bytes, *, reason: str, location: str = "Tracemark") -> bytes:
    """Certify the PDF with the configured key (PAdES baseline B, SHA-256)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    passphrase = settings.TRACEMARK_SIGNING_KEY_PASSPHRASE.encode() or None
    signer = signers.SimpleSigner.load(
        settings.TRACEMARK_SIGNING_KEY, settings.TRACEMARK_SIGNING_CERT, key_passphrase=passphrase
    )
    if signer is None:
        raise ImproperlyConfigured("could not load the report signing key or certificate")
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    out = signers.sign_pdf(writer, meta, signer=signer)
    return out.getvalue()


def _trust_roots() -> list[object]:
    from pyhanko.keys import load_cert_from_pemder

    paths = [p for p in [settings.TRACEMARK_SIGNING_CERT, *settings.TRACEMARK_REPORT_TRUST_ROOTS] if p]
    return [load_cert_from_pemder(p) for p in paths if Path(p).exists()]


def pdf_signature_check(pdf: bytes) -> SignatureCheck:
    """Validate the signatures in the file against the configured trust roots, offline."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(pdf), strict=False)
    signatures = list(reader.embedded_signatures)
    if not signatures:
        return SignatureCheck(present=False)
    sig = signatures[-1]
    context = ValidationContext(trust_roots=_trust_roots(), allow_fetching=False)
    try:
        status = validate_pdf_signature(sig, context)
    except (SignatureValidationError, ValueError) as exc:
        return SignatureCheck(present=True, problem=f"signature cannot be validated: {exc}")
    signer = status.signing_cert.subject.human_friendly if status.signing_cert else ""
    covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    problem = ""
    if not status.intact:
        problem = "the signed bytes were changed after signing"
    elif not covers:
        problem = "content was added to the file after it was signed"
    elif not status.trusted:
        problem = f"the signer ({signer}) is not a trusted report signer"
    return SignatureCheck(
        present=True,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        covers_whole_file=covers,
        signer=signer,
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else "",
        problem=problem,
    )
