"""Read API: the reference server's (Marquez) paths and shapes, and Tracemark's richer graph queries.

Reads need a signed-in staff session (``IsStaffReader``); a producer's API key may write events
but not read the catalog (403). Every list takes ``limit``/``offset``. Errors use the common
vocabulary (``config.errors``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lineage import graph, selectors
from lineage.api import LineageIntakeApi, MethodCheckedFirst
from lineage.authentication import StaffBasicAuthentication
from lineage.models import Dataset, DatasetVersion, valid_at
from lineage.permissions import IsStaffReader
from lineage.serializers import (
    AsOfParams,
    AsOfSerializer,
    ColumnLineageParams,
    DatasetListSerializer,
    DatasetSerializer,
    DatasetVersionListSerializer,
    DatasetVersionSerializer,
    EventListSerializer,
    EventParams,
    GraphColumnParams,
    GraphLineageParams,
    ImpactParams,
    JobListSerializer,
    JobSerializer,
    JobVersionListSerializer,
    JobVersionSerializer,
    LineageGraphSerializer,
    LineageParams,
    NamespaceListSerializer,
    NamespaceSerializer,
    PageParams,
    PathParams,
    RunFacetsParams,
    RunFacetsSerializer,
    RunListSerializer,
    RunSerializer,
    SearchParams,
    SearchResultListSerializer,
    TagListSerializer,
    TmColumnLineageSerializer,
    TmImpactSerializer,
    TmLineageSerializer,
    TmPathSerializer,
)

READ_ERRORS = {
    400: OpenApiResponse(description="Invalid query parameters or node id; the body names each problem."),
    403: OpenApiResponse(description="Not signed in as staff (producer API keys cannot read)."),
    404: OpenApiResponse(description="No such namespace, dataset, job, run or node."),
}
TAGS_REFERENCE = ["read: reference-compatible"]
TAGS_GRAPH = ["read: graph"]


def _params(request: Request, serializer: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    """The query string read through ``serializer``; a parameter given twice is refused (400), as
    reading only the last of its values would answer a question nobody asked."""
    checked = serializer(data=request.query_params)
    repeated = {
        name: ["Give this parameter once."]
        for name, values in request.query_params.lists()
        if len(values) > 1 and name in checked.fields
    }
    if repeated:
        raise serializers.ValidationError(repeated)
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)


def _as_of(params: dict[str, Any]) -> dict[str, Any]:
    return {"as_of_seq": params.get("asOfSeq"), "as_of": params.get("asOf")}


class ReadApi(MethodCheckedFirst):
    # Staff sign-in only — the browser session, or the same login over Basic auth for scripts
    # (curl -u; axes throttles it like the login page). A producer's bearer key is not a way in,
    # so it is refused like no sign-in (403).
    authentication_classes = [SessionAuthentication, StaffBasicAuthentication]
    permission_classes = [IsStaffReader]


# --- Lineage graphs in the reference server's shape ---------------------------------------------------


def _edge_lists(edges: Any) -> tuple[dict[str, list[dict[str, str]]], dict[str, list[dict[str, str]]]]:
    incoming: dict[str, list[dict[str, str]]] = defaultdict(list)
    outgoing: dict[str, list[dict[str, str]]] = defaultdict(list)
    for edge in edges:
        pair = {"origin": edge.origin, "destination": edge.destination}
        outgoing[edge.origin].append(pair)
        incoming[edge.destination].append(pair)
    return incoming, outgoing


def lineage_graph_body(result: graph.LineageGraph, *, as_of: bool) -> dict[str, Any]:
    """``{"graph": [{id, type, data, inEdges, outEdges}]}`` with each node's dataset or job as data."""
    seq = result.as_of_seq if as_of else None
    datasets = selectors.datasets_by_pk((n.pk for n in result.nodes if n.kind == graph.NodeKind.DATASET), as_of_seq=seq)
    jobs = selectors.jobs_by_pk((n.pk for n in result.nodes if n.kind == graph.NodeKind.JOB), as_of_seq=seq)
    incoming, outgoing = _edge_lists(result.edges)
    nodes = []
    for node in result.nodes:
        if node.kind == graph.NodeKind.DATASET:
            kind, data = "DATASET", DatasetSerializer(datasets[node.pk]).data
        else:
            kind, data = "JOB", JobSerializer(jobs[node.pk]).data
        nodes.append(
            {"id": node.id, "type": kind, "data": data, "inEdges": incoming[node.id], "outEdges": outgoing[node.id]}
        )
    return {"graph": nodes}


def _legacy_type(transformations: list[dict[str, Any]]) -> str | None:
    direct = [t["subtype"] for t in transformations if t["type"] == "DIRECT" and t["subtype"]]
    if direct:
        return str(direct[0])
    return str(transformations[0]["type"]) if transformations else None


def column_graph_body(result: graph.ColumnGraph, *, as_of: bool) -> dict[str, Any]:
    """The reference server's column-lineage graph: DATASET_FIELD nodes with their input fields."""
    dataset_pks = {n.dataset_pk for n in result.nodes}
    if as_of:
        versions = dict(
            DatasetVersion.objects.filter(valid_at(result.as_of_seq), dataset_id__in=dataset_pks).values_list(
                "dataset_id", "version"
            )
        )
    else:
        versions = dict(Dataset.objects.filter(pk__in=dataset_pks).values_list("pk", "current_version_id"))
    by_id = {n.id: n for n in result.nodes}
    inputs: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for edge in result.edges:
        inputs[edge.destination][edge.origin].append(
            {
                "type": edge.transformation_type,
                "subtype": edge.subtype or None,
                "description": edge.description or None,
                "masking": edge.masking,
            }
        )
    incoming, outgoing = _edge_lists(result.edges)
    nodes = []
    for node in result.nodes:
        fields: list[dict[str, Any]] = []
        for origin, transformations in sorted(inputs[node.id].items()):
            source = by_id[origin]
            fields.append(
                {
                    "namespace": source.namespace,
                    "dataset": source.dataset,
                    "datasetVersion": _str_or_none(versions.get(source.dataset_pk)),
                    "field": source.field,
                    "transformationDescription": next(
                        (t["description"] for t in transformations if t["description"]), None
                    ),
                    "transformationType": _legacy_type(transformations),
                    "transformations": transformations,
                }
            )
        all_transformations: list[dict[str, Any]] = [t for f in fields for t in f["transformations"]]
        nodes.append(
            {
                "id": node.id,
                "type": "DATASET_FIELD",
                "data": {
                    "namespace": node.namespace,
                    "dataset": node.dataset,
                    "datasetVersion": _str_or_none(versions.get(node.dataset_pk)),
                    "field": node.field,
                    "fieldType": node.type or None,
                    "transformationDescription": next(
                        (f["transformationDescription"] for f in fields if f["transformationDescription"]), None
                    ),
                    "transformationType": _legacy_type(all_transformations),
                    "inputFields": fields,
                },
                "inEdges": _unique(incoming[node.id]),
                "outEdges": _unique(outgoing[node.id]),
            }
        )
    return {"graph": nodes}


def _str_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def _unique(edges: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for edge in edges:
        seen.setdefault((edge["origin"], edge["destination"]), edge)
    return list(seen.values())


class LineageApi(LineageIntakeApi):
    """``/api/v1/lineage``: POST takes events from producers (API key); GET reads the graph (staff)."""

    def _reading(self) -> bool:
        request = getattr(self, "request", None)  # the schema generator asks before setting one
        return request is not None and request.method in SAFE_METHODS

    def get_authenticators(self) -> list[Any]:
        if self._reading():
            return [auth() for auth in ReadApi.authentication_classes]
        return super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        if self._reading():
            return [IsStaffReader()]
        return list(super().get_permissions())

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if self._reading():  # reads are not intake: keep them out of the intake metrics
            return APIView.finalize_response(self, request, response, *args, **kwargs)
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        operation_id="lineage_get",
        summary="Lineage graph around a node (reference-server shape)",
        description=(
            "Upstream and downstream of `nodeId` to `depth` jobs each way. Node ids: `dataset:<ns>:<name>`, "
            "`job:<ns>:<name>`, `datasetField:<ns>:<dataset>:<field>` (its dataset), `run:<uuid>` (its job). "
            "Tracemark also takes `asOf`/`asOfSeq`; see `/api/v1/graph/lineage` for separate depths."
        ),
        parameters=[LineageParams],
        responses={200: LineageGraphSerializer, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, LineageParams)
        result = graph.lineage(
            params["nodeId"], upstream_depth=params["depth"], downstream_depth=params["depth"], **_as_of(params)
        )
        return Response(lineage_graph_body(result, as_of="asOf" in params or "asOfSeq" in params))


class ColumnLineageApi(ReadApi):
    @extend_schema(
        operation_id="column_lineage_get",
        summary="Column-level lineage (reference-server shape)",
        description=(
            "Upstream column lineage of a field, a dataset (all its columns) or a job (its outputs' columns); "
            "`withDownstream=true` adds the columns fed from them. A `#<version>` suffix on a dataset node id "
            "answers as of that dataset version."
        ),
        parameters=[ColumnLineageParams],
        responses={200: LineageGraphSerializer, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, ColumnLineageParams)
        result = graph.column_lineage(
            params["nodeId"], depth=params["depth"], with_downstream=params["withDownstream"], **_as_of(params)
        )
        as_of = "asOf" in params or "asOfSeq" in params or "#" in params["nodeId"]
        return Response(column_graph_body(result, as_of=as_of))


# --- Namespaces, datasets, jobs -------------------------------------------------------------------------


class NamespaceListApi(ReadApi):
    @extend_schema(
        operation_id="namespaces_list",
        summary="List namespaces",
        parameters=[PageParams],
        responses={200: NamespaceListSerializer, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    def get(self, request: Request) -> Response:
        page = selectors.namespace_list(**_params(request, PageParams))
        return Response({"namespaces": NamespaceSerializer(page.items, many=True).data})


NAMESPACES_PREFIX = "/api/v1/namespaces/"


class NamespacePathApi(ReadApi):
    """Everything under ``/api/v1/namespaces/<namespace>/``.

    Names contain ``/`` and Django decodes ``%2F`` before routing, so the URL patterns only
    document the endpoints: the path is resolved against the namespaces, datasets and jobs that
    exist (``selectors.catalog_path_resolve``), whichever pattern matched.
    """

    def get(self, request: Request, **kwargs: Any) -> Response:
        route = selectors.catalog_path_resolve(request.path_info[len(NAMESPACES_PREFIX) :])
        handler: Callable[[Request, selectors.CatalogPath], Any] = getattr(self, f"_{route.kind}")
        return Response(handler(request, route))

    def _namespace(self, request: Request, route: selectors.CatalogPath) -> Any:
        return NamespaceSerializer(route.namespace).data

    def _datasets(self, request: Request, route: selectors.CatalogPath) -> Any:
        page = selectors.dataset_list(namespace=route.namespace, **_params(request, PageParams))
        return {"datasets": DatasetSerializer(page.items, many=True).data, "totalCount": page.total}

    def _dataset(self, request: Request, route: selectors.CatalogPath) -> Any:
        return DatasetSerializer(selectors.dataset_get(namespace=route.namespace, name=route.name)).data

    def _dataset_versions(self, request: Request, route: selectors.CatalogPath) -> Any:
        dataset = selectors.dataset_ref(namespace=route.namespace, name=route.name)
        page = selectors.dataset_version_list(dataset=dataset, **_params(request, PageParams))
        return {"versions": DatasetVersionSerializer(page.items, many=True).data, "totalCount": page.total}

    def _dataset_version(self, request: Request, route: selectors.CatalogPath) -> Any:
        dataset = selectors.dataset_ref(namespace=route.namespace, name=route.name)
        assert route.version is not None
        return DatasetVersionSerializer(selectors.dataset_version_get(dataset=dataset, version=route.version)).data

    def _jobs(self, request: Request, route: selectors.CatalogPath) -> Any:
        page = selectors.job_list(namespace=route.namespace, **_params(request, PageParams))
        return {"jobs": JobSerializer(page.items, many=True).data, "totalCount": page.total}

    def _job(self, request: Request, route: selectors.CatalogPath) -> Any:
        return JobSerializer(selectors.job_get(namespace=route.namespace, name=route.name)).data

    def _job_runs(self, request: Request, route: selectors.CatalogPath) -> Any:
        job = selectors.job_ref(namespace=route.namespace, name=route.name)
        page = selectors.job_run_list(job=job, **_params(request, PageParams))
        return {"runs": RunSerializer(page.items, many=True).data, "totalCount": page.total}

    def _job_versions(self, request: Request, route: selectors.CatalogPath) -> Any:
        job = selectors.job_ref(namespace=route.namespace, name=route.name)
        page = selectors.job_version_list(job=job, **_params(request, PageParams))
        return {"versions": JobVersionSerializer(page.items, many=True).data, "totalCount": page.total}

    def _job_version(self, request: Request, route: selectors.CatalogPath) -> Any:
        job = selectors.job_ref(namespace=route.namespace, name=route.name)
        assert route.version is not None
        return JobVersionSerializer(selectors.job_version_get(job=job, version=route.version)).data


def _documented(operation: str, summary: str, response: Any, *, page: bool = False) -> type[NamespacePathApi]:
    """A documented alias of ``NamespacePathApi`` for one endpoint of the OpenAPI schema."""
    schema = extend_schema(
        operation_id=operation,
        summary=summary,
        description="Names may contain `/` and `:`; send them URL-encoded (`s3%3A%2F%2Fbucket`).",
        parameters=[PageParams] if page else [],
        responses={200: response, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    return extend_schema_view(get=schema)(type(f"{operation.title().replace('_', '')}Api", (NamespacePathApi,), {}))


NamespaceApi = _documented("namespace_get", "Get a namespace", NamespaceSerializer)
DatasetListApi = _documented("datasets_list", "List the datasets of a namespace", DatasetListSerializer, page=True)
DatasetApi = _documented("dataset_get", "Get a dataset", DatasetSerializer)
DatasetVersionListApi = _documented(
    "dataset_versions_list", "List a dataset's versions, newest first", DatasetVersionListSerializer, page=True
)
DatasetVersionApi = _documented("dataset_version_get", "Get a dataset version", DatasetVersionSerializer)
JobListApi = _documented("jobs_list", "List the jobs of a namespace", JobListSerializer, page=True)
JobApi = _documented("job_get", "Get a job", JobSerializer)
JobRunListApi = _documented("job_runs_list", "List a job's runs, newest first", RunListSerializer, page=True)
JobVersionListApi = _documented(
    "job_versions_list", "List a job's versions, newest first", JobVersionListSerializer, page=True
)
JobVersionApi = _documented("job_version_get", "Get a job version", JobVersionSerializer)


class RunApi(ReadApi):
    @extend_schema(
        operation_id="run_get",
        summary="Get a run",
        responses={200: RunSerializer, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    def get(self, request: Request, run_id: str) -> Response:
        return Response(RunSerializer(selectors.run_get(run_id=_run_uuid(run_id))).data)


class RunFacetsApi(ReadApi):
    @extend_schema(
        operation_id="run_facets_get",
        summary="A run's facets (type=run) or its job's facets (type=job)",
        parameters=[RunFacetsParams],
        responses={200: RunFacetsSerializer, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    def get(self, request: Request, run_id: str) -> Response:
        kind = _params(request, RunFacetsParams)["type"].lower()
        run = selectors.run_get(run_id=_run_uuid(run_id))
        facets = run.job.facets if kind == "job" else run.facets
        return Response({"runId": str(run.run_id), "facets": facets})


def _run_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise graph.InvalidQuery(f"Invalid run id {value!r}.", path="id") from None


class SearchApi(ReadApi):
    @extend_schema(
        operation_id="search",
        summary="Search datasets and jobs by name",
        parameters=[SearchParams],
        responses={200: SearchResultListSerializer, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, SearchParams)
        page = selectors.search(
            q=params["q"],
            kind=params["filter"].lower() if params.get("filter") else None,
            sort=params["sort"].lower(),
            limit=params["limit"],
            namespace=params.get("namespace"),
        )
        return Response(SearchResultListSerializer({"totalCount": page.total, "results": page.items}).data)


class TagListApi(ReadApi):
    @extend_schema(
        operation_id="tags_list",
        summary="List tags seen in tags facets",
        parameters=[PageParams],
        responses={200: TagListSerializer, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    def get(self, request: Request) -> Response:
        page = selectors.tag_list(**_params(request, PageParams))
        return Response(TagListSerializer({"tags": page.items}).data)


class LineageEventListApi(ReadApi):
    @extend_schema(
        operation_id="lineage_events_list",
        summary="OpenLineage events from the ledger, by event time",
        parameters=[EventParams],
        responses={200: EventListSerializer, **READ_ERRORS},
        tags=TAGS_REFERENCE,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, EventParams)
        page = selectors.lineage_event_list(
            before=params.get("before"),
            after=params.get("after"),
            ascending=params["sortDirection"] == "asc",
            limit=params["limit"],
            offset=params["offset"],
        )
        return Response({"events": page.items, "totalCount": page.total})


# --- Tracemark's graph queries ------------------------------------------------------------------------------


class GraphLineageApi(ReadApi):
    @extend_schema(
        operation_id="graph_lineage",
        summary="Lineage with separate upstream and downstream depths, as of any point",
        description=(
            "Depth counts jobs. Nodes carry their depth and direction; `truncated` says the node cap was "
            "reached. `topologicalOrder` is null when the subgraph has a cycle, listed in `cycles`."
        ),
        parameters=[GraphLineageParams],
        responses={200: TmLineageSerializer, **READ_ERRORS},
        tags=TAGS_GRAPH,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, GraphLineageParams)
        result = graph.lineage(
            params["nodeId"],
            upstream_depth=params["upstreamDepth"],
            downstream_depth=params["downstreamDepth"],
            node_cap=params["nodeCap"],
            **_as_of(params),
        )
        return Response(TmLineageSerializer(result).data)


class GraphPathApi(ReadApi):
    @extend_schema(
        operation_id="graph_paths",
        summary="How data got from source to target: every path, shortest first",
        parameters=[PathParams],
        responses={200: TmPathSerializer, **READ_ERRORS},
        tags=TAGS_GRAPH,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, PathParams)
        result = graph.paths(
            params["source"],
            params["target"],
            max_depth=params["maxDepth"],
            limit=params["limit"],
            node_cap=params["nodeCap"],
            **_as_of(params),
        )
        return Response(TmPathSerializer(result).data)


class GraphImpactApi(ReadApi):
    @extend_schema(
        operation_id="graph_impact",
        summary="Everything downstream of a node, grouped by kind",
        parameters=[ImpactParams],
        responses={200: TmImpactSerializer, **READ_ERRORS},
        tags=TAGS_GRAPH,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, ImpactParams)
        result = graph.impact(params["nodeId"], depth=params["depth"], node_cap=params["nodeCap"], **_as_of(params))
        return Response(TmImpactSerializer(result).data)


class GraphColumnLineageApi(ReadApi):
    @extend_schema(
        operation_id="graph_column_lineage",
        summary="Column lineage up and/or down, with transformation types and masking",
        parameters=[GraphColumnParams],
        responses={200: TmColumnLineageSerializer, **READ_ERRORS},
        tags=TAGS_GRAPH,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, GraphColumnParams)
        result = graph.column_lineage(
            params["nodeId"],
            depth=params["depth"],
            upstream=params["withUpstream"],
            with_downstream=params["withDownstream"],
            node_cap=params["nodeCap"],
            **_as_of(params),
        )
        return Response(TmColumnLineageSerializer(result).data)


class GraphAsOfApi(ReadApi):
    @extend_schema(
        operation_id="graph_as_of",
        summary="The ledger sequence a timestamp resolves to (the current head without parameters)",
        parameters=[AsOfParams],
        responses={200: AsOfSerializer, **READ_ERRORS},
        tags=TAGS_GRAPH,
    )
    def get(self, request: Request) -> Response:
        params = _params(request, AsOfParams)
        return Response({"asOf": params.get("asOf"), "asOfSeq": graph.as_of_resolve(**_as_of(params))})
