"""The network policies (policy/network.py) at their edges, in both shapes: each allowed port and its
neighbours, the API server's own-port blocks, each namespace peer, each rule without peers or ports, and the
whole message a user reads. Blocks and their excepts: test_policy_edges_network_blocks.py; unknowns and
ingress: test_policy_edges_network_unknowns.py."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from tests.policy_edges import findings
from tests.policy_edges_network import (
    ALLOWED,
    DNS,
    EGRESS,
    INGRESS,
    KUBE_API,
    POSTGRES,
    egress_config,
    netpol,
    rule_of,
    tcp,
    verdicts,
)


def test_the_stack_passes(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert findings(analyzer, dev.resources, {EGRESS, INGRESS}) == []


# --- ports ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("port", "allowed"), [(53, True), (443, True), (5432, True), (52, False), (54, False),
                                               (442, False), (444, False), (5431, False), (5433, False)])
def test_each_allowed_port_and_its_neighbours(analyzer: PolicyAnalyzer, dev: RunResult, port: int,
                                              allowed: bool) -> None:
    found = verdicts(analyzer, dev, KUBE_API, lambda p: rule_of(p).__setitem__("ports", tcp(port)))
    assert found == ([] if allowed else [f"{netpol(KUBE_API)} egress rule 0: ports [{port}] are not in allowedPorts "
                                         f"{ALLOWED}"])


def test_only_the_ports_outside_the_list_are_named(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = verdicts(analyzer, dev, KUBE_API, lambda p: rule_of(p).__setitem__("ports", tcp(22, 443, 8080)))
    assert found == [f"{netpol(KUBE_API)} egress rule 0: ports [22, 8080] are not in allowedPorts {ALLOWED}"]


def test_configured_allowed_ports(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda p: rule_of(p).__setitem__("ports", tcp(8080))  # noqa: E731
    assert verdicts(analyzer, dev, KUBE_API, change, config=egress_config(allowedPorts=[53, 443, 5432, 8080])) == []
    assert verdicts(analyzer, dev, KUBE_API, change, config=egress_config(allowedPorts=[53, 443, 5432, 8081])) == [
        f"{netpol(KUBE_API)} egress rule 0: ports [8080] are not in allowedPorts [53, 443, 5432, 8081]"]


@pytest.mark.parametrize("empty", [None, []], ids=["absent", "empty"])
def test_a_rule_without_ports(analyzer: PolicyAnalyzer, dev: RunResult, empty: Any) -> None:
    def without(i: int) -> Any:
        return lambda p: rule_of(p, i).pop("ports") if empty is None else rule_of(p, i).__setitem__("ports", empty)

    no_ports = "no `ports`, so it allows every port: list the ports"
    assert verdicts(analyzer, dev, KUBE_API, without(0)) == [f"{netpol(KUBE_API)} egress rule 0: {no_ports}"]
    assert verdicts(analyzer, dev, KUBE_API, without(1)) == [
        f"{netpol(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows every port",
        f"{netpol(KUBE_API)} egress rule 1: {no_ports}"]
    assert verdicts(analyzer, dev, POSTGRES, without(0)) == [
        f"{netpol(POSTGRES)} egress rule 0 peer 0: namespace 'infra-db' may only be reached on ports [5432], rule "
        "allows every port",
        f"{netpol(POSTGRES)} egress rule 0: {no_ports}"]


@pytest.mark.parametrize("empty", [None, []], ids=["absent", "empty"])
def test_a_rule_without_peers(analyzer: PolicyAnalyzer, dev: RunResult, empty: Any) -> None:
    change = lambda p: rule_of(p).pop("to") if empty is None else rule_of(p).__setitem__("to", empty)  # noqa: E731
    assert verdicts(analyzer, dev, KUBE_API, change) == [
        f"{netpol(KUBE_API)} egress rule 0: no `to` peers, so it allows every destination: name the peers"]


# --- the API server's blocks, reached on their own ports (privateCidrPorts) ----------------------------------------

@pytest.mark.parametrize(("ports", "expected"), [
    ((6443,), []),
    ((6442,), ["egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] (privateCidrPorts), "
               "rule allows [6442]", f"egress rule 1: ports [6442] are not in allowedPorts {ALLOWED}"]),
    ((6444,), ["egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] (privateCidrPorts), "
               "rule allows [6444]", f"egress rule 1: ports [6444] are not in allowedPorts {ALLOWED}"]),
    ((443,), ["egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] (privateCidrPorts), "
              "rule allows [443]"]),                           # an allowedPort is still not the block's own
    ((6443, 443), ["egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
                   "(privateCidrPorts), rule allows [443]"]),
])
def test_a_block_with_its_own_ports(analyzer: PolicyAnalyzer, dev: RunResult, ports: tuple[int, ...],
                                    expected: list[str]) -> None:
    found = verdicts(analyzer, dev, KUBE_API, lambda p: rule_of(p, 1).__setitem__("ports", tcp(*ports)))
    assert found == [f"{netpol(KUBE_API)} {m}" for m in expected]


@pytest.mark.parametrize(("peer", "extra"), [
    ({"ipBlock": {"cidr": "10.43.0.1/32"}}, []),
    ({"podSelector": {"matchLabels": {"app": "x"}}}, []),
    ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "infra-db"}}},
     ["egress rule 1 peer 1: namespace 'infra-db' may only be reached on ports [5432], rule allows [6443]"]),
    ({"ipBlock": {"cidr": "192.168.10.10/32"}, "podSelector": {}}, []),
    ({"ipBlock": {"cidr": "192.168.10.10/32"}, "namespaceSelector": {}}, []),
    ({"ipBlock": {"cidr": "banana"}}, ["egress rule 1 peer 1: invalid ipBlock ('banana' does not appear to be an IPv4 "
                                       "or IPv6 network)"]),
], ids=["allowed private block", "pod selector", "namespace", "block and pod selector", "block and namespace",
        "invalid block"])
def test_own_ports_hold_only_when_every_peer_is_such_a_block(analyzer: PolicyAnalyzer, dev: RunResult,
                                                            peer: dict[str, Any], extra: list[str]) -> None:
    """A second peer that is not a privateCidrPorts block: 6443 is judged by allowedPorts again."""
    found = verdicts(analyzer, dev, KUBE_API, lambda p: rule_of(p, 1)["to"].append(peer))
    assert found == sorted(f"{netpol(KUBE_API)} {m}" for m in
                           [*extra, f"egress rule 1: ports [6443] are not in allowedPorts {ALLOWED}"])


def test_own_ports_of_several_blocks_are_those_they_share(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = egress_config(privateCidrPorts={"192.168.10.10/32": [6443], "192.168.10.11/32": [6443, 8443]})

    def two_blocks(*ports: int) -> Any:
        def change(props: dict[str, Any]) -> None:
            rule_of(props, 1)["to"].append({"ipBlock": {"cidr": "192.168.10.11/32"}})
            rule_of(props, 1)["ports"] = tcp(*ports)
        return change

    assert verdicts(analyzer, dev, KUBE_API, two_blocks(6443), config=config) == []
    assert verdicts(analyzer, dev, KUBE_API, two_blocks(8443), config=config) == [
        f"{netpol(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [8443]",
        f"{netpol(KUBE_API)} egress rule 1: ports [8443] are not in allowedPorts {ALLOWED}"]


@pytest.mark.parametrize("cidr", ["192.168.10.10", "192.168.10.10/32"])
def test_a_block_is_matched_in_its_normal_form(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str) -> None:
    def change(props: dict[str, Any]) -> None:
        rule_of(props, 1)["to"] = [{"ipBlock": {"cidr": cidr}}, {"ipBlock": {"cidr": "192.168.10.10/32"}}]

    assert verdicts(analyzer, dev, KUBE_API, change) == []


# --- namespace peers -----------------------------------------------------------------------------------------------

def _ns_peer(props: dict[str, Any]) -> dict[str, Any]:
    peer: dict[str, Any] = rule_of(props)["to"][0]
    return peer


@pytest.mark.parametrize(("name", "ports", "expected"), [
    (DNS, (53,), None),
    (DNS, (53, 443), "namespace 'kube-system' may only be reached on ports [53], rule allows [53, 443]"),
    (POSTGRES, (5432,), None),
    (POSTGRES, (53,), "namespace 'infra-db' may only be reached on ports [5432], rule allows [53]"),
    (POSTGRES, (5431,), "namespace 'infra-db' may only be reached on ports [5432], rule allows [5431]"),
])
def test_each_namespace_on_its_own_ports(analyzer: PolicyAnalyzer, dev: RunResult, name: str,
                                         ports: tuple[int, ...], expected: str | None) -> None:
    found = verdicts(analyzer, dev, name, lambda p: rule_of(p).__setitem__("ports", tcp(*ports)))
    rule_level = [f"{netpol(name)} egress rule 0: ports {[p for p in ports if p not in (53, 443, 5432)]} are not in "
                  f"allowedPorts {ALLOWED}"] if any(p not in (53, 443, 5432) for p in ports) else []
    assert found == sorted([*([] if expected is None else [f"{netpol(name)} egress rule 0 peer 0: {expected}"]),
                            *rule_level])


def test_a_namespace_that_is_not_listed(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda p: _ns_peer(p)["namespaceSelector"]["matchLabels"].__setitem__(  # noqa: E731
        "kubernetes.io/metadata.name", "monitoring")
    assert verdicts(analyzer, dev, POSTGRES, change) == [
        f"{netpol(POSTGRES)} egress rule 0 peer 0: egress to namespace 'monitoring' is not allow-listed "
        "(allowedNamespacePorts has ['infra-db', 'kube-system'])"]


@pytest.mark.parametrize("labels", [{}, {"team": "db"}, None])
def test_a_namespace_selector_must_name_one_namespace(analyzer: PolicyAnalyzer, dev: RunResult,
                                                      labels: dict[str, str] | None) -> None:
    change = lambda p: _ns_peer(p).__setitem__("namespaceSelector", {} if labels is None else  # noqa: E731
                                               {"matchLabels": labels})
    assert verdicts(analyzer, dev, POSTGRES, change) == [
        f"{netpol(POSTGRES)} egress rule 0 peer 0: namespaceSelector does not name one namespace "
        "(matchLabels kubernetes.io/metadata.name): name it"]


def test_a_pod_selector_peer_is_left_to_the_other_rules(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert verdicts(analyzer, dev, DNS, lambda p: _ns_peer(p).pop("namespaceSelector")) == []
