"""The pack under what `pulumi preview` really sends it (engine/analyzer.py, shape "preview"):
planned outputs with the unknowns the providers leave, secrets wrapped as the engine wraps them.

No policy may be switched off by pulumi-policy's "can't run policy ... during preview" advisory;
an unknown a verdict does not depend on is ignored, one it depends on is reported as undecidable
at the policy's own level."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from typing import Any

import pytest

from engine.analyzer import Diagnostic, PolicyAnalyzer, load_policy_config, mandatory, skipped
from engine.harness import RunResult
from engine.marshal import SECRET_SIG, SHAPES, UNKNOWN, engine_properties, planned_outputs
from engine.records import ResourceRecord
from tests.test_policy import BAD, Mutation, has_dependency_list, has_openclaw_json, mutate, pod
from tests.vault_fixtures import run_direct

VAULT_ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
VAULT_POLICY = "vault:index/policy:Policy"


def set_unknown(props: dict[str, Any], path: tuple[Any, ...]) -> None:
    node: Any = props
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = UNKNOWN


def unrelated_unknowns(records: list[ResourceRecord]) -> list[ResourceRecord]:
    """Every object with fields no policy judges made unknown, as a dry-run or a dependency on an
    unknown output could leave them: server-set metadata, status, and fields next to judged ones."""
    out = []
    for record in records:
        props = json.loads(json.dumps(record.properties))
        if record.type.startswith("kubernetes:") and "kind" in props:
            for path in (("metadata", "uid"), ("metadata", "resourceVersion"), ("metadata", "creationTimestamp"),
                         ("status",)):
                set_unknown(props, path)
            kind = props["kind"]
            if kind == "Deployment":
                set_unknown(props, ("spec", "revisionHistoryLimit"))
                set_unknown(props, ("spec", "template", "spec", "terminationGracePeriodSeconds"))
                for c in pod(props)["containers"] + pod(props).get("initContainers", []):
                    set_unknown(c, ("terminationMessagePath",))
                    if "readinessProbe" in c:  # its route is judged (release-probes), its timing is not
                        set_unknown(c["readinessProbe"], ("timeoutSeconds",))
            elif kind in ("ConfigMap", "NetworkPolicy", "ClusterRole", "PersistentVolumeClaim"):
                set_unknown(props, ("metadata", "labels"))
            elif kind == "VaultStaticSecret":
                set_unknown(props, ("spec", "refreshAfter"))
        out.append(dataclasses.replace(record, properties=props))
    return out


def run_shape(analyzer: PolicyAnalyzer, records: list[ResourceRecord], shape: str,
              config: dict[str, Any] | None = None, stack: str = "dev") -> list[Diagnostic]:
    diagnostics = analyzer.analyze(records, load_policy_config(stack) | (config or {}), shape)
    assert skipped(diagnostics) == [], [d.message for d in skipped(diagnostics)]
    return diagnostics


# --- what the preview shape is ---------------------------------------------------------------------

def test_preview_shape_plans_vault_computed_attributes_as_unknown(dev: RunResult) -> None:
    role = next(r for r in dev.resources if r.type == VAULT_ROLE)
    policy = next(r for r in dev.resources if r.type == VAULT_POLICY)
    preview, up = planned_outputs(role, "preview"), planned_outputs(role, "up")
    assert preview["id"] == UNKNOWN and preview["aliasNameSource"] == UNKNOWN
    assert up["aliasNameSource"] == "serviceaccount_uid" and UNKNOWN not in json.dumps(up)
    # A computed attribute the program sets is known at preview (allowOverwrite: never take over
    # someone else's policy); one it leaves unset would be planned as unknown.
    assert policy.properties["allowOverwrite"] is False
    assert planned_outputs(policy, "preview")["allowOverwrite"] is False
    unset = replace(policy, properties={k: v for k, v in policy.properties.items() if k != "allowOverwrite"})
    assert planned_outputs(unset, "preview")["allowOverwrite"] == UNKNOWN
    # What the program sets stays known: the role name the VaultAuth CR reads, the policy text.
    assert preview["roleName"] == role.properties["roleName"]
    assert planned_outputs(policy, "preview")["policy"] == policy.properties["policy"]
    # pulumi-kubernetes returns a new object's inputs as its preview outputs.
    deployment = next(r for r in dev.kubernetes() if r.properties["kind"] == "Deployment")
    assert planned_outputs(deployment, "preview") == deployment.properties


def test_secrets_reach_the_pack_wrapped_as_the_engine_sends_them() -> None:
    run = run_direct()
    secret = next(r for r in run.kubernetes() if r.properties["kind"] == "Secret" and r.secret_paths)
    wire = engine_properties(secret)
    # The SDK sends the whole map of secret outputs as one secret (the harness records the path).
    assert secret.secret_paths == ("stringData",)
    assert wire["stringData"] == {**SECRET_SIG, "value": secret.properties["stringData"]}
    assert wire["metadata"] == secret.properties["metadata"]  # only the secret values are wrapped


# What the clean stacks draw: neither pins a digest yet; dev keeps backups off.
CLEAN_ADVISORIES = {"dev": {"image-digest-pinned", "backup-scheduled"}, "prod": {"image-digest-pinned"}}


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("shape", SHAPES)
def test_clean_stacks_pass_in_both_shapes_without_a_skipped_policy(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                   prod: RunResult, stack: str, shape: str) -> None:
    run = dev if stack == "dev" else prod
    diagnostics = run_shape(analyzer, run.resources, shape, stack=stack)
    assert mandatory(diagnostics) == []
    assert {d.policy for d in diagnostics} == CLEAN_ADVISORIES[stack]
    assert not any("undecidable" in d.message for d in diagnostics)


def test_direct_mode_with_secret_values_passes_in_preview(analyzer: PolicyAnalyzer) -> None:
    diagnostics = run_shape(analyzer, run_direct().resources, "preview")
    assert mandatory(diagnostics) == []


def test_clean_stack_with_unrelated_unknowns_passes(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    diagnostics = run_shape(analyzer, unrelated_unknowns(dev.resources), "preview")
    assert mandatory(diagnostics) == [] and {d.policy for d in diagnostics} == CLEAN_ADVISORIES["dev"]


# --- every unsafe variant, in both shapes, and with unrelated unknowns ------------------------------

def bad_records(dev: RunResult, kind: str, name: str | None, change: Mutation,
                 options: dict[str, Any]) -> list[ResourceRecord]:
    names = {"$config": has_openclaw_json, "$dependencies": has_dependency_list}
    return mutate(dev, kind, names[name](dev) if name in names else name, change, **options)


# The "up" shape of each fault: tests/test_policy.py::test_each_fault_draws_exactly_its_violation.
@pytest.mark.parametrize("variant", ["preview", "preview+unrelated unknowns"])
@pytest.mark.parametrize(("case", "kind", "name", "change", "options", "policy", "words"), BAD,
                         ids=[b[0] for b in BAD])
def test_each_fault_is_caught_in_every_shape(analyzer: PolicyAnalyzer, dev: RunResult, variant: str, case: str,
                                             kind: str, name: str | None, change: Mutation,
                                             options: dict[str, Any], policy: str, words: str) -> None:
    records = bad_records(dev, kind, name, change, options)
    if variant.endswith("unrelated unknowns"):
        records = unrelated_unknowns(records)
    found = mandatory(run_shape(analyzer, records, variant.split("+")[0]))
    assert [d.policy for d in found] == [policy] * len(found) and found, found
    assert any(words in d.message for d in found), [d.message for d in found]
    assert not any("undecidable" in d.message for d in found)
