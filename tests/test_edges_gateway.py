"""Edges of the gateway workload (components/gateway.py), read from the rendered dev stack: the
Deployment (one pod, Recreate, its waits), the pod's security context and identity, the seed init
container and the gateway container whole (every env entry in order, each mount, the probes' timing
and the startup budget from both sides), every volume (each agent's seed files mapped one by one),
the Service, each content-addressed ConfigMap (name from its content, labels, immutable, owner), the
outputs the component registers, and an untested tag's annotation and warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

import agents
from components.awaits import PROVIDER_SLACK_SECONDS, TIMEOUT_ANNOTATION
from components.checkov_skips import GATEWAY, checkov_skips
from components.config import parse_config
from components.gateway import content_name
from components.probes import select_probes
from engine.harness import RunResult, run_stack, stack_config
from engine.records import ResourceRecord
from tests.support.ascii_locale import ascii_locale
from tests.support.component_outputs import recording_outputs

STATE = "/home/node/.openclaw"
RESTRICTED = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
              "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _labels(component: str) -> dict[str, str]:
    return {"app": "openclaw", "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}


def _secret(key: str, secret: str) -> dict[str, Any]:
    return {"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


SECRETS = [_secret("OPENCLAW_GATEWAY_TOKEN", "openclaw-secrets"), _secret("OPENCLAW_DB_PASSWORD", "openclaw-secrets"),
           _secret("DEEPSEEK_API_KEY", "openclaw-token-secrets"),
           _secret("TELEGRAM_BOT_TOKEN", "openclaw-token-secrets")]


@pytest.fixture(scope="module")
def rendered() -> tuple[RunResult, dict[str, dict[str, Any]]]:
    with recording_outputs() as outputs:
        run = run_stack("dev")
    return run, outputs


@pytest.fixture(scope="module")
def config() -> Any:
    raw, _ = stack_config("dev")
    values = {k.split(":", 1)[1]: json.loads(v) if v.lstrip().startswith(("{", "[")) else v
              for k, v in raw.items() if k.startswith("openclaw:")}
    return parse_config(values)


def _seed_data(config: Any) -> dict[str, dict[str, str]]:
    return dict(agents.seed_configmap_data(agents.load_catalog(provider_models=config.models.model_refs)))


def _deployment(run: RunResult) -> ResourceRecord:
    return run.find("Deployment", "openclaw")


def _pod(run: RunResult) -> dict[str, Any]:
    pod: dict[str, Any] = _deployment(run).properties["spec"]["template"]
    return pod


def _config_maps(run: RunResult) -> dict[str, ResourceRecord]:
    return {r.name: r for r in run.kubernetes() if r.properties.get("kind") == "ConfigMap"}


def test_the_deployment_one_pod_recreated_waiting_for_its_secrets_and_the_snapshot(
        rendered: tuple[RunResult, Any]) -> None:
    run, _ = rendered
    deployment = _deployment(run)
    meta = deployment.properties["metadata"]
    assert (meta["name"], meta["namespace"], meta["labels"]) == ("openclaw", "openclaw", _labels("gateway"))
    spec = {k: v for k, v in deployment.properties["spec"].items() if k != "template"}
    assert spec == {"replicas": 1, "progressDeadlineSeconds": spec["progressDeadlineSeconds"],
                    "revisionHistoryLimit": 3, "strategy": {"type": "Recreate"},
                    "selector": {"matchLabels": {"app": "openclaw"}}}
    (gateway,) = [r for r in run.resources if r.type == "openclaw:index:Gateway"]
    (top,) = [r for r in run.resources if r.type == "openclaw:index:OpenClaw"]
    assert deployment.parent == gateway.urn and gateway.parent == top.urn
    # The rollout may take the old pod's termination and the new pod's whole start budget.
    pod = deployment.properties["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    startup = container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"]
    assert spec["progressDeadlineSeconds"] >= startup + pod["terminationGracePeriodSeconds"]
    assert meta["annotations"][TIMEOUT_ANNOTATION] == str(spec["progressDeadlineSeconds"] + PROVIDER_SLACK_SECONDS)
    waits = {r.properties["metadata"]["name"] for r in run.kubernetes() if r.urn in deployment.dependencies}
    assert {"openclaw-secrets", "openclaw-token-secrets", "openclaw-pre-upgrade-2026-2-23"} <= waits


def test_the_pods_identity_and_security_context(rendered: tuple[RunResult, Any], config: Any) -> None:
    pod = _pod(rendered[0])
    assert pod["metadata"]["labels"] == _labels("gateway")
    spec = pod["spec"]
    assert spec["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "runAsNonRoot": True,
                                       "fsGroupChangePolicy": "OnRootMismatch",
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    assert (spec["serviceAccountName"], spec["enableServiceLinks"]) == ("openclaw", False)
    assert spec["terminationGracePeriodSeconds"] == config.release.termination_grace_seconds


def test_the_seed_init_container_whole(rendered: tuple[RunResult, Any], config: Any) -> None:
    (seed,) = [c for c in _pod(rendered[0])["spec"]["initContainers"] if c["name"] == "seed"]
    ids = " ".join(_seed_data(config))
    assert seed == {
        "name": "seed", "image": config.image.ref, "imagePullPolicy": "IfNotPresent",
        "command": ["node", "/seed-script/seed.mjs"],
        "env": [{"name": "OPENCLAW_STATE_DIR", "value": STATE}, {"name": "OPENCLAW_CONFIG_SRC", "value": "/config"},
                {"name": "OPENCLAW_SEED_SRC", "value": "/seed"}, {"name": "OPENCLAW_AGENT_IDS", "value": ids},
                *SECRETS],
        "securityContext": RESTRICTED,
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "volumeMounts": [{"name": "data", "mountPath": STATE}, {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "config", "mountPath": "/config", "readOnly": True},
                         {"name": "seed", "mountPath": "/seed", "readOnly": True},
                         {"name": "seed-script", "mountPath": "/seed-script", "readOnly": True}]}
    assert ids.startswith("main ")


def test_the_gateway_container_whole(rendered: tuple[RunResult, Any], config: Any) -> None:
    (gateway,) = _pod(rendered[0])["spec"]["containers"]
    probes = select_probes(config)
    sizing = config.sizing
    startup = gateway.pop("startupProbe")
    assert gateway == {
        "name": "gateway", "image": config.image.ref, "imagePullPolicy": "IfNotPresent",
        "args": ["node", "openclaw.mjs", "gateway", "--allow-unconfigured"], "workingDir": "/app",
        "ports": [{"name": "gateway", "containerPort": 18789, "protocol": "TCP"}],
        "env": [{"name": "HOME", "value": "/home/node"}, {"name": "TERM", "value": "xterm-256color"},
                {"name": "NODE_OPTIONS", "value": f"--max-old-space-size={sizing.heap_mib}"},
                {"name": "OPENCLAW_DISABLE_BONJOUR", "value": "1"}, *SECRETS,
                {"name": "DATABASE_URL", "value": config.database.url}],
        "securityContext": RESTRICTED,
        "resources": {"requests": {"cpu": config.resources.cpu_request, "memory": sizing.memory},
                      "limits": {"memory": sizing.memory}},
        "readinessProbe": {"exec": {"command": probes.readiness}, "initialDelaySeconds": 30, "periodSeconds": 10,
                           "timeoutSeconds": 5},
        "livenessProbe": {"exec": {"command": probes.liveness}, "initialDelaySeconds": 60, "periodSeconds": 30,
                          "timeoutSeconds": 5},
        "volumeMounts": [{"name": "data", "mountPath": STATE}, {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "cache", "mountPath": "/home/node/.cache"},
                         {"name": "plugins", "mountPath": "/opt/openclaw-plugins", "readOnly": True},
                         {"name": "plugin-seal", "mountPath": f"{STATE}/extensions", "readOnly": True},
                         {"name": "plugin-seal", "mountPath": f"{STATE}/npm", "readOnly": True}]}
    assert config.database.url.startswith("postgresql://") and "$(OPENCLAW_DB_PASSWORD)" in config.database.url
    threshold = startup.pop("failureThreshold")
    assert startup == {"exec": {"command": probes.startup}, "periodSeconds": 10, "timeoutSeconds": 5}
    # Just enough 10 s periods to cover the release's start budget: one fewer would not.
    assert threshold * 10 >= sizing.startup_budget_seconds > (threshold - 1) * 10


def test_every_volume(rendered: tuple[RunResult, Any], config: Any) -> None:
    run, _ = rendered
    maps = _config_maps(run)
    volumes = {v["name"]: v for v in _pod(run)["spec"]["volumes"]}
    name = {key: maps[f"openclaw-gateway-{key}"].properties["metadata"]["name"]
            for key in ("config", "seed-script", "preflight", "state-script", "plugins")}
    assert [v for v in _pod(run)["spec"]["volumes"]][:6] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "openclaw-data"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "100Mi"}}, {"name": "cache", "emptyDir": {"sizeLimit": "50Mi"}},
        {"name": "config", "configMap": {"name": name["config"]}},
        {"name": "seed-script", "configMap": {"name": name["seed-script"]}},
        {"name": "preflight", "configMap": {"name": name["preflight"]}}]
    sources = volumes["seed"]["projected"]["sources"]
    seed_data = _seed_data(config)
    assert [s["configMap"]["name"] for s in sources] == [
        maps[f"openclaw-gateway-seed-{agent}"].properties["metadata"]["name"] for agent in seed_data]
    for source, (agent, files) in zip(sources, seed_data.items(), strict=True):
        assert source["configMap"]["items"] == [{"key": key, "path": f"{agent}/{key}"} for key in sorted(files)]
    assert volumes["state-script"] == {"name": "state-script", "configMap": {"name": name["state-script"]}}
    assert volumes["plugin-source"] == {"name": "plugin-source", "configMap": {"name": name["plugins"]}}


def test_each_configmap_is_named_by_its_content_immutable_labelled_and_owned(rendered: tuple[RunResult, Any]) -> None:
    run, _ = rendered
    (gateway,) = [r for r in run.resources if r.type == "openclaw:index:Gateway"]
    components = {"config": "config", "seed-script": "seed", "preflight": "preflight", "state-script": "state"}
    bases = {"config": "openclaw-config", "seed-script": "openclaw-seed-script", "preflight": "openclaw-preflight",
             "state-script": "openclaw-state-script"}
    maps = _config_maps(run)
    seeds = [k for k in maps if k.startswith("openclaw-gateway-seed-") and k != "openclaw-gateway-seed-script"]
    assert len(seeds) > 1
    for key in [*components, *(s.removeprefix("openclaw-gateway-") for s in seeds)]:
        record = maps[f"openclaw-gateway-{key}"]
        data = record.properties["data"]
        base = bases.get(key, f"openclaw-{key}")
        assert record.properties["metadata"] == {"name": content_name(base, data), "namespace": "openclaw",
                                                 "labels": _labels(components.get(key, "seed"))}, key
        assert record.properties["immutable"] is True and record.parent == gateway.urn, key
    assert set(maps["openclaw-gateway-preflight"].properties["data"]) == {"preflight.mjs", "dependencies.json"}
    assert set(maps["openclaw-gateway-config"].properties["data"]) == {"openclaw.json"}
    # openclaw.json loads the release's pinned plugin from the read-only folder (components/plugins.py).
    openclaw_json = json.loads(maps["openclaw-gateway-config"].properties["data"]["openclaw.json"])
    assert openclaw_json["plugins"] == {"load": {"paths": ["/opt/openclaw-plugins/openclaw-deepseek-provider"]}}
    assert maps["openclaw-gateway-plugins"].parent == gateway.urn


def test_a_content_name_is_the_base_and_ten_hex_of_every_key_and_value() -> None:
    name = content_name("b", {"k": "v", "a": "1"})
    assert name == content_name("b", {"a": "1", "k": "v"}) and name.startswith("b-") and len(name) == 12
    assert len({name, content_name("b", {"k": "v", "a": "2"}), content_name("b", {"k": "v", "b": "1"}),
                content_name("b", {"ka": "v", "a": "1"}), content_name("c", {"k": "v", "a": "1"})}) == 5
    # A name a deployed stack already has: changing the scheme would rename every ConfigMap (a restart).
    assert content_name("openclaw-config", {"openclaw.json": "{}\n"}) == "openclaw-config-27163fcfff"


def test_the_service_and_the_outputs(rendered: tuple[RunResult, dict[str, dict[str, Any]]]) -> None:
    run, outputs = rendered
    service = run.find("Service", "openclaw")
    (gateway,) = [r for r in run.resources if r.type == "openclaw:index:Gateway"]
    assert service.parent == gateway.urn
    meta = service.properties["metadata"]
    assert (meta["name"], meta["namespace"], meta["labels"]) == ("openclaw", "openclaw", _labels("gateway"))
    assert service.properties["spec"] == {"type": "ClusterIP", "selector": {"app": "openclaw"}, "ports": [
        {"name": "gateway", "port": 18789, "targetPort": 18789, "protocol": "TCP"}]}
    # The Service's wait outlasts the Deployment's it fronts (components/awaits.py).
    deployment_wait = int(_deployment(run).properties["metadata"]["annotations"][TIMEOUT_ANNOTATION])
    assert set(meta["annotations"]) == {TIMEOUT_ANNOTATION}
    assert int(meta["annotations"][TIMEOUT_ANNOTATION]) > deployment_wait
    config_map = _config_maps(run)["openclaw-gateway-config"].properties["metadata"]["name"]
    assert outputs[gateway.urn] == {"service_address": "openclaw.openclaw.svc.cluster.local:18789",
                                    "config_map_name": config_map}


def test_an_untested_tag_is_annotated_with_the_release_it_was_rendered_as(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    image = {"repository": "ghcr.io/openclaw/openclaw", "tag": "2026.9.7", "acceptUntestedRelease": True}
    run = run_stack("dev", overrides={"openclaw:image": image})
    annotations = _deployment(run).properties["metadata"]["annotations"]
    assert annotations["openclaw.io/untested-release-rendered-as"] == "2026.9.6"
    assert ("openclaw:image.tag 2026.9.7 is not a release this program was tested with; rendered as openclaw "
            "2026.9.6 (openclaw:image.acceptUntestedRelease): its config shape, probes and sizing may not fit. Add "
            "the release to components/releases.py") in warnings


def test_a_tested_tag_has_no_such_annotation(rendered: tuple[RunResult, Any]) -> None:
    annotations = _deployment(rendered[0]).properties["metadata"]["annotations"]
    assert "openclaw.io/untested-release-rendered-as" not in annotations
    assert {k: v for k, v in annotations.items() if k.startswith("checkov.io/")} == checkov_skips(GATEWAY, False)


def test_a_pinned_digest_keeps_only_the_gateways_own_checkov_reasons() -> None:
    digest = "sha256:7fa6e81b04610cb52eec98ddde595104f1ad1d50ea145303ac4407a2bbef2939"  # a made-up digest
    image = {"repository": "ghcr.io/openclaw/openclaw", "tag": "2026.9.6", "digest": digest}
    annotations = _deployment(run_stack("dev", overrides={"openclaw:image": image})).properties["metadata"][
        "annotations"]
    assert {k: v for k, v in annotations.items() if k.startswith("checkov.io/")} == checkov_skips(GATEWAY, True)


def test_both_scripts_are_read_as_utf8_whatever_the_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components import gateway

    seed = tmp_path / "seed.mjs"
    seed.write_text("// Zoë's seed\n", encoding="utf-8")
    preflight = tmp_path / "preflight.mjs"
    preflight.write_text("// Zoë's preflight\n", encoding="utf-8")
    monkeypatch.setattr(agents, "SEED_SCRIPT", seed)
    monkeypatch.setattr(gateway, "PREFLIGHT_SCRIPT", preflight)
    with ascii_locale():   # LANG unset on a node or CI runner
        run = run_stack("dev")
    maps = _config_maps(run)
    assert maps["openclaw-gateway-seed-script"].properties["data"] == {"seed.mjs": "// Zoë's seed\n"}
    assert maps["openclaw-gateway-preflight"].properties["data"]["preflight.mjs"] == "// Zoë's preflight\n"


def test_the_init_containers_in_order_each_restricted(rendered: tuple[RunResult, Any]) -> None:
    """The state guard before the seed, the plugins and the migration after it (a release with both),
    the preflight last; every one under the restricted container context."""
    inits = _pod(rendered[0])["spec"]["initContainers"]
    assert [c["name"] for c in inits] == ["state-guard", "seed", "plugins", "migrate", "preflight"]
    assert all(c["securityContext"] == RESTRICTED for c in inits)


def test_direct_mode_rolls_the_pod_on_a_new_vault_version_and_operator_mode_adds_no_annotation(
        rendered: tuple[RunResult, Any]) -> None:
    from tests.vault_fixtures import run_direct

    assert "annotations" not in _pod(rendered[0])["metadata"]
    annotations = _pod(run_direct())["metadata"]["annotations"]
    assert set(annotations) == {"openclaw.lumie.example/vault-versions"}
    assert annotations["openclaw.lumie.example/vault-versions"].startswith("secret/")
