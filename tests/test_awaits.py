"""`pulumi up` waits as long as the pod may take to start (components/awaits.py), checked against
a model of the kubelet, the Deployment controller and pulumi-kubernetes' awaiters (tests/support/awaiter.py)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components import awaits
from components.config import ConfigError, parse_config
from components.releases import RELEASES
from engine.harness import RunResult, run_stack
from tests.support.awaiter import Scenario, pod_ready_at, provider_timeout, simulate
from tests.test_dependencies import _config as stack_config_model
from tests.test_pre_upgrade_job import _stack_kubernetes

# FACTS.md: local-path-retain binds WaitForFirstConsumer (the program does not create it).
STORAGE_CLASS = {"kind": "StorageClass", "metadata": {"name": "local-path-retain"},
                 "volumeBindingMode": "WaitForFirstConsumer"}
ORIGINS = {"allowedOrigins": ["https://ui.example.test"]}
NETWORK = {"apiServerEndpoints": ["192.168.10.10:6443"]}


def _objects(run: RunResult) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return (copy.deepcopy(run.find("Deployment", "openclaw").properties),
            copy.deepcopy(run.find("Service", "openclaw").properties),
            copy.deepcopy(run.find("PersistentVolumeClaim", "openclaw-data").properties))


def _pod(deployment: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


def _worst(run: RunResult, stack: str, **changes: Any) -> Scenario:
    """Everything at its allowance, and a gateway that answers at the startup probe's last chance."""
    deployment = _objects(run)[0]
    probe = _pod(deployment)["containers"][0]["startupProbe"]
    cfg = stack_config_model(stack)
    init = {c["name"]: awaits._init_worst(_args(c), cfg) for c in _pod(deployment)["initContainers"]}
    last = probe.get("initialDelaySeconds", 0) + (probe["failureThreshold"] - 1) * probe["periodSeconds"]
    base = {"pull": float(cfg.rollout.image_pull_seconds), "init": init, "listen": float(last),
            "scheduling": float(awaits.SCHEDULING_SECONDS), "update": True}
    return Scenario(**{**base, **changes})


def _args(container: dict[str, Any]) -> k8s.core.v1.ContainerArgs:
    """A rendered container back as the Args the program built (name, CPU request, env)."""
    return k8s.core.v1.ContainerArgs(
        name=container["name"], resources=k8s.core.v1.ResourceRequirementsArgs(
            requests=container.get("resources", {}).get("requests")),
        env=[k8s.core.v1.EnvVarArgs(name=e["name"], value=e.get("value")) for e in container.get("env", [])])


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> tuple[str, RunResult]:
    return request.param, request.getfixturevalue(request.param)


def test_the_rendered_fields(stack: tuple[str, RunResult]) -> None:
    name, run = stack
    deployment, service, pvc = _objects(run)
    probe = _pod(deployment)["containers"][0]["startupProbe"]
    budget = probe.get("initialDelaySeconds", 0) + probe["failureThreshold"] * probe["periodSeconds"]
    assert budget == {"dev": 480, "prod": 230}[name]  # 48 / 23 probes of 10 s: 2026.9.6 at 50m, 2026.2.23 at 250m
    deadline = deployment["spec"]["progressDeadlineSeconds"]
    worst = _worst(run, name)
    assert deadline >= budget + worst.pull + worst.scheduling + sum(worst.init.values())
    plugins = {"plugins"} if name == "dev" else set()  # 2026.9.6 pins a plugin
    assert set(worst.init) == {"state-guard", "seed", "migrate", "preflight", *plugins}
    assert all(v > 0 for v in worst.init.values())
    timeout = int(deployment["metadata"]["annotations"]["pulumi.com/timeoutSeconds"])
    assert timeout == deadline + awaits.PROVIDER_SLACK_SECONDS
    assert int(service["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) == timeout + 70
    assert "annotations" not in pvc["metadata"] or "pulumi.com/timeoutSeconds" not in pvc["metadata"]["annotations"]


def test_the_worst_start_within_the_probe_budget_passes_the_up(stack: tuple[str, RunResult]) -> None:
    name, run = stack
    outcome = simulate(*_objects(run), STORAGE_CLASS, _worst(run, name))
    assert outcome.pod_ready_at is not None
    assert outcome.progress_deadline_exceeded_at is None
    assert outcome.deployment.ok and outcome.service.ok and outcome.pvc.ok, outcome


def test_one_tick_past_the_startup_budget_is_a_restart_not_a_longer_wait(stack: tuple[str, RunResult]) -> None:
    name, run = stack
    worst = _worst(run, name)
    outcome = simulate(*_objects(run), STORAGE_CLASS, Scenario(**{**worst.__dict__, "listen": worst.listen + 1}))
    assert outcome.pod_ready_at is None and outcome.progress_deadline_exceeded_at is not None
    assert not outcome.deployment.ok and "[ProgressDeadlineExceeded]" in outcome.deployment.message


@pytest.mark.parametrize(("late", "exceeded", "deployment_ok"), [
    (0, False, True),    # ready exactly at progressDeadlineSeconds
    (1, True, True),     # the controller flags it, the provider still waits (its slack)
    (60, True, True),    # ready exactly at the provider's timeout
    (61, True, False),   # one second later: the `up` fails, naming Kubernetes' reason
])
def test_the_edges_of_the_deadlines(stack: tuple[str, RunResult], late: int, exceeded: bool,
                                    deployment_ok: bool) -> None:
    name, run = stack
    objects = _objects(run)
    worst = _worst(run, name)
    ready = pod_ready_at(objects[0], worst)
    assert ready is not None
    gap = objects[0]["spec"]["progressDeadlineSeconds"] - ready  # unused allowance of the worst case
    assert 0 <= gap <= 30, gap  # the derivation leaves no more than a readiness tick and a probe timeout
    outcome = simulate(*objects, STORAGE_CLASS, Scenario(**{**worst.__dict__, "pull": worst.pull + gap + late}))
    assert (outcome.progress_deadline_exceeded_at is not None) is exceeded
    assert outcome.deployment.ok is deployment_ok, outcome.deployment
    assert outcome.service.ok, outcome.service  # the Service waits the Deployment's time plus its settling


def test_without_the_derived_fields_a_slow_start_fails_the_up(dev: RunResult) -> None:
    """The render before this fix: no annotation, no progressDeadlineSeconds. A start the probe allows
    (450 s of the 480 s that 2026.9.6's 19 CPU-s need at the 50m request, after a 120 s pull) fails
    both awaits at 600 s."""
    deployment, service, pvc = _objects(dev)
    del deployment["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]
    del deployment["spec"]["progressDeadlineSeconds"]
    del service["metadata"]["annotations"]
    outcome = simulate(deployment, service, pvc, STORAGE_CLASS, _worst(dev, "dev", listen=450.0, update=False,
                                                                       pull=120.0))
    assert outcome.pod_ready_at is not None and outcome.pod_ready_at > 600
    assert outcome.deployment == outcome.deployment.__class__(
        False, 600.0, "Deployment: timed out waiting to be Ready after 600s [ProgressDeadlineExceeded]")
    assert not outcome.service.ok and outcome.service.at == 600.0
    assert simulate(*_objects(dev), STORAGE_CLASS, _worst(dev, "dev", listen=450.0, pull=120.0)).deployment.ok


def test_how_the_provider_reads_its_wait() -> None:
    obj = {"metadata": {"annotations": {"pulumi.com/timeoutSeconds": "1692"}}}
    assert provider_timeout(obj) == 1692
    assert provider_timeout(obj, custom=120) == 120  # customTimeouts come first
    assert provider_timeout({"metadata": {"annotations": {"pulumi.com/timeoutSeconds": "20m"}}}) == 600
    assert provider_timeout({"metadata": {}}) == 600


def test_the_claim_does_not_wait_for_the_pod_unless_the_class_is_unreadable(dev: RunResult) -> None:
    objects = _objects(dev)
    assert simulate(*objects, STORAGE_CLASS, _worst(dev, "dev")).pvc.at == 0
    blind = simulate(*objects, STORAGE_CLASS, _worst(dev, "dev", storage_class_readable=False))
    assert not blind.pvc.ok and blind.pvc.at == 300  # the watcher's own limit, whatever the timeout
    assert not blind.deployment.ok and blind.deployment.message == "Deployment: not created (it waits for its claim)"
    immediate = {**STORAGE_CLASS, "volumeBindingMode": "Immediate"}
    assert simulate(*objects, immediate, _worst(dev, "dev", storage_class_readable=False)).pvc.ok


def test_the_waits_follow_the_rendered_probe() -> None:
    """Derived from the probe as rendered: a larger CPU request shortens the probe budget (2026.9.6: 48
    -> 18 probes of 10 s at 1 CPU, the 180 s floor) and the migration's timeout (twice the 475 s
    budget -> its 600 s floor), and the waits by exactly as much: 300 + 350 s."""
    fast = run_stack("dev", overrides={"openclaw:resources": {"cpuRequest": "1", "memory": "2048Mi",
                                                              "heapHeadroomMib": 1152}})
    dev = run_stack("dev")
    slow_d, fast_d = (r.find("Deployment", "openclaw").properties for r in (dev, fast))
    assert _pod(fast_d)["containers"][0]["startupProbe"]["failureThreshold"] == 18
    assert slow_d["spec"]["progressDeadlineSeconds"] - fast_d["spec"]["progressDeadlineSeconds"] == 650


def test_pod_timing_reads_the_template() -> None:
    cfg = parse_config({"gateway": ORIGINS, "network": NETWORK, "rollout": {"imagePullSeconds": 0}})
    probe = k8s.core.v1.ProbeArgs(initial_delay_seconds=5, failure_threshold=7, period_seconds=3, timeout_seconds=2)
    ready = k8s.core.v1.ProbeArgs(period_seconds=4, timeout_seconds=2)
    seed = k8s.core.v1.ContainerArgs(name="seed", resources=k8s.core.v1.ResourceRequirementsArgs(
        requests={"cpu": "100m"}), env=[k8s.core.v1.EnvVarArgs(name="OPENCLAW_AGENT_IDS", value="a b c d")])
    template = k8s.core.v1.PodTemplateSpecArgs(spec=k8s.core.v1.PodSpecArgs(
        termination_grace_period_seconds=7, init_containers=[seed],
        containers=[k8s.core.v1.ContainerArgs(name="g", startup_probe=probe, readiness_probe=ready)]))
    timing = awaits.pod_timing(template, cfg)
    assert (timing.pull, timing.startup, timing.readiness, timing.grace) == (0, 26, 6, 7)
    assert timing.init == (("seed", pytest.approx(4 * 0.01 * 2 / 0.1)),)
    odd = k8s.core.v1.PodTemplateSpecArgs(spec=k8s.core.v1.PodSpecArgs(
        init_containers=[k8s.core.v1.ContainerArgs(name="restore")], containers=[]))
    with pytest.raises(ValueError, match=r"init container 'restore' has no worst case in components/awaits\.py"):
        awaits.pod_timing(odd, cfg)


@pytest.mark.parametrize(("seconds", "ok"), [(0, True), (3600, True), (-1, False), (3601, False)])
def test_pull_allowance_is_config(seconds: int, ok: bool) -> None:
    raw = {"gateway": ORIGINS, "network": NETWORK, "rollout": {"imagePullSeconds": seconds}}
    if ok:
        assert parse_config(raw).rollout.image_pull_seconds == seconds
    else:
        with pytest.raises(ConfigError, match=r"openclaw:rollout\.imagePullSeconds"):
            parse_config(raw)


def test_pull_allowance_moves_the_waits() -> None:
    base = run_stack("dev").find("Deployment", "openclaw").properties["spec"]["progressDeadlineSeconds"]
    more = run_stack("dev", overrides={"openclaw:rollout": {"imagePullSeconds": 900}})
    assert more.find("Deployment", "openclaw").properties["spec"]["progressDeadlineSeconds"] == base + 600



# --- the grace period follows the release's own shutdown timer (components/releases.py) ----------------


@pytest.mark.parametrize(("tag", "grace"), [("2026.2.23", 30), ("2026.3.7", 30), ("2026.6.35", 30),
                                            ("2026.9.6", 330)])
def test_the_pods_grace_period_covers_the_releases_shutdown(tag: str, grace: int) -> None:
    release = RELEASES[tag]
    assert release.termination_grace_seconds == max(30, release.shutdown_seconds + 5) == grace
    run = run_stack("dev", overrides={
        "openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": tag},
        "openclaw:kubernetes": {**_stack_kubernetes("dev"), "releaseLock": tag}})
    assert _pod(run.find("Deployment", "openclaw").properties)["terminationGracePeriodSeconds"] == grace


def test_a_shutdown_just_under_and_over_the_default_grace() -> None:
    base = RELEASES["2026.6.35"]
    assert dataclasses.replace(base, shutdown_seconds=25).termination_grace_seconds == 30
    assert dataclasses.replace(base, shutdown_seconds=26).termination_grace_seconds == 31


def test_the_wait_counts_the_releases_grace_period() -> None:
    """2026.9.6's 330 s grace period, against the default 30 s, in the pod's worst case."""
    cfg = parse_config({"gateway": ORIGINS, "network": NETWORK, "image": {"tag": "2026.9.6"}})
    probe = k8s.core.v1.ProbeArgs(failure_threshold=1, period_seconds=1)

    def ready_seconds(grace: int) -> int:
        template = k8s.core.v1.PodTemplateSpecArgs(spec=k8s.core.v1.PodSpecArgs(
            termination_grace_period_seconds=grace,
            containers=[k8s.core.v1.ContainerArgs(name="g", startup_probe=probe)]))
        return awaits.pod_timing(template, cfg).ready_seconds

    assert ready_seconds(cfg.release.termination_grace_seconds) - ready_seconds(30) == 300
