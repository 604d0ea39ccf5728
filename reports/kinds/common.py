"""Facts several report kinds share: datasheets, run histories, energy, quality, model cards."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from reports.evidence import Context, DatasetInfo, EnergyTotals, Fact, JobInfo, Table, fmt_number, node_label
from reports.selectors import iso

ROLE_LABELS = {
    "model": "model",
    "training_data": "training",
    "validation_data": "validation",
    "test_data": "test",
    "dataset": "other",
    "training_job": "training",
    "evaluation_job": "evaluation",
    "serving_job": "serving",
    "job": "other",
}


def day(value: object) -> str:
    text = iso(value) if value is not None and not isinstance(value, str) else value  # type: ignore[arg-type]
    return str(text)[:10] if text else "—"


def roles_text(roles: Iterable[str]) -> str:
    return ", ".join(sorted({ROLE_LABELS.get(r, r) for r in roles})) or "upstream"


def gov_value(ctx: Context, d: DatasetInfo, attribute: str, cites: list[int]) -> str:
    values = d.governance.get(attribute)
    for a in values:
        cites += ctx.cite(a.first_seq, f"{attribute} of {d.node_id} ({a.source})")
    return ", ".join(a.value for a in values) if values else "unknown"


def column_classes(ctx: Context, d: DatasetInfo, cites: list[int]) -> str:
    parts = []
    for column, gov in sorted(d.columns.items()):
        values = gov.get("classification")
        if not values:
            continue
        for a in values:
            cites += ctx.cite(a.first_seq, f"classification of {d.node_id}:{column} ({a.source})")
        parts.append(f"{column}: {', '.join(a.value for a in values)}")
    return "; ".join(parts)


def datasheet(ctx: Context, datasets: list[DatasetInfo], label: str) -> Fact | None:
    """A datasheet table: provenance, scope and governance of each dataset, every cell cited."""
    if not datasets:
        return None
    cites: list[int] = []
    rows: list[list[str]] = []
    for d in datasets:
        cites += ctx.cite(d.first_seq, f"first event naming {d.node_id}")
        if d.schema_seq:
            cites += ctx.cite(d.schema_seq, f"schema of {d.node_id}")
        classes = gov_value(ctx, d, "classification", cites)
        columns = column_classes(ctx, d, cites)
        rows.append(
            [
                node_label(d.node_id),
                roles_text(d.roles),
                gov_value(ctx, d, "origin", cites),
                gov_value(ctx, d, "license", cites),
                gov_value(ctx, d, "jurisdiction", cites),
                gov_value(ctx, d, "legal_basis", cites),
                classes + (f" (columns — {columns})" if columns else ""),
                f"{len(d.schema)} fields" if d.schema else "no schema",
                f"#{d.first_seq}",
            ]
        )
    table = Table(
        columns=[
            "Dataset",
            "Role",
            "Origin",
            "Licence",
            "Jurisdiction",
            "Legal basis",
            "Classification",
            "Schema",
            "Since",
        ],
        rows=rows,
    )
    return ctx.derived(
        label,
        f"{len(datasets)} dataset(s), as recorded by the lineage and the governance catalog.",
        cites=cites,
        refs=[d.node_id for d in datasets],
        table=table,
    )


def missing_governance(ctx: Context, datasets: list[DatasetInfo], attributes: tuple[str, ...]) -> list[str]:
    """``dataset: attribute`` for each governance value a datasheet needs and the catalog lacks."""
    missing = []
    for d in datasets:
        for attribute in attributes:
            if not d.governance.get(attribute):
                missing.append(f"{node_label(d.node_id)}: {attribute.replace('_', ' ')}")
    return missing


def run_history_text(job: JobInfo) -> str:
    runs = job.runs
    if runs is None or runs.total == 0:
        return "no runs recorded"
    states = ", ".join(f"{state} {count}" for state, count in sorted(runs.by_state.items()))
    text = f"{runs.total} run(s) ({states}), {day(runs.first_started)} to {day(runs.last_started)}"
    best = runs.latest_complete
    if best is not None:
        text += f"; latest completed run {str(best.run_id)[:8]} ended {day(best.ended_at)}"
    return text


def runs_table(ctx: Context, jobs: list[JobInfo], label: str) -> Fact | None:
    if not jobs:
        return None
    cites: list[int] = []
    rows = []
    for j in jobs:
        cites += ctx.run_cites(j)
        cites += ctx.cite(j.first_seq, f"first event naming {j.node_id}")
        runs = j.runs
        latest = runs.latest_complete if runs else None
        rows.append(
            [
                node_label(j.node_id),
                roles_text(j.roles),
                str(runs.total if runs else 0),
                ", ".join(f"{s} {n}" for s, n in sorted((runs.by_state if runs else {}).items())) or "—",
                day(runs.first_started if runs else None),
                f"{str(latest.run_id)[:8]} · {day(latest.ended_at)} · #{latest.seqs[-1]}" if latest else "none",
            ]
        )
    table = Table(columns=["Job", "Role", "Runs", "States", "First run", "Latest completed run"], rows=rows)
    return ctx.derived(
        label,
        f"{len(jobs)} job(s); run states as of ledger #{ctx.seq}.",
        cites=cites,
        refs=[j.node_id for j in jobs],
        table=table,
    )


def energy_totals(ctx: Context, jobs: list[JobInfo]) -> EnergyTotals:
    total = EnergyTotals()
    for j in jobs:
        e = ctx.energy_by_job.get(j.node_id)
        if e is None:
            continue
        total.kwh += e.kwh
        total.kg_co2e += e.kg_co2e
        total.accelerator_hours += e.accelerator_hours
        total.runs += e.runs
        total.hardware |= e.hardware
        total.regions |= e.regions
        total.seqs += e.seqs
    return total


def energy_fact(ctx: Context, jobs: list[JobInfo], label: str) -> Fact | None:
    total = energy_totals(ctx, jobs)
    if total.runs == 0:
        return None
    cites = ctx.cite_many(total.seqs, "energy facet of a run")
    text = (
        f"{fmt_number(total.kwh)} kWh, {fmt_number(total.kg_co2e)} kg CO2e, "
        f"{fmt_number(total.accelerator_hours)} accelerator-hours over {total.runs} run(s) reporting energy"
    )
    if total.hardware:
        text += f"; hardware: {', '.join(sorted(total.hardware))}"
    if total.regions:
        text += f"; regions: {', '.join(sorted(total.regions))}"
    return ctx.derived(label, text + ".", cites=cites, refs=[j.node_id for j in jobs])


def quality_fact(ctx: Context, datasets: list[DatasetInfo], label: str) -> Fact | None:
    rows = []
    cites: list[int] = []
    for d in datasets:
        results = ctx.quality.get(d.node_id) or []
        if not results:
            continue
        latest = results[-1]
        cites += ctx.cite(latest.seq, f"data-quality assertions on {d.node_id}")
        failed = [a for a in latest.assertions if isinstance(a, dict) and a.get("success") is False]
        names = ", ".join(sorted(str(a.get("assertion", "?")) for a in failed)) or "—"
        rows.append(
            [
                node_label(d.node_id),
                "pass" if latest.passed else "FAIL",
                str(len(latest.assertions)),
                names,
                f"#{latest.seq}",
            ]
        )
    if not rows:
        return None
    return ctx.derived(
        label,
        "Latest data-quality assertion results reported by the pipelines.",
        cites=cites,
        refs=[d.node_id for d in datasets],
        table=Table(columns=["Dataset", "Result", "Assertions", "Failed", "Ledger"], rows=rows),
    )


def model_card_fact(ctx: Context, models: list[DatasetInfo], label: str) -> Fact | None:
    rows = []
    cites: list[int] = []
    for d in models:
        for card in ctx.model_cards.get(d.node_id, []):
            cites += ctx.cite(card.seq, f"model facet of {d.node_id}")
            params = f"{card.parameters:,}" if card.parameters else "—"
            metrics = ", ".join(f"{k}={_metric(v)}" for k, v in sorted((card.metrics or {}).items())) or "—"
            rows.append(
                [
                    node_label(d.node_id),
                    card.name or "—",
                    card.version or "—",
                    card.task or "—",
                    card.framework or "—",
                    params,
                    metrics,
                    f"#{card.seq}",
                ]
            )
    if not rows:
        return None
    return ctx.derived(
        label,
        "What the training pipelines reported about each model version (AI model facet).",
        cites=cites,
        refs=[d.node_id for d in models],
        table=Table(
            columns=["Artefact", "Model", "Version", "Task", "Framework", "Parameters", "Metrics", "Ledger"], rows=rows
        ),
    )


def _metric(value: object) -> str:
    """A metric as text, the same on every backend (PostgreSQL's jsonb reorders object keys)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_metric(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_metric(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return fmt_number(Decimal(str(value)), 4).rstrip("0").rstrip(".")
    return str(value)


# Above this many jobs a flow table lists families of jobs (namespace and name prefix), not each job.
FLOW_DETAIL_JOBS = 30


def job_family(job: JobInfo) -> str:
    prefix = job.name.split(".", 1)[0] if "." in job.name else job.name
    return f"{job.namespace}:{prefix}.*" if "." in job.name else f"{job.namespace}:{prefix}"


def _namespaces(nodes: set[str], ctx: Context) -> str:
    spaces: dict[str, int] = {}
    for n in nodes:
        d = ctx.datasets.get(n)
        key = d.namespace if d else n
        spaces[key] = spaces.get(key, 0) + 1
    return "; ".join(f"{count} in {ns}" for ns, count in sorted(spaces.items())) or "—"


def flow_family_fact(ctx: Context, jobs: list[JobInfo], label: str) -> Fact:
    families: dict[str, list[JobInfo]] = {}
    for j in jobs:
        families.setdefault(job_family(j), []).append(j)
    rows = []
    cites: list[int] = []
    for family, members in families.items():
        for j in members:
            cites += ctx.run_cites(j)
        runs = [j.runs for j in members if j.runs]
        states: dict[str, int] = {}
        for r in runs:
            for state, count in r.by_state.items():
                states[state] = states.get(state, 0) + count
        firsts = [r.first_started for r in runs if r.first_started]
        lasts = [r.last_started for r in runs if r.last_started]
        rows.append(
            [
                f"{family} ({len(members)} job{'s' if len(members) != 1 else ''})",
                _namespaces({n for j in members for n in j.inputs}, ctx),
                _namespaces({n for j in members for n in j.outputs}, ctx),
                f"{sum(r.total for r in runs):,} run(s) ("
                + ", ".join(f"{s} {n:,}" for s, n in sorted(states.items()))
                + f"), {day(min(firsts) if firsts else None)} to {day(max(lasts) if lasts else None)}",
            ]
        )
    return ctx.derived(
        label,
        f"{len(jobs)} jobs in {len(families)} families (namespace and name prefix), upstream first; each job with "
        "its inputs and outputs is in evidence.json (lineage).",
        cites=cites,
        refs=[j.node_id for j in jobs],
        table=Table(columns=["Job family", "Reads (datasets)", "Writes (datasets)", "Runs"], rows=rows),
    )


def flow_fact(ctx: Context, jobs: list[JobInfo], label: str) -> Fact | None:
    """Each job with what it read and wrote: the development steps as the pipelines ran them."""
    if not jobs:
        return None
    if len(jobs) > FLOW_DETAIL_JOBS:
        return flow_family_fact(ctx, jobs, label)
    rows = []
    cites: list[int] = []
    for j in jobs:
        cites += ctx.run_cites(j)
        engine = j.facets.get("run.processing_engine") or {}
        engine_text = ""
        if isinstance(engine, dict) and engine.get("name"):
            engine_text = f"{engine.get('name')} {engine.get('version', '')}".strip()
        rows.append(
            [
                node_label(j.node_id),
                "; ".join(node_label(n) for n in sorted(j.inputs)) or "—",
                "; ".join(node_label(n) for n in sorted(j.outputs)) or "—",
                engine_text or "—",
                run_history_text(j),
            ]
        )
    return ctx.derived(
        label,
        "Jobs in the system's lineage, upstream first, with their inputs, outputs and runs.",
        cites=cites,
        refs=[j.node_id for j in jobs],
        table=Table(columns=["Job", "Reads", "Writes", "Engine", "Runs"], rows=rows),
    )


def ordered_jobs(ctx: Context) -> list[JobInfo]:
    """Jobs in topological order (upstream first), ties by name; cycles fall back to name order."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(sorted(ctx.jobs))
    g.add_nodes_from(sorted(ctx.datasets))
    g.add_edges_from((e.source, e.target) for e in ctx.graph.edges)
    try:
        order = list(nx.lexicographical_topological_sort(g))
    except nx.NetworkXUnfeasible:
        order = sorted(g.nodes)
    return [ctx.jobs[n] for n in order if n in ctx.jobs]
