"""The workload policies (policy/workload.py) at their edges, in both shapes: each security setting on
its own in each container (init containers too), pod-level settings and container overrides, each
host-access field, the heap bound in each memory unit just inside and just outside."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer, PolicyConfigError
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, messages, undecidable
from tests.test_policy import mutate

DEPLOYMENT = "Deployment openclaw/openclaw"
CONTAINERS = ["state-guard", "seed", "plugins", "migrate", "preflight", "gateway"]
# A change to a container's securityContext that breaks exactly one setting, with what the policy asks.
BREAKS: list[tuple[str, Any, str]] = [
    ("runAsNonRoot", lambda c: c.__setitem__("runAsNonRoot", False), "runAsNonRoot: true"),
    ("allowPrivilegeEscalation", lambda c: c.pop("allowPrivilegeEscalation"), "allowPrivilegeEscalation: false"),
    ("privileged", lambda c: c.__setitem__("privileged", True), "privileged: false"),
    ("capabilities", lambda c: c.__setitem__("capabilities", {"drop": ["NET_RAW"]}), "capabilities.drop: [ALL]"),
    ("readOnlyRootFilesystem", lambda c: c.__setitem__("readOnlyRootFilesystem", False),
     "readOnlyRootFilesystem: true"),
    ("seccompProfile", lambda c: c.__setitem__("seccompProfile", {"type": "Unconfined"}),
     "seccompProfile.type: RuntimeDefault"),
]


def _pod(props: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = props["spec"]["template"]["spec"]
    return pod


def _container(props: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in _pod(props)["initContainers"] + _pod(props)["containers"] if c["name"] == name]
    return found


def _label(container: str) -> str:
    return f"container '{container}'" if container == "gateway" else f"init container '{container}'"


def _security(analyzer: PolicyAnalyzer, dev: RunResult, change: Any) -> list[str]:
    return messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "pod-security-context"))


@pytest.mark.parametrize("shift", range(len(BREAKS)))
def test_each_setting_in_each_container(analyzer: PolicyAnalyzer, dev: RunResult, shift: int) -> None:
    """Container i breaks setting i + shift: over the shifts, every container breaks every setting."""
    def change(props: dict[str, Any]) -> None:
        for i, name in enumerate(CONTAINERS):
            BREAKS[(i + shift) % len(BREAKS)][1](_container(props, name)["securityContext"])

    expected = [f"{DEPLOYMENT} {_label(name)}: securityContext must set {BREAKS[(i + shift) % len(BREAKS)][2]}"
                for i, name in enumerate(CONTAINERS)]
    assert sorted(_security(analyzer, dev, change)) == sorted(expected)


def test_settings_that_pass(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        _container(props, "seed")["securityContext"].pop("privileged")   # absent is not privileged
        _container(props, "plugins")["securityContext"]["capabilities"] = {"drop": ["NET_RAW", "ALL"]}
        for name in ("migrate", "preflight"):                             # the pod's settings count
            _container(props, name)["securityContext"].pop("runAsNonRoot")
            _container(props, name)["securityContext"].pop("seccompProfile")

    assert _security(analyzer, dev, change) == []


def test_the_pod_settings_count_only_where_the_container_sets_none(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        _pod(props)["securityContext"].update(runAsNonRoot=False, seccompProfile={"type": "Unconfined"})
        _container(props, "seed")["securityContext"].pop("runAsNonRoot")
        _container(props, "gateway")["securityContext"].pop("seccompProfile")

    assert sorted(_security(analyzer, dev, change)) == [
        f"{DEPLOYMENT} container 'gateway': securityContext must set seccompProfile.type: RuntimeDefault",
        f"{DEPLOYMENT} init container 'seed': securityContext must set runAsNonRoot: true"]


def test_several_wrong_settings_in_one_message(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        for _, breaks, _ in BREAKS:
            breaks(_container(props, "gateway")["securityContext"])

    assert _security(analyzer, dev, change) == [
        f"{DEPLOYMENT} container 'gateway': securityContext must set {', '.join(w for _, _, w in BREAKS)}"]


@pytest.mark.parametrize(("fields", "used"), [
    ({"hostNetwork": True}, "hostNetwork"), ({"hostPID": True}, "hostPID"), ({"hostIPC": True}, "hostIPC"),
    ({"hostNetwork": True, "hostIPC": True}, "hostNetwork, hostIPC"),
    ({"hostNetwork": False, "hostPID": False, "hostIPC": False}, None),
])
def test_each_host_field(analyzer: PolicyAnalyzer, dev: RunResult, fields: dict[str, bool], used: str | None) -> None:
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", lambda p: _pod(p).update(fields)),
                     "no-host-access")
    assert messages(found) == ([] if used is None else [
        f"{DEPLOYMENT}: uses {used}: remove it (the pod must not reach the node)"])


def test_a_host_path_volume_among_others(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda p: _pod(p)["volumes"].insert(1, {"name": "node", "hostPath": {"path": "/var"}})  # noqa: E731
    assert messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "no-host-access")) == [
        f"{DEPLOYMENT}: uses hostPath volume 'node': remove it (the pod must not reach the node)"]


@pytest.mark.parametrize("container", CONTAINERS)
def test_each_container_needs_a_memory_limit(analyzer: PolicyAnalyzer, dev: RunResult, container: str) -> None:
    change = lambda p: _container(p, container)["resources"].pop("limits")  # noqa: E731
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "memory-limits")
    assert messages(found) == [f"{DEPLOYMENT} {_label(container)}: no memory limit: set resources.limits.memory"]


# 2048 MiB in each unit the policy reads; the heap may take 75% of it (1536 MiB).
LIMITS = ["2147483648", "2097152Ki", "2048Mi", "2Gi", "0.001953125Ti", "2147483.648k", "2147.483648M",
          "2.147483648G", "0.002147483648T"]


@pytest.mark.parametrize(("container", "limit"), [*(("gateway", x) for x in LIMITS), ("migrate", "2Gi")])
@pytest.mark.parametrize(("heap", "caught"), [(1535, False), (1537, True)])
def test_heap_bound_in_each_unit(analyzer: PolicyAnalyzer, dev: RunResult, container: str, limit: str, heap: int,
                                 caught: bool) -> None:
    def change(props: dict[str, Any]) -> None:
        found = _container(props, container)
        found["resources"]["limits"]["memory"] = limit
        node_options = next(e for e in found["env"] if e["name"] == "NODE_OPTIONS")
        node_options["value"] = f"--trace-gc --max-old-space-size={heap}"

    found = messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "memory-limits"))
    assert found == ([f"{DEPLOYMENT} {_label(container)}: Node heap --max-old-space-size={heap} MiB leaves less than "
                      f"25% of the memory limit {limit} (2048 MiB) to the rest of the process: the pod would be "
                      "OOM-killed silently; lower the heap or raise the limit"] if caught else [])


@pytest.mark.parametrize(("name", "caught"), [("NODE_OPTIONS", True), ("NODE_OPTIONS_X", False),
                                              ("EXTRA_OPTIONS", False)])
def test_only_node_options_sets_the_heap(analyzer: PolicyAnalyzer, dev: RunResult, name: str, caught: bool) -> None:
    def change(props: dict[str, Any]) -> None:
        env = _container(props, "gateway")["env"]
        env[:] = [e for e in env if e["name"] != "NODE_OPTIONS"] + [{"name": name,
                                                                     "value": "--max-old-space-size=4096"}]

    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "memory-limits")
    assert len(found) == (1 if caught else 0)


def _undecidable(where: str, why: str) -> str:
    return undecidable(f"{DEPLOYMENT} {where}", why)


def _gw(props: dict[str, Any]) -> dict[str, Any]:
    return _container(props, "gateway")


def _node_options(name: Any, value: Any) -> Any:
    def apply(props: dict[str, Any]) -> None:
        env = _gw(props)["env"]
        env[:] = [e for e in env if e["name"] != "NODE_OPTIONS"] + [{"name": name, "value": value}]
    return apply


GW = "container 'gateway' spec.template.spec.containers[0]"
SPEC = "spec.template.spec"
HOST = "it could give the pod access to the node"
LIMIT = "every container needs a memory limit above its heap"
UNKNOWN_CASES: list[tuple[str, Any, list[tuple[str, str, str]]]] = [
    *((key, lambda p, k=key: _gw(p)["securityContext"].__setitem__(k, UNKNOWN),
       [("pod-security-context", f"{GW}.securityContext.{key}", f"the securityContext must set {wanted}")])
      for key, wanted in (("runAsNonRoot", "runAsNonRoot: true"),
                          ("allowPrivilegeEscalation", "allowPrivilegeEscalation: false"),
                          ("privileged", "privileged: false"),
                          ("readOnlyRootFilesystem", "readOnlyRootFilesystem: true"))),
    ("seccomp type", lambda p: _gw(p)["securityContext"]["seccompProfile"].__setitem__("type", UNKNOWN),
     [("pod-security-context", f"{GW}.securityContext.seccompProfile.type",
       "the securityContext must set seccompProfile.type: RuntimeDefault")]),
    ("drop entry", lambda p: _gw(p)["securityContext"]["capabilities"].__setitem__("drop", [UNKNOWN]),
     [("pod-security-context", f"{GW}.securityContext.capabilities.drop[0]",
       "the securityContext must set capabilities.drop: [ALL]")]),
    ("drop entry next to ALL", lambda p: _gw(p)["securityContext"]["capabilities"].__setitem__(
        "drop", [UNKNOWN, "ALL"]), []),
    ("container", lambda p: _pod(p)["containers"].__setitem__(0, UNKNOWN),
     [("memory-limits", "container '?' spec.template.spec.containers[0]", LIMIT),
      ("pod-security-context", "container '?' spec.template.spec.containers[0]",
       "its securityContext is what this policy judges")]),
    ("hostNetwork", lambda p: _pod(p).__setitem__("hostNetwork", UNKNOWN),
     [("no-host-access", f"{SPEC}.hostNetwork", HOST)]),
    ("hostPID", lambda p: _pod(p).__setitem__("hostPID", UNKNOWN), [("no-host-access", f"{SPEC}.hostPID", HOST)]),
    ("hostIPC", lambda p: _pod(p).__setitem__("hostIPC", UNKNOWN), [("no-host-access", f"{SPEC}.hostIPC", HOST)]),
    ("volumes", lambda p: _pod(p).__setitem__("volumes", UNKNOWN), [("no-host-access", f"{SPEC}.volumes", HOST)]),
    ("volume", lambda p: _pod(p)["volumes"].__setitem__(1, UNKNOWN), [("no-host-access", f"{SPEC}.volumes[1]", HOST)]),
    ("memory limit", lambda p: _gw(p)["resources"]["limits"].__setitem__("memory", UNKNOWN),
     [("memory-limits", f"{GW}.resources.limits.memory", LIMIT)]),
    ("env", lambda p: _gw(p).__setitem__("env", UNKNOWN),
     [("memory-limits", f"{GW}.env", "a NODE_OPTIONS heap above the memory limit could be in it")]),
    ("NODE_OPTIONS value", _node_options("NODE_OPTIONS", UNKNOWN),
     [("memory-limits", f"{GW}.env[8].value", "the Node heap it sets must stay below the memory limit")]),
    ("name of a heap above", _node_options(UNKNOWN, "--max-old-space-size=1537"),
     [("memory-limits", f"{GW}.env[8].name",
       "if it is NODE_OPTIONS, its heap 1537 MiB is not below the memory limit 2048Mi")]),
    ("name of a heap below", _node_options(UNKNOWN, "--max-old-space-size=1536"), []),   # 2048 * 0.75 = 1536
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in UNKNOWN_CASES],
                         ids=[i for i, _, _ in UNKNOWN_CASES])
def test_each_unknown_that_decides_is_undecidable(analyzer: PolicyAnalyzer, dev: RunResult, change: Any,
                                                  expected: list[tuple[str, str, str]]) -> None:
    assert len(_gw(dev.find("Deployment", "openclaw").properties)["env"]) == 9
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", change),
                     {"pod-security-context", "no-host-access", "memory-limits"})
    assert [(p, m) for p, _, m in found] == [(p, _undecidable(where, why)) for p, where, why in expected]


def test_an_unknown_pod_spec_is_undecidable_for_each_policy(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda p: p["spec"]["template"].__setitem__("spec", UNKNOWN)  # noqa: E731
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", change),
                     {"pod-security-context", "no-host-access", "memory-limits"})
    assert [(p, m) for p, _, m in found] == [
        ("memory-limits", _undecidable(f"containers {SPEC}", LIMIT)),
        ("memory-limits", _undecidable(f"init containers {SPEC}", LIMIT)),
        *[("no-host-access", _undecidable(SPEC, HOST))] * 4,     # hostNetwork, hostPID, hostIPC, volumes
        ("pod-security-context", _undecidable(SPEC, "the pod's security settings are what this policy judges"))]


@pytest.mark.parametrize(("share", "heap", "caught"), [(0.5, 1024, False), (0.5, 1025, True), (0.05, 1945, False),
                                                       (0.05, 1946, True), (0.9, 204, False), (0.9, 205, True)])
def test_configured_non_heap_share(analyzer: PolicyAnalyzer, dev: RunResult, share: float, heap: int,
                                   caught: bool) -> None:
    """2048Mi (the gateway's limit) x (1 - share): 1024, 1945.6 and 204.8 MiB of heap at most."""
    config = {"memory-limits": {"enforcementLevel": "mandatory", "minNonHeapShare": share}}
    found = messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", _node_options(
        "NODE_OPTIONS", f"--max-old-space-size={heap}")), "memory-limits", config))
    found = [m for m in found if m.startswith(f"{DEPLOYMENT} container 'gateway'")]  # migrate keeps its 896
    assert found == ([f"{DEPLOYMENT} container 'gateway': Node heap --max-old-space-size={heap} MiB leaves less than "
                      f"{share:.0%} of the memory limit 2048Mi (2048 MiB) to the rest of the process: the pod would "
                      "be OOM-killed silently; lower the heap or raise the limit"] if caught else [])


@pytest.mark.parametrize(("share", "accepted"), [(0.05, True), (0.049, False), (0.9, True), (0.901, False)])
def test_non_heap_share_bounds(analyzer: PolicyAnalyzer, dev: RunResult, share: float, accepted: bool) -> None:
    config = {"memory-limits": {"enforcementLevel": "mandatory", "minNonHeapShare": share}}
    if accepted:
        findings(analyzer, dev.resources, "memory-limits", config)
    else:
        with pytest.raises(PolicyConfigError, match=r"memory-limits\.minNonHeapShare"):
            findings(analyzer, dev.resources, "memory-limits", config)


def test_an_unreadable_limit_is_left_to_the_api_server(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """`2GB` is no Kubernetes quantity: the API server refuses the object, no heap bound can be drawn."""
    def change(props: dict[str, Any]) -> None:
        _gw(props)["resources"]["limits"]["memory"] = "2GB"
        _node_options("NODE_OPTIONS", "--max-old-space-size=4096")(props)

    assert findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "memory-limits") == []


@pytest.mark.parametrize("first", ["--trace-gc", UNKNOWN], ids=["no heap", "unknown"])
def test_each_node_options_entry_is_judged(analyzer: PolicyAnalyzer, dev: RunResult, first: Any) -> None:
    """The kubelet takes the last of two entries of one name: an earlier one hides nothing."""
    def change(props: dict[str, Any]) -> None:
        env = _gw(props)["env"]
        env[:] = [e for e in env if e["name"] != "NODE_OPTIONS"] + [
            {"name": "NODE_OPTIONS", "value": first}, {"name": "NODE_OPTIONS", "value": "--max-old-space-size=4096"}]

    found = messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "memory-limits"))
    assert [m for m in found if "--max-old-space-size=4096" in m] == [
        f"{DEPLOYMENT} container 'gateway': Node heap --max-old-space-size=4096 MiB leaves less than 25% of the "
        "memory limit 2048Mi (2048 MiB) to the rest of the process: the pod would be OOM-killed silently; lower the "
        "heap or raise the limit"]


def test_an_unknown_container_hides_none_after_it(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The first init container unknown, a setting of the gateway broken: both are reported."""
    def change(props: dict[str, Any]) -> None:
        _gw(props)["securityContext"]["privileged"] = True
        _pod(props)["initContainers"][0] = UNKNOWN

    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "pod-security-context")
    assert messages(found) == [
        f"{DEPLOYMENT} container 'gateway': securityContext must set privileged: false",
        _undecidable("init container '?' spec.template.spec.initContainers[0]",
                     "its securityContext is what this policy judges")]


@pytest.mark.parametrize("name", [None, UNKNOWN], ids=["absent", "unknown"])
def test_a_host_path_volume_whose_name_is_not_known(analyzer: PolicyAnalyzer, dev: RunResult, name: Any) -> None:
    def change(props: dict[str, Any]) -> None:
        volume: dict[str, Any] = {"hostPath": {"path": "/var"}}
        if name is not None:
            volume["name"] = name
        _pod(props)["volumes"].append(volume)

    assert messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "no-host-access")) == [
        f"{DEPLOYMENT}: uses hostPath volume '?': remove it (the pod must not reach the node)"]


def test_an_entry_of_unknown_name_hides_no_node_options_after_it(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        env = _gw(props)["env"]
        env[:] = [e for e in env if e["name"] != "NODE_OPTIONS"] + [
            {"name": UNKNOWN, "value": "--max-old-space-size=1600"},
            {"name": "NODE_OPTIONS", "value": "--max-old-space-size=4096"}]

    found = messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "memory-limits"))
    assert [m for m in found if "container 'gateway'" in m] == [
        f"{DEPLOYMENT} container 'gateway': Node heap --max-old-space-size=4096 MiB leaves less than 25% of the "
        "memory limit 2048Mi (2048 MiB) to the rest of the process: the pod would be OOM-killed silently; lower the "
        "heap or raise the limit",
        _undecidable(f"{GW}.env[8].name", "if it is NODE_OPTIONS, its heap 1600 MiB is not below the memory limit "
                                          "2048Mi")]


def test_a_container_without_a_limit_hides_no_heap_after_it(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        _container(props, "state-guard")["resources"].pop("limits")
        _node_options("NODE_OPTIONS", "--max-old-space-size=4096")(props)

    found = messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "memory-limits"))
    assert found == [
        f"{DEPLOYMENT} container 'gateway': Node heap --max-old-space-size=4096 MiB leaves less than 25% of the "
        "memory limit 2048Mi (2048 MiB) to the rest of the process: the pod would be OOM-killed silently; lower the "
        "heap or raise the limit",
        f"{DEPLOYMENT} init container 'state-guard': no memory limit: set resources.limits.memory"]
