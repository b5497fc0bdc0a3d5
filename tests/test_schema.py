"""Every rendered Kubernetes object validates against the Kubernetes 1.31 schema, strictly."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tools import render
from tools.harness import RunResult
from tools.render import kubernetes_manifest
from tools.schema import validate_manifests


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendered_objects_are_valid(stack: str, dev: RunResult, prod: RunResult) -> None:
    run = dev if stack == "dev" else prod
    report = validate_manifests(kubernetes_manifest(r) for r in run.kubernetes())
    assert report.errors == []
    assert len(report.checked) + len(report.skipped) == len(run.kubernetes())
    # Only the operator's custom resources have no built-in schema (prod: one more, the backup's).
    assert all("secrets.hashicorp.com/v1beta1" in s for s in report.skipped)
    assert len(report.skipped) == (3 if stack == "dev" else 4)


def test_invalid_objects_are_caught_with_object_and_field(dev: RunResult) -> None:
    deployment = kubernetes_manifest(dev.find("Deployment", "openclaw"))
    typo = copy.deepcopy(deployment)
    typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"  # unknown field: strict
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "one"
    report = validate_manifests([typo, wrong_type])
    assert len(report.errors) == 2 and not report.checked
    assert report.errors[0].startswith("Deployment openclaw/openclaw: spec.template.spec.containers.0: ")
    assert "imagePullPolicyy" in report.errors[0]
    assert report.errors[1].startswith("Deployment openclaw/openclaw: spec.replicas: 'one' is not of type")


def test_render_reports_the_schema_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert render.main(["--stack", "dev", "--out", str(tmp_path), "--no-policy"]) == 0
    out = capsys.readouterr().out
    assert "schema: 45 objects valid against Kubernetes 1.31.0 (strict)" in out
    assert "skipped 3 custom resource(s)" in out
