"""Article 10 data-governance report: one section per practice of Art. 10(2)(a) to (h), then 10(3) to 10(5)."""

from __future__ import annotations

import re

from reports.evidence import Context, DatasetInfo, Fact, JobInfo, Section, Table, node_label, section
from reports.kinds.annex_iv import declare
from reports.kinds.common import (
    FLOW_DETAIL_JOBS,
    datasheet,
    flow_family_fact,
    gov_value,
    missing_governance,
    ordered_jobs,
    quality_fact,
    run_history_text,
)

# Preparation operations named in Art. 10(2)(c), recognised in job names and job-type facets.
OPERATIONS = (
    ("annotation", r"annotat"),
    ("labelling", r"label"),
    ("cleaning", r"clean|dedup|filter|scrub|sanitis|sanitiz|valid"),
    ("updating", r"update|refresh|incremental"),
    ("enrichment", r"enrich|join|augment|lookup"),
    ("aggregation", r"aggregat|rollup|summar|group"),
    ("feature engineering", r"feature"),
    ("splitting", r"split|sample"),
    ("masking", r"mask|anonymi|pseudonymi|hash"),
    ("loading", r"load|ingest|extract|import|copy|sync"),
)


def operations_of(name: str, job_type: str = "") -> list[str]:
    text = f"{name} {job_type}".lower()
    return [label for label, pattern in OPERATIONS if re.search(pattern, text)]


def data_governance_sections(ctx: Context) -> list[Section]:
    data = ctx.datasets_with_role("training_data", "validation_data", "test_data")
    data_ids = [d.node_id for d in data]
    upstream = ctx.upstream_of(data_ids)
    sources = [d for d in ctx.sources_of(data_ids) if d.node_id not in set(data_ids)]
    lineage_data = (
        data
        + sources
        + [ctx.datasets[n] for n in sorted(upstream) if n in ctx.datasets and ctx.datasets[n] not in data + sources]
    )
    prep_jobs = [j for j in ordered_jobs(ctx) if j.node_id in upstream]
    personal = [d for d in lineage_data if d.personal]
    special = [d for d in lineage_data if d.special]
    no_data_close = "Link the training, validation and test datasets (or the training and evaluation jobs)."

    sections = [
        section(
            ctx,
            id="art10-2a",
            number="10(2)(a)",
            ref="Art. 10(2)(a)",
            title="Relevant design choices",
            intro="Which data the system is trained, validated and tested on, and why.",
            items=[
                ctx.item(
                    "10(2)(a)",
                    "Data chosen for training, validation and testing",
                    [datasheet(ctx, data, "Training, validation and test data")],
                    need="The training, validation and test datasets of the system.",
                    close=no_data_close,
                ),
                ctx.item(
                    "10(2)(a)",
                    "Design choices",
                    [ctx.declared("data_design_choices", "Design choices")],
                    need="The relevant design choices about the data.",
                    close=declare("data_design_choices"),
                ),
            ],
        ),
        section(
            ctx,
            id="art10-2b",
            number="10(2)(b)",
            ref="Art. 10(2)(b)",
            title="Data collection processes and origin of the data",
            intro="Where each dataset came from and how it was collected; for personal data, the original "
            "purpose of collection.",
            items=[
                ctx.item(
                    "10(2)(b)",
                    "Origin of the data",
                    [datasheet(ctx, sources, "Sources the data was collected from")]
                    if sources and not missing_governance(ctx, sources, ("origin",))
                    else [],
                    need="Origin of every source dataset. Missing: "
                    + ("; ".join(missing_governance(ctx, sources, ("origin",))) or "no sources traced")
                    + ".",
                    close="Record each source's origin (collected, licensed, scraped, synthetic, public, "
                    "user-provided) in the catalog or the producer's governance facet.",
                ),
                ctx.item(
                    "10(2)(b)",
                    "Collection processes",
                    [_collection(ctx, sources)],
                    need="The jobs that collected the data into the factory.",
                    close="Have the ingestion pipelines emit OpenLineage events.",
                ),
                _personal_purpose(ctx, personal),
            ],
        ),
        section(
            ctx,
            id="art10-2c",
            number="10(2)(c)",
            ref="Art. 10(2)(c)",
            title="Data-preparation operations",
            intro="Annotation, labelling, cleaning, updating, enrichment and aggregation, as the pipelines ran them.",
            items=[
                ctx.item(
                    "10(2)(c)",
                    "Preparation operations taken from the lineage",
                    [_preparation(ctx, prep_jobs)],
                    need="The preparation operations applied to the data.",
                    close="Have the preparation jobs emit OpenLineage events with their inputs and outputs.",
                ),
            ],
        ),
        _declared_section(
            ctx, "10(2)(d)", "art10-2d", "Assumptions about what the data measures and represents", "data_assumptions"
        ),
        section(
            ctx,
            id="art10-2e",
            number="10(2)(e)",
            ref="Art. 10(2)(e)",
            title="Availability, quantity and suitability of the data sets",
            intro="",
            items=[
                ctx.item(
                    "10(2)(e)",
                    "Quantity",
                    [_quantity(ctx, data)],
                    need="The size of each training, validation and test dataset.",
                    close="Have the producers send the outputStatistics facet (rowCount).",
                ),
                ctx.item(
                    "10(2)(e)",
                    "Availability and suitability",
                    [ctx.declared("data_suitability", "Availability and suitability")],
                    need="An assessment of availability, quantity and suitability.",
                    close=declare("data_suitability"),
                ),
            ],
        ),
        _declared_section(ctx, "10(2)(f)", "art10-2f", "Examination in view of possible biases", "bias_examination"),
        _declared_section(
            ctx, "10(2)(g)", "art10-2g", "Measures to detect, prevent and mitigate biases", "bias_mitigation"
        ),
        section(
            ctx,
            id="art10-2h",
            number="10(2)(h)",
            ref="Art. 10(2)(h)",
            title="Data gaps and shortcomings, and how they are addressed",
            intro="",
            items=[
                ctx.item(
                    "10(2)(h)",
                    "Gaps in the data's documentation found by Tracemark",
                    [_documentation_gaps(ctx, lineage_data)] if lineage_data else [],
                    need="Traced training data to examine.",
                    close=no_data_close,
                ),
                ctx.item(
                    "10(2)(h)",
                    "Data gaps and how they are addressed",
                    [ctx.declared("data_gaps", "Declared data gaps")],
                    need="Relevant data gaps or shortcomings and how they are addressed.",
                    close=declare("data_gaps"),
                ),
            ],
        ),
        section(
            ctx,
            id="art10-3",
            number="10(3)",
            ref="Art. 10(3)",
            title="Relevance, representativeness, errors and completeness",
            intro="Data-quality assertion results reported by the pipelines for the data as of this report.",
            items=[
                ctx.item(
                    "10(3)",
                    "Data-quality assertion results",
                    [quality_fact(ctx, data, "Assertions")],
                    need="Data-quality assertions run on the training, validation and test data.",
                    close="Have the pipelines send the dataQualityAssertions facet for these datasets.",
                ),
                ctx.item(
                    "10(3)",
                    "Quality criteria",
                    [ctx.declared("data_quality_criteria", "Quality criteria")],
                    need="How relevance, representativeness and freedom from errors are assured.",
                    close=declare("data_quality_criteria"),
                ),
            ],
        ),
        section(
            ctx,
            id="art10-4",
            number="10(4)",
            ref="Art. 10(4)",
            title="Geographical, contextual, behavioural or functional setting",
            intro="Where the data lives (jurisdictions) against where the system may use it.",
            items=[
                ctx.item(
                    "10(4)",
                    "Jurisdictions of the data",
                    [_jurisdictions(ctx, lineage_data)]
                    if lineage_data and not missing_governance(ctx, lineage_data, ("jurisdiction",))
                    else [],
                    need="The jurisdiction of every dataset in the lineage. Missing: "
                    + ("; ".join(missing_governance(ctx, lineage_data, ("jurisdiction",))) or "no data traced")
                    + ".",
                    close="Record jurisdictions (catalog rule by namespace, staff edit or governance facet).",
                ),
                ctx.item(
                    "10(4)",
                    "Setting the system is intended for",
                    [
                        ctx.declared("deployment_setting", "Intended setting"),
                        ctx.record_fact("allowed_jurisdictions", "Allowed jurisdictions", lambda v: ", ".join(v)),
                    ],
                    need="The setting within which the system is intended to be used.",
                    close=declare("deployment_setting"),
                ),
            ],
        ),
        section(
            ctx,
            id="art10-5",
            number="10(5)",
            ref="Art. 10(5) (Art. 4a as amended)",
            title="Special categories of personal data",
            intro="Special-category data may be processed only to detect and correct bias, with safeguards.",
            items=_special_items(ctx, special, lineage_data),
        ),
    ]
    return sections


def _declared_section(ctx: Context, number: str, id: str, title: str, field: str) -> Section:
    return section(
        ctx,
        id=id,
        number=number,
        ref=f"Art. {number}",
        title=title,
        intro="",
        items=[
            ctx.item(
                number, title, [ctx.declared(field, title)], need=title + ".", close=declare(field), declaration=field
            )
        ],
    )


def _collection(ctx: Context, sources: list[DatasetInfo]) -> Fact | None:
    collectors = [ctx.jobs[j] for j in sorted({w for d in sources for w in d.writers})]
    if not collectors:
        return None
    rows = [
        [node_label(j.node_id), "; ".join(node_label(n) for n in sorted(j.outputs)), run_history_text(j)]
        for j in collectors
    ]
    return ctx.derived(
        "Collection jobs",
        "Jobs that bring data into the factory, with their run history.",
        cites=[s for j in collectors for s in ctx.run_cites(j)],
        refs=[j.node_id for j in collectors],
        table=Table(columns=["Job", "Writes", "Runs"], rows=rows),
    )


def _personal_purpose(ctx: Context, personal: list[DatasetInfo]):
    if not personal:
        return ctx.item(
            "10(2)(b)",
            "Personal data: original purpose of collection",
            [
                ctx.derived(
                    "No personal data",
                    f"No dataset in the lineage of the training data is classified as "
                    f"personal data as of ledger #{ctx.seq}.",
                )
            ],
            need="",
            close="",
        )
    cites: list[int] = []
    rows = [
        [node_label(d.node_id), gov_value(ctx, d, "classification", cites), gov_value(ctx, d, "legal_basis", cites)]
        for d in personal
    ]
    table_fact = ctx.derived(
        "Personal data in the lineage",
        f"{len(personal)} dataset(s) hold personal data.",
        cites=cites,
        refs=[d.node_id for d in personal],
        table=Table(columns=["Dataset", "Classification", "Legal basis"], rows=rows),
    )
    declared = ctx.declared("personal_data_purpose", "Original purpose of collection")
    return ctx.item(
        "10(2)(b)",
        "Personal data: original purpose of collection",
        [declared, table_fact] if declared else [],
        need=f"The original purpose for which the personal data in {len(personal)} dataset(s) was collected.",
        close=declare("personal_data_purpose"),
    )


def _preparation(ctx: Context, jobs: list[JobInfo]) -> Fact | None:
    if not jobs:
        return None
    if len(jobs) > FLOW_DETAIL_JOBS:
        return flow_family_fact(ctx, jobs, "Preparation job families, upstream first")
    rows = []
    for j in jobs:
        job_type = j.facets.get("jobType") or {}
        kind = job_type.get("jobType", "") if isinstance(job_type, dict) else ""
        ops = operations_of(j.name, str(kind)) or ["unclassified"]
        rows.append(
            [
                node_label(j.node_id),
                ", ".join(ops),
                "; ".join(node_label(n) for n in sorted(j.inputs)) or "—",
                "; ".join(node_label(n) for n in sorted(j.outputs)) or "—",
                run_history_text(j),
            ]
        )
    return ctx.derived(
        "Preparation jobs, upstream first",
        "Operation recognised from the job's name and job-type facet; inputs and outputs as recorded.",
        cites=[s for j in jobs for s in ctx.run_cites(j)],
        refs=[j.node_id for j in jobs],
        table=Table(columns=["Job", "Operation", "Reads", "Writes", "Runs"], rows=rows),
    )


def _quantity(ctx: Context, data: list[DatasetInfo]) -> Fact | None:
    known = [d for d in data if d.row_count is not None or d.schema]
    if not known:
        return None
    rows = [
        [
            node_label(d.node_id),
            ", ".join(sorted(d.roles)) or "—",
            f"{d.row_count:,}" if d.row_count is not None else "unknown",
            str(len(d.schema)) if d.schema else "—",
        ]
        for d in data
    ]
    cites = ctx.cite_many([d.stats_seq for d in data] + [d.schema_seq for d in data], "dataset statistics or schema")
    return ctx.derived(
        "Size of the data",
        "Rows and fields as last reported by the pipelines.",
        cites=cites,
        refs=[d.node_id for d in data],
        table=Table(columns=["Dataset", "Role", "Rows", "Fields"], rows=rows),
    )


def _documentation_gaps(ctx: Context, data: list[DatasetInfo]) -> Fact:
    missing = missing_governance(ctx, data, ("origin", "license", "jurisdiction", "classification"))
    if not missing:
        return ctx.derived(
            "None found",
            "Every dataset in the lineage of the training data has origin, licence, "
            "jurisdiction and classification recorded.",
            refs=[d.node_id for d in data],
        )
    return ctx.derived(
        "Missing governance metadata",
        f"{len(missing)} value(s) missing: " + "; ".join(missing) + ".",
        refs=[d.node_id for d in data],
    )


def _jurisdictions(ctx: Context, data: list[DatasetInfo]) -> Fact:
    from catalog.jurisdictions import jurisdiction_within

    allowed = ctx.record.get("allowed_jurisdictions") or []
    cites: list[int] = []
    rows = []
    for d in data:
        where = gov_value(ctx, d, "jurisdiction", cites)
        inside = "—" if not allowed else ("yes" if jurisdiction_within(where, allowed) else "NO")
        rows.append([node_label(d.node_id), where, inside])
    return ctx.derived(
        "Where the data lives",
        "Jurisdiction of each dataset in the lineage"
        + (f", checked against the allowed jurisdictions {', '.join(allowed)}." if allowed else "."),
        cites=cites,
        refs=[d.node_id for d in data],
        table=Table(columns=["Dataset", "Jurisdiction", "Within allowed"], rows=rows),
    )


def _special_items(ctx: Context, special: list[DatasetInfo], data: list[DatasetInfo]) -> list:
    if not special:
        return [
            ctx.item(
                "10(5)",
                "Special-category data in the lineage",
                [
                    ctx.derived(
                        "None",
                        f"No dataset or column in the lineage of the training data is classified as "
                        f"special-category data as of ledger #{ctx.seq}.",
                        refs=[d.node_id for d in data],
                    )
                ]
                if data
                else [],
                need="Traced training data to examine.",
                close="Link the training data.",
            )
        ]
    cites: list[int] = []
    rows = [
        [node_label(d.node_id), gov_value(ctx, d, "classification", cites), gov_value(ctx, d, "legal_basis", cites)]
        for d in special
    ]
    found = ctx.derived(
        "Special-category data found",
        f"{len(special)} dataset(s).",
        cites=cites,
        refs=[d.node_id for d in special],
        table=Table(columns=["Dataset", "Classification", "Legal basis"], rows=rows),
    )
    return [
        ctx.item("10(5)", "Special-category data in the lineage", [found], need="", close=""),
        ctx.item(
            "10(5)",
            "Safeguards and necessity for bias detection",
            [ctx.declared("special_category_safeguards", "Safeguards")],
            need="Why the special-category data is strictly necessary for bias detection, and the safeguards.",
            close=declare("special_category_safeguards"),
        ),
    ]
