"""The rendered NetworkPolicies evaluated the way k3s' kube-router enforces them (destination after
kube-proxy's DNAT) and the way a CNI that judges before DNAT does (tests/support/netpol.py), both ways:
what must pass passes, what must not is rejected."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.harness import RunResult
from tests.support.netpol import Destination, Mode, Pod, Service, allowed, egress, selecting

MODES = [Mode.POST_DNAT, Mode.PRE_DNAT]
ENDPOINTS = {"dev": ["192.168.10.10"], "prod": ["10.20.0.11", "10.20.0.12", "10.20.0.13"]}
COREDNS = Pod("kube-system", {"k8s-app": "kube-dns"}, ip="10.42.0.3")
DB_POD = Pod("infra-db", {"cnpg.io/cluster": "infra-db", "cnpg.io/instanceRole": "primary"}, ip="10.42.1.5")


def _objects(run: RunResult) -> list[dict[str, Any]]:
    return [copy.deepcopy(r.properties) for r in run.kubernetes()]  # tests may change them


def _gateway(run: RunResult) -> Pod:
    labels = run.find("Deployment", "openclaw").properties["spec"]["template"]["metadata"]["labels"]
    return Pod("openclaw", labels, ip="10.42.0.50")


def _services(stack: str) -> list[Service]:
    return [Service("10.43.0.1", 443, tuple(Destination(ip, 6443) for ip in ENDPOINTS[stack])),
            Service("10.43.0.10", 53, (Destination(COREDNS.ip, 53, "UDP", pod=COREDNS),), "UDP"),
            Service("10.43.0.10", 53, (Destination(COREDNS.ip, 53, pod=COREDNS),)),
            Service("10.43.7.7", 5432, (Destination(DB_POD.ip, 5432, pod=DB_POD),))]


def _check(stack: str, run: RunResult, dest: Destination, mode: Mode) -> bool:
    return allowed(_objects(run), _gateway(run), dest, services=_services(stack), mode=mode)


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> tuple[str, RunResult]:
    return request.param, request.getfixturevalue(request.param)


def test_the_gateway_is_isolated_for_egress(stack: tuple[str, RunResult]) -> None:
    _, run = stack
    names = {p["metadata"]["name"] for p in selecting(_objects(run), _gateway(run))}
    assert "openclaw-default-deny" in names and "openclaw-allow-kube-api" in names


@pytest.mark.parametrize("mode", MODES)
def test_the_api_service_address_reaches_every_endpoint(stack: tuple[str, RunResult], mode: Mode) -> None:
    name, run = stack
    verdicts = egress(_objects(run), _gateway(run), Destination("10.43.0.1", 443), services=_services(name),
                      mode=mode)
    assert all(v.allowed for v in verdicts), [str(v) for v in verdicts]
    judged = [v.judged.ip for v in verdicts]
    assert judged == (ENDPOINTS[name] if mode is Mode.POST_DNAT else ["10.43.0.1"])
    if mode is Mode.POST_DNAT:
        assert {v.by for v in verdicts} == {"openclaw-allow-kube-api egress rule 1"}


@pytest.mark.parametrize("mode", MODES)
def test_each_endpoint_on_its_own_on_its_port_only(stack: tuple[str, RunResult], mode: Mode) -> None:
    name, run = stack
    for ip in ENDPOINTS[name]:
        assert _check(name, run, Destination(ip, 6443), mode), ip
        for port in (10250, 22, 443, 2379, 2380, 6444, 10251, 30080):  # kubelet, ssh, etcd, other k3s ports
            assert not _check(name, run, Destination(ip, port), mode), (ip, port)
        assert not _check(name, run, Destination(ip, 6443, "UDP"), mode), ip
    # Another node of the same subnet on the API port is not an endpoint.
    assert not _check(name, run, Destination("192.168.10.11", 6443), mode)


def test_the_old_rule_is_useless_after_dnat(stack: tuple[str, RunResult]) -> None:
    """The Service-address rule alone (what the old manifests and the first version had): allowed by a
    pre-DNAT CNI, rejected by kube-router for every endpoint."""
    name, run = stack
    objects = _objects(run)
    for obj in objects:
        if obj["metadata"]["name"] == "openclaw-allow-kube-api":
            obj["spec"] = {**obj["spec"], "egress": obj["spec"]["egress"][:1]}
    api = Destination("10.43.0.1", 443)
    post = egress(objects, _gateway(run), api, services=_services(name), mode=Mode.POST_DNAT)
    assert [v.allowed for v in post] == [False] * len(ENDPOINTS[name])
    assert allowed(objects, _gateway(run), api, services=_services(name), mode=Mode.PRE_DNAT)


def test_one_missing_endpoint_fails_one_connection_in_n(prod: RunResult) -> None:
    objects = _objects(prod)
    for obj in objects:
        if obj["metadata"]["name"] == "openclaw-allow-kube-api":
            rule = obj["spec"]["egress"][1]
            obj["spec"] = {**obj["spec"], "egress": [obj["spec"]["egress"][0], {**rule, "to": rule["to"][1:]}]}
    post = egress(objects, _gateway(prod), Destination("10.43.0.1", 443), services=_services("prod"))
    assert [v.allowed for v in post] == [False, True, True]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", ["UDP", "TCP"])
def test_dns_reaches_coredns_only(stack: tuple[str, RunResult], mode: Mode, protocol: str) -> None:
    name, run = stack
    if mode is Mode.POST_DNAT:  # through the DNS Service, translated to the CoreDNS pod
        assert _check(name, run, Destination("10.43.0.10", 53, protocol), mode)
    assert _check(name, run, Destination(COREDNS.ip, 53, protocol, pod=COREDNS), mode)
    other = Pod("kube-system", {"app": "metrics-server"}, ip="10.42.0.4")
    assert not _check(name, run, Destination(other.ip, 53, protocol, pod=other), mode)
    assert not _check(name, run, Destination(COREDNS.ip, 9153, protocol, pod=COREDNS), mode)  # metrics port
    look_alike = Pod("default", {"k8s-app": "kube-dns"}, ip="10.42.3.3")  # right labels, wrong namespace
    assert not _check(name, run, Destination(look_alike.ip, 53, protocol, pod=look_alike), mode)


@pytest.mark.parametrize("mode", MODES)
def test_the_database_on_its_port_only(stack: tuple[str, RunResult], mode: Mode) -> None:
    name, run = stack
    assert _check(name, run, Destination(DB_POD.ip, 5432, pod=DB_POD), mode)
    if mode is Mode.POST_DNAT:
        assert _check(name, run, Destination("10.43.7.7", 5432), mode)
    else:  # a pre-DNAT CNI cannot match a selector against a ClusterIP: no CNI of this kind is usable
        assert not _check(name, run, Destination("10.43.7.7", 5432), mode)
    assert not _check(name, run, Destination(DB_POD.ip, 22, pod=DB_POD), mode)
    pooler = Pod("infra-db", {"cnpg.io/poolerName": "pgbouncer"}, ip="10.42.1.9")
    assert not _check(name, run, Destination(pooler.ip, 5432, pod=pooler), mode)


@pytest.mark.parametrize("mode", MODES)
def test_public_https_only(stack: tuple[str, RunResult], mode: Mode) -> None:
    name, run = stack
    for public in ("1.1.1.1", "149.154.167.220", "8.8.8.8", "128.0.0.1", "126.255.255.254"):
        assert _check(name, run, Destination(public, 443), mode), public
        assert not _check(name, run, Destination(public, 80), mode), public
    for private in ("10.0.0.1", "10.42.0.7", "10.43.0.2", "172.16.0.1", "172.31.255.254", "192.168.1.1",
                    "169.254.169.254", "100.64.0.1", "127.0.0.1", "0.0.0.1", "224.0.0.1", "240.0.0.1"):
        assert not _check(name, run, Destination(private, 443), mode), private


def test_ipv6_egress_as_kube_router_builds_it(prod: RunResult) -> None:
    """prod opens ::/0 minus non-public space; kube-router adds ::/0 as 2000::/3 + fd00::/8."""
    for public in ("2606:4700:4700::1111", "2001:4860:4860::8888"):
        assert _check("prod", prod, Destination(public, 443), Mode.POST_DNAT), public
    for private in ("fd00::1", "fe80::1", "::1", "2001:db8::1", "::ffff:10.0.0.1"):
        assert not _check("prod", prod, Destination(private, 443), Mode.POST_DNAT), private


def test_dev_has_no_ipv6_egress(dev: RunResult) -> None:
    assert not _check("dev", dev, Destination("2606:4700:4700::1111", 443), Mode.POST_DNAT)
