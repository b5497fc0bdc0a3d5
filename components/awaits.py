"""How long `pulumi up` waits for the pod, derived from the pod as rendered.

pulumi-kubernetes waits for a Deployment until its new ReplicaSet is available and for a Service
until its endpoints are ready and settled, 10 minutes each by default (provider/pkg/await/
deployment.go `DefaultDeploymentTimeoutMins`, service.go `DefaultServiceTimeoutMins`, read through
awaiters.go `getTimeout`). Both depend on the pod becoming Ready, which on a busy node takes the
image pull, every init container in turn, the startup probe's whole budget (48 x 10 s for
2026.9.6 at the dev stack's 50m request, 113 for 2026.2.23) and a readiness probe. Past 10 minutes
the `up` fails with "timed out waiting" while the pod is still starting, and the Deployment
controller marks it failed at the default progressDeadlineSeconds (600).

The wait is set with the annotation `pulumi.com/timeoutSeconds` (provider/pkg/metadata/overrides.go
`TimeoutDuration`, used by await.go `Creation`/`Update`/`Deletion`), not with `customTimeouts`: the
annotation is part of the manifest, so the render, its diff in every pull request, `kubectl get -o
yaml` and the tests see it; a `customTimeouts` option would override it (it comes first there).

The PersistentVolumeClaim needs none: with a WaitForFirstConsumer class the provider takes `Pending`
as ready (awaiters.go `untilCoreV1PersistentVolumeClaimReady`, after reading the StorageClass), so its
await does not depend on the pod. If the provider cannot read the StorageClass it waits for `Bound`,
which needs the pod, which needs the claim: no timeout fixes that (its watcher stops at 5 minutes);
the deploy identity must be allowed to read StorageClasses (tests/support/awaiter.py models this).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.config import StackConfig
from components.config.workload import cpu_cores
from components.releases import RELEASES

TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
# Measured here (node 22, the dev stack's 29 agents): the seed init container 0.21-0.22 CPU-s on a
# first start, the preflight 0.05-0.10 CPU-s with its resolver child. Upper bounds with margin:
SEED_CPU_SECONDS_PER_AGENT = 0.01  # 0.22 / 29 = 0.0076, node's own start included
PREFLIGHT_CPU_SECONDS = 0.15
INIT_CPU_MARGIN = 2.0
# state-guard, plugins (sha512 of the pinned tarballs, an in-memory untar) and migrate when no
# migration is due (the marker only): one node start and a few file operations each, at 10m; the
# preflight's measured 0.05-0.10 CPU-s with the same node start, doubled for the tarball work.
NODE_STEP_CPU_SECONDS = 0.3
# The preflight's stages run one after the other, each cut at timeoutMs: DNS, TCP, then TLS (the API
# server's endpoints are checked beside the TLS stage: TCP + TLS of their own).
PREFLIGHT_STAGES = 3
SCHEDULING_SECONDS = 60  # ReplicaSet and pod creation, scheduling, local-path's helper pod for a new volume
DEFAULT_GRACE_SECONDS = 30  # Recreate: the old pod is gone before the new one starts (pod default)
# The Deployment controller reports ProgressDeadlineExceeded at its next sync: the provider waits a
# little longer, so its error carries Kubernetes' reason instead of a bare timeout.
PROVIDER_SLACK_SECONDS = 60
SERVICE_SETTLE_SECONDS = 10  # service.go: endpoints must stay unchanged this long


@dataclass(frozen=True)
class PodTiming:
    """The worst case, in seconds, from the rollout's start until the pod is Ready."""

    pull: int
    scheduling: int
    init: tuple[tuple[str, float], ...]  # (container, worst case), run one after another
    startup: int  # the startup probe's budget: initialDelaySeconds + failureThreshold x periodSeconds
    readiness: int  # the first readiness probe after startup: periodSeconds + timeoutSeconds
    grace: int  # the old pod's termination (Recreate)

    @property
    def ready_seconds(self) -> int:
        return math.ceil(self.pull + self.scheduling + sum(s for _, s in self.init) + self.startup
                         + self.readiness + self.grace)


@dataclass(frozen=True)
class Awaits:
    timing: PodTiming
    progress_deadline_seconds: int
    deployment_timeout_seconds: int
    service_timeout_seconds: int

    @property
    def deployment_annotations(self) -> dict[str, str]:
        return {TIMEOUT_ANNOTATION: str(self.deployment_timeout_seconds)}

    @property
    def service_annotations(self) -> dict[str, str]:
        return {TIMEOUT_ANNOTATION: str(self.service_timeout_seconds)}


def _get(obj: Any, name: str) -> Any:
    """A field of a pulumi input type (a plain value here: the program renders no Outputs in the pod)."""
    return getattr(obj, name, None) if obj is not None else None


def _int(value: Any, default: int = 0) -> int:
    return default if value is None else int(value)


def _env(container: Any, name: str) -> str | None:
    return next((_get(e, "value") for e in _get(container, "env") or [] if _get(e, "name") == name), None)


def _init_worst(container: Any, cfg: StackConfig) -> float:
    name = _get(container, "name")
    requests = _get(_get(container, "resources"), "requests") or {}
    cores = cpu_cores(str(requests.get("cpu", "1")))
    if name == "seed":
        agents = len((_env(container, "OPENCLAW_AGENT_IDS") or "").split())
        cpu = SEED_CPU_SECONDS_PER_AGENT * max(agents, 1)
        return cpu * INIT_CPU_MARGIN / cores
    if name == "preflight":
        return PREFLIGHT_CPU_SECONDS * INIT_CPU_MARGIN / cores + PREFLIGHT_STAGES * cfg.preflight.timeout_ms / 1000
    if name == "migrate" and migration_may_run(cfg):
        # The release's migration is killed at its own timeout (components/migration.py).
        return float(_env(container, "OPENCLAW_MIGRATION_TIMEOUT_SECONDS") or 0)
    if name in ("state-guard", "plugins", "migrate"):
        return NODE_STEP_CPU_SECONDS * INIT_CPU_MARGIN / cores
    # A new init container must say what it costs before it can delay every `up`.
    raise ValueError(f"init container {name!r} has no worst case in components/awaits.py (_init_worst): "
                     "measure its CPU time and add it, or `pulumi up` may time out while it runs")


def job_timeout_seconds(active_deadline_seconds: int) -> int:
    """How long `up` waits for a run-to-completion Job (the pre-upgrade snapshot): the Job controller
    fails it at activeDeadlineSeconds, counted from its start (pod scheduling and image pull
    included); the provider waits a little longer, so its error carries the Job's `Failed` reason
    (DeadlineExceeded) instead of a bare timeout (provider/pkg/await/job.go, default 10 minutes)."""
    return active_deadline_seconds + PROVIDER_SLACK_SECONDS


def migration_may_run(cfg: StackConfig) -> bool:
    """The `migrate` step may run the release's migration in this rollout: the release has one and
    the volume's last release (openclaw:kubernetes.releaseLock) is of a lower state epoch, or unknown."""
    if not cfg.release.migration:
        return False
    lock = RELEASES.get(cfg.kubernetes.release_lock or "")
    return lock is None or lock.state_epoch < cfg.release.state_epoch


def _probe_budget(probe: Any) -> int:
    if probe is None:
        return 0
    return _int(_get(probe, "initial_delay_seconds")) + _int(_get(probe, "failure_threshold"), 3) * _int(
        _get(probe, "period_seconds"), 10)


def _readiness(probe: Any) -> int:
    return 0 if probe is None else _int(_get(probe, "period_seconds"), 10) + _int(_get(probe, "timeout_seconds"), 1)


def pod_timing(template: Any, cfg: StackConfig) -> PodTiming:
    """The worst case of the pod as rendered (a `PodTemplateSpecArgs`)."""
    spec = _get(template, "spec")
    containers: Sequence[Any] = _get(spec, "containers") or []
    return PodTiming(
        pull=cfg.rollout.image_pull_seconds,
        scheduling=SCHEDULING_SECONDS,
        init=tuple((str(_get(c, "name")), _init_worst(c, cfg)) for c in _get(spec, "init_containers") or []),
        startup=max((_probe_budget(_get(c, "startup_probe")) for c in containers), default=0),
        readiness=max((_readiness(_get(c, "readiness_probe")) for c in containers), default=0),
        # The old pod's termination, taken to be as long as the new one's (2026.9.6: 330 s; a rollback
        # from it stops the old pod before the restore: docs/upgrade-runbook.md#roll-back).
        grace=_int(_get(spec, "termination_grace_period_seconds"), DEFAULT_GRACE_SECONDS),
    )



def rollout_awaits(template: Any, cfg: StackConfig) -> Awaits:
    """progressDeadlineSeconds and the provider's waits for the Deployment and its Service."""
    timing = pod_timing(template, cfg)
    deadline = timing.ready_seconds
    deployment = deadline + PROVIDER_SLACK_SECONDS
    return Awaits(timing, deadline, deployment, deployment + SERVICE_SETTLE_SECONDS + PROVIDER_SLACK_SECONDS)
