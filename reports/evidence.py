"""The evidence builder: everything a report says, as one canonical JSON document.

``evidence_build(system=, kind=, as_of_seq=)`` reads the ledger, the lineage and the catalog as
they stood at a ledger sequence and returns a JSON-serialisable document. The same system, kind
and sequence always give byte-identical canonical JSON (hence the same content hash) on every
database: nothing in it depends on row order, clocks, floating point or the backend.

The document is rendered to the PDF (``reports.rendering``) and embedded in it; ``verify_report``
checks the PDF against it and it against the ledger.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, NotRequired, TypedDict

import orjson

from catalog.models import MULTI_VALUED, AISystem, Classification, Finding
from lineage.canonical import canonical_json, sha256_hex
from lineage.models import LedgerEntry, Run
from reports import selectors
from reports.regime import REGIME_SOURCE, REGIME_VERSION, regime_rows
from reports.selectors import Assertion, Declaration, JobRuns, LedgerAnchor, Member, Subgraph, iso

EVIDENCE_FORMAT = "tracemark.report-evidence/1"
# Above this many lineage nodes the diagram is summarised by namespace (see reports.diagram).
LINEAGE_MAX_NODES = 5000
KINDS = ("annex-iv", "data-governance", "gpai-summary")

Source = Literal["declared", "derived", "record"]
Status = Literal["answered", "not-applicable", "gap"]


# --- The document's shape ------------------------------------------------------------------------


class Table(TypedDict):
    columns: list[str]
    rows: list[list[str]]


class Fact(TypedDict):
    label: str
    text: str
    source: Source
    cites: list[int]
    refs: list[str]
    by: NotRequired[str]
    version: NotRequired[int]
    table: NotRequired[Table]


class Gap(TypedDict):
    need: str
    close: str


class Item(TypedDict):
    ref: str
    title: str
    status: Status
    facts: list[Fact]
    gap: Gap | None
    reason: str


class Completeness(TypedDict):
    answered: int
    expected: int
    percent: int


class Section(TypedDict):
    id: str
    number: str
    ref: str
    title: str
    intro: str
    items: list[Item]
    completeness: Completeness


class Citation(TypedDict):
    seq: int
    payload_hash: str
    kind: str
    what: list[str]


class Evidence(TypedDict):
    format: str
    kind: str
    title: str
    system: dict[str, Any]
    as_of: dict[str, Any]
    regime: dict[str, Any]
    sections: list[Section]
    lineage: dict[str, Any]
    policy: dict[str, Any]
    gaps: list[dict[str, str]]
    completeness: Completeness
    citations: list[Citation]


@dataclass(frozen=True)
class EvidenceDocument:
    data: Evidence
    canonical: bytes
    content_hash: str

    @property
    def as_of_seq(self) -> int:
        return int(self.data["as_of"]["seq"])


class EvidenceError(ValueError):
    """The evidence cannot be built (unknown kind, sequence beyond the ledger…)."""


# --- Small formatting helpers (deterministic on every backend) --------------------------------------


def fmt_number(value: float | int | Decimal | None, places: int = 2) -> str:
    if value is None:
        return "—"
    quantum = Decimal(1).scaleb(-places)
    number = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_EVEN)
    text = f"{number:,.{places}f}"
    return text


def percent(answered: int, expected: int) -> int:
    return 100 if expected == 0 else (answered * 100) // expected


def short_hash(value: str) -> str:
    return value[:12]


def report_id_for(*, slug: str, kind: str, seq: int) -> str:
    """The report's identifier: the same system, kind and sequence always give the same one."""
    digest = hashlib.sha256(f"{slug}|{kind}|{seq}".encode()).hexdigest()[:16].upper()
    return f"TMR-{digest[:4]}-{digest[4:8]}-{digest[8:12]}-{digest[12:16]}"


# --- Facts about the datasets and jobs in scope ---------------------------------------------------------


@dataclass
class Governance:
    """Resolved governance values of a dataset or column, each with the entry that asserted it."""

    values: dict[str, list[Assertion]] = field(default_factory=dict)

    def get(self, attribute: str) -> list[Assertion]:
        return self.values.get(attribute, [])

    def one(self, attribute: str) -> Assertion | None:
        found = self.get(attribute)
        return found[0] if found else None

    def texts(self, attribute: str) -> list[str]:
        return [a.value for a in self.get(attribute)]


def resolve_governance(assertions: Iterable[Assertion]) -> dict[str, Governance]:
    """Per field ('' = the dataset): the values in force, highest precedence first.

    Single-valued attributes keep the top value unless a higher-precedence assertion removes it
    (``present=False``); multi-valued ones keep every value whose top assertion is present.
    """
    by_field: dict[str, dict[str, list[Assertion]]] = defaultdict(lambda: defaultdict(list))
    for a in assertions:
        by_field[a.field][a.attribute].append(a)
    out: dict[str, Governance] = {}
    for fld, attrs in sorted(by_field.items()):
        gov = Governance()
        for attribute, items in sorted(attrs.items()):
            items = sorted(items, key=lambda a: (-a.precedence, a.value, a.source, a.first_seq))
            if attribute in MULTI_VALUED:
                top: dict[str, Assertion] = {}
                for a in items:
                    top.setdefault(a.value, a)
                kept = [a for a in top.values() if a.present]
                kept.sort(key=lambda a: a.value)
            else:
                first = items[0]
                kept = [first] if first.present else []
            if kept:
                gov.values[attribute] = kept
        out[fld] = gov
    return out


@dataclass
class DatasetInfo:
    pk: int
    node_id: str
    namespace: str
    name: str
    first_seq: int
    roles: set[str] = field(default_factory=set)
    governance: Governance = field(default_factory=Governance)
    columns: dict[str, Governance] = field(default_factory=dict)
    schema: list[tuple[str, str]] = field(default_factory=list)
    schema_seq: int | None = None
    row_count: int | None = None
    stats_seq: int | None = None
    writers: set[str] = field(default_factory=set)
    readers: set[str] = field(default_factory=set)
    personal: bool = False
    special: bool = False


@dataclass
class JobInfo:
    pk: int
    node_id: str
    namespace: str
    name: str
    first_seq: int
    roles: set[str] = field(default_factory=set)
    runs: JobRuns | None = None
    inputs: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)
    facets: dict[str, Any] = field(default_factory=dict)
    facets_seq: int | None = None


@dataclass
class EnergyTotals:
    kwh: Decimal = Decimal(0)
    kg_co2e: Decimal = Decimal(0)
    accelerator_hours: Decimal = Decimal(0)
    runs: int = 0
    hardware: set[str] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    seqs: list[int] = field(default_factory=list)


# --- The context every section reads from --------------------------------------------------------------


class Context:
    """What Tracemark knew about one system at one ledger sequence, loaded once per report."""

    def __init__(self, *, system: AISystem, kind: str, anchor: LedgerAnchor) -> None:
        self.system = system
        self.kind = kind
        self.anchor = anchor
        self.seq = anchor.seq
        self._cited: dict[int, set[str]] = defaultdict(set)
        self.record, self.record_seqs = _system_record(system, self.seq)
        self.declarations: dict[str, Declaration] = selectors.declarations_as_of(system=system, seq=self.seq)
        self.members: list[Member] = selectors.members_as_of(system=system, seq=self.seq)
        member_ds = [m.pk for m in self.members if m.kind == "dataset"]
        member_jobs = [m.pk for m in self.members if m.kind == "job"]
        self.graph: Subgraph = selectors.lineage_around(
            dataset_ids=member_ds, job_ids=member_jobs, seq=self.seq, max_nodes=LINEAGE_MAX_NODES
        )
        self.datasets: dict[str, DatasetInfo] = {}
        self.jobs: dict[str, JobInfo] = {}
        self._load_nodes()
        self._load_roles()
        self._load_governance()
        self._load_runs_and_facets()
        self.energy_by_job = self._load_energy()
        self.model_cards = self._load_model_cards()
        self.quality = self._load_quality()

    # Citations -----------------------------------------------------------------------------------

    def cite(self, seq: int | None, what: str) -> list[int]:
        if seq is None or seq <= 0 or seq > self.seq:
            return []
        self._cited[seq].add(what)
        return [seq]

    def cite_many(self, seqs: Iterable[int | None], what: str) -> list[int]:
        out: list[int] = []
        for s in seqs:
            out += self.cite(s, what)
        return sorted(set(out))

    def citations(self) -> list[Citation]:
        hashes = selectors.ledger_hashes(seqs=self._cited)
        kinds = dict(LedgerEntry.objects.filter(seq__in=sorted(self._cited)).values_list("seq", "kind"))
        return [
            Citation(seq=seq, payload_hash=hashes[seq], kind=kinds[seq], what=sorted(self._cited[seq]))
            for seq in sorted(self._cited)
            if seq in hashes
        ]

    # Facts -------------------------------------------------------------------------------------

    def declared(self, name: str, label: str) -> Fact | None:
        d = self.declarations.get(name)
        if d is None or d.value.strip().lower().startswith("not applicable"):
            return None
        return Fact(
            label=label,
            text=d.value.strip(),
            source="declared",
            cites=self.cite(d.seq, f"declaration {name} v{d.version}"),
            refs=[],
            by=d.author,
            version=d.version,
        )

    def not_applicable(self, name: str) -> tuple[str, list[int]] | None:
        d = self.declarations.get(name)
        if d is not None and d.value.strip().lower().startswith("not applicable"):
            return d.value.strip(), self.cite(d.seq, f"declaration {name} v{d.version}")
        return None

    def record_fact(self, name: str, label: str, display: Callable[[Any], str] | None = None) -> Fact | None:
        value = self.record.get(name)
        if value in (None, "", []):
            return None
        text = display(value) if display else str(value)
        return Fact(
            label=label,
            text=text,
            source="record",
            cites=self.cite_many(self.record_seqs.get(name, []), f"system record: {name}"),
            refs=[f"system:{self.system.slug}"],
        )

    def derived(
        self,
        label: str,
        text: str,
        *,
        cites: Iterable[int] = (),
        refs: Iterable[str] = (),
        table: Table | None = None,
    ) -> Fact:
        fact = Fact(label=label, text=text, source="derived", cites=sorted(set(cites)), refs=sorted(set(refs)))
        if table is not None:
            fact["table"] = table
        return fact

    def item(
        self,
        ref: str,
        title: str,
        facts: Iterable[Fact | None],
        *,
        need: str,
        close: str,
        declaration: str | None = None,
    ) -> Item:
        """One point of a section: answered by facts, declared not applicable, or a gap."""
        kept = [f for f in facts if f is not None]
        if kept:
            return Item(ref=ref, title=title, status="answered", facts=kept, gap=None, reason="")
        if declaration:
            na = self.not_applicable(declaration)
            if na is not None:
                reason, cites = na
                d = self.declarations[declaration]
                fact = Fact(
                    label="Not applicable",
                    text=reason,
                    source="declared",
                    cites=cites,
                    refs=[],
                    by=d.author,
                    version=d.version,
                )
                return Item(ref=ref, title=title, status="not-applicable", facts=[fact], gap=None, reason=reason)
        return Item(ref=ref, title=title, status="gap", facts=[], gap=Gap(need=need, close=close), reason="")

    # Views over the loaded graph -------------------------------------------------------------------

    def datasets_with_role(self, *roles: str) -> list[DatasetInfo]:
        return [d for _, d in sorted(self.datasets.items()) if d.roles & set(roles)]

    def jobs_with_role(self, *roles: str) -> list[JobInfo]:
        return [j for _, j in sorted(self.jobs.items()) if j.roles & set(roles)]

    def upstream_of(self, node_ids: Iterable[str]) -> set[str]:
        """Every node upstream of the given ones inside the loaded subgraph."""
        parents: dict[str, set[str]] = defaultdict(set)
        for e in self.graph.edges:
            parents[e.target].add(e.source)
        seen: set[str] = set()
        stack = list(node_ids)
        while stack:
            node = stack.pop()
            for p in parents.get(node, ()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    def sources_of(self, node_ids: Iterable[str]) -> list[DatasetInfo]:
        """Where data came into the lineage upstream of the given nodes.

        A source is a dataset no job in view writes, or one written only by jobs that read
        nothing (loaders from outside the factory, whose own inputs are not traced).
        """
        up = self.upstream_of(node_ids) | set(node_ids)
        return [
            self.datasets[n]
            for n in sorted(up)
            if n in self.datasets and all(not self.jobs[w].inputs for w in self.datasets[n].writers)
        ]

    def run_cites(self, job: JobInfo, *, latest_only: bool = True) -> list[int]:
        if job.runs is None:
            return []
        runs = (
            [job.runs.latest_complete or job.runs.latest]
            if latest_only
            else [job.runs.latest, job.runs.latest_complete, job.runs.latest_failed]
        )
        seqs: list[int] = []
        for r in runs:
            if r is not None:
                seqs += self.cite_many(r.seqs, f"run {str(r.run_id)[:8]} of {node_label(job.node_id)}")
        return sorted(set(seqs))

    # Loading -------------------------------------------------------------------------------------------

    def _load_nodes(self) -> None:
        for ds in self.graph.datasets.values():
            self.datasets[ds.node_id] = DatasetInfo(
                pk=ds.pk, node_id=ds.node_id, namespace=ds.namespace.name, name=ds.name, first_seq=ds.first_seq
            )
        for job in self.graph.jobs.values():
            self.jobs[job.node_id] = JobInfo(
                pk=job.pk, node_id=job.node_id, namespace=job.namespace.name, name=job.name, first_seq=job.first_seq
            )
        for e in self.graph.edges:
            if e.source in self.jobs and e.target in self.datasets:
                self.jobs[e.source].outputs.add(e.target)
                self.datasets[e.target].writers.add(e.source)
            elif e.source in self.datasets and e.target in self.jobs:
                self.jobs[e.target].inputs.add(e.source)
                self.datasets[e.source].readers.add(e.target)

    def _load_roles(self) -> None:
        for m in self.members:
            target = self.datasets.get(m.node_id) if m.kind == "dataset" else self.jobs.get(m.node_id)
            if target is not None:
                target.roles.add(m.role)
        # Derived roles where staff linked the jobs but not the data (or the model).
        for job in self.jobs.values():
            if "training_job" in job.roles:
                for n in job.inputs:
                    if not self.datasets[n].roles & {"validation_data", "test_data", "model"}:
                        self.datasets[n].roles.add("training_data" if "model" not in self.datasets[n].roles else "")
                for n in job.outputs:
                    if not self.datasets[n].roles & {"training_data", "validation_data", "test_data"}:
                        self.datasets[n].roles.add("model")
            if "evaluation_job" in job.roles:
                for n in job.inputs:
                    if not self.datasets[n].roles & {"model", "training_data", "validation_data"}:
                        self.datasets[n].roles.add("test_data")
        for d in self.datasets.values():
            d.roles.discard("")

    def _load_governance(self) -> None:
        by_pk = {d.pk: d for d in self.datasets.values()}
        assertions = selectors.assertions_as_of(dataset_ids=by_pk, seq=self.seq)
        keys: set[str] = set()
        for pk, items in assertions.items():
            resolved = resolve_governance(items)
            info = by_pk[pk]
            info.governance = resolved.pop("", Governance())
            info.columns = resolved
            for gov in [info.governance, *info.columns.values()]:
                keys |= set(gov.texts("classification"))
        flags = {
            c.key: (c.personal_data, c.special_category) for c in Classification.objects.filter(key__in=sorted(keys))
        }
        for info in self.datasets.values():
            for gov in [info.governance, *info.columns.values()]:
                for key in gov.texts("classification"):
                    personal, special = flags.get(key, (False, False))
                    info.personal |= personal or special
                    info.special |= special

    def _load_runs_and_facets(self) -> None:
        by_pk = {j.pk: j for j in self.jobs.values()}
        runs = selectors.runs_as_of(job_ids=by_pk, seq=self.seq)
        payload_seqs: set[int] = set()
        for pk, agg in runs.items():
            by_pk[pk].runs = agg
            for r in (agg.latest, agg.latest_complete):
                if r is not None:
                    payload_seqs.update(r.seqs)
        payloads = selectors.ledger_payloads(seqs=payload_seqs)
        for seq in sorted(payloads):
            event = payloads[seq]
            job_ref = event.get("job") or {}
            job_node = f"job:{job_ref.get('namespace')}:{job_ref.get('name')}"
            job = self.jobs.get(job_node)
            if job is not None:
                merged = dict(job_ref.get("facets") or {})
                for k, v in ((event.get("run") or {}).get("facets") or {}).items():
                    merged[f"run.{k}"] = v
                if merged:
                    job.facets.update(merged)
                    job.facets_seq = seq
            for ds in list(event.get("inputs") or []) + list(event.get("outputs") or []):
                node = f"dataset:{ds.get('namespace')}:{ds.get('name')}"
                info = self.datasets.get(node)
                if info is None:
                    continue
                facets = dict(ds.get("facets") or {})
                facets.update(ds.get("outputFacets") or {})
                facets.update(ds.get("inputFacets") or {})
                schema = facets.get("schema")
                if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
                    info.schema = [
                        (str(f.get("name")), str(f.get("type") or "")) for f in schema["fields"] if isinstance(f, dict)
                    ]
                    info.schema_seq = seq
                stats = facets.get("outputStatistics")
                if isinstance(stats, dict) and isinstance(stats.get("rowCount"), int):
                    info.row_count = stats["rowCount"]
                    info.stats_seq = seq

    def _load_energy(self) -> dict[str, EnergyTotals]:
        out: dict[str, EnergyTotals] = {}
        run_job: dict[int, str] = {}
        job_pks = {j.pk: j.node_id for j in self.jobs.values()}
        for start in range(0, len(job_pks), 300):
            chunk = sorted(job_pks)[start : start + 300]
            for run_pk, job_pk in Run.objects.filter(job_id__in=chunk, first_seq__lte=self.seq).values_list(
                "id", "job_id"
            ):
                run_job[run_pk] = job_pks[job_pk]
        for e in selectors.energy_as_of(run_ids=run_job, seq=self.seq):
            totals = out.setdefault(run_job[e.run_id], EnergyTotals())
            totals.kwh += Decimal(str(e.kwh))
            totals.kg_co2e += Decimal(str(e.kg_co2e))
            totals.accelerator_hours += Decimal(str(e.accelerator_hours))
            totals.runs += 1
            if e.hardware:
                totals.hardware.add(e.hardware)
            if e.region:
                totals.regions.add(e.region)
            totals.seqs.append(e.seq)
        return out

    def _load_model_cards(self) -> dict[str, list[Any]]:
        by_pk = {d.pk: d.node_id for d in self.datasets.values()}
        out: dict[str, list[Any]] = defaultdict(list)
        for card in selectors.model_cards_as_of(dataset_ids=by_pk, seq=self.seq):
            out[by_pk[card.dataset_id]].append(card)
        return out

    def _load_quality(self) -> dict[str, list[Any]]:
        by_pk = {d.pk: d.node_id for d in self.datasets.values()}
        out: dict[str, list[Any]] = defaultdict(list)
        for result in selectors.quality_as_of(dataset_ids=by_pk, seq=self.seq):
            out[by_pk[result.dataset_id]].append(result)
        return out


def _system_record(system: AISystem, seq: int) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The system's registered fields as of ``seq``, rebuilt from its ledger entries.

    Registration records a snapshot and every update its changes, so a report built as of an
    older sequence shows the system as it was then. A system registered outside the services
    (no ledger entry) falls back to its current row.
    """
    needle = f'"subject":"system:{system.slug}"'
    entries = (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.GOVERNANCE, seq__lte=seq, payload__contains=needle)
        .order_by("seq")
        .values_list("seq", "payload")
    )
    record: dict[str, Any] = {}
    seqs: dict[str, list[int]] = defaultdict(list)
    registered = False
    for entry_seq, payload in entries:
        body = orjson.loads(payload)
        if body.get("subject") != f"system:{system.slug}":
            continue
        if body.get("action") == "system.registered":
            registered = True
            for k, v in (body.get("details") or {}).items():
                record[k] = v
                seqs[k] = [entry_seq]
        elif body.get("action") == "system.updated":
            for k, change in ((body.get("details") or {}).get("changes") or {}).items():
                record[k] = change.get("to")
                seqs[k].append(entry_seq)
    if not registered:
        from catalog.services import SYSTEM_FIELDS

        record = {name: getattr(system, name) for name in SYSTEM_FIELDS}
        seqs = {name: [system.first_seq] if system.first_seq else [] for name in SYSTEM_FIELDS}
    record["slug"] = system.slug
    return record, dict(seqs)


# --- Findings as of a sequence ---------------------------------------------------------------------------


def findings_as_of(ctx: Context) -> dict[str, Any]:
    """Policy results for the system as they stood at the report's sequence.

    A finding counts when it was opened at or before the sequence and not resolved by then.
    Waivers are taken from the ledger (``finding.waived`` entries at or before the sequence), so
    a waiver granted later does not appear in an earlier report.
    """
    rows = list(
        Finding.objects.filter(system=ctx.system, opened_seq__lte=ctx.seq)
        .exclude(resolved_seq__isnull=False, resolved_seq__lte=ctx.seq)
        .order_by("policy_key", "subject", "item")
        .values(
            "pk",
            "policy_key",
            "policy__version",
            "policy__title",
            "policy__article",
            "subject",
            "item",
            "severity",
            "message",
            "opened_seq",
        )
    )
    waivers = _waivers_as_of(ctx.seq)
    findings = []
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        waiver = waivers.get(r["pk"])
        status = "waived" if waiver else "open"
        counts[f"{status}:{r['severity']}"] += 1
        cites = ctx.cite(r["opened_seq"], f"finding {r['policy_key']} on {r['item'] or r['subject']}")
        entry: dict[str, Any] = {
            "policy": f"{r['policy_key']}@{r['policy__version']}",
            "title": r["policy__title"],
            "article": r["policy__article"],
            "subject": r["item"] or r["subject"],
            "severity": r["severity"],
            "status": status,
            "message": r["message"],
            "opened_seq": r["opened_seq"],
            "cites": cites,
        }
        if waiver:
            entry["waiver"] = {
                "by": waiver["by"],
                "reason": waiver["reason"],
                "expires": waiver["expires"],
                "seq": waiver["seq"],
            }
            entry["cites"] = sorted(set(cites + ctx.cite(waiver["seq"], f"waiver of {r['policy_key']}")))
        findings.append(entry)
    return {"findings": findings, "counts": dict(sorted(counts.items()))}


def _waivers_as_of(seq: int) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    rows = (
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.GOVERNANCE, seq__lte=seq, payload__contains='"action":"finding.'
        )
        .order_by("seq")
        .values_list("seq", "payload")
    )
    for entry_seq, payload in rows:
        body = orjson.loads(payload)
        details = body.get("details") or {}
        finding_id = details.get("finding") or details.get("finding_id")
        if finding_id is None and str(body.get("subject", "")).startswith("finding:"):
            finding_id = str(body["subject"]).split(":", 1)[1]
        try:
            pk = int(finding_id)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        action = body.get("action")
        if action == "finding.waived":
            out[pk] = {
                "by": body.get("actor", ""),
                "reason": details.get("reason", ""),
                "expires": details.get("expires_at") or details.get("expires") or "",
                "seq": entry_seq,
            }
        elif action in ("finding.reopened", "finding.resolved", "finding.unwaived", "finding.waiver_expired"):
            out.pop(pk, None)
    return out


# --- Lineage for the diagram ---------------------------------------------------------------------------


def lineage_view(ctx: Context) -> dict[str, Any]:
    """Nodes and edges of the system's lineage for the diagram, each with what to mark on it."""
    nodes = []
    for node_id, d in sorted(ctx.datasets.items()):
        jurisdiction = d.governance.one("jurisdiction")
        nodes.append(
            {
                "id": node_id,
                "type": "dataset",
                "namespace": d.namespace,
                "name": d.name,
                "roles": sorted(d.roles),
                "personal": d.personal,
                "special": d.special,
                "jurisdiction": jurisdiction.value if jurisdiction else "",
                "first_seq": d.first_seq,
            }
        )
    for node_id, j in sorted(ctx.jobs.items()):
        nodes.append(
            {
                "id": node_id,
                "type": "job",
                "namespace": j.namespace,
                "name": j.name,
                "roles": sorted(j.roles),
                "personal": False,
                "special": False,
                "jurisdiction": "",
                "first_seq": j.first_seq,
            }
        )
    edges = [{"source": e.source, "target": e.target, "first_seq": e.first_seq} for e in ctx.graph.edges]
    return {
        "nodes": nodes,
        "edges": edges,
        "truncated": ctx.graph.truncated,
        "datasets": len(ctx.datasets),
        "jobs": len(ctx.jobs),
    }


# --- Building ---------------------------------------------------------------------------------------------


def evidence_build(*, system: AISystem | str, kind: str, as_of_seq: int | None = None) -> EvidenceDocument:
    """Build the evidence document of one report kind for one system as of a ledger sequence."""
    from reports.kinds import KIND_BUILDERS, KIND_TITLES

    if kind not in KIND_BUILDERS:
        raise EvidenceError(f"unknown report kind {kind!r}; one of: {', '.join(KINDS)}")
    if isinstance(system, str):
        found = selectors.system_get(slug=system)
        if found is None:
            raise EvidenceError(f"no AI system with slug {system!r}")
        system = found
    anchor = selectors.ledger_anchor_get(as_of_seq=as_of_seq)
    if as_of_seq is not None and as_of_seq > anchor.seq:
        raise EvidenceError(f"ledger sequence {as_of_seq} is beyond the ledger head (#{anchor.seq})")
    ctx = Context(system=system, kind=kind, anchor=anchor)
    sections = KIND_BUILDERS[kind](ctx)
    policy = findings_as_of(ctx)
    lineage = lineage_view(ctx)
    gaps = [
        {
            "section": s["number"],
            "ref": i["ref"],
            "title": i["title"],
            "need": i["gap"]["need"],
            "close": i["gap"]["close"],
        }
        for s in sections
        for i in s["items"]
        if i["gap"] is not None
    ]
    answered = sum(s["completeness"]["answered"] for s in sections)
    expected = sum(s["completeness"]["expected"] for s in sections)
    record = dict(ctx.record)
    data = Evidence(
        format=EVIDENCE_FORMAT,
        kind=kind,
        title=KIND_TITLES[kind],
        system={
            "slug": system.slug,
            "report_id": report_id_for(slug=system.slug, kind=kind, seq=anchor.seq),
            "record": {k: record[k] for k in sorted(record)},
            "members": [
                {"role": m.role, "node": m.node_id, "source": m.source, "seq": m.first_seq} for m in ctx.members
            ],
        },
        as_of={
            "seq": anchor.seq,
            "chain_hash": anchor.chain_hash,
            "ledger_time": iso(anchor.ledger_time),
        },
        regime={"version": REGIME_VERSION, "source": REGIME_SOURCE, "rows": regime_rows()},
        sections=sections,
        lineage=lineage,
        policy=policy,
        gaps=gaps,
        completeness=Completeness(answered=answered, expected=expected, percent=percent(answered, expected)),
        citations=[],
    )
    for m in ctx.members:
        ctx.cite(m.first_seq, f"membership {m.role} {m.node_id}")
    data["citations"] = ctx.citations()
    canonical = canonical_json(data)
    return EvidenceDocument(data=data, canonical=canonical, content_hash=sha256_hex(canonical))


def section(ctx: Context, *, id: str, number: str, ref: str, title: str, intro: str, items: list[Item]) -> Section:
    answered = sum(1 for i in items if i["status"] != "gap")
    return Section(
        id=id,
        number=number,
        ref=ref,
        title=title,
        intro=intro,
        items=items,
        completeness=Completeness(answered=answered, expected=len(items), percent=percent(answered, len(items))),
    )


def node_label(node_id: str) -> str:
    """``dataset:ns:name`` → ``ns:name`` for prose."""
    return node_id.split(":", 1)[1] if ":" in node_id else node_id
