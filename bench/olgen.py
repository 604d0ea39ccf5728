"""Deterministic, realistic OpenLineage traffic for the benchmarks.

A moderate, fixed world (namespaces, datasets with schemas, jobs with their inputs, outputs, SQL and
often an Airflow-style parent) and many runs of it: every run reports START then COMPLETE (a few
FAIL), interleaved with other runs the way a scheduler's events arrive. Facets: schema, dataSource,
sql, jobType, parent, nominalTime, processing_engine, outputStatistics, errorMessage, column
lineage on a share of the outputs, and custom (non-standard) facets kept verbatim by the intake.

Same seed, same bytes: the batch endpoint, ``manage.py ingest`` and the COPY floor all read the
same events.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/airflow"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_FACET_URL = "https://openlineage.io/spec/facets/{}.json#/$defs/{}"
# In single-event templates, replaced by a fresh run id per request (see ``Templates``).
RUN_ID_TOKEN = "00000000-0000-4000-8000-00000000beef"

_DATASET_NAMESPACES = (
    "postgres://warehouse.internal:5432",
    "s3://acme-lake",
    "bigquery",
    "snowflake://acme.eu-west-1",
)
_JOB_NAMESPACES = ("airflow-prod", "spark-etl", "dbt-analytics")
_TYPES = ("string", "long", "double", "timestamp", "boolean", "decimal(18,2)", "date")
_WORDS = (
    "customer", "order", "invoice", "payment", "shipment", "product", "price", "amount", "region",
    "country", "status", "created", "updated", "event", "session", "user", "account", "ledger",
    "balance", "currency", "channel", "campaign", "score", "label", "feature", "embedding", "model",
    "version", "tenant",
)  # fmt: skip


def _facet(path: str, definition: str, /, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": _FACET_URL.format(path, definition), **body}


@dataclass(frozen=True)
class _Dataset:
    namespace: str
    name: str
    fields: tuple[tuple[str, str], ...]

    def ref(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class _Job:
    namespace: str
    name: str
    inputs: tuple[_Dataset, ...]
    outputs: tuple[_Dataset, ...]
    sql: str
    parent: tuple[str, str] | None  # (namespace, name) of the DAG this task belongs to
    column_lineage: bool
    integration: str


@dataclass(frozen=True)
class Workload:
    """Shape of the generated world; the defaults are a mid-sized data platform."""

    jobs: int = 300
    datasets: int = 1500
    column_lineage_share: float = 0.3
    fail_share: float = 0.03
    open_runs: int = 16  # runs in flight at once: how far a COMPLETE lags its START
    seed: int = 20240501


@dataclass
class World:
    workload: Workload = field(default_factory=Workload)

    def __post_init__(self) -> None:
        rng = random.Random(self.workload.seed)
        self.datasets = [self._dataset(rng, i) for i in range(self.workload.datasets)]
        dags = [(ns, f"dag_{i:03d}") for i, ns in enumerate(_JOB_NAMESPACES * 8)]
        self.jobs = [self._job(rng, i, dags) for i in range(self.workload.jobs)]
        self.dag_runs = {dag: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for dag in dags}

    def _dataset(self, rng: random.Random, index: int) -> _Dataset:
        namespace = _DATASET_NAMESPACES[index % len(_DATASET_NAMESPACES)]
        name = f"{rng.choice(_WORDS)}_{rng.choice(('raw', 'staging', 'core', 'mart'))}.{rng.choice(_WORDS)}_{index}"
        count = rng.randint(3, 12)
        fields = tuple((f"{rng.choice(_WORDS)}_{n}", rng.choice(_TYPES)) for n in range(count))
        return _Dataset(namespace, name, fields)

    def _job(self, rng: random.Random, index: int, dags: list[tuple[str, str]]) -> _Job:
        namespace = _JOB_NAMESPACES[index % len(_JOB_NAMESPACES)]
        inputs = tuple(rng.sample(self.datasets, rng.randint(1, 3)))
        outputs = tuple(rng.sample(self.datasets, rng.randint(1, 2)))
        columns = ", ".join(f for f, _ in inputs[0].fields[:8])
        sql = (
            f"INSERT INTO {outputs[0].name} SELECT {columns} FROM {inputs[0].name} "
            + " ".join(f"JOIN {d.name} USING (id)" for d in inputs[1:])
            + f" WHERE updated >= '{{{{ ds }}}}' -- job {index}"
        )
        parent = rng.choice(dags) if rng.random() < 0.7 else None
        return _Job(
            namespace=namespace,
            name=f"{rng.choice(_WORDS)}_pipeline.task_{index:04d}",
            inputs=inputs,
            outputs=outputs,
            sql=sql,
            parent=parent,
            column_lineage=rng.random() < self.workload.column_lineage_share,
            integration=("AIRFLOW", "SPARK", "DBT")[_JOB_NAMESPACES.index(namespace)],
        )

    # --- events ----------------------------------------------------------------------------------

    def event(self, job: _Job, run_id: str, state: str, when: datetime, attempt: int) -> dict[str, Any]:
        run_facets: dict[str, Any] = {
            "nominalTime": _facet(
                "1-0-1/NominalTimeRunFacet",
                "NominalTimeRunFacet",
                nominalStartTime=when.replace(minute=0, second=0, microsecond=0).isoformat(),
            ),
            "processing_engine": _facet(
                "1-1-1/ProcessingEngineRunFacet",
                "ProcessingEngineRunFacet",
                version="2.10.4",
                name=job.integration.lower(),
                openlineageAdapterVersion="1.23.0",
            ),
            "airflow": {  # custom facet, kept verbatim
                "_producer": PRODUCER,
                "_schemaURL": "https://acme.example/schemas/AirflowRunFacet.json",
                "dag": {"dag_id": job.parent[1] if job.parent else "adhoc", "owner": "data-eng"},
                "task": {"task_id": job.name, "try_number": attempt, "pool": "default_pool"},
            },
        }
        if job.parent is not None:
            run_facets["parent"] = _facet(
                "1-1-0/ParentRunFacet",
                "ParentRunFacet",
                run={"runId": self.dag_runs[job.parent]},
                job={"namespace": job.parent[0], "name": job.parent[1]},
            )
        if state == "FAIL":
            run_facets["errorMessage"] = _facet(
                "1-0-1/ErrorMessageRunFacet",
                "ErrorMessageRunFacet",
                message="psycopg2.errors.SerializationFailure: could not serialize access",
                programmingLanguage="python",
                stackTrace='Traceback (most recent call last):\n  File "/opt/airflow/task.py", line 42',
            )
        return {
            "eventType": state,
            "eventTime": when.isoformat().replace("+00:00", "Z"),
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
            "run": {"runId": run_id, "facets": run_facets},
            "job": {
                "namespace": job.namespace,
                "name": job.name,
                "facets": {
                    "sql": _facet("1-1-0/SQLJobFacet", "SQLJobFacet", query=job.sql, dialect="postgres"),
                    "jobType": _facet(
                        "2-0-3/JobTypeJobFacet",
                        "JobTypeJobFacet",
                        processingType="BATCH",
                        integration=job.integration,
                        jobType="TASK",
                    ),
                },
            },
            "inputs": [self._input(ds) for ds in job.inputs],
            "outputs": [self._output(job, ds, state, attempt) for ds in job.outputs],
        }

    def _input(self, ds: _Dataset) -> dict[str, Any]:
        return {
            **ds.ref(),
            "facets": {
                "dataSource": _facet(
                    "1-0-1/DatasourceDatasetFacet",
                    "DatasourceDatasetFacet",
                    name=ds.namespace,
                    uri=ds.namespace,
                ),
                "schema": _facet(
                    "1-1-1/SchemaDatasetFacet",
                    "SchemaDatasetFacet",
                    fields=[{"name": n, "type": t} for n, t in ds.fields],
                ),
            },
        }

    def _output(self, job: _Job, ds: _Dataset, state: str, attempt: int) -> dict[str, Any]:
        out = self._input(ds)
        if job.column_lineage:
            source = job.inputs[0]
            out["facets"]["columnLineage"] = _facet(
                "1-2-0/ColumnLineageDatasetFacet",
                "ColumnLineageDatasetFacet",
                fields={
                    name: {
                        "inputFields": [
                            {
                                **source.ref(),
                                "field": source.fields[i % len(source.fields)][0],
                                "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                            }
                        ]
                    }
                    for i, (name, _) in enumerate(ds.fields[:8])
                },
            )
        if state != "START":
            out["outputFacets"] = {
                "outputStatistics": _facet(
                    "1-0-2/OutputStatisticsOutputDatasetFacet",
                    "OutputStatisticsOutputDatasetFacet",
                    rowCount=1000 * attempt + len(ds.fields),
                    size=65536 * len(ds.fields),
                )
            }
        return out

    def events(self, count: int, *, stream: int = 0) -> Iterator[dict[str, Any]]:
        """``count`` events: START/COMPLETE pairs of runs, interleaved, in event-time order.

        Different ``stream`` values give disjoint run ids (for concurrent producers).
        """
        rng = random.Random(self.workload.seed * 1000 + stream)
        clock = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(days=stream)
        open_runs: deque[tuple[_Job, str, int]] = deque()
        emitted = 0
        sequence = 0
        while emitted < count:
            clock += timedelta(milliseconds=rng.randint(5, 900))
            if open_runs and (len(open_runs) >= self.workload.open_runs or count - emitted <= len(open_runs)):
                job, run_id, attempt = open_runs.popleft()
                state = "FAIL" if rng.random() < self.workload.fail_share else "COMPLETE"
            else:
                job = self.jobs[rng.randrange(len(self.jobs))]
                sequence += 1
                run_id = str(uuid.UUID(int=(stream << 64) | sequence, version=4))
                attempt = 1 + (sequence % 3 == 0)
                open_runs.append((job, run_id, attempt))
                state = "START"
            yield self.event(job, run_id, state, clock, attempt)
            emitted += 1

    def ndjson(self, count: int, *, stream: int = 0) -> Iterator[bytes]:
        for event in self.events(count, stream=stream):
            yield orjson.dumps(event) + b"\n"


def templates(world: World, count: int, *, stream: int = 0) -> list[tuple[bytes, bytes]]:
    """(START, COMPLETE) body pairs whose run id is ``RUN_ID_TOKEN``, for single-event clients.

    A client sends each pair with a fresh run id in place of the token (a byte replace), so every
    request is a new event without generating one in the timed loop.
    """
    rng = random.Random(world.workload.seed + 7 * stream)
    clock = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(days=stream)
    pairs = []
    for _ in range(count):
        job = world.jobs[rng.randrange(len(world.jobs))]
        clock += timedelta(seconds=rng.randint(1, 600))
        start = world.event(job, RUN_ID_TOKEN, "START", clock, 1)
        end = world.event(job, RUN_ID_TOKEN, "COMPLETE", clock + timedelta(seconds=rng.randint(5, 900)), 1)
        pairs.append((orjson.dumps(start), orjson.dumps(end)))
    return pairs
