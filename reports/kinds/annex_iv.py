"""Annex IV technical documentation: one section per Annex IV point, its number in the heading."""

from __future__ import annotations

from reports.evidence import Context, Fact, Section, node_label, section
from reports.kinds.common import (
    datasheet,
    day,
    energy_fact,
    flow_fact,
    missing_governance,
    model_card_fact,
    ordered_jobs,
    quality_fact,
    run_history_text,
    runs_table,
)

RISK_TIERS = {
    "prohibited": "prohibited practice (Art. 5)",
    "high-risk": "high-risk (Art. 6)",
    "limited": "limited risk (transparency, Art. 50)",
    "minimal": "minimal risk",
    "general-purpose": "general-purpose AI model",
    "gpai-systemic": "general-purpose AI model with systemic risk",
}


def declare(field: str) -> str:
    return f"Declare '{field}' for the system (catalog → system declarations), with who and why."


def annex_iv_sections(ctx: Context) -> list[Section]:
    return [
        _general(ctx),
        _development(ctx),
        _monitoring(ctx),
        _single(
            ctx,
            "4",
            "Appropriateness of the performance metrics",
            "metrics_appropriateness",
            "Why the chosen performance metrics suit this system.",
            extra=_metrics_facts(ctx),
        ),
        _single(
            ctx,
            "5",
            "Risk-management system (Art. 9)",
            "risk_management",
            "The risk-management system in place under Article 9.",
        ),
        _changes(ctx),
        _single(
            ctx,
            "7",
            "Harmonised standards applied",
            "standards",
            "The harmonised standards applied, or the other solutions and specifications used.",
        ),
        _single(
            ctx,
            "8",
            "EU declaration of conformity (Art. 47)",
            "declaration_of_conformity",
            "A copy of the EU declaration of conformity.",
        ),
        _post_market(ctx),
    ]


def _general(ctx: Context) -> Section:
    record = ctx.record
    tier = ctx.record_fact("risk_tier", "Risk tier", lambda v: RISK_TIERS.get(v, v))
    area = ctx.record_fact("annex_iii_area", "Annex III area")
    serving = ctx.jobs_with_role("serving_job")
    models = ctx.datasets_with_role("model")
    sources = ctx.sources_of([j.node_id for j in ctx.jobs_with_role("training_job")])
    engines = sorted(
        {
            f"{e.get('name')} {e.get('version', '')}".strip()
            for j in ctx.jobs.values()
            if isinstance((e := j.facets.get("run.processing_engine")), dict) and e.get("name")
        }
    )
    hardware = sorted({h for e in ctx.energy_by_job.values() for h in e.hardware})
    items = [
        ctx.item(
            "1(a)",
            "Intended purpose",
            [
                ctx.declared("intended_purpose", "Intended purpose")
                or ctx.record_fact("intended_purpose", "Intended purpose"),
                tier,
                area,
            ],
            need="The intended purpose of the system.",
            close=declare("intended_purpose") + " Or fill in the system's intended purpose.",
        ),
        ctx.item(
            "1(b)",
            "Provider",
            [ctx.record_fact("provider", "Provider")],
            need="The name of the provider.",
            close="Fill in the provider on the system record.",
        ),
        ctx.item(
            "1(c)",
            "Version and relation to earlier versions",
            [
                ctx.record_fact("version", "System version"),
                _model_versions(ctx, models),
                ctx.declared("version_history", "Relation to earlier versions"),
            ],
            need="The system's version and how it relates to earlier versions.",
            close="Fill in the system version; link the model artefacts (role model); " + declare("version_history"),
        ),
        ctx.item(
            "1(d)",
            "Interaction with other hardware, software and AI systems",
            [
                ctx.declared("interactions", "Declared interactions"),
                ctx.derived(
                    "External data sources",
                    "Data enters the system's lineage from: " + "; ".join(node_label(d.node_id) for d in sources) + ".",
                    cites=ctx.cite_many([d.first_seq for d in sources], "external data source"),
                    refs=[d.node_id for d in sources],
                )
                if sources
                else None,
            ],
            need="How the system interacts with hardware, software or other AI systems.",
            close=declare("interactions") + " Link the training jobs so their sources are traced.",
            declaration="interactions",
        ),
        ctx.item(
            "1(e)",
            "Software and firmware versions, update requirements",
            [
                ctx.declared("software_versions", "Declared software versions"),
                ctx.derived(
                    "Processing engines reported by the pipelines",
                    ", ".join(engines) + ".",
                    cites=[
                        s for j in ctx.jobs.values() if j.facets.get("run.processing_engine") for s in ctx.run_cites(j)
                    ],
                )
                if engines
                else None,
            ],
            need="Versions of the relevant software or firmware and requirements on updates.",
            close=declare("software_versions") + " Or have producers send the processing_engine run facet.",
            declaration="software_versions",
        ),
        ctx.item(
            "1(f)",
            "Forms in which the system is placed on the market or put into service",
            [
                ctx.declared("placing_on_market", "Forms of placing on the market"),
                ctx.derived(
                    "Serving jobs",
                    "Put into service through: "
                    + "; ".join(f"{node_label(j.node_id)} ({run_history_text(j)})" for j in serving)
                    + ".",
                    cites=[s for j in serving for s in ctx.run_cites(j)],
                    refs=[j.node_id for j in serving],
                )
                if serving
                else None,
            ],
            need="All forms of placing on the market or putting into service.",
            close=declare("placing_on_market") + " Link the serving jobs (role serving_job).",
            declaration="placing_on_market",
        ),
        ctx.item(
            "1(g)",
            "Hardware the system is intended to run on",
            [
                ctx.declared("hardware", "Declared hardware"),
                ctx.derived(
                    "Hardware reported in energy facets",
                    ", ".join(hardware) + ".",
                    cites=ctx.cite_many([s for e in ctx.energy_by_job.values() for s in e.seqs], "energy facet"),
                )
                if hardware
                else None,
            ],
            need="A description of the hardware on which the system is intended to run.",
            close=declare("hardware") + " Or report hardware in the run energy facet.",
            declaration="hardware",
        ),
        ctx.item(
            "1(h)",
            "Photographs or illustrations (where a product component)",
            [ctx.declared("product_photos", "Product illustrations")],
            need="Photographs or illustrations of the products the system is a component of.",
            close=declare("product_photos") + " Declare 'Not applicable because …' if it is not a product component.",
            declaration="product_photos",
        ),
        ctx.item(
            "1(i)",
            "User interface provided to the deployer",
            _with_context(
                ctx.declared("deployer_interface", "Deployer interface"), ctx.record_fact("deployer", "Deployer")
            ),
            need="A basic description of the user interface provided to the deployer.",
            close=declare("deployer_interface"),
            declaration="deployer_interface",
        ),
        ctx.item(
            "1(j)",
            "Instructions for use",
            [ctx.declared("instructions_for_use", "Instructions for use")],
            need="Instructions for use for the deployer.",
            close=declare("instructions_for_use"),
            declaration="instructions_for_use",
        ),
    ]
    del record
    return section(
        ctx,
        id="annex-iv-1",
        number="1",
        ref="Annex IV point 1",
        title="General description of the AI system",
        intro="Intended purpose, provider, versions, interactions, forms of release, hardware and instructions.",
        items=items,
    )


def _with_context(declared: Fact | None, *context: Fact | None) -> list[Fact | None]:
    """Derived facts support a declaration; they cannot answer a point that asks for the provider's own account."""
    return [declared, *context] if declared else []


def _model_versions(ctx: Context, models: list) -> Fact | None:
    if not models:
        return None
    lines = []
    cites: list[int] = []
    for m in models:
        cards = ctx.model_cards.get(m.node_id, [])
        versions = sorted({c.version for c in cards if c.version})
        cites += ctx.cite(m.first_seq, f"first event naming {m.node_id}")
        cites += ctx.cite_many([c.seq for c in cards], f"model facet of {m.node_id}")
        lines.append(
            f"{node_label(m.node_id)} (first recorded #{m.first_seq}"
            + (f"; versions {', '.join(versions)}" if versions else "")
            + ")"
        )
    return ctx.derived("Model artefacts", "; ".join(lines) + ".", cites=cites, refs=[m.node_id for m in models])


def _development(ctx: Context) -> Section:
    training_jobs = ctx.jobs_with_role("training_job")
    eval_jobs = ctx.jobs_with_role("evaluation_job")
    models = ctx.datasets_with_role("model")
    own_models = {m.node_id for m in models if m.writers & {j.node_id for j in training_jobs}}
    pretrained = [
        d
        for n in sorted(ctx.upstream_of([j.node_id for j in training_jobs]))
        if (d := ctx.datasets.get(n)) is not None and ctx.model_cards.get(n) and n not in own_models
    ]
    train_data = ctx.datasets_with_role("training_data", "validation_data", "test_data")
    sources = [
        d for d in ctx.sources_of([d.node_id for d in train_data]) if d.node_id not in {t.node_id for t in train_data}
    ]
    prep_jobs = [
        j for j in ordered_jobs(ctx) if j.node_id in ctx.upstream_of([d.node_id for d in train_data]) and not j.roles
    ]
    missing = missing_governance(ctx, train_data + sources, ("origin", "license", "jurisdiction"))
    test_data = ctx.datasets_with_role("test_data", "validation_data")
    items = [
        ctx.item(
            "2(a)",
            "Methods and steps of development, incl. pre-trained systems and third-party tools",
            [
                ctx.declared("development_methods", "Declared methods"),
                flow_fact(ctx, ordered_jobs(ctx), "Development steps as run"),
                datasheet(ctx, pretrained, "Pre-trained models used") if pretrained else None,
            ],
            need="The methods and steps performed for the development of the system.",
            close="Link the training job to the system so its lineage is traced; " + declare("development_methods"),
        ),
        ctx.item(
            "2(b)",
            "Design specifications: general logic, key choices, assumptions, trade-offs",
            _with_context(
                ctx.declared("design_specifications", "Design specifications"),
                model_card_fact(ctx, models, "Model characteristics reported by the pipelines"),
            ),
            need="The design specifications of the system and of the algorithms.",
            close=declare("design_specifications"),
        ),
        ctx.item(
            "2(c)",
            "System architecture",
            [ctx.declared("architecture", "Architecture")],
            need="A description of the system architecture: how software components build on or feed into each other.",
            close=declare("architecture"),
        ),
        ctx.item(
            "2(c)",
            "Computational resources used to develop, train, test and validate",
            [
                energy_fact(ctx, training_jobs + eval_jobs, "Compute and energy to train and validate"),
                runs_table(ctx, training_jobs + eval_jobs, "Training and evaluation runs"),
            ],
            need="The computational resources used to develop, train, test and validate the system.",
            close="Link the training and evaluation jobs; have their runs send the Tracemark energy facet.",
        ),
        ctx.item(
            "2(d)",
            "Data requirements: datasheets of the training, validation and test data",
            [
                datasheet(ctx, train_data, "Training, validation and test data"),
                datasheet(ctx, sources, "Upstream sources of that data"),
                flow_fact(ctx, prep_jobs, "Selection, labelling and cleaning steps") if prep_jobs else None,
                ctx.declared("data_requirements", "Declared data requirements"),
            ],
            need="Datasheets describing the training methodologies and data sets: provenance, scope, main "
            "characteristics, how obtained and selected, labelling and cleaning.",
            close="Link training/validation/test datasets (or the training and evaluation jobs) to the system.",
        ),
        ctx.item(
            "2(d)+",
            "Governance metadata of that data (origin, licence, jurisdiction)",
            [
                ctx.derived(
                    "All datasheet fields known",
                    "Every dataset above has origin, licence and jurisdiction recorded.",
                    cites=[],
                )
            ]
            if train_data and not missing
            else [],
            need="Missing: " + ("; ".join(missing) if missing else "no training data is linked yet") + ".",
            close="Record these values in the catalog (staff edit, rule or the producer's governance facet).",
        ),
        ctx.item(
            "2(e)",
            "Human oversight (Art. 14) and interpretation of outputs (Art. 13(3)(d))",
            [
                ctx.declared("human_oversight", "Human-oversight measures"),
                ctx.declared("output_interpretation", "Means to interpret outputs"),
            ],
            need="An assessment of the human-oversight measures and of the technical means to interpret outputs.",
            close=declare("human_oversight") + " and 'output_interpretation'.",
        ),
        ctx.item(
            "2(f)",
            "Pre-determined changes and continued compliance",
            [ctx.declared("predetermined_changes", "Pre-determined changes")],
            need="Pre-determined changes to the system and its performance, and how compliance is kept.",
            close=declare("predetermined_changes") + " Declare 'Not applicable because …' if there are none.",
            declaration="predetermined_changes",
        ),
        ctx.item(
            "2(g)",
            "Validation and testing: data, metrics, discriminatory impact",
            [
                runs_table(ctx, eval_jobs, "Evaluation runs"),
                datasheet(ctx, test_data, "Validation and test data"),
                model_card_fact(ctx, models, "Reported metrics"),
                quality_fact(ctx, test_data, "Data-quality results on validation and test data"),
                ctx.declared("validation_metrics", "Metrics for accuracy, robustness and discriminatory impact"),
            ],
            need="The validation and testing procedures: data used, metrics, and results.",
            close="Link the evaluation job (role evaluation_job) and its test data; " + declare("validation_metrics"),
        ),
        ctx.item(
            "2(g)+",
            "Test logs and reports, dated and signed by the responsible persons",
            [ctx.declared("test_report_approval", "Signed test report")],
            need="Test logs and test reports dated and signed by the responsible persons.",
            close=declare("test_report_approval") + " (name, role, date and the signed report's reference).",
        ),
        ctx.item(
            "2(h)",
            "Cybersecurity measures",
            [ctx.declared("cybersecurity", "Cybersecurity measures")],
            need="The cybersecurity measures put in place.",
            close=declare("cybersecurity"),
        ),
    ]
    return section(
        ctx,
        id="annex-iv-2",
        number="2",
        ref="Annex IV point 2",
        title="Elements of the AI system and its development process",
        intro="How the system was built, from which data, with which compute, and how it was validated.",
        items=items,
    )


def _monitoring(ctx: Context) -> Section:
    serving = ctx.jobs_with_role("serving_job")
    inputs = sorted({n for j in serving for n in j.inputs if "model" not in ctx.datasets[n].roles})
    input_sheet = datasheet(ctx, [ctx.datasets[n] for n in inputs], "Inputs read by the serving jobs")
    items = [
        ctx.item(
            "3",
            "Capabilities and limitations in performance, incl. accuracy for the persons or groups concerned",
            [ctx.declared("capabilities_limitations", "Capabilities and limitations")],
            need="Capabilities and limitations, and the expected accuracy per person or group.",
            close=declare("capabilities_limitations"),
        ),
        ctx.item(
            "3",
            "Foreseeable unintended outcomes and sources of risk",
            [ctx.declared("foreseeable_risks", "Foreseeable risks")],
            need="Foreseeable unintended outcomes and sources of risk to health, safety and rights.",
            close=declare("foreseeable_risks"),
        ),
        ctx.item(
            "3",
            "Human-oversight measures",
            [ctx.declared("human_oversight", "Human-oversight measures")],
            need="The human-oversight measures needed (Art. 14).",
            close=declare("human_oversight"),
        ),
        ctx.item(
            "3",
            "Input data specifications",
            [ctx.declared("input_specifications", "Input data specifications"), input_sheet],
            need="Specifications of the input data.",
            close=declare("input_specifications") + " Or link the serving job so its inputs are traced.",
        ),
    ]
    return section(
        ctx,
        id="annex-iv-3",
        number="3",
        ref="Annex IV point 3",
        title="Monitoring, functioning and control of the AI system",
        intro="What the system can and cannot do, its risks, oversight and input specifications.",
        items=items,
    )


def _metrics_facts(ctx: Context) -> list[Fact | None]:
    return [model_card_fact(ctx, ctx.datasets_with_role("model"), "Metrics reported for the models")]


def _single(
    ctx: Context, number: str, title: str, field: str, need: str, extra: list[Fact | None] | None = None
) -> Section:
    declared = ctx.declared(field, title)
    # Derived context (e.g. the metrics reported) accompanies the declaration; it cannot answer a
    # point that asks for the provider's own assessment.
    facts = [declared, *(extra or [])] if declared else []
    item = ctx.item(number, title, facts, need=need, close=declare(field), declaration=field)
    return section(
        ctx,
        id=f"annex-iv-{number}",
        number=number,
        ref=f"Annex IV point {number}",
        title=title,
        intro="",
        items=[item],
    )


def _changes(ctx: Context) -> Section:
    members = ctx.members
    member_rows = [
        [m.role.replace("_", " "), node_label(m.node_id), m.source, m.actor or "—", f"#{m.first_seq}"]
        for m in sorted(members, key=lambda m: (m.first_seq, m.node_id))
    ]
    from reports.evidence import Table

    membership = (
        ctx.derived(
            "Composition of the system over time",
            f"{len(members)} component(s) linked to the system as of ledger #{ctx.seq}, in the order they joined.",
            cites=ctx.cite_many([m.first_seq for m in members], "system membership"),
            refs=[m.node_id for m in members],
            table=Table(columns=["Role", "Component", "Linked by", "Who", "Since"], rows=member_rows),
        )
        if members
        else None
    )
    models = ctx.datasets_with_role("model")
    items = [
        ctx.item(
            "6",
            "Relevant changes through the lifecycle",
            [
                membership,
                _model_versions(ctx, models),
                runs_table(ctx, [j for j in ordered_jobs(ctx) if j.roles], "Run history of the system's jobs"),
                ctx.declared("lifecycle_changes", "Declared changes"),
            ],
            need="A description of the relevant changes made to the system through its lifecycle.",
            close="Link the system's jobs and models; " + declare("lifecycle_changes"),
        )
    ]
    return section(
        ctx,
        id="annex-iv-6",
        number="6",
        ref="Annex IV point 6",
        title="Relevant changes through the lifecycle",
        intro="From the job, dataset and model history recorded in the lineage.",
        items=items,
    )


def _post_market(ctx: Context) -> Section:
    serving = ctx.jobs_with_role("serving_job")
    failures = [j for j in ctx.jobs.values() if j.runs and j.runs.latest_failed is not None]
    failure_fact = (
        ctx.derived(
            "Failed runs in the system's lineage",
            "; ".join(
                f"{node_label(j.node_id)}: {j.runs.by_state.get('FAIL', 0)} failed, latest on "
                f"{day(j.runs.latest_failed.started_at)}"
                for j in sorted(failures, key=lambda j: j.node_id)
                if j.runs and j.runs.latest_failed
            )
            + ".",
            cites=[
                s
                for j in failures
                if j.runs and j.runs.latest_failed
                for s in ctx.cite_many(j.runs.latest_failed.seqs, f"failed run of {j.node_id}")
            ],
            refs=[j.node_id for j in failures],
        )
        if failures
        else None
    )
    items = [
        ctx.item(
            "9",
            "Post-market monitoring system and plan (Art. 72)",
            [ctx.declared("post_market_monitoring", "Post-market monitoring plan")],
            need="The system in place to evaluate performance after placing on the market, and the plan.",
            close=declare("post_market_monitoring"),
        ),
        ctx.item(
            "9",
            "Operation and incidents recorded by the lineage",
            [runs_table(ctx, serving, "Serving in operation"), failure_fact],
            need="Runs of the serving jobs and incidents (failed runs) in the system's lineage.",
            close="Link the serving jobs (role serving_job) and have them report runs.",
        ),
    ]
    return section(
        ctx,
        id="annex-iv-9",
        number="9",
        ref="Annex IV point 9",
        title="Post-market monitoring (Art. 72)",
        intro="",
        items=items,
    )
