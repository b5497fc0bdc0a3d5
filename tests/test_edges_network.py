"""Edges of the network policies (components/network.py), built on their own: each policy whole (the
default deny of every pod, DNS by both protocols, the API server by its Service address and by each
endpoint on its own port only, public HTTPS on each configured port with the cluster's ranges
excepted, IPv6 only when asked, the database's pods, the gateway's one ingress port), their names and
labels, their place in the tree and the names the component registers."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.netblocks import public_excepts
from components.network import NetworkArgs, NetworkPolicies
from engine.harness import RunResult
from tests.support.component_outputs import run_with_outputs

LABELS = {"app": "openclaw", "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "network",
          "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}
GATEWAY = {"matchLabels": {"app": "openclaw"}}


def _args(ipv6: bool = False, **changes: Any) -> NetworkArgs:
    values: dict[str, Any] = {
        "namespace": "team-a", "gateway_port": 18789, "dns_namespace": "kube-system",
        "dns_pod_labels": {"k8s-app": "kube-dns"}, "api_server": "10.43.0.1", "api_server_port": 443,
        "api_endpoints": [("192.168.1.3", 6443), ("192.168.1.4", 6444), ("192.168.1.2", 6443)],
        "egress_ports": [443, 8443], "db_namespace": "db", "db_cluster": "pg", "db_port": 5432,
        "cluster_cidrs": ["10.42.0.0/16"], "ipv6_egress": ipv6, **changes}
    return NetworkArgs(**values)


def _run(args: NetworkArgs, parent: bool = False) -> tuple[RunResult, dict[str, dict[str, Any]]]:
    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner") if parent else None
        NetworkPolicies("net", args, pulumi.ResourceOptions(parent=owner) if owner else None)
    return run_with_outputs(program)


def _specs(run: RunResult) -> dict[str, dict[str, Any]]:
    policies = [r for r in run.resources if r.custom]
    for policy in policies:
        assert policy.properties["metadata"] == {"name": policy.properties["metadata"]["name"], "namespace": "team-a",
                                                 "labels": LABELS}
    return {p.properties["metadata"]["name"]: p.properties["spec"] for p in policies}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"port": port, "protocol": "TCP"} for port in ports]


def _public(cidr: str, excepts: list[str], ports: list[int]) -> dict[str, Any]:
    return {"policyTypes": ["Egress"], "podSelector": GATEWAY,
            "egress": [{"to": [{"ipBlock": {"cidr": cidr, "except": excepts}}], "ports": _tcp(*ports)}]}


@pytest.mark.parametrize("ipv6", [False, True])
def test_each_policy_whole(ipv6: bool) -> None:
    specs = _specs(_run(_args(ipv6))[0])
    expected = {
        "openclaw-default-deny": {"policyTypes": ["Ingress", "Egress"], "podSelector": {}},
        "openclaw-allow-dns": {"policyTypes": ["Egress"], "podSelector": GATEWAY, "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]},
        "openclaw-allow-kube-api": {"policyTypes": ["Egress"], "podSelector": GATEWAY, "egress": [
            {"to": [{"ipBlock": {"cidr": "10.43.0.1/32"}}], "ports": _tcp(443)},
            {"to": [{"ipBlock": {"cidr": "192.168.1.3/32"}}, {"ipBlock": {"cidr": "192.168.1.2/32"}}],
             "ports": _tcp(6443)},
            {"to": [{"ipBlock": {"cidr": "192.168.1.4/32"}}], "ports": _tcp(6444)}]},
        "openclaw-allow-public-https": _public("0.0.0.0/0", public_excepts(4, ["10.42.0.0/16"]), [443, 8443]),
        **({"openclaw-allow-public-https-ipv6": _public("::/0", public_excepts(6, []), [443, 8443])} if ipv6 else {}),
        "openclaw-allow-postgres": {"policyTypes": ["Egress"], "podSelector": GATEWAY, "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "db"}},
                    "podSelector": {"matchLabels": {"cnpg.io/cluster": "pg"}}}], "ports": _tcp(5432)}]},
        "openclaw-allow-gateway-ingress": {"policyTypes": ["Ingress"], "podSelector": GATEWAY,
                                           "ingress": [{"ports": _tcp(18789)}]},
    }
    assert specs == expected


def test_the_cluster_ranges_are_excepted_from_ipv4_only() -> None:
    specs = _specs(_run(_args(True, cluster_cidrs=["5.5.0.0/16", "2a00:1::/32"]))[0])
    excepts = specs["openclaw-allow-public-https"]["egress"][0]["to"][0]["ipBlock"]["except"]
    assert "5.5.0.0/16" in excepts and excepts == public_excepts(4, ["5.5.0.0/16", "2a00:1::/32"])
    excepts6 = specs["openclaw-allow-public-https-ipv6"]["egress"][0]["to"][0]["ipBlock"]["except"]
    assert excepts6 == public_excepts(6, []) and "2a00:1::/32" not in excepts6


def test_an_ipv6_api_server_is_that_host_only() -> None:
    specs = _specs(_run(_args(api_server="fd00::1", api_endpoints=[("fd00::2", 6443)]))[0])
    assert specs["openclaw-allow-kube-api"]["egress"] == [{"to": [{"ipBlock": {"cidr": "fd00::1/128"}}],
                                                           "ports": _tcp(443)},
                                                          {"to": [{"ipBlock": {"cidr": "fd00::2/128"}}],
                                                           "ports": _tcp(6443)}]


@pytest.mark.parametrize("ipv6", [False, True])
def test_the_names_the_component_registers_and_its_place_in_the_tree(ipv6: bool) -> None:
    run, outputs = _run(_args(ipv6), parent=True)
    (owner,) = [r for r in run.resources if r.type == "test:index:Owner"]
    (component,) = [r for r in run.resources if r.type == "openclaw:index:NetworkPolicies"]
    assert (component.name, component.parent) == ("net", owner.urn)
    names = ["default-deny", "allow-dns", "allow-kube-api", "allow-public-https",
             *(["allow-public-https-ipv6"] if ipv6 else []), "allow-postgres", "allow-gateway-ingress"]
    assert sorted((r.name, r.parent) for r in run.resources if r.custom) == sorted(
        (f"net-{n}", component.urn) for n in names)
    assert outputs[component.urn] == {"policy_names": [f"openclaw-{n}" for n in names]}
