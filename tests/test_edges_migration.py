"""The state guard and the migration step (components/migration.py), read from the rendered pod: each
field of each container, for the release with a migration and one without, the step's timeout at its
floor and above it, and when a marked volume needs the migration."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from components.migration import migration_due
from components.releases import RELEASES
from engine.harness import RunResult, run_stack

RESTRICTED = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
              "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
STATE = "/home/node/.openclaw"


def _init(run: RunResult) -> dict[str, dict[str, Any]]:
    pod = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod["initContainers"]}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize(("stack", "release", "epoch"), [("dev", "2026.9.6", "2"), ("prod", "2026.2.23", "1")])
def test_the_guard_step(stack: str, release: str, epoch: str, dev: RunResult, prod: RunResult) -> None:
    guard = _init(dev if stack == "dev" else prod)["state-guard"]
    assert guard == {
        "name": "state-guard", "image": guard["image"], "imagePullPolicy": "IfNotPresent",
        "command": ["node", "/state-script/state.mjs", "guard"],
        "env": [{"name": "OPENCLAW_STATE_DIR", "value": STATE}, {"name": "OPENCLAW_RELEASE", "value": release},
                {"name": "OPENCLAW_STATE_EPOCH", "value": epoch}],
        "securityContext": RESTRICTED,
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
        "volumeMounts": [{"name": "data", "mountPath": STATE},
                         {"name": "state-script", "mountPath": "/state-script", "readOnly": True}]}
    assert guard["image"].startswith(f"ghcr.io/openclaw/openclaw:{release}")


@pytest.mark.parametrize(("stack", "release", "migration"), [
    ("dev", "2026.9.6", ["doctor", "--fix", "--non-interactive"]), ("prod", "2026.2.23", [])])
def test_the_migrate_step(stack: str, release: str, migration: list[str], dev: RunResult, prod: RunResult) -> None:
    run = dev if stack == "dev" else prod
    steps = _init(run)
    migrate = steps["migrate"]
    gateway = next(c for c in run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]["containers"]
                   if c["name"] == "gateway")
    assert migrate["command"] == ["node", "/state-script/state.mjs", "migrate"]
    assert (migrate["image"], migrate["imagePullPolicy"]) == (gateway["image"], "IfNotPresent")
    assert migrate["securityContext"] == RESTRICTED
    env = _env(migrate)
    assert {k: env[k] for k in ("OPENCLAW_STATE_DIR", "OPENCLAW_RELEASE", "HOME", "OPENCLAW_DISABLE_BONJOUR")} == {
        "OPENCLAW_STATE_DIR": STATE, "OPENCLAW_RELEASE": release, "HOME": "/home/node",
        "OPENCLAW_DISABLE_BONJOUR": "1"}
    assert json.loads(env["OPENCLAW_MIGRATION"]) == migration
    assert env["NODE_OPTIONS"] == _env(gateway)["NODE_OPTIONS"]
    # the gateway's secrets, for the config's references: each one the gateway gets
    assert {k: v for k, v in _env(gateway).items() if isinstance(v, dict)} == {
        k: v for k, v in env.items() if isinstance(v, dict)}
    assert migrate["resources"] == {"requests": {"cpu": gateway["resources"]["requests"]["cpu"],
                                                 "memory": gateway["resources"]["limits"]["memory"]},
                                    "limits": {"memory": gateway["resources"]["limits"]["memory"]}}
    mounts = [(m["name"], m["mountPath"], m.get("readOnly", False)) for m in migrate["volumeMounts"]]
    assert mounts[:4] == [("data", STATE, False), ("tmp", "/tmp", False), ("cache", "/home/node/.cache", False),
                          ("state-script", "/state-script", True)]
    assert mounts[4:] == ([("plugins", "/opt/openclaw-plugins", True)] if stack == "dev" else [])


@pytest.mark.parametrize(("cpu", "timeout"), [("50m", 950), ("100m", 600), ("1", 600), ("0.0475", 1000)])
def test_the_migration_timeout_is_twice_the_startup_budget_and_at_least_600(cpu: str, timeout: int) -> None:
    """2026.9.6: 19 CPU-s x 1.25 at the request; at 47.5m exactly 500 s of budget."""
    run = run_stack("dev", overrides={"openclaw:resources": {"cpuRequest": cpu}})
    assert _env(_init(run)["migrate"])["OPENCLAW_MIGRATION_TIMEOUT_SECONDS"] == str(timeout)


@pytest.mark.parametrize(("marked", "due"), [(0, True), (1, True), (2, False), (3, False)])
def test_a_marked_volume_needs_the_migration_only_below_the_releases_epoch(marked: int, due: bool) -> None:
    assert migration_due(marked, RELEASES["2026.9.6"]) is due
    assert migration_due(marked, dataclasses.replace(RELEASES["2026.9.6"], state_epoch=3)) is (marked < 3)


def test_the_state_script_is_mounted_from_its_config_map(dev: RunResult) -> None:
    pod = dev.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "state-script"]
    (script_map,) = [r for r in dev.kubernetes() if r.type.endswith("ConfigMap")
                     and r.properties["metadata"]["name"] == volume["configMap"]["name"]]
    assert set(script_map.properties["data"]) == {"state.mjs"}
    assert "guard" in script_map.properties["data"]["state.mjs"]


def test_the_steps_around_the_seeder_in_order_each_restricted(dev: RunResult, prod: RunResult) -> None:
    """2026.9.6 pins a plugin: its step runs between the seeder and the migration; 2026.2.23 has none."""
    for run, names in ((dev, ["state-guard", "seed", "plugins", "migrate", "preflight"]),
                       (prod, ["state-guard", "seed", "migrate", "preflight"])):
        steps = _init(run)
        assert list(steps) == names
        assert all(step["securityContext"] == RESTRICTED for step in steps.values())


def test_the_pod_has_the_volumes_its_steps_mount(dev: RunResult, prod: RunResult) -> None:
    for run, plugins in ((dev, ["plugin-seal", "plugins", "plugin-source"]), (prod, [])):
        pod = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
        names = [v["name"] for v in pod["volumes"]]
        assert "state-script" in names
        assert [n for n in names if n.startswith("plugin")] == plugins
        mounted = {m["name"] for c in [*pod["initContainers"], *pod["containers"]] for m in c["volumeMounts"]}
        assert mounted <= set(names)
