"""Boot a rendered pod with the real release (the e2e and bench/release_start.py): install the
release the gateway image names under the Node the release model gives it, lay the pod out as the
kubelet would (tests/support/e2e/pod.py), run its init containers, start the gateway in a network namespace
with loopback only, and wait until its rendered startup probe passes, as the kubelet would.

What it measures is what the sizing derives from (components/releases.py `Sizing`): the gateway's
CPU time until the startup probe passes (listening, and /startupz 200 where the release has it),
and the peak RSS of its processes while starting and `settle` seconds after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config.workload import cpu_cores
from components.releases import RELEASES, Release, untested_base
from engine.harness import RunResult
from tests.support.e2e.install import install_openclaw
from tests.support.e2e.pod import Pod, pod_from_render
from tests.support.e2e.sandbox import PodSandbox, Running
from tools.toolchain import node_binary

WALL_CAP = 600  # seconds: 3x the slowest start measured on a loaded machine
PROBE_EVERY = 1.0  # seconds between startup probes once the port listens (the kubelet's is 10)


def release_of(run: RunResult) -> str:
    """The tag of the gateway image in the render (`repo:tag[@digest]`)."""
    image = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]["containers"][0]["image"]
    return str(image.split("@")[0].rsplit(":", 1)[1])


def release_model(tag: str) -> Release:
    return RELEASES.get(tag) or untested_base(tag)


@dataclass
class Booted:
    run: RunResult
    pod: Pod
    release: str
    node: str
    sandbox: PodSandbox
    gateway: Running
    init_seconds: float
    init_codes: list[int]
    init_logs: list[str]
    listening_seconds: float | None   # wall time until the port listens
    listening_cpu_seconds: float
    started_seconds: float | None     # wall time until the rendered startup probe passes
    started_cpu_seconds: float        # the gateway's CPU time then: what the startup budget covers

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

    @property
    def peak_rss_mib(self) -> float:
        return self.gateway.peak_rss_kib / 1024


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


def wait_started(sandbox: PodSandbox, gateway: Running, timeout: float, cpu_budget: float
                 ) -> tuple[float | None, float, float | None, float]:
    """(seconds, CPU) until the port listens, then until the rendered startup probe passes; None when
    the gateway exited, the time ran out, or it spent more than `cpu_budget` CPU-seconds first (a
    start that would outrun the startup probe at the pod's CPU request, found without waiting it out)."""
    command = gateway.container.probes["startupProbe"]["exec"]["command"]
    listening = gateway.wait_listening(gateway.container.ports[0], timeout, cpu_budget)
    listening_cpu = gateway.cpu_seconds()
    if listening is None:
        return None, listening_cpu, None, listening_cpu
    while time.monotonic() - gateway.started < timeout and gateway.proc.poll() is None:
        cpu = gateway.cpu_seconds()
        if sandbox.exec_in(gateway, command) == 0:
            return listening, listening_cpu, time.monotonic() - gateway.started, cpu
        if cpu > cpu_budget:
            break
        time.sleep(PROBE_EVERY)
    return listening, listening_cpu, None, gateway.cpu_seconds()


def boot(run: RunResult, work: Path, settle: float = 10) -> Booted:
    """Boot the render's pod; the caller closes `booted.sandbox` (a context manager) when done."""
    tag = release_of(run)
    release = release_model(tag)
    app = install_openclaw(tag, release.node)
    pod = pod_from_render(run)
    sandbox = PodSandbox(pod, work, work / "pvc", app, node_binary(release.node))
    sandbox.__enter__()
    try:
        codes, logs, init_seconds = run_inits(sandbox, pod)
        if not codes or any(c != 0 for c in codes):
            raise AssertionError(f"init failed {codes}: {logs[-1][-2000:] if logs else ''}")
        gateway = sandbox.start(pod.containers[0])
        probe = gateway.container.probes["startupProbe"]
        budget = probe["periodSeconds"] * probe["failureThreshold"]
        # The probe budget assumes the CPU request only; here the gateway has the machine's cores,
        # so wait at most WALL_CAP seconds and stop once it has burnt the CPU the budget allows.
        cpu_budget = budget * cpu_cores(gateway.container.resources["requests"]["cpu"])
        listening, listening_cpu, started, started_cpu = wait_started(sandbox, gateway, min(budget, WALL_CAP),
                                                                      cpu_budget)
        if started is not None:
            time.sleep(settle)  # the start's memory peak is still sampled this long
    except BaseException:
        sandbox.__exit__(None, None, None)
        raise
    return Booted(run, pod, tag, release.node, sandbox, gateway, init_seconds, codes, logs, listening,
                  listening_cpu, started, started_cpu)


def report(b: Booted, stack: str, limit_mib: float, line: float) -> str:
    peak = b.peak_rss_mib
    return (f"e2e: openclaw {b.release} under node {b.node} (stack {stack})"
            f"\n  init containers: {b.init_seconds:.1f} s"
            f"\n  gateway listening: {b.listening_seconds and round(b.listening_seconds, 1)} s wall, "
            f"{b.listening_cpu_seconds:.1f} s CPU"
            f"\n  startup probe passed: {b.started_seconds and round(b.started_seconds, 1)} s wall, "
            f"{b.started_cpu_seconds:.1f} s CPU"
            f"\n  peak RSS: {peak:.0f} MiB of a {limit_mib:.0f} MiB limit ({peak / limit_mib:.0%}; line {line:.0%})"
            f"\n  {next(e['value'] for e in b.main['env'] if e['name'] == 'NODE_OPTIONS')}")
