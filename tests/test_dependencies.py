"""One dependency list, two readers: the preflight init container and the egress policy."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from components.config import ConfigError, StackConfig, parse_config
from components.dependencies import DEPENDENCIES_KEY, dependencies, render_dependencies
from engine.analyzer import PolicyAnalyzer, mandatory
from engine.harness import RunResult, object_name, run_stack, stack_config
from tests.test_policy import analyze, mutate

ORIGINS = {"allowedOrigins": ["https://ui.example.test"]}
NETWORK = {"apiServerEndpoints": ["192.168.10.10:6443"]}


def _config(stack: str) -> StackConfig:
    """The stack's validated config, as the program reads it."""
    raw, _ = stack_config(stack)
    values = {}
    for key, text in raw.items():
        if key.startswith("openclaw:"):
            values[key.split(":", 1)[1]] = json.loads(text) if text.lstrip().startswith(("{", "[")) else text
    return parse_config(values)


def _pod(run: RunResult) -> dict[str, Any]:
    spec: dict[str, Any] = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    return spec


def _list_map(run: RunResult) -> tuple[str, dict[str, Any]]:
    record = next(r for r in run.kubernetes() if DEPENDENCIES_KEY in r.properties.get("data", {}))
    return object_name(record), json.loads(record.properties["data"][DEPENDENCIES_KEY])


def _openclaw_json(run: RunResult) -> dict[str, Any]:
    record = next(r for r in run.kubernetes() if "openclaw.json" in r.properties.get("data", {}))
    doc: dict[str, Any] = json.loads(record.properties["data"]["openclaw.json"])
    return doc


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_mounted_list_is_the_function_output(stack: str, request: pytest.FixtureRequest) -> None:
    run: RunResult = request.getfixturevalue(stack)
    name, doc = _list_map(run)
    assert doc == json.loads(render_dependencies(_config(stack)))
    pod = _pod(run)
    volume = next(v for v in pod["volumes"] if v.get("configMap", {}).get("name") == name)
    init = [c["name"] for c in pod["initContainers"]]
    # Last: after the state guard, the seed's own checks, the pinned plugins and the state migration
    # (components/migration.py).
    plugins = ["plugins"] if stack == "dev" else []  # dev runs 2026.9.6, the release with a pinned plugin
    assert init == ["state-guard", "seed", *plugins, "migrate", "preflight"]
    preflight = pod["initContainers"][-1]
    assert preflight["command"] == ["node", "/preflight/preflight.mjs", f"/preflight/{DEPENDENCIES_KEY}"]
    assert preflight["volumeMounts"] == [{"name": volume["name"], "mountPath": "/preflight", "readOnly": True}]
    assert preflight["image"] == pod["containers"][0]["image"]
    assert preflight["securityContext"]["readOnlyRootFilesystem"] is True
    assert preflight["resources"] == {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "128Mi"}}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_list_covers_every_endpoint_of_openclaw_json(stack: str, request: pytest.FixtureRequest) -> None:
    """Drift guard: what the gateway will call (its rendered config and DATABASE_URL) is in the list."""
    run: RunResult = request.getfixturevalue(stack)
    listed = {(d["host"], d["port"]) for d in _list_map(run)[1]["dependencies"]}
    doc = _openclaw_json(run)
    wanted = set()
    for provider in doc["models"]["providers"].values():
        url = urlsplit(provider["baseUrl"])
        wanted.add((url.hostname, url.port or 443))
    if doc["channels"]["telegram"]["enabled"]:
        wanted.add(("api.telegram.org", 443))
    env = {e["name"]: e.get("value") for e in _pod(run)["containers"][0]["env"]}
    db = urlsplit(env["DATABASE_URL"])
    wanted.add((db.hostname, db.port))
    net = _config(stack).network
    wanted.add((net.api_server, net.api_server_port))
    assert listed == wanted


def test_list_follows_the_config() -> None:
    models = [{"id": "m", "name": "M"}]
    cfg = parse_config({"gateway": ORIGINS, "telegram": {"enabled": False}, "network": NETWORK, "models": {
        "primary": "b/m", "providers": {
            "b": {"baseUrl": "https://b.example.test:8443/v1", "apiKeyEnv": "B_KEY", "models": models},
            "a": {"baseUrl": "https://a.example.test", "apiKeyEnv": "A_KEY", "models": models}}}})
    got = [(d.kind, d.host, d.port, d.tls, d.server_name) for d in dependencies(cfg)]
    assert got == [("database", "infra-db-rw.infra-db.svc", 5432, False, None),
                   ("kubernetes", "10.43.0.1", 443, True, None),  # endpoints: test_kubernetes_entry_*
                   ("model", "a.example.test", 443, True, "a.example.test"),
                   ("model", "b.example.test", 8443, True, "b.example.test")]  # no Telegram: channel off


def test_fail_on_defaults_and_partial_maps() -> None:
    default = json.loads(render_dependencies(parse_config({"gateway": ORIGINS, "network": NETWORK})))["failOn"]
    # A refused API connect is kube-router's REJECT after DNAT (a wrong endpoint list): it stops the pod.
    assert default == {"database": ["dns", "unreachable"], "kubernetes": ["dns", "refused", "unreachable"],
                       "model": [], "telegram": []}
    stricter = parse_config({"gateway": ORIGINS, "network": NETWORK,
                             "preflight": {"failOn": {"model": ["tls", "dns", "tls"]}}})
    assert stricter.preflight.fail_on == {**default, "model": ["dns", "tls"]}


@pytest.mark.parametrize(("preflight", "key"), [
    ({"failOn": {"database": ["slow"]}}, "openclaw:preflight.failOn.database[0]"),
    ({"failOn": {"mail": []}}, "openclaw:preflight.failOn.mail"),
    ({"timeoutMs": 50}, "openclaw:preflight.timeoutMs"),
    ({"timeoutMs": 30001}, "openclaw:preflight.timeoutMs"),
])
def test_bad_preflight_config_names_the_key(preflight: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGINS, "preflight": preflight})
    assert f"  - {key}" in str(info.value)


def test_preflight_off_keeps_the_list_for_the_policy(analyzer: PolicyAnalyzer) -> None:
    run = run_stack("dev", overrides={"openclaw:preflight": {"enabled": False}})
    assert [c["name"] for c in _pod(run)["initContainers"]] == ["state-guard", "seed", "plugins", "migrate"]
    name, _ = _list_map(run)
    assert any(v.get("configMap", {}).get("name") == name for v in _pod(run)["volumes"])
    assert not mandatory(analyze(analyzer, run.resources))


def test_policy_reads_the_list_not_openclaw_json(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """A provider moved in openclaw.json alone is not judged (the list is the one definition); the same
    move in the list is."""
    config_name = next(object_name(r) for r in dev.kubernetes() if "openclaw.json" in r.properties.get("data", {}))

    def move_in_config(props: dict[str, Any]) -> None:
        doc = json.loads(props["data"]["openclaw.json"])
        doc["models"]["providers"]["deepseek"]["baseUrl"] = "https://api.deepseek.com:8443/v1"
        props["data"]["openclaw.json"] = json.dumps(doc)

    assert not mandatory(analyze(analyzer, mutate(dev, "ConfigMap", config_name, move_in_config)))


def test_policy_without_a_list_or_with_a_broken_one(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    name, _ = _list_map(dev)

    def unmount(props: dict[str, Any]) -> None:
        spec = props["spec"]["template"]["spec"]
        spec["volumes"] = [v for v in spec["volumes"] if v.get("configMap", {}).get("name") != name]
        for c in spec["initContainers"]:
            c["volumeMounts"] = [m for m in c.get("volumeMounts", []) if m["name"] != "preflight"]

    found = mandatory(analyze(analyzer, mutate(dev, "Deployment", "openclaw", unmount)))
    assert [d.policy for d in found] == ["egress-covers-dependencies"]
    assert "mounts openclaw.json but no dependency list (a ConfigMap with key dependencies.json" in found[0].message

    broken = mutate(dev, "ConfigMap", name, lambda p: p["data"].__setitem__(DEPENDENCIES_KEY, "{not json"))
    found = mandatory(analyze(analyzer, broken))
    assert [d.policy for d in found] == ["egress-covers-dependencies"]
    assert f"ConfigMap '{name}' key dependencies.json is not a dependency list" in found[0].message


def test_policy_checks_the_kubernetes_api_entry(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = mandatory(analyze(analyzer, mutate(
        dev, "NetworkPolicy", "openclaw-allow-kube-api",
        lambda p: p["spec"]["egress"][0]["to"][0]["ipBlock"].__setitem__("cidr", "10.43.0.2/32"))))
    # egress-restricted objects to the unlisted private address; the dependency policy names the loss.
    covers = [d for d in found if d.policy == "egress-covers-dependencies"]
    assert len(covers) == 1 and "Kubernetes API (10.43.0.1:443) is blocked" in covers[0].message


def test_verification_commands_show_the_preflight_log(dev: RunResult) -> None:
    commands = dev.outputs["verificationCommands"].value
    assert "kubectl logs -n openclaw deploy/openclaw -c preflight  # one line per dependency" in commands
