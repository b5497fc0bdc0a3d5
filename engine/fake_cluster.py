"""A cluster for the tests to answer the program's own reads (components/cluster_reads.py) from
objects given as dicts, evaluating the same kubectl JSONPath fields the real reader asks for.

`K3S_STORAGE_CLASS` is the dev cluster's class as FACTS.md describes it: rancher.io/local-path,
Retain, WaitForFirstConsumer, and no `allowVolumeExpansion` (the local-path provisioner cannot
resize). `FakeCluster()` holds it and none of the program's objects: what a run answers unless a
test says otherwise (`run_stack(..., cluster=...)`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from components.cluster_reads import ClusterReadError, ObjectRef

K3S_STORAGE_CLASS: dict[str, Any] = {
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local-path-retain"},
    "provisioner": "rancher.io/local-path", "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"}
_STEP = re.compile(r"([^.\[\]]+)(\[\*\])?")


def managed_by(*managers: str) -> list[dict[str, str]]:
    """managedFields entries for these field managers (what the existence check reads)."""
    return [{"manager": m, "operation": "Apply" if m.startswith("pulumi") else "Update"} for m in managers]


def live_object(api_version: str, kind: str, name: str, namespace: str | None = None, *managers: str,
                **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "managedFields": managed_by(*managers)}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def jsonpath_values(obj: Any, path: str) -> list[Any]:
    """The values of a kubectl JSONPath of the forms `.a.b` and `.a[*].b`."""
    values = [obj]
    for key, every in _STEP.findall(path):
        step: list[Any] = []
        for value in values:
            child = value.get(key) if isinstance(value, dict) else None
            if child is None:
                continue
            if every:
                step.extend(child if isinstance(child, list) else [])
            else:
                step.append(child)
        values = step
    return values


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class FakeCluster:
    """Answers `read` from the objects it holds; `calls` records each request."""

    def __init__(self, objects: Iterable[Mapping[str, Any]] = (K3S_STORAGE_CLASS,), *,
                 unreadable: str | None = None) -> None:
        self.objects = [dict(o) for o in objects]
        self.unreadable = unreadable  # a reason: every read fails as kubectl would (ClusterReadError)
        self.calls: list[tuple[tuple[ObjectRef, ...], tuple[str, ...]]] = []

    def _find(self, ref: ObjectRef) -> Mapping[str, Any] | None:
        for obj in self.objects:
            meta = obj.get("metadata") or {}
            if (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name")) == (
                    ref.api_version, ref.kind, ref.namespace, ref.name):
                return obj
        return None

    def read(self, refs: Sequence[ObjectRef], paths: Sequence[str]) -> dict[ObjectRef, list[str]]:
        self.calls.append((tuple(refs), tuple(paths)))
        if self.unreadable is not None:
            raise ClusterReadError(self.unreadable)
        found = {}
        for ref in refs:
            obj = self._find(ref)
            if obj is not None:
                found[ref] = [" ".join(_text(v) for v in jsonpath_values(obj, path)) for path in paths]
        return found
