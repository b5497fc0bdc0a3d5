"""The network policies' unknowns at preview, in both shapes (each unknown that decides a verdict, and a rule
after an unknown one is still judged), and the ingress policy's edges."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, undecidable_at
from tests.policy_edges_network import (
    ALLOWED,
    DNS,
    EGRESS,
    GATEWAY,
    INGRESS,
    KUBE_API,
    POSTGRES,
    PUBLIC,
    R0,
    R1,
    block_of,
    ingress_of,
    netpol,
    not_listed,
    rule_of,
    tcp,
    unknown_at,
    verdicts,
)

# --- unknowns ------------------------------------------------------------------------------------------------------

EGRESS_UNKNOWNS: list[tuple[str, str, tuple[Any, ...], list[tuple[str, str, str]]]] = [
    ("egress", KUBE_API, ("spec", "egress"), [("", "spec.egress", "its egress rules are what this policy judges")]),
    ("rule", KUBE_API, R0, [(" egress rule 0", "spec.egress[0]", "its peers and ports are what this policy judges")]),
    ("peers of an allowed port", KUBE_API, (*R0, "to"),
     [(" egress rule 0", "spec.egress[0].to", "the destinations it allows decide the verdict")]),
    ("peers of an own port", KUBE_API, (*R1, "to"),
     [(" egress rule 1", "spec.egress[1].to", "ports [6443] are allowed only to blocks listed in privateCidrPorts, "
                                              "and the peers decide it"),
      (" egress rule 1", "spec.egress[1].to", "the destinations it allows decide the verdict")]),
    ("peer", KUBE_API, (*R1, "to", 0),
     [(" egress rule 1", "spec.egress[1].to[0]", "ports [6443] are allowed only to blocks listed in "
                                                 "privateCidrPorts, and the peers decide it"),
      (" egress rule 1 peer 0", "spec.egress[1].to[0]", "what the peer allows decides the verdict")]),
    ("cidr of an allowed port", KUBE_API, (*R0, "to", 0, "ipBlock", "cidr"),
     [(" egress rule 0 peer 0", "spec.egress[0].to[0].ipBlock.cidr", "the destination it allows decides the verdict")]),
    ("cidr of an own port", KUBE_API, (*R1, "to", 0, "ipBlock", "cidr"),
     [(" egress rule 1", "spec.egress[1].to[0].ipBlock.cidr", "ports [6443] are allowed only to blocks listed in "
                                                              "privateCidrPorts, and the peers decide it"),
      (" egress rule 1 peer 0", "spec.egress[1].to[0].ipBlock.cidr",
       "the destination it allows decides the verdict")]),
    ("ports", KUBE_API, (*R0, "ports"),
     [(" egress rule 0", "spec.egress[0].ports", f"only allowedPorts {ALLOWED} may be opened")]),
    ("ports of an own-port block", KUBE_API, (*R1, "ports"),
     [(" egress rule 1", "spec.egress[1].ports", f"only allowedPorts {ALLOWED} may be opened"),
      (" egress rule 1 peer 0", "spec.egress[1].ports", "ipBlock 192.168.10.10/32 may only be reached on ports "
                                                        "[6443]")]),
    ("port", KUBE_API, (*R1, "ports", 0, "port"),
     [(" egress rule 1", "spec.egress[1].ports[0].port", f"only allowedPorts {ALLOWED} may be opened"),
      (" egress rule 1 peer 0", "spec.egress[1].ports[0].port", "ipBlock 192.168.10.10/32 may only be reached on "
                                                                "ports [6443]")]),
    ("namespace", POSTGRES, (*R0, "to", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"),
     [(" egress rule 0 peer 0", "spec.egress[0].to[0].namespaceSelector.matchLabels.kubernetes.io/metadata.name",
       "the namespace it opens decides the verdict")]),
    ("port to a namespace", POSTGRES, (*R0, "ports", 0, "port"),
     [(" egress rule 0", "spec.egress[0].ports[0].port", f"only allowedPorts {ALLOWED} may be opened"),
      (" egress rule 0 peer 0", "spec.egress[0].ports[0].port", "namespace 'infra-db' may only be reached on ports "
                                                                "[5432]")]),
    ("ports to a namespace", POSTGRES, (*R0, "ports"),
     [(" egress rule 0", "spec.egress[0].ports", f"only allowedPorts {ALLOWED} may be opened"),
      (" egress rule 0 peer 0", "spec.egress[0].ports", "namespace 'infra-db' may only be reached on ports [5432]")]),
]


@pytest.mark.parametrize(("name", "path", "expected"), [(n, p, e) for _, n, p, e in EGRESS_UNKNOWNS],
                         ids=[i for i, _, _, _ in EGRESS_UNKNOWNS])
def test_each_egress_unknown_that_decides(analyzer: PolicyAnalyzer, dev: RunResult, name: str,
                                          path: tuple[Any, ...], expected: list[tuple[str, str, str]]) -> None:
    assert verdicts(analyzer, dev, name, unknown_at(path)) == sorted(
        undecidable_at(f"{netpol(name)}{where}", field, why) for where, field, why in expected)


def test_an_unknown_except_entry_decides_only_a_missing_block(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert verdicts(analyzer, dev, PUBLIC, lambda p: block_of(p)["except"].append(UNKNOWN)) == []

    def missing(props: dict[str, Any]) -> None:
        block_of(props)["except"].remove("10.0.0.0/8")
        block_of(props)["except"].append(UNKNOWN)

    assert verdicts(analyzer, dev, PUBLIC, missing) == [undecidable_at(
        f"{netpol(PUBLIC)} egress rule 0 peer 0", "spec.egress[0].to[0].ipBlock.except[13]",
        "10.0.0.0/8 must be excepted, which only the unknown entries could do")]


# --- ingress -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("ports", "expected"), [
    ((18789,), None), ((18788,), "ports [18788] are not in allowedPorts [18789]"),
    ((18790,), "ports [18790] are not in allowedPorts [18789]"),
    ((18789, 22), "ports [18789, 22] are not in allowedPorts [18789]"),
    ((), "no `ports`, so every port is open: list the gateway port [18789]"),
])
def test_ingress_ports(analyzer: PolicyAnalyzer, dev: RunResult, ports: tuple[int, ...], expected: str | None) -> None:
    found = verdicts(analyzer, dev, GATEWAY, lambda p: ingress_of(p).__setitem__("ports", tcp(*ports)), INGRESS)
    assert found == ([] if expected is None else [f"{netpol(GATEWAY)} ingress rule 0: {expected}"])


def test_each_ingress_rule_on_its_own(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["ingress"].append({"from": [{"podSelector": {}}]})
        props["spec"]["ingress"].append({"ports": tcp(22)})

    assert verdicts(analyzer, dev, GATEWAY, change, INGRESS) == [
        f"{netpol(GATEWAY)} ingress rule 1: no `ports`, so every port is open: list the gateway port [18789]",
        f"{netpol(GATEWAY)} ingress rule 2: ports [22] are not in allowedPorts [18789]"]


def test_configured_ingress_ports(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = {INGRESS: {"enforcementLevel": "mandatory", "allowedPorts": [18789, 8080]}}
    change = lambda p: ingress_of(p).__setitem__("ports", tcp(8080))  # noqa: E731
    assert verdicts(analyzer, dev, GATEWAY, change, INGRESS, config) == []
    assert verdicts(analyzer, dev, GATEWAY, lambda p: ingress_of(p).pop("ports"), INGRESS, config) == [
        f"{netpol(GATEWAY)} ingress rule 0: no `ports`, so every port is open: list the gateway port [18789, 8080]"]


INGRESS_UNKNOWNS: list[tuple[str, tuple[Any, ...], str, str, str]] = [
    ("ingress", ("spec", "ingress"), "", "spec.ingress", "its ingress rules are what this policy judges"),
    ("rule", ("spec", "ingress", 0), " ingress rule 0", "spec.ingress[0]", "its ports are what this policy judges"),
    ("ports", ("spec", "ingress", 0, "ports"), " ingress rule 0", "spec.ingress[0].ports",
     "only allowedPorts [18789] may be opened"),
    ("port", ("spec", "ingress", 0, "ports", 0, "port"), " ingress rule 0", "spec.ingress[0].ports[0].port",
     "only allowedPorts [18789] may be opened"),
]


@pytest.mark.parametrize(("path", "where", "field", "why"), [c[1:] for c in INGRESS_UNKNOWNS],
                         ids=[c[0] for c in INGRESS_UNKNOWNS])
def test_each_ingress_unknown_that_decides(analyzer: PolicyAnalyzer, dev: RunResult, path: tuple[Any, ...],
                                           where: str, field: str, why: str) -> None:
    found = verdicts(analyzer, dev, GATEWAY, unknown_at(path), INGRESS)
    assert found == [undecidable_at(f"{netpol(GATEWAY)}{where}", field, why)]


def test_an_unknown_port_next_to_a_wrong_one(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda p: ingress_of(p).__setitem__("ports", [{"port": UNKNOWN}, {"port": 22}])  # noqa: E731
    assert verdicts(analyzer, dev, GATEWAY, change, INGRESS) == sorted([
        f"{netpol(GATEWAY)} ingress rule 0: ports [22] are not in allowedPorts [18789]",
        undecidable_at(f"{netpol(GATEWAY)} ingress rule 0", "spec.ingress[0].ports[0].port",
                     "only allowedPorts [18789] may be opened")])


def test_the_defaults(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """With only a level configured, each default holds: the dev stack is written to them."""
    config = {EGRESS: "mandatory", INGRESS: "mandatory"}
    assert findings(analyzer, dev.resources, {EGRESS, INGRESS}, config) == []
    for port in (53, 443, 5432):
        assert verdicts(analyzer, dev, KUBE_API, lambda p, n=port: rule_of(p).__setitem__("ports", tcp(n)),
                      config=config) == []
    assert verdicts(analyzer, dev, KUBE_API, lambda p: rule_of(p).__setitem__("ports", tcp(5433)), config=config) == [
        f"{netpol(KUBE_API)} egress rule 0: ports [5433] are not in allowedPorts {ALLOWED}"]
    assert verdicts(analyzer, dev, KUBE_API, lambda p: block_of(p).__setitem__("cidr", "10.43.0.2/32"),
                    config=config) == [
        not_listed(f"{netpol(KUBE_API)} egress rule 0 peer 0", "10.43.0.2/32")]
    assert verdicts(analyzer, dev, KUBE_API, lambda p: rule_of(p, 1).__setitem__("ports", tcp(6444)),
                  config=config) == [
        f"{netpol(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6444]",
        f"{netpol(KUBE_API)} egress rule 1: ports [6444] are not in allowedPorts {ALLOWED}"]
    assert verdicts(analyzer, dev, DNS, lambda p: rule_of(p).__setitem__("ports", tcp(5432)), config=config) == [
        f"{netpol(DNS)} egress rule 0 peer 0: namespace 'kube-system' may only be reached on ports [53], rule allows "
        "[5432]"]
    assert verdicts(analyzer, dev, POSTGRES, lambda p: rule_of(p).__setitem__("ports", tcp(53)), config=config) == [
        f"{netpol(POSTGRES)} egress rule 0 peer 0: namespace 'infra-db' may only be reached on ports [5432], rule "
        "allows [53]"]
    assert verdicts(analyzer, dev, GATEWAY, lambda p: ingress_of(p).__setitem__("ports", tcp(18790)), INGRESS,
                  config) == [f"{netpol(GATEWAY)} ingress rule 0: ports [18790] are not in allowedPorts [18789]"]


# --- an unknown rule, then a wrong one -----------------------------------------------------------------------------

def test_an_egress_rule_after_an_unknown_one_is_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["egress"][0] = UNKNOWN
        rule_of(props, 1)["ports"] = tcp(6444)

    assert verdicts(analyzer, dev, KUBE_API, change) == sorted([
        undecidable_at(f"{netpol(KUBE_API)} egress rule 0", "spec.egress[0]",
                       "its peers and ports are what this policy judges"),
        f"{netpol(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6444]",
        f"{netpol(KUBE_API)} egress rule 1: ports [6444] are not in allowedPorts {ALLOWED}"])


def test_an_ingress_rule_after_an_unknown_one_is_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["ingress"].append({"ports": tcp(22)})
        props["spec"]["ingress"][0] = UNKNOWN

    assert verdicts(analyzer, dev, GATEWAY, change, INGRESS) == sorted([
        undecidable_at(f"{netpol(GATEWAY)} ingress rule 0", "spec.ingress[0]", "its ports are what this policy judges"),
        f"{netpol(GATEWAY)} ingress rule 1: ports [22] are not in allowedPorts [18789]"])
    # the rule on its own, known: the same finding
    assert verdicts(analyzer, dev, GATEWAY, lambda p: ingress_of(p).__setitem__("ports", tcp(22)), INGRESS) == [
        f"{netpol(GATEWAY)} ingress rule 0: ports [22] are not in allowedPorts [18789]"]
