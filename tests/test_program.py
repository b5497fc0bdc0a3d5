"""The whole dev stack under the mock runtime: every name, port, key and field of FACTS.md."""

from __future__ import annotations

import json
import math
from typing import Any

from components.config.workload import derived_memory_mib
from components.releases import RELEASES
from engine.harness import RunResult, object_name

NS = "openclaw"


def _deployment(dev: RunResult) -> dict[str, Any]:
    return dev.find("Deployment", "openclaw").properties


def _container(dev: RunResult, name: str, init: bool = False) -> dict[str, Any]:
    pod = _deployment(dev)["spec"]["template"]["spec"]
    containers = pod["initContainers" if init else "containers"]
    return next(c for c in containers if c["name"] == name)


def _openclaw_json(dev: RunResult) -> dict[str, Any]:
    maps = [r for r in dev.kubernetes() if r.properties["kind"] == "ConfigMap"
            and "openclaw.json" in r.properties.get("data", {})]
    assert len(maps) == 1
    result: dict[str, Any] = json.loads(maps[0].properties["data"]["openclaw.json"])
    return result


def test_component_tree(dev: RunResult) -> None:
    components = {r.type: r for r in dev.resources if not r.custom}
    assert set(components) == {"openclaw:index:OpenClaw", "openclaw:index:Namespace", "openclaw:index:Storage",
                               "openclaw:index:Rbac", "openclaw:index:NetworkPolicies", "openclaw:index:Gateway",
                               "openclaw:index:VaultSecrets",
                               # dev moves from its releaseLock 2026.2.23 to 2026.9.6 (tests/test_pre_upgrade_job.py)
                               "openclaw:index:PreUpgradeSnapshot"}
    top = components["openclaw:index:OpenClaw"].urn
    for type_, record in components.items():
        if type_ != "openclaw:index:OpenClaw":
            assert record.parent == top, type_
    # Every custom resource hangs under one of the components, never directly on the stack.
    component_urns = {r.urn for r in components.values()}
    assert all(r.parent in component_urns for r in dev.resources if r.custom)


def test_namespace_is_restricted_and_protected(dev: RunResult) -> None:
    ns = dev.find("Namespace", NS)
    labels = ns.properties["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns.options.protect


def test_every_namespaced_object_is_in_the_namespace(dev: RunResult) -> None:
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for record in dev.kubernetes():
        meta = record.properties["metadata"]
        if record.properties["kind"] in cluster_scoped:
            assert "namespace" not in meta, object_name(record)
        else:
            assert meta["namespace"] == NS, object_name(record)


def test_service_contract(dev: RunResult) -> None:
    spec = dev.find("Service", "openclaw").properties["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["selector"] == {"app": "openclaw"}
    assert spec["ports"] == [{"name": "gateway", "port": 18789, "targetPort": 18789, "protocol": "TCP"}]
    assert dev.outputs["serviceAddress"].value == "openclaw.openclaw.svc.cluster.local:18789"


def test_pvc_contract(dev: RunResult) -> None:
    pvc = dev.find("PersistentVolumeClaim", "openclaw-data")
    spec = pvc.properties["spec"]
    assert spec["accessModes"] == ["ReadWriteOnce"]
    assert spec["storageClassName"] == "local-path-retain"
    assert spec["resources"]["requests"]["storage"] == "500Mi"
    assert pvc.options.protect and pvc.options.retain_on_delete
    assert dev.outputs["pvc"].value == "openclaw-data"


def test_rbac_is_read_only_exactly_as_listed(dev: RunResult) -> None:
    role = dev.find("ClusterRole", "openclaw-readonly").properties
    rules = {r["apiGroups"][0]: (sorted(r["resources"]), r["verbs"]) for r in role["rules"]}
    assert rules == {
        "": (sorted(["pods", "services", "nodes", "namespaces", "events", "configmaps"]), ["get", "list", "watch"]),
        "apps": (sorted(["deployments", "statefulsets", "daemonsets", "replicasets"]), ["get", "list", "watch"]),
        "batch": (["cronjobs", "jobs"], ["get", "list", "watch"]),
        "networking.k8s.io": (["ingresses"], ["get", "list", "watch"]),
        "argoproj.io": (["applications"], ["get", "list", "watch"]),
    }
    binding = dev.find("ClusterRoleBinding", "openclaw-readonly-binding").properties
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "openclaw-readonly"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "openclaw", "namespace": NS}]
    dev.find("ServiceAccount", "openclaw")


def test_deployment_contract(dev: RunResult) -> None:
    spec = _deployment(dev)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert spec["revisionHistoryLimit"] == 3
    assert spec["selector"] == {"matchLabels": {"app": "openclaw"}}
    pod = spec["template"]["spec"]
    assert spec["template"]["metadata"]["labels"]["app"] == "openclaw"
    assert pod["serviceAccountName"] == "openclaw"
    assert pod["enableServiceLinks"] is False
    ctx = pod["securityContext"]
    assert (ctx["runAsUser"], ctx["runAsGroup"], ctx["fsGroup"]) == (1000, 1000, 1000)
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}


def test_containers_are_hardened(dev: RunResult) -> None:
    for container in (_container(dev, "gateway"), _container(dev, "seed", init=True)):
        ctx = container["securityContext"]
        assert ctx["runAsNonRoot"] is True
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["image"] == "ghcr.io/openclaw/openclaw:2026.9.6"
        assert "memory" in container["resources"]["limits"]


def test_gateway_container_env_resources_and_probes(dev: RunResult) -> None:
    gateway = _container(dev, "gateway")
    env = {e["name"]: e for e in gateway["env"]}
    assert env["HOME"]["value"] == "/home/node"
    assert env["TERM"]["value"] == "xterm-256color"
    assert env["NODE_OPTIONS"]["value"] == "--max-old-space-size=896"
    assert env["OPENCLAW_DISABLE_BONJOUR"]["value"] == "1"
    assert env["DATABASE_URL"]["value"] == (
        "postgresql://openclaw:$(OPENCLAW_DB_PASSWORD)@infra-db-rw.infra-db.svc:5432/openclaw")
    refs = {name: e["valueFrom"]["secretKeyRef"] for name, e in env.items() if "valueFrom" in e}
    assert refs == {
        "OPENCLAW_GATEWAY_TOKEN": {"name": "openclaw-secrets", "key": "OPENCLAW_GATEWAY_TOKEN"},
        "OPENCLAW_DB_PASSWORD": {"name": "openclaw-secrets", "key": "OPENCLAW_DB_PASSWORD"},
        "DEEPSEEK_API_KEY": {"name": "openclaw-token-secrets", "key": "DEEPSEEK_API_KEY"},
        "TELEGRAM_BOT_TOKEN": {"name": "openclaw-token-secrets", "key": "TELEGRAM_BOT_TOKEN"},
    }
    # $(OPENCLAW_DB_PASSWORD) expands only from variables defined before DATABASE_URL.
    names = [e["name"] for e in gateway["env"]]
    assert names.index("OPENCLAW_DB_PASSWORD") < names.index("DATABASE_URL")
    assert "OPENCLAW_GATEWAY_BIND" not in env  # 2026.2.23 never reads it
    # dev runs 2026.9.6: the limit derived from its measured start (components/config/workload.py)
    memory = f"{derived_memory_mib(RELEASES['2026.9.6'])}Mi"
    assert gateway["resources"] == {"requests": {"cpu": "50m", "memory": memory}, "limits": {"memory": memory}}
    assert gateway["ports"] == [{"name": "gateway", "containerPort": 18789, "protocol": "TCP"}]
    # The command is explicit (the image's default changed between releases); args keep an ENTRYPOINT.
    assert (gateway["args"], gateway["workingDir"]) == (["node", "openclaw.mjs", "gateway", "--allow-unconfigured"],
                                                        "/app")
    assert "command" not in gateway
    probes = {k: gateway[k] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    routes = {"startupProbe": "path:'/startupz'", "readinessProbe": "path:'/readyz'",
              "livenessProbe": "path:'/healthz'"}
    for name, probe in probes.items():
        assert "httpGet" not in probe  # the body is checked: an exec of node's http client
        assert probe["exec"]["command"][:2] == ["node", "-e"] and routes[name] in probe["exec"]["command"][2]
    budget = max(RELEASES["2026.9.6"].sizing.start_cpu_seconds * 1.25 / 0.05, 180)
    assert (probes["startupProbe"]["periodSeconds"], probes["startupProbe"]["failureThreshold"]) == (
        10, math.ceil(budget / 10))
    assert (probes["readinessProbe"]["initialDelaySeconds"], probes["readinessProbe"]["periodSeconds"]) == (30, 10)
    assert (probes["livenessProbe"]["initialDelaySeconds"], probes["livenessProbe"]["periodSeconds"]) == (60, 30)


def test_prod_gateway_keeps_the_2026_2_23_probes_and_its_memory(prod: RunResult) -> None:
    gateway = _container(prod, "gateway")
    assert gateway["image"] == "ghcr.io/openclaw/openclaw:2026.2.23"
    assert gateway["resources"] == {"requests": {"cpu": "250m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}
    assert next(e["value"] for e in gateway["env"] if e["name"] == "NODE_OPTIONS") == "--max-old-space-size=1024"
    probes = {k: gateway[k] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    for name, probe in probes.items():
        assert "httpGet" not in probe  # 2026.2.23 has no HTTP health route
        command = probe["exec"]["command"]
        # Readiness: an authenticated POST /tools/invoke (components/probes.py, tests/test_probes.py).
        wanted = "/tools/invoke'" if name == "readinessProbe" else "createConnection(18789,'127.0.0.1')"
        assert command[:2] == ["node", "-e"] and wanted in command[2]
    budget = max(RELEASES["2026.2.23"].sizing.start_cpu_seconds * 1.25 / 0.25, 180)
    assert probes["startupProbe"]["failureThreshold"] == math.ceil(budget / 10)


def test_volumes_and_mounts(dev: RunResult) -> None:
    pod = _deployment(dev)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "openclaw-data"}
    assert volumes["tmp"]["emptyDir"] == {"sizeLimit": "100Mi"}
    assert volumes["cache"]["emptyDir"] == {"sizeLimit": "50Mi"}
    mounts = {m["mountPath"]: m["name"] for m in _container(dev, "gateway")["volumeMounts"]}
    # 2026.9.6 (dev): the pinned plugins read-only, OpenClaw's own plugin roots sealed (components/plugins.py).
    assert mounts == {"/home/node/.openclaw": "data", "/tmp": "tmp", "/home/node/.cache": "cache",
                      "/opt/openclaw-plugins": "plugins", "/home/node/.openclaw/extensions": "plugin-seal",
                      "/home/node/.openclaw/npm": "plugin-seal"}
    seed_mounts = {m["mountPath"]: m for m in _container(dev, "seed", init=True)["volumeMounts"]}
    assert seed_mounts["/home/node/.openclaw"]["name"] == "data"
    for path in ("/config", "/seed", "/seed-script"):
        assert seed_mounts[path]["readOnly"] is True


def test_config_and_seed_maps_are_content_addressed_and_mounted(dev: RunResult) -> None:
    pod = _deployment(dev)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_name = volumes["config"]["configMap"]["name"]
    config_map = dev.find("ConfigMap", config_name).properties
    assert config_name.startswith("openclaw-config-") and config_map["immutable"] is True
    projected = [s["configMap"] for s in volumes["seed"]["projected"]["sources"]]
    assert projected, "no seed ConfigMaps mounted"
    for source in projected:
        seed_map = dev.find("ConfigMap", source["name"]).properties
        assert seed_map["immutable"] is True
        agent = source["items"][0]["path"].split("/")[0]
        assert {i["key"] for i in source["items"]} == set(seed_map["data"])
        assert all(i["path"] == f"{agent}/{i['key']}" for i in source["items"])


def test_openclaw_json(dev: RunResult) -> None:
    doc = _openclaw_json(dev)
    gateway = doc["gateway"]
    assert (gateway["mode"], gateway["bind"], gateway["port"]) == ("local", "lan", 18789)
    # dev runs 2026.9.6: secrets as SecretRefs (the 2026.2.23 shape: tests/test_openclaw_json.py)
    assert gateway["auth"] == {"mode": "token", "token": {"source": "env", "provider": "default",
                                                          "id": "OPENCLAW_GATEWAY_TOKEN"}}
    assert gateway["controlUi"] == {"allowedOrigins": ["https://openclaw.teleport.lumie.example"]}
    assert "dangerouslyAllowHostHeaderOriginFallback" not in json.dumps(doc)
    assert doc["channels"]["telegram"]["enabled"] is True
    assert doc["channels"]["telegram"]["botToken"] == {"source": "env", "provider": "default",
                                                       "id": "TELEGRAM_BOT_TOKEN"}
    assert doc["agents"]["defaults"]["model"]["primary"] == "deepseek/deepseek-v4-flash"
    deepseek = doc["models"]["providers"]["deepseek"]
    assert deepseek["baseUrl"] == "https://api.deepseek.com/v1"
    assert deepseek["apiKey"] == {"source": "env", "provider": "default", "id": "DEEPSEEK_API_KEY"}
    assert deepseek["api"] == "openai-completions"
    assert [m["id"] for m in deepseek["models"]] == ["deepseek-v4-flash", "deepseek-v4-pro"]
    ids = list(doc["agents"]["entries"])
    assert ids[0] == "main"
    assert doc["tools"]["agentToAgent"]["enabled"] is True
    assert set(doc["tools"]["agentToAgent"]["allow"]) <= set(ids)


def test_telegram_off_drops_its_token_everywhere() -> None:
    from engine.harness import run_stack
    run = run_stack("dev", overrides={"openclaw:telegram": {"enabled": False}})
    doc = _openclaw_json(run)
    assert doc["channels"]["telegram"]["enabled"] is False
    assert "TELEGRAM_BOT_TOKEN" not in json.dumps(doc)
    env = {e["name"] for e in _container(run, "gateway")["env"]}
    assert "TELEGRAM_BOT_TOKEN" not in env


def test_teleport_app_output(dev: RunResult) -> None:
    app = dev.outputs["teleportApp"]
    assert not app.secret
    assert app.value["name"] == "openclaw"
    assert app.value["uri"] == "http://openclaw.openclaw.svc.cluster.local:18789"
    headers = {h["name"]: h["value"] for h in app.value["rewrite"]["headers"]}
    assert headers == {"Origin": "https://openclaw.teleport.lumie.example",
                       "Authorization": "Bearer ${OPENCLAW_GATEWAY_TOKEN}"}


def test_outputs(dev: RunResult) -> None:
    assert dev.outputs["namespace"].value == NS
    assert any("kubectl get deploy" in c for c in dev.outputs["verificationCommands"].value)


def test_prod_differs_where_config_says(dev: RunResult, prod: RunResult) -> None:
    container = _container(prod, "gateway")
    # No digest until the real one is pinned (Pulumi.prod.yaml says how): the tag, never a placeholder.
    assert container["image"] == "ghcr.io/openclaw/openclaw:2026.2.23"
    assert container["resources"]["limits"]["memory"] == "2Gi"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["NODE_OPTIONS"] == "--max-old-space-size=1024"
    names = {object_name(r) for r in prod.kubernetes()}
    assert "openclaw-allow-public-https-ipv6" in names
    assert "openclaw-allow-public-https-ipv6" not in {object_name(r) for r in dev.kubernetes()}
