// Lineage explorer: a layered, left-to-right SVG of the graph around a node, expanded on demand.
// No library: layering (longest path) and ordering (barycentre sweeps) run here on the nodes
// shown, which stays smooth well past 500 nodes. All styling lives in app.css (CSP).
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const W = 210, H = 46, GAP_X = 90, GAP_Y = 18;
  const host = document.getElementById("graph");
  if (!host) return;
  const form = document.getElementById("explorer-controls");
  const status = document.getElementById("status");
  const selection = document.getElementById("selection");
  const endpoint = host.dataset.endpoint;
  const highlight = (host.dataset.highlight || "").split("|").filter(Boolean);

  const state = { nodes: new Map(), edges: new Map(), addedBy: new Map(), root: "", selected: "", view: { x: 20, y: 20, k: 1 } };

  function params(extra) {
    const data = new FormData(form);
    const query = new URLSearchParams();
    for (const [k, v] of data.entries()) if (v !== "") query.set(k, v);
    for (const [k, v] of Object.entries(extra || {})) query.set(k, v);
    return query;
  }

  async function fetchGraph(extra) {
    const response = await fetch(endpoint + "?" + params(extra).toString(), { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || ("HTTP " + response.status));
    return body;
  }

  function merge(body, parent) {
    let added = 0;
    for (const node of body.nodes) {
      if (!state.nodes.has(node.id)) {
        state.nodes.set(node.id, node);
        if (parent) state.addedBy.set(node.id, parent);
        added += 1;
      }
    }
    for (const edge of body.edges) state.edges.set(edge.from + "\u0000" + edge.to, edge);
    return added;
  }

  // --- layout -----------------------------------------------------------------------------------
  function layout() {
    const ids = [...state.nodes.keys()];
    const preds = new Map(ids.map((id) => [id, []]));
    const succs = new Map(ids.map((id) => [id, []]));
    for (const e of state.edges.values()) {
      if (!preds.has(e.to) || !succs.has(e.from)) continue;
      preds.get(e.to).push(e.from);
      succs.get(e.from).push(e.to);
    }
    // Longest-path layering (Kahn); nodes left in cycles take one more than their placed inputs.
    const indeg = new Map(ids.map((id) => [id, preds.get(id).length]));
    const layer = new Map();
    const queue = ids.filter((id) => indeg.get(id) === 0);
    for (const id of queue) layer.set(id, 0);
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i];
      for (const next of succs.get(id)) {
        layer.set(next, Math.max(layer.get(next) || 0, layer.get(id) + 1));
        indeg.set(next, indeg.get(next) - 1);
        if (indeg.get(next) === 0) queue.push(next);
      }
    }
    for (const id of ids) {
      if (!layer.has(id)) layer.set(id, Math.max(0, ...preds.get(id).filter((p) => layer.has(p)).map((p) => layer.get(p) + 1)));
    }
    const layers = [];
    for (const id of ids) (layers[layer.get(id)] ||= []).push(id);
    for (const column of layers) if (column) column.sort();
    // Barycentre sweeps: order each layer by the mean position of its neighbours.
    const pos = new Map();
    const place = () => layers.forEach((col) => col && col.forEach((id, i) => pos.set(id, i)));
    place();
    for (let sweep = 0; sweep < 4; sweep++) {
      const forward = sweep % 2 === 0;
      const order = forward ? layers : [...layers].reverse();
      for (const col of order) {
        if (!col) continue;
        const key = (id) => {
          const near = forward ? preds.get(id) : succs.get(id);
          return near.length ? near.reduce((s, n) => s + pos.get(n), 0) / near.length : pos.get(id);
        };
        const keys = new Map(col.map((id) => [id, key(id)]));
        col.sort((a, b) => keys.get(a) - keys.get(b));
        col.forEach((id, i) => pos.set(id, i));
      }
    }
    const tallest = Math.max(1, ...layers.map((c) => (c ? c.length : 0)));
    const coords = new Map();
    layers.forEach((col, x) => {
      if (!col) return;
      const offset = ((tallest - col.length) * (H + GAP_Y)) / 2;
      col.forEach((id, y) => coords.set(id, { x: x * (W + GAP_X), y: offset + y * (H + GAP_Y) }));
    });
    return coords;
  }

  // --- drawing ----------------------------------------------------------------------------------
  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function short(text, n) {
    return text.length > n ? "…" + text.slice(text.length - n + 1) : text;
  }

  let svg, viewport;
  function draw() {
    const coords = layout();
    state.coords = coords;
    host.textContent = "";
    svg = el("svg", { role: "group", "aria-label": "Lineage graph: " + state.nodes.size + " nodes" }, host);
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "9", markerHeight: "9", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z" }, marker);
    viewport = el("g", {}, svg);
    const hlPairs = new Set();
    for (let i = 0; i + 1 < highlight.length; i++) hlPairs.add(highlight[i] + "\u0000" + highlight[i + 1]);
    const edgeLayer = el("g", {}, viewport);
    for (const [key, e] of state.edges) {
      const a = coords.get(e.from), b = coords.get(e.to);
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      const mid = Math.max(30, (x2 - x1) / 2);
      const cls = "edge" + (e.masking ? " masking" : "") + (hlPairs.has(key) ? " hl" : "");
      const path = el("path", { d: `M${x1},${y1} C${x1 + mid},${y1} ${x2 - mid},${y2} ${x2},${y2}`, class: cls, "marker-end": "url(#arrow)" }, edgeLayer);
      if (e.label) el("title", {}, path).textContent = e.label + (e.masking ? " (masking)" : "");
    }
    const nodeLayer = el("g", {}, viewport);
    for (const [id, n] of state.nodes) {
      const at = coords.get(id);
      const classes = ["node", n.kind];
      if (n.role) classes.push("member");
      if (id === state.root) classes.push("root");
      if (id === state.selected) classes.push("selected");
      if (highlight.includes(id)) classes.push("hl");
      const label = `${n.kind === "datasetField" ? "column" : n.kind} ${n.name} in ${n.namespace}` +
        (n.pii ? ", personal data" : "") + (n.jurisdictions.length ? ", stored in " + n.jurisdictions.join(" ") : "");
      const g = el("g", { class: classes.join(" "), transform: `translate(${at.x},${at.y})`, tabindex: id === (state.selected || state.root) ? "0" : "-1", role: "button", "aria-label": label, "data-id": id }, nodeLayer);
      el("rect", { class: "box", width: W, height: H, rx: n.kind === "job" ? 3 : 10 }, g);
      el("title", {}, g).textContent = `${n.namespace}\n${n.name}${n.role ? "\nsystem role: " + n.role : ""}${n.classifications.length ? "\n" + n.classifications.join(", ") : ""}`;
      el("text", { x: 8, y: 18 }, g).textContent = short(n.name, 30);
      el("text", { x: 8, y: 35, class: "ns" }, g).textContent = short(n.namespace, 26);
      let mx = W - 6;
      for (const j of [...n.jurisdictions].reverse()) {
        const w = 8 + j.length * 6;
        mx -= w;
        el("rect", { x: mx, y: 27, width: w, height: 13, rx: 6, class: "mark-jur" }, g);
        el("text", { x: mx + 4, y: 37, class: "mark jur" }, g).textContent = j;
        mx -= 3;
      }
      if (n.special) { mx -= 34; el("rect", { x: mx, y: 27, width: 32, height: 13, rx: 6, class: "mark-special" }, g); el("text", { x: mx + 4, y: 37, class: "mark" }, g).textContent = "Art.9"; mx -= 3; }
      if (n.pii) { mx -= 24; el("rect", { x: mx, y: 27, width: 22, height: 13, rx: 6, class: "mark-pii" }, g); el("text", { x: mx + 4, y: 37, class: "mark" }, g).textContent = "PII"; }
    }
    applyView();
  }

  function applyView() {
    if (viewport) viewport.setAttribute("transform", `translate(${state.view.x},${state.view.y}) scale(${state.view.k})`);
  }

  // Fit the whole graph, but never below a readable scale on first load: then frame the evidence
  // path when there is one, else centre the root.
  function fit(readable) {
    const box = viewport.getBBox();
    const width = host.clientWidth, height = host.clientHeight;
    const frame = (b, most) => {
      const k = Math.min(most, Math.max(0.05, Math.min((width - 40) / (b.width || 1), (height - 40) / (b.height || 1))));
      state.view = { k, x: (width - b.width * k) / 2 - b.x * k, y: (height - b.height * k) / 2 - b.y * k };
      return k;
    };
    const k = frame(box, 1.2);
    if (readable && k < 0.6 && state.nodes.size <= 150) {
      const marked = highlight.map((id) => state.coords.get(id)).filter(Boolean);
      if (marked.length > 1) {
        const x = Math.min(...marked.map((c) => c.x)), y = Math.min(...marked.map((c) => c.y));
        const x2 = Math.max(...marked.map((c) => c.x + W)), y2 = Math.max(...marked.map((c) => c.y + H));
        if (frame({ x: x - 20, y: y - 20, width: x2 - x + 40, height: y2 - y + 40 }, 1) >= 0.6) { applyView(); return; }
      }
      const at = state.coords.get(state.root);
      if (at) state.view = { k: 0.6, x: width / 2 - (at.x + W / 2) * 0.6, y: height / 2 - (at.y + H / 2) * 0.6 };
    }
    applyView();
  }

  // --- interaction ------------------------------------------------------------------------------
  function select(id) {
    state.selected = id;
    const n = state.nodes.get(id);
    for (const g of host.querySelectorAll("g.node")) {
      g.classList.toggle("selected", g.dataset.id === id);
      g.setAttribute("tabindex", g.dataset.id === id ? "0" : "-1");
    }
    selection.textContent = "";
    if (!n) return;
    const h = document.createElement("h2");
    h.textContent = n.name;
    const ns = document.createElement("p");
    ns.className = "mono small muted";
    ns.textContent = n.namespace;
    const facts = document.createElement("p");
    facts.textContent = [n.kind, n.role && "system role: " + n.role, n.classifications.length && n.classifications.join(", "), n.jurisdictions.length && "in " + n.jurisdictions.join(", ")].filter(Boolean).join(" · ");
    const buttons = document.createElement("div");
    buttons.className = "buttons";
    const open = document.createElement("a");
    open.href = n.url; open.className = "button"; open.textContent = "Open page";
    buttons.append(open);
    for (const [text, action] of [["Expand upstream", () => expand(id, "up")], ["Expand downstream", () => expand(id, "down")], ["Collapse", () => collapse(id)], ["Centre here", () => recentre(id)]]) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = text; b.addEventListener("click", action);
      buttons.append(b);
    }
    selection.append(h, ns, facts, buttons);
  }

  async function expand(id, way) {
    status.textContent = "Expanding…";
    try {
      const body = await fetchGraph({ node: id, up: way === "up" ? 1 : 0, down: way === "down" ? 1 : 0 });
      const added = merge(body, id);
      draw();
      select(id);
      focusNode(id);
      status.textContent = `${added} node(s) added; ${state.nodes.size} shown.`;
    } catch (err) {
      status.textContent = "Could not expand: " + err.message;
    }
  }

  function collapse(id) {
    const gone = new Set();
    let grew = true;
    while (grew) {
      grew = false;
      for (const [child, parent] of state.addedBy) {
        if ((parent === id || gone.has(parent)) && !gone.has(child) && child !== state.root) { gone.add(child); grew = true; }
      }
    }
    for (const child of gone) { state.nodes.delete(child); state.addedBy.delete(child); }
    for (const [key, e] of state.edges) if (!state.nodes.has(e.from) || !state.nodes.has(e.to)) state.edges.delete(key);
    draw();
    select(id);
    focusNode(id);
    status.textContent = `${gone.size} node(s) collapsed; ${state.nodes.size} shown.`;
  }

  function recentre(id) {
    form.elements.node.value = id;
    form.requestSubmit();
  }

  function focusNode(id) {
    const g = [...host.querySelectorAll("g.node")].find((x) => x.dataset.id === id);
    if (g) g.focus({ preventScroll: true });
  }

  host.addEventListener("click", (event) => {
    const g = event.target.closest("g.node");
    if (g && !dragged) select(g.dataset.id);
  });
  host.addEventListener("dblclick", (event) => {
    const g = event.target.closest("g.node");
    if (g) window.location.href = state.nodes.get(g.dataset.id).url;
  });
  host.addEventListener("keydown", (event) => {
    const g = event.target.closest && event.target.closest("g.node");
    if (!g) return;
    const id = g.dataset.id;
    if (event.key === "Enter") { window.location.href = state.nodes.get(id).url; return; }
    if (event.key === " ") { event.preventDefault(); select(id); return; }
    if (event.key === "u" || event.key === "U") { expand(id, "up"); return; }
    if (event.key === "d" || event.key === "D") { expand(id, "down"); return; }
    if (event.key === "c" || event.key === "C") { collapse(id); return; }
    const next = neighbour(id, event.key);
    if (next) { event.preventDefault(); focusNode(next); reveal(next); }
  });
  // Zoom keys work anywhere on the page except while typing in the controls.
  document.addEventListener("keydown", (event) => {
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "+" || event.key === "=") zoom(1.2, host.clientWidth / 2, host.clientHeight / 2);
    else if (event.key === "-") zoom(1 / 1.2, host.clientWidth / 2, host.clientHeight / 2);
    else if (event.key === "0") fit();
  });
  for (const button of document.querySelectorAll("[data-zoom]")) {
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "in") zoom(1.25, host.clientWidth / 2, host.clientHeight / 2);
      else if (how === "out") zoom(1 / 1.25, host.clientWidth / 2, host.clientHeight / 2);
      else fit();
    });
  }

  // Arrow keys walk the graph: left/right to an input/output, up/down within the column.
  function neighbour(id, key) {
    const at = state.coords && state.coords.get(id);
    if (!at) return "";
    const nearest = (ids) => ids.filter((n) => state.coords.has(n))
      .sort((a, b) => Math.abs(state.coords.get(a).y - at.y) - Math.abs(state.coords.get(b).y - at.y))[0] || "";
    if (key === "ArrowLeft") return nearest([...state.edges.values()].filter((e) => e.to === id).map((e) => e.from));
    if (key === "ArrowRight") return nearest([...state.edges.values()].filter((e) => e.from === id).map((e) => e.to));
    if (key === "ArrowUp" || key === "ArrowDown") {
      const down = key === "ArrowDown";
      let best = "", gap = Infinity;
      for (const [other, c] of state.coords) {
        if (c.x !== at.x || other === id) continue;
        const d = down ? c.y - at.y : at.y - c.y;
        if (d > 0 && d < gap) { gap = d; best = other; }
      }
      return best;
    }
    return "";
  }

  // Pan just enough to bring a node into view.
  function reveal(id) {
    const at = state.coords && state.coords.get(id);
    if (!at) return;
    const { k } = state.view;
    const left = state.view.x + at.x * k, top = state.view.y + at.y * k;
    const width = host.clientWidth, height = host.clientHeight, pad = 20;
    if (left < pad) state.view.x += pad - left;
    else if (left + W * k > width - pad) state.view.x -= left + W * k - (width - pad);
    if (top < pad) state.view.y += pad - top;
    else if (top + H * k > height - pad) state.view.y -= top + H * k - (height - pad);
    applyView();
  }

  host.addEventListener("focusin", (event) => {
    const g = event.target.closest && event.target.closest("g.node");
    if (g) select(g.dataset.id);
  });

  function zoom(factor, cx, cy) {
    const k = Math.min(3, Math.max(0.05, state.view.k * factor));
    const f = k / state.view.k;
    state.view = { k, x: cx - (cx - state.view.x) * f, y: cy - (cy - state.view.y) * f };
    applyView();
  }
  host.addEventListener("wheel", (event) => {
    event.preventDefault();
    const r = host.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - r.left, event.clientY - r.top);
  }, { passive: false });
  let drag = null, dragged = false;
  host.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, vx: state.view.x, vy: state.view.y };
    dragged = false;
  });
  window.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
    dragged = true;
    host.classList.add("dragging");
    state.view.x = drag.vx + dx; state.view.y = drag.vy + dy;
    applyView();
  });
  window.addEventListener("pointerup", () => { drag = null; host.classList.remove("dragging"); setTimeout(() => { dragged = false; }, 0); });

  async function load() {
    if (!form.elements.node.value) return;
    status.textContent = "Loading…";
    try {
      const body = await fetchGraph();
      merge(body, null);
      // A dataset opened at column level is not itself a node: its first column stands in.
      state.root = state.nodes.has(body.root) ? body.root : (state.nodes.keys().next().value || body.root);
      draw();
      fit(true);
      select(state.root);
      let summary = `${state.nodes.size} nodes, ${state.edges.size} edges, as of ledger #${body.asOfSeq}`;
      if (body.truncated) summary += " — truncated at the node cap: narrow the depth";
      if (highlight.some((id) => state.nodes.has(id))) summary += ". The finding's evidence path is marked in orange";
      if (!state.edges.size && form.elements.level && form.elements.level.value === "column") {
        summary += ". No column-level lineage recorded here: producers send it in the columnLineage facet";
      }
      status.textContent = summary + ".";
      host.dataset.ready = "true";
    } catch (err) {
      host.textContent = "";
      status.textContent = "Could not load the lineage: " + err.message;
      host.dataset.ready = "error";
    }
  }
  load();
})();
