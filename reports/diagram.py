"""The lineage diagram: inline SVG, laid out left to right (data → jobs → model → serving).

networkx layers the graph (longest path from the sources) and orders each layer by the
barycentre of its neighbours to keep edges from crossing. A graph too large to read is
summarised: the system's own components and their direct neighbours stay, everything else is
grouped per namespace ("37 datasets · s3://raw-eu · 4 personal · DE, FR"), so a 500-node lineage
still reads at print size instead of shrinking to dust.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import networkx as nx

# Drawn one node per dataset/job up to these sizes; beyond, summarised (see module docstring).
MAX_DETAIL_NODES = 40
MAX_LAYERS = 8
MAX_LAYER_HEIGHT = 9
# Geometry in SVG user units (1 unit = 1 CSS px = 0.75 pt at 100%). Eight columns fit a landscape
# A4 page at about 90%, which keeps box titles above 6 pt; deeper lineage wraps onto bands below.
NODE_W, NODE_H = 118, 46
COL_GAP, ROW_GAP = 24, 10
TITLE_CHARS = 22
BAND_GAP = 34
MARGIN = 8
FONT = "TMSans"

ROLE_STYLE = {
    "model": ("#5b3f99", "model"),
    "serving_job": ("#1d7a46", "serving"),
    "training_job": ("#b35c00", "training"),
    "evaluation_job": ("#8a6d00", "evaluation"),
    "training_data": ("#1f5f99", "training data"),
    "validation_data": ("#1f5f99", "validation data"),
    "test_data": ("#1f5f99", "test data"),
}


@dataclass
class Box:
    id: str
    kind: str  # dataset | job | group
    title: str
    subtitle: str
    roles: list[str] = field(default_factory=list)
    personal: int = 0
    special: int = 0
    jurisdictions: list[str] = field(default_factory=list)
    count: int = 1
    noun: str = ""  # dataset | job, for groups


@dataclass(frozen=True)
class Diagram:
    svg: str
    summarised: bool
    shown_nodes: int
    total_nodes: int
    width: int
    height: int


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    tail = limit - 1 - head
    return text[:head] + "…" + text[-tail:]


def _wrap(text: str, width: int, lines: int) -> list[str]:
    """Break at separators (. _ / - : space) into at most ``lines`` lines; shorten the last."""
    out: list[str] = []
    rest = text
    while rest and len(out) < lines - 1 and len(rest) > width:
        cut = max((rest.rfind(sep, 0, width + 1) for sep in "._/-: "), default=-1)
        cut = cut + 1 if cut > width // 3 else width
        out.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        out.append(_shorten(rest, width))
    return out


def _detail_boxes(nodes: list[dict[str, Any]]) -> dict[str, Box]:
    boxes = {}
    for n in nodes:
        boxes[n["id"]] = Box(
            id=n["id"],
            kind=n["type"],
            title=n["name"],
            subtitle=n["namespace"],
            roles=list(n["roles"]),
            personal=1 if n["personal"] else 0,
            special=1 if n["special"] else 0,
            jurisdictions=[n["jurisdiction"]] if n["jurisdiction"] else [],
        )
    return boxes


def _summarise(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> tuple[dict[str, Box], list[tuple[str, str]]]:
    """Keep the system's components and their neighbours; group the rest per namespace and type."""
    by_id = {n["id"]: n for n in nodes}
    keep = {n["id"] for n in nodes if n["roles"]}
    neighbours = set()
    for e in edges:
        if e["target"] in keep:
            neighbours.add(e["source"])
        if e["source"] in keep:
            neighbours.add(e["target"])
    if len(keep | neighbours) <= MAX_DETAIL_NODES // 2:
        keep |= neighbours
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in nodes:
        if n["id"] not in keep:
            groups[f"group:{n['type']}:{n['namespace']}"].append(n)
    # A group of one is drawn as the node itself.
    for gid in [g for g, members in groups.items() if len(members) == 1]:
        keep.add(groups.pop(gid)[0]["id"])
    owner = {n["id"]: n["id"] for n in nodes if n["id"] in keep}
    for gid, members in groups.items():
        for m in members:
            owner[m["id"]] = gid
    boxes = _detail_boxes([by_id[i] for i in sorted(keep)])
    for gid, members in sorted(groups.items()):
        kind = members[0]["type"]
        noun = "dataset" if kind == "dataset" else "job"
        boxes[gid] = Box(
            id=gid,
            kind="group",
            noun=noun,
            title=f"{len(members)} {noun}{'s' if len(members) != 1 else ''}",
            subtitle=members[0]["namespace"],
            personal=sum(1 for m in members if m["personal"]),
            special=sum(1 for m in members if m["special"]),
            jurisdictions=sorted({m["jurisdiction"] for m in members if m["jurisdiction"]}),
            count=len(members),
        )
    grouped = {(owner[e["source"]], owner[e["target"]]) for e in edges}
    return boxes, sorted((a, b) for a, b in grouped if a != b)


def _collapse_tall_layers(
    boxes: dict[str, Box], pairs: list[tuple[str, str]], layers: list[list[str]]
) -> tuple[dict[str, Box], list[tuple[str, str]]]:
    """Merge the boxes of a column taller than the page by namespace and role ("10 datasets · training data")."""
    mapping: dict[str, str] = {}
    merged: dict[str, list[Box]] = defaultdict(list)
    for layer in layers:
        if len(layer) <= MAX_LAYER_HEIGHT:
            continue
        for bid in layer:
            box = boxes[bid]
            noun = box.noun or box.kind
            role = box.roles[0] if box.roles else ""
            merged[f"group:{noun}:{box.subtitle}:{role}"].append(box)
    out = dict(boxes)
    for gid, members in sorted(merged.items()):
        if len(members) == 1:
            continue
        count = sum(m.count for m in members)
        noun = members[0].noun or members[0].kind
        for m in members:
            mapping[m.id] = gid
            out.pop(m.id, None)
        out[gid] = Box(
            id=gid,
            kind="group",
            noun=noun,
            title=f"{count} {noun}s",
            subtitle=members[0].subtitle,
            roles=list(members[0].roles),
            personal=sum(m.personal for m in members),
            special=sum(m.special for m in members),
            jurisdictions=sorted({j for m in members for j in m.jurisdictions}),
            count=count,
        )
    moved = {(mapping.get(a, a), mapping.get(b, b)) for a, b in pairs}
    return out, sorted((a, b) for a, b in moved if a != b)


def _layers(ids: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    g = nx.DiGraph()
    g.add_nodes_from(ids)
    g.add_edges_from(edges)
    # Cycles (possible once grouped) are condensed so that layering stays defined.
    cond = nx.condensation(g)
    members = cond.graph["mapping"]
    level: dict[int, int] = {}
    for c in nx.lexicographical_topological_sort(cond, key=lambda c: min(cond.nodes[c]["members"])):
        preds = list(cond.predecessors(c))
        level[c] = 1 + max(level[p] for p in preds) if preds else 0
    # Pull sources right, next to what reads them, so inputs sit beside their first consumer.
    for c in sorted(level, key=lambda c: -level[c]):
        succs = list(cond.successors(c))
        if succs and not list(cond.predecessors(c)):
            level[c] = max(level[c], min(level[s] for s in succs) - 1)
    layers: dict[int, list[str]] = defaultdict(list)
    for node in sorted(ids):
        layers[level[members[node]]].append(node)
    ordered = [layers[i] for i in sorted(layers)]
    # Barycentre ordering, two sweeps, ties broken by id: deterministic and few crossings.
    preds_of: dict[str, list[str]] = defaultdict(list)
    succs_of: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        preds_of[b].append(a)
        succs_of[a].append(b)
    for _ in range(2):
        for i in range(1, len(ordered)):
            pos = {n: k for k, n in enumerate(ordered[i - 1])}
            ordered[i].sort(key=lambda n: (_bary(preds_of[n], pos), n))
        for i in range(len(ordered) - 2, -1, -1):
            pos = {n: k for k, n in enumerate(ordered[i + 1])}
            ordered[i].sort(key=lambda n: (_bary(succs_of[n], pos), n))
    return ordered


def _bary(neighbours: list[str], pos: dict[str, int]) -> float:
    placed = [pos[n] for n in neighbours if n in pos]
    return sum(placed) / len(placed) if placed else 1e9


def lineage_diagram(lineage: dict[str, Any]) -> Diagram:
    nodes: list[dict[str, Any]] = lineage["nodes"]
    edges: list[dict[str, Any]] = lineage["edges"]
    total = len(nodes)
    boxes = _detail_boxes(nodes)
    pairs = sorted({(e["source"], e["target"]) for e in edges})
    layers = _layers(sorted(boxes), pairs) if boxes else []
    summarised = False
    if total > MAX_DETAIL_NODES or any(len(layer) > MAX_LAYER_HEIGHT for layer in layers):
        boxes, pairs = _summarise(nodes, edges)
        layers = _layers(sorted(boxes), pairs)
        for _ in range(3):
            if all(len(layer) <= MAX_LAYER_HEIGHT for layer in layers):
                break
            boxes, pairs = _collapse_tall_layers(boxes, pairs, layers)
            layers = _layers(sorted(boxes), pairs)
        summarised = True
    return _draw(boxes, pairs, layers, summarised=summarised, total=total)


def _draw(
    boxes: dict[str, Box], pairs: list[tuple[str, str]], layers: list[list[str]], *, summarised: bool, total: int
) -> Diagram:
    """Place the layers left to right; a lineage deeper than MAX_LAYERS wraps onto bands below."""
    if not boxes:
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40" viewBox="0 0 300 40">'
            f'<text x="4" y="24" font-family="{FONT}" font-size="11" fill="#555">'
            "No lineage is linked to this system.</text></svg>"
        )
        return Diagram(svg=svg, summarised=False, shown_nodes=0, total_nodes=total, width=300, height=40)
    band_count = -(-len(layers) // MAX_LAYERS)
    per_band = -(-len(layers) // band_count)
    bands = [layers[i : i + per_band] for i in range(0, len(layers), per_band)]
    columns = max(len(b) for b in bands)
    width = MARGIN * 2 + columns * NODE_W + (columns - 1) * COL_GAP
    xy: dict[str, tuple[int, int]] = {}
    band_of: dict[str, int] = {}
    band_bottom: list[int] = []
    top = MARGIN
    for b, band in enumerate(bands):
        tallest = max(len(layer) for layer in band)
        for col, layer in enumerate(band):
            offset = (tallest - len(layer)) * (NODE_H + ROW_GAP) // 2
            for row, node in enumerate(layer):
                xy[node] = (MARGIN + col * (NODE_W + COL_GAP), top + offset + row * (NODE_H + ROW_GAP))
                band_of[node] = b
        bottom = top + tallest * NODE_H + (tallest - 1) * ROW_GAP
        band_bottom.append(bottom)
        top = bottom + BAND_GAP
    height = band_bottom[-1] + MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Lineage diagram">'
    ]
    crossing = 0
    for a, b in pairs:
        (x1, y1), (x2, y2) = xy[a], xy[b]
        sx, sy = x1 + NODE_W, y1 + NODE_H // 2
        tx, ty = x2, y2 + NODE_H // 2
        if band_of[b] > band_of[a]:
            # Down to the gap under the source's band, across, and down into the target.
            gap_y = band_bottom[band_of[a]] + 8 + (crossing % 5) * 3
            crossing += 1
            out.append(
                f'<path d="M{sx} {sy} H{sx + 8 + (crossing % 3) * 3} V{gap_y} H{tx - 12} V{ty} H{tx - 6}" '
                'fill="none" stroke="#7c8794" stroke-width="0.9"/>'
            )
        elif tx <= sx:  # an edge back (condensed cycle or across bands upwards): dashed, below the boxes
            out.append(
                f'<path d="M{sx} {sy} C{sx + 30} {sy + 40} {tx - 30} {ty + 40} {tx - 6} {ty}" fill="none" '
                'stroke="#9aa3ad" stroke-width="0.9" stroke-dasharray="3 2"/>'
            )
        else:
            mid = (sx + tx) // 2
            out.append(
                f'<path d="M{sx} {sy} C{mid} {sy} {mid} {ty} {tx - 6} {ty}" fill="none" stroke="#7c8794" '
                'stroke-width="0.9"/>'
            )
        out.append(f'<path d="M{tx - 6} {ty - 3} L{tx} {ty} L{tx - 6} {ty + 3} Z" fill="#7c8794"/>')
    for node in sorted(xy):
        out.append(_box(boxes[node], *xy[node]))
    out.append("</svg>")
    return Diagram(
        svg="".join(out), summarised=summarised, shown_nodes=len(boxes), total_nodes=total, width=width, height=height
    )


def _box(box: Box, x: int, y: int) -> str:
    role = next((r for r in ROLE_STYLE if r in box.roles), None)
    stroke, role_label = ROLE_STYLE[role] if role else ("#5d6b78", "")
    stroke_width = 1.8 if role else 0.8
    if box.kind == "job":
        fill, rx = "#f3f1ea", 0
    elif box.kind == "group":
        fill, rx = "#eef1f4", 3
    else:
        fill, rx = "#ffffff", 7
    dash = ' stroke-dasharray="4 2"' if box.kind == "group" else ""
    parts = [
        f'<g><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{rx}" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{stroke_width}"{dash}/>'
    ]
    title = _wrap(box.title, TITLE_CHARS, 2)
    subtitle = _shorten(box.subtitle, 30)
    for k, line in enumerate(title):
        parts.append(
            f'<text x="{x + 4}" y="{y + 11 + 10 * k}" font-family="{FONT}" font-size="9.5" font-weight="bold" '
            f'fill="#1b2530">{escape(line)}</text>'
        )
    parts.append(
        f'<text x="{x + 4}" y="{y + 11 + 10 * len(title)}" font-family="{FONT}" font-size="7.5" '
        f'fill="#4a5661">{escape(subtitle)}</text>'
    )
    # Bottom line: role, then markers for personal data and jurisdiction.
    tags: list[tuple[str, str, str]] = []
    if role_label:
        tags.append((role_label, stroke, "#ffffff"))
    if box.special:
        tags.append((f"Art.9 {box.special}" if box.kind == "group" else "Art.9", "#7a0019", "#ffffff"))
    if box.personal:
        tags.append((f"PII {box.personal}" if box.kind == "group" else "PII", "#c0392b", "#ffffff"))
    if box.jurisdictions:
        tags.append((_shorten(" ".join(box.jurisdictions), 14), "#dde6ee", "#1b2530"))
    tx = x + 4
    for text, bg, fg in tags:
        w = int(len(text) * 4.0) + 6
        if tx + w > x + NODE_W - 2:
            break
        parts.append(f'<rect x="{tx}" y="{y + NODE_H - 11}" width="{w}" height="8.5" rx="2" fill="{bg}"/>')
        parts.append(
            f'<text x="{tx + 3}" y="{y + NODE_H - 4.6}" font-family="{FONT}" font-size="6.8" fill="{fg}">'
            f"{escape(text)}</text>"
        )
        tx += w + 3
    parts.append("</g>")
    return "".join(parts)
