"""The gateway-only release policies at their edges, in both shapes: each probe kind and each route form, the
memory share and the startup budget just inside and just outside (with each default and each CPU unit), every
unknown that decides a verdict, and the whole message."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, messages, undecidable_at
from tests.policy_edges_release import CONTAINERS, GATEWAY_ONLY, GW, REPO, Change, deploy, with_image
from tests.test_policy import gateway as _gw
from tests.test_policy import pod as _pod

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def _probe(kind: str, probe: Any) -> Change:
    return lambda p: _gw(p).__setitem__(kind, probe)


def _exec(*command: str) -> dict[str, Any]:
    return {"exec": {"command": list(command)}, "periodSeconds": 10, "failureThreshold": 500}


def _http(path: str | None) -> dict[str, Any]:
    get: dict[str, Any] = {"port": 18789} | ({} if path is None else {"path": path})
    return {"httpGet": get, "periodSeconds": 10, "failureThreshold": 500}


def _on(version: str, *changes: Change) -> list[Change]:
    return [with_image(f"{REPO}:{version}"), *changes]


NO_HEALTH = ("is an httpGet, but openclaw {v} has no health route: every path is answered by the Control UI page "
             "(or nothing on a loopback bind), so it proves nothing or kills a healthy pod; use the exec probes the "
             "program renders")
EXEC_HEALTH = ("requests a health route, which openclaw {v} does not have: the Control UI answers it, so the probe "
               "proves nothing or fails on a healthy pod")
EXEC_STARTUP = "requests /startupz, which openclaw {v} does not have (it came in 2026.8.1)"


@pytest.mark.parametrize("kind", PROBES)
@pytest.mark.parametrize(("version", "path", "problem"), [
    ("2026.2.23", "/healthz", NO_HEALTH), ("2026.2.23", None, NO_HEALTH), ("2026.2.23", "/", NO_HEALTH),
    ("2026.3.7", "/healthz", None), ("2026.3.7", None, None), ("2026.3.7", "/", None),
    ("2026.3.7", "/startupz", "requests /startupz, which openclaw {v} does not have (/startupz came in 2026.8.1)"),
    ("2026.6.35", "/startup", "requests /startup, which openclaw {v} does not have (/startupz came in 2026.8.1)"),
    ("2026.6.35", "/startupz/", None), ("2026.6.35", "/startupzz", None), ("2026.6.35", "/ready", None),
    ("2026.9.6", "/startupz", None),
])
def test_each_http_probe(analyzer: PolicyAnalyzer, dev: RunResult, kind: str, version: str, path: str | None,
                         problem: str | None) -> None:
    others = [_probe(k, None) for k in PROBES if k != kind] if version != "2026.9.6" else []
    found = findings(analyzer, deploy(dev, *_on(version, *others, _probe(kind, _http(path)))), "release-probes")
    assert messages(found) == ([] if problem is None else [f"{GW}: {kind} {problem.format(v=version)}"])


@pytest.mark.parametrize("kind", PROBES)
@pytest.mark.parametrize(("version", "command", "problem"), [
    ("2026.2.23", ("wget", "-q", "http://127.0.0.1:18789/healthz", "-T5"), EXEC_HEALTH),
    ("2026.2.23", ("wget", "-q", "http://127.0.0.1:18789/readyz"), EXEC_HEALTH),
    ("2026.2.23", ("wget", "-q", "http://127.0.0.1:18789/healthcheck"), None),
    ("2026.2.23", ("true",), None),
    ("2026.2.23", ("wget", "-q", "http://127.0.0.1:18789/startupz"), EXEC_STARTUP),
    ("2026.3.7", ("wget", "-q", "http://127.0.0.1:18789/healthz", "-T5"), None),
    ("2026.3.7", ("wget", "-q", "http://127.0.0.1:18789/startupz", "-T5"), EXEC_STARTUP),
    ("2026.3.7", ("wget", "-q", "http://127.0.0.1:18789/startupz"), EXEC_STARTUP),
    ("2026.3.7", ("true",), None),
    ("2026.9.6", ("wget", "-q", "http://127.0.0.1:18789/startupz", "-T5"), None),
])
def test_each_exec_probe(analyzer: PolicyAnalyzer, dev: RunResult, kind: str, version: str,
                         command: tuple[str, ...], problem: str | None) -> None:
    """The route is found in its own argument: the argument after it starts a new word."""
    others = [_probe(k, None) for k in PROBES if k != kind]
    found = findings(analyzer, deploy(dev, *_on(version, *others, _probe(kind, _exec(*command)))), "release-probes")
    assert messages(found) == ([] if problem is None else [f"{GW}: {kind} {problem.format(v=version)}"])


def test_every_probe_is_judged_when_one_is_missing(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    for absent in PROBES:
        changes = [_probe(k, _exec("wget", "http://127.0.0.1:18789/healthz")) for k in PROBES if k != absent]
        found = findings(analyzer, deploy(dev, *_on("2026.2.23", _probe(absent, None), *changes)), "release-probes")
        assert messages(found) == sorted(f"{GW}: {k} {EXEC_HEALTH.format(v='2026.2.23')}" for k in PROBES
                                         if k != absent), absent


def test_init_containers_are_not_judged_for_probes(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def init_probe(props: dict[str, Any]) -> None:
        for c in _pod(props)["initContainers"]:
            c["livenessProbe"] = _http("/healthz")
            c["resources"] = {"limits": {"memory": "64Mi"}, "requests": {"cpu": "10m"}}
    found = findings(analyzer, deploy(dev, *_on("2026.2.23", init_probe)), GATEWAY_ONLY)
    assert found == findings(analyzer, deploy(dev, *_on("2026.2.23")), GATEWAY_ONLY)
    assert found and {m.split(":")[0] for m in messages(found)} == {GW}  # the gateway's own, on 2.23


@pytest.mark.parametrize("kind", PROBES)
def test_each_unknown_probe_is_undecidable(analyzer: PolicyAnalyzer, dev: RunResult, kind: str) -> None:
    why = "its probes must use routes the release has"
    base = f"{CONTAINERS}[0].{kind}"
    for change, path in ((_probe(kind, UNKNOWN), base),
                         (_probe(kind, {"exec": {"command": UNKNOWN}}), f"{base}.exec.command"),
                         (_probe(kind, {"exec": UNKNOWN}), f"{base}.exec"),
                         (_probe(kind, {"exec": {"command": ["wget", UNKNOWN, UNKNOWN]}}), f"{base}.exec.command[1]")):
        others = [_probe(k, None) for k in PROBES if k != kind]
        found = findings(analyzer, deploy(dev, *others, change), "release-probes")
        assert messages(found) == [undecidable_at(GW, path, why)], path


def test_unknown_probes_are_each_undecidable(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = findings(analyzer, deploy(dev, *(_probe(k, UNKNOWN) for k in PROBES)), "release-probes")
    assert messages(found) == sorted(undecidable_at(GW, f"{CONTAINERS}[0].{k}", "its probes must use routes the "
                                                  "release has") for k in PROBES)
    exec_unknown = findings(analyzer, deploy(dev, *(_probe(k, {"exec": {"command": UNKNOWN}}) for k in PROBES)),
                            "release-probes")
    assert len(exec_unknown) == 3


def test_a_known_command_beside_an_unknown_one_is_still_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = deploy(dev, *_on("2026.2.23", _probe("startupProbe", {"exec": {"command": UNKNOWN}}),
                                _probe("readinessProbe", None)))
    assert messages(findings(analyzer, records, "release-probes")) == sorted([
        undecidable_at(GW, f"{CONTAINERS}[0].startupProbe.exec.command", "its probes must use routes the release has"),
        f"{GW}: livenessProbe {EXEC_HEALTH.format(v='2026.2.23')}"])


# --- release-memory ----------------------------------------------------------------------------------

def _limit(value: Any) -> Change:
    def change(props: dict[str, Any]) -> None:
        resources = _gw(props)["resources"]
        resources["requests"]["memory"] = "64Mi"
        if value is None:
            resources["limits"].pop("memory")
        else:
            resources["limits"]["memory"] = value
    return change


def _memory_message(limit: str, mib: int, version: str, peak: int, share: float) -> str:
    return (f"{GW}: memory limit {limit} ({mib} MiB) is too small for openclaw {version}: its start peaks at {peak} "
            f"MiB RSS (measured), more than {share:.0%} of the limit; raise it to at least {peak / share:.0f} MiB "
            "(unset openclaw:resources.memory to get the release's own)")


@pytest.mark.parametrize(("version", "peak"), [("2026.9.6", 1280), ("2026.6.35", 470), ("2026.2.23", 991)])
@pytest.mark.parametrize("share", [1, 0.5])
def test_memory_share_at_its_edge(analyzer: PolicyAnalyzer, dev: RunResult, version: str, peak: int,
                                  share: float) -> None:
    edge = int(peak / share)  # exactly `share` of the limit: allowed
    config = {"release-memory": {"enforcementLevel": "mandatory", "maxPeakShare": share}}
    for mib, caught in ((edge, False), (edge - 1, True), (edge + 1, False)):
        found = findings(analyzer, deploy(dev, *_on(version, _limit(f"{mib}Mi"))), "release-memory", config)
        assert messages(found) == ([_memory_message(f"{mib}Mi", mib, version, peak, share)] if caught else []), mib


def test_memory_default_share_and_units(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """0.75 by default: 9.6's 1280 MiB fits 1707 MiB, not 1706; a limit in Gi reads as MiB."""
    for limit, mib, caught in (("1707Mi", 1707, False), ("1706Mi", 1706, True), ("2Gi", 2048, False),
                               ("1Gi", 1024, True)):
        found = findings(analyzer, deploy(dev, _limit(limit)), "release-memory")
        assert messages(found) == ([_memory_message(limit, mib, "2026.9.6", 1280, 0.75)] if caught else []), limit


@pytest.mark.parametrize("limit", [None, "lots"])
def test_memory_without_a_readable_limit_is_not_judged(analyzer: PolicyAnalyzer, dev: RunResult,
                                                       limit: str | None) -> None:
    """No limit (or one the policy cannot read) is workload's memory-limit to refuse, not this one."""
    assert findings(analyzer, deploy(dev, _limit(limit)), "release-memory") == []


def test_an_unknown_memory_limit_is_undecidable(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    why = "the release's measured start peak must fit in the memory limit"
    for change, path in ((_limit(UNKNOWN), "resources.limits.memory"),
                         (lambda p: _gw(p).__setitem__("resources", UNKNOWN), "resources")):
        found = findings(analyzer, deploy(dev, change), "release-memory")
        assert found == [("release-memory", "mandatory", undecidable_at(GW, f"{CONTAINERS}[0].{path}", why))]


# --- release-startup-budget -----------------------------------------------------------------------------

def _startup(cpu: Any = "1", **probe: Any) -> Change:
    """The gateway's startup probe with exactly these timing fields (None: absent), and this CPU request."""
    def change(props: dict[str, Any]) -> None:
        c = _gw(props)
        command = c["startupProbe"]["exec"]
        c["startupProbe"] = {"exec": command} | {k: v for k, v in probe.items() if v is not None}
        if cpu is None:
            c["resources"]["requests"].pop("cpu")
        else:
            c["resources"]["requests"]["cpu"] = cpu
    return change


def _budget_message(wait: int, version: str, seconds: float, needed: float, cpu: str, margin: float) -> str:
    return (f"{GW}: the startup probe waits {wait} s, but openclaw {version} needs {seconds} CPU-seconds to start "
            f"(measured), {needed:.0f} s at the {cpu} CPU request with {margin - 1:.0%} margin: the kubelet would "
            "restart a pod that is still starting; raise failureThreshold or the CPU request")


MARGIN_1 = {"release-startup-budget": {"enforcementLevel": "mandatory", "margin": 1}}


@pytest.mark.parametrize(("cpu", "cores"), [("1", 1.0), ("1000m", 1.0), ("500m", 0.5), ("0.5", 0.5), ("2", 2.0),
                                            ("250m", 0.25)])
def test_budget_edge_for_each_cpu_form(analyzer: PolicyAnalyzer, dev: RunResult, cpu: str, cores: float) -> None:
    """9.6 starts in 19 CPU-seconds: with margin 1 the probe must wait 19 / cores seconds, no less (the
    initial delay counts)."""
    needed = 19 / cores
    for wait, caught in ((math.ceil(needed), False), (math.ceil(needed) - 1, True)):
        records = deploy(dev, _startup(cpu, periodSeconds=1, failureThreshold=1, initialDelaySeconds=wait - 1))
        found = findings(analyzer, records, "release-startup-budget", MARGIN_1)
        assert messages(found) == ([_budget_message(wait, "2026.9.6", 19.0, needed, cpu, 1)] if caught
                                   else []), (cpu, wait)


def test_budget_margin_and_each_release(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The default margin 1.25: 9.6 at 1 CPU needs 23.75 s, so 24 s pass and 23 s do not; 6.35 needs 7.5 s."""
    for version, seconds, wait, caught in (("2026.9.6", 19.0, 24, False), ("2026.9.6", 19.0, 23, True),
                                           ("2026.6.35", 6.0, 8, False), ("2026.6.35", 6.0, 7, True)):
        changes = _on(version, _startup("1", periodSeconds=wait, failureThreshold=1))
        if version != "2026.9.6":  # the 9.6 render's /startupz probe is release-probes' to judge on 6.35
            changes.append(lambda p: _gw(p)["startupProbe"].__setitem__("exec", {"command": ["true"]}))
        found = findings(analyzer, deploy(dev, *changes), "release-startup-budget")
        assert messages(found) == ([_budget_message(wait, version, seconds, seconds * 1.25, "1", 1.25)] if caught
                                   else []), (version, wait)
    config = {"release-startup-budget": {"enforcementLevel": "mandatory", "margin": 2}}
    for wait, caught in ((38, False), (37, True)):
        found = findings(analyzer, deploy(dev, _startup("1", periodSeconds=wait, failureThreshold=1)),
                         "release-startup-budget", config)
        assert messages(found) == ([_budget_message(wait, "2026.9.6", 19.0, 38, "1", 2)] if caught else []), wait


@pytest.mark.parametrize(("fields", "wait", "exact", "over"), [
    ({"periodSeconds": None, "failureThreshold": 2, "initialDelaySeconds": 0}, 20, 300, 285),    # period 10
    ({"periodSeconds": 8, "failureThreshold": None, "initialDelaySeconds": 0}, 24, 250, 240),    # threshold 3
    ({"periodSeconds": 5, "failureThreshold": 3, "initialDelaySeconds": None}, 15, 400, 375),    # delay 0
    ({"periodSeconds": None, "failureThreshold": None, "initialDelaySeconds": None}, 30, 200, 193),
])
def test_budget_defaults_of_the_probe(analyzer: PolicyAnalyzer, dev: RunResult, fields: dict[str, Any], wait: int,
                                      exact: int, over: int) -> None:
    """The kubelet's defaults for an absent field. 6.35 starts in 6 CPU-seconds: at `exact` millicores that
    takes exactly the wait (passes), at `over` a second more (refused)."""
    for millicores, caught in ((exact, False), (over, True)):
        cpu = f"{millicores}m"
        changes = _on("2026.6.35", _startup(cpu, **fields))
        found = findings(analyzer, deploy(dev, *changes), "release-startup-budget", MARGIN_1)
        needed = 6.0 / (millicores / 1000)
        assert messages(found) == ([_budget_message(wait, "2026.6.35", 6.0, needed, cpu, 1)] if caught
                                   else []), (fields, cpu)


def test_budget_needs_a_startup_probe(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    for version, seconds in (("2026.9.6", 19.0), ("2026.3.7", 46.0)):
        records = deploy(dev, *_on(version, _probe("startupProbe", None), _probe("livenessProbe", None),
                                    _probe("readinessProbe", None)))
        assert findings(analyzer, records, "release-startup-budget") == [(
            "release-startup-budget", "mandatory", f"{GW}: no startupProbe: the liveness probe would judge a start "
            f"that takes {seconds} CPU-seconds")]


@pytest.mark.parametrize("cpu", [None, "0", "0m", "lots", "m"])
def test_budget_needs_a_cpu_request(analyzer: PolicyAnalyzer, dev: RunResult, cpu: str | None) -> None:
    records = deploy(dev, _startup(cpu, periodSeconds=10, failureThreshold=500))
    assert messages(findings(analyzer, records, "release-startup-budget")) == [
        f"{GW}: no CPU request: the startup budget cannot be checked against the release's start; set "
        "resources.requests.cpu"]


@pytest.mark.parametrize("field", ["startupProbe", "periodSeconds", "failureThreshold", "initialDelaySeconds", "cpu"])
def test_each_unknown_of_the_budget_is_undecidable(analyzer: PolicyAnalyzer, dev: RunResult, field: str) -> None:
    fields: dict[str, Any] = {"periodSeconds": 10, "failureThreshold": 500, "initialDelaySeconds": 0}
    cpu: Any = "1"
    if field == "cpu":
        cpu, path = UNKNOWN, "resources.requests.cpu"
    elif field == "startupProbe":
        path = "startupProbe"
    else:
        fields[field], path = UNKNOWN, f"startupProbe.{field}"
    changes = [_startup(cpu, **fields)]
    if field == "startupProbe":
        changes.append(_probe("startupProbe", UNKNOWN))
    found = findings(analyzer, deploy(dev, *changes), "release-startup-budget")
    assert found == [("release-startup-budget", "mandatory", undecidable_at(
        GW, f"{CONTAINERS}[0].{path}", "the startup probe must wait out the release's measured start at the CPU "
        "request"))]
