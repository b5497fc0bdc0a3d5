"""Network policies: namespace-wide default deny plus one allow policy per purpose."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components.netblocks import NON_PUBLIC_IPV4, NON_PUBLIC_IPV6, public_excepts
from engine.harness import RunResult, object_name, run_stack


def _policies(run: RunResult) -> dict[str, dict[str, Any]]:
    return {object_name(r): r.properties["spec"] for r in run.kubernetes()
            if r.properties["kind"] == "NetworkPolicy"}


def test_policy_set(dev: RunResult) -> None:
    assert set(_policies(dev)) == {"openclaw-default-deny", "openclaw-allow-dns", "openclaw-allow-kube-api",
                                   "openclaw-allow-public-https", "openclaw-allow-postgres",
                                   "openclaw-allow-gateway-ingress"}


def test_default_deny_selects_every_pod(dev: RunResult) -> None:
    spec = _policies(dev)["openclaw-default-deny"]
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dns_only_to_kube_dns_pods(dev: RunResult) -> None:
    (rule,) = _policies(dev)["openclaw-allow-dns"]["egress"]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert rule["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def test_api_server_at_its_service_address_and_its_endpoint(dev: RunResult) -> None:
    """k3s' kube-router judges the endpoint (after DNAT), a pre-DNAT CNI the Service address: both."""
    assert _policies(dev)["openclaw-allow-kube-api"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "10.43.0.1/32"}}], "ports": [{"port": 443, "protocol": "TCP"}]},
        {"to": [{"ipBlock": {"cidr": "192.168.10.10/32"}}], "ports": [{"port": 6443, "protocol": "TCP"}]}]


def test_prod_api_servers_each_on_their_port(prod: RunResult) -> None:
    rules = _policies(prod)["openclaw-allow-kube-api"]["egress"]
    assert rules[1] == {"to": [{"ipBlock": {"cidr": f"10.20.0.{n}/32"}} for n in (11, 12, 13)],
                        "ports": [{"port": 6443, "protocol": "TCP"}]}
    assert len(rules) == 2


def test_postgres_only_to_the_cnpg_cluster(dev: RunResult) -> None:
    (rule,) = _policies(dev)["openclaw-allow-postgres"]["egress"]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "infra-db"}},
                           "podSelector": {"matchLabels": {"cnpg.io/cluster": "infra-db"}}}]
    assert rule["ports"] == [{"port": 5432, "protocol": "TCP"}]


def test_ingress_only_the_gateway_port(dev: RunResult) -> None:
    spec = _policies(dev)["openclaw-allow-gateway-ingress"]
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [{"ports": [{"port": 18789, "protocol": "TCP"}]}]


def test_allow_policies_select_the_gateway_only(dev: RunResult) -> None:
    for name, spec in _policies(dev).items():
        if name != "openclaw-default-deny":
            assert spec["podSelector"] == {"matchLabels": {"app": "openclaw"}}, name


def test_public_https_excludes_every_non_public_block(dev: RunResult) -> None:
    (rule,) = _policies(dev)["openclaw-allow-public-https"]["egress"]
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]
    (peer,) = rule["to"]
    assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
    excepted = [ipaddress.ip_network(n) for n in peer["ipBlock"]["except"]]
    for must in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
                 "127.0.0.0/8", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4"):
        assert any(ipaddress.ip_network(must).subnet_of(e) for e in excepted), must  # type: ignore[arg-type]
    # Public destinations (DeepSeek, Telegram, a CDN) stay reachable.
    for public in ("1.1.1.1", "149.154.167.220", "8.8.8.8"):
        assert not any(ipaddress.ip_address(public) in e for e in excepted)


# Not public for egress, though Python 3.11's is_global does not say so for every address:
# IETF protocol assignments (IANA lists the /24 as not globally reachable, Python only parts),
# deprecated 6to4 relay anycast (RFC 7526) and local-use NAT64 (RFC 8215).
_NOT_IN_PYTHON_REGISTRY = {"192.0.0.0/24", "192.88.99.0/24", "64:ff9b:1::/48"}


@pytest.mark.parametrize("block", NON_PUBLIC_IPV4 + NON_PUBLIC_IPV6)
def test_every_listed_block_is_not_public(block: str) -> None:
    net = ipaddress.ip_network(block)
    if block in _NOT_IN_PYTHON_REGISTRY:
        return
    for address in (net.network_address, net.broadcast_address):
        assert not address.is_global or address.is_multicast or address.is_reserved, address


def test_no_non_global_ipv4_address_escapes_the_excepts() -> None:
    excepted = [ipaddress.IPv4Network(n) for n in public_excepts(4)]
    # Probe the first, middle and last address of each /8: a non-global one must be excepted.
    for first in range(256):
        for host in (0, 1 << 23, (1 << 24) - 1):
            address = ipaddress.IPv4Address((first << 24) + host)
            if not address.is_global and address.is_private:
                assert any(address in e for e in excepted), address


def test_cluster_cidrs_outside_rfc1918_are_excepted_too() -> None:
    endpoints = ["192.168.10.10:6443"]
    run = run_stack("dev", overrides={"openclaw:network": {"podCidr": "100.100.0.0/16",
                                                           "serviceCidr": "198.19.0.0/16",
                                                           "apiServer": "198.19.0.1",
                                                           "apiServerEndpoints": endpoints}})
    excepts = _policies(run)["openclaw-allow-public-https"]["egress"][0]["to"][0]["ipBlock"]["except"]
    assert "100.64.0.0/10" in excepts and "198.18.0.0/15" in excepts  # both cover the cluster CIDRs
    run = run_stack("dev", overrides={"openclaw:network": {"podCidr": "44.1.0.0/16",
                                                           "apiServerEndpoints": endpoints}})
    excepts = _policies(run)["openclaw-allow-public-https"]["egress"][0]["to"][0]["ipBlock"]["except"]
    assert "44.1.0.0/16" in excepts


def test_ipv6_egress_is_opt_in(prod: RunResult) -> None:
    spec = _policies(prod)["openclaw-allow-public-https-ipv6"]
    (peer,) = spec["egress"][0]["to"]
    assert peer["ipBlock"]["cidr"] == "::/0"
    assert "fe80::/10" in peer["ipBlock"]["except"] and "fc00::/7" in peer["ipBlock"]["except"]
