"""Read Tracemark facets (and the standard ones policies need) from the ledger, in sequence order.

The intake keeps facets verbatim; this reader turns them into catalog facts. It keeps a cursor
(``FacetCursor``) so that each ledger entry is read once, in order, whichever worker runs it, and
values taken from an event hold from that event's sequence: a report as of ``S`` sees what the
producers had declared up to ``S`` once the reader has caught up to ``S`` (``facets_catch_up``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import transaction

from catalog.models import (
    Attribute,
    DatasetSchema,
    FacetCursor,
    FederatedRound,
    ModelCard,
    QualityResult,
    RunEnergy,
    Source,
    SystemMember,
    SystemRule,
)
from catalog.services import (
    AssertionSpec,
    Change,
    _chunks,
    _record,
    assertions_reconcile,
    classifications_ensure,
    normalise_value,
)
from lineage.models import Dataset, Job, LedgerEntry, Run

FACET_GOVERNANCE = "tracemark_governance"
FACET_MODEL = "tracemark_aiModel"
FACET_ENERGY = "tracemark_energy"
FACET_FEDERATION = "tracemark_federation"
FACET_QUALITY = "dataQualityAssertions"
CURSOR = "facets"
BATCH = 500

_SINGLE = {
    "jurisdiction": Attribute.JURISDICTION,
    "license": Attribute.LICENSE,
    "origin": Attribute.ORIGIN,
    "legalBasis": Attribute.LEGAL_BASIS,
    "retention": Attribute.RETENTION,
}
_MULTI = {"classifications": Attribute.CLASSIFICATION, "owners": Attribute.OWNER, "stewards": Attribute.STEWARD}


@dataclass(frozen=True)
class CatchUp:
    seq: int
    entries: int
    changes: int


def _datasets_of(event: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Every dataset node an event names, with the side it is on (input/output/dataset)."""
    for side in ("inputs", "outputs"):
        for ds in event.get(side) or []:
            if isinstance(ds, dict):
                yield ds, side
    if isinstance(event.get("dataset"), dict):
        yield event["dataset"], "dataset"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def governance_specs(dataset_id: int, facet: dict[str, Any]) -> tuple[set[tuple[int, str, str]], list[AssertionSpec]]:
    """The scope and values a ``tracemark_governance`` facet declares for one dataset."""
    scope: set[tuple[int, str, str]] = set()
    specs: list[AssertionSpec] = []
    for key, attribute in (_SINGLE | _MULTI).items():
        if key not in facet:
            continue
        scope.add((dataset_id, "", attribute))
        for raw in _strings(facet[key]):
            specs.append(AssertionSpec(dataset_id, "", attribute, normalise_value(attribute, raw)))
    fields = facet.get("fields")
    if isinstance(fields, dict):
        for column, spec in fields.items():
            if isinstance(spec, dict) and "classifications" in spec:
                scope.add((dataset_id, column, Attribute.CLASSIFICATION))
                for raw in _strings(spec["classifications"]):
                    value = normalise_value(Attribute.CLASSIFICATION, raw)
                    specs.append(AssertionSpec(dataset_id, column, Attribute.CLASSIFICATION, value))
    return scope, specs


def facets_catch_up(*, up_to_seq: int | None = None, batch_size: int = BATCH) -> CatchUp:
    """Read every ledger event up to ``up_to_seq`` (the head when None) not read yet. Idempotent."""
    read = changes = 0
    seq = 0
    while True:
        with transaction.atomic():
            FacetCursor.objects.bulk_create([FacetCursor(name=CURSOR, seq=0)], ignore_conflicts=True)
            cursor = FacetCursor.objects.select_for_update().get(name=CURSOR)
            entries = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EVENT, seq__gt=cursor.seq)
            if up_to_seq is not None:
                entries = entries.filter(seq__lte=up_to_seq)
            batch = list(entries.order_by("seq").values_list("seq", "payload")[:batch_size])
            if not batch:
                return CatchUp(seq=cursor.seq, entries=read, changes=changes)
            changes += _read_batch(batch)
            seq = batch[-1][0]
            FacetCursor.objects.filter(name=CURSOR).update(seq=seq)
            read += len(batch)


def _read_batch(batch: list[tuple[int, str]]) -> int:
    events = [(seq, orjson.loads(payload)) for seq, payload in batch]
    dataset_keys = {(ds["namespace"], ds["name"]) for _, ev in events for ds, _ in _datasets_of(ev) if "name" in ds}
    dataset_ids = _dataset_ids(dataset_keys)
    job_ids = _job_ids(
        {(ev["job"]["namespace"], ev["job"]["name"]) for _, ev in events if isinstance(ev.get("job"), dict)}
    )
    run_ids = dict(
        Run.objects.filter(
            run_id__in=[uuid.UUID(ev["run"]["runId"]) for _, ev in events if isinstance(ev.get("run"), dict)]
        ).values_list("run_id", "pk")
    )
    facet_rules = list(SystemRule.objects.filter(kind=SystemRule.Kind.FACET).select_related("system"))

    changes: list[Change] = []
    schemas: dict[int, tuple[int, list[str]]] = {}
    energy: dict[int, RunEnergy] = {}
    rounds: dict[int, FederatedRound] = {}
    cards: list[ModelCard] = []
    quality: list[QualityResult] = []
    matches: set[tuple[int, str, int | None, int | None, int]] = set()
    for seq, event in events:
        for ds, side in _datasets_of(event):
            dataset_id = dataset_ids.get((ds.get("namespace"), ds.get("name")))
            if dataset_id is None:
                continue
            facets = ds.get("facets") if isinstance(ds.get("facets"), dict) else {}
            schema = facets.get("schema")
            if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
                names = [f["name"] for f in schema["fields"] if isinstance(f, dict) and isinstance(f.get("name"), str)]
                schemas[dataset_id] = (seq, names)
            governance = facets.get(FACET_GOVERNANCE)
            if isinstance(governance, dict):
                scope, specs = governance_specs(dataset_id, governance)
                classifications_ensure(s.value for s in specs if s.attribute == Attribute.CLASSIFICATION)
                specs = [AssertionSpec(s.dataset_id, s.field, s.attribute, s.value, {"event_seq": seq}) for s in specs]
                changes += assertions_reconcile(source=Source.FACET, scope=scope, desired=specs, seq=seq, record=False)
            model = facets.get(FACET_MODEL)
            if isinstance(model, dict):
                cards.append(_model_card(dataset_id, seq, model))
            side_facets = ds.get("inputFacets") if side == "inputs" else None
            dq = (side_facets or {}).get(FACET_QUALITY) or facets.get(FACET_QUALITY)
            if isinstance(dq, dict) and isinstance(dq.get("assertions"), list):
                assertions = [a for a in dq["assertions"] if isinstance(a, dict)]
                passed = all(a.get("success") is True for a in assertions)
                quality.append(QualityResult(dataset_id=dataset_id, seq=seq, passed=passed, assertions=assertions))
            for rule in facet_rules:
                if rule.target == SystemRule.Target.DATASET and rule.pattern in facets:
                    matches.add((rule.system_id, rule.role, dataset_id, None, rule.pk))
        run = event.get("run") if isinstance(event.get("run"), dict) else None
        run_pk = run_ids.get(uuid.UUID(run["runId"])) if run else None
        run_facets = (run or {}).get("facets") or {}
        if run_pk is not None and isinstance(run_facets.get(FACET_ENERGY), dict):
            energy[run_pk] = _energy(run_pk, seq, run_facets[FACET_ENERGY])
        if run_pk is not None and isinstance(run_facets.get(FACET_FEDERATION), dict):
            rounds[run_pk] = _round(run_pk, seq, run_facets[FACET_FEDERATION])
        job = event.get("job") if isinstance(event.get("job"), dict) else None
        if job is not None:
            job_pk = job_ids.get((job.get("namespace"), job.get("name")))
            job_facets = job.get("facets") or {}
            for rule in facet_rules:
                if (
                    rule.target == SystemRule.Target.JOB
                    and job_pk
                    and (rule.pattern in job_facets or rule.pattern in run_facets)
                ):
                    matches.add((rule.system_id, rule.role, None, job_pk, rule.pk))

    if schemas:
        DatasetSchema.objects.bulk_create(
            [DatasetSchema(dataset_id=d, seq=s, fields=names) for d, (s, names) in schemas.items()],
            update_conflicts=True,
            unique_fields=["dataset"],
            update_fields=["fields", "seq"],
        )
    if energy:
        RunEnergy.objects.bulk_create(
            list(energy.values()),
            update_conflicts=True,
            unique_fields=["run"],
            update_fields=["kwh", "kg_co2e", "accelerator_hours", "hardware", "region", "seq"],
        )
    if rounds:
        FederatedRound.objects.bulk_create(
            list(rounds.values()),
            update_conflicts=True,
            unique_fields=["run"],
            update_fields=["seq", "technique", "sites", "transfers"],
        )
    ModelCard.objects.bulk_create(cards, ignore_conflicts=True)
    QualityResult.objects.bulk_create(quality, ignore_conflicts=True)
    _facet_members(matches, seq=events[-1][0])
    for batch in _chunks(changes, 500):
        _record(
            action="governance.facets_applied",
            subject="catalog:governance",
            actor="tracemark",
            details={"source": Source.FACET, "changes": [c.as_dict() for c in batch]},
        )
    return len(changes)


def _dataset_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not keys:
        return {}
    rows = Dataset.objects.filter(
        namespace__name__in={ns for ns, _ in keys}, name__in={name for _, name in keys}
    ).values_list("namespace__name", "name", "pk")
    return {(ns, name): pk for ns, name, pk in rows if (ns, name) in keys}


def _job_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not keys:
        return {}
    rows = Job.objects.filter(
        namespace__name__in={ns for ns, _ in keys}, name__in={name for _, name in keys}
    ).values_list("namespace__name", "name", "pk")
    return {(ns, name): pk for ns, name, pk in rows if (ns, name) in keys}


def _model_card(dataset_id: int, seq: int, facet: dict[str, Any]) -> ModelCard:
    params = facet.get("parameters")
    return ModelCard(
        dataset_id=dataset_id,
        seq=seq,
        name=str(facet.get("name") or "")[:200],
        version=str(facet.get("version") or "")[:64],
        task=str(facet.get("task") or "")[:200],
        framework=str(facet.get("framework") or "")[:200],
        parameters=int(params) if isinstance(params, int | float) and not isinstance(params, bool) else None,
        metrics=facet.get("metrics") if isinstance(facet.get("metrics"), dict) else {},
        facet={k: v for k, v in facet.items() if not k.startswith("_")},
    )


def _energy(run_pk: int, seq: int, facet: dict[str, Any]) -> RunEnergy:
    return RunEnergy(
        run_id=run_pk,
        seq=seq,
        kwh=max(_number(facet.get("energyKwh")), 0.0),
        kg_co2e=max(_number(facet.get("emissionsKgCo2e")), 0.0),
        accelerator_hours=max(_number(facet.get("acceleratorHours")), 0.0),
        hardware=str(facet.get("hardware") or "")[:200],
        region=str(facet.get("region") or "")[:64],
    )


def _round(run_pk: int, seq: int, facet: dict[str, Any]) -> FederatedRound:
    sites = [s for s in facet.get("sites") or [] if isinstance(s, dict)]
    transfers = [t for t in facet.get("transfers") or [] if isinstance(t, dict)]
    return FederatedRound(
        run_id=run_pk,
        seq=seq,
        technique=str(facet.get("privacyTechnique") or "")[:200],
        sites=sites,
        transfers=transfers,
    )


def _facet_members(matches: set[tuple[int, str, int | None, int | None, int]], *, seq: int) -> None:
    if not matches:
        return
    from catalog.services import _members_create

    existing = set(
        SystemMember.objects.filter(valid_to_seq__isnull=True, system_id__in={m[0] for m in matches}).values_list(
            "system_id", "role", "dataset_id", "job_id"
        )
    )
    wanted = [
        SystemMember(system_id=s, role=r, dataset_id=d, job_id=j, source="rule", rule_id=rule)
        for s, r, d, j, rule in sorted(matches, key=str)
        if (s, r, d, j) not in existing
    ]
    _members_create(wanted)
