"""The pinned plugin with the real release and no registry (`./run e2e`): openclaw 2026.9.6 under
Node 24 in the rendered pod (tests/support/e2e: loopback only), on a volume an agent has planted plugins
on. Its init steps install the pinned DeepSeek provider from the ConfigMap; the gateway starts,
logs no plugin install attempt, and serves DeepSeek from the pinned plugin only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.plugins import PLUGINS_DIR, folder_name
from components.releases import RELEASES
from engine.harness import RunResult, run_stack
from tests.support.e2e.pod import Pod, pod_from_render
from tests.support.e2e.releases import exec_output, install_release, openclaw_json_for, use_config
from tests.support.e2e.sandbox import PodSandbox, Running
from tools.vendor_plugin import registry_integrity

pytestmark = pytest.mark.e2e

RELEASE = RELEASES["2026.9.6"]
PINNED = RELEASE.plugins[0]
PREFLIGHT_WARN_ONLY = {"failOn": {"database": [], "kubernetes": [], "model": [], "telegram": []}}
# What 2026.9.6 logs when it tries the registry for a missing plugin (booted without the plugin:
# "Failed to install missing configured plugin "deepseek" from @openclaw/deepseek-provider: npm
# view failed: ... getaddrinfo EAI_AGAIN registry.npmjs.org").
INSTALL_ATTEMPT = ("Failed to install", "npm view", "npm install", "registry.npmjs.org", "install missing",
                   "openclaw update repair")
WALL_CAP = 600


@dataclass
class Booted:
    run: RunResult
    pod: Pod
    sandbox: PodSandbox
    gateway: Running
    init_logs: dict[str, str]
    init_seconds: float
    ready_seconds: float | None
    start_peak_mib: float = 0.0   # before any command runs in the container (they share its PID namespace)

    def cli(self, *args: str) -> tuple[int, str]:
        return exec_output(self.sandbox, self.gateway, ["node", "/app/openclaw.mjs", *args])


def _plant(root: Path, plugin_id: str, version: str) -> None:
    """A plugin as an agent could write it: loading it leaves a file on the volume."""
    root.mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({
        "name": "@openclaw/deepseek-provider" if plugin_id == "deepseek" else f"@planted/{plugin_id}",
        "version": version, "type": "module", "openclaw": {"extensions": ["./index.js"]}}))
    (root / "openclaw.plugin.json").write_text(json.dumps({
        "id": plugin_id, "activation": {"onStartup": True}, "enabledByDefault": True, "providers": [plugin_id],
        "configSchema": {"type": "object", "additionalProperties": False, "properties": {}}}))
    (root / "index.js").write_text(
        "import fs from 'node:fs';\n"
        f"fs.writeFileSync('/home/node/.openclaw/PLANTED-{plugin_id}-LOADED', 'x');\n"
        f"export default {{ id: '{plugin_id}', register() {{}} }};\n")


def _own(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, 1000, 1000)


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw",
                                                         "tag": RELEASE.version},
                                      "openclaw:preflight": PREFLIGHT_WARN_ONLY})
    app, node = install_release(RELEASE)
    pod = pod_from_render(run)
    use_config(pod, openclaw_json_for(run, pod, RELEASE))
    work = tmp_path_factory.mktemp("plugins-pod")
    state = work / "pvc"
    # A volume this release already ran on, where an agent planted a DeepSeek look-alike and a
    # plugin of its own in OpenClaw's global plugin root.
    state.mkdir()
    (state / ".state-release.json").write_text(json.dumps({"release": RELEASE.version, "stateEpoch": 2}))
    _plant(state / "extensions" / "deepseek", "deepseek", "6.6.6")
    _plant(state / "extensions" / "evil", "evil", "1.0.0")
    _own(state)
    with PodSandbox(pod, work, state, app, node) as sandbox:
        logs: dict[str, str] = {}
        seconds = 0.0
        for container in pod.init_containers:
            code, log, secs = sandbox.run(container, timeout=600)
            logs[container.name] = log
            seconds += secs
            assert code == 0, f"{container.name} exited {code}: {log[-2000:]}"
        gateway = sandbox.start(pod.containers[0])
        ready = gateway.wait_listening(gateway.container.ports[0], WALL_CAP)
        booted = Booted(run, pod, sandbox, gateway, logs, seconds, ready)
        if ready is not None:
            time.sleep(5)
        booted.start_peak_mib = gateway.peak_rss_kib / 1024
        yield booted
        print(f"\ne2e plugins: openclaw {RELEASE.version} under node {RELEASE.node}, no registry"
              f"\n  init containers: {seconds:.1f} s ({', '.join(logs)})"
              f"\n  gateway listening: {ready and round(ready, 1)} s wall, {gateway.cpu_seconds():.1f} s CPU"
              f"\n  peak RSS of the start: {booted.start_peak_mib:.0f} MiB")


def test_the_plugins_step_verified_the_pin_and_set_the_planted_plugins_aside(booted: Booted) -> None:
    lines = booted.init_logs["plugins"].splitlines()
    assert lines[0].startswith(f"plugins: {PINNED.package}@{PINNED.version} {PINNED.integrity[:19]}... verified, "
                               f"15 files (40842 bytes) at {PLUGINS_DIR}/{folder_name(PINNED)}")
    assert lines[1].startswith("plugins: moved extensions/deepseek, extensions/evil to .archive/")
    state = booted.sandbox.state
    (archive,) = [p for p in (state / ".archive").iterdir() if p.name.endswith("-plugins")]
    assert sorted(p.name for p in (archive / "extensions").iterdir()) == ["deepseek", "evil"]
    assert booted.init_logs["state-guard"].strip() == (
        "state: last written by OpenClaw 2026.9.6 (state epoch 2); this pod runs 2026.9.6 (epoch 2): "
        "no migration needed")
    assert booted.init_logs["migrate"].strip() == (
        "migrate: nothing to migrate (state epoch 2); marked as written by OpenClaw 2026.9.6")


def test_the_gateway_starts_offline_without_trying_the_registry(booted: Booted) -> None:
    log = booted.gateway.log()
    assert booted.ready_seconds is not None, log[-3000:]
    assert booted.gateway.proc.poll() is None
    attempts = [line for line in log.splitlines() if any(marker in line for marker in INSTALL_ATTEMPT)]
    assert attempts == []
    assert "deepseek/deepseek-v4-flash model configured, enabled automatically" in log


def test_deepseek_is_served_by_the_pinned_plugin_only(booted: Booted) -> None:
    code, out = booted.cli("plugins", "list", "--json")
    assert code == 0, out[-2000:]
    listing: dict[str, Any] = json.loads(out[out.index("{"):out.rindex("}") + 1])
    plugins = {p["id"]: p for p in listing["plugins"]}
    deepseek = plugins["deepseek"]
    assert (deepseek["origin"], deepseek["status"], deepseek["enabled"]) == ("config", "loaded", True)
    assert (deepseek["name"], deepseek["version"]) == (PINNED.package, PINNED.version)
    assert deepseek["rootDir"] == f"{PLUGINS_DIR}/{folder_name(PINNED)}"
    assert deepseek["providerIds"] == ["deepseek"]
    assert "evil" not in plugins
    assert not list(booted.sandbox.state.glob("PLANTED-*"))


def test_the_models_come_from_the_plugins_catalog(booted: Booted) -> None:
    """Without the plugin 2026.9.6 lists the configured models with a generic 128,000-token context;
    the plugin's catalog (openclaw.plugin.json modelCatalog) says 1,000,000."""
    code, out = booted.cli("models", "list", "--json")
    assert code == 0, out[-2000:]
    models = {m["key"]: m for m in json.loads(out[out.index("{"):out.rindex("}") + 1])["models"]}
    assert models["deepseek/deepseek-v4-flash"]["contextWindow"] == 1_000_000
    assert models["deepseek/deepseek-v4-flash"]["available"] is True


@pytest.mark.parametrize("path,writable", [
    ("/home/node/.openclaw/extensions/evil/index.js", False),
    ("/home/node/.openclaw/npm/evil.js", False),
    (f"{PLUGINS_DIR}/{folder_name(PINNED)}/dist/index.js", False),
    (f"{PLUGINS_DIR}/extra.js", False),
    ("/home/node/.openclaw/workspace/agent-note.md", True),
])
def test_nothing_the_gateway_runs_can_plant_or_change_a_plugin(booted: Booted, path: str, writable: bool) -> None:
    """What an agent's shell in the gateway container can write: the seals and the pinned folder refuse."""
    script = (f"const fs=require('fs');const p={path!r};"
              "try{fs.mkdirSync(require('path').dirname(p))}catch(e){if(e.code!=='EEXIST'){console.log(e.code);process.exit(3)}}"
              "try{fs.writeFileSync(p,'planted');fs.unlinkSync(p)}catch(e){console.log(e.code);process.exit(3)}")
    code, out = exec_output(booted.sandbox, booted.gateway, ["node", "-e", script])
    assert (code, out.strip()) == ((0, "") if writable else (3, "EROFS"))


def test_the_pin_is_the_registrys_integrity() -> None:
    """The release model's integrity is what the npm registry publishes (the vendored file is checked
    against the model at every render: tests/test_plugins.py)."""
    for release in RELEASES.values():
        for plugin in release.plugins:
            assert registry_integrity(plugin.package, plugin.version) == plugin.integrity
