"""The default-deny policy (policy/default_deny.py) at its edges, in both shapes: each condition of a
default deny broken on its own and each way it may be written, namespaces named and the default, a
workload in a namespace of its own, several NetworkPolicies, each unknown that decides the verdict, and
the resource each finding is attached to."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from engine.records import ResourceRecord
from tests.policy_edges import attached, findings, messages, undecidable
from tests.test_policy import mutate

POLICY = "namespace-default-deny"
DENY = "openclaw-default-deny"
NP = f"NetworkPolicy openclaw/{DENY}"


def _missing(ns: str) -> str:
    return (f"namespace '{ns}' runs workloads but has no default-deny NetworkPolicy: add one with podSelector: {{}}, "
            "policyTypes: [Ingress, Egress] and no rules")


def _undecidable(where: str, path: str, ns: str = "openclaw") -> str:
    return undecidable(f"{where} {path}", f"it decides whether namespace '{ns}' has a default deny")


def _deny(dev: RunResult, change: Any) -> list[ResourceRecord]:
    return mutate(dev, "NetworkPolicy", DENY, change)


def _found(analyzer: PolicyAnalyzer, records: list[ResourceRecord]) -> list[str]:
    return messages(findings(analyzer, records, POLICY))


def _first_workload(records: list[ResourceRecord], ns: str | None = "openclaw") -> str:
    """How Pulumi shows the first workload of the namespace, the resource a finding is attached to."""
    urn = next(r.urn for r in records if r.properties.get("kind") in ("Deployment", "Job")
               and r.properties["metadata"].get("namespace") == ns)
    return urn.rsplit("::")[-1]


def test_the_stack_passes(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert findings(analyzer, dev.resources, POLICY) == []


BROKEN: list[tuple[str, Any]] = [
    ("another namespace", lambda p: p["metadata"].__setitem__("namespace", "elsewhere")),
    ("default namespace", lambda p: p["metadata"].pop("namespace")),
    ("pod labels", lambda p: p["spec"].__setitem__("podSelector", {"matchLabels": {"app": "openclaw"}})),
    ("pod expressions", lambda p: p["spec"].__setitem__("podSelector", {"matchExpressions": [
        {"key": "app", "operator": "Exists"}]})),
    ("no Ingress type", lambda p: p["spec"].__setitem__("policyTypes", ["Egress"])),
    ("no Egress type", lambda p: p["spec"].__setitem__("policyTypes", ["Ingress"])),
    ("no types", lambda p: p["spec"].pop("policyTypes")),
    ("an ingress rule", lambda p: p["spec"].__setitem__("ingress", [{}])),
    ("an egress rule", lambda p: p["spec"].__setitem__("egress", [{"ports": [{"port": 53}]}])),
]


@pytest.mark.parametrize("change", [c for _, c in BROKEN], ids=[i for i, _ in BROKEN])
def test_each_condition_on_its_own(analyzer: PolicyAnalyzer, dev: RunResult, change: Any) -> None:
    records = _deny(dev, change)
    assert _found(analyzer, records) == [_missing("openclaw")]
    assert attached(analyzer, records, POLICY) == [(_first_workload(records), _missing("openclaw"))]


HOLDS: list[tuple[str, Any]] = [
    ("empty labels", lambda p: p["spec"].__setitem__("podSelector", {"matchLabels": {}})),
    ("empty expressions", lambda p: p["spec"].__setitem__("podSelector", {"matchExpressions": []})),
    ("both empty", lambda p: p["spec"].__setitem__("podSelector", {"matchLabels": {}, "matchExpressions": []})),
    ("types reversed", lambda p: p["spec"].__setitem__("policyTypes", ["Egress", "Ingress"])),
    ("empty rules", lambda p: p["spec"].update(ingress=[], egress=[])),
]


@pytest.mark.parametrize("change", [c for _, c in HOLDS], ids=[i for i, _ in HOLDS])
def test_each_way_to_write_a_default_deny(analyzer: PolicyAnalyzer, dev: RunResult, change: Any) -> None:
    assert _found(analyzer, _deny(dev, change)) == []


def _workload_ns(ns: str | None) -> Any:
    def apply(props: dict[str, Any]) -> None:
        if ns is None:
            props["metadata"].pop("namespace")
        else:
            props["metadata"]["namespace"] = ns
    return apply


def _everything_in(dev: RunResult, ns: str | None) -> list[ResourceRecord]:
    """The stack's workloads and its default deny moved to one namespace (None: the default)."""
    records = []
    for record in dev.resources:
        if record.properties.get("kind") in ("Deployment", "Job") or record.name == "openclaw-network-default-deny":
            props = copy.deepcopy(record.properties)
            _workload_ns(ns)(props)
            record = dataclasses.replace(record, properties=props)
        records.append(record)
    return records


@pytest.mark.parametrize("ns", [None, "default"])
def test_the_default_namespace(analyzer: PolicyAnalyzer, dev: RunResult, ns: str | None) -> None:
    """A workload without a namespace runs in `default`; a deny written either way covers it."""
    assert _found(analyzer, _everything_in(dev, ns)) == []
    moved = mutate(dev, "Deployment", "openclaw", _workload_ns(None))
    assert attached(analyzer, moved, POLICY) == [(_first_workload(moved, None), _missing("default"))]


def test_each_namespace_with_workloads(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dataclasses.replace(dev, resources=mutate(dev, "Deployment", "openclaw", _workload_ns("b"))),
                     "Job", None, _workload_ns("a"))
    assert _found(analyzer, records) == [_missing("a"), _missing("b")]
    # namespaces without workloads need none; a deny elsewhere does not count
    assert _found(analyzer, _deny(dataclasses.replace(dev, resources=records),
                                  lambda p: p["metadata"].__setitem__("namespace", "a"))) == [_missing("b")]


def _second(dev: RunResult, change: Any) -> list[ResourceRecord]:
    original = next(r for r in dev.resources if r.name == "openclaw-network-default-deny")
    props = copy.deepcopy(original.properties)
    props["metadata"]["name"] = "second-deny"
    change(props)
    return [*dev.resources, dataclasses.replace(original, name="second", urn=f"{original.urn}-second",
                                                properties=props)]


def test_one_default_deny_among_several_policies_is_enough(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    broken_first = _deny(dataclasses.replace(dev, resources=_second(dev, lambda p: None)),
                         lambda p: p["spec"].__setitem__("ingress", [{}]))
    assert _found(analyzer, broken_first) == []
    broken_second = _second(dev, lambda p: p["spec"].__setitem__("ingress", [{}]))
    assert _found(analyzer, broken_second) == []
    unknown_second = _second(dev, lambda p: p["spec"].__setitem__("podSelector", UNKNOWN))
    assert _found(analyzer, unknown_second) == []


UNKNOWNS: list[tuple[str, Any, str]] = [
    ("namespace", lambda p: p["metadata"].__setitem__("namespace", UNKNOWN), "metadata.namespace"),
    ("pod selector", lambda p: p["spec"].__setitem__("podSelector", UNKNOWN), "spec.podSelector"),
    ("labels", lambda p: p["spec"].__setitem__("podSelector", {"matchLabels": UNKNOWN}), "spec.podSelector"),
    ("expressions", lambda p: p["spec"].__setitem__("podSelector", {"matchExpressions": UNKNOWN}),
     "spec.podSelector"),
    ("types", lambda p: p["spec"].__setitem__("policyTypes", UNKNOWN), "spec.policyTypes"),
    ("a type", lambda p: p["spec"].__setitem__("policyTypes", ["Ingress", UNKNOWN]), "spec.policyTypes[1]"),
    ("ingress", lambda p: p["spec"].__setitem__("ingress", UNKNOWN), "spec.ingress"),
    ("egress", lambda p: p["spec"].__setitem__("egress", UNKNOWN), "spec.egress"),
]


@pytest.mark.parametrize(("change", "path"), [(c, p) for _, c, p in UNKNOWNS], ids=[i for i, _, _ in UNKNOWNS])
def test_each_unknown_that_decides(analyzer: PolicyAnalyzer, dev: RunResult, change: Any, path: str) -> None:
    records = _deny(dev, change)
    where = "NetworkPolicy (namespace unknown)/openclaw-default-deny" if path == "metadata.namespace" else NP
    assert attached(analyzer, records, POLICY) == [(_first_workload(records), _undecidable(where, path))]
    assert _found(analyzer, records) == [_undecidable(where, path)]


@pytest.mark.parametrize("change", [c for _, c, _ in UNKNOWNS[1:]], ids=[i for i, _, _ in UNKNOWNS[1:]])
def test_an_unknown_beside_a_known_fault_decides_nothing(analyzer: PolicyAnalyzer, dev: RunResult,
                                                        change: Any) -> None:
    """The policy cannot be a default deny whatever the unknown is: the namespace has none."""
    def both(props: dict[str, Any]) -> None:
        change(props)
        props["metadata"]["namespace"] = "elsewhere"

    assert _found(analyzer, _deny(dev, both)) == [_missing("openclaw")]


def test_the_first_unknown_is_named(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def two(props: dict[str, Any]) -> None:
        props["spec"]["podSelector"] = UNKNOWN
        props["spec"]["egress"] = UNKNOWN

    assert _found(analyzer, _deny(dev, two)) == [_undecidable(NP, "spec.podSelector")]


def test_an_unknown_workload_namespace(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dev, "Deployment", "openclaw", lambda p: p["metadata"].__setitem__("namespace", UNKNOWN))
    deployment = next(r for r in records if r.properties.get("kind") == "Deployment")
    message = ("undecidable at preview: Deployment (namespace unknown)/openclaw metadata.namespace is unknown, and it "
               "decides which namespace needs a default deny: make the value known in the program, or apply what it "
               "depends on first")
    assert attached(analyzer, records, POLICY) == [(deployment.urn.rsplit("::")[-1], message)]


@pytest.mark.parametrize("unknown_kind", ["Job", "Deployment"])
def test_a_workload_after_one_of_unknown_namespace_is_still_counted(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                    unknown_kind: str) -> None:
    """The stack holds the Job before the Deployment: whichever of the two has an unknown namespace, the
    other one's namespace (without a default deny) is still judged, and each finding names its workload."""
    other_kind = "Deployment" if unknown_kind == "Job" else "Job"
    moved = mutate(dev, other_kind, None, _workload_ns("elsewhere"))
    records = mutate(dataclasses.replace(dev, resources=moved), unknown_kind, None,
                     lambda p: p["metadata"].__setitem__("namespace", UNKNOWN))
    unknown = next(r for r in records if r.properties.get("kind") == unknown_kind)
    other = next(r for r in records if r.properties.get("kind") == other_kind)
    name = unknown.properties["metadata"]["name"]
    message = (f"undecidable at preview: {unknown_kind} (namespace unknown)/{name} metadata.namespace is unknown, and "
               "it decides which namespace needs a default deny: make the value known in the program, or apply "
               "what it depends on first")
    assert attached(analyzer, records, POLICY) == sorted([(unknown.urn.rsplit("::")[-1], message),
                                                          (other.urn.rsplit("::")[-1], _missing("elsewhere"))])
    assert _found(analyzer, records) == sorted([message, _missing("elsewhere")])
