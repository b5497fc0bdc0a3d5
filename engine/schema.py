"""Validate rendered Kubernetes objects against the Kubernetes OpenAPI schema, strictly (unknown
fields are errors), with the schemas `kubernetes-validate` ships, and custom resources against the
CRDs vendored in engine/crds/ (the Vault Secrets Operator's). What the provider's Check and the API
server would catch in a real preview, caught offline.

`kubernetes_validate.validate` re-reads the version list, the kind's schema and the 1.3 MB
`_definitions.json` and builds a new registry and validator for every object
(kubernetes_validate/utils.py); here each file is read once per process and one validator is
kept per (kind, apiVersion), with the same file layout, strict mode and error semantics.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.protocols import Validator
from referencing import Registry, Resource

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KUBERNETES_VERSION = "1.31.0"

def _package_dir(name: str) -> Path:
    """Where a package's files are, without importing it (kubernetes_validate's import pulls in
    packaging, yaml and importlib_resources: 0.1 s the render does not need)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{name} is not installed: run ./run setup")
    return Path(next(iter(spec.submodule_search_locations)))


_SCHEMAS = _package_dir("kubernetes_validate") / "kubernetes-json-schema"
CRDS = Path(__file__).resolve().parent / "crds"


@dataclass
class SchemaReport:
    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # custom resources without a vendored CRD
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"schema: {len(self.checked)} objects valid against Kubernetes {KUBERNETES_VERSION} and the "
                 "vendored CRDs (strict)"
                 if not self.errors else f"schema: {len(self.errors)} invalid object(s):"]
        lines += [f"  - {e}" for e in self.errors]
        if self.skipped:
            lines.append(f"schema: skipped {len(self.skipped)} custom resource(s) with no schema here: "
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


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD's openAPIV3Schema as the API server applies it under strict field validation (kubectl's
    and server-side apply's default): unknown fields refused wherever the schema lists properties
    and does not preserve unknown fields."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (node.get("type") == "object" and "properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


@functools.cache
def _crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, apiVersion) -> the served version's schema, of every CRD in engine/crds/."""
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served"):
                found[(spec["names"]["kind"], f"{spec['group']}/{version['name']}")] = \
                    version["schema"]["openAPIV3Schema"]
    return found


def crd_schema(kind: str, api_version: str) -> dict[str, Any] | None:
    """The strict schema of a vendored CRD's kind at that apiVersion; None when none is vendored."""
    schema = _crds().get((kind, api_version))
    return None if schema is None else strict_schema(schema)


@functools.cache
def _validator(schema_dir: Path, kind: str, api_version: str) -> Validator | None:
    """One validator per kind; None when no schema is at hand (a custom resource with no vendored CRD)."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # rbac.authorization.k8s.io/v1 -> rbac-v1
    path = schema_dir / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        custom = crd_schema(kind, api_version)
        return None if custom is None else jsonschema.Draft7Validator(custom)
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
