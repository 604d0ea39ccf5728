"""The graph is a function of the ledger: replays and re-batching give the same facts."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from lineage.folding import graph_replay
from lineage.graph import graph_facts
from lineage.models import (
    ColumnLineageEdge,
    Dataset,
    DatasetField,
    DatasetSymlink,
    DatasetVersion,
    GraphCheckpoint,
    Job,
    JobDatasetEdge,
    JobVersion,
    LedgerHead,
    Namespace,
    Run,
    RunDataset,
    RunStateChange,
    Tag,
)
from lineage.services import events_ingest
from tests.corpus import CORPUS, complete_corpus_files, load_events
from tests.factories import PRODUCER, T0, dataset, run_event

pytestmark = pytest.mark.django_db


def graph_clear() -> None:
    """Delete every graph row (the ledger stays), as a fresh database would have none."""
    Dataset.objects.update(current_version=None)
    Job.objects.update(current_version=None)
    Run.objects.update(parent=None, root=None, job_version=None)
    DatasetVersion.objects.update(created_by_run=None)
    for model in (
        ColumnLineageEdge,
        JobDatasetEdge,
        DatasetSymlink,
        DatasetField,
        RunDataset,
        RunStateChange,
        Run,
        DatasetVersion,
        JobVersion,
        Dataset,
        Job,
        Namespace,
        Tag,
        GraphCheckpoint,
    ):
        model.objects.all().delete()


def head() -> int:
    return LedgerHead.objects.get().seq


def test_replaying_a_ledger_prefix_gives_the_facts_known_at_that_sequence() -> None:
    if not CORPUS.is_dir():
        pytest.skip("OpenLineage corpus not found at ../shared/openlineage-corpus")
    events = [e for _name, (file, _k) in complete_corpus_files() for e in load_events(CORPUS / file)]
    for start in range(0, len(events), 7):
        events_ingest(events=events[start : start + 7])
    prefix = head() * 2 // 3
    expected = graph_facts(as_of_seq=prefix)

    graph_clear()
    graph_replay(upto_seq=prefix, batch_size=5)

    assert graph_facts(as_of_seq=prefix) == expected
    assert expected["datasets"]
    assert expected["job_edges"]


def test_as_of_the_head_equals_the_current_graph() -> None:
    events_ingest(events=[run_event(), run_event(job="other")])

    assert graph_facts(as_of_seq=head()) == graph_facts()


# --- Property: batching never changes the graph ------------------------------------------------------

P = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json"}
NAMESPACES = ["s3://bucket", "postgres://db.internal:5432"]
DATASETS = [(ns, f"d{i}") for ns in NAMESPACES for i in range(3)]
COLUMNS = ["id", "a", "b"]
RUN_IDS = [str(uuid.UUID(int=i + 1)) for i in range(6)]


@st.composite
def mentions(draw: st.DrawFn, *, output: bool) -> dict[str, Any]:
    ns, name = draw(st.sampled_from(DATASETS))
    facets: dict[str, Any] = {}
    if draw(st.booleans()):
        fields = draw(st.lists(st.sampled_from(COLUMNS), unique=True, max_size=3))
        kind = draw(st.sampled_from(["STRING", "INT"]))
        facets["schema"] = {**P, "fields": [{"name": f, "type": kind} for f in fields]}
    if output and draw(st.integers(0, 5)) == 0:
        change = draw(st.sampled_from(["CREATE", "DROP", "RENAME"]))
        facets["lifecycleStateChange"] = {**P, "lifecycleStateChange": change}
        if change == "RENAME":
            previous = draw(st.sampled_from(DATASETS))
            facets["lifecycleStateChange"]["previousIdentifier"] = {"namespace": previous[0], "name": previous[1]}
    if draw(st.integers(0, 7)) == 0:
        table = draw(st.sampled_from(DATASETS))
        facets["symlinks"] = {**P, "identifiers": [{"namespace": table[0], "name": f"{table[1]}_t", "type": "TABLE"}]}
    if output and draw(st.booleans()):
        src = draw(st.sampled_from(DATASETS))
        out_field, in_field = draw(st.sampled_from(COLUMNS)), draw(st.sampled_from(COLUMNS))
        kind = draw(st.sampled_from([("DIRECT", "IDENTITY"), ("INDIRECT", "FILTER")]))
        transformation = {"type": kind[0], "subtype": kind[1], "masking": draw(st.booleans())}
        inputs = [{"namespace": src[0], "name": src[1], "field": in_field, "transformations": [transformation]}]
        facets["columnLineage"] = {**P, "fields": {out_field: {"inputFields": inputs}}}
    return dataset(ns, name, **facets)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    when = T0 + timedelta(minutes=draw(st.integers(0, 30)))
    job = draw(st.sampled_from(["j0", "j1", "j2"]))
    inputs = draw(st.lists(mentions(output=False), max_size=2))
    outputs = draw(st.lists(mentions(output=True), max_size=2))
    kind = draw(st.sampled_from(["run", "run", "run", "job", "dataset"]))
    if kind == "dataset":
        return {
            "eventTime": when.isoformat(),
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": draw(mentions(output=True)),
        }
    if kind == "job":
        return {
            "eventTime": when.isoformat(),
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
            "job": {"namespace": "airflow://eu", "name": job, "facets": {}},
            "inputs": inputs,
            "outputs": outputs,
        }
    run = draw(st.integers(0, len(RUN_IDS) - 1))
    run_facets: dict[str, Any] = {}
    if run > 0 and draw(st.booleans()):
        parent = {"run": {"runId": RUN_IDS[0]}, "job": {"namespace": "airflow://eu", "name": "dag"}}
        run_facets["parent"] = {**P, **parent}
    event = run_event(
        event_type=draw(st.sampled_from(["START", "RUNNING", "COMPLETE", "FAIL"])),
        run_id=RUN_IDS[run],
        job="dag" if run == 0 else f"{job}.{run}",
        when=when,
        inputs=inputs,
        outputs=outputs,
        run_facets=run_facets,
    )
    if draw(st.booleans()):
        event["job"]["facets"] = {"sql": {**P, "query": draw(st.sampled_from(["select 1", "select 2"]))}}
    return event


@given(stream=st.lists(events(), min_size=1, max_size=12), cuts=st.sets(st.integers(1, 11), max_size=4))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_graph_does_not_depend_on_how_the_ledger_was_cut_into_batches(
    stream: list[dict[str, Any]], cuts: set[int]
) -> None:
    bounds = [0, *sorted(c for c in cuts if c < len(stream)), len(stream)]
    note(f"batches {bounds}")
    for i, event in enumerate(stream):
        note(f"{i}: {event}")
    with transaction.atomic():
        for start, end in itertools.pairwise(bounds):
            events_ingest(events=stream[start:end])
        batched = graph_facts()
        graph_clear()
        graph_replay(batch_size=1)
        one_by_one = graph_facts()
        transaction.set_rollback(True)

    assert one_by_one == batched
