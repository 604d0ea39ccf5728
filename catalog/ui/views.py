"""Staff pages: dashboard, search, detail pages, lineage explorer, findings triage.

Staff only (``is_staff``): anonymous users go to the sign-in page, everyone else gets 403. Pages
read; the two writes (waive a finding, re-run its check) go through services and need the
finding's change permission — a viewer is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from catalog.findings import finding_waive
from catalog.models import AISystem, Attribute, Finding, FindingStatus, MemberRole, Policy, Severity
from catalog.selectors import (
    dataset_columns,
    governance_get,
    system_composition,
    system_declarations,
    system_energy,
)
from catalog.ui import charts
from catalog.ui.selectors import (
    dashboard_get,
    explorer_graph,
    findings_for_nodes,
    findings_list,
    marks_for,
    node_pages,
    search,
)
from config.errors import ApplicationError
from lineage import graph
from lineage.models import Dataset, DatasetField, DatasetVersion, Job, JobVersion, Run, RunDataset

View = Callable[..., HttpResponse]
MAX_EXPLORER_DEPTH = 20
EXPLORER_NODE_CAP = 1_000


def staff_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "/admin/login/")
        if not request.user.is_staff:
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return wrapped


def home_view(request: HttpRequest) -> HttpResponse:
    """``/``: staff to their dashboard, auditors to their portal, everyone else to sign in."""
    if request.user.is_authenticated:
        return redirect("ui:dashboard" if request.user.is_staff else "portal:home")
    return redirect("/admin/login/?next=/ui/")


# --- Dashboard and search ------------------------------------------------------------------------


@staff_required
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    data = dashboard_get()
    context = {
        "data": data,
        "events_chart": charts.column_chart("Events received per day, last 30 days", data.events_per_day),
        "runs_chart": charts.bar_chart(
            "Runs by state", [charts.Bar(s, n, f"state-{s.lower()}") for s, n in data.runs_by_state]
        ),
        "findings_chart": charts.bar_chart(
            "Open findings by severity",
            [charts.Bar(s.capitalize(), n, f"sev-{s}") for s, n in data.open_findings],
        ),
        "tiers_chart": charts.bar_chart(
            "AI systems by risk tier", [charts.Bar(t, n, "tier") for t, n in data.systems_by_tier]
        ),
        "energy_chart": charts.bar_chart(
            "Energy by AI system (kWh)",
            [charts.Bar(name, kwh, "energy", f"{kwh:,.1f} kWh · {kg:,.1f} kgCO2e") for name, kwh, kg in data.energy],
        ),
    }
    return render(request, "ui/dashboard.html", context)


@staff_required
@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    results = search(query=request.GET.get("q", "")[:200])
    return render(request, "ui/search.html", {"results": results})


# --- Detail pages --------------------------------------------------------------------------------


@staff_required
@require_GET
def dataset_view(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = get_object_or_404(Dataset.objects.select_related("namespace", "current_version"), pk=pk)
    node = graph.node_id(graph.NodeKind.DATASET, dataset.namespace.name, dataset.name)
    governance = governance_get(dataset_ids=[pk])[pk]
    fields = list(DatasetField.objects.filter(dataset=dataset, valid_to_seq__isnull=True).order_by("ordinal"))
    known = {f.name for f in fields}
    columns = [
        {
            "name": f.name,
            "type": f.type,
            "description": f.description,
            "classifications": governance.columns.get(f.name, {}).get("classification", []),
            "jurisdictions": governance.columns.get(f.name, {}).get("jurisdiction", []),
        }
        for f in fields
    ] + [
        {
            "name": name,
            "type": "",
            "description": "",
            "classifications": governance.columns.get(name, {}).get("classification", []),
            "jurisdictions": governance.columns.get(name, {}).get("jurisdiction", []),
        }
        for name in dataset_columns(dataset_ids=[pk]).get(pk, [])
        if name not in known
    ]
    context = {
        "dataset": dataset,
        "node": node,
        "governance_rows": [(label, governance.values.get(value, [])) for value, label in Attribute.choices],
        "marks": marks_for({pk: governance})[pk],
        "columns": columns,
        "versions": DatasetVersion.objects.filter(dataset=dataset).order_by("-first_seq")[:50],
        "io": RunDataset.objects.filter(dataset=dataset)
        .select_related("run__job__namespace")
        .order_by("-first_seq")[:50],
        "findings": findings_for_nodes([node]),
        "facets": sorted(dataset.facets.items()),
    }
    return render(request, "ui/dataset.html", context)


@staff_required
@require_GET
def job_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job.objects.select_related("namespace", "current_version"), pk=pk)
    node = graph.node_id(graph.NodeKind.JOB, job.namespace.name, job.name)
    context = {
        "job": job,
        "node": node,
        "runs": Run.objects.filter(job=job).select_related("parent__job").order_by("-first_seq")[:100],
        "versions": JobVersion.objects.filter(job=job).order_by("-first_seq")[:50],
        "findings": findings_for_nodes([node]),
        "facets": sorted(job.facets.items()),
    }
    return render(request, "ui/job.html", context)


@staff_required
@require_GET
def run_view(request: HttpRequest, run_id: str) -> HttpResponse:
    try:
        run = Run.objects.select_related("job__namespace", "parent__job", "root__job").get(run_id=run_id)
    except (Run.DoesNotExist, ValueError, ApplicationError) as exc:
        raise Http404("No such run.") from exc
    context = {
        "run": run,
        "states": run.state_changes.order_by("event_time", "seq"),
        "children": Run.objects.filter(parent=run).select_related("job").order_by("first_seq")[:200],
        "io": RunDataset.objects.filter(run=run).select_related("dataset__namespace").order_by("direction", "pk"),
        "facets": sorted(run.facets.items()),
    }
    return render(request, "ui/run.html", context)


@dataclass(frozen=True)
class Component:
    kind: str  # "dataset" or "job"
    obj: Dataset | Job
    roles: list[str]


@staff_required
@require_GET
def system_view(request: HttpRequest, slug: str) -> HttpResponse:
    system = get_object_or_404(AISystem, slug=slug)
    composition = system_composition(system_id=system.pk)
    datasets = Dataset.objects.filter(pk__in=list(composition.datasets)).select_related("namespace")
    jobs = Job.objects.filter(pk__in=list(composition.jobs)).select_related("namespace")
    labels = dict(MemberRole.choices)
    components = sorted(
        [Component("dataset", d, sorted(labels[r] for r in composition.datasets[d.pk])) for d in datasets]
        + [Component("job", j, sorted(labels[r] for r in composition.jobs[j.pk])) for j in jobs],
        key=lambda c: (c.roles, c.obj.name),
    )
    # The staff UI spans the apps; catalog's own modules still never import reports.
    from reports.selectors import report_kinds, report_list

    context = {
        "system": system,
        "components": components,
        "declarations": sorted(system_declarations(system_id=system.pk).values(), key=lambda d: d.field),
        "energy": system_energy(system_id=system.pk),
        "findings": Finding.objects.filter(system=system).exclude(status=FindingStatus.RESOLVED).order_by("severity"),
        "reports": report_list(system=system)[:20],
        "kinds": report_kinds(),
        "lineage_node": _system_anchor(composition),
    }
    return render(request, "ui/system.html", context)


def _system_anchor(composition: Any) -> str:
    """A node to open the system's lineage from: a model, else training data, else any member."""
    for role in (MemberRole.MODEL, MemberRole.TRAINING_DATA, MemberRole.TEST_DATA):
        for dataset_id, roles in composition.datasets.items():
            if role in roles:
                d = Dataset.objects.select_related("namespace").get(pk=dataset_id)
                return graph.node_id(graph.NodeKind.DATASET, d.namespace.name, d.name)
    for job_id in composition.jobs:
        j = Job.objects.select_related("namespace").get(pk=job_id)
        return graph.node_id(graph.NodeKind.JOB, j.namespace.name, j.name)
    return ""


# --- Lineage explorer ----------------------------------------------------------------------------


def _int_param(request: HttpRequest, name: str, default: int, *, low: int = 0, high: int = MAX_EXPLORER_DEPTH) -> int:
    raw = request.GET.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = default
    return max(low, min(high, value))


def _as_of(request: HttpRequest) -> tuple[int | None, datetime | None]:
    seq_raw, when_raw = request.GET.get("asOfSeq", "").strip(), request.GET.get("asOf", "").strip()
    seq = int(seq_raw) if seq_raw.isdigit() else None
    when = parse_datetime(when_raw) if when_raw else None
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when, timezone.get_current_timezone())
    return seq, when


@staff_required
@require_GET
def lineage_view(request: HttpRequest) -> HttpResponse:
    seq, _when = _as_of(request)
    context = {
        "node": request.GET.get("node", ""),
        "up": _int_param(request, "up", 3),
        "down": _int_param(request, "down", 3),
        "as_of_seq": seq or "",
        "as_of": request.GET.get("asOf", ""),
        "highlight": request.GET.get("highlight", ""),
        "level": "column" if request.GET.get("level") == "column" else "table",
    }
    return render(request, "ui/lineage.html", context)


@staff_required
@require_GET
def lineage_data_view(request: HttpRequest) -> JsonResponse:
    """JSON for the explorer: nodes with their marks, edges, as-of and whether the cap was hit."""
    node = request.GET.get("node", "")
    seq, when = _as_of(request)
    try:
        if request.GET.get("level") == "column":
            return JsonResponse(_column_data(request, node, seq, when))
        found = graph.lineage(
            node,
            upstream_depth=_int_param(request, "up", 3),
            downstream_depth=_int_param(request, "down", 3),
            as_of_seq=seq,
            as_of=when,
            node_cap=_int_param(request, "cap", EXPLORER_NODE_CAP, low=1, high=5_000),
        )
    except ApplicationError as exc:
        return JsonResponse(exc.body(), status=exc.status)
    data = explorer_graph(found, as_of_seq=seq if seq is not None else found.as_of_seq)
    return JsonResponse(
        {
            "root": data.root,
            "asOfSeq": data.as_of_seq,
            "truncated": data.truncated,
            "nodes": data.nodes,
            "edges": data.edges,
        }
    )


def _column_data(request: HttpRequest, node: str, seq: int | None, when: datetime | None) -> dict[str, Any]:
    found = graph.column_lineage(
        node,
        depth=_int_param(request, "up", 3) or 1,
        with_downstream=_int_param(request, "down", 3) > 0,
        as_of_seq=seq,
        as_of=when,
        node_cap=EXPLORER_NODE_CAP,
    )
    dataset_pks = {n.dataset_pk for n in found.nodes}
    governance = governance_get(dataset_ids=dataset_pks, as_of_seq=seq)
    from catalog.selectors import classification_flags

    flags = classification_flags()
    nodes = []
    for n in found.nodes:
        column = governance.get(n.dataset_pk)
        classes = sorted(v.value for v in (column.columns.get(n.field, {}).get("classification", []) if column else []))
        nodes.append(
            {
                "id": n.id,
                "kind": "datasetField",
                "namespace": n.namespace,
                "name": f"{n.dataset} · {n.field}",
                "depth": n.depth,
                "direction": n.direction,
                "url": f"/ui/datasets/{n.dataset_pk}/",
                "role": "",
                "pii": any(flags[c].personal_data for c in classes if c in flags),
                "special": any(flags[c].special_category for c in classes if c in flags),
                "jurisdictions": [v.value for v in column.values.get("jurisdiction", [])] if column else [],
                "classifications": classes,
            }
        )
    edges = [
        {
            "from": e.origin,
            "to": e.destination,
            "label": f"{e.transformation_type} {e.subtype}".strip(),
            "masking": e.masking,
        }
        for e in found.edges
    ]
    return {
        "root": found.root,
        "asOfSeq": found.as_of_seq,
        "truncated": found.truncated,
        "nodes": nodes,
        "edges": edges,
    }


# --- Findings ------------------------------------------------------------------------------------


class WaiveForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, help_text="Why the risk is accepted, for the record."
    )
    expires_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="The finding reopens on this day unless fixed."
    )

    def clean_expires_on(self) -> Any:
        day = self.cleaned_data["expires_on"]
        today = timezone.now().date()
        if day <= today:
            raise forms.ValidationError("The expiry must be in the future.")
        if day > today + timedelta(days=366):
            raise forms.ValidationError("A waiver lasts at most a year.")
        return day


@staff_required
@require_GET
def findings_view(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("system", "policy", "severity")}
    filters["status"] = request.GET.get("status", "open")
    rows = findings_list(**filters)
    context = {
        "findings": rows[:500],
        "count": rows.count(),
        "filters": filters,
        "systems": AISystem.objects.order_by("name"),
        "policies": sorted(set(Policy.objects.values_list("key", flat=True))),
        "severities": Severity.choices,
        "statuses": [("", "Any status"), *FindingStatus.choices],
    }
    return render(request, "ui/findings.html", context)


@staff_required
@require_GET
def finding_view(request: HttpRequest, pk: int) -> HttpResponse:
    finding: Finding = get_object_or_404(Finding.objects.select_related("system", "policy"), pk=pk)
    form = WaiveForm(initial={"expires_on": (timezone.now() + timedelta(days=90)).date()})
    return render(request, "ui/finding.html", _finding_context(request, finding, form))


def _finding_context(request: HttpRequest, finding: Finding, form: WaiveForm) -> dict[str, Any]:
    path = (
        [p for p in finding.evidence.get("path", []) if isinstance(p, str)]
        if isinstance(finding.evidence, dict)
        else []
    )
    anchor = next((p for p in path if p.startswith("dataset:")), "") or (
        finding.item if finding.item.startswith(("dataset:", "job:")) and " " not in finding.item else ""
    )
    pages = node_pages([*path, finding.subject, finding.item])
    return {
        "finding": finding,
        "path": [(p, pages.get(p, "")) for p in path],
        "subject_page": pages.get(finding.subject, ""),
        "item_page": pages.get(finding.item, ""),
        "highlight": "|".join(path),
        "anchor": anchor,
        "form": form,
        "can_change": request.user.has_perm("catalog.change_finding"),
        "evidence": sorted((k, _readable(v)) for k, v in finding.evidence.items() if k != "path")
        if isinstance(finding.evidence, dict)
        else [],
    }


def _readable(value: Any) -> str:
    """Evidence values as people read them: strings as they are, structures as indented JSON."""
    if isinstance(value, str):
        return value
    compact = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return (
        compact if len(compact) <= 80 else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    )


def _require_change(request: HttpRequest) -> None:
    if not request.user.has_perm("catalog.change_finding"):
        raise PermissionDenied("Changing findings needs the steward role.")


@staff_required
@require_POST
def finding_waive_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_change(request)
    finding: Finding = get_object_or_404(Finding.objects.select_related("system", "policy"), pk=pk)
    form = WaiveForm(request.POST)
    if not form.is_valid():
        return render(request, "ui/finding.html", _finding_context(request, finding, form), status=400)
    expires = timezone.make_aware(datetime.combine(form.cleaned_data["expires_on"], datetime.min.time()))
    try:
        finding_waive(
            finding_id=finding.pk,
            actor=request.user.get_username(),
            reason=form.cleaned_data["reason"],
            expires_at=expires,
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return render(request, "ui/finding.html", _finding_context(request, finding, form), status=400)
    messages.success(request, f"Finding waived until {form.cleaned_data['expires_on']:%Y-%m-%d}.")
    return redirect("ui:finding", pk=finding.pk)


@staff_required
@require_POST
def finding_recheck_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_change(request)
    finding = get_object_or_404(Finding, pk=pk)
    from catalog.tasks import evaluate_jobs, evaluate_system

    if finding.system_id:
        evaluate_system.delay_on_commit(system_id=finding.system_id)
    elif finding.subject.startswith("job:"):
        ref = graph.node_parse(finding.subject)
        evaluate_jobs.delay_on_commit(job_ids=[ref.pk])
    messages.info(request, "The check is queued; this page shows the new result once the worker has run it.")
    return redirect("ui:finding", pk=finding.pk)
