"""Reading Kubernetes objects as the analyzer receives them (pulumi-kubernetes inputs, camelCase)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema

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


def plain(value: Any) -> Any:
    """Policy properties arrive as read-only proxies; a plain copy is easier to walk."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def name_of(props: Mapping[str, Any]) -> str:
    meta = props.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name', '?')}" if ns else str(meta.get("name", "?"))


def describe(resource_type: str, props: Mapping[str, Any]) -> str:
    """`Deployment openclaw/openclaw`: how every message names the object."""
    return f"{resource_type.split(':')[-1]} {name_of(props)}"


def pod_spec(type_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    path = WORKLOAD_TYPES.get(type_)
    if path is None:
        return None
    node: Any = plain(props)
    for key in path:
        node = (node or {}).get(key)
    return node if isinstance(node, dict) else None


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, container) for init and regular containers."""
    for field, label in (("initContainers", "init container"), ("containers", "container")):
        for container in spec.get(field) or []:
            yield f"{label} '{container.get('name', '?')}'", container


def port_number(port: Any) -> int | None:
    try:
        return int(port)
    except (TypeError, ValueError):
        return None


def ints(values: Any) -> list[int]:
    """Config numbers arrive as protobuf doubles (18789.0): back to the integers they are."""
    return [int(v) for v in values or []]


def schema(properties: dict[str, dict[str, Any]]) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties=properties)


MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
