"""Test support: what `pulumi up` and the cluster do with the rendered rollout fields, on a timeline.

A model, in seconds from the start of the rollout, of
- the kubelet: the old pod's termination (Recreate), scheduling, image pull, init containers one
  after another, the startup probe (killed after failureThreshold failures: a restart starts over, so
  the pod is never Ready in time), then the first readiness probe after the startup probe passed;
- the Deployment controller: ProgressDeadlineExceeded when the pod is not available within
  progressDeadlineSeconds (default 600);
- pulumi-kubernetes' awaiters (provider/pkg/await): the wait is `customTimeouts` if set, else the
  integer in `pulumi.com/timeoutSeconds`, else 10 minutes (metadata/overrides.go `TimeoutDuration`; a
  value that is not an integer falls back to the default). The Deployment is ready when its pod is
  (deployment.go; a ProgressDeadlineExceeded is logged and the wait goes on until the timeout); the
  Service when its endpoints are ready and unchanged for 10 s (service.go); the PVC at once when its
  StorageClass is WaitForFirstConsumer and readable, else when Bound, which needs the pod, which needs
  the claim (the Deployment is created after it): never, and its watcher stops at 5 minutes
  (awaiters.go `untilCoreV1PersistentVolumeClaimReady`, `WatchUntil(..., 5*time.Minute)`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT = 600.0
DEFAULT_PROGRESS_DEADLINE = 600.0
PVC_WATCH_LIMIT = 300.0
SETTLE = 10.0


@dataclass(frozen=True)
class Scenario:
    pull: float
    init: Mapping[str, float]  # wall seconds per init container, by name (every rendered one)
    listen: float  # seconds from the gateway container's start until its port answers
    scheduling: float = 0.0
    update: bool = False  # a rollout of an existing Deployment: Recreate stops the old pod first
    storage_class_readable: bool = True
    custom_timeouts: Mapping[str, float] = field(default_factory=dict)  # kind -> customTimeouts seconds


@dataclass(frozen=True)
class Await:
    ok: bool
    at: float
    message: str


@dataclass(frozen=True)
class Outcome:
    pod_ready_at: float | None  # None: the startup probe kills it before it listens
    progress_deadline_exceeded_at: float | None
    deployment: Await
    service: Await
    pvc: Await


def provider_timeout(obj: Mapping[str, Any], custom: float | None = None) -> float:
    """metadata/overrides.go TimeoutDuration: customTimeouts, else the annotation (strconv.Atoi), else 10 min."""
    if custom:
        return float(custom)
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get("pulumi.com/timeoutSeconds")
    try:
        return float(int(str(text), 10)) if text is not None else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def _ticks_until(start: float, delay: float, period: float, at_least: float, limit: int | None) -> float | None:
    """The first probe time start + delay + k*period >= at_least (k < limit, if any)."""
    k = max(0, math.ceil((at_least - start - delay) / period))
    return None if limit is not None and k >= limit else start + delay + k * period


def pod_ready_at(deployment: Mapping[str, Any], s: Scenario) -> float | None:
    pod = deployment["spec"]["template"]["spec"]
    t = float(pod.get("terminationGracePeriodSeconds", 30)) if s.update else 0.0
    t += s.scheduling + s.pull
    for container in pod.get("initContainers", []):
        t += s.init[container["name"]]
    gateway = pod["containers"][0]
    startup, readiness = gateway.get("startupProbe"), gateway.get("readinessProbe")
    started = t
    if startup is not None:
        passed = _ticks_until(t, startup.get("initialDelaySeconds", 0), startup.get("periodSeconds", 10),
                              t + s.listen, startup.get("failureThreshold", 3))
        if passed is None:
            return None  # failureThreshold failures: killed and restarted from scratch
        started = passed
    if readiness is None:
        return started
    return _ticks_until(t, readiness.get("initialDelaySeconds", 0), readiness.get("periodSeconds", 10), started, None)


def _await(kind: str, ready: float | None, timeout: float, extra: str = "") -> Await:
    if ready is not None and ready <= timeout:
        return Await(True, ready, f"{kind} ready")
    return Await(False, timeout, f"{kind}: timed out waiting to be Ready after {timeout:.0f}s{extra}")


def simulate(deployment: Mapping[str, Any], service: Mapping[str, Any], pvc: Mapping[str, Any],
             storage_class: Mapping[str, Any], s: Scenario) -> Outcome:
    claim = _claim(pvc, storage_class, s)
    ready = pod_ready_at(deployment, s) if claim.ok else None  # the Deployment waits for its claim
    deadline = float(deployment["spec"].get("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE))
    exceeded = deadline if ready is None or ready > deadline else None
    reason = " [ProgressDeadlineExceeded]" if exceeded is not None else ""
    dep = _await("Deployment", ready, provider_timeout(deployment, s.custom_timeouts.get("Deployment")), reason)
    svc = _await("Service", None if ready is None else ready + SETTLE,
                 provider_timeout(service, s.custom_timeouts.get("Service")))
    if not claim.ok:
        dep = Await(False, claim.at, "Deployment: not created (it waits for its claim)")
    return Outcome(ready, exceeded, dep, svc, claim)


def _claim(pvc: Mapping[str, Any], storage_class: Mapping[str, Any], s: Scenario) -> Await:
    timeout = provider_timeout(pvc, s.custom_timeouts.get("PersistentVolumeClaim"))
    if storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
        return Await(True, 0.0, "PersistentVolumeClaim Bound")  # Immediate: the provisioner binds it
    if s.storage_class_readable:
        return Await(True, 0.0, "PersistentVolumeClaim Pending (WaitForFirstConsumer): ready")
    # Waits for Bound; Bound needs the pod, and the pod's Deployment waits for the claim.
    limit = min(timeout, PVC_WATCH_LIMIT)
    return Await(False, limit, f"PersistentVolumeClaim: not Bound after {limit:.0f}s (the StorageClass could not "
                               "be read, so WaitForFirstConsumer was not seen)")
