"""Serializers of the read API: the reference server's JSON shapes, and Tracemark's graph shapes.

Output serializers read model instances prepared by ``lineage.selectors`` (which attach
``latest_run``, ``last_modified_at`` and prefetched ``io``); input serializers validate query
parameters.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lineage.models import Dataset, DatasetVersion, Job, JobVersion, Namespace, Run, RunState
from lineage.validation import UUID_PATTERN

# The reference server's run states.
RUN_STATES = {
    RunState.NEW: "NEW",
    RunState.START: "RUNNING",
    RunState.RUNNING: "RUNNING",
    RunState.COMPLETE: "COMPLETED",
    RunState.FAIL: "FAILED",
    RunState.ABORT: "ABORTED",
    RunState.OTHER: "RUNNING",
}
STREAM_DATASET_TYPES = {"STREAM", "TOPIC"}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _description(facets: dict[str, Any]) -> str | None:
    text = _dict(facets.get("documentation")).get("description")
    return text if isinstance(text, str) else None


def _tags(facets: dict[str, Any], *, field: str | None = None) -> list[str]:
    names = []
    for tag in _dict(facets.get("tags")).get("tags") or []:
        tag = _dict(tag)
        key, value = tag.get("key"), tag.get("value")
        if not isinstance(key, str) or tag.get("field") != field:
            continue
        names.append(key if str(value).lower() in ("", "true", "none") else f"{key}:{value}")
    return sorted(set(names))


def _fields(schema_fields: object, facets: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    found = []
    for item in schema_fields if isinstance(schema_fields, list) else []:
        item = _dict(item)
        name = item.get("name")
        if not isinstance(name, str):
            continue
        field: dict[str, Any] = {
            "name": name,
            "type": item.get("type"),
            "tags": _tags(facets, field=f"{prefix}{name}"),
            "description": item.get("description"),
        }
        if isinstance(item.get("fields"), list):
            field["fields"] = _fields(item["fields"], facets, f"{prefix}{name}.")
        found.append(field)
    return found


class IdSerializer(serializers.Serializer[Any]):
    namespace = serializers.CharField()
    name = serializers.CharField()


class VersionIdSerializer(IdSerializer):
    version = serializers.UUIDField()


class FieldSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    type = serializers.CharField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_null=True)


class NamespaceSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="created_at")
    ownerName = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    isHidden = serializers.SerializerMethodField()

    def get_ownerName(self, obj: Namespace) -> str:
        return "anonymous"

    def get_description(self, obj: Namespace) -> str | None:
        return None

    def get_isHidden(self, obj: Namespace) -> bool:
        return False


class RunSerializer(serializers.Serializer[Any]):
    """A run as the reference server shows it, with Tracemark's parent and root run ids."""

    id = serializers.UUIDField(source="run_id")
    createdAt = serializers.SerializerMethodField()
    updatedAt = serializers.SerializerMethodField()
    nominalStartTime = serializers.DateTimeField(source="nominal_start_time", allow_null=True)
    nominalEndTime = serializers.DateTimeField(source="nominal_end_time", allow_null=True)
    state = serializers.SerializerMethodField()
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    durationMs = serializers.SerializerMethodField()
    args = serializers.SerializerMethodField()
    jobVersion = serializers.SerializerMethodField()
    inputDatasetVersions = serializers.SerializerMethodField()
    outputDatasetVersions = serializers.SerializerMethodField()
    context = serializers.SerializerMethodField()  # type: ignore[assignment]  # a Marquez key; DRF moves fields off the class
    facets = serializers.JSONField()
    parentRunId = serializers.SerializerMethodField()
    rootRunId = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_createdAt(self, obj: Run) -> Any:
        when = obj.created_at or obj.started_at
        return serializers.DateTimeField().to_representation(when) if when else None

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_updatedAt(self, obj: Run) -> Any:
        when = obj.state_event_time or obj.created_at
        return serializers.DateTimeField().to_representation(when) if when else None

    @extend_schema_field(serializers.ChoiceField(sorted(set(RUN_STATES.values()))))
    def get_state(self, obj: Run) -> str:
        return str(RUN_STATES.get(RunState(obj.state), "NEW"))

    def get_durationMs(self, obj: Run) -> int | None:
        if obj.started_at is None or obj.ended_at is None:
            return None
        return int((obj.ended_at - obj.started_at).total_seconds() * 1000)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_args(self, obj: Run) -> dict[str, Any]:
        return {}

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_context(self, obj: Run) -> dict[str, Any]:
        return {}

    @extend_schema_field(VersionIdSerializer(allow_null=True))
    def get_jobVersion(self, obj: Run) -> dict[str, Any] | None:
        if obj.job_version_id is None:
            return None
        return {"namespace": obj.job.namespace.name, "name": obj.job.name, "version": str(obj.job_version_id)}

    def _io(self, obj: Run, direction: str) -> list[dict[str, Any]]:
        return [
            {
                "datasetVersionId": {
                    "namespace": edge.dataset.namespace.name,
                    "name": edge.dataset.name,
                    "version": str(edge.dataset_version_id) if edge.dataset_version_id else None,
                },
                "facets": edge.facets,
            }
            for edge in obj.io.all()
            if edge.direction == direction
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_inputDatasetVersions(self, obj: Run) -> list[dict[str, Any]]:
        return self._io(obj, "in")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_outputDatasetVersions(self, obj: Run) -> list[dict[str, Any]]:
        return self._io(obj, "out")

    def get_parentRunId(self, obj: Run) -> str | None:
        return str(obj.parent.run_id) if obj.parent is not None else None

    def get_rootRunId(self, obj: Run) -> str | None:
        return str(obj.root.run_id) if obj.root is not None else None


class DatasetSerializer(serializers.Serializer[Any]):
    id = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    name = serializers.CharField()
    physicalName = serializers.CharField(source="name")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    namespace = serializers.CharField(source="namespace.name")
    sourceName = serializers.SerializerMethodField()
    fields = serializers.SerializerMethodField(method_name="schema_of")  # type: ignore[assignment]  # Marquez key
    tags = serializers.SerializerMethodField()
    lastModifiedAt = serializers.DateTimeField(source="last_modified_at", allow_null=True, default=None)
    lastLifecycleState = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    facets = serializers.JSONField()
    currentVersion = serializers.UUIDField(source="current_version_id", allow_null=True)
    deleted = serializers.SerializerMethodField()

    @extend_schema_field(IdSerializer)
    def get_id(self, obj: Dataset) -> dict[str, str]:
        return {"namespace": obj.namespace.name, "name": obj.name}

    @extend_schema_field(serializers.ChoiceField(["DB_TABLE", "STREAM"]))
    def get_type(self, obj: Dataset) -> str:
        return "STREAM" if obj.dataset_type.upper() in STREAM_DATASET_TYPES else "DB_TABLE"

    def get_sourceName(self, obj: Dataset) -> str:
        name = _dict(obj.facets.get("dataSource")).get("name")
        return name if isinstance(name, str) and name else obj.namespace.name

    @extend_schema_field(FieldSerializer(many=True))
    def schema_of(self, obj: Dataset) -> list[dict[str, Any]]:
        version = obj.current_version
        return _fields(version.schema_fields if version else [], obj.facets)

    def get_tags(self, obj: Dataset) -> list[str]:
        return _tags(obj.facets)

    def get_lastLifecycleState(self, obj: Dataset) -> str | None:
        version = obj.current_version
        return version.lifecycle_state or None if version else None

    def get_description(self, obj: Dataset) -> str | None:
        return _description(obj.facets)

    def get_deleted(self, obj: Dataset) -> bool:
        return bool(obj.current_version and obj.current_version.is_deleted)


class DatasetVersionSerializer(serializers.Serializer[Any]):
    id = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    name = serializers.CharField(source="dataset.name")
    physicalName = serializers.CharField(source="dataset.name")
    createdAt = serializers.DateTimeField(source="created_at")
    version = serializers.UUIDField()
    namespace = serializers.CharField(source="dataset.namespace.name")
    sourceName = serializers.CharField(source="dataset.namespace.name")
    fields = serializers.SerializerMethodField(method_name="schema_of")  # type: ignore[assignment]  # Marquez key
    tags = serializers.SerializerMethodField()
    lifecycleState = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    createdByRun = RunSerializer(source="created_by_run", allow_null=True)
    facets = serializers.JSONField()
    validFromSeq = serializers.IntegerField(source="first_seq", help_text="Ledger sequence the version started at.")
    validToSeq = serializers.IntegerField(
        source="valid_to_seq", allow_null=True, help_text="Ledger sequence it ended at; null while current."
    )

    @extend_schema_field(VersionIdSerializer)
    def get_id(self, obj: DatasetVersion) -> dict[str, str]:
        return {"namespace": obj.dataset.namespace.name, "name": obj.dataset.name, "version": str(obj.version)}

    def get_type(self, obj: DatasetVersion) -> str:
        return "STREAM" if obj.dataset.dataset_type.upper() in STREAM_DATASET_TYPES else "DB_TABLE"

    @extend_schema_field(FieldSerializer(many=True))
    def schema_of(self, obj: DatasetVersion) -> list[dict[str, Any]]:
        return _fields(obj.schema_fields, obj.facets)

    def get_tags(self, obj: DatasetVersion) -> list[str]:
        return _tags(obj.facets)

    def get_lifecycleState(self, obj: DatasetVersion) -> str | None:
        return obj.lifecycle_state or None

    def get_description(self, obj: DatasetVersion) -> str | None:
        return _description(obj.facets)


def _ids(pairs: object) -> list[dict[str, str]]:
    return (
        [{"namespace": p[0], "name": p[1]} for p in pairs if isinstance(p, list) and len(p) == 2]
        if isinstance(pairs, list)
        else []
    )


class JobSerializer(serializers.Serializer[Any]):
    id = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    name = serializers.CharField()
    simpleName = serializers.SerializerMethodField()
    parentJobName = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    namespace = serializers.CharField(source="namespace.name")
    inputs = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    latestRun = RunSerializer(source="latest_run", allow_null=True, default=None)
    facets = serializers.JSONField()
    currentVersion = serializers.UUIDField(source="current_version_id", allow_null=True)
    tags = serializers.SerializerMethodField()

    @extend_schema_field(IdSerializer)
    def get_id(self, obj: Job) -> dict[str, str]:
        return {"namespace": obj.namespace.name, "name": obj.name}

    @extend_schema_field(serializers.ChoiceField(["BATCH", "STREAM", "SERVICE"]))
    def get_type(self, obj: Job) -> str:
        kind = obj.job_type.upper()
        return "STREAM" if kind.startswith("STREAM") else "SERVICE" if kind == "SERVICE" else "BATCH"

    def get_simpleName(self, obj: Job) -> str:
        return obj.name.rsplit(".", 1)[-1]

    def get_parentJobName(self, obj: Job) -> str | None:
        return None

    @extend_schema_field(IdSerializer(many=True))
    def get_inputs(self, obj: Job) -> list[dict[str, str]]:
        return _ids(obj.current_version.inputs) if obj.current_version else []

    @extend_schema_field(IdSerializer(many=True))
    def get_outputs(self, obj: Job) -> list[dict[str, str]]:
        return _ids(obj.current_version.outputs) if obj.current_version else []

    def get_location(self, obj: Job) -> str | None:
        return (obj.current_version.location or None) if obj.current_version else None

    def get_description(self, obj: Job) -> str | None:
        return _description(obj.facets)

    def get_tags(self, obj: Job) -> list[str]:
        return _tags(obj.facets)


class JobVersionSerializer(serializers.Serializer[Any]):
    id = serializers.SerializerMethodField()
    name = serializers.CharField(source="job.name")
    createdAt = serializers.DateTimeField(source="created_at")
    version = serializers.UUIDField()
    namespace = serializers.CharField(source="job.namespace.name")
    location = serializers.SerializerMethodField()
    inputs = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()
    latestRun = RunSerializer(source="latest_run", allow_null=True, default=None)
    facets = serializers.JSONField()
    validFromSeq = serializers.IntegerField(source="first_seq")
    validToSeq = serializers.IntegerField(source="valid_to_seq", allow_null=True)

    @extend_schema_field(VersionIdSerializer)
    def get_id(self, obj: JobVersion) -> dict[str, str]:
        return {"namespace": obj.job.namespace.name, "name": obj.job.name, "version": str(obj.version)}

    def get_location(self, obj: JobVersion) -> str | None:
        return obj.location or None

    @extend_schema_field(IdSerializer(many=True))
    def get_inputs(self, obj: JobVersion) -> list[dict[str, str]]:
        return _ids(obj.inputs)

    @extend_schema_field(IdSerializer(many=True))
    def get_outputs(self, obj: JobVersion) -> list[dict[str, str]]:
        return _ids(obj.outputs)


# --- Lists ------------------------------------------------------------------------------------------


def list_serializer(name: str, key: str, item: type[serializers.Serializer[Any]], *, total: bool = True) -> type:
    """A ``{key: [...], totalCount: n}`` envelope, named for the OpenAPI schema."""
    attrs: dict[str, Any] = {key: item(many=True)}
    if total:
        attrs["totalCount"] = serializers.IntegerField()
    return type(name, (serializers.Serializer,), attrs)


NamespaceListSerializer = list_serializer("NamespaceList", "namespaces", NamespaceSerializer, total=False)
DatasetListSerializer = list_serializer("DatasetList", "datasets", DatasetSerializer)
DatasetVersionListSerializer = list_serializer("DatasetVersionList", "versions", DatasetVersionSerializer)
JobListSerializer = list_serializer("JobList", "jobs", JobSerializer)
JobVersionListSerializer = list_serializer("JobVersionList", "versions", JobVersionSerializer)
RunListSerializer = list_serializer("RunList", "runs", RunSerializer)


class TagSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    description = serializers.SerializerMethodField()

    def get_description(self, obj: Any) -> str | None:
        return None


TagListSerializer = list_serializer("TagList", "tags", TagSerializer, total=False)


class SearchResultSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(["DATASET", "JOB"])
    name = serializers.CharField()
    updatedAt = serializers.DateTimeField(source="updated_at")
    namespace = serializers.CharField()
    nodeId = serializers.CharField(source="node_id")


class SearchResultListSerializer(serializers.Serializer[Any]):
    totalCount = serializers.IntegerField()
    results = SearchResultSerializer(many=True)


class EventListSerializer(serializers.Serializer[Any]):
    events = serializers.ListField(child=serializers.DictField())
    totalCount = serializers.IntegerField()


class RunFacetsSerializer(serializers.Serializer[Any]):
    runId = serializers.UUIDField()
    facets = serializers.DictField()


# --- Lineage graphs (reference server) -------------------------------------------------------------


class EdgeSerializer(serializers.Serializer[Any]):
    origin = serializers.CharField()
    destination = serializers.CharField()


class GraphNodeSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    type = serializers.ChoiceField(["DATASET", "JOB", "DATASET_FIELD"])
    data = serializers.DictField()  # type: ignore[assignment]  # Marquez key
    inEdges = EdgeSerializer(many=True)
    outEdges = EdgeSerializer(many=True)


class LineageGraphSerializer(serializers.Serializer[Any]):
    graph = GraphNodeSerializer(many=True)


# --- Query parameters ----------------------------------------------------------------------------------


# Bounds of values the database compares with 64-bit integers: a larger number is a 400, not an
# overflow inside the database driver (a 500).
MAX_BIGINT = 2**63 - 1


class QueryIntegerField(serializers.IntegerField):
    """An integer in a query string, written as one: ASCII digits with an optional minus sign.

    DRF's ``IntegerField`` also reads ``5.0``, ``5.``, `` 5`` and ``1_0`` (Python's ``int``), which
    the schema's ``integer`` does not allow and no client means as an integer.
    """

    DIGITS = re.compile(r"-?[0-9]+")

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not self.DIGITS.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class PageParams(serializers.Serializer[Any]):
    limit = QueryIntegerField(min_value=0, max_value=10_000, default=100, help_text="Items per page.")
    offset = QueryIntegerField(min_value=0, max_value=MAX_BIGINT, default=0, help_text="Items to skip.")


class AsOfParams(serializers.Serializer[Any]):
    asOf = serializers.DateTimeField(
        required=False,
        help_text="What Tracemark had received by this time (ISO 8601 with a time zone). Not with asOfSeq.",
    )
    asOfSeq = QueryIntegerField(
        required=False, min_value=0, max_value=MAX_BIGINT, help_text="A ledger sequence number. Not with asOf."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "asOf" in attrs and "asOfSeq" in attrs:
            raise serializers.ValidationError({"asOf": "Give asOf or asOfSeq, not both."})
        return attrs


NODE_ID_HELP = "`dataset:<ns>:<name>`, `job:<ns>:<name>`, `datasetField:<ns>:<dataset>:<field>` or `run:<uuid>`."
# What ``graph.node_parse`` can read (anything else is a 400); whether the node exists is a 404.
NODE_ID_PATTERN = rf"^(?:(?:dataset|job|datasetField):[^\u0000]+|run:{UUID_PATTERN})$"


class QueryNameField(serializers.CharField):
    """A name in a query string, taken exactly as given (not trimmed): an OpenLineage namespace or
    name may begin or end with a space, and trimming it would look up another node."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


@extend_schema_field({"type": "string", "pattern": NODE_ID_PATTERN, "description": NODE_ID_HELP})
class NodeIdField(QueryNameField):
    """A node id; parsed (and refused if unreadable) by the graph layer, described here for OpenAPI."""


class LineageParams(AsOfParams):
    nodeId = NodeIdField(help_text=NODE_ID_HELP)
    depth = QueryIntegerField(min_value=0, max_value=100, default=20, help_text="Jobs each way.")


class ColumnLineageParams(LineageParams):
    withDownstream = serializers.BooleanField(default=False)


class GraphLineageParams(AsOfParams):
    nodeId = NodeIdField(help_text=NODE_ID_HELP)
    upstreamDepth = QueryIntegerField(min_value=0, max_value=100, default=20)
    downstreamDepth = QueryIntegerField(min_value=0, max_value=100, default=20)
    nodeCap = QueryIntegerField(min_value=1, max_value=100_000, default=5_000)


class PathParams(AsOfParams):
    source = NodeIdField(help_text=NODE_ID_HELP)  # type: ignore[assignment]  # DRF moves fields off the class
    target = NodeIdField(help_text=NODE_ID_HELP)
    maxDepth = QueryIntegerField(min_value=1, max_value=100, default=20)
    limit = QueryIntegerField(min_value=1, max_value=1_000, default=10)
    nodeCap = QueryIntegerField(min_value=1, max_value=100_000, default=5_000)


class ImpactParams(AsOfParams):
    nodeId = NodeIdField(help_text=NODE_ID_HELP)
    depth = QueryIntegerField(min_value=0, max_value=100, default=20)
    nodeCap = QueryIntegerField(min_value=1, max_value=100_000, default=5_000)


class GraphColumnParams(ImpactParams):
    withUpstream = serializers.BooleanField(default=True)
    withDownstream = serializers.BooleanField(default=False)


class SearchParams(serializers.Serializer[Any]):
    q = serializers.CharField(help_text="Matched anywhere in the name, case-insensitively; % and _ are wildcards.")
    filter = serializers.ChoiceField(["dataset", "job", "DATASET", "JOB"], required=False)
    sort = serializers.ChoiceField(["name", "updated_at", "NAME", "UPDATED_AT"], default="name")
    limit = QueryIntegerField(min_value=1, max_value=1_000, default=10)
    namespace = QueryNameField(required=False, help_text="Only names in this namespace (exactly as given).")


class EventParams(PageParams):
    before = serializers.DateTimeField(required=False)
    after = serializers.DateTimeField(required=False)
    sortDirection = serializers.ChoiceField(["asc", "desc"], default="desc")


class RunFacetsParams(serializers.Serializer[Any]):
    type = serializers.ChoiceField(["run", "job", "RUN", "JOB"], default="run")


# --- Tracemark graph shapes --------------------------------------------------------------------------------


class TmNodeSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    type = serializers.CharField(source="kind")
    namespace = serializers.CharField()
    name = serializers.CharField()
    depth = serializers.IntegerField(help_text="Jobs between this node and the root.")
    direction = serializers.ChoiceField(["root", "upstream", "downstream"])


class TmLineageSerializer(serializers.Serializer[Any]):
    root = serializers.CharField()  # type: ignore[assignment]  # DRF moves fields off the class
    asOfSeq = serializers.IntegerField(source="as_of_seq")
    upstreamDepth = serializers.IntegerField(source="upstream_depth")
    downstreamDepth = serializers.IntegerField(source="downstream_depth")
    truncated = serializers.BooleanField(help_text="The node cap was reached: the graph is incomplete.")
    nodes = TmNodeSerializer(many=True)
    edges = EdgeSerializer(many=True)
    topologicalOrder = serializers.SerializerMethodField()
    cycles = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), allow_null=True))
    def get_topologicalOrder(self, obj: Any) -> list[str] | None:
        order = obj.topological_order()
        return list(order) if order is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.ListField(child=serializers.CharField())))
    def get_cycles(self, obj: Any) -> list[list[str]]:
        return [list(c) for c in obj.cycles()]


class TmPathSerializer(serializers.Serializer[Any]):
    source = serializers.CharField()  # type: ignore[assignment]  # DRF moves fields off the class
    target = serializers.CharField()
    connected = serializers.BooleanField()
    paths = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    truncated = serializers.BooleanField()
    asOfSeq = serializers.IntegerField(source="graph.as_of_seq")
    nodes = TmNodeSerializer(source="graph.nodes", many=True)
    edges = EdgeSerializer(source="graph.edges", many=True)


class TmImpactGroupSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField(help_text="dataset:<datasetType>, job:<jobType> or datasetField.")
    nodes = serializers.ListField(source="node_ids", child=serializers.CharField())


class TmImpactSerializer(serializers.Serializer[Any]):
    root = serializers.CharField()  # type: ignore[assignment]  # DRF moves fields off the class
    total = serializers.IntegerField()
    truncated = serializers.BooleanField()
    asOfSeq = serializers.IntegerField(source="as_of_seq")
    groups = TmImpactGroupSerializer(many=True)


class TmColumnNodeSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    namespace = serializers.CharField()
    dataset = serializers.CharField()
    field = serializers.CharField()
    type = serializers.CharField()
    depth = serializers.IntegerField()
    direction = serializers.CharField()


class TmColumnEdgeSerializer(serializers.Serializer[Any]):
    origin = serializers.CharField()
    destination = serializers.CharField()
    transformationType = serializers.CharField(source="transformation_type")
    subtype = serializers.CharField()
    description = serializers.CharField()
    masking = serializers.BooleanField()
    job = serializers.CharField()


class TmColumnLineageSerializer(serializers.Serializer[Any]):
    root = serializers.CharField()  # type: ignore[assignment]  # DRF moves fields off the class
    asOfSeq = serializers.IntegerField(source="as_of_seq")
    truncated = serializers.BooleanField()
    nodes = TmColumnNodeSerializer(many=True)
    edges = TmColumnEdgeSerializer(many=True)


class AsOfSerializer(serializers.Serializer[Any]):
    asOf = serializers.DateTimeField(allow_null=True)
    asOfSeq = serializers.IntegerField()
