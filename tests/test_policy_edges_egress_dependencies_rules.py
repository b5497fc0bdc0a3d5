"""egress-covers-dependencies (policy/egress_dependencies.py) at its edges, in both shapes: the egress
policies. Which ones select the gateway pod (namespace, policyTypes, podSelector), each part of a rule
(ports, peers, namespace peers, ipBlock and its excepts), DNS, and each unknown that decides a verdict,
named by its path; every finding attached to the gateway."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from engine.records import ResourceRecord
from tests.test_policy import mutate
from tests.test_policy_edges_egress_dependencies_list import GW, blocked, judged, only, undecided, with_list

Change = Callable[[dict[str, Any]], Any]
DB = "DATABASE_URL (infra-db-rw.infra-db.svc:5432)"
DB_BLOCKED = blocked(DB, "infra-db-rw.infra-db.svc", 5432, "add a namespace peer for 'infra-db' on TCP 5432")
API = "Kubernetes API (10.43.0.1:443)"
API_FIX = "add a ipBlock 10.43.0.1/32 (CNIs that judge before DNAT see the Service address) on TCP 443"
TARGETS = [DB, API, f"{API} endpoint 192.168.10.10:6443 (after DNAT)",
           "model provider 'deepseek' (https://api.deepseek.com/v1)", "Telegram Bot API"]
NO_DNS = f"{GW}: no egress rule allows DNS (port 53): every named dependency is blocked"


def reach(what: str) -> str:
    return f"it decides whether {what} is reachable"


DNS = "it decides whether DNS (port 53) is allowed"


def changed(dev: RunResult, *changes: tuple[str, Change],
            records: list[ResourceRecord] | None = None) -> list[ResourceRecord]:
    """The stack (or these records of it) with NetworkPolicies (by name, without `openclaw-`) changed."""
    records = dev.resources if records is None else records
    for name, change in changes:
        records = mutate(dataclasses.replace(dev, resources=records), "NetworkPolicy", f"openclaw-{name}", change)
    return records


def rule(index: int = 0) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda p: p["spec"]["egress"][index]


def put(path: Callable[[dict[str, Any]], Any], key: str | int, value: Any) -> Change:
    return lambda p: path(p).__setitem__(key, value)


EGRESS_OFF = put(lambda p: p["spec"], "policyTypes", ["Ingress"])

# --- which policies select the pod ------------------------------------------------------------------

SELECTION: list[tuple[str, Change, bool]] = [
    ("namespace of the pod", lambda p: None, True),
    ("another namespace", put(lambda p: p["metadata"], "namespace", "other"), False),
    ("ingress only", EGRESS_OFF, False),
    ("ingress and egress", put(lambda p: p["spec"], "policyTypes", ["Ingress", "Egress"]), True),
    ("egress beside an unknown type", put(lambda p: p["spec"], "policyTypes", [UNKNOWN, "Egress"]), True),
    # no policyTypes (or []): the API server makes them [Ingress, Egress] for a policy with egress rules
    ("no policyTypes, egress rules", lambda p: p["spec"].pop("policyTypes"), True),
    ("empty policyTypes, egress rules", put(lambda p: p["spec"], "policyTypes", []), True),
    ("another app", put(lambda p: p["spec"]["podSelector"], "matchLabels", {"app": "other"}), False),
    ("one label of two differs", put(lambda p: p["spec"]["podSelector"], "matchLabels",
                                     {"app": "openclaw", "app.kubernetes.io/component": "backup"}), False),
    ("both labels match", put(lambda p: p["spec"]["podSelector"], "matchLabels",
                              {"app": "openclaw", "app.kubernetes.io/component": "gateway"}), True),
    ("no labels: every pod", put(lambda p: p["spec"]["podSelector"], "matchLabels", {}), True),
    ("empty selector: every pod", put(lambda p: p["spec"], "podSelector", {}), True),
    ("another namespace, selector unknown", lambda p: (p["metadata"].__setitem__("namespace", "other"),
                                                       p["spec"].__setitem__("podSelector", UNKNOWN)), False),
    ("ingress only, namespace unknown", lambda p: (p["metadata"].__setitem__("namespace", UNKNOWN),
                                                   EGRESS_OFF(p)), False),
]


@pytest.mark.parametrize(("change", "selects"), [s[1:] for s in SELECTION], ids=[s[0] for s in SELECTION])
def test_the_database_policy_selects_the_pod(analyzer: PolicyAnalyzer, dev: RunResult, change: Change,
                                             selects: bool) -> None:
    """The only policy that allows the database: when it does not select the pod, the database is blocked (and
    its rule is not counted among the pod's)."""
    found = judged(analyzer, changed(dev, ("allow-postgres", change)))
    assert found == ([] if selects else [DB_BLOCKED.replace("none of the 5", "none of the 4")])


UNKNOWN_SELECTION: list[tuple[str, Change, str]] = [
    ("namespace", put(lambda p: p["metadata"], "namespace", UNKNOWN), "metadata.namespace"),
    ("policyTypes", put(lambda p: p["spec"], "policyTypes", UNKNOWN), "spec.policyTypes"),
    ("a policy type", put(lambda p: p["spec"], "policyTypes", [UNKNOWN]), "spec.policyTypes[0]"),
    ("the second policy type", put(lambda p: p["spec"], "policyTypes", ["Ingress", UNKNOWN]), "spec.policyTypes[1]"),
    ("no policyTypes, egress rules unknown", lambda p: (p["spec"].pop("policyTypes"),
                                                         p["spec"].__setitem__("egress", UNKNOWN)), "spec.egress"),
    ("podSelector", put(lambda p: p["spec"], "podSelector", UNKNOWN), "spec.podSelector"),
    ("matchLabels", put(lambda p: p["spec"]["podSelector"], "matchLabels", UNKNOWN), "spec.podSelector.matchLabels"),
    ("a label", put(lambda p: p["spec"]["podSelector"]["matchLabels"], "app", UNKNOWN),
     "spec.podSelector.matchLabels.app"),
    ("namespace and selector: the namespace is named", lambda p: (p["metadata"].__setitem__("namespace", UNKNOWN),
                                                                  p["spec"].__setitem__("podSelector", UNKNOWN)),
     "metadata.namespace"),
    ("types and selector: the types are named", lambda p: (p["spec"].__setitem__("policyTypes", UNKNOWN),
                                                           p["spec"].__setitem__("podSelector", UNKNOWN)),
     "spec.policyTypes"),
    ("two labels: the unknown one is named", put(lambda p: p["spec"]["podSelector"], "matchLabels",
                                                 {"app": "openclaw", "tier": UNKNOWN}),
     "spec.podSelector.matchLabels.tier"),
]


@pytest.mark.parametrize(("change", "path"), [s[1:] for s in UNKNOWN_SELECTION], ids=[s[0] for s in UNKNOWN_SELECTION])
def test_each_unknown_of_the_selection(analyzer: PolicyAnalyzer, dev: RunResult, change: Change, path: str) -> None:
    assert judged(analyzer, changed(dev, ("allow-postgres", change))) == [undecided(path, reach(DB))]


def test_a_label_of_the_pod_unknown_decides_every_policy_that_selects_by_it(analyzer: PolicyAnalyzer,
                                                                            dev: RunResult) -> None:
    """Only the default deny (every pod, no rule) is known to select the pod: DNS and each destination depend on
    the label."""
    records = mutate(dev, "Deployment", "openclaw", lambda p: p["spec"]["template"]["metadata"]["labels"].__setitem__(
        "app", UNKNOWN))
    path = "spec.template.metadata.labels.app"
    assert judged(analyzer, records) == sorted([undecided(path, DNS), *(undecided(path, reach(t)) for t in TARGETS)])


def test_no_egress_policy_blocks_nothing(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = with_list(dev, only({"name": "smtp", "host": "mail.example.com", "port": 25}))
    names = ("default-deny", "allow-dns", "allow-kube-api", "allow-public-https", "allow-postgres")
    assert judged(analyzer, changed(dev, *((n, EGRESS_OFF) for n in names), records=records)) == []
    # the default deny alone: no DNS, and the destination blocked
    assert judged(analyzer, changed(dev, *((n, EGRESS_OFF) for n in names[1:]), records=records)) == [NO_DNS,
        blocked("smtp", "mail.example.com", 25, "add a public ipBlock (0.0.0.0/0 minus non-public space) on TCP 25",
                rules=0)]


def test_a_policy_without_policy_types_restricts_egress_only_with_egress_rules(analyzer: PolicyAnalyzer,
                                                                              dev: RunResult) -> None:
    """No policyTypes: the API server makes them [Ingress] for a policy without egress rules, [Ingress, Egress]
    for one with (kubernetes SetDefaults_NetworkPolicy). The default deny alone selects the pod."""
    records = with_list(dev, only({"name": "smtp", "host": "mail.example.com", "port": 25}))
    others = [(n, EGRESS_OFF) for n in ("allow-dns", "allow-kube-api", "allow-public-https", "allow-postgres")]

    def untyped(*rules: dict[str, Any]) -> Change:
        def change(p: dict[str, Any]) -> None:
            p["spec"].pop("policyTypes")
            p["spec"]["egress"] = list(rules)
        return change

    assert judged(analyzer, changed(dev, *others, ("default-deny", untyped()), records=records)) == []
    dns_only = untyped({"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]})
    assert judged(analyzer, changed(dev, *others, ("default-deny", dns_only), records=records)) == [
        blocked("smtp", "mail.example.com", 25, "add a public ipBlock (0.0.0.0/0 minus non-public space) on TCP 25",
                rules=1)]


def test_only_a_policy_that_may_select_the_pod(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The default deny alone, in a namespace unknown at preview: whether anything is blocked depends on it."""
    names = ("allow-dns", "allow-kube-api", "allow-public-https", "allow-postgres")
    records = changed(dev, *((n, EGRESS_OFF) for n in names),
                      ("default-deny", put(lambda p: p["metadata"], "namespace", UNKNOWN)))
    path = "metadata.namespace"
    assert judged(analyzer, records) == sorted([undecided(path, DNS), *(undecided(path, reach(t)) for t in TARGETS)])


def test_a_rule_that_may_apply_names_its_own_unknown(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The database policy may select the pod and its port is unknown: the port is what decides."""
    records = changed(dev, ("allow-postgres", lambda p: (p["metadata"].__setitem__("namespace", UNKNOWN),
                                                         rule()(p)["ports"][0].__setitem__("port", UNKNOWN))))
    assert judged(analyzer, records) == [undecided("spec.egress[0].ports[0].port", reach(DB))]
    # ... and a rule that may apply but cannot allow it leaves the destination blocked
    records = changed(dev, ("allow-postgres", lambda p: (p["metadata"].__setitem__("namespace", UNKNOWN),
                                                         rule()(p)["ports"][0].__setitem__("port", 5433))))
    assert judged(analyzer, records) == [DB_BLOCKED.replace("none of the 5", "none of the 4")]


def test_a_policy_that_does_not_select_the_pod_hides_none_after_it(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The default deny (first) turned to ingress only: the policies after it still restrict the pod."""
    records = changed(dev, ("default-deny", EGRESS_OFF), ("allow-postgres", lambda p: rule()(p)["ports"][0].__setitem__(
        "port", 5433)))
    assert judged(analyzer, records) == [DB_BLOCKED]


def test_a_rule_that_may_apply_and_allows_names_the_selection(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The database policy may select the pod, and its rule allows the database through its second peer (the first
    is unknown): only the selection decides, and it is what the message names."""
    records = changed(dev, ("allow-postgres", lambda p: (p["metadata"].__setitem__("namespace", UNKNOWN),
                                                         rule()(p)["to"].insert(0, UNKNOWN))))
    assert judged(analyzer, records) == [undecided("metadata.namespace", reach(DB))]
