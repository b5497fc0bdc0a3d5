"""The API server's endpoints: a required cluster fact, carried into egress, the dependency list
and both policies, because k3s (kube-router) judges egress after kube-proxy's DNAT."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.config.network import ENDPOINTS_COMMAND
from engine.analyzer import SHAPES, PolicyAnalyzer, mandatory
from engine.harness import RunResult, run_stack
from tests.test_policy import has_dependency_list, mutate
from tests.test_policy_preview import run_shape

ORIGINS = {"allowedOrigins": ["https://ui.example.test"]}
KUBE_API = "openclaw-allow-kube-api"


def _network(endpoints: Any, **more: Any) -> dict[str, Any]:
    return {"gateway": ORIGINS, "network": {"apiServerEndpoints": endpoints, **more}}


# --- config -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (["192.168.10.10:6443"], [("192.168.10.10", 6443)]),
    (["192.168.10.10:1", "192.168.10.11:65535"], [("192.168.10.10", 1), ("192.168.10.11", 65535)]),
    (["[fd00:10::10]:6443"], [("fd00:10::10", 6443)]),
    (["203.0.113.7:443"], [("203.0.113.7", 443)]),  # a hosted control plane: any reachable address
])
def test_endpoints_accepted(value: list[str], expected: list[tuple[str, int]]) -> None:
    assert parse_config(_network(value)).network.api_endpoints == expected


@pytest.mark.parametrize(("value", "message"), [
    ([], "must list at least one endpoint"),
    (["192.168.10.10"], "expected <IP>:<port>"),
    (["k3s-server-1:6443"], "is not an IP address"),
    (["192.168.10.10:0"], "port 0 is outside 1-65535"),
    (["192.168.10.10:65536"], "port 65536 is outside 1-65535"),
    (["192.168.10.10:https"], "expected <IP>:<port>"),
    (["fd00::10:6443"], "expected <IP>:<port>"),  # IPv6 needs brackets, or the port is ambiguous
    (["192.168.10.10:10250"], "10250 is the kubelet's port"),
    (["127.0.0.1:6443"], "not an address a pod can reach"),
    (["169.254.1.1:6443"], "not an address a pod can reach"),
    (["0.0.0.0:6443"], "not an address a pod can reach"),
    (["192.168.10.10:6443", "192.168.10.10:6443"], "duplicate endpoints"),
])
def test_bad_endpoints_name_the_key_and_the_fix(value: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_network(value))
    line = next(ln for ln in str(info.value).splitlines() if "openclaw:network.apiServerEndpoints" in ln)
    assert message in line, str(info.value)


@pytest.mark.parametrize("endpoint", ["10.43.0.1:443", "10.43.255.254:6443"])
def test_a_service_address_is_not_an_endpoint(endpoint: str) -> None:
    """The first and last address of the service CIDR: both are pre-DNAT addresses."""
    with pytest.raises(ConfigError, match=r"is inside serviceCidr 10\.43\.0\.0/16: that is a Service address"):
        parse_config(_network([endpoint]))
    parse_config(_network(["10.44.0.1:6443"]))  # just outside it


def test_a_stack_without_endpoints_is_refused_before_any_resource() -> None:
    """No default: a silently wrong address would leave the API unreachable on k3s."""
    with pytest.raises(ConfigError) as info:
        run_stack("dev", overrides={"openclaw:network": {"apiServer": "10.43.0.1"}})
    message = str(info.value)
    assert message.startswith("openclaw:network.apiServerEndpoints: required key is missing")
    assert ENDPOINTS_COMMAND in message
    assert "kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes" in message


# --- the dependency list ----------------------------------------------------------------------------

@pytest.mark.parametrize(("stack", "endpoints"), [
    ("dev", [{"host": "192.168.10.10", "port": 6443}]),
    ("prod", [{"host": f"10.20.0.{n}", "port": 6443} for n in (11, 12, 13)]),
])
def test_the_kubernetes_entry_carries_the_endpoints(stack: str, endpoints: list[dict[str, Any]],
                                                    request: pytest.FixtureRequest) -> None:
    run: RunResult = request.getfixturevalue(stack)
    record = next(r for r in run.kubernetes() if "dependencies.json" in r.properties.get("data", {}))
    doc = json.loads(record.properties["data"]["dependencies.json"])
    (entry,) = [d for d in doc["dependencies"] if d["kind"] == "kubernetes"]
    assert entry["host"] == "10.43.0.1" and entry["port"] == 443
    assert entry["endpoints"] == endpoints
    assert entry["endpointsKey"] == "openclaw:network.apiServerEndpoints"
    assert doc["failOn"]["kubernetes"] == ["dns", "refused", "unreachable"]


# --- egress-covers-dependencies: post-DNAT, both shapes -----------------------------------------------

def _without_endpoint_rules(props: dict[str, Any]) -> None:
    props["spec"]["egress"] = props["spec"]["egress"][:1]  # the old policy: the Service address alone


def _covers(found: list[Any]) -> list[str]:
    return [d.message for d in mandatory(found) if d.policy == "egress-covers-dependencies"]


@pytest.mark.parametrize("shape", SHAPES)
def test_the_service_address_alone_fails_the_policy(analyzer: PolicyAnalyzer, dev: RunResult, shape: str) -> None:
    found = run_shape(analyzer, mutate(dev, "NetworkPolicy", KUBE_API, _without_endpoint_rules), shape)
    (message,) = _covers(found)
    assert ("Kubernetes API (10.43.0.1:443) endpoint 192.168.10.10:6443 (after DNAT) is blocked: none of the "
            "4 egress rules of the policies selecting this pod allows 192.168.10.10:6443; add an ipBlock "
            "192.168.10.10/32 on TCP 6443: kube-proxy translates 10.43.0.1:443 to this endpoint") in message
    assert "(openclaw:network.apiServerEndpoints)" in message
    assert [d.policy for d in mandatory(found)] == ["egress-covers-dependencies"]


@pytest.mark.parametrize("shape", SHAPES)
def test_the_endpoints_alone_fail_for_cnis_that_judge_before_dnat(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                  shape: str) -> None:
    found = run_shape(analyzer, mutate(dev, "NetworkPolicy", KUBE_API,
                                       lambda p: p["spec"].__setitem__("egress", p["spec"]["egress"][1:])), shape)
    (message,) = _covers(found)
    assert "Kubernetes API (10.43.0.1:443) is blocked" in message
    assert "add a ipBlock 10.43.0.1/32 (CNIs that judge before DNAT see the Service address) on TCP 443" in message


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("index", [0, 1, 2])
def test_each_prod_endpoint_is_judged_on_its_own(analyzer: PolicyAnalyzer, prod: RunResult, shape: str,
                                                 index: int) -> None:
    def drop_one(props: dict[str, Any]) -> None:
        del props["spec"]["egress"][1]["to"][index]

    found = run_shape(analyzer, mutate(prod, "NetworkPolicy", KUBE_API, drop_one), shape, stack="prod")
    (message,) = _covers(found)
    assert f"endpoint 10.20.0.{11 + index}:6443 (after DNAT) is blocked" in message


@pytest.mark.parametrize("shape", SHAPES)
def test_the_endpoint_on_another_port_is_blocked(analyzer: PolicyAnalyzer, dev: RunResult, shape: str) -> None:
    """The node's address on the wrong port (6444, as a k3s https-listen-port change would need) is not
    the endpoint: both policies say so."""
    found = run_shape(analyzer, mutate(dev, "NetworkPolicy", KUBE_API,
                                       lambda p: p["spec"]["egress"][1]["ports"][0].__setitem__("port", 6444)), shape)
    assert len(_covers(found)) == 1
    restricted = [d.message for d in mandatory(found) if d.policy == "egress-restricted"]
    assert any("ipBlock 192.168.10.10/32 may only be reached on ports [6443] (privateCidrPorts), rule allows [6444]"
               in m for m in restricted), restricted


@pytest.mark.parametrize("shape", SHAPES)
def test_a_moved_endpoint_in_the_list_alone_is_caught(analyzer: PolicyAnalyzer, dev: RunResult, shape: str) -> None:
    def moved(props: dict[str, Any]) -> None:
        doc = json.loads(props["data"]["dependencies.json"])
        next(d for d in doc["dependencies"] if d["kind"] == "kubernetes")["endpoints"][0]["host"] = "192.168.10.11"
        props["data"]["dependencies.json"] = json.dumps(doc)

    found = run_shape(analyzer, mutate(dev, "ConfigMap", has_dependency_list(dev), moved), shape)
    assert [m.split(" is blocked")[0].split(": ")[-1] for m in _covers(found)] == [
        "Kubernetes API (10.43.0.1:443) endpoint 192.168.10.11:6443 (after DNAT)"]


def test_a_broken_endpoint_list_is_named(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def broken(props: dict[str, Any]) -> None:
        doc = json.loads(props["data"]["dependencies.json"])
        next(d for d in doc["dependencies"] if d["kind"] == "kubernetes")["endpoints"] = []
        props["data"]["dependencies.json"] = json.dumps(doc)

    found = run_shape(analyzer, mutate(dev, "ConfigMap", has_dependency_list(dev), broken), "up")
    (message,) = _covers(found)
    assert "key dependencies.json is not a dependency list" in message


# --- egress-restricted: the endpoint's port only -------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("port", "flagged"), [(6443, False), (10250, True), (22, True), (443, True)])
def test_the_endpoint_block_opens_its_port_only(analyzer: PolicyAnalyzer, dev: RunResult, shape: str, port: int,
                                                flagged: bool) -> None:
    def add_port(props: dict[str, Any]) -> None:
        props["spec"]["egress"][1]["ports"].append({"port": port, "protocol": "TCP"})

    found = run_shape(analyzer, mutate(dev, "NetworkPolicy", KUBE_API, add_port), shape)
    restricted = [d.message for d in mandatory(found) if d.policy == "egress-restricted"]
    assert bool(restricted) is flagged, restricted
    if flagged:
        assert any(f"rule allows [{port}]" in m for m in restricted), restricted


@pytest.mark.parametrize("shape", SHAPES)
def test_an_endpoint_the_pack_config_does_not_list_is_refused(analyzer: PolicyAnalyzer, dev: RunResult,
                                                              shape: str) -> None:
    found = run_shape(analyzer, dev.resources, shape, {"egress-restricted": {"privateCidrPorts": {}}})
    restricted = [d.message for d in mandatory(found) if d.policy == "egress-restricted"]
    assert any("ipBlock 192.168.10.10/32 is a non-public destination that is not allow-listed" in m
               for m in restricted), restricted
    assert any("ports [6443] are not in allowedPorts" in m for m in restricted), restricted


def test_the_verification_commands_compare_the_endpoints(dev: RunResult) -> None:
    assert ("kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes"
            "  # = openclaw:network.apiServerEndpoints") in dev.outputs["verificationCommands"].value
