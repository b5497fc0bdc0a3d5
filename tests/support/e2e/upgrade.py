"""The upgrade e2e's shared pieces (tests/e2e/test_upgrade.py, test_upgrade_rollback.py; the
`upgraded` fixture in tests/e2e/conftest.py): the dev stack rendered for a release with the
preflight warning only, its init containers run in order as the kubelet runs them, the gateway
started, the openclaw CLI inside it, and the volume 2026.2.23 seeds and uses (an agent turn
against a stand-in model that leaves a session, edited workspace files, the memory index)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.releases import RELEASES, Release
from components.snapshot import pre_upgrade_job_name
from engine.harness import RunResult, run_stack
from tests.support.e2e.pod import Pod, job_pod_from_render, pod_from_render
from tests.support.e2e.releases import (
    exec_output,
    install_release,
    openclaw_json_for,
    rendered_openclaw_json,
    use_config,
)
from tests.support.e2e.sandbox import PodSandbox, Running
from tests.support.e2e.volume import copy_volume

REPO = Path(__file__).resolve().parents[3]
OLD, NEW = RELEASES["2026.2.23"], RELEASES["2026.9.6"]
PREFLIGHT_WARN_ONLY: dict[str, dict[str, list[str]]] = {
    "failOn": {"database": [], "kubernetes": [], "model": [], "telegram": []}}
FAKE_LLM_PORT = 18080
WALL_CAP = 900
MARKER = ".state-release.json"
TOKEN = f"remember-the-blue-notebook-{uuid.uuid4().hex[:8]}"
# Edited by a person on the 2026.2.23 volume: (path below the volume, text appended).
EDITS = {"workspace/SOUL.md": "\nEdited before the upgrade: answer in Korean first.\n",
         "workspace/MEMORY.md": f"\nThe upgrade test keeps {TOKEN}.\n",
         "workspaces/qa-engineer/TOOLS.md": "\nEdited before the upgrade: the test farm is qa-farm-7.\n"}


def render(release: Release) -> tuple[RunResult, Pod]:
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw",
                                                         "tag": release.version},
                                      "openclaw:preflight": PREFLIGHT_WARN_ONLY})
    pod = pod_from_render(run)
    use_config(pod, openclaw_json_for(run, pod, release))
    return run, pod


def run_inits(sandbox: PodSandbox, pod: Pod, stop_before: str | None = None) -> dict[str, tuple[int, str]]:
    """Each init container in order until one fails (the kubelet stops the pod there)."""
    results: dict[str, tuple[int, str]] = {}
    for container in pod.init_containers:
        if container.name == stop_before:
            break
        code, log, _ = sandbox.run(container, timeout=WALL_CAP)
        results[container.name] = (code, log)
        if code != 0:
            break
    return results


def start_gateway(sandbox: PodSandbox, pod: Pod) -> tuple[Running, float]:
    gateway = sandbox.start(pod.containers[0])
    ready = gateway.wait_listening(gateway.container.ports[0], WALL_CAP)
    assert ready is not None, gateway.log()[-3000:]
    return gateway, ready


def cli(sandbox: PodSandbox, gateway: Running, *args: str) -> str:
    code, out = exec_output(sandbox, gateway, ["node", "/app/openclaw.mjs", *args], timeout=WALL_CAP)
    assert code == 0, f"openclaw {' '.join(args)} exited {code}: {out[-3000:]}"
    return out


@dataclass
class Upgraded:
    work: Path
    before: Path                       # the volume as 2026.2.23 left it
    state: Path                        # the same volume after 2026.9.6's init containers and start
    old_config: dict[str, Any]
    sessions: dict[str, list[str]]     # agent id -> session ids 2026.2.23 recorded
    memory_index: str                  # sha256 of 2026.2.23's memory/main.sqlite
    inits: dict[str, tuple[int, str]] = field(default_factory=dict)
    gateway_log: str = ""
    sessions_after: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)
    snapshot_image: str = ""           # the Job's container image, as rendered
    snapshot: tuple[int, str] = (0, "")  # the Job's container: exit code, log


def use_2026_2_23(sandbox: PodSandbox, pod: Pod, figures: dict[str, float]) -> None:
    """Seed, edit, start 2026.2.23, one agent turn (a session), the memory index, stop."""
    inits = run_inits(sandbox, pod)
    assert all(code == 0 for code, _ in inits.values()), inits
    for rel, text in EDITS.items():
        with (sandbox.state / rel).open("a", encoding="utf-8") as f:
            f.write(text)
    fake = subprocess.Popen(["ip", "netns", "exec", sandbox.netns, sys.executable, "-m", "tests.support.e2e.fake_llm",
                             str(FAKE_LLM_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=REPO)
    try:
        started = time.monotonic()
        gateway, ready = start_gateway(sandbox, pod)
        figures["2026.2.23 listening s"] = ready
        cli(sandbox, gateway, "agent", "--local", "--agent", "main", "--message", f"Please note {TOKEN}.", "--json")
        cli(sandbox, gateway, "memory", "index", "--agent", "main")
        figures["2026.2.23 use s"] = time.monotonic() - started
        gateway.stop()
    finally:
        fake.kill()
        model_calls = fake.communicate()[1]
    assert TOKEN in model_calls, model_calls[-2000:]  # the turn reached the configured provider



def upgrade_volume(work: Path) -> Upgraded:
    """2026.2.23 uses a volume; the pre-upgrade Job's container snapshots it; 2026.9.6's init
    containers migrate it and 2026.9.6 starts on it."""
    state = work / "pvc"
    figures: dict[str, float] = {}
    old_app, old_node = install_release(OLD)
    new_app, new_node = install_release(NEW)
    _, old_pod = render(OLD)
    _, old_config = rendered_openclaw_json(old_pod)
    # The stand-in model on loopback: the only change to 2026.2.23's rendered config.
    old_config["models"]["providers"]["deepseek"]["baseUrl"] = f"http://127.0.0.1:{FAKE_LLM_PORT}/v1"
    use_config(old_pod, old_config)
    with PodSandbox(old_pod, work / "old", state, old_app, old_node) as sandbox:
        use_2026_2_23(sandbox, old_pod, figures)
    # agents/<id>/sessions/sessions.json: {"<session key>": {"sessionId": ..., ...}} (2026.2.23)
    sessions = {p.parent.parent.name: sorted(entry["sessionId"] for entry in json.loads(p.read_text()).values())
                for p in state.glob("agents/*/sessions/sessions.json")}
    result = Upgraded(work, copy_volume(state, work / "before"), state, old_config, sessions,
                      hashlib.sha256((state / "memory" / "main.sqlite").read_bytes()).hexdigest(), figures=figures)
    new_run, new_pod = render(NEW)
    # The pre-upgrade snapshot Job (the Deployment waits for it): its container in the old release's
    # image, so the old release's Node copies the old release's databases.
    job_pod = job_pod_from_render(new_run, pre_upgrade_job_name(OLD))
    (job_container,) = [*job_pod.init_containers, *job_pod.containers]
    result.snapshot_image = new_run.find("Job", pre_upgrade_job_name(OLD)).properties[
        "spec"]["template"]["spec"]["containers"][0]["image"]
    with PodSandbox(job_pod, work / "job", state, old_app, old_node) as sandbox:
        code, log, seconds = sandbox.run(job_container, timeout=WALL_CAP)
        result.snapshot = (code, log)
        figures["pre-upgrade snapshot Job s"] = seconds
    assert code == 0, log[-3000:]
    with PodSandbox(new_pod, work / "new", state, new_app, new_node) as sandbox:
        started = time.monotonic()
        result.inits = run_inits(sandbox, new_pod)
        figures["2026.9.6 init containers s"] = time.monotonic() - started
        assert all(code == 0 for code, _ in result.inits.values()), {k: v[1][-2000:] for k, v in result.inits.items()}
        summary = result.inits["migrate"][1].strip().splitlines()[-1]  # "... migrated to epoch 2 in 21.3 s; ..."
        figures["2026.9.6 migration s"] = float(summary.split(" in ")[1].split(" s")[0])
        gateway, ready = start_gateway(sandbox, new_pod)
        figures["2026.9.6 listening s"] = ready
        time.sleep(5)
        result.sessions_after = json.loads(cli(sandbox, gateway, "sessions", "--agent", "main", "--json"))
        result.gateway_log = gateway.log()
        gateway.stop()
    return result
