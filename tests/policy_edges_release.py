"""What the release policies' edge tests (tests/test_policy_edges_release_policies*.py) share: the
gateway Deployment changed in place, an image set on one container, and the messages a user reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.harness import RunResult
from engine.records import ResourceRecord
from tests.test_policy import mutate
from tests.test_policy import pod as _pod

RELEASE = ("release-known", "release-untested", "release-probes", "release-memory", "release-startup-budget")
GATEWAY_ONLY = {"release-probes", "release-memory", "release-startup-budget"}
DEPLOYMENT = "Deployment openclaw/openclaw"
GW = f"{DEPLOYMENT} container 'gateway'"
REPO = "ghcr.io/openclaw/openclaw"
CONTAINERS = "spec.template.spec.containers"
KNOWN = "2026.2.23, 2026.3.7, 2026.6.35, 2026.9.6"
UNTESTED = "openclaw.io/untested-release-rendered-as"
INIT = ["state-guard", "seed", "plugins", "migrate", "preflight"]
Change = Callable[[dict[str, Any]], None]


def deploy(dev: RunResult, *changes: Change) -> list[ResourceRecord]:
    def change(props: dict[str, Any]) -> None:
        for each in changes:
            each(props)
    return mutate(dev, "Deployment", "openclaw", change)


def with_image(image: str, container: str = "gateway") -> Change:
    def change(props: dict[str, Any]) -> None:
        for c in _pod(props)["initContainers"] + _pod(props)["containers"]:
            if c["name"] == container:
                c["image"] = image
    return change


def unknown_release(tag: str) -> str:
    return (f"openclaw {tag} is not a release the program supports (known: {KNOWN}): pin one of them, or accept it "
            "explicitly in the stack (openclaw:image.acceptUntestedRelease), which renders it as the newest known "
            "release below it")


def annotate(value: Any) -> Change:
    return lambda p: p["metadata"]["annotations"].__setitem__(UNTESTED, value)


# --- the rendered stacks pass -------------------------------------------------------------------
