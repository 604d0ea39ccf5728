from __future__ import annotations

import jsonschema
import pytest
from django.test import Client

from catalog.views import schema_names
from tests.factories import energy_facet, tracemark_facet


@pytest.mark.parametrize("name", schema_names())
def test_facet_schema_is_served_at_its_stable_url_with_an_absolute_id(client: Client, name: str) -> None:
    response = client.get(f"/schemas/tracemark/{name}/1-0-0.json")

    assert response.status_code == 200
    assert response.json()["$id"] == f"http://testserver/schemas/tracemark/{name}/1-0-0.json"
    jsonschema.Draft202012Validator.check_schema(response.json())


def test_unknown_facet_schema_version_is_404(client: Client) -> None:
    response = client.get("/schemas/tracemark/EnergyRunFacet/9-9-9.json")

    assert response.status_code == 404


def test_energy_facet_from_the_factories_validates_against_its_schema(client: Client) -> None:
    schema = client.get("/schemas/tracemark/EnergyRunFacet/1-0-0.json").json()
    local = {**schema["$defs"]["EnergyRunFacet"]["allOf"][1], "$schema": schema["$schema"]}

    jsonschema.validate(energy_facet(12.5, 3.1, hardware="8x H100"), local)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(tracemark_facet("EnergyRunFacet", energyKwh=-1), local)
