"""Every rendered Kubernetes object validates against the Kubernetes 1.31 schema, and every custom
resource against its vendored CRD (engine/crds/), strictly."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from engine.harness import RunResult
from engine.schema import validate_manifests
from tools import render
from tools.render import kubernetes_manifest


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendered_objects_are_valid(stack: str, dev: RunResult, prod: RunResult) -> None:
    run = dev if stack == "dev" else prod
    report = validate_manifests(kubernetes_manifest(r) for r in run.kubernetes())
    assert report.errors == []
    # Nothing skipped: the operator's custom resources are checked against its CRDs.
    assert report.skipped == [] and len(report.checked) == len(run.kubernetes())


def test_custom_resources_are_checked_against_their_crd(dev: RunResult) -> None:
    secret = kubernetes_manifest(dev.find("VaultStaticSecret", "openclaw-secrets"))
    typo = copy.deepcopy(secret)
    typo["spec"]["refreshAfterr"] = "5m"  # unknown field: strict field validation refuses it
    wrong = copy.deepcopy(secret)
    wrong["spec"]["type"] = "kv-v3"  # not in the CRD's enum
    unknown_kind = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                    "metadata": {"name": "x", "namespace": "openclaw"}, "spec": {}}
    report = validate_manifests([secret, typo, wrong, unknown_kind])
    assert report.checked == ["VaultStaticSecret openclaw/openclaw-secrets"]
    assert len(report.errors) == 2 and "refreshAfterr" in report.errors[0] and "kv-v3" in report.errors[1]
    assert report.skipped == ["PrometheusRule openclaw/x (monitoring.coreos.com/v1)"]


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
    assert "schema: 51 objects valid against Kubernetes 1.31.0 and the vendored CRDs (strict)" in out
    assert "skipped" not in out
