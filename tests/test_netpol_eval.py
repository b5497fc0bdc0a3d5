"""The NetworkPolicy evaluator itself (tests/support/netpol.py), rule by rule at its edges, against what
kube-router's controller does (pkg/controllers/netpol/policy.go, pod.go)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.netpol import Destination, Mode, Pod, Service, allowed, egress, judge, labels_match, nft_filter

SRC = Pod("app", {"app": "x", "tier": "web"})


def _np(egress_rules: list[dict[str, Any]] | None, *, name: str = "p", namespace: str = "app",
        selector: dict[str, Any] | None = None, types: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": selector if selector is not None else {}}
    if types is not None:
        spec["policyTypes"] = types
    if egress_rules is not None:
        spec["egress"] = egress_rules
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


DENY = _np(None, name="deny", types=["Ingress", "Egress"])


@pytest.mark.parametrize(("expr", "labels", "ok"), [
    ({"key": "tier", "operator": "In", "values": ["web"]}, {"tier": "web"}, True),
    ({"key": "tier", "operator": "In", "values": ["db"]}, {"tier": "web"}, False),
    ({"key": "tier", "operator": "In", "values": ["web"]}, {}, False),
    ({"key": "tier", "operator": "NotIn", "values": ["db"]}, {}, True),
    ({"key": "tier", "operator": "NotIn", "values": ["web"]}, {"tier": "web"}, False),
    ({"key": "tier", "operator": "Exists"}, {"tier": ""}, True),
    ({"key": "tier", "operator": "Exists"}, {}, False),
    ({"key": "tier", "operator": "DoesNotExist"}, {}, True),
    ({"key": "tier", "operator": "DoesNotExist"}, {"tier": "web"}, False),
])
def test_match_expressions(expr: dict[str, Any], labels: dict[str, str], ok: bool) -> None:
    assert labels_match({"matchExpressions": [expr]}, labels) is ok


def test_isolation() -> None:
    dest = Destination("1.1.1.1", 443)
    assert judge([], SRC, dest).by == "no egress policy selects the pod"
    assert judge([_np(None, types=["Ingress"])], SRC, dest).allowed  # ingress-only: egress stays open
    assert judge([_np(None, namespace="other", types=["Egress"])], SRC, dest).allowed  # another namespace
    assert judge([_np(None, selector={"matchLabels": {"app": "y"}}, types=["Egress"])], SRC, dest).allowed
    assert not judge([DENY], SRC, dest).allowed
    # No policyTypes: the API server's default adds Egress when egress rules exist.
    assert not judge([_np([{"to": [{"ipBlock": {"cidr": "9.9.9.9/32"}}]}])], SRC, dest).allowed


@pytest.mark.parametrize(("rule", "dest", "ok"), [
    ({}, Destination("10.1.1.1", 1), True),  # no peers, no ports: everything
    ({"ports": [{"port": 443}]}, Destination("10.1.1.1", 443), True),
    ({"ports": [{"port": 443}]}, Destination("10.1.1.1", 443, "UDP"), False),  # protocol defaults to TCP
    ({"ports": [{"port": 443}]}, Destination("10.1.1.1", 444), False),
    ({"ports": [{"port": 6000, "endPort": 6443}]}, Destination("1.1.1.1", 6000), True),
    ({"ports": [{"port": 6000, "endPort": 6443}]}, Destination("1.1.1.1", 6443), True),
    ({"ports": [{"port": 6000, "endPort": 6443}]}, Destination("1.1.1.1", 6444), False),
    ({"ports": [{"port": 6000, "endPort": 6443}]}, Destination("1.1.1.1", 5999), False),
    ({"ports": [{"protocol": "UDP"}]}, Destination("1.1.1.1", 53, "UDP"), True),
    ({"ports": [{"port": "api"}]}, Destination("1.1.1.1", 6443, port_names={"api": 6443}), True),
    ({"ports": [{"port": "api"}]}, Destination("1.1.1.1", 6443), False),
    ({"to": [{"ipBlock": {"cidr": "192.168.10.10/32"}}]}, Destination("192.168.10.10", 1), True),
    ({"to": [{"ipBlock": {"cidr": "192.168.10.10/32"}}]}, Destination("192.168.10.11", 1), False),
    ({"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}, Destination("10.0.255.255", 1), True),
    ({"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}, Destination("10.1.0.0", 1), False),
    ({"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}, Destination("10.1.255.255", 1), False),
    ({"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}, Destination("10.2.0.0", 1), True),
    ({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}, Destination("255.255.255.254", 1), True),
    ({"to": [{"ipBlock": {"cidr": "::/0"}}]}, Destination("2001:db8::1", 1), True),
    ({"to": [{"ipBlock": {"cidr": "::/0"}}]}, Destination("fc00::1", 1), False),  # only 2000::/3 + fd00::/8
    ({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}, Destination("fd00::1", 1), False),  # other family
    # An ipBlock next to a selector is not an ipBlock peer to kube-router (evalIPBlockPeer).
    ({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}, "podSelector": {}}]}, Destination("1.1.1.1", 1), False),
])
def test_rule_edges(rule: dict[str, Any], dest: Destination, ok: bool) -> None:
    assert judge([DENY, _np([rule], name="allow")], SRC, dest).allowed is ok


def test_selector_peers_match_pods_only() -> None:
    db = Pod("db", {"role": "pg"}, ip="10.42.1.1", namespace_labels={"kubernetes.io/metadata.name": "db", "env": "x"})
    peer_ns = {"namespaceSelector": {"matchLabels": {"env": "x"}}}
    peer_both = {**peer_ns, "podSelector": {"matchLabels": {"role": "pg"}}}
    peer_local = {"podSelector": {"matchLabels": {"role": "pg"}}}
    on = Destination(db.ip, 5432, pod=db)
    assert judge([DENY, _np([{"to": [peer_ns]}])], SRC, on).allowed
    assert judge([DENY, _np([{"to": [peer_both]}])], SRC, on).allowed
    assert not judge([DENY, _np([{"to": [peer_local]}])], SRC, on).allowed  # podSelector alone: own namespace
    local = Pod("app", {"role": "pg"}, ip="10.42.2.2")
    assert judge([DENY, _np([{"to": [peer_local]}])], SRC, Destination(local.ip, 1, pod=local)).allowed
    assert not judge([DENY, _np([{"to": [peer_ns]}])], SRC, Destination(db.ip, 5432)).allowed  # not a pod


def test_service_dnat_judges_every_endpoint() -> None:
    svc = Service("10.43.0.1", 443, (Destination("192.168.10.10", 6443), Destination("192.168.10.11", 6443)))
    rules = [DENY, _np([{"to": [{"ipBlock": {"cidr": "192.168.10.10/32"}}], "ports": [{"port": 6443}]}])]
    api = Destination("10.43.0.1", 443)
    assert [v.allowed for v in egress(rules, SRC, api, services=[svc])] == [True, False]
    assert not allowed(rules, SRC, api, services=[svc])
    assert not allowed(rules, SRC, api, services=[svc], mode=Mode.PRE_DNAT)  # the Service address is not allowed
    assert [str(v) for v in egress(rules, SRC, api, services=[svc])][1] == \
        "REJECT 192.168.10.11:6443/TCP (no egress rule of deny, p allows it)"


def test_nft_filter_statements() -> None:
    rules = [DENY, _np([
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}], "ports": [{"port": 443}]},
        {"to": [{"ipBlock": {"cidr": "192.168.10.10/32"}}], "ports": [{"port": 6443, "protocol": "TCP"}]},
        {"to": [{"podSelector": {}}], "ports": [{"port": "named"}]},  # named only: nothing opened
        {"to": [{"podSelector": {"matchLabels": {"a": "b"}}}], "ports": [{"port": 53, "protocol": "UDP"}]},
    ])]
    pods = [Pod("app", {"a": "b"}, ip="10.42.0.8"), Pod("other", {"a": "b"}, ip="10.42.0.9")]
    assert nft_filter(rules, SRC, pods=pods, action="drop") == [
        "ct state established,related accept",
        "ip daddr 0.0.0.0/1 ip daddr != { 10.0.0.0/8 } tcp dport 443 accept",
        "ip daddr 128.0.0.0/1 ip daddr != { 10.0.0.0/8 } tcp dport 443 accept",
        "ip daddr 192.168.10.10/32 tcp dport 6443 accept",
        "ip daddr { 10.42.0.8 } udp dport 53 accept",
        "drop",
    ]
    assert nft_filter([], SRC) == ["ct state established,related accept", "accept"]
