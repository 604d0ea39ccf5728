"""Evidence → PDF/A-3b with the evidence embedded, deterministic to the byte.

The PDF is a function of the evidence bytes and the issuance (report id, who, when): no clock,
no random identifiers, bundled fonts, creation dates set to the ledger time of the as-of entry.
The same inputs give the same bytes with the same WeasyPrint version (pinned in the lock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import weasyprint
from django.template.loader import render_to_string
from weasyprint.text.fonts import FontConfiguration

from lineage.canonical import canonical_json, sha256_hex
from reports.diagram import lineage_diagram

STATIC_DIR = Path(__file__).resolve().parent / "static" / "reports"
EVIDENCE_NAME = "evidence.json"
MANIFEST_NAME = "tracemark-report.json"
MANIFEST_FORMAT = "tracemark.report-manifest/1"
PDF_VARIANT = "pdf/a-3b"
# Facts citing more entries than this list the first ones inline; the evidence index has all.
INLINE_CITES = 8
# About how many characters of table text fit across the page at the table font size.
TABLE_CHARS = 112


@dataclass(frozen=True)
class Issuance:
    report_id: str
    issued_by: str
    issued_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "report_id": self.report_id,
            "issued_by": self.issued_by,
            "issued_at": self.issued_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }


def manifest_for(*, evidence: dict[str, Any], content_hash: str, issuance: Issuance) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        **issuance.as_dict(),
        "kind": evidence["kind"],
        "system": evidence["system"]["slug"],
        "as_of_seq": evidence["as_of"]["seq"],
        "ledger_head_hash": evidence["as_of"]["chain_hash"],
        "content_hash": content_hash,
        "evidence": EVIDENCE_NAME,
        "renderer": {"weasyprint": weasyprint.__version__, "pdf_variant": PDF_VARIANT},
    }


def report_render(*, evidence_bytes: bytes, issuance: Issuance) -> bytes:
    """Render the report PDF from canonical evidence JSON (the exact bytes that get embedded)."""
    evidence = orjson.loads(evidence_bytes)
    content_hash = sha256_hex(evidence_bytes)
    manifest = manifest_for(evidence=evidence, content_hash=content_hash, issuance=issuance)
    html = render_to_string("reports/report.html", _context(evidence, content_hash, issuance))
    fonts = FontConfiguration()
    document = weasyprint.HTML(string=html, base_url=str(STATIC_DIR) + "/").render(font_config=fonts)
    when = _ledger_time(evidence) or issuance.issued_at
    attachments = [
        weasyprint.Attachment(
            string=evidence_bytes,
            name=EVIDENCE_NAME,
            description="Tracemark evidence (canonical JSON); its SHA-256 is the report's content hash",
            created=when,
            modified=when,
            relationship="Source",
        ),
        weasyprint.Attachment(
            string=canonical_json(manifest),
            name=MANIFEST_NAME,
            description="Report manifest: identifiers, issuance and hashes",
            created=when,
            modified=when,
            relationship="Data",
        ),
    ]
    return document.write_pdf(
        pdf_variant=PDF_VARIANT,
        attachments=attachments,
        pdf_identifier=issuance.report_id.encode(),
        custom_metadata=True,
    )


def _ledger_time(evidence: dict[str, Any]) -> datetime | None:
    raw = evidence["as_of"].get("ledger_time")
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cites_text(cites: list[int]) -> str:
    shown = ", ".join(f"#{s}" for s in cites[:INLINE_CITES])
    more = len(cites) - INLINE_CITES
    return shown + (f" (+{more} more)" if more > 0 else "")


def _badge(fact: dict[str, Any]) -> str:
    if fact["source"] == "declared":
        text = f"Declared by {fact.get('by', '?')}, version {fact.get('version', '?')}"
    elif fact["source"] == "record":
        text = "System record"
    else:
        text = "Derived from the lineage and catalog"
    if fact["cites"]:
        text += " · ledger " + _cites_text(fact["cites"])
    return text


def _drop_empty_columns(table: dict[str, Any]) -> dict[str, Any]:
    """Hide columns with nothing to say in any row (all "—"); the evidence keeps them."""
    keep = [k for k in range(len(table["columns"])) if any(str(r[k]) not in ("—", "") for r in table["rows"])]
    return {"columns": [table["columns"][k] for k in keep], "rows": [[r[k] for k in keep] for r in table["rows"]]}


def _column_widths(table: dict[str, Any]) -> list[str]:
    """Percent widths from the text each column holds, so tables lay out fixed (fast) and legible."""
    columns, rows = table["columns"], table["rows"]
    weights = []
    for k, header in enumerate(columns):
        cells = [len(str(r[k])) for r in rows if k < len(r)] or [0]
        longest_word = max([len(w) for r in rows if k < len(r) for w in str(r[k]).split()] or [0])
        typical = sorted(cells)[len(cells) // 2]
        floor = max(max(len(w) for w in header.split()), min(longest_word, 16)) + 2
        weights.append((floor, max(min(typical, 60) - floor, 0)))
    # Every column gets its floor (its header's longest word, short cell words unbroken); the
    # room left goes to the columns whose typical cell is longer than that.
    floors = sum(f for f, _ in weights)
    spare = max(TABLE_CHARS - floors, 0)
    wants = sum(w for _, w in weights)
    widths = [f + (spare * w / wants if wants else spare / len(weights)) for f, w in weights]
    total = sum(widths)
    return [f"{w * 100 / total:.2f}%" for w in widths]


def _soft_breaks(text: str) -> str:
    """Let long identifiers (namespaces, paths) break after their separators instead of mid-word."""
    return " ".join(re.sub(r"([/._:])", "\\1\u200b", word) if len(word) > 18 else word for word in text.split(" "))


def _context(evidence: dict[str, Any], content_hash: str, issuance: Issuance) -> dict[str, Any]:
    record = evidence["system"]["record"]
    sections = []
    for s in evidence["sections"]:
        items = []
        for i in s["items"]:
            facts = []
            for f in i["facts"]:
                shown = {**f, "badge": _badge(f)}
                if "table" in f:
                    table = _drop_empty_columns(f["table"])
                    shown["widths"] = _column_widths(table)
                    shown["table"] = {
                        "columns": table["columns"],
                        "rows": [[_soft_breaks(str(c)) for c in row] for row in table["rows"]],
                    }
                facts.append(shown)
            items.append({**i, "facts": facts})
        sections.append({**s, "items": items, "anchor": f"s-{s['id']}"})
    diagram = lineage_diagram(evidence["lineage"])
    policy = evidence["policy"]
    findings = policy["findings"]
    open_count = sum(1 for f in findings if f["status"] == "open")
    citations = [
        {
            "seq": c["seq"],
            "hash": c["payload_hash"][:32],
            "kind": c["kind"],
            "what": _shorten(c["what"][0], 64) + (f" (+{len(c['what']) - 1})" if len(c["what"]) > 1 else ""),
        }
        for c in evidence["citations"]
    ]
    as_of = evidence["as_of"]
    system_name = record.get("name") or evidence["system"]["slug"]
    ledger_time = as_of.get("ledger_time") or ""
    return {
        "ev": evidence,
        "title": evidence["title"],
        "system_name": system_name,
        "record": record,
        "sections": sections,
        "diagram": diagram,
        "findings": findings,
        "open_count": open_count,
        "waived_count": len(findings) - open_count,
        "citations": citations,
        "content_hash": content_hash,
        "issuance": issuance.as_dict(),
        "as_of": as_of,
        "ledger_time_display": ledger_time[:19].replace("T", " ") + " UTC" if ledger_time else "—",
        "issued_at_display": issuance.as_dict()["issued_at"].replace("T", " ").replace("Z", " UTC"),
        # W3C date to the second: the PDF's creation and modification dates are the as-of time.
        "created": (ledger_time or issuance.as_dict()["issued_at"])[:19] + "Z",
        "members": evidence["system"]["members"],
        "keywords": f"tracemark, {evidence['kind']}, {issuance.report_id}, sha256:{content_hash}",
    }
