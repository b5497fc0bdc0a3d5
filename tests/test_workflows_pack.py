"""The policy pack in CI: the deploy applies what was reviewed (the up gated by a policy preview of the same
commit, the stack policies only after every step applied), each pack run with its own stack's pack config,
and every key of a pack config a policy of the pack that fits its schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2

from engine.analyzer import PolicyAnalyzer, PolicyConfigError
from engine.harness import REPO
from tests.test_workflows import job_steps, load_workflow, uses_action, workflow_jobs


@pytest.fixture(scope="module")
def analyzer_policies(analyzer: PolicyAnalyzer) -> dict[str, bool]:
    """The pack's policies as the CLI sees them (GetAnalyzerInfo): name -> is a stack policy."""
    info = analyzer._stub.GetAnalyzerInfo(empty_pb2.Empty())
    return {p.name: p.policy_type == analyzer_pb2.POLICY_TYPE_STACK for p in info.policies}


# --- the deploy applies what was reviewed ------------------------------------------------------

def test_deploy_applies_with_the_reviewed_pack_and_config_after_a_refresh() -> None:
    doc = load_workflow("deploy.yml")
    assert doc["on"] == {"push": {"branches": ["main"]}}
    assert doc["concurrency"]["cancel-in-progress"] is False
    up = doc["jobs"]["up"]
    assert up["needs"] == "checks"
    (action,) = [s for s in uses_action(up, "pulumi/actions") if s["with"]["command"] == "up"]
    inputs = action["with"]
    assert (inputs["command"], inputs["stack-name"]) == ("up", "${{ vars.PULUMI_ORGANIZATION }}/openclaw/dev")
    assert (inputs["policyPacks"], inputs["policyPackConfigs"]) == ("policy", "policy/config.dev.json")
    assert inputs["refresh"] is True and inputs["diff"] is True
    preview = next(s for s in job_steps(workflow_jobs("pull-request.yml")["preview"])
                   if s.get("id") == "preview")["run"]
    assert "--policy-pack policy" in preview and "--refresh" in preview  # the same pack, the same refresh


# Same stack, pack, pack config and refresh in the gate and the up (the message is the up's only).
GATED_INPUTS = ("stack-name", "work-dir", "pulumi-version", "refresh", "policyPacks", "policyPackConfigs")
# The stack policies of the pack (pulumi_policy.StackValidationPolicy): at `up` the engine runs them
# only after every step was applied (deployment_executor.go, Execute -> stepGen.AnalyzeResources).
STACK_POLICIES = {"backup-drill-scheduled", "backup-scheduled", "egress-covers-dependencies",
                  "namespace-default-deny", "rbac-read-only", "secrets-wired"}


def test_the_up_is_gated_by_a_policy_preview_of_the_same_commit_before_any_change() -> None:
    up = workflow_jobs("deploy.yml")["up"]
    steps = job_steps(up)
    pulumi = [(i, s) for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert [s["with"]["command"] for _, s in pulumi] == ["preview", "up"]  # the gate first, in the same job
    (gate_at, gate), (up_at, apply) = pulumi
    # Nothing runs between them that could change the checkout (same commit) or the credentials.
    assert up_at == gate_at + 1
    assert not any(s.get("uses", "").startswith("actions/checkout") for s in steps[gate_at:])
    for key in GATED_INPUTS:
        assert gate["with"][key] == apply["with"][key], key
    # A failed gate stops the job: no step or action input that carries on after a failure, and the
    # up runs only on success (no `if:`, whose default is success()).
    for step in (gate, apply):
        assert "continue-on-error" not in step and "if" not in step
        assert "continue-on-error" not in step["with"] and "expect-no-changes" not in step["with"]
    assert "continue-on-error" not in up
    # The step names say what each checks, and when.
    assert gate["name"].startswith("Policy gate, before any change")
    assert "resource and stack policies" in gate["name"] and "mandatory violation fails the job" in gate["name"]
    assert "--skip-preview" in apply["name"] and "stack policies only after every step applied" in apply["name"]


def test_stack_policies_named_in_the_docs_are_the_packs(analyzer_policies: dict[str, bool]) -> None:
    assert {name for name, stack in analyzer_policies.items() if stack} == STACK_POLICIES
    docs = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    section = docs.split("## What is checked when\n", 1)[1].split("\n## ", 1)[0]
    for name in STACK_POLICIES:
        assert f"`{name}`" in section, name
    assert "deployment_executor.go" in section and "stack.ts" in section


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy.yml"])
def test_every_pack_run_uses_its_own_stacks_pack_config(name: str) -> None:
    """A stack is previewed and applied with policy/config.<that stack>.json, never another's."""
    seen = 0
    for job in workflow_jobs(name).values():
        for step in job_steps(job):
            inputs = step.get("with") or {}
            if "policyPacks" in inputs:
                stack = inputs["stack-name"].rsplit("/", 1)[1]
                assert inputs["policyPackConfigs"] == f"policy/config.{stack}.json"
                assert (REPO / inputs["policyPackConfigs"]).is_file()
                seen += 1
            if "--policy-pack " in str(step.get("run", "")):
                assert '--policy-pack-config "policy/config.$STACK.json"' in step["run"]
                assert '"$PULUMI_ORGANIZATION/openclaw/$STACK"' in step["run"]
                seen += 1
    assert seen >= 1

# --- the pack config the CLI is given ------------------------------------------------------------

CONFIG_FILES = sorted((REPO / "policy").glob("config.*.json"))


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_every_key_of_a_pack_config_is_a_policy_of_the_pack_and_fits_its_schema(
        path: Path, analyzer: PolicyAnalyzer, analyzer_policies: dict[str, bool]) -> None:
    """`--policy-pack-config` with an unknown policy name is ignored by the CLI without a word
    (a typo silently leaves the policy at its default level): every key must name a policy."""
    config = json.loads(path.read_text(encoding="utf-8"))
    assert set(config) - {"all"} <= set(analyzer_policies), sorted(set(config) - set(analyzer_policies))
    analyzer.configure(config)  # each entry validated against its policy's config schema, as the CLI does
    for name, entry in config.items():
        level = entry if isinstance(entry, str) else entry["enforcementLevel"]
        assert analyzer.levels[name] == level


def test_a_pack_config_with_a_typo_fails(analyzer: PolicyAnalyzer, tmp_path: Path) -> None:
    assert len(CONFIG_FILES) == 2
    config = json.loads(CONFIG_FILES[0].read_text(encoding="utf-8"))
    config["pvc-storage-clas"] = config.pop("pvc-storage-class")
    with pytest.raises(PolicyConfigError, match=r"unknown policies \['pvc-storage-clas'\]"):
        analyzer.configure(config)
    config["pvc-storage-class"] = {"enforcementLevel": "mandatory", "allowedStorageClasses": "local-path-retain"}
    del config["pvc-storage-clas"]
    with pytest.raises(PolicyConfigError, match="is not of type 'array'"):
        analyzer.configure(config)
