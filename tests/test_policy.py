"""The policy pack through its real analyzer: the stacks pass, and every policy catches its fault."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.analyzer import Diagnostic, PolicyAnalyzer, PolicyConfigError, load_policy_config, mandatory
from engine.harness import RunResult, object_name
from engine.records import ResourceRecord
from tools import render

Mutation = Callable[[dict[str, Any]], None]


def mutate(run: RunResult, kind: str, name: str | None, change: Mutation,
           **options: Any) -> list[ResourceRecord]:
    """The run's records with one object's properties (and options) changed."""
    records = []
    hit = False
    for record in run.resources:
        if record.properties.get("kind") == kind and (name is None or object_name(record) == name) and not hit:
            hit = True
            props = copy.deepcopy(record.properties)
            change(props)
            record = dataclasses.replace(record, properties=props,
                                         options=dataclasses.replace(record.options, **options))
        records.append(record)
    assert hit, f"no {kind} {name}"
    return records


def drop(run: RunResult, kind: str, name: str) -> list[ResourceRecord]:
    return [r for r in run.resources if not (r.properties.get("kind") == kind and object_name(r) == name)]


def pod(props: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = props["spec"]["template"]["spec"]
    return spec


def gateway(props: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = pod(props)["containers"][0]
    return container


def openclaw_json(change: Callable[[dict[str, Any]], None]) -> Mutation:
    def apply(props: dict[str, Any]) -> None:
        doc = json.loads(props["data"]["openclaw.json"])
        change(doc)
        props["data"]["openclaw.json"] = json.dumps(doc)
    return apply


def has_openclaw_json(run: RunResult) -> str:
    return next(object_name(r) for r in run.kubernetes() if "openclaw.json" in r.properties.get("data", {}))


def dependency_list(change: Callable[[dict[str, Any]], None]) -> Mutation:
    """Change the dependency list (components/dependencies.py) the preflight and the policy read."""
    def apply(props: dict[str, Any]) -> None:
        doc = json.loads(props["data"]["dependencies.json"])
        change(doc)
        props["data"]["dependencies.json"] = json.dumps(doc)
    return apply


def has_dependency_list(run: RunResult) -> str:
    return next(object_name(r) for r in run.kubernetes() if "dependencies.json" in r.properties.get("data", {}))


def analyze(analyzer: PolicyAnalyzer, records: list[ResourceRecord], config: dict[str, Any] | None = None
            ) -> list[Diagnostic]:
    return analyzer.analyze(records, load_policy_config("dev") | (config or {}))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stacks_draw_no_mandatory_violation(analyzer: PolicyAnalyzer, stack: str, dev: RunResult,
                                            prod: RunResult) -> None:
    run = dev if stack == "dev" else prod
    diagnostics = analyzer.analyze(run.resources, load_policy_config(stack))
    assert mandatory(diagnostics) == []
    advisory = {d.policy for d in diagnostics}
    # Neither stack pins a digest yet (Pulumi.prod.yaml says how); dev keeps backups off, so
    # backup-scheduled advises there (tests/test_backup_policy.py has both ways).
    assert advisory == ({"image-digest-pinned", "backup-scheduled"} if stack == "dev" else {"image-digest-pinned"})


def test_pack_metadata(analyzer: PolicyAnalyzer) -> None:
    assert analyzer.name == "openclaw-guardrails"
    assert len(analyzer.policies) == 24
    for policy in analyzer.policies.values():
        assert policy.description and policy.level in ("mandatory", "advisory")
    for name in ("namespace-default-deny", "egress-restricted", "ingress-restricted", "rbac-read-only",
                 "no-literal-secret-env", "no-secret-in-configmap", "openclaw-json-placeholders"):
        assert analyzer.policies[name].level == "mandatory", name


def _set_egress_ports(ports: list[int]) -> Mutation:
    def apply(p: dict[str, Any]) -> None:
        p["spec"]["egress"][0]["ports"] = [{"port": x, "protocol": "TCP"} for x in ports]
    return apply


FAKE_DEEPSEEK = "sk-" + "0" * 32  # shaped like a key, obviously not one
FAKE_TELEGRAM = "123456789:" + "A" * 35

# (case id, kind, object name or None for the first, mutation, options, policy, words in the message)
BAD: list[tuple[str, str, str | None, Mutation, dict[str, Any], str, str]] = [
    ("default deny selects only the app", "NetworkPolicy", "openclaw-default-deny",
     lambda p: p["spec"].__setitem__("podSelector", {"matchLabels": {"app": "openclaw"}}), {},
     "namespace-default-deny", "namespace 'openclaw' runs workloads but has no default-deny"),
    ("public egress forgets link-local", "NetworkPolicy", "openclaw-allow-public-https",
     lambda p: p["spec"]["egress"][0]["to"][0]["ipBlock"]["except"].remove("169.254.0.0/16"), {},
     "egress-restricted",
     "egress rule 0 peer 0: ipBlock 0.0.0.0/0 reaches the public internet but does not except 169.254.0.0/16"),
    ("egress without ports", "NetworkPolicy", "openclaw-allow-public-https",
     lambda p: p["spec"]["egress"][0].pop("ports"), {}, "egress-restricted", "no `ports`"),
    ("egress to an unlisted namespace", "NetworkPolicy", "openclaw-allow-postgres",
     lambda p: p["spec"]["egress"][0]["to"].append({"namespaceSelector": {"matchLabels": {
         "kubernetes.io/metadata.name": "monitoring"}}}), {},
     "egress-restricted", "egress to namespace 'monitoring' is not allow-listed"),
    ("egress to a private range", "NetworkPolicy", "openclaw-allow-kube-api",
     lambda p: p["spec"]["egress"][0]["to"][0]["ipBlock"].__setitem__("cidr", "10.0.0.0/8"), {},
     "egress-restricted", "ipBlock 10.0.0.0/8 is a non-public destination that is not allow-listed"),
    ("egress port not allowed", "NetworkPolicy", "openclaw-allow-public-https", _set_egress_ports([443, 22]), {},
     "egress-restricted", "ports [22] are not in allowedPorts"),
    ("ingress on another port", "NetworkPolicy", "openclaw-allow-gateway-ingress",
     lambda p: p["spec"]["ingress"][0]["ports"][0].__setitem__("port", 22), {},
     "ingress-restricted", "ingress rule 0: ports [22] are not in allowedPorts [18789]"),
    ("ingress without ports", "NetworkPolicy", "openclaw-allow-gateway-ingress",
     lambda p: p["spec"]["ingress"][0].pop("ports"), {}, "ingress-restricted", "no `ports`"),
    ("role reads secrets", "ClusterRole", "openclaw-readonly",
     lambda p: p["rules"][0]["resources"].append("secrets"), {}, "rbac-read-only", "grants ['secrets']"),
    ("role can exec", "ClusterRole", "openclaw-readonly",
     lambda p: p["rules"].append({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}), {},
     "rbac-read-only", "verbs ['create'] are not read-only"),
    ("role wildcard", "ClusterRole", "openclaw-readonly",
     lambda p: p["rules"][1].__setitem__("verbs", ["*"]), {}, "rbac-read-only", "wildcard '*' in verbs"),
    ("role impersonates", "ClusterRole", "openclaw-readonly",
     lambda p: p["rules"][0]["verbs"].append("impersonate"), {}, "rbac-read-only", "['impersonate']"),
    ("literal token env", "Deployment", "openclaw",
     lambda p: gateway(p)["env"].append({"name": "OPENCLAW_GATEWAY_TOKEN2", "value": "fake-not-a-secret-0000"}),
     {}, "no-literal-secret-env", "container 'gateway': env OPENCLAW_GATEWAY_TOKEN2 has a literal value"),
    ("api key in a ConfigMap", "ConfigMap", None,
     lambda p: p["data"].__setitem__("notes.txt", f"key={FAKE_DEEPSEEK}"), {},
     "no-secret-in-configmap", "key 'notes.txt' contains what looks like a OpenAI/DeepSeek-style API key"),
    ("bot token in a ConfigMap", "ConfigMap", None,
     lambda p: p["data"].__setitem__("bot.txt", FAKE_TELEGRAM), {},
     "no-secret-in-configmap", "Telegram bot token"),
    ("inline apiKey in openclaw.json", "ConfigMap", "$config",
     openclaw_json(lambda d: d["models"]["providers"]["deepseek"].__setitem__("apiKey", "inline-value")), {},
     "openclaw-json-placeholders", "models.providers.deepseek.apiKey must be a ${VAR} placeholder or a SecretRef"),
    ("root filesystem writable", "Deployment", "openclaw",
     lambda p: gateway(p)["securityContext"].__setitem__("readOnlyRootFilesystem", False), {},
     "pod-security-context", "container 'gateway': securityContext must set readOnlyRootFilesystem: true"),
    ("no seccomp", "Deployment", "openclaw",
     lambda p: (pod(p)["securityContext"].pop("seccompProfile"),
                [c["securityContext"].pop("seccompProfile") for c in pod(p)["initContainers"]]), {},
     "pod-security-context", "init container 'seed': securityContext must set seccompProfile.type: RuntimeDefault"),
    ("host network", "Deployment", "openclaw", lambda p: pod(p).__setitem__("hostNetwork", True), {},
     "no-host-access", "uses hostNetwork"),
    ("hostPath volume", "Deployment", "openclaw",
     lambda p: pod(p)["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), {},
     "no-host-access", "hostPath volume 'host'"),
    ("no memory limit", "Deployment", "openclaw", lambda p: gateway(p)["resources"].pop("limits"), {},
     "memory-limits", "container 'gateway': no memory limit"),
    ("heap above the limit", "Deployment", "openclaw",
     lambda p: next(e for e in gateway(p)["env"] if e["name"] == "NODE_OPTIONS").__setitem__(
         "value", "--max-old-space-size=1537"), {},
     "memory-limits", "--max-old-space-size=1537 MiB leaves less than 25% of the memory limit"),
    ("latest tag", "Deployment", "openclaw",
     lambda p: gateway(p).__setitem__("image", "ghcr.io/openclaw/openclaw:latest"), {},
     "image-tag-pinned", "container 'gateway': image 'ghcr.io/openclaw/openclaw:latest' is :latest"),
    ("untagged", "Deployment", "openclaw", lambda p: gateway(p).__setitem__("image", "ghcr.io/openclaw/openclaw"),
     {}, "image-tag-pinned", "is untagged"),
    ("other registry", "Deployment", "openclaw",
     lambda p: gateway(p).__setitem__("image", "docker.io/someone/openclaw:2026.2.23"), {},
     "image-registry-allowed", "not from an allowed registry"),
    ("unknown release", "Deployment", "openclaw",
     lambda p: gateway(p).__setitem__("image", "ghcr.io/openclaw/openclaw:2026.9.9"), {},
     "release-known", "container 'gateway': openclaw 2026.9.9 is not a release the program supports"),
    ("startup probe on a release without /startupz", "Deployment", "openclaw",
     lambda p: gateway(p).__setitem__("image", "ghcr.io/openclaw/openclaw:2026.6.35"), {},
     "release-probes", "startupProbe requests /startupz, which openclaw 2026.6.35 does not have"),
    ("memory below the release's start peak", "Deployment", "openclaw",
     lambda p: gateway(p)["resources"].update(limits={"memory": "1400Mi"}, requests={"cpu": "50m", "memory": "1400Mi"}),
     {}, "release-memory", "memory limit 1400Mi (1400 MiB) is too small for openclaw 2026.9.6"),
    ("startup budget below the release's start", "Deployment", "openclaw",
     lambda p: gateway(p)["startupProbe"].__setitem__("failureThreshold", 10), {},
     "release-startup-budget", "the startup probe waits 100 s, but openclaw 2026.9.6 needs"),
    ("storage class", "PersistentVolumeClaim", "openclaw-data",
     lambda p: p["spec"].__setitem__("storageClassName", "local-path"), {},
     "pvc-storage-class", "storageClassName 'local-path' is not one of ['local-path-retain']"),
    ("unprotected PVC", "PersistentVolumeClaim", "openclaw-data", lambda p: None, {"protect": False},
     "pvc-protected", "not protected: set the `protect` resource option"),
    ("secret not wired", "Deployment", "openclaw",
     lambda p: gateway(p).__setitem__("env", [e for e in gateway(p)["env"] if e["name"] != "DEEPSEEK_API_KEY"]),
     {}, "secrets-wired", "references DEEPSEEK_API_KEY (a ${DEEPSEEK_API_KEY} placeholder or an env SecretRef) "
     "but the container gets no DEEPSEEK_API_KEY"),
    ("secret key not synced", "VaultStaticSecret", "openclaw-token-secrets",
     lambda p: p["spec"]["destination"]["transformation"]["includes"].pop(0), {},
     "secrets-wired", "reads key 'DEEPSEEK_API_KEY' of Secret 'openclaw-token-secrets'"),
    ("database egress selects other pods", "NetworkPolicy", "openclaw-allow-postgres",
     lambda p: p["spec"].__setitem__("podSelector", {"matchLabels": {"app": "other"}}), {},
     "egress-covers-dependencies", "DATABASE_URL (infra-db-rw.infra-db.svc:5432) is blocked"),
    ("provider on another port", "ConfigMap", "$dependencies",
     dependency_list(lambda d: next(e for e in d["dependencies"] if e["kind"] == "model").update(
         name="model provider 'deepseek' (https://api.deepseek.com:8443/v1)", port=8443)), {},
     "egress-covers-dependencies", "model provider 'deepseek' (https://api.deepseek.com:8443/v1) is blocked"),
]


@pytest.mark.parametrize(("case", "kind", "name", "change", "options", "policy", "words"), BAD,
                         ids=[b[0] for b in BAD])
def test_each_fault_draws_exactly_its_violation(analyzer: PolicyAnalyzer, dev: RunResult, case: str, kind: str,
                                                name: str | None, change: Mutation, options: dict[str, Any],
                                                policy: str, words: str) -> None:
    if name == "$config":
        name = has_openclaw_json(dev)
    elif name == "$dependencies":
        name = has_dependency_list(dev)
    diagnostics = mandatory(analyze(analyzer, mutate(dev, kind, name, change, **options)))
    assert [d.policy for d in diagnostics] == [policy] * len(diagnostics) and diagnostics, diagnostics
    assert any(words in d.message for d in diagnostics), [d.message for d in diagnostics]


def test_every_policy_has_a_bad_variant(analyzer: PolicyAnalyzer) -> None:
    # advisory, drawn by the dev stack itself; backup-scheduled and backup-drill-scheduled: tests/test_backup_policy.py
    # release-untested (advisory): tests/test_release_policies.py
    covered = {b[5] for b in BAD} | {"image-digest-pinned", "backup-scheduled", "backup-drill-scheduled",
                                    "release-untested"}
    assert covered == set(analyzer.policies)


def test_missing_default_deny(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    diagnostics = mandatory(analyze(analyzer, drop(dev, "NetworkPolicy", "openclaw-default-deny")))
    assert [d.policy for d in diagnostics] == ["namespace-default-deny"]


def test_enforcement_moves_with_config(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dev, "PersistentVolumeClaim", "openclaw-data", lambda p: None, protect=False)
    levels = {}
    for level in ("mandatory", "advisory", "disabled"):
        found = [d for d in analyze(analyzer, records, {"pvc-protected": level}) if d.policy == "pvc-protected"]
        levels[level] = [d.level for d in found]
    assert levels == {"mandatory": ["mandatory"], "advisory": ["advisory"], "disabled": []}


def test_config_properties_change_the_verdict(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dev, "PersistentVolumeClaim", "openclaw-data",
                     lambda p: p["spec"].__setitem__("storageClassName", "fast"))
    assert mandatory(analyze(analyzer, records))
    allowed = {"pvc-storage-class": {"enforcementLevel": "mandatory", "allowedStorageClasses": ["fast"]}}
    assert not mandatory(analyze(analyzer, records, allowed))


@pytest.mark.parametrize(("config", "message"), [
    ({"pvc-storage-class": {"allowedStorageClasses": "local-path-retain"}},
     "pvc-storage-class.allowedStorageClasses: 'local-path-retain' is not of type 'array'"),
    ({"egress-restricted": {"allowedPortz": [443]}}, "egress-restricted.(top level): Additional properties"),
    ({"pvc-protected": "strict"}, "pvc-protected.enforcementLevel: 'strict' is not one of"),
    ({"no-such-policy": "advisory"}, "unknown policies ['no-such-policy']"),
])
def test_invalid_policy_config_is_rejected(analyzer: PolicyAnalyzer, dev: RunResult, config: dict[str, Any],
                                           message: str) -> None:
    with pytest.raises(PolicyConfigError) as info:
        analyzer.analyze(dev.resources, config)
    assert message in str(info.value)


def test_render_fails_on_a_mandatory_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A heap at the memory limit is a valid config shape the program refuses, so go through the
    # policy config instead: allow no storage class at all.
    bad = tmp_path / "policy"
    bad.mkdir()
    (bad / "config.dev.json").write_text(json.dumps(
        {"pvc-storage-class": {"allowedStorageClasses": ["none"]}}), encoding="utf-8")
    original = render.load_policy_config
    try:
        render.load_policy_config = lambda stack: original(stack, bad)  # type: ignore[assignment]
        code = render.main(["--stack", "dev", "--out", str(tmp_path / "out")])
    finally:
        render.load_policy_config = original  # type: ignore[assignment]
    assert code == 1
    report = (tmp_path / "out" / "policy.txt").read_text(encoding="utf-8")
    assert "MANDATORY pvc-storage-class" in report and report.rstrip().splitlines()[-1].startswith("FAIL")
    assert "FAIL: 24 policies, 1 mandatory" in capsys.readouterr().out


def test_pack_and_program_agree_on_non_public_space(analyzer: PolicyAnalyzer) -> None:
    # The pack runs in its own virtualenv and cannot import the program: its default list is a copy.
    from components.netblocks import NON_PUBLIC_IPV4, NON_PUBLIC_IPV6
    schema = analyzer.policies["egress-restricted"].schema
    assert schema["nonPublicCidrs"]["default"] == list(NON_PUBLIC_IPV4)
    assert schema["nonPublicCidrsV6"]["default"] == list(NON_PUBLIC_IPV6)
