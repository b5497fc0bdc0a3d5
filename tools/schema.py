"""Validate rendered Kubernetes objects against the Kubernetes OpenAPI schema, strictly (unknown
fields are errors), with the schemas `kubernetes-validate` ships. What the provider's Check would
catch in a real preview, caught offline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import kubernetes_validate

KUBERNETES_VERSION = "1.31.0"


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


def validate_manifests(manifests: Iterable[dict[str, Any]], version: str = KUBERNETES_VERSION) -> SchemaReport:
    report = SchemaReport()
    for manifest in manifests:
        label = _label(manifest)
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            report.skipped.append(f"{label} ({manifest.get('apiVersion')})")
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path) or "(top level)"
            report.errors.append(f"{label}: {where}: {exc.message}")
        else:
            report.checked.append(label)
    return report
