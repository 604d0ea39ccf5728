"""Check a report PDF against itself, against the ledger and against the issuance register.

``report_verify(pdf=...)`` runs every check and names each one that fails:

1. the PDF opens and carries ``evidence.json`` and the manifest as PDF/A-3 attachments;
2. the SHA-256 of the embedded evidence equals the content hash in the manifest, in the document
   metadata and printed on the cover;
3. the metadata (report id, kind, system, sequence, ledger head, issuer) matches the manifest;
4. the ledger entry at the report's sequence has the chain hash the report states, and the chain
   up to it recomputes; every cited entry still has the payload hash the evidence recorded;
5. the text on every page is what the embedded evidence renders to (an edited page fails,
   naming the page and the first line that differs);
6. the evidence rebuilt from the database as of the same sequence has the same content hash;
7. the file is the one Tracemark issued (its SHA-256 recorded by a ``report.issued`` entry);
8. the PAdES signature, if any, is intact, trusted and covers the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

import orjson
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from lineage.canonical import GENESIS_HASH, chain_hash, sha256_hex
from lineage.models import LedgerEntry
from reports.evidence import EVIDENCE_FORMAT, evidence_build, report_id_for
from reports.models import Report
from reports.rendering import EVIDENCE_NAME, MANIFEST_FORMAT, MANIFEST_NAME, Issuance, report_render
from reports.signing import pdf_signature_check

HASH_ON_COVER = re.compile(r"sha256:\s*([0-9a-f]{64})")
# Document-information keys that must equal the manifest's values (WeasyPrint writes the HTML
# <meta> names, which the HTML parser lower-cases).
METADATA_KEYS = {
    "/tracemarkreportid": "report_id",
    "/tracemarkkind": "kind",
    "/tracemarksystem": "system",
    "/tracemarkledgerseq": "as_of_seq",
    "/tracemarkledgerhead": "ledger_head_hash",
    "/tracemarkcontenthash": "content_hash",
    "/tracemarkissuedby": "issued_by",
    "/tracemarkissuedat": "issued_at",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Verdict:
    checks: list[Check] = field(default_factory=list)
    report_id: str = ""
    content_hash: str = ""
    as_of_seq: int | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name=name, ok=ok, detail=detail))
        return ok


def _attachment(reader: PdfReader, name: str) -> bytes | None:
    found = reader.attachments.get(name)
    if not found:
        return None
    return found[0] if isinstance(found, list) else found


def _page_texts(reader: PdfReader) -> list[list[str]]:
    pages = []
    for page in reader.pages:
        text = page.extract_text() or ""
        pages.append([" ".join(line.split()) for line in text.splitlines() if line.strip()])
    return pages


def report_claimed_systems(*, pdf: bytes) -> set[str]:
    """The system slugs a PDF's manifest and evidence name (empty when it carries neither).

    Read before verifying, so that a caller can refuse to check (and so to describe) a report of a
    system its user may not see.
    """
    try:
        reader = PdfReader(BytesIO(pdf))
        manifest_bytes = _attachment(reader, MANIFEST_NAME)
        evidence_bytes = _attachment(reader, EVIDENCE_NAME)
        manifest = orjson.loads(manifest_bytes) if manifest_bytes else {}
        evidence = orjson.loads(evidence_bytes) if evidence_bytes else {}
    except (PdfReadError, ValueError, OSError, orjson.JSONDecodeError):
        return set()
    claimed = set()
    if isinstance(manifest, dict) and manifest.get("system"):
        claimed.add(str(manifest["system"]))
    system = evidence.get("system") if isinstance(evidence, dict) else None
    if isinstance(system, dict) and system.get("slug"):
        claimed.add(str(system["slug"]))
    return claimed


def report_verify(*, pdf: bytes, rebuild: bool = True) -> Verdict:
    verdict = Verdict()
    try:
        reader = PdfReader(BytesIO(pdf))
        info = dict(reader.metadata or {})
    except (PdfReadError, ValueError, OSError) as exc:
        verdict.add("pdf", False, f"not a readable PDF: {exc}")
        return verdict

    # 1. Attachments.
    evidence_bytes = _attachment(reader, EVIDENCE_NAME)
    manifest_bytes = _attachment(reader, MANIFEST_NAME)
    if evidence_bytes is None or manifest_bytes is None:
        missing = [n for n, b in ((EVIDENCE_NAME, evidence_bytes), (MANIFEST_NAME, manifest_bytes)) if b is None]
        verdict.add("attachments", False, f"attachment missing: {', '.join(missing)} (not a Tracemark report?)")
        return verdict
    try:
        evidence: dict[str, Any] = orjson.loads(evidence_bytes)
        manifest: dict[str, Any] = orjson.loads(manifest_bytes)
    except orjson.JSONDecodeError as exc:
        verdict.add("attachments", False, f"an attachment is not valid JSON: {exc}")
        return verdict
    if evidence.get("format") != EVIDENCE_FORMAT or manifest.get("format") != MANIFEST_FORMAT:
        verdict.add("attachments", False, "unknown evidence or manifest format")
        return verdict
    verdict.add("attachments", True, f"{EVIDENCE_NAME} ({len(evidence_bytes):,} bytes) and {MANIFEST_NAME} embedded")
    verdict.report_id = str(manifest.get("report_id", ""))
    verdict.as_of_seq = int(evidence["as_of"]["seq"])

    # 2. Content hash, four ways.
    recomputed = sha256_hex(evidence_bytes)
    verdict.content_hash = recomputed
    texts = _page_texts(reader)
    cover = " ".join(texts[0]) if texts else ""
    printed = HASH_ON_COVER.search(cover)
    stated = {
        "manifest": manifest.get("content_hash"),
        "metadata /tracemarkcontenthash": info.get("/tracemarkcontenthash"),
        "text on the cover": printed.group(1) if printed else None,
    }
    wrong = [f"{where} says {value or 'nothing'}" for where, value in stated.items() if value != recomputed]
    verdict.add(
        "content hash",
        not wrong,
        f"sha256:{recomputed} of attachment {EVIDENCE_NAME}"
        + (" matches the manifest, the metadata and the cover" if not wrong else "; but " + "; ".join(wrong)),
    )

    # 3. Metadata against the manifest.
    mismatched = [
        f"{key} is {info.get(key)!r}, the manifest says {str(manifest.get(field_name))!r}"
        for key, field_name in METADATA_KEYS.items()
        if str(info.get(key)) != str(manifest.get(field_name))
    ]
    consistent = (
        manifest.get("as_of_seq") == evidence["as_of"]["seq"]
        and manifest.get("ledger_head_hash") == evidence["as_of"]["chain_hash"]
        and manifest.get("kind") == evidence["kind"]
        and manifest.get("system") == evidence["system"]["slug"]
        and manifest.get("report_id")
        == evidence["system"]["report_id"]
        == report_id_for(slug=evidence["system"]["slug"], kind=evidence["kind"], seq=evidence["as_of"]["seq"])
    )
    if not consistent:
        mismatched.append("the manifest does not describe the embedded evidence (id, kind, system or sequence)")
    verdict.add("metadata", not mismatched, "; ".join(mismatched) or "document metadata matches the manifest")

    # 4. Ledger.
    seq, head_hash = int(evidence["as_of"]["seq"]), str(evidence["as_of"]["chain_hash"])
    verdict.add("ledger head", *_check_chain(seq, head_hash))
    verdict.add("cited entries", *_check_citations(evidence.get("citations") or []))

    # 5. Page text against a fresh rendering of the embedded evidence.
    try:
        issuance = Issuance(
            report_id=str(manifest["report_id"]),
            issued_by=str(manifest["issued_by"]),
            issued_at=datetime.fromisoformat(str(manifest["issued_at"]).replace("Z", "+00:00")),
        )
        expected_pdf = report_render(evidence_bytes=evidence_bytes, issuance=issuance)
        expected_reader = PdfReader(BytesIO(expected_pdf))
        verdict.add("text", *_compare_text(_page_texts(expected_reader), texts))
        expected_info = dict(expected_reader.metadata or {})
        changed = sorted(
            k
            for k in set(expected_info) | set(info)
            if k not in ("/ModDate", "/Producer") and str(expected_info.get(k)) != str(info.get(k))
        )
        verdict.add(
            "document information",
            not changed,
            "title, subject, keywords and dates are as rendered"
            if not changed
            else "changed after rendering: "
            + ", ".join(f"{k} is {info.get(k)!r}, expected {expected_info.get(k)!r}" for k in changed),
        )
    except (KeyError, ValueError) as exc:
        verdict.add("text", False, f"cannot re-render the report from its evidence: {exc}")

    # 6. Rebuild from the database.
    if rebuild:
        verdict.add("rebuild", *_check_rebuild(evidence, recomputed))

    # 7. Issuance register.
    verdict.add("issuance", *_check_issuance(pdf, str(manifest.get("report_id", ""))))

    # 8. Signature.
    sig = pdf_signature_check(pdf)
    if sig.present:
        verdict.add(
            "signature",
            sig.ok,
            f"PAdES signature by {sig.signer or 'unknown signer'}"
            + (f" at {sig.signed_at}" if sig.signed_at else "")
            + (": intact, trusted and covering the whole file" if sig.ok else f": {sig.problem}"),
        )
    else:
        verdict.add("signature", True, "not signed (no signature to check)")
    return verdict


def _entries_upto(seq: int, batch: int = 5000) -> Iterator[tuple[Any, ...]]:
    last = 0
    while last < seq:
        rows = list(
            LedgerEntry.objects.filter(seq__gt=last, seq__lte=seq)
            .order_by("seq")
            .values_list("seq", "kind", "received_at", "producer_id", "payload_hash", "prev_hash", "chain_hash")[:batch]
        )
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _check_chain(seq: int, stated: str) -> tuple[bool, str]:
    """Recompute the chain from the genesis to ``seq``; its head must be the hash the report states."""
    prev, expected = GENESIS_HASH, 1
    for entry_seq, kind, received_at, producer_id, payload_hash, prev_hash, stored in _entries_upto(seq):
        if entry_seq != expected:
            return False, f"ledger entry #{expected} is missing"
        recomputed = chain_hash(
            prev_hash=prev,
            seq=entry_seq,
            kind=kind,
            received_at=received_at,
            producer_id=producer_id,
            payload_hash=payload_hash,
        )
        if prev_hash != prev or recomputed != stored:
            return False, f"the ledger chain is broken at entry #{entry_seq}"
        prev, expected = stored, entry_seq + 1
    if expected - 1 != seq:
        return False, f"the ledger has no entry #{seq} (it ends at #{expected - 1})"
    if prev != stated:
        return False, f"the ledger head at #{seq} is {prev}, the report states {stated}"
    return True, f"chain recomputed from the genesis to #{seq}; head {prev} as stated"


def _check_citations(citations: list[dict[str, Any]]) -> tuple[bool, str]:
    wanted = {int(c["seq"]): str(c["payload_hash"]) for c in citations}
    found: dict[int, tuple[str, str]] = {}
    keys = sorted(wanted)
    for start in range(0, len(keys), 500):
        for s, payload_hash, payload in LedgerEntry.objects.filter(seq__in=keys[start : start + 500]).values_list(
            "seq", "payload_hash", "payload"
        ):
            found[s] = (payload_hash, sha256_hex(payload.encode()))
    problems = []
    for s, stated in sorted(wanted.items()):
        if s not in found:
            problems.append(f"#{s} is not in the ledger")
        elif found[s][0] != stated:
            problems.append(f"#{s} has payload hash {found[s][0]}, the report cites {stated}")
        elif found[s][1] != stated:
            problems.append(f"#{s}: its payload no longer matches its hash")
    if problems:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        return False, f"{len(problems)} of {len(wanted)} cited entries do not match: {shown}"
    return True, f"all {len(wanted)} cited ledger entries match their recorded payload hashes"


def _compare_text(expected: list[list[str]], actual: list[list[str]]) -> tuple[bool, str]:
    if len(expected) != len(actual):
        return False, f"the file has {len(actual)} pages, the evidence renders to {len(expected)}"
    for number, (want, have) in enumerate(zip(expected, actual, strict=True), start=1):
        if want == have:
            continue
        for line, (w, h) in enumerate(zip(want, have, strict=False), start=1):
            if w != h:
                return False, f"page {number}, line {line} reads {h[:90]!r}; the evidence gives {w[:90]!r}"
        return False, f"page {number} has {len(have)} lines of text, the evidence gives {len(want)}"
    return True, f"the text of all {len(actual)} pages is what the embedded evidence renders to"


def _check_rebuild(evidence: dict[str, Any], content_hash: str) -> tuple[bool, str]:
    from reports.evidence import EvidenceError

    slug, kind, seq = evidence["system"]["slug"], evidence["kind"], int(evidence["as_of"]["seq"])
    try:
        rebuilt = evidence_build(system=slug, kind=kind, as_of_seq=seq)
    except EvidenceError as exc:
        return False, f"cannot rebuild the evidence from this database: {exc}"
    if rebuilt.content_hash == content_hash:
        return True, f"evidence rebuilt from the database as of #{seq} has the same content hash"
    differing = _differing_parts(evidence, rebuilt.data)
    return False, (
        f"evidence rebuilt as of #{seq} has content hash {rebuilt.content_hash}; differs in: {', '.join(differing)}"
    )


def _differing_parts(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    parts = []
    for key in sorted(set(old) | set(new)):
        if key == "sections":
            old_s = {s["id"]: s for s in old.get(key, [])}
            new_s = {s["id"]: s for s in new.get(key, [])}
            parts += [f"section {sid}" for sid in sorted(set(old_s) | set(new_s)) if old_s.get(sid) != new_s.get(sid)]
        elif old.get(key) != new.get(key):
            parts.append(key)
    return parts or ["(ordering)"]


def _check_issuance(pdf: bytes, report_id: str) -> tuple[bool, str]:
    digest = sha256_hex(pdf)
    report = Report.objects.filter(report_id=report_id).defer("pdf", "evidence").first()
    if report is None or report.status != Report.Status.ISSUED:
        return False, f"report {report_id} was not issued by this Tracemark"
    if report.file_sha256 != digest:
        return False, (
            f"this file (sha256:{digest}) is not the file issued as {report_id} (sha256:{report.file_sha256}, "
            f"ledger #{report.issuance_seq})"
        )
    entry = LedgerEntry.objects.filter(seq=report.issuance_seq).values_list("payload", flat=True).first()
    if entry is None or f'"file_sha256":"{digest}"' not in entry:
        return False, f"the issuance entry #{report.issuance_seq} does not record this file's hash"
    return (
        True,
        f"issued by {report.issued_by} at {report.issued_at:%Y-%m-%d %H:%M} UTC; "
        f"file hash in ledger #{report.issuance_seq}",
    )
