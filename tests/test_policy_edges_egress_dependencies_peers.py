"""egress-covers-dependencies (policy/egress_dependencies.py) at its edges, in both shapes: each part of
an egress rule. Ports (each entry on its own, none, named, unknown), peers (none, each of several,
namespace peers, pod peers), ipBlocks and their excepts at the bounds, DNS, and each unknown of a rule,
named by its path."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.test_policy_edges_egress_dependencies_list import blocked, judged, only, undecided, with_list
from tests.test_policy_edges_egress_dependencies_rules import (
    API,
    API_FIX,
    DB,
    DB_BLOCKED,
    DNS,
    NO_DNS,
    Change,
    changed,
    put,
    reach,
    rule,
)

PUBLIC_FIX = "add a public ipBlock (0.0.0.0/0 minus non-public space) on TCP 5432"
PORTS = lambda p: rule()(p)  # noqa: E731 - the rule whose "ports" a case sets
PEERS = lambda p: rule()(p)["to"]  # noqa: E731

# --- the database rule: ports and peers (DATABASE_URL, infra-db-rw.infra-db.svc:5432) -----------------

DATABASE_RULE: list[tuple[str, Change, str | None]] = [
    ("the port", lambda p: None, None),
    ("another port", put(PORTS, "ports", [{"port": 5433}]), DB_BLOCKED),
    ("the port second", put(PORTS, "ports", [{"port": 5433}, {"port": 5432}]), None),
    ("the port first", put(PORTS, "ports", [{"port": 5432}, {"port": 5433}]), None),
    ("the port as text", put(PORTS, "ports", [{"port": "5432"}]), None),
    ("a named port", put(PORTS, "ports", [{"port": "postgresql"}]), DB_BLOCKED),
    ("no ports: every port", lambda p: rule()(p).pop("ports"), None),
    ("an empty port list: every port", put(PORTS, "ports", []), None),
    ("no peers: everywhere", lambda p: rule()(p).pop("to"), None),
    ("an empty peer list: everywhere", put(PORTS, "to", []), None),
    ("another namespace", put(lambda p: PEERS(p)[0]["namespaceSelector"]["matchLabels"],
                              "kubernetes.io/metadata.name", "infra"), DB_BLOCKED),
    ("the namespace as the second peer", lambda p: PEERS(p).insert(0, {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "infra"}}}), None),
    ("every namespace: an empty namespaceSelector", put(PEERS, 0, {"namespaceSelector": {}}), None),
    ("every namespace: no labels", put(PEERS, 0, {"namespaceSelector": {"matchLabels": {}}}), None),
    ("namespaces by another label: not known to match", put(PEERS, 0, {"namespaceSelector": {"matchLabels": {
        "team": "db"}}}), DB_BLOCKED),
    ("namespaces by an expression: not judged", put(PEERS, 0, {"namespaceSelector": {"matchExpressions": [
        {"key": "team", "operator": "Exists"}]}}), DB_BLOCKED),
    ("namespaces by expressions unknown", put(PEERS, 0, {"namespaceSelector": {"matchExpressions": UNKNOWN}}),
     undecided("spec.egress[0].to[0].namespaceSelector.matchExpressions", reach(DB))),
    ("a pod peer: the pod's own namespace", put(PEERS, 0, {"podSelector": {"matchLabels": {"a": "b"}}}), DB_BLOCKED),
    ("an ipBlock for a Service name", put(PEERS, 0, {"ipBlock": {"cidr": "0.0.0.0/0"}}), DB_BLOCKED),
    ("ports unknown", put(PORTS, "ports", UNKNOWN), undecided("spec.egress[0].ports", reach(DB))),
    ("a port unknown", put(PORTS, "ports", [{"port": UNKNOWN}]), undecided("spec.egress[0].ports[0].port", reach(DB))),
    ("the second port unknown", put(PORTS, "ports", [{"port": 5433}, {"port": UNKNOWN}]),
     undecided("spec.egress[0].ports[1].port", reach(DB))),
    ("a port unknown beside the port", put(PORTS, "ports", [{"port": UNKNOWN}, {"port": 5432}]), None),
    ("a port unknown beside the port, a peer unknown: the peer is named", lambda p: (
        PORTS(p).__setitem__("ports", [{"port": UNKNOWN}, {"port": 5432}]), PEERS(p).__setitem__(0, UNKNOWN)),
     undecided("spec.egress[0].to[0]", reach(DB))),
    ("a port unknown, another namespace", lambda p: (
        PORTS(p)["ports"][0].__setitem__("port", UNKNOWN),
        PEERS(p)[0]["namespaceSelector"]["matchLabels"].__setitem__("kubernetes.io/metadata.name", "infra")),
     DB_BLOCKED),
    ("a port and the peers unknown: the peers are named", lambda p: (
        PORTS(p)["ports"][0].__setitem__("port", UNKNOWN), PORTS(p).__setitem__("to", UNKNOWN)),
     undecided("spec.egress[0].to", reach(DB))),
    ("a port and a peer unknown: the port is named", lambda p: (
        PORTS(p)["ports"][0].__setitem__("port", UNKNOWN), PEERS(p).__setitem__(0, UNKNOWN)),
     undecided("spec.egress[0].ports[0].port", reach(DB))),
    ("peers unknown", put(PORTS, "to", UNKNOWN), undecided("spec.egress[0].to", reach(DB))),
    ("peers unknown, another port", lambda p: (PORTS(p).__setitem__("to", UNKNOWN),
                                               PORTS(p)["ports"][0].__setitem__("port", 5433)), DB_BLOCKED),
    ("a peer unknown", put(PEERS, 0, UNKNOWN), undecided("spec.egress[0].to[0]", reach(DB))),
    ("a peer unknown after another namespace", lambda p: PEERS(p).insert(0, {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "infra"}}}) or PEERS(p).__setitem__(1, UNKNOWN),
     undecided("spec.egress[0].to[1]", reach(DB))),
    ("a peer unknown before the namespace", lambda p: PEERS(p).insert(0, UNKNOWN), None),
    ("the namespace unknown", put(lambda p: PEERS(p)[0]["namespaceSelector"]["matchLabels"],
                                  "kubernetes.io/metadata.name", UNKNOWN),
     undecided("spec.egress[0].to[0].namespaceSelector.matchLabels.kubernetes.io/metadata.name", reach(DB))),
    ("the rule unknown", put(lambda p: p["spec"]["egress"], 0, UNKNOWN), undecided("spec.egress[0]", reach(DB))),
    ("every rule unknown", put(lambda p: p["spec"], "egress", UNKNOWN), undecided("spec.egress", reach(DB))),
]


@pytest.mark.parametrize(("change", "verdict"), [c[1:] for c in DATABASE_RULE], ids=[c[0] for c in DATABASE_RULE])
def test_the_database_rule(analyzer: PolicyAnalyzer, dev: RunResult, change: Change, verdict: str | None) -> None:
    assert judged(analyzer, changed(dev, ("allow-postgres", change))) == ([] if verdict is None else [verdict])


@pytest.mark.parametrize(("change", "allowed"), [
    (lambda p: None, False),
    (lambda p: rule()(p).pop("to"), True),
    (put(lambda p: PEERS(p)[0]["namespaceSelector"]["matchLabels"], "kubernetes.io/metadata.name", UNKNOWN), False),
    (put(PEERS, 0, {"namespaceSelector": {}}), False),
    (put(PEERS, 0, {"namespaceSelector": {"matchExpressions": UNKNOWN}}), False),
], ids=["namespace peer", "no peers", "namespace unknown", "every namespace", "expressions unknown"])
def test_a_public_name_on_the_database_port(analyzer: PolicyAnalyzer, dev: RunResult, change: Change,
                                            allowed: bool) -> None:
    """A namespace peer, even of unknown namespace, never lets a name outside the cluster through."""
    records = with_list(dev, only({"name": "ext", "host": "db.example.com", "port": 5432}))
    found = judged(analyzer, changed(dev, ("allow-postgres", change), records=records))
    assert found == ([] if allowed else [blocked("ext", "db.example.com", 5432, PUBLIC_FIX)])


# --- ipBlocks: the Service address rule (10.43.0.1:443) and the public rule -----------------------------

BLOCK = lambda p: rule()(p)["to"][0]["ipBlock"]  # noqa: E731
API_BLOCKED = blocked(API, "10.43.0.1", 443, API_FIX)

API_RULE: list[tuple[str, Change, str | None]] = [
    ("the address", lambda p: None, None),
    ("host bits set: the block it names", put(BLOCK, "cidr", "10.43.0.5/24"), None),
    ("a /31 holding it", put(BLOCK, "cidr", "10.43.0.0/31"), None),
    ("the /31 after it", put(BLOCK, "cidr", "10.43.0.2/31"), API_BLOCKED),
    ("no cidr", lambda p: BLOCK(p).pop("cidr"), API_BLOCKED),
    ("excepted", put(BLOCK, "except", ["10.43.0.1/32"]), API_BLOCKED),
    ("excepted second", put(BLOCK, "except", ["10.43.0.2/32", "10.43.0.0/30"]), API_BLOCKED),
    ("the next address excepted", put(BLOCK, "except", ["10.43.0.2/32"]), None),
    ("an except with host bits set, elsewhere", put(BLOCK, "except", ["10.43.1.9/24"]), None),
    ("the cidr unknown", put(BLOCK, "cidr", UNKNOWN),
     undecided("spec.egress[0].to[0].ipBlock.cidr", reach(API))),
    ("the excepts unknown", put(BLOCK, "except", UNKNOWN),
     undecided("spec.egress[0].to[0].ipBlock.except", reach(API))),
    ("an except unknown", put(BLOCK, "except", ["10.43.0.2/32", UNKNOWN]),
     undecided("spec.egress[0].to[0].ipBlock.except[1]", reach(API))),
    ("an except unknown beside one that excepts it", put(BLOCK, "except", [UNKNOWN, "10.43.0.1/32"]), API_BLOCKED),
    ("an except unknown, the address outside the block", lambda p: BLOCK(p).update(cidr="10.44.0.0/16",
                                                                                 **{"except": [UNKNOWN]}),
     API_BLOCKED),
]


@pytest.mark.parametrize(("change", "verdict"), [c[1:] for c in API_RULE], ids=[c[0] for c in API_RULE])
def test_the_service_address_rule(analyzer: PolicyAnalyzer, dev: RunResult, change: Change,
                                  verdict: str | None) -> None:
    assert judged(analyzer, changed(dev, ("allow-kube-api", change))) == ([] if verdict is None else [verdict])


PUBLIC_NAMES = [("Telegram Bot API", "api.telegram.org"),
                ("model provider 'deepseek' (https://api.deepseek.com/v1)", "api.deepseek.com")]


@pytest.mark.parametrize(("cidr", "excepts", "allowed"), [
    ("0.0.0.0/0", ["10.0.0.0/8"], True), ("0.0.0.0/1", [], False), ("128.0.0.0/1", [], False),
    ("0.0.0.0/0", [UNKNOWN], True),
], ids=["the whole internet", "half of it", "the other half", "an except unknown: a name is no address"])
def test_a_public_name_needs_the_whole_internet(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str,
                                                excepts: list[Any], allowed: bool) -> None:
    found = judged(analyzer, changed(dev, ("allow-public-https", lambda p: BLOCK(p).update(
        cidr=cidr, **{"except": excepts}))))
    assert found == ([] if allowed else sorted(blocked(what, host, 443, (
        "add a public ipBlock (0.0.0.0/0 minus non-public space) on TCP 443")) for what, host in PUBLIC_NAMES))


# --- DNS -----------------------------------------------------------------------------------------------

DNS_RULE: list[tuple[str, Change, list[str]]] = [
    ("UDP and TCP 53", lambda p: None, []),
    ("TCP 53 alone", put(PORTS, "ports", [{"protocol": "TCP", "port": 53}]), []),
    ("53 second", put(PORTS, "ports", [{"port": 54}, {"port": 53}]), []),
    ("53 as text", put(PORTS, "ports", [{"port": "53"}]), []),
    ("a named port", put(PORTS, "ports", [{"port": "dns"}]), [NO_DNS]),
    ("54", put(PORTS, "ports", [{"port": 54}]), [NO_DNS]),
    ("no ports: every port", lambda p: rule()(p).pop("ports"), []),
    ("ports unknown", put(PORTS, "ports", UNKNOWN), [undecided("spec.egress[0].ports", DNS)]),
    ("a port unknown", put(PORTS, "ports", [{"port": 54}, {"port": UNKNOWN}]),
     [undecided("spec.egress[0].ports[1].port", DNS)]),
    ("a port unknown beside 53", put(PORTS, "ports", [{"port": UNKNOWN}, {"port": 53}]), []),
    ("the rule unknown", put(lambda p: p["spec"]["egress"], 0, UNKNOWN), [undecided("spec.egress[0]", DNS)]),
]


@pytest.mark.parametrize(("change", "verdict"), [c[1:] for c in DNS_RULE], ids=[c[0] for c in DNS_RULE])
def test_the_dns_rule(analyzer: PolicyAnalyzer, dev: RunResult, change: Change, verdict: list[str]) -> None:
    assert judged(analyzer, changed(dev, ("allow-dns", change))) == verdict


def test_an_ipblock_without_cidr_opens_nothing(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """`cidr` is required: the API server refuses the object, so not even 0.0.0.0 is let through (it was read as
    0.0.0.0/32)."""
    records = with_list(dev, only({"name": "zero", "host": "0.0.0.0", "port": 443}))
    fix = "add a ipBlock 0.0.0.0/32 (CNIs that judge before DNAT see the Service address) on TCP 443"
    assert judged(analyzer, changed(dev, ("allow-kube-api", lambda p: BLOCK(p).pop("cidr")), records=records)) == [
        blocked("zero", "0.0.0.0", 443, fix)]
    assert judged(analyzer, changed(dev, ("allow-kube-api", put(BLOCK, "cidr", "0.0.0.0/32")), records=records)) == []
