"""The pack under what `pulumi preview` really sends it (engine/analyzer.py, shape "preview"):
planned outputs with the unknowns the providers leave, secrets wrapped as the engine wraps them.

No policy may be switched off by pulumi-policy's "can't run policy ... during preview" advisory;
an unknown a verdict does not depend on is ignored, one it depends on is reported as undecidable
at the policy's own level."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.analyzer import Diagnostic, PolicyAnalyzer, blocking, load_policy_config, mandatory, skipped
from engine.harness import RunResult, object_name
from engine.marshal import SECRET_SIG, SHAPES, UNKNOWN, engine_properties, planned_outputs
from engine.records import ResourceRecord
from tests.test_policy import BAD, Mutation, gateway, has_dependency_list, has_openclaw_json, mutate, pod
from tests.vault_fixtures import run_direct
from tools import render

VAULT_ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
VAULT_POLICY = "vault:index/policy:Policy"


def _set_unknown(props: dict[str, Any], path: tuple[Any, ...]) -> None:
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
                _set_unknown(props, path)
            kind = props["kind"]
            if kind == "Deployment":
                _set_unknown(props, ("spec", "revisionHistoryLimit"))
                _set_unknown(props, ("spec", "template", "spec", "terminationGracePeriodSeconds"))
                for c in pod(props)["containers"] + pod(props).get("initContainers", []):
                    _set_unknown(c, ("terminationMessagePath",))
                    if "readinessProbe" in c:  # its route is judged (release-probes), its timing is not
                        _set_unknown(c["readinessProbe"], ("timeoutSeconds",))
            elif kind in ("ConfigMap", "NetworkPolicy", "ClusterRole", "PersistentVolumeClaim"):
                _set_unknown(props, ("metadata", "labels"))
            elif kind == "VaultStaticSecret":
                _set_unknown(props, ("spec", "refreshAfter"))
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

def _bad_records(dev: RunResult, kind: str, name: str | None, change: Mutation,
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
    records = _bad_records(dev, kind, name, change, options)
    if variant.endswith("unrelated unknowns"):
        records = unrelated_unknowns(records)
    found = mandatory(run_shape(analyzer, records, variant.split("+")[0]))
    assert [d.policy for d in found] == [policy] * len(found) and found, found
    assert any(words in d.message for d in found), [d.message for d in found]
    assert not any("undecidable" in d.message for d in found)


# --- an unknown a verdict depends on is reported, at the policy's level -----------------------------

def _unknown_at(*path: Any) -> Mutation:
    return lambda p: _set_unknown(p, path)


def _gateway_unknown(*path: Any) -> Mutation:
    return lambda p: _set_unknown(gateway(p), path)


# (case, kind, name, mutation making a judged field unknown, policy, path the message names)
DEPENDS: list[tuple[str, str, str | None, Mutation, str, str]] = [
    ("default deny selector", "NetworkPolicy", "openclaw-default-deny", _unknown_at("spec", "podSelector"),
     "namespace-default-deny", "spec.podSelector"),
    ("default deny policy types", "NetworkPolicy", "openclaw-default-deny",
     _unknown_at("spec", "policyTypes", 1), "namespace-default-deny", "spec.policyTypes[1]"),
    ("egress CIDR", "NetworkPolicy", "openclaw-allow-public-https",
     _unknown_at("spec", "egress", 0, "to", 0, "ipBlock", "cidr"), "egress-restricted",
     "spec.egress[0].to[0].ipBlock.cidr"),
    ("egress port", "NetworkPolicy", "openclaw-allow-public-https",
     _unknown_at("spec", "egress", 0, "ports", 0, "port"), "egress-restricted", "spec.egress[0].ports[0].port"),
    ("egress namespace", "NetworkPolicy", "openclaw-allow-postgres",
     _unknown_at("spec", "egress", 0, "to", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"),
     "egress-restricted", "spec.egress[0].to[0].namespaceSelector.matchLabels.kubernetes.io/metadata.name"),
    ("ingress port", "NetworkPolicy", "openclaw-allow-gateway-ingress",
     _unknown_at("spec", "ingress", 0, "ports", 0, "port"), "ingress-restricted", "spec.ingress[0].ports[0].port"),
    ("role verb", "ClusterRole", "openclaw-readonly", _unknown_at("rules", 0, "verbs", 0), "rbac-read-only",
     "rules[0].verbs[0]"),
    ("role rules", "ClusterRole", "openclaw-readonly", _unknown_at("rules"), "rbac-read-only", "rules"),
    ("env var name with a literal", "Deployment", "openclaw",
     lambda p: gateway(p)["env"].append({"name": UNKNOWN, "value": "fake-not-a-secret-0000"}),
     "no-literal-secret-env", "].name"),
    ("ConfigMap value", "ConfigMap", None, lambda p: p["data"].__setitem__("notes.txt", UNKNOWN),
     "no-secret-in-configmap", "data.notes.txt"),
    ("openclaw.json", "ConfigMap", "$config", _unknown_at("data", "openclaw.json"), "openclaw-json-placeholders",
     "data.openclaw.json"),
    ("read-only root", "Deployment", "openclaw", _gateway_unknown("securityContext", "readOnlyRootFilesystem"),
     "pod-security-context", "securityContext.readOnlyRootFilesystem"),
    ("capabilities", "Deployment", "openclaw", _gateway_unknown("securityContext", "capabilities", "drop", 0),
     "pod-security-context", "capabilities.drop[0]"),
    ("host network", "Deployment", "openclaw", _unknown_at("spec", "template", "spec", "hostNetwork"),
     "no-host-access", "spec.template.spec.hostNetwork"),
    ("memory limit", "Deployment", "openclaw", _gateway_unknown("resources", "limits", "memory"), "memory-limits",
     "resources.limits.memory"),
    ("image for tag", "Deployment", "openclaw", _gateway_unknown("image"), "image-tag-pinned", "containers[0].image"),
    ("image for registry", "Deployment", "openclaw", _gateway_unknown("image"), "image-registry-allowed",
     "containers[0].image"),
    ("image for digest", "Deployment", "openclaw", _gateway_unknown("image"), "image-digest-pinned",
     "containers[0].image"),
    ("storage class", "PersistentVolumeClaim", "openclaw-data", _unknown_at("spec", "storageClassName"),
     "pvc-storage-class", "spec.storageClassName"),
    ("image for release", "Deployment", "openclaw", _gateway_unknown("image"), "release-known", "containers[0].image"),
    ("image for an untested release", "Deployment", "openclaw", _gateway_unknown("image"), "release-untested",
     "containers[0].image"),
    ("probe command", "Deployment", "openclaw", _gateway_unknown("startupProbe", "exec", "command", 2),
     "release-probes", "startupProbe.exec.command[2]"),
    ("memory limit for the release", "Deployment", "openclaw", _gateway_unknown("resources", "limits", "memory"),
     "release-memory", "resources.limits.memory"),
    ("startup probe budget", "Deployment", "openclaw", _gateway_unknown("startupProbe", "failureThreshold"),
     "release-startup-budget", "startupProbe.failureThreshold"),
    ("cpu request for the budget", "Deployment", "openclaw", _gateway_unknown("resources", "requests", "cpu"),
     "release-startup-budget", "resources.requests.cpu"),
    ("synced keys", "VaultStaticSecret", "openclaw-token-secrets",
     _unknown_at("spec", "destination", "transformation", "includes"), "secrets-wired",
     "spec.destination.transformation.includes"),
    ("secret ref", "Deployment", "openclaw",
     lambda p: _set_unknown(next(e for e in gateway(p)["env"] if e["name"] == "DEEPSEEK_API_KEY"),
                            ("valueFrom", "secretKeyRef", "key")),
     "secrets-wired", "valueFrom.secretKeyRef.key"),
    ("database egress selector", "NetworkPolicy", "openclaw-allow-postgres", _unknown_at("spec", "podSelector"),
     "egress-covers-dependencies", "spec.podSelector"),
    # The policy reads the dependency list (components/dependencies.py), not DATABASE_URL.
    ("dependency list", "ConfigMap", "$dependencies", _unknown_at("data", "dependencies.json"),
     "egress-covers-dependencies", "data.dependencies.json"),
]


@pytest.mark.parametrize(("case", "kind", "name", "change", "policy", "path"), DEPENDS, ids=[d[0] for d in DEPENDS])
def test_an_unknown_the_verdict_depends_on_is_reported_at_the_policy_level(
        analyzer: PolicyAnalyzer, dev: RunResult, case: str, kind: str, name: str | None, change: Mutation,
        policy: str, path: str) -> None:
    diagnostics = run_shape(analyzer, _bad_records(dev, kind, name, change, {}), "preview")
    found = [d for d in diagnostics if d.policy == policy and d.message.startswith("undecidable at preview: ")]
    assert any(f"{path} is unknown" in d.message for d in found), [d.message for d in diagnostics]
    assert {d.level for d in found} == {analyzer.levels[policy]}
    # Nothing else about this field is claimed: the unknown is not read as a violation or a pass.
    assert not [d for d in mandatory(diagnostics) if not d.message.startswith("undecidable")], diagnostics


def test_every_policy_reports_its_unknowns(analyzer: PolicyAnalyzer) -> None:
    # pvc-protected reads only the `protect` option, which is never unknown; backup-scheduled's and
    # backup-drill-scheduled's unknowns are tested on prod, where the backup exists (tests/test_backup_policy.py).
    assert {d[4] for d in DEPENDS} | {"pvc-protected", "backup-scheduled", "backup-drill-scheduled"} == set(
        analyzer.policies)


def test_undecidable_follows_the_configured_level(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = _bad_records(dev, "PersistentVolumeClaim", "openclaw-data", _unknown_at("spec", "storageClassName"), {})
    for level in ("mandatory", "advisory"):
        found = [d for d in run_shape(analyzer, records, "preview", {"pvc-storage-class": level})
                 if d.policy == "pvc-storage-class"]
        assert [d.level for d in found] == [level]
    assert not [d for d in run_shape(analyzer, records, "preview", {"pvc-storage-class": "disabled"})
                if d.policy == "pvc-storage-class"]


# --- unknowns the verdict does not depend on: decided, not reported ----------------------------------

DECIDED: list[tuple[str, str, str | None, Mutation]] = [
    ("an extra unknown except entry", "NetworkPolicy", "openclaw-allow-public-https",
     lambda p: p["spec"]["egress"][0]["to"][0]["ipBlock"]["except"].append(UNKNOWN)),
    ("a non-secret env var with an unknown value", "Deployment", "openclaw",
     lambda p: gateway(p)["env"].append({"name": "LOG_LEVEL", "value": UNKNOWN})),
    ("an unknown label on the pod template", "Deployment", "openclaw",
     lambda p: p["spec"]["template"]["metadata"]["labels"].__setitem__("revision", UNKNOWN)),
    ("unknown volume sources other than the config", "Deployment", "openclaw",
     lambda p: pod(p)["volumes"].append({"name": "scratch", "emptyDir": UNKNOWN})),
    ("an unknown policy type next to Egress", "NetworkPolicy", "openclaw-allow-postgres",
     lambda p: p["spec"]["policyTypes"].append(UNKNOWN)),
]


@pytest.mark.parametrize(("case", "kind", "name", "change"), DECIDED, ids=[d[0] for d in DECIDED])
def test_an_unknown_the_verdict_does_not_depend_on_is_decided(analyzer: PolicyAnalyzer, dev: RunResult, case: str,
                                                              kind: str, name: str | None, change: Mutation) -> None:
    diagnostics = run_shape(analyzer, _bad_records(dev, kind, name, change, {}), "preview")
    assert mandatory(diagnostics) == [] and {d.policy for d in diagnostics} == CLEAN_ADVISORIES["dev"]


def test_secret_values_unknown_but_keys_known_still_decide_the_wiring(analyzer: PolicyAnalyzer) -> None:
    run = run_direct()
    records = []
    for r in run.resources:
        if r.properties.get("kind") == "Secret":
            props = json.loads(json.dumps(r.properties))
            props["stringData"] = {k: UNKNOWN for k in props["stringData"]}
            r = dataclasses.replace(r, properties=props)
        records.append(r)
    assert mandatory(run_shape(analyzer, records, "preview")) == []
    without_key = []
    for r in records:
        if r.properties.get("kind") == "Secret" and "DEEPSEEK_API_KEY" in r.properties["stringData"]:
            props = json.loads(json.dumps(r.properties))
            del props["stringData"]["DEEPSEEK_API_KEY"]
            r = dataclasses.replace(r, properties=props)
        without_key.append(r)
    found = mandatory(run_shape(analyzer, without_key, "preview"))
    assert [d.policy for d in found] == ["secrets-wired"] and "reads key 'DEEPSEEK_API_KEY'" in found[0].message


# --- bounds ------------------------------------------------------------------------------------------

def _heap(mib: int) -> Mutation:
    return lambda p: next(e for e in gateway(p)["env"] if e["name"] == "NODE_OPTIONS").__setitem__(
        "value", f"--max-old-space-size={mib}")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("mib", "share", "caught"), [
    (1344, None, False), (1345, None, True),   # dev's limit 1792 MiB (2026.9.6's); the default share 0.25 leaves 1344
    (1433, 0.2, False), (1434, 0.2, True),     # the share is policy config: 0.2 of 1792 leaves 1433.6 MiB
])
def test_heap_bound(analyzer: PolicyAnalyzer, dev: RunResult, shape: str, mib: int, share: float | None,
                    caught: bool) -> None:
    config = {} if share is None else {"memory-limits": {"enforcementLevel": "mandatory", "minNonHeapShare": share}}
    found = mandatory(run_shape(analyzer, mutate(dev, "Deployment", "openclaw", _heap(mib)), shape, config))
    assert [d.policy for d in found] == (["memory-limits"] if caught else [])


def image_findings(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The image policies' findings (dev also draws backup-scheduled's advice, unrelated here)."""
    return [d for d in diagnostics if d.policy.startswith("image-")]


def _digest(digits: str) -> Mutation:
    return lambda p: [c.__setitem__("image", f"ghcr.io/openclaw/openclaw:2026.2.23@sha256:{digits}")
                      for c in pod(p)["containers"] + pod(p)["initContainers"]]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("digits", ["0" * 64, "f" * 64, "deadbeef" * 8, "0123456789abcdef" * 4])
def test_placeholder_digest_is_refused(analyzer: PolicyAnalyzer, dev: RunResult, shape: str, digits: str) -> None:
    found = image_findings(run_shape(analyzer, mutate(dev, "Deployment", "openclaw", _digest(digits)), shape))
    assert {(d.policy, d.level) for d in found} == {("image-tag-pinned", "mandatory"),
                                                     ("image-digest-pinned", "advisory")}
    containers = len(pod(dev.find("Deployment", "openclaw").properties)["initContainers"]) + 1
    assert all("placeholder digest" in d.message for d in found) and len(found) == 2 * containers  # 2 policies


@pytest.mark.parametrize("digits", ["0" * 63 + "1", "deadbeef" * 7 + "deadbeee",
                                    "b6f5a3c9e0d1427f8a93c2e1d4b5f60718293a4b5c6d7e8f90a1b2c3d4e5f607"])
def test_digest_just_outside_the_placeholder_rule_passes(analyzer: PolicyAnalyzer, dev: RunResult,
                                                         digits: str) -> None:
    assert image_findings(run_shape(analyzer, mutate(dev, "Deployment", "openclaw", _digest(digits)), "preview")) == []


# --- a policy the SDK switches off is a failure, and render shows both shapes -------------------------

NAIVE_PACK = '''
from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy


def _walk(value):
    if hasattr(value, "items"):
        return {k: _walk(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (hasattr(value, "__getitem__") and hasattr(value, "__len__")
                                            and not isinstance(value, str)):
        return [_walk(v) for v in value]
    return value


def _copy_everything(args, report):
    for r in args.resources:
        _walk(r.props)  # the old plain() copy: touches every field


PolicyPack(name="naive", policies=[StackValidationPolicy(
    name="copies-everything", description="Copies every object.", enforcement_level=EnforcementLevel.MANDATORY,
    validate=_copy_everything)])
'''


def _naive_pack(tmp_path: Path) -> Path:
    folder = tmp_path / "naive"
    folder.mkdir()
    (folder / "__main__.py").write_text(NAIVE_PACK, encoding="utf-8")
    return folder


def test_preview_shape_switches_off_a_policy_that_walks_whole_objects(tmp_path: Path, dev: RunResult) -> None:
    # The fault of issue 13, reproduced: the SDK downgrades such a policy at preview only.
    with PolicyAnalyzer(_naive_pack(tmp_path)) as naive:
        results = naive.analyze_shapes(dev.resources)
        assert skipped(results["up"]) == [] and blocking(results["up"], naive.levels) == []
        assert [d.policy for d in skipped(results["preview"])] == ["copies-everything"]
        assert "can't be known during preview" in skipped(results["preview"])[0].message
        assert blocking(results["preview"], naive.levels) == skipped(results["preview"])


def test_render_prints_both_verdicts_and_fails_when_only_the_preview_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pack = _naive_pack(tmp_path)
    original: Callable[..., PolicyAnalyzer] = render.PolicyAnalyzer
    monkeypatch.setattr(render, "PolicyAnalyzer", lambda: original(pack))
    monkeypatch.setattr(render, "load_policy_config", lambda stack: {})
    code = render.main(["--stack", "dev", "--out", str(tmp_path / "out")])
    assert code == 1
    report = (tmp_path / "out" / "policy.txt").read_text(encoding="utf-8")
    preview, up = report.split("\n\n== up")
    assert preview.startswith("== preview") and "SKIPPED   copies-everything" in preview
    assert preview.rstrip().endswith("1 policy run(s) skipped on unknown values")
    assert preview.rstrip().splitlines()[-1].startswith("FAIL") and up.rstrip().splitlines()[-1].startswith("PASS")
    assert report in capsys.readouterr().out


def test_render_of_the_clean_stack_passes_both_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = render.main(["--stack", "dev", "--out", str(tmp_path / "out")])
    report = (tmp_path / "out" / "policy.txt").read_text(encoding="utf-8")
    assert code == 0
    assert [line.split(":")[0] for line in report.splitlines() if line.startswith(("PASS", "FAIL"))] == ["PASS"] * 2
    assert "== preview" in report and "== up" in report and "SKIPPED" not in report


# --- each item of the forbidden lists on its own, in preview shape ------------------------------------

PUBLIC_EXCEPTS = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                  "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
                  "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"]


def _public_except(change: Callable[[list[Any]], None]) -> Mutation:
    return lambda p: change(p["spec"]["egress"][0]["to"][0]["ipBlock"]["except"])


def test_the_public_rule_excepts_exactly_this_list(dev: RunResult) -> None:
    # So the next test removes every entry the stack has, each on its own.
    rule = next(r for r in dev.kubernetes() if r.properties["kind"] == "NetworkPolicy"
                and object_name(r) == "openclaw-allow-public-https")
    assert sorted(rule.properties["spec"]["egress"][0]["to"][0]["ipBlock"]["except"]) == sorted(PUBLIC_EXCEPTS)


@pytest.mark.parametrize("block", PUBLIC_EXCEPTS)
def test_each_missing_except_is_caught_and_an_unknown_entry_leaves_it_undecidable(
        analyzer: PolicyAnalyzer, dev: RunResult, block: str) -> None:
    missing = mandatory(run_shape(analyzer, mutate(dev, "NetworkPolicy", "openclaw-allow-public-https",
                                                   _public_except(lambda e: e.remove(block))), "preview"))
    assert [d.policy for d in missing] == ["egress-restricted"]
    assert "does not except" in missing[0].message and block.split("/")[0] in missing[0].message
    # The same gap with an unknown entry in the list: only that entry could close it.
    unknown = mandatory(run_shape(analyzer, mutate(dev, "NetworkPolicy", "openclaw-allow-public-https",
                                                   _public_except(lambda e: (e.remove(block), e.append(UNKNOWN)))),
                                  "preview"))
    assert [d.policy for d in unknown] == ["egress-restricted"]
    assert unknown[0].message.startswith("undecidable at preview: ") and "except[13] is unknown" in unknown[0].message


@pytest.mark.parametrize("resource", ["secrets", "pods/exec", "pods/attach", "pods/portforward",
                                      "serviceaccounts/token", "*"])
def test_each_forbidden_resource_is_caught(analyzer: PolicyAnalyzer, dev: RunResult, resource: str) -> None:
    found = mandatory(run_shape(analyzer, mutate(dev, "ClusterRole", "openclaw-readonly",
                                                 lambda p: p["rules"][0]["resources"].append(resource)), "preview"))
    assert {d.policy for d in found} == {"rbac-read-only"} and any(repr([resource]) in d.message for d in found)


@pytest.mark.parametrize("verb", ["create", "update", "patch", "delete", "deletecollection", "impersonate", "bind",
                                  "escalate"])
def test_each_write_verb_is_caught(analyzer: PolicyAnalyzer, dev: RunResult, verb: str) -> None:
    found = mandatory(run_shape(analyzer, mutate(dev, "ClusterRole", "openclaw-readonly",
                                                 lambda p: p["rules"][1]["verbs"].append(verb)), "preview"))
    assert [d.policy for d in found] == ["rbac-read-only"] and f"verbs [{verb!r}] are not read-only" in found[0].message
