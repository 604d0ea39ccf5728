"""The producer example in docs/facets.md, run as written against a live server.

The documentation is what producers copy: if its facet classes stop validating, or the catalog stops
reading what they carry, this test says so.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from catalog.facets import facets_catch_up
from catalog.models import RunEnergy
from catalog.selectors import governance_get
from lineage.models import Dataset, LedgerEntry, Run
from lineage.services import IssuedKey

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "facets.md"


def _python_blocks(markdown: str) -> list[str]:
    return [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)]


def test_the_facets_guide_example_reaches_the_catalog(
    live_server, producer_key: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = _python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "docs/facets.md should hold one runnable example"
    example = blocks[0].replace("https://tracemark.example.org", live_server.url)
    monkeypatch.setenv("OPENLINEAGE_URL", live_server.url)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", producer_key.secret)
    monkeypatch.delenv("OPENLINEAGE_CONFIG", raising=False)

    exec(compile(example, str(DOC), "exec"), {"__name__": "facets_example"})

    entry = LedgerEntry.objects.get(kind="event")
    facets = json.loads(entry.payload)["inputs"][0]["facets"]["tracemark_governance"]
    assert facets["_schemaURL"] == f"{live_server.url}/schemas/tracemark/DatasetGovernanceDatasetFacet/1-0-0.json"
    assert entry.warnings == []

    facets_catch_up()

    dataset = Dataset.objects.get(name="lending.public.loan_applications")
    governance = governance_get(dataset_ids=[dataset.pk])[dataset.pk]
    assert governance.first("jurisdiction") == "DE"
    assert governance.first("license") == "LicenseRef-internal"
    assert governance.first("origin") == "collected"
    assert {v.value for v in governance.columns["iban"]["classification"]} == {"pii", "financial"}
    energy = RunEnergy.objects.get(run__run_id="0195f7a4-6c1e-7d7a-9a63-1c2b3d4e5f60")
    assert (energy.kwh, energy.kg_co2e, energy.hardware) == (412.5, 148.5, "4x A100")


README = DOC.parents[1] / "README.md"


def test_the_readme_tour_posts_a_run_that_lands_in_the_graph(live_server, producer_key: IssuedKey) -> None:
    tour, facet = _python_blocks(README.read_text(encoding="utf-8"))
    tour = tour.replace("http://127.0.0.1:8000", live_server.url).replace("tm_…", producer_key.secret)

    exec(compile(tour, str(README), "exec"), {"__name__": "readme_tour"})
    namespace: dict[str, object] = {"__name__": "readme_facet"}
    exec(compile(facet, str(README), "exec"), namespace)

    run = Run.objects.get()
    assert (run.job.namespace.name, run.job.name, run.state) == ("ml://factory", "train.credit_scoring", "COMPLETE")
    assert Dataset.objects.filter(name="credit/train").exists()
    governance = namespace["GovernanceFacet"](jurisdiction="DE")  # type: ignore[operator]
    assert governance._get_schema().endswith("/schemas/tracemark/DatasetGovernanceDatasetFacet/1-0-0.json")
