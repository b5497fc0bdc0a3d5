"""The release policies (policy/release_policies.py) at their edges, in both shapes: each tag form, each
container on its own (init containers, Jobs and CronJobs only where a policy judges them), an untested release
the stack accepted, a container after one whose judging stopped, every unknown that decides a verdict, and the
whole message. The probes, the memory share and the startup budget: test_policy_edges_release_policies_gateway.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, messages, undecidable_at
from tests.policy_edges_release import (
    CONTAINERS,
    DEPLOYMENT,
    GATEWAY_ONLY,
    GW,
    INIT,
    RELEASE,
    REPO,
    UNTESTED,
    Change,
    annotate,
    deploy,
    unknown_release,
    with_image,
)
from tests.test_policy import gateway as _gw
from tests.test_policy import mutate
from tests.test_policy import pod as _pod


def test_the_rendered_stacks_pass(analyzer: PolicyAnalyzer, dev: RunResult, prod: RunResult) -> None:
    """dev's pre-upgrade Job and prod's backup CronJobs run openclaw 2026.2.23 scripts under 256Mi with no
    probes: a gateway-only policy that judged them would speak here."""
    assert findings(analyzer, dev.resources, set(RELEASE)) == []
    assert findings(analyzer, prod.resources, set(RELEASE), stack="prod") == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_run_to_completion_workloads_are_judged_for_the_release_only(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                     prod: RunResult, stack: str) -> None:
    """A Job (dev) and a CronJob (prod) running an unknown tag: release-known names it; nothing else judges them."""
    run, kind, name, container = ((dev, "Job", "openclaw-pre-upgrade-2026-2-23", "snapshot") if stack == "dev"
                                  else (prod, "CronJob", "openclaw-backup-drill", "verify"))

    def change(props: dict[str, Any]) -> None:
        job = props["spec"]["jobTemplate"] if kind == "CronJob" else props
        for c in job["spec"]["template"]["spec"]["containers"]:
            if c["name"] == container:
                c["image"] = f"{REPO}:2026.9.7"
    found = findings(analyzer, mutate(run, kind, name, change), set(RELEASE), stack=stack)
    assert found == [("release-known", "mandatory",
                      f"{kind} openclaw/{name} container '{container}': {unknown_release('2026.9.7')}")]


# --- release-known --------------------------------------------------------------------------------

@pytest.mark.parametrize("container", [*INIT, "gateway"])
def test_an_unknown_tag_in_each_container(analyzer: PolicyAnalyzer, dev: RunResult, container: str) -> None:
    label = "container" if container == "gateway" else "init container"
    found = findings(analyzer, deploy(dev, with_image(f"{REPO}:2026.9.7", container)), set(RELEASE))
    assert found == [("release-known", "mandatory",
                      f"{DEPLOYMENT} {label} '{container}': {unknown_release('2026.9.7')}")]


@pytest.mark.parametrize(("image", "reported"), [
    (f"{REPO}:2026.9.7", True), (f"{REPO}:2026.9.6", False), (f"{REPO}:2026.9.6@sha256:{'ab' * 32}", False),
    (f"{REPO}:2026.9.7@sha256:{'ab' * 32}", True), (f"{REPO}:latest", False), (f"{REPO}", False),
    (f"{REPO}@sha256:{'ab' * 32}", False), (f"{REPO}:latest2", True), (f"{REPO}:2026.9", True),
    ("ghcr.io/openclaw/other:2026.9.7", False), ("ghcr.io/openclaw/openclaw-x:2026.9.7", False),
    ("docker.io/openclaw/openclaw:2026.9.7", False), ("openclaw:2026.9.7", False),
])
def test_each_tag_form(analyzer: PolicyAnalyzer, dev: RunResult, image: str, reported: bool) -> None:
    """No tag and `latest` are image-tag-pinned's to refuse; another repository is not OpenClaw's."""
    found = findings(analyzer, deploy(dev, with_image(image)), "release-known")
    tag = image.split("@")[0].rsplit(":", 1)[-1]
    assert messages(found) == ([f"{GW}: {unknown_release(tag)}"] if reported else [])


def test_a_foreign_container_before_openclaw_ones_is_skipped_not_the_end(analyzer: PolicyAnalyzer,
                                                                         dev: RunResult) -> None:
    changes = [with_image("docker.io/library/busybox:1.36", "state-guard"),
               *(with_image(f"{REPO}:2026.9.7", c) for c in [*INIT[1:], "gateway"])]
    found = messages(findings(analyzer, deploy(dev, *changes), "release-known"))
    assert found == sorted([f"{DEPLOYMENT} init container '{c}': {unknown_release('2026.9.7')}" for c in INIT[1:]]
                           + [f"{GW}: {unknown_release('2026.9.7')}"])


@pytest.mark.parametrize("policy", RELEASE)
def test_an_unknown_image_is_undecidable_for_each_policy(analyzer: PolicyAnalyzer, dev: RunResult,
                                                         policy: str) -> None:
    why = {"release-known": "the image must be a known OpenClaw release",
           "release-untested": "an untested release is worth a look",
           "release-probes": "its probes must use routes the release has",
           "release-memory": "the release's measured start peak must fit in the memory limit",
           "release-startup-budget": "the startup probe must wait out the release's measured start at the CPU request"}
    level = "advisory" if policy == "release-untested" else "mandatory"
    records = deploy(dev, with_image(UNKNOWN, "seed"), with_image(UNKNOWN, "gateway"))
    expected = [undecidable_at(GW, f"{CONTAINERS}[0].image", why[policy])]
    if policy not in GATEWAY_ONLY:
        expected.append(undecidable_at(f"{DEPLOYMENT} init container 'seed'",
                                     "spec.template.spec.initContainers[1].image", why[policy]))
    assert findings(analyzer, records, policy) == sorted((policy, level, m) for m in expected)


def test_an_unknown_container_list_is_undecidable(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = deploy(dev, lambda p: _pod(p).__setitem__("containers", UNKNOWN))
    assert messages(findings(analyzer, records, "release-known")) == [
        undecidable_at(f"{DEPLOYMENT} containers", CONTAINERS, "the image must be a known OpenClaw release")]
    assert messages(findings(analyzer, records, "release-memory")) == [
        undecidable_at(f"{DEPLOYMENT} containers", CONTAINERS,
                     "the release's measured start peak must fit in the memory limit")]


# --- an untested release the stack accepted ---------------------------------------------------------

@pytest.mark.parametrize(("base", "verdict"), [("2026.9.6", "untested"), ("2026.6.35", "untested"),
                                               ("2026.9.5", "known"), ("", "known"), (None, "known")])
def test_the_untested_annotation_names_a_release_of_the_table(analyzer: PolicyAnalyzer, dev: RunResult,
                                                              base: str | None, verdict: str) -> None:
    records = deploy(dev, with_image(f"{REPO}:2026.9.7"), *([] if base is None else [annotate(base)]))
    found = findings(analyzer, records, {"release-known", "release-untested"})
    assert found == ([("release-untested", "advisory",
                       f"{GW}: openclaw 2026.9.7 is untested, rendered and judged as openclaw {base}; add it to "
                       "components/releases.py once its own validator and the e2e pass")] if verdict == "untested"
                     else [("release-known", "mandatory", f"{GW}: {unknown_release('2026.9.7')}")])


def test_the_annotation_does_not_rename_a_known_tag(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """A tag of the table is that release, whatever the annotation says (or whether it is known)."""
    for annotation in ("2026.2.23", UNKNOWN):
        records = deploy(dev, annotate(annotation))
        assert findings(analyzer, records, set(RELEASE)) == [], annotation


def test_an_unknown_annotation_decides_an_unknown_tag(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """Each container with the unknown tag is undecidable on its own, at each policy's level."""
    records = deploy(dev, annotate(UNKNOWN), *(with_image(f"{REPO}:2026.9.7", c) for c in ("seed", "gateway")))
    why = "it names the release the tag 2026.9.7 was rendered as, and the image must be a known OpenClaw release"
    assert messages(findings(analyzer, records, "release-known")) == sorted([
        undecidable_at(f"{DEPLOYMENT} init container 'seed'", f"metadata.annotations.{UNTESTED}", why),
        undecidable_at(GW, f"metadata.annotations.{UNTESTED}", why)])
    assert findings(analyzer, records, "release-memory") == [("release-memory", "mandatory", undecidable_at(
        GW, f"metadata.annotations.{UNTESTED}", "it names the release the tag 2026.9.7 was rendered as, and the "
        "release's measured start peak must fit in the memory limit"))]
    whole = deploy(dev, lambda p: p["metadata"].__setitem__("annotations", UNKNOWN), with_image(f"{REPO}:2026.9.7"))
    assert messages(findings(analyzer, whole, "release-known")) == [undecidable_at(GW, "metadata.annotations", why)]


def _sidecar(props: dict[str, Any]) -> None:
    """A first regular container on a tag the table does not know (and the stack did not accept)."""
    _pod(props)["containers"].insert(0, {"name": "side", "image": f"{REPO}:2026.9.7",
                                         "resources": {"limits": {"memory": "64Mi"}}})


# A fault of the gateway each gateway-only policy finds (the gateway is the pod's first container here).
GATEWAY_FAULTS: dict[str, list[Change]] = {
    "release-probes": [with_image(f"{REPO}:2026.2.23")],  # the rendered probes use routes 2.23 does not have
    "release-memory": [lambda p: _gw(p)["resources"]["limits"].__setitem__("memory", "1000Mi")],
    "release-startup-budget": [lambda p: _gw(p)["startupProbe"].update(periodSeconds=1, failureThreshold=1,
                                                                       initialDelaySeconds=0)],
}


@pytest.mark.parametrize("policy", sorted(GATEWAY_ONLY))
def test_gateway_policies_skip_a_release_they_cannot_name(analyzer: PolicyAnalyzer, dev: RunResult,
                                                          policy: str) -> None:
    """An unknown tag in a first container does not stop the judging of the gateway after it: the
    gateway is found at fault exactly as without that container (which release-known names)."""
    alone = findings(analyzer, deploy(dev, *GATEWAY_FAULTS[policy]), policy)
    behind = findings(analyzer, deploy(dev, *GATEWAY_FAULTS[policy], _sidecar), policy)
    assert alone and {m.split(":")[0] for m in messages(alone)} == {GW}
    assert behind == alone
    assert messages(findings(analyzer, deploy(dev, _sidecar), "release-known")) == [
        f"{DEPLOYMENT} container 'side': {unknown_release('2026.9.7')}"]


def _unknown_at(*keys: str) -> Callable[[dict[str, Any]], None]:
    def change(container: dict[str, Any]) -> None:
        node = container
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = UNKNOWN
    return change


# What stops the judging of one container of the same release (an unknown, or a finding of its own).
STOPPERS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("release-memory", _unknown_at("resources", "limits", "memory")),
    ("release-startup-budget", _unknown_at("startupProbe", "periodSeconds")),
    ("release-startup-budget", _unknown_at("resources", "requests", "cpu")),
    ("release-startup-budget", lambda c: c.pop("startupProbe")),
    ("release-startup-budget", lambda c: c["resources"]["requests"].pop("cpu")),
    ("release-probes", _unknown_at("livenessProbe")),
    ("release-probes", lambda c: c.__setitem__("startupProbe", {"exec": {"command": ["wget", UNKNOWN]}})),
]


@pytest.mark.parametrize(("policy", "stop"), STOPPERS, ids=["memory-unknown", "period-unknown", "cpu-unknown",
                                                               "no-startup-probe", "no-cpu", "probe-unknown",
                                                               "command-item-unknown"])
def test_a_container_after_one_whose_judging_stopped_is_still_judged(
        analyzer: PolicyAnalyzer, dev: RunResult, policy: str, stop: Callable[[dict[str, Any]], None]) -> None:
    """Two containers of the gateway's release, `side` first: what `side` alone gets (an undecidable, or a
    finding that ends its judging) and what the gateway alone gets, both together, each on its container."""
    def twin(stopped: bool) -> Change:
        def change(props: dict[str, Any]) -> None:
            side = copy.deepcopy(_gw(props)) | {"name": "side"}
            if stopped:
                stop(side)
            _pod(props)["containers"].append(side)
        return change

    def side_first(props: dict[str, Any]) -> None:
        _pod(props)["containers"].append(_pod(props)["containers"].pop(0))

    side_only = findings(analyzer, deploy(dev, twin(True), side_first), policy)
    gateway_only = findings(analyzer, deploy(dev, twin(False), *GATEWAY_FAULTS[policy], side_first), policy)
    both = findings(analyzer, deploy(dev, twin(True), *GATEWAY_FAULTS[policy], side_first), policy)
    def about(found: list[tuple[str, str, str]]) -> set[str]:
        return {name for m in messages(found) for name in ("side", "gateway") if f"container '{name}'" in m}

    assert side_only and about(side_only) == {"side"}
    assert gateway_only and about(gateway_only) == {"gateway"}
    assert both == sorted(side_only + gateway_only)


# --- release-probes ----------------------------------------------------------------------------------
