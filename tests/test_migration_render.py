"""The state guard and the migration step in the render: where they run, with what, and the
pre-migration slot the pre-upgrade snapshot goes into."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from components.config import parse_config
from components.migration import MIN_MIGRATION_TIMEOUT, SCRIPT, migration_timeout
from components.releases import RELEASES
from engine.harness import RunResult, run_stack

ORIGINS = {"allowedOrigins": ["https://openclaw.example.test"]}
NETWORK = {"apiServerEndpoints": ["192.168.10.10:6443"]}


def _inits(run: RunResult) -> dict[str, dict[str, Any]]:
    spec = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["initContainers"]}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("tag", sorted(RELEASES))
def test_every_release_gets_the_guard_first_and_the_migration_after_seeding(tag: str) -> None:
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": tag}})
    inits = _inits(run)
    names = list(inits)
    assert names[0] == "state-guard" and names.index("seed") < names.index("migrate") < names.index("preflight")
    release = RELEASES[tag]
    for name in ("state-guard", "migrate"):
        env = _env(inits[name])
        assert (env["OPENCLAW_RELEASE"], env["OPENCLAW_STATE_EPOCH"]) == (tag, str(release.state_epoch))
        assert inits[name]["image"] == f"ghcr.io/openclaw/openclaw:{tag}"
        assert inits[name]["securityContext"]["readOnlyRootFilesystem"] is True
    assert inits["state-guard"]["command"] == ["node", "/state-script/state.mjs", "guard"]
    assert inits["migrate"]["command"] == ["node", "/state-script/state.mjs", "migrate"]
    assert json.loads(_env(inits["migrate"])["OPENCLAW_MIGRATION"]) == list(release.migration)
    (script_map,) = [r.properties for r in run.kubernetes() if r.properties.get("kind") == "ConfigMap"
                     and r.properties["metadata"]["name"].startswith("openclaw-state-script-")]
    assert script_map["data"] == {"state.mjs": SCRIPT.read_text(encoding="utf-8")} and script_map["immutable"]


def test_the_migration_runs_openclaw_as_the_gateway_would(dev: RunResult) -> None:
    spec = dev.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    gateway, migrate = spec["containers"][0], _inits(dev)["migrate"]
    gateway_env, env = _env(gateway), _env(migrate)
    # The secrets the config references, the heap cap and the memory: the same as the gateway's.
    for name in ("OPENCLAW_GATEWAY_TOKEN", "DEEPSEEK_API_KEY", "TELEGRAM_BOT_TOKEN", "NODE_OPTIONS", "HOME"):
        assert env[name] == gateway_env[name], name
    assert migrate["resources"] == gateway["resources"]
    # Never the read-only config switch: doctor refuses to run with it.
    assert "OPENCLAW_CONFIG_READONLY" not in env
    mounts = {m["name"]: (m["mountPath"], bool(m.get("readOnly"))) for m in migrate["volumeMounts"]}
    assert mounts["data"] == ("/home/node/.openclaw", False) and mounts["tmp"] == ("/tmp", False)
    assert mounts["state-script"] == ("/state-script", True)
    guard = {m["name"] for m in _inits(dev)["state-guard"]["volumeMounts"]}
    assert guard == {"data", "state-script"}


@pytest.mark.parametrize("cpu,timeout", [("50m", None), ("2", MIN_MIGRATION_TIMEOUT)])
def test_the_migration_may_take_twice_the_startup_budget(cpu: str, timeout: int | None) -> None:
    config = parse_config({"gateway": ORIGINS, "network": NETWORK, "resources": {"cpuRequest": cpu, "memory": "1536Mi",
                                                               "heapHeadroomMib": 640}})
    budget = config.sizing.startup_budget_seconds
    assert migration_timeout(config) == (timeout or math.ceil(2 * budget))
    assert (2 * budget < MIN_MIGRATION_TIMEOUT) is (timeout is not None)  # each branch of the max()


