"""Unknowns in preview shape (engine/marshal.py): one a verdict depends on is reported as undecidable at
the policy's own level; one it does not depend on is decided, not reported."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer, mandatory
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.test_policy import Mutation, gateway, pod
from tests.test_policy_preview import CLEAN_ADVISORIES, bad_records, run_shape, set_unknown
from tests.vault_fixtures import run_direct

# --- an unknown a verdict depends on is reported, at the policy's level -----------------------------

def _unknown_at(*path: Any) -> Mutation:
    return lambda p: set_unknown(p, path)


def _gateway_unknown(*path: Any) -> Mutation:
    return lambda p: set_unknown(gateway(p), path)


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
     lambda p: set_unknown(next(e for e in gateway(p)["env"] if e["name"] == "DEEPSEEK_API_KEY"),
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
    diagnostics = run_shape(analyzer, bad_records(dev, kind, name, change, {}), "preview")
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
    records = bad_records(dev, "PersistentVolumeClaim", "openclaw-data", _unknown_at("spec", "storageClassName"), {})
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
    diagnostics = run_shape(analyzer, bad_records(dev, kind, name, change, {}), "preview")
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
