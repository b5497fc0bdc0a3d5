"""What a `ports` entry opens (NetworkPolicyPort: `port` to `endPort`, every port of its protocol
without `port`, or a named port the destination decides), judged by egress-restricted and
ingress-restricted in both shapes: each kind of entry at the edge of each list it must stay within
(allowedPorts, a namespace's ports, a privateCidrPorts block's, the gateway port)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from tests.policy_edges import undecidable_at
from tests.policy_edges_network import (
    ALLOWED,
    DNS,
    INGRESS,
    KUBE_API,
    PUBLIC,
    R1,
    egress_config,
    netpol,
    rule_of,
    unknown_at,
    verdicts,
)

GATEWAY = "openclaw-allow-gateway-ingress"


def ports(*entries: dict[str, Any], rule: int = 0) -> Any:
    return lambda p: rule_of(p, rule).__setitem__("ports", list(entries))


def span(first: int, last: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": first, "endPort": last}


# (case, entry, what the message lists) for the public rule (allowedPorts [53, 443, 5432])
PUBLIC_ENTRIES: list[tuple[str, dict[str, Any], str | None]] = [
    ("443-443", span(443, 443), None),
    ("443-444", span(443, 444), "443-444"),
    ("442-443", span(442, 443), "442-443"),
    ("443 up to every port", span(443, 65535), "443-65535"),
    ("no port: every TCP port", {"protocol": "TCP"}, "every port"),
    ("a named port", {"protocol": "TCP", "port": "https"}, "'https'"),
    ("443 as a string", {"protocol": "TCP", "port": "443"}, None),
    ("an endPort below its port: the port", span(443, 80), None),
]


@pytest.mark.parametrize(("entry", "listed"), [e[1:] for e in PUBLIC_ENTRIES], ids=[e[0] for e in PUBLIC_ENTRIES])
def test_what_one_entry_opens_to_the_internet(analyzer: PolicyAnalyzer, dev: RunResult, entry: dict[str, Any],
                                              listed: str | None) -> None:
    found = verdicts(analyzer, dev, PUBLIC, ports(entry))
    assert found == ([] if listed is None else
                     [f"{netpol(PUBLIC)} egress rule 0: ports [{listed}] are not in allowedPorts {ALLOWED}"])


def test_a_range_inside_the_allowed_ports_is_allowed_and_one_port_more_is_not(analyzer: PolicyAnalyzer,
                                                                              dev: RunResult) -> None:
    config = egress_config(allowedPorts=[53, 443, 444, 445, 5432])
    assert verdicts(analyzer, dev, PUBLIC, ports(span(443, 445)), config=config) == []
    for first, last in ((442, 445), (443, 446)):
        assert verdicts(analyzer, dev, PUBLIC, ports(span(first, last)), config=config) == [
            f"{netpol(PUBLIC)} egress rule 0: ports [{first}-{last}] are not in allowedPorts "
            "[53, 443, 444, 445, 5432]"]


def test_only_the_entries_outside_are_listed(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = verdicts(analyzer, dev, PUBLIC, ports(span(443, 443), {"protocol": "UDP"}, span(5432, 5433)))
    assert found == [f"{netpol(PUBLIC)} egress rule 0: ports [every port, 5432-5433] are not in allowedPorts {ALLOWED}"]


def test_a_namespace_peer_takes_a_range_within_its_ports_only(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert verdicts(analyzer, dev, DNS, ports(span(53, 53))) == []
    assert verdicts(analyzer, dev, DNS, ports(span(53, 54))) == sorted([
        f"{netpol(DNS)} egress rule 0: ports [53-54] are not in allowedPorts {ALLOWED}",
        f"{netpol(DNS)} egress rule 0 peer 0: namespace 'kube-system' may only be reached on ports [53], "
        "rule allows [53-54]"])
    assert verdicts(analyzer, dev, DNS, ports({"protocol": "UDP"})) == sorted([
        f"{netpol(DNS)} egress rule 0: ports [every port] are not in allowedPorts {ALLOWED}",
        f"{netpol(DNS)} egress rule 0 peer 0: namespace 'kube-system' may only be reached on ports [53], "
        "rule allows [every port]"])


def test_a_private_block_takes_a_range_within_its_own_ports_only(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert verdicts(analyzer, dev, KUBE_API, ports(span(6443, 6443), rule=1)) == []
    assert verdicts(analyzer, dev, KUBE_API, ports(span(6443, 6444), rule=1)) == sorted([
        f"{netpol(KUBE_API)} egress rule 1: ports [6443-6444] are not in allowedPorts {ALLOWED}",
        f"{netpol(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6443-6444]"])


def test_a_range_over_the_allowed_ports_and_a_blocks_own_is_allowed(analyzer: PolicyAnalyzer,
                                                                    dev: RunResult) -> None:
    """The kube-api rule to 192.168.10.10/32 may open allowedPorts and the block's own 6443: a range is
    judged port by port against both."""
    config = egress_config(allowedPorts=[53, 443, 5432, 6442])
    assert verdicts(analyzer, dev, KUBE_API, ports(span(6442, 6443), rule=1), config=config) == [
        f"{netpol(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6442-6443]"]
    assert verdicts(analyzer, dev, KUBE_API, ports(span(6442, 6444), rule=1), config=config) == sorted([
        f"{netpol(KUBE_API)} egress rule 1: ports [6442-6444] are not in allowedPorts [53, 443, 5432, 6442]",
        f"{netpol(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6442-6444]"])


def test_an_unknown_end_port_is_undecidable_where_the_port_would_be(analyzer: PolicyAnalyzer,
                                                                   dev: RunResult) -> None:
    found = verdicts(analyzer, dev, KUBE_API, lambda p: (ports(span(6443, 6443), rule=1)(p),
                                                         unknown_at((*R1, "ports", 0, "endPort"))(p)))
    path = "spec.egress[1].ports[0].endPort"
    assert found == sorted([
        undecidable_at(f"{netpol(KUBE_API)} egress rule 1", path, f"only allowedPorts {ALLOWED} may be opened"),
        undecidable_at(f"{netpol(KUBE_API)} egress rule 1 peer 0", path,
                       "ipBlock 192.168.10.10/32 may only be reached on ports [6443]")])


INGRESS_ENTRIES: list[tuple[str, dict[str, Any], str | None]] = [
    ("18789-18789", span(18789, 18789), None),
    ("18789-18790", span(18789, 18790), "18789-18790"),
    ("18788-18789", span(18788, 18789), "18788-18789"),
    ("no port", {"protocol": "TCP"}, "every port"),
    ("the gateway's port name", {"protocol": "TCP", "port": "gateway"}, "'gateway'"),
]


@pytest.mark.parametrize(("entry", "listed"), [e[1:] for e in INGRESS_ENTRIES], ids=[e[0] for e in INGRESS_ENTRIES])
def test_what_one_entry_opens_to_the_gateway(analyzer: PolicyAnalyzer, dev: RunResult, entry: dict[str, Any],
                                            listed: str | None) -> None:
    found = verdicts(analyzer, dev, GATEWAY, lambda p: p["spec"]["ingress"][0].__setitem__("ports", [entry]),
                     policy=INGRESS)
    assert found == ([] if listed is None else
                     [f"{netpol(GATEWAY)} ingress rule 0: ports [{listed}] are not in allowedPorts [18789]"])

