"""GPAI public summary of training content, in the structure of the AI Office template (24 Jul 2025).

Plus the Annex XI facts Tracemark holds: compute, training time and energy from the runs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from reports.evidence import Context, DatasetInfo, Fact, Item, Section, Table, node_label, section
from reports.kinds.annex_iv import declare
from reports.kinds.common import datasheet, day, energy_fact, model_card_fact, runs_table

ORIGIN_SECTIONS = (
    ("2.1", "Publicly available datasets", ("public",)),
    ("2.2", "Commercially licensed and other private third-party data", ("licensed",)),
    ("2.3", "Data crawled and scraped from online sources", ("scraped",)),
    ("2.4", "User data", ("user-provided",)),
    ("2.5", "Synthetic data", ("synthetic",)),
    ("2.6", "Other sources", ("collected",)),
)
KNOWN_ORIGINS = {o for _, _, origins in ORIGIN_SECTIONS for o in origins}


def origin_of(d: DatasetInfo) -> str:
    a = d.governance.one("origin")
    return a.value if a else ""


def gpai_summary_sections(ctx: Context) -> list[Section]:
    training_jobs = ctx.jobs_with_role("training_job")
    models = ctx.datasets_with_role("model")
    own_models = {m.node_id for m in models}
    training_data = ctx.datasets_with_role("training_data")
    sources = ctx.sources_of([d.node_id for d in training_data])
    base_models = [
        ctx.datasets[n]
        for n in sorted(ctx.upstream_of([j.node_id for j in training_jobs]))
        if n in ctx.datasets and n not in own_models and ("model" in ctx.datasets[n].roles or ctx.model_cards.get(n))
    ]
    unknown = [d for d in sources if origin_of(d) not in KNOWN_ORIGINS]
    general = section(
        ctx,
        id="gpai-1",
        number="1",
        ref="Template section 1",
        title="General information",
        intro="Provider, model, versions, dependencies, modalities and the size of the training data.",
        items=[
            ctx.item(
                "1.1",
                "Provider and contact",
                [ctx.record_fact("provider", "Provider"), ctx.declared("provider_contact", "Contact")],
                need="Provider name and contact (and EU representative for non-EU providers).",
                close="Fill in the provider; " + declare("provider_contact"),
            ),
            ctx.item(
                "1.2",
                "Versioned model name(s)",
                [
                    ctx.record_fact("name", "Model"),
                    ctx.record_fact("version", "Version"),
                    model_card_fact(ctx, models, "Model versions reported by training"),
                ],
                need="The versioned name(s) of the model.",
                close="Fill in the system name and version.",
            ),
            ctx.item(
                "1.3",
                "Model dependencies (base model for a fine-tune)",
                [datasheet(ctx, base_models, "Base models upstream of training")]
                if base_models
                else (
                    [
                        ctx.derived(
                            "None traced",
                            "No model is upstream of the training jobs in the lineage as of "
                            f"ledger #{ctx.seq}: the model is not traced as a fine-tune.",
                        )
                    ]
                    if training_jobs
                    else []
                ),
                need="Whether the model is a modification of another model, and which.",
                close="Link the training job (role training_job) so its inputs are traced.",
                declaration="model_dependencies",
            ),
            ctx.item(
                "1.4",
                "Date placed on the EU market",
                [ctx.declared("market_date", "Date placed on the market")],
                need="The date the model was placed on the Union market.",
                close=declare("market_date"),
            ),
            ctx.item(
                "1.5",
                "Modalities and content types",
                [ctx.declared("modalities", "Modalities")],
                need="Input and output modalities and the types of content in the training data.",
                close=declare("modalities"),
            ),
            ctx.item(
                "1.6",
                "Training data size per modality",
                [ctx.declared("training_data_size", "Size (template bins)"), _size_fact(ctx, training_data)],
                need="The size of the training data per modality, in the template's bins.",
                close=declare("training_data_size") + " Or have producers send outputStatistics.",
            ),
            ctx.item(
                "1.7",
                "Latest data collection and whether training continues",
                [_collection_dates(ctx, sources), ctx.declared("training_continues", "Continued training")],
                need="The latest date of data collection and whether collection continues.",
                close=declare("training_continues"),
            ),
            ctx.item(
                "1.8",
                "Linguistic and other characteristics",
                [ctx.declared("linguistic_characteristics", "Characteristics")],
                need="Languages and other relevant characteristics of the training data.",
                close=declare("linguistic_characteristics"),
                declaration="linguistic_characteristics",
            ),
        ],
    )
    source_items: list[Item] = []
    for ref, title, origins in ORIGIN_SECTIONS:
        matching = [d for d in sources if origin_of(d) in origins]
        facts: list[Fact | None] = [datasheet(ctx, matching, title)] if matching else []
        if ref == "2.3" and matching:
            facts.append(_domains(ctx, matching))
        if ref == "2.4":
            facts.append(ctx.declared("user_data", "User data"))
        if ref == "2.5" and matching:
            facts.append(_generators(ctx, matching))
        if not any(facts) and sources and not unknown:
            facts = [
                ctx.derived(
                    "None",
                    f"None of the {len(sources)} traced source dataset(s) has this origin as of ledger #{ctx.seq}.",
                    refs=[d.node_id for d in sources],
                )
            ]
        need = f"The {title.lower()} used for training."
        if unknown:
            need += " Origin unknown for: " + "; ".join(node_label(d.node_id) for d in unknown) + "."
        source_items.append(
            ctx.item(
                ref,
                title,
                facts,
                need=need,
                close="Record the origin of every source dataset in the catalog."
                if sources
                else "Link the training data or training job to the system.",
            )
        )
    scraped = [d for d in sources if origin_of(d) == "scraped"]
    crawler_facts: list[Fact | None] = [ctx.declared("crawlers", "Crawlers")]
    if not scraped and sources and not unknown:
        crawler_facts = [ctx.derived("No crawling", "No traced source dataset was crawled or scraped.")]
    source_items.insert(
        3,
        ctx.item("2.3", "Crawlers: names, purposes, behaviour and collection period", crawler_facts,
                 need="For crawled data: crawler names, purposes, behaviour (robots.txt, paywalls), collection "
                 "period and content types.", close=declare("crawlers")),
    )  # fmt: skip
    data_sources = section(
        ctx,
        id="gpai-2",
        number="2",
        ref="Template section 2",
        title="List of data sources",
        intro="Every source dataset upstream of the training data, by origin as recorded in the catalog.",
        items=source_items,
    )
    processing = section(
        ctx,
        id="gpai-3",
        number="3",
        ref="Template section 3",
        title="Relevant data-processing aspects",
        intro="",
        items=[
            ctx.item(
                "3.1",
                "Respect of reservations of rights from text and data mining",
                [ctx.declared("tdm_opt_out", "TDM opt-outs (Art. 4(3) Directive (EU) 2019/790)")],
                need="Measures to respect TDM opt-outs before and during collection.",
                close=declare("tdm_opt_out"),
            ),
            ctx.item(
                "3.2",
                "Removal of illegal content",
                [ctx.declared("illegal_content_removal", "Illegal content")],
                need="Measures to avoid or remove illegal content from the training data.",
                close=declare("illegal_content_removal"),
            ),
        ],
    )
    annex_xi = section(
        ctx,
        id="gpai-xi",
        number="XI",
        ref="Annex XI, section 1(2)(d) and (e)",
        title="Compute, training time and energy (Annex XI)",
        intro="Facts Tracemark holds from the training runs' facets.",
        items=[
            ctx.item(
                "XI 2(d)",
                "Computational resources and training time",
                [
                    ctx.declared("training_compute", "Training compute (FLOPs)"),
                    runs_table(ctx, training_jobs, "Training runs"),
                ],
                need="Training compute in FLOPs and training time.",
                close=declare("training_compute"),
            ),
            ctx.item(
                "XI 2(e)",
                "Known or estimated energy consumption",
                [energy_fact(ctx, training_jobs, "Energy of the training runs")],
                need="Known or estimated energy consumption of training.",
                close="Have training runs send the Tracemark energy facet (kWh, kgCO2e, hardware, region).",
            ),
        ],
    )
    return [general, data_sources, processing, annex_xi]


def _size_fact(ctx: Context, data: list[DatasetInfo]) -> Fact | None:
    counted = [d for d in data if d.row_count is not None]
    if not counted:
        return None
    total = sum(d.row_count or 0 for d in counted)
    return ctx.derived(
        "Records reported by the pipelines",
        f"{total:,} records across {len(counted)} of {len(data)} training dataset(s) (outputStatistics).",
        cites=ctx.cite_many([d.stats_seq for d in counted], "outputStatistics"),
        refs=[d.node_id for d in counted],
    )


def _collection_dates(ctx: Context, sources: list[DatasetInfo]) -> Fact | None:
    writers = sorted({w for d in sources for w in d.writers})
    runs = [
        (ctx.jobs[w], ctx.jobs[w].runs.latest_complete)
        for w in writers
        if ctx.jobs[w].runs and ctx.jobs[w].runs.latest_complete
    ]
    if not runs:
        return None
    latest = max(runs, key=lambda jr: (jr[1].ended_at or jr[1].started_at, jr[0].node_id))
    return ctx.derived(
        "Latest collection run",
        f"{day(latest[1].ended_at or latest[1].started_at)} ({node_label(latest[0].node_id)}).",
        cites=ctx.cite_many(latest[1].seqs, f"run of {latest[0].node_id}"),
        refs=[latest[0].node_id],
    )


def _domains(ctx: Context, scraped: list[DatasetInfo]) -> Fact | None:
    sizes: dict[str, int] = {}
    for d in scraped:
        parts = urlsplit(d.namespace)
        if parts.scheme in ("http", "https") and parts.hostname:  # a storage namespace names no web domain
            sizes[parts.hostname] = sizes.get(parts.hostname, 0) + (d.row_count or 0)
    if not sizes:
        return None
    ranked = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ranked[: max(1, (len(ranked) + 9) // 10)]
    return ctx.derived(
        "Top 10% of domains by content size",
        f"{len(top)} of {len(ranked)} domain(s), by records reported.",
        refs=[d.node_id for d in scraped],
        table=Table(columns=["Domain", "Records"], rows=[[h, f"{n:,}" if n else "unknown"] for h, n in top]),
    )


def _generators(ctx: Context, synthetic: list[DatasetInfo]) -> Fact | None:
    rows = []
    for d in synthetic:
        gens = sorted(n for n in ctx.upstream_of([d.node_id]) if n in ctx.datasets and ctx.model_cards.get(n))
        rows.append([node_label(d.node_id), "; ".join(node_label(g) for g in gens) or "not traced"])
    return ctx.derived(
        "Models that generated the synthetic data",
        "From the lineage upstream of each dataset.",
        refs=[d.node_id for d in synthetic],
        table=Table(columns=["Dataset", "Generated by"], rows=rows),
    )
