"""Reading Kubernetes objects as the analyzer receives them (pulumi-kubernetes inputs, camelCase),
one field at a time, with unknown values made explicit.

At `pulumi preview` the engine sends values it does not know yet as the unknown sentinel
(`04da6b54-80e4-46f7-96ec-b56ff0331ba9`: pulumi/pulumi pkg/resource/plugin/rpc.go, marshalled with
`KeepUnknowns: true` by pkg/resource/plugin/analyzer_plugin.go). pulumi-policy wraps the properties
in an unknown-checking proxy that raises `UnknownValueError` on the first unknown a policy touches
and then downgrades the whole policy to an advisory "can't run policy ... during preview"
(pulumi/pulumi-policy sdk/python/lib/pulumi_policy/proxy.py and policy.py `Analyze`/`AnalyzeStack`).
So no policy here walks a whole object: each reads the fields it judges through `Field`, which
turns an unknown into a value the policy can reason about, and reports `undecidable()` when its
verdict really depends on one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

SENTINELS = frozenset({UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UNKNOWN_ARRAY_VALUE,
                       UNKNOWN_ASSET_VALUE, UNKNOWN_ARCHIVE_VALUE, UNKNOWN_OBJECT_VALUE})


@dataclass(frozen=True)
class Field:
    """One field of a resource: its value (None when absent), its path, and whether it is unknown.

    Reading never raises: a key test iterates the proxy's keys (which does not touch values) and
    each value is fetched on its own, so an unknown elsewhere in the object is never seen."""

    value: Any
    path: str = ""
    unknown: bool = False

    @staticmethod
    def root(props: Any) -> Field:
        return Field(props)

    def _child(self, key: str | int, path: str) -> Field:
        if self.unknown:
            return self  # below an unknown, everything is unknown: report the unknown part itself
        node = self.value
        try:
            if isinstance(node, Mapping):
                if key not in list(iter(node)):
                    return Field(None, path)
                value = node[key]
            elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(key, int):
                if not 0 <= key < len(node):
                    return Field(None, path)
                value = node[key]
            else:
                return Field(None, path)
        except UnknownValueError:
            return Field(None, path, unknown=True)
        if isinstance(value, str) and value in SENTINELS:
            return Field(None, path, unknown=True)
        return Field(value, path)

    def __getitem__(self, key: str) -> Field:
        return self._child(key, f"{self.path}.{key}" if self.path else key)

    def at(self, *keys: str) -> Field:
        node = self
        for key in keys:
            node = node[key]
        return node

    def items(self) -> list[Field]:
        """The elements of a list field ([] when absent or not a list; check `unknown` first)."""
        node = self.value
        if self.unknown or not isinstance(node, Sequence) or isinstance(node, str):
            return []
        return [self._child(i, f"{self.path}[{i}]") for i in range(len(node))]

    def keys(self) -> list[str]:
        """The keys of a map field, read without touching the values."""
        return [str(k) for k in iter(self.value)] if isinstance(self.value, Mapping) and not self.unknown else []

    def has(self, key: str) -> bool:
        return key in self.keys()

    def entries(self) -> list[tuple[str, Field]]:
        return [(k, self[k]) for k in self.keys()]

    def present(self) -> bool:
        """Set to something (an unknown counts: it will be set)."""
        return self.unknown or self.value is not None

    def is_(self, expected: Any) -> bool | None:
        """Tri-state comparison: None when unknown."""
        return None if self.unknown else self.value == expected

    def text(self) -> str | None:
        return None if self.unknown or self.value is None else str(self.value)

    def strings(self) -> tuple[list[str], list[Field]]:
        """A list of strings: (known values, unknown elements); an unknown list is one unknown element."""
        if self.unknown:
            return [], [self]
        known: list[str] = []
        unknown: list[Field] = []
        for item in self.items():
            if item.unknown:
                unknown.append(item)
            else:
                known.append(str(item.value))
        return known, unknown


def undecidable(report: ReportViolation, where: str, field: Field, why: str, urn: str | None = None) -> None:
    """The verdict depends on a value the engine does not know at preview: say so, at the policy's
    own level (a mandatory policy still stops the preview instead of passing silently)."""
    report(f"undecidable at preview: {where} {field.path} is unknown, and {why}: make the value known "
           "in the program, or apply what it depends on first", urn)

WORKLOAD_TYPES: dict[str, tuple[str, ...]] = {
    # resource type -> path to the pod spec
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
NS_NAME_LABEL = "kubernetes.io/metadata.name"


def name_of(props: Any) -> str:
    meta = Field.root(props)["metadata"]
    name, ns = meta["name"], meta["namespace"]
    label = "(name unknown at preview)" if name.unknown else str(name.value or "?")
    if ns.unknown:
        return f"(namespace unknown)/{label}"
    return f"{ns.value}/{label}" if ns.value else label


def describe(resource_type: str, props: Any) -> str:
    """`Deployment openclaw/openclaw`: how every message names the object."""
    return f"{resource_type.split(':')[-1]} {name_of(props)}"


def pod_spec(type_: str, props: Any) -> Field | None:
    path = WORKLOAD_TYPES.get(type_)
    return None if path is None else Field.root(props).at(*path)


def pod_metadata(type_: str, props: Any) -> Field:
    """The pod template's metadata (the object's own for a Pod)."""
    path = WORKLOAD_TYPES[type_]
    return Field.root(props).at(*path[:-1], "metadata") if len(path) > 1 else Field.root(props)["metadata"]


def containers(spec: Field) -> Iterator[tuple[str, Field]]:
    """(label, container) for init and regular containers; an unknown list or element is yielded
    as an unknown container labelled by its path."""
    for field, label in (("initContainers", "init container"), ("containers", "container")):
        group = spec[field]
        if group.unknown:
            yield f"{label}s", group
            continue
        for container in group.items():
            name = container["name"]
            yield f"{label} '{'?' if name.unknown else name.value or '?'}'", container


@dataclass(frozen=True)
class PortRange:
    """One entry of a rule's `ports` (NetworkPolicyPort, k8s.io/api networking/v1 types.go): `port`
    to `endPort`; every port of its protocol when `port` is absent ("If this field is not provided,
    this matches all port names and numbers"); or a named port, whose number the destination pod's
    container decides (it is never within a list of numbers)."""

    first: int = 1
    last: int = 65535
    name: str | None = None

    def __contains__(self, port: int) -> bool:
        return self.name is None and self.first <= port <= self.last

    def within(self, allowed: Sequence[int]) -> bool:
        """Every port it opens is in `allowed` (stops at the first that is not)."""
        return self.name is None and all(p in allowed for p in range(self.first, self.last + 1))

    def __repr__(self) -> str:   # as the messages list it: 443, 6000-6443, every port, 'https'
        if self.name is not None:
            return repr(self.name)
        if (self.first, self.last) == (1, 65535):
            return "every port"
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def _port_range(entry: Field) -> PortRange | Field:
    """One `ports` entry as a range, or the unknown field that decides it."""
    if entry.unknown:
        return entry
    port, end = entry["port"], entry["endPort"]
    for field in (port, end):
        if field.unknown:
            return field
    if port.value is None:
        return PortRange()
    try:
        first = int(port.value)   # IntOrString: "443" is the number 443
    except (TypeError, ValueError):
        return PortRange(name=str(port.value))
    # an endPort below port is refused by the API server; read as the one port, never as no port
    return PortRange(first, max(first, int(end.value)) if end.value is not None else first)


def rule_ports(ports: Field) -> tuple[list[PortRange], list[Field]]:
    """The entries of a rule's `ports` as ranges, and the unknown ones. An empty list with no
    unknown entry means the rule has no `ports`: every port."""
    if ports.unknown:
        return [], [ports]
    ranges: list[PortRange] = []
    unknown: list[Field] = []
    for entry in ports.items():
        found = _port_range(entry)
        if isinstance(found, Field):
            unknown.append(found)
        else:
            ranges.append(found)
    return ranges, unknown


def ints(values: Any) -> list[int]:
    """Config numbers arrive as protobuf doubles (18789.0): back to the integers they are."""
    return [int(v) for v in values or []]


def schema(properties: dict[str, dict[str, Any]]) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties=properties)


MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
