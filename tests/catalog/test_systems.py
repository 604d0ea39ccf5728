"""AI systems: registration, members by hand and by rule, declarations, energy roll-up."""

from __future__ import annotations

import orjson
import pytest

from catalog.models import SystemMember
from catalog.selectors import model_energy, system_composition, system_declarations, system_energy
from catalog.services import system_declare, system_member_add, system_register, system_rule_add
from lineage.models import LedgerEntry, Run
from tests.catalog.conftest import Ingest, ds, job
from tests.factories import dataset, energy_facet, later, run_event, tracemark_facet

pytestmark = pytest.mark.django_db


def test_registering_a_system_records_it_in_the_ledger() -> None:
    system = system_register(
        slug="credit-scoring", name="Credit scoring", actor="alice", risk_tier="high-risk", allowed_jurisdictions=["eu"]
    )

    payload = orjson.loads(LedgerEntry.objects.get(seq=system.first_seq).payload)
    assert payload["action"] == "system.registered"
    assert payload["actor"] == "alice"
    assert system.allowed_jurisdictions == ["EU"]


def test_staff_link_a_dataset_to_a_system_by_hand(ingest: Ingest) -> None:
    ingest(run_event(inputs=[], outputs=[dataset("s3://eu", "train")]))
    system = system_register(slug="s", name="S", actor="alice")

    system_member_add(system_id=system.pk, role="training_data", dataset_id=ds("s3://eu", "train").pk, actor="alice")

    assert system_composition(system_id=system.pk).datasets == {ds("s3://eu", "train").pk: {"training_data"}}


def test_namespace_rule_makes_new_jobs_join_the_system(ingest: Ingest) -> None:
    system = system_register(slug="s", name="S", actor="alice")
    system_rule_add(
        system_id=system.pk, role="training_job", target="job", kind="namespace", pattern="ml://credit*", actor="alice"
    )

    ingest(run_event(namespace="ml://credit-eu", job="train", inputs=[], outputs=[]))

    member = SystemMember.objects.get(system=system)
    assert (member.job_id, member.role, member.source) == (job("ml://credit-eu", "train").pk, "training_job", "rule")


def test_facet_rule_makes_model_artefacts_join_the_system(ingest: Ingest) -> None:
    system = system_register(slug="s", name="S", actor="alice")
    system_rule_add(
        system_id=system.pk, role="model", target="dataset", kind="facet", pattern="tracemark_aiModel", actor="a"
    )
    model = dataset("mlflow://eu", "credit/3", tracemark_aiModel=tracemark_facet("AIModelDatasetFacet", name="credit"))

    ingest(run_event(inputs=[], outputs=[model, dataset("s3://eu", "metrics")]))

    assert system_composition(system_id=system.pk).datasets == {ds("mlflow://eu", "credit/3").pk: {"model"}}


def test_declarations_are_versioned_and_readable_as_of_a_sequence() -> None:
    system = system_register(slug="s", name="S", actor="alice")
    first = system_declare(system_id=system.pk, field="intended_purpose", value="Score loans", actor="alice")
    system_declare(system_id=system.pk, field="intended_purpose", value="Score consumer loans", actor="bob")

    now = system_declarations(system_id=system.pk)["intended_purpose"]
    then = system_declarations(system_id=system.pk, as_of_seq=first.seq)["intended_purpose"]

    assert (now.version, now.value, now.author) == (2, "Score consumer loans", "bob")
    assert (then.version, then.value) == (1, "Score loans")


def test_energy_of_training_runs_rolls_up_to_the_model_and_the_system(ingest: Ingest) -> None:
    model = dataset("mlflow://eu", "credit/3")
    ingest(
        run_event(job="train", inputs=[], outputs=[model], run_facets={"tracemark_energy": energy_facet(120.0, 30.0)}),
        run_event(
            job="train",
            inputs=[],
            outputs=[model],
            when=later(60),
            run_facets={"tracemark_energy": energy_facet(80, 20)},
        ),
        run_event(job="serve", inputs=[model], outputs=[], run_facets={"tracemark_energy": energy_facet(5, 1)}),
    )
    system = system_register(slug="s", name="S", actor="alice")
    system_member_add(system_id=system.pk, role="serving_job", job_id=job("airflow://eu", "serve").pk, actor="a")
    system_member_add(system_id=system.pk, role="training_job", job_id=job("airflow://eu", "train").pk, actor="a")

    assert model_energy(dataset_id=ds("mlflow://eu", "credit/3").pk).kwh == pytest.approx(200.0)
    energy = system_energy(system_id=system.pk)
    assert (energy.kwh, energy.kg_co2e, energy.runs) == (pytest.approx(205.0), pytest.approx(51.0), 3)


def test_energy_of_child_runs_counts_towards_the_model(ingest: Ingest) -> None:
    parent = run_event(job="train", inputs=[], outputs=[dataset("mlflow://eu", "m")])
    child = run_event(
        job="train.step",
        inputs=[],
        outputs=[],
        run_facets={
            "tracemark_energy": energy_facet(10, 2),
            "parent": {
                "_producer": "p",
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json",
                "run": {"runId": parent["run"]["runId"]},
                "job": {"namespace": "airflow://eu", "name": "train"},
            },
        },
    )

    ingest(parent, child)

    assert Run.objects.count() == 2
    assert model_energy(dataset_id=ds("mlflow://eu", "m").pk).kwh == pytest.approx(10.0)
