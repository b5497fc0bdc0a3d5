"""The preflight init container and the restricted security context (components/preflight_step.py),
read from the rendered pod: every container on its own (init containers too), each field of the
preflight step, and the step gone when `openclaw:preflight.enabled` is off."""

from __future__ import annotations

from typing import Any

import pytest

from engine.harness import RunResult, run_stack

RESTRICTED = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
              "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _pod(run: RunResult) -> dict[str, Any]:
    pod: dict[str, Any] = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    return pod


# The session's rendered stacks, named as fixtures (not looked up by name): what they reach then counts
# for these tests in ./run mutate (tools/mutation/pytest_plugin.py).
@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest, dev: RunResult, prod: RunResult) -> RunResult:
    return dev if request.param == "dev" else prod


def test_every_container_of_the_pod_runs_restricted(stack: RunResult) -> None:
    pod = _pod(stack)
    containers = [*pod["initContainers"], *pod["containers"]]
    assert {c["name"] for c in pod["initContainers"]} >= {"state-guard", "seed", "migrate", "preflight"}
    for container in containers:
        assert container["securityContext"] == RESTRICTED, container["name"]


def test_the_preflight_step(stack: RunResult) -> None:
    pod = _pod(stack)
    (preflight,) = [c for c in pod["initContainers"] if c["name"] == "preflight"]
    (gateway,) = [c for c in pod["containers"] if c["name"] == "gateway"]
    assert preflight["image"] == gateway["image"] and preflight["imagePullPolicy"] == "IfNotPresent"
    assert preflight["command"] == ["node", "/preflight/preflight.mjs", "/preflight/dependencies.json"]
    assert preflight["resources"] == {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "128Mi"}}
    assert preflight["volumeMounts"] == [{"name": "preflight", "mountPath": "/preflight", "readOnly": True}]
    assert [c["name"] for c in pod["initContainers"]][-1] == "preflight"  # after seeding: the last step


def test_the_preflight_off_leaves_no_step_and_keeps_the_others() -> None:
    on = _pod(run_stack("dev", overrides={"openclaw:preflight": {"enabled": True}}))
    off = _pod(run_stack("dev", overrides={"openclaw:preflight": {"enabled": False}}))
    assert [c["name"] for c in on["initContainers"]][:-1] == [c["name"] for c in off["initContainers"]]
    assert "preflight" not in [c["name"] for c in off["initContainers"]]
