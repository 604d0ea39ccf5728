from __future__ import annotations

import re
from xml.etree import ElementTree

from reports.diagram import MAX_DETAIL_NODES, lineage_diagram


def _node(i: int, kind: str, namespace: str, roles: list[str] | None = None, personal: bool = False) -> dict:
    return {
        "id": f"{kind}:{namespace}:n{i}",
        "type": kind,
        "namespace": namespace,
        "name": f"n{i}",
        "roles": roles or [],
        "personal": personal,
        "special": False,
        "jurisdiction": "DE" if personal else "",
        "first_seq": i,
    }


def _chain() -> dict:
    nodes = [_node(0, "dataset", "s3://raw"), _node(1, "job", "spark://etl"), _node(2, "dataset", "s3://clean")]
    edges = [{"source": nodes[0]["id"], "target": nodes[1]["id"], "first_seq": 1},
             {"source": nodes[1]["id"], "target": nodes[2]["id"], "first_seq": 2}]  # fmt: skip
    return {"nodes": nodes, "edges": edges}


def test_diagram_is_laid_out_left_to_right() -> None:
    svg = lineage_diagram(_chain()).svg

    # Boxes are drawn in node-id order: s3://clean, s3://raw, then the job.
    clean, raw, job = (float(x) for x in re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="118"', svg))

    ElementTree.fromstring(svg)
    assert raw < job < clean


def test_large_lineage_is_summarised_per_namespace_not_shrunk() -> None:
    nodes, edges = [], []
    for i in range(500):
        kind = "dataset" if i % 2 == 0 else "job"
        nodes.append(_node(i, kind, f"s3://stage-{i % 7}", personal=(i % 10 == 0)))
        if i:
            edges.append({"source": nodes[i - 1]["id"], "target": nodes[i]["id"], "first_seq": i})
    nodes[-1]["roles"] = ["serving_job"]

    diagram = lineage_diagram({"nodes": nodes, "edges": edges})

    ElementTree.fromstring(diagram.svg)
    assert diagram.summarised
    assert diagram.total_nodes == 500
    assert diagram.shown_nodes <= MAX_DETAIL_NODES
    assert "datasets" in diagram.svg
    assert "PII" in diagram.svg


def test_empty_lineage_says_so() -> None:
    diagram = lineage_diagram({"nodes": [], "edges": []})

    assert "No lineage is linked" in diagram.svg
