"""Validate rendered Kubernetes objects against the Kubernetes OpenAPI schema, strictly (unknown
fields are errors), with the schemas `kubernetes-validate` ships. What the provider's Check would
catch in a real preview, caught offline.

`kubernetes_validate.validate` re-reads the version list, the kind's schema and the 1.3 MB
`_definitions.json` and builds a new registry and validator for every object
(kubernetes_validate/utils.py); here each file is read once per process and one validator is
kept per (kind, apiVersion), with the same file layout, strict mode and error semantics.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

KUBERNETES_VERSION = "1.31.0"

def _package_dir(name: str) -> Path:
    """Where a package's files are, without importing it (kubernetes_validate's import pulls in
    packaging, yaml and importlib_resources: 0.1 s the render does not need)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{name} is not installed: run ./run setup")
    return Path(next(iter(spec.submodule_search_locations)))


_SCHEMAS = _package_dir("kubernetes_validate") / "kubernetes-json-schema"


@dataclass
class SchemaReport:
    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # custom resources: no schema ships for them
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"schema: {len(self.checked)} objects valid against Kubernetes {KUBERNETES_VERSION} (strict)"
                 if not self.errors else f"schema: {len(self.errors)} invalid object(s):"]
        lines += [f"  - {e}" for e in self.errors]
        if self.skipped:
            lines.append(f"schema: skipped {len(self.skipped)} custom resource(s) with no built-in schema: "
                         + ", ".join(self.skipped))
        return "\n".join(lines)


def _label(manifest: dict[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{manifest.get('kind')} {ns}{meta.get('name')}"


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.lstrip("v").split(".")[:2]
    return int(major), int(minor)


@functools.cache
def _schema_dir(version: str) -> Path:
    """The newest shipped schema folder not newer than `version`, strict flavour (as
    kubernetes_validate.validate picks it)."""
    shipped = sorted((_minor(p.name.split("-")[0]), p) for p in _SCHEMAS.glob("v*-local-strict"))
    candidates = [p for minor, p in shipped if minor <= _minor(version)]
    if not candidates:
        raise ValueError(f"no Kubernetes schema shipped for version {version} or older")
    return candidates[-1]


@functools.cache
def _registry(schema_dir: Path) -> Registry:
    definitions = json.loads((schema_dir / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()


@functools.cache
def _validator(schema_dir: Path, kind: str, api_version: str) -> jsonschema.Draft202012Validator | None:
    """One validator per kind; None when no schema ships for it (a custom resource)."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # rbac.authorization.k8s.io/v1 -> rbac-v1
    path = schema_dir / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    registry = Resource.from_contents(schema) @ _registry(schema_dir)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_manifests(manifests: Iterable[dict[str, Any]], version: str = KUBERNETES_VERSION) -> SchemaReport:
    report = SchemaReport()
    schema_dir = _schema_dir(version)
    for manifest in manifests:
        label = _label(manifest)
        validator = _validator(schema_dir, str(manifest.get("kind", "")), str(manifest.get("apiVersion", "")))
        if validator is None:
            report.skipped.append(f"{label} ({manifest.get('apiVersion')})")
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(manifest))
        if error is not None:
            where = ".".join(str(p) for p in error.path) or "(top level)"
            report.errors.append(f"{label}: {where}: {error.message}")
        else:
            report.checked.append(label)
    return report
