"""The release policies (policy/release_policies.py) judge with the pack's own copy of the release
table, in both shapes (preview and up), at their edges."""

from __future__ import annotations

import functools
import math
from typing import Any

import pytest

from components.releases import RELEASES
from engine.analyzer import SHAPES, Diagnostic, PolicyAnalyzer, load_policy_config
from engine.harness import RunResult, run_stack
from engine.records import ResourceRecord
from tests.test_policy import gateway, mutate, pod

RELEASE_POLICIES = ("release-known", "release-untested", "release-probes", "release-memory", "release-startup-budget")


def findings(analyzer: PolicyAnalyzer, records: list[ResourceRecord], shape: str, stack: str = "dev"
             ) -> list[Diagnostic]:
    return [d for d in analyzer.analyze(records, load_policy_config(stack), shape) if d.policy in RELEASE_POLICIES]


def _image(tag: str, init_too: bool = False) -> Any:
    def change(p: dict[str, Any]) -> None:
        for c in pod(p)["containers"] + (pod(p)["initContainers"] if init_too else []):
            c["image"] = f"ghcr.io/openclaw/openclaw:{tag}"
    return change


@functools.cache
def tag_run(stack: str, version: str) -> RunResult:
    """The stack rendered for a release (each release's own render passes: tests/test_release_matrix.py)."""
    return run_stack(stack, overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": version}})


@pytest.mark.parametrize("shape", SHAPES)
def test_an_unknown_tag_in_any_container_is_refused(analyzer: PolicyAnalyzer, dev: RunResult, shape: str) -> None:
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", _image("2026.9.7", init_too=True)), shape)
    assert {d.policy for d in found} == {"release-known"}
    assert sorted(d.message.split(": openclaw")[0] for d in found) == [
        "Deployment openclaw/openclaw container 'gateway'",
        *(f"Deployment openclaw/openclaw init container '{name}'"
          for name in ("migrate", "plugins", "preflight", "seed", "state-guard"))]
    assert "known: 2026.2.23, 2026.3.7, 2026.6.35, 2026.9.6" in found[0].message


@pytest.mark.parametrize("shape", SHAPES)
def test_another_image_is_not_judged(analyzer: PolicyAnalyzer, dev: RunResult, shape: str) -> None:
    def change(p: dict[str, Any]) -> None:
        gateway(p)["image"] = "ghcr.io/openclaw/other:2026.9.7"
    assert findings(analyzer, mutate(dev, "Deployment", "openclaw", change), shape) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_an_accepted_untested_release_is_judged_as_its_base_and_advised(analyzer: PolicyAnalyzer, shape: str) -> None:
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": "2026.9.7",
                                                         "acceptUntestedRelease": True}})
    found = findings(analyzer, run.resources, shape)
    assert {(d.policy, d.level) for d in found} == {("release-untested", "advisory")} and len(found) == 6
    assert "openclaw 2026.9.7 is untested, rendered and judged as openclaw 2026.9.6" in found[0].message
    # The annotation must name a release of the table.
    bad = mutate(run, "Deployment", "openclaw", lambda p: p["metadata"]["annotations"].__setitem__(
        "openclaw.io/untested-release-rendered-as", "2026.9.5"))
    assert {d.policy for d in findings(analyzer, bad, shape)} == {"release-known"}
    # Judged as 2026.9.6: a memory limit below its peak is still caught.
    small = mutate(run, "Deployment", "openclaw", lambda p: gateway(p)["resources"].update(
        limits={"memory": "1400Mi"}, requests={"cpu": "50m", "memory": "1400Mi"}))
    assert "release-memory" in {d.policy for d in findings(analyzer, small, shape)}


def _http_probe(kind: str, path: str) -> Any:
    return lambda p: gateway(p).__setitem__(kind, {"httpGet": {"path": path, "port": 18789}, "periodSeconds": 10,
                                                   **({"failureThreshold": 500} if kind == "startupProbe" else {})})


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("version", "kind", "path", "caught"), [
    ("2026.2.23", "livenessProbe", "/healthz", "has no health route"),
    ("2026.2.23", "readinessProbe", "/", "has no health route"),      # any path: the Control UI answers
    ("2026.2.23", "startupProbe", "/startupz", "has no health route"),
    ("2026.3.7", "livenessProbe", "/healthz", None),
    ("2026.6.35", "startupProbe", "/startupz", "requests /startupz, which openclaw 2026.6.35 does not have"),
    ("2026.6.35", "startupProbe", "/healthz", None),
    ("2026.9.6", "startupProbe", "/startupz", None),
])
def test_http_probes_against_the_release_routes(analyzer: PolicyAnalyzer, prod: RunResult, shape: str, version: str,
                                                kind: str, path: str, caught: str | None) -> None:
    found = findings(analyzer, mutate(tag_run("prod", version), "Deployment", "openclaw", _http_probe(kind, path)),
                     shape, "prod")
    if caught is None:
        assert found == []
    else:
        assert [d.policy for d in found] == ["release-probes"] and caught in found[0].message
        assert found[0].message.startswith(f"Deployment openclaw/openclaw container 'gateway': {kind} ")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("tag", "probe", "caught"), [
    ("2026.2.23", "livenessProbe", True),   # the 9.6 render's /healthz exec probe on a release without routes
    ("2026.3.7", "startupProbe", True),     # its /startupz
    ("2026.3.7", "livenessProbe", False),
    ("2026.9.6", "startupProbe", False),
])
def test_exec_probes_are_read_for_their_route(analyzer: PolicyAnalyzer, dev: RunResult, shape: str, tag: str,
                                              probe: str, caught: bool) -> None:
    records = mutate(dev, "Deployment", "openclaw", _image(tag))
    probes = [d for d in findings(analyzer, records, shape) if d.policy == "release-probes"]
    assert any(f"container 'gateway': {probe} requests" in d.message for d in probes) is caught


def mutate_run(run: RunResult, change: Any) -> RunResult:
    return RunResult(run.stack, mutate(run, "Deployment", "openclaw", change), run.outputs)


def _memory(mib: int) -> Any:
    return lambda p: gateway(p)["resources"].update(limits={"memory": f"{mib}Mi"},
                                                    requests={"cpu": "50m", "memory": f"{mib}Mi"})


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("version", sorted(RELEASES))
def test_memory_limit_edge_is_the_release_peak(analyzer: PolicyAnalyzer, dev: RunResult, shape: str,
                                               version: str) -> None:
    edge = math.ceil(RELEASES[version].sizing.peak_rss_mib / 0.75)
    for mib, caught in ((edge, False), (edge - 1, True)):
        records = mutate(mutate_run(dev, _image(version)), "Deployment", "openclaw", _memory(mib))
        memory = [d for d in findings(analyzer, records, shape) if d.policy == "release-memory"]
        assert bool(memory) is caught, (mib, memory)
        if caught:
            assert f"memory limit {mib}Mi ({mib} MiB) is too small for openclaw {version}" in memory[0].message


def _budget(threshold: int | None, delay: int = 0, cpu: str | None = "50m") -> Any:
    def change(p: dict[str, Any]) -> None:
        c = gateway(p)
        if threshold is None:
            del c["startupProbe"]
        else:
            c["startupProbe"].update(failureThreshold=threshold, periodSeconds=10, initialDelaySeconds=delay)
        if cpu is None:
            del c["resources"]["requests"]["cpu"]
        else:
            c["resources"]["requests"]["cpu"] = cpu
    return change


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cpu", ["50m", "250m"])
def test_startup_budget_edge_is_the_release_start_at_the_request(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                 shape: str, cpu: str) -> None:
    cores = 0.05 if cpu == "50m" else 0.25
    needed = RELEASES["2026.9.6"].sizing.start_cpu_seconds * 1.25 / cores
    enough = math.ceil(needed / 10)
    for threshold, delay, caught in ((enough, 0, False), (enough - 1, 0, needed > (enough - 1) * 10),
                                     (enough - 1, 10, False)):
        records = mutate(dev, "Deployment", "openclaw", _budget(threshold, delay, cpu))
        budget = [d for d in findings(analyzer, records, shape) if d.policy == "release-startup-budget"]
        assert bool(budget) is caught, (threshold, delay, budget)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("threshold", "cpu", "words"), [(None, "50m", "no startupProbe"),
                                                         (50, None, "no CPU request")])
def test_startup_budget_needs_a_probe_and_a_request(analyzer: PolicyAnalyzer, dev: RunResult, shape: str,
                                                    threshold: int | None, cpu: str | None, words: str) -> None:
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", _budget(threshold, cpu=cpu)), shape)
    assert [d.policy for d in found] == ["release-startup-budget"] and words in found[0].message
