"""Every field of every object made unknown, one at a time: no policy ever lets pulumi-policy's
unknown proxy raise (which the SDK turns into a "can't run policy ... during preview" advisory),
and an unknown never turns into a claimed violation: a policy either decides without it or says
the field is undecidable.

The policies run in this process, each given its arguments exactly as pulumi-policy's `Analyze` /
`AnalyzeStack` build them (`deserialize_properties` then `unknown_checking_proxy`,
pulumi_policy/policy.py), which is what makes a sweep over every path fast enough; the gRPC path
itself is covered by tests/test_policy_preview.py and tests/test_policy_preview_unknowns.py."""

from __future__ import annotations

import copy
import importlib
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from engine.analyzer import POLICY_DIR, PolicyAnalyzer, load_policy_config
from engine.harness import RunResult
from engine.marshal import UNKNOWN, engine_properties, planned_outputs
from engine.records import ResourceRecord

Policy = ResourceValidationPolicy | StackValidationPolicy
# The pack's own modules, as policy/__main__.py imports them (so a new module is swept too).
MODULES = tuple(re.findall(r"^import (\w+)$", (POLICY_DIR / "__main__.py").read_text(encoding="utf-8"), re.M))


@pytest.fixture(scope="module")
def policies() -> list[Policy]:
    sys.path.insert(0, str(POLICY_DIR))  # the pack imports its modules top-level, as the CLI runs it
    try:
        return [p for m in MODULES for p in importlib.import_module(m).POLICIES]
    finally:
        sys.path.remove(str(POLICY_DIR))


@pytest.fixture(scope="module")
def configs(analyzer: PolicyAnalyzer) -> dict[str, dict[str, Any]]:
    """Each policy's properties as `Configure` sends them for dev: schema defaults, then the file."""
    file = load_policy_config("dev")
    result = {}
    for name, info in analyzer.policies.items():
        entry = file.get(name, {})
        entry = {} if isinstance(entry, str) else {k: v for k, v in entry.items() if k != "enforcementLevel"}
        result[name] = {k: v["default"] for k, v in info.schema.items() if "default" in v} | entry
    return result


def _options(record: ResourceRecord) -> PolicyResourceOptions:
    o = record.options
    return PolicyResourceOptions(o.protect, list(o.ignore_changes), o.delete_before_replace, list(o.aliases),
                                 PolicyCustomTimeouts(0, 0, 0), list(o.additional_secret_outputs), record.parent)


def _proxied(props: dict[str, Any]) -> Any:
    return unknown_checking_proxy(deserialize_properties(props))


def _stack_resource(record: ResourceRecord, props: dict[str, Any]) -> PolicyResource:
    return PolicyResource(record.type, _proxied(props), record.urn, record.name, _options(record), None, None, [], {})


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path below the root: maps, lists and leaves alike."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*path, i)
            yield from _paths(value, (*path, i))


def _with_unknown(node: Any, path: tuple[Any, ...]) -> Any:
    """A copy of `node` with the value at `path` unknown (only the nodes along the path copied)."""
    changed = copy.copy(node)
    changed[path[0]] = UNKNOWN if len(path) == 1 else _with_unknown(node[path[0]], path[1:])
    return changed


class Sweep:
    """Runs every policy on the stack with one resource's properties replaced."""

    def __init__(self, run: RunResult, policies: list[Policy], configs: dict[str, dict[str, Any]]) -> None:
        self.records = run.resources
        self.policies = policies
        self.configs = configs
        self.stack = [_stack_resource(r, planned_outputs(r, "preview")) for r in self.records]

    def messages(self, index: int, inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, list[str]]:
        """policy -> messages; an UnknownValueError escaping a policy fails the test."""
        record = self.records[index]
        found: dict[str, list[str]] = {}
        proxied_inputs = _proxied(inputs)
        stack_resource = PolicyResource(record.type, proxied_inputs if outputs is inputs else _proxied(outputs),
                                        record.urn, record.name, _options(record), None, None, [], {})
        for policy in self.policies:
            reports: list[str] = []
            config = self.configs[policy.name]
            try:
                if isinstance(policy, ResourceValidationPolicy):
                    args = ResourceValidationArgs(record.type, proxied_inputs, record.urn, record.name,
                                                  _options(record), None, config)
                    policy.validate(args, lambda message, urn=None, r=reports: r.append(message))  # type: ignore
                else:
                    resources = list(self.stack)
                    resources[index] = stack_resource
                    policy.validate(StackValidationArgs(resources, config),  # type: ignore
                                    lambda message, urn=None, r=reports: r.append(message))
            except UnknownValueError as exc:
                pytest.fail(f"{policy.name} touched an unknown and would be skipped at preview: {exc.message}")
            if reports:
                found[policy.name] = reports
        return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_unknown_anywhere_skips_a_policy_or_claims_a_violation(
        policies: list[Policy], configs: dict[str, dict[str, Any]], dev: RunResult, prod: RunResult,
        stack: str) -> None:
    run = dev if stack == "dev" else prod
    # prod: only what dev does not already sweep in the same shape (its IPv6 egress policy, the
    # network policies, anything dev lacks); the Deployment differs only in values.
    dev_urns = {r.urn.split("::", 1)[1] for r in dev.resources}
    sweep = Sweep(run, policies, configs)
    baseline = {i: sweep.messages(i, engine_properties(r), planned_outputs(r, "preview"))
                for i, r in enumerate(run.resources)}
    undecided: set[str] = set()
    swept = 0
    for index, record in enumerate(run.resources):
        if not record.custom or record.type.startswith("pulumi:providers:"):
            continue
        if stack == "prod" and record.urn.split("::", 1)[1] in dev_urns and "NetworkPolicy" not in record.type:
            continue
        inputs, outputs = engine_properties(record), planned_outputs(record, "preview")
        for path in _paths(record.properties):
            swept += 1
            changed = _with_unknown(inputs, path)
            # Kubernetes outputs at preview are the inputs: one object serves both calls.
            found = sweep.messages(index, changed, changed if outputs == inputs else _with_unknown(outputs, path))
            for policy, messages in found.items():
                # Messages name the object, and its name may be the unknown: compare counts.
                concrete = [m for m in messages if not m.startswith("undecidable at preview: ")]
                assert len(concrete) <= len(baseline[index].get(policy, [])), (record.name, path, policy, concrete)
                undecided |= {policy} if len(concrete) < len(messages) else set()
    assert swept > (500 if stack == "dev" else 50)  # every field of every object swept, not a sample
    # The sweep reaches a field each policy depends on (pvc-protected reads only an option).
    # prod's own objects: its network policies and the backup (CronJob, its egress, its secrets).
    # dev runs no backup, so backup-drill-scheduled has nothing to judge there.
    assert undecided == ({p.name for p in policies} - {"pvc-protected", "backup-drill-scheduled"} if stack == "dev"
                         else {"namespace-default-deny", "egress-restricted", "ingress-restricted",
                               "egress-covers-dependencies", "backup-scheduled", "backup-drill-scheduled",
                               "image-digest-pinned",
                               "image-registry-allowed", "image-tag-pinned", "memory-limits", "no-host-access",
                               "no-literal-secret-env", "pod-security-context", "secrets-wired",
                               # an unknown image of the backup's containers could be an OpenClaw one;
                               # the gateway-only release policies skip Jobs and CronJobs
                               "release-known", "release-untested"})


def test_baseline_of_the_sweep_matches_the_analyzer(policies: list[Policy], configs: dict[str, dict[str, Any]],
                                                     analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    # In-process and through gRPC, the clean dev stack draws the same messages.
    sweep = Sweep(dev, policies, configs)
    local = sorted(m for i, r in enumerate(dev.resources) if r.custom
                   for messages in sweep.messages(i, engine_properties(r), planned_outputs(r, "preview")).values()
                   for m in messages)
    remote = sorted(d.message for d in analyzer.analyze(dev.resources, load_policy_config("dev"), "preview"))
    assert local and sorted(set(local)) == sorted(set(remote))
