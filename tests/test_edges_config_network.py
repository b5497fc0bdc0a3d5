"""Edges of the network config (components/config/network.py) through the stack config's loading:
each rule of the API server's endpoints on its own, the ports just inside and outside their range,
the CIDRs' relations, the database host's parts, and the whole line a user reads."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.config.network import ENDPOINTS_COMMAND, require_cluster_facts

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
FIX = "expected <IP>:<port> such as 192.168.10.10:6443 ([<IPv6>]:<port> for IPv6)"


def _network(**network: Any) -> Any:
    return parse_config({"gateway": ORIGIN, "network": network}).network


def _line(key: str, section: str = "network", **values: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, section: values})
    lines = [ln for ln in str(info.value).splitlines() if ln.startswith(f"  - openclaw:{section}{key}: ")]
    assert len(lines) == 1, str(info.value)
    return lines[0]


@pytest.mark.parametrize(("endpoint", "parsed"), [
    ("192.168.10.10:6443", ("192.168.10.10", 6443)), ("192.168.10.10:1", ("192.168.10.10", 1)),
    ("192.168.10.10:65535", ("192.168.10.10", 65535)), ("[fd00::1]:6443", ("fd00::1", 6443)),
    ("192.168.10.10:10249", ("192.168.10.10", 10249)), ("192.168.10.10:10251", ("192.168.10.10", 10251)),
])
def test_an_endpoint_at_its_edges_is_accepted(endpoint: str, parsed: tuple[str, int]) -> None:
    assert _network(apiServerEndpoints=[endpoint]).api_endpoints == [parsed]


@pytest.mark.parametrize(("endpoint", "why"), [
    ("192.168.10.10", FIX), ("192.168.10.10:", FIX), ("192.168.10.10:https", FIX), ("192.168.10.10:-1", FIX),
    ("fd00::1:6443", FIX),   # IPv6 without brackets
    ("node1:6443", f"'node1' is not an IP address; {FIX}"),
    ("[node1]:6443", f"'node1' is not an IP address; {FIX}"),
    ("[fd00::1:6443", f"'[fd00::1' is not an IP address; {FIX}"),   # an opening bracket without its closing one
    ("192.168.10.10:0", "port 0 is outside 1-65535"), ("192.168.10.10:65536", "port 65536 is outside 1-65535"),
    ("192.168.10.10:10250", "10250 is the kubelet's port, never the API server's (k3s serves the API on 6443)"),
])
def test_an_endpoint_that_is_not_one_says_the_form(endpoint: str, why: str) -> None:
    assert _line(".apiServerEndpoints", apiServerEndpoints=[endpoint]).startswith(
        f"  - openclaw:network.apiServerEndpoints: {endpoint!r}: {why} (got ")


@pytest.mark.parametrize("endpoint", ["127.0.0.1:6443", "0.0.0.0:6443", "224.0.0.1:6443", "169.254.1.1:6443",
                                      "[::1]:6443", "[fe80::1]:6443"])
def test_an_address_a_pod_cannot_reach_the_api_server_on_is_refused(endpoint: str) -> None:
    assert _line(".apiServerEndpoints", apiServerEndpoints=["192.168.10.10:6443", endpoint]).startswith(
        f"  - openclaw:network.apiServerEndpoints: {endpoint!r}: not an address a pod can reach the API server on; "
        f"read the endpoints with: {ENDPOINTS_COMMAND} (got ")


def test_endpoints_are_listed_once_each() -> None:
    many = ["192.168.10.12:6443", "192.168.10.10:6443", "192.168.10.11:6443", "192.168.10.10:6443",
            "192.168.10.12:6443"]
    assert _line(".apiServerEndpoints", apiServerEndpoints=many).startswith(
        "  - openclaw:network.apiServerEndpoints: duplicate endpoints ['192.168.10.10:6443', '192.168.10.12:6443'] "
        "(got ")
    assert len(_network(apiServerEndpoints=many[:3]).api_endpoints) == 3


def test_no_endpoints_says_how_to_read_them() -> None:
    assert _line(".apiServerEndpoints", apiServerEndpoints=[]) == (
        "  - openclaw:network.apiServerEndpoints: must list at least one endpoint; read them with: "
        f"{ENDPOINTS_COMMAND} "
        "(got [])")
    unset = _network()
    message = ("openclaw:network.apiServerEndpoints: required key is missing: the API server's endpoints (<IP>:<port>, "
               "one per server node), which a post-DNAT NetworkPolicy (k3s: kube-router) judges instead of the Service "
               f"address; read them with: {ENDPOINTS_COMMAND}")
    with pytest.raises(ConfigError) as facts:
        require_cluster_facts(unset)
    assert str(facts.value) == message
    with pytest.raises(ConfigError) as read:
        _ = unset.api_endpoints
    assert str(read.value) == message
    require_cluster_facts(_network(apiServerEndpoints=["192.168.10.10:6443"]))


def test_an_endpoint_inside_the_service_cidr_is_the_address_before_dnat() -> None:
    assert _line("", apiServerEndpoints=["192.168.10.10:6443", "10.43.0.1:443"]).startswith(
        "  - openclaw:network: apiServerEndpoints '10.43.0.1:443' is inside serviceCidr 10.43.0.0/16: that is a "
        f"Service address (before DNAT), not the API server's endpoint; read them with: {ENDPOINTS_COMMAND} (got ")
    assert _network(apiServerEndpoints=["10.44.0.1:6443", "10.42.255.255:6443"]).api_endpoints[0] == ("10.44.0.1", 6443)


@pytest.mark.parametrize(("ports", "ok"), [([1], True), ([65535, 443], True), ([0], False), ([65536], False)])
def test_egress_ports_at_their_bounds(ports: list[int], ok: bool) -> None:
    if ok:
        assert _network(egressPorts=ports).egress_ports == ports
    else:
        assert _line(".egressPorts", egressPorts=[443, *ports]) == (
            f"  - openclaw:network.egressPorts: ports must be 1-65535, got {ports} (got {[443, *ports]})")


def test_egress_ports_need_one_and_each_once() -> None:
    assert _line(".egressPorts", egressPorts=[]) == (
        "  - openclaw:network.egressPorts: must list at least one port (443) (got [])")
    assert _line(".egressPorts", egressPorts=[8443, 443, 8443, 443, 80]) == (
        "  - openclaw:network.egressPorts: duplicate ports [443, 8443] (got [8443, 443, 8443, 443, 80])")
    assert _network().egress_ports == [443]


@pytest.mark.parametrize(("key", "value", "why"), [
    ("podCidr", "10.42.0.1/16", "must be an IPv4 CIDR such as 10.42.0.0/16 (10.42.0.1/16 has host bits set)"),
    ("serviceCidr", "fd00::/64", "must be an IPv4 CIDR such as 10.42.0.0/16"),
    ("apiServer", "fd00::1", "must be the API server's ClusterIP, an IPv4 address such as 10.43.0.1"),
    ("apiServer", "kubernetes", "must be the API server's ClusterIP, an IPv4 address such as 10.43.0.1"),
])
def test_a_cidr_or_cluster_ip_of_the_wrong_kind_names_its_key(key: str, value: str, why: str) -> None:
    assert _line(f".{key}", **{key: value}) == f"  - openclaw:network.{key}: {why} (got \"{value}\")"


def test_the_cluster_ip_is_inside_the_service_cidr_and_the_cidrs_apart() -> None:
    assert _network(apiServer="10.43.255.255").api_server == "10.43.255.255"
    assert _line("", apiServer="10.44.0.0").startswith(
        "  - openclaw:network: apiServer 10.44.0.0 is not inside serviceCidr 10.43.0.0/16 (got ")
    assert _network(podCidr="10.42.0.0/16", serviceCidr="10.43.0.0/16").pod_cidr == "10.42.0.0/16"
    assert _line("", podCidr="10.42.0.0/15").startswith(
        "  - openclaw:network: podCidr 10.42.0.0/15 overlaps serviceCidr 10.43.0.0/16 (got ")


@pytest.mark.parametrize("host", ["infra-db-rw.infra-db.svc", "pg.infra-db.svc.cluster.local"])
def test_a_database_service_in_its_namespace_is_accepted(host: str) -> None:
    database = parse_config({"gateway": ORIGIN, "database": {"host": host, "port": 6432}}).database
    assert database.url == f"postgresql://openclaw:$(OPENCLAW_DB_PASSWORD)@{host}:6432/openclaw"


@pytest.mark.parametrize("host", ["infra-db-rw", "infra-db-rw.infra-db", "infra-db-rw.infra-db.cluster",
                                  "infra-db-rw.other.svc", "infra-db.svc.infra-db"])
def test_a_database_host_outside_its_namespace_says_the_form(host: str) -> None:
    assert _line("", "database", host=host).startswith(
        f"  - openclaw:database: host {host!r} must be the in-cluster service <service>.infra-db.svc so that egress "
        "can be limited to that namespace (got ")
