"""The GitHub Actions workflows cannot run here: check their structure and action inputs."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tools.harness import REPO

WORKFLOWS = REPO / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+)*|[0-9a-f]{40})$")


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job.get("steps", [])
    return steps


def _pulumi_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in _steps(job) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    return step


@pytest.mark.parametrize("name", ["checks.yml", "pull-request.yml", "deploy.yml"])
def test_actions_are_pinned_and_secrets_only_come_from_secrets(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    doc = _load(name)
    for job in doc["jobs"].values():
        for step in _steps(job):
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
    for expression in re.findall(r"\$\{\{\s*([^}]*?)\s*\}\}", text):
        assert expression.startswith(("secrets.", "github.", "matrix.", "runner.")), expression
    for sensitive in ("TOKEN", "PASSPHRASE", "KUBECONFIG_CONTENT"):
        for line in text.splitlines():
            if f"{sensitive}:" in line and "${{" in line:
                assert "secrets." in line, line


def test_checks_run_the_ci_script() -> None:
    doc = _load("checks.yml")
    assert "workflow_call" in doc["on"]
    runs = [s.get("run", "") for s in _steps(doc["jobs"]["checks"])]
    assert runs[-1] == "bash .ci/run"
    assert any("busybox" in r for r in runs)


def test_pull_request_workflow() -> None:
    doc = _load("pull-request.yml")
    assert doc["on"]["pull_request"]["branches"] == ["main"]
    assert doc["permissions"]["pull-requests"] == "write"
    jobs = doc["jobs"]
    assert jobs["checks"]["uses"] == "./.github/workflows/checks.yml"
    preview = jobs["preview"]
    assert preview["needs"] == "checks"
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    inputs = _pulumi_step(preview)["with"]
    assert inputs["command"] == "preview"
    assert inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["comment-on-pr"] is True
    assert inputs["policyPacks"] == "policy"
    assert inputs["policyPackConfigs"] == "policy/config.${{ matrix.stack }}.json"
    assert inputs["work-dir"] == "./"
    for stack in preview["strategy"]["matrix"]["stack"]:
        assert (REPO / f"policy/config.{stack}.json").exists() and (REPO / f"Pulumi.{stack}.yaml").exists()
    names = [s.get("name", s.get("uses", "")) for s in _steps(preview)]
    assert names.index("Kubeconfig") < names.index("pulumi/actions@v6")


def test_render_diff_job_compares_with_the_base_branch() -> None:
    job = _load("pull-request.yml")["jobs"]["render-diff"]
    steps = _steps(job)
    base = next(s for s in steps if s.get("with", {}).get("path") == "base")
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    runs = [s.get("run", "") for s in steps]
    render_base = next(i for i, r in enumerate(runs) if "--out ../out/base" in r)
    render_new = next(i for i, r in enumerate(runs) if "--diff out/base" in r)
    assert render_base < render_new
    assert "--diff-out render-diff.md" in runs[render_new]
    uses = [s.get("uses", "") for s in steps]
    assert uses.index("actions/upload-artifact@v4") > render_new
    comment = next(s for s in steps if str(s.get("uses", "")).startswith("marocchino/sticky-pull-request-comment@"))
    assert comment["with"]["path"] == "render-diff.md"


def test_deploy_workflow_runs_up_on_main_with_the_policy_pack() -> None:
    doc = _load("deploy.yml")
    assert doc["on"] == {"push": {"branches": ["main"]}}
    assert doc["concurrency"]["cancel-in-progress"] is False
    up = doc["jobs"]["up"]
    assert up["needs"] == "checks"
    inputs = _pulumi_step(up)["with"]
    assert (inputs["command"], inputs["stack-name"]) == ("up", "dev")
    assert (inputs["policyPacks"], inputs["policyPackConfigs"]) == ("policy", "policy/config.dev.json")


def test_the_commands_the_workflows_run_exist() -> None:
    assert (REPO / ".ci" / "run").exists() and (REPO / "run").exists()
    assert (REPO / "policy" / "PulumiPolicy.yaml").exists()
    for name in ("requirements.txt", "policy/requirements.txt"):
        assert (REPO / name).exists()
    docs = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    secrets = set()
    for name in ("pull-request.yml", "deploy.yml"):
        secrets |= set(re.findall(r"secrets\.([A-Z_]+)", (WORKFLOWS / name).read_text(encoding="utf-8")))
    for secret in secrets:
        assert f"`{secret}`" in docs, f"{secret} is not documented in docs/ci.md"
