"""The rendered pod booted for real (`./run e2e`): the OpenClaw release the stack's image tag names,
under the pinned Node 22, its init container(s) then the gateway, as tools/e2e lays them out.

Nothing here knows what the init container runs: commands, env, volumes all come from the render.
`OPENCLAW_E2E_STACK` picks the stack (default dev). Figures are printed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.config.base import quantity_mib
from components.config.workload import cpu_cores
from tools.e2e.install import install_openclaw
from tools.e2e.pod import Pod, pod_from_render
from tools.e2e.sandbox import PodSandbox, Running
from tools.harness import RunResult, run_stack
from tools.toolchain import NODE_VERSION, node_binary

pytestmark = pytest.mark.e2e

STACK = os.environ.get("OPENCLAW_E2E_STACK", "dev")
WRONG = "fake-not-a-secret-wrong-token"
OTHER_ORIGIN = "https://not-the-control-ui.example"
# Sizing lines (README "Sizing"): the peak stays under 75% of the limit; the start's CPU time fits
# the startup probe budget at the CPU request.
MEMORY_LINE = 0.75
SETTLE_SECONDS = 10  # after listening, the start's memory peak is still sampled this long
PREFLIGHT_WARN_ONLY = {"failOn": {"database": [], "kubernetes": [], "model": [], "telegram": []}}


@dataclass
class Booted:
    run: RunResult
    pod: Pod
    release: str
    sandbox: PodSandbox
    gateway: Running
    init_seconds: float
    init_logs: list[str]
    ready_seconds: float | None
    ready_cpu_seconds: float

    @property
    def main(self) -> dict[str, Any]:
        spec = self.run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
        return dict(spec["containers"][0])

    @property
    def port(self) -> int:
        return self.gateway.container.ports[0]

    @property
    def token(self) -> str:
        return self.gateway.container.env["OPENCLAW_GATEWAY_TOKEN"]

    def openclaw_json(self) -> dict[str, Any]:
        (text,) = [d["openclaw.json"] for d in self.pod.config_maps.values() if "openclaw.json" in d]
        result: dict[str, Any] = json.loads(text)
        return result


def release_of(run: RunResult) -> str:
    """The tag of the gateway image in the render (`repo:tag[@digest]`)."""
    image = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]["containers"][0]["image"]
    return str(image.split("@")[0].rsplit(":", 1)[1])


def run_inits(sandbox: PodSandbox, pod: Pod) -> tuple[list[int], list[str], float]:
    codes, logs, seconds = [], [], 0.0
    for container in pod.init_containers:
        code, log, secs = sandbox.run(container)
        codes.append(code)
        logs.append(log)
        seconds += secs
        if code != 0:
            break
    return codes, logs, seconds


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every path under the volume: content hash (files) or kind, and mtime in ns."""
    result = {}
    for path in [root, *sorted(root.rglob("*"))]:
        kind = path.read_bytes().hex()[:64] if path.is_file() and not path.is_symlink() else "dir"
        result[str(path.relative_to(root))] = (kind, path.lstat().st_mtime_ns)
    return result


WALL_CAP = 600


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    # The sandbox has no cluster and no internet: nothing the dependency preflight checks exists,
    # so it only warns here (default failOn would stop the pod, as it should in a cluster like that).
    run = run_stack(STACK, overrides={"openclaw:preflight": PREFLIGHT_WARN_ONLY})
    release = release_of(run)
    app = install_openclaw(release)
    pod = pod_from_render(run)
    work = tmp_path_factory.mktemp("pod")
    with PodSandbox(pod, work, work / "pvc", app, node_binary()) as sandbox:
        codes, logs, init_seconds = run_inits(sandbox, pod)
        assert codes and all(c == 0 for c in codes), f"init failed {codes}: {logs[-1][-2000:]}"
        gateway = sandbox.start(pod.containers[0])
        probe = gateway.container.probes["startupProbe"]
        budget = probe["periodSeconds"] * probe["failureThreshold"]
        # The probe budget assumes the CPU request only; here the gateway has the machine's cores,
        # so wait at most WALL_CAP seconds (3x the slowest start measured on a loaded machine) and stop
        # as soon as it has burnt the CPU the budget allows at the request.
        cpu_budget = budget * cpu_cores(gateway.container.resources["requests"]["cpu"])
        ready = gateway.wait_listening(gateway.container.ports[0], min(budget, WALL_CAP), cpu_budget)
        booted = Booted(run, pod, release, sandbox, gateway, init_seconds, logs, ready, gateway.cpu_seconds())
        if ready is not None:
            time.sleep(SETTLE_SECONDS)
        yield booted
        _report(booted)


def _report(b: Booted) -> None:
    limit = quantity_mib(b.main["resources"]["limits"]["memory"])
    peak = b.gateway.peak_rss_kib / 1024
    print(f"\ne2e: openclaw {b.release} under node {NODE_VERSION} (stack {STACK})"
          f"\n  init containers: {b.init_seconds:.1f} s"
          f"\n  gateway listening: {b.ready_seconds and round(b.ready_seconds, 1)} s wall, "
          f"{b.ready_cpu_seconds:.1f} s CPU"
          f"\n  peak RSS: {peak:.0f} MiB of a {limit:.0f} MiB limit ({peak / limit:.0%}; line {MEMORY_LINE:.0%})"
          f"\n  {b.main['env'] and next(e['value'] for e in b.main['env'] if e['name'] == 'NODE_OPTIONS')}")


# --- the fresh volume and the gateway -----------------------------------------------------------

def test_init_seeds_every_agent_of_the_config(booted: Booted) -> None:
    state = booted.sandbox.state
    mount = next(path for name, path, _ in booted.gateway.container.mounts
                 if "persistentVolumeClaim" in booted.pod.volumes[name])
    on_volume = json.loads((state / "openclaw.json").read_text(encoding="utf-8"))
    assert on_volume == booted.openclaw_json()
    for agent in on_volume["agents"]["list"]:
        for key in ("workspace", "agentDir"):
            path = Path(agent[key])
            assert path.is_relative_to(mount), agent
            assert (state / path.relative_to(mount)).is_dir(), (agent["id"], key)
        assert any((state / Path(agent["workspace"]).relative_to(mount)).iterdir()), agent["id"]


def test_gateway_listens_on_the_configured_port(booted: Booted) -> None:
    probe = booted.gateway.container.probes["startupProbe"]
    assert booted.ready_seconds is not None, booted.gateway.log()[-3000:]
    assert booted.port == booted.openclaw_json()["gateway"]["port"]
    # The rendered probe, run as the kubelet runs an exec probe: inside the container, as its user.
    assert booted.sandbox.exec_in(booted.gateway, probe["exec"]["command"]) == 0
    wrong_port = [a.replace(str(booted.port), str(booted.port + 1)) for a in probe["exec"]["command"]]
    assert booted.sandbox.exec_in(booted.gateway, wrong_port) != 0


@pytest.mark.parametrize("path,writable", [("/tmp/e2e-probe", True), ("/home/node/.openclaw/e2e-probe", True),
                                           ("/app/e2e-probe", False), ("/e2e-probe", False),
                                           ("/home/node/e2e-probe", False)])
def test_only_the_volumes_are_writable(booted: Booted, path: str, writable: bool) -> None:
    """readOnlyRootFilesystem as the gateway sees it: writes land only on the pod's volumes."""
    write = ["node", "-e", f"require('fs').writeFileSync({path!r}, ''); require('fs').unlinkSync({path!r})"]
    assert (booted.sandbox.exec_in(booted.gateway, write) == 0) is writable


@pytest.mark.parametrize("token,status", [("good", 200), ("wrong", 401), (None, 401)])
def test_tools_invoke_takes_only_the_gateway_token(booted: Booted, token: str | None, status: int) -> None:
    sent = {"good": booted.token, "wrong": WRONG, None: None}[token]
    args = ["http", str(booted.port), "POST", "/tools/invoke", *([sent] if sent else [])]
    answer = booted.sandbox.client(*args)
    assert answer["status"] == status, answer


def test_control_ui_accepts_the_configured_origin(booted: Booted) -> None:
    """Past the origin check, 2026.2.23 asks a Control UI for the device identity a browser signs
    (CONTROL_UI_DEVICE_IDENTITY_REQUIRED): the next gate, so the origin was accepted."""
    (origin,) = booted.openclaw_json()["gateway"]["controlUi"]["allowedOrigins"]
    answer = booted.sandbox.client("ws", str(booted.port), origin, booted.token)
    response = answer["frames"][-1]
    assert answer["frames"][0].get("event") == "connect.challenge", answer
    assert response.get("type") == "res" and response.get("id") == "e2e-1", answer
    assert response.get("ok") is True or "origin" not in json.dumps(response.get("error")), answer


def test_control_ui_refuses_another_origin(booted: Booted) -> None:
    answer = booted.sandbox.client("ws", str(booted.port), OTHER_ORIGIN, booted.token)
    response = answer["frames"][-1]
    assert response.get("ok") is False and "origin not allowed" in response["error"]["message"], answer
    assert answer["closed"] == 1008, answer


def test_memory_peak_leaves_a_quarter_of_the_limit(booted: Booted) -> None:
    limit = quantity_mib(booted.main["resources"]["limits"]["memory"])
    peak = booted.gateway.peak_rss_kib / 1024
    assert booted.gateway.proc.poll() is None, "the gateway exited"
    assert peak <= MEMORY_LINE * limit, (f"peak RSS {peak:.0f} MiB passes {MEMORY_LINE:.0%} of the {limit:.0f} MiB "
                                         "limit: raise openclaw:resources.memory (README, Sizing)")


def test_startup_probe_budget_covers_the_start_at_the_cpu_request(booted: Booted) -> None:
    probe = booted.gateway.container.probes["startupProbe"]
    budget = probe["periodSeconds"] * probe["failureThreshold"]
    cores = cpu_cores(booted.main["resources"]["requests"]["cpu"])
    # A busy node gives the pod only its request: the start's CPU time, spread at that rate.
    assert booted.ready_cpu_seconds / cores <= budget, (
        f"{booted.ready_cpu_seconds:.1f} CPU s at {cores} cores is {booted.ready_cpu_seconds / cores:.0f} s, "
        f"over the startup probe's {budget} s")


# --- the seeding contract on volumes of their own -----------------------------------------------

@pytest.fixture
def seeding(booted: Booted, tmp_path: Path) -> Iterator[tuple[PodSandbox, Pod]]:
    with PodSandbox(booted.pod, tmp_path, tmp_path / "pvc", booted.sandbox.app, booted.sandbox.node) as sandbox:
        yield sandbox, booted.pod


def test_a_second_start_changes_nothing(seeding: tuple[PodSandbox, Pod]) -> None:
    sandbox, pod = seeding
    assert run_inits(sandbox, pod)[0][-1] == 0
    before = snapshot(sandbox.state)
    codes, logs, _ = run_inits(sandbox, pod)
    assert all(c == 0 for c in codes), logs
    assert snapshot(sandbox.state) == before


def test_an_old_volume_is_archived_and_edits_are_kept(seeding: tuple[PodSandbox, Pod]) -> None:
    sandbox, pod = seeding
    state = sandbox.state
    assert run_inits(sandbox, pod)[0][-1] == 0
    edited = state / "workspace" / "AGENTS.md"
    edited.write_text("edited by a person\n", encoding="utf-8")
    for legacy in ("sales", "growth", "cs", "stale-helper"):
        (state / "workspaces" / legacy).mkdir(parents=True)
        (state / "workspaces" / legacy / "MEMORY.md").write_text(f"{legacy} notes\n", encoding="utf-8")
        (state / "agents" / legacy / "sessions").mkdir(parents=True)
    shutil.chown(state, 1000, 1000)
    for path in state.rglob("*"):
        shutil.chown(path, 1000, 1000)
    codes, logs, _ = run_inits(sandbox, pod)
    assert all(c == 0 for c in codes), logs
    assert edited.read_text(encoding="utf-8") == "edited by a person\n"
    (archive,) = (state / ".archive").iterdir()
    for legacy in ("sales", "growth", "cs", "stale-helper"):
        assert not (state / "workspaces" / legacy).exists()
        assert not (state / "agents" / legacy).exists()
        assert (archive / "workspaces" / legacy / "MEMORY.md").read_text(encoding="utf-8") == f"{legacy} notes\n"
        assert (archive / "agents" / legacy / "sessions").is_dir()


def test_an_empty_gateway_token_stops_the_init_step(booted: Booted, tmp_path: Path) -> None:
    names = [c.name for c in booted.pod.init_containers]
    pod = pod_from_render(booted.run, env_overrides={n: {"OPENCLAW_GATEWAY_TOKEN": ""} for n in names})
    with PodSandbox(pod, tmp_path, tmp_path / "pvc", booted.sandbox.app, booted.sandbox.node) as sandbox:
        codes, logs, _ = run_inits(sandbox, pod)
        assert codes[-1] != 0
        assert "OPENCLAW_GATEWAY_TOKEN" in logs[-1]
        assert not (sandbox.state / "openclaw.json").exists()
        assert "fake-not-a-secret" not in "".join(logs)


# --- the dependency preflight (components/scripts/preflight.mjs) in the sandbox ---------------------

def test_preflight_names_every_dependency_in_seconds(booted: Booted) -> None:
    """As the pod runs it: node 22, uid 1000, read-only root, no network. Every dependency of the
    rendered list gets its line (none reachable here), then the summary; warn-only: exit 0."""
    names = [c.name for c in booted.pod.init_containers]
    log = booted.init_logs[names.index("preflight")]
    (text,) = [d["dependencies.json"] for d in booted.pod.config_maps.values() if "dependencies.json" in d]
    deps = json.loads(text)["dependencies"]
    lines = [line for line in log.splitlines() if line.startswith("preflight: [")]
    assert len(lines) == len(deps) == 4
    for dep in deps:
        (line,) = [x for x in lines if x.endswith(f" -- {dep['name']}") or f" -- {dep['name']} -- " in x]
        assert line.startswith("preflight: [FAIL ") and f"] {dep['kind']} {dep['host']}:{dep['port']} " in line
    summary = [line for line in log.splitlines() if line.startswith("preflight: summary: ")]
    assert summary and summary[0].endswith("0 failed (enforced): exit 0"), log
    assert int(summary[0].split(" checked in ")[1].split("ms")[0]) < 10_000
