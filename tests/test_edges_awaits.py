"""Edges of what `pulumi up` waits for (components/awaits.py): each init container's worst case on
its own, each branch of whether the release's migration may run in this rollout, and the Job's wait."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components import awaits
from components.config import parse_config

ORIGINS = {"allowedOrigins": ["https://ui.example.test"]}
NETWORK = {"apiServerEndpoints": ["192.168.10.10:6443"]}


def _cfg(tag: str, lock: str | None = None, **extra: Any) -> Any:
    raw: dict[str, Any] = {"gateway": ORIGINS, "network": NETWORK, "image": {"tag": tag}, **extra}
    if lock is not None:
        raw["kubernetes"] = {"releaseLock": lock}
    return parse_config(raw)


@pytest.mark.parametrize(("tag", "lock", "may_run"), [
    ("2026.9.6", None, True),         # the volume's release is unknown: it may be of the lower epoch
    ("2026.9.6", "2026.6.35", True),  # epoch 1 -> 2: the migration is due
    ("2026.9.6", "2026.9.6", False),  # the same epoch: migrated already
    ("2026.6.35", None, False),       # a release without a migration
    ("2026.6.35", "2026.3.7", False),
])
def test_the_migration_may_run_only_across_a_lower_epoch(tag: str, lock: str | None, may_run: bool) -> None:
    assert awaits.migration_may_run(_cfg(tag, lock)) is may_run


@pytest.mark.parametrize("deadline", [0, 1, 600, 3600])
def test_a_jobs_wait_is_its_deadline_plus_the_providers_slack(deadline: int) -> None:
    assert awaits.job_timeout_seconds(deadline) == deadline + 60


# --- the pod's worst case, read from the template as rendered (components/awaits.py pod_timing) ---------


def _container(name: str, cpu: str | None = None, env: dict[str, str] | None = None,
               **probes: Any) -> k8s.core.v1.ContainerArgs:
    requests = k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": cpu}) if cpu else None
    return k8s.core.v1.ContainerArgs(name=name, resources=requests,
                                     env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in (env or {}).items()],
                                     **probes)


def _timing(cfg: Any, containers: list[Any] | None = None, init: list[Any] | None = None,
            grace: int | None = None) -> awaits.PodTiming:
    return awaits.pod_timing(k8s.core.v1.PodTemplateSpecArgs(spec=k8s.core.v1.PodSpecArgs(
        containers=containers or [], init_containers=init, termination_grace_period_seconds=grace)), cfg)


EXEC = k8s.core.v1.ExecActionArgs(command=["true"])
NO_PULL = {"rollout": {"imagePullSeconds": 0}}


def test_a_probe_without_its_fields_counts_the_kubernetes_defaults() -> None:
    """initialDelaySeconds 0, failureThreshold 3, periodSeconds 10, timeoutSeconds 1 (core/v1 Probe)."""
    bare = k8s.core.v1.ProbeArgs(exec_=EXEC)
    timing = _timing(_cfg("2026.9.6", **NO_PULL), [_container("g", startup_probe=bare, readiness_probe=bare)])
    assert (timing.startup, timing.readiness) == (3 * 10, 10 + 1)


@pytest.mark.parametrize(("fields", "startup", "readiness"), [
    ({"failure_threshold": 2}, 2 * 10, 10 + 1),
    ({"period_seconds": 7}, 3 * 7, 7 + 1),
    ({"timeout_seconds": 4}, 3 * 10, 10 + 4),
    ({"initial_delay_seconds": 9}, 9 + 3 * 10, 10 + 1),
    ({"initial_delay_seconds": 9, "failure_threshold": 2, "period_seconds": 7, "timeout_seconds": 4}, 9 + 14, 11),
])
def test_each_probe_field_on_its_own(fields: dict[str, int], startup: int, readiness: int) -> None:
    probe = k8s.core.v1.ProbeArgs(exec_=EXEC, **fields)
    timing = _timing(_cfg("2026.9.6", **NO_PULL), [_container("g", startup_probe=probe, readiness_probe=probe)])
    assert (timing.startup, timing.readiness) == (startup, readiness)


def test_a_pod_without_probes_waits_for_neither() -> None:
    for containers in ([_container("g")], []):  # no container at all (the API server refuses it): the same
        timing = _timing(_cfg("2026.9.6", **NO_PULL), containers)
        assert (timing.startup, timing.readiness, timing.init) == (0, 0, ())
        assert timing.ready_seconds == awaits.SCHEDULING_SECONDS + awaits.DEFAULT_GRACE_SECONDS


def test_the_slowest_container_decides() -> None:
    short = k8s.core.v1.ProbeArgs(exec_=EXEC, failure_threshold=1, period_seconds=5, timeout_seconds=1)
    long = k8s.core.v1.ProbeArgs(exec_=EXEC, failure_threshold=4, period_seconds=5, timeout_seconds=2)
    for order in ([("a", short), ("b", long)], [("a", long), ("b", short)]):
        timing = _timing(_cfg("2026.9.6", **NO_PULL), [_container(n, startup_probe=p, readiness_probe=p)
                                                      for n, p in order])
        assert (timing.startup, timing.readiness) == (20, 7)


@pytest.mark.parametrize("grace", [0, 31, 330])
def test_the_old_pods_grace_period_is_waited_for(grace: int) -> None:
    assert _timing(_cfg("2026.9.6", **NO_PULL), [_container("g")], grace=grace).grace == grace


def test_the_rollouts_waits_carry_the_timing_they_derive_from() -> None:
    cfg = _cfg("2026.9.6", rollout={"imagePullSeconds": 17})
    probe = k8s.core.v1.ProbeArgs(exec_=EXEC, failure_threshold=2, period_seconds=5)
    template = k8s.core.v1.PodTemplateSpecArgs(spec=k8s.core.v1.PodSpecArgs(
        containers=[_container("g", startup_probe=probe)], termination_grace_period_seconds=40))
    result = awaits.rollout_awaits(template, cfg)
    assert result.timing == awaits.pod_timing(template, cfg)
    assert result.progress_deadline_seconds == 17 + 60 + 10 + 40 == result.timing.ready_seconds
    assert result.deployment_annotations == {"pulumi.com/timeoutSeconds": str(127 + 60)}
    assert result.service_annotations == {"pulumi.com/timeoutSeconds": str(127 + 60 + 10 + 60)}


# --- each init container's worst case on its own ----------------------------------------------------------


def _init(cfg: Any, container: Any) -> float:
    (name, seconds), = _timing(cfg, [_container("g")], init=[container]).init
    assert name == container.name
    return seconds


@pytest.mark.parametrize(("ids", "agents"), [(None, 1), ("", 1), ("a", 1), ("a b", 2), ("a b c d e", 5)])
def test_the_seed_costs_per_agent_and_at_least_one(ids: str | None, agents: int) -> None:
    env = {"OPENCLAW_AGENT_IDS": ids} if ids is not None else None
    cfg = _cfg("2026.9.6")
    assert _init(cfg, _container("seed", "100m", env)) == pytest.approx(agents * 0.01 * 2 / 0.1)
    assert _init(cfg, _container("seed", "2", env)) == pytest.approx(agents * 0.01 * 2 / 2)


def test_an_init_container_without_a_cpu_request_counts_one_core() -> None:
    cfg = _cfg("2026.9.6")
    assert _init(cfg, _container("seed", None, {"OPENCLAW_AGENT_IDS": "a b"})) == pytest.approx(2 * 0.01 * 2)
    assert _init(cfg, _container("state-guard")) == pytest.approx(0.3 * 2)


@pytest.mark.parametrize("timeout_ms", [100, 3000, 30000])
def test_the_preflight_waits_for_each_of_its_stages(timeout_ms: int) -> None:
    cfg = _cfg("2026.9.6", preflight={"timeoutMs": timeout_ms})
    assert _init(cfg, _container("preflight", "50m")) == pytest.approx(0.15 * 2 / 0.05 + 3 * timeout_ms / 1000)


@pytest.mark.parametrize("name", ["state-guard", "plugins", "migrate"])
def test_a_node_step_costs_its_cpu_time_at_its_request(name: str) -> None:
    cfg = _cfg("2026.9.6", lock="2026.9.6")  # no migration due: migrate only checks its marker
    assert _init(cfg, _container(name, "10m", {"OPENCLAW_MIGRATION_TIMEOUT_SECONDS": "900"})) == pytest.approx(
        0.3 * 2 / 0.01)


@pytest.mark.parametrize("lock", [None, "2026.6.35"])
def test_a_due_migration_waits_for_its_own_timeout(lock: str | None) -> None:
    cfg = _cfg("2026.9.6", lock=lock)
    assert _init(cfg, _container("migrate", "10m", {"OPENCLAW_MIGRATION_TIMEOUT_SECONDS": "900"})) == 900.0
    assert _init(cfg, _container("migrate", "10m")) == 0.0


@pytest.mark.parametrize("name", ["restore", "seeds", "Seed", ""])
def test_an_unmeasured_init_container_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError) as error:
        _init(_cfg("2026.9.6"), _container(name, "10m"))
    assert str(error.value) == (
        f"init container {name!r} has no worst case in components/awaits.py (_init_worst): measure its CPU "
        "time and add it, or `pulumi up` may time out while it runs")
