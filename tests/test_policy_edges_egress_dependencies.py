"""egress-covers-dependencies (policy/egress_dependencies.py) at its edges, in both shapes: an ipBlock
the API server would refuse opens nothing (the pack judges it instead of failing)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from tests.policy_edges import findings, messages
from tests.test_policy import mutate

POLICY = "egress-covers-dependencies"
GW = "Deployment openclaw/openclaw"


def _blocked(what: str, host: str, fix: str) -> str:
    return (f"{GW}: {what} is blocked: none of the 5 egress rules of the policies selecting this pod allows {host}; "
            f"{fix}")


API_FIX = ("add an ipBlock 192.168.10.10/32 on TCP 6443: kube-proxy translates 10.43.0.1:443 to this endpoint and a "
           "NetworkPolicy enforced after DNAT (k3s: kube-router) judges the endpoint, so a rule for the Service "
           "address alone lets nothing through (openclaw:network.apiServerEndpoints)")
PUBLIC_FIX = "add a public ipBlock (0.0.0.0/0 minus non-public space) on TCP 443"


def test_the_stack_passes(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert findings(analyzer, dev.resources, POLICY) == []


@pytest.mark.parametrize("cidr", ["banana", "192.168.10.10/33"])
def test_an_invalid_block_opens_nothing(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str) -> None:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["egress"][1]["to"][0]["ipBlock"]["cidr"] = cidr

    found = findings(analyzer, mutate(dev, "NetworkPolicy", "openclaw-allow-kube-api", change), POLICY)
    assert messages(found) == [_blocked("Kubernetes API (10.43.0.1:443) endpoint 192.168.10.10:6443 (after DNAT)",
                                        "192.168.10.10:6443", API_FIX)]


def test_an_invalid_except_opens_nothing(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["egress"][0]["to"][0]["ipBlock"]["except"].append("10.0.0.0/33")

    found = findings(analyzer, mutate(dev, "NetworkPolicy", "openclaw-allow-public-https", change), POLICY)
    assert messages(found) == [
        _blocked("Telegram Bot API", "api.telegram.org:443", PUBLIC_FIX),
        _blocked("model provider 'deepseek' (https://api.deepseek.com/v1)", "api.deepseek.com:443", PUBLIC_FIX)]


BLOCKED: list[tuple[str, str, Any, str]] = [
    ("DNS", "openclaw-allow-dns", lambda p: p["spec"]["egress"][0].__setitem__("ports", [{"port": 54}]),
     f"{GW}: no egress rule allows DNS (port 53): every named dependency is blocked"),
    ("database port", "openclaw-allow-postgres", lambda p: p["spec"]["egress"][0]["ports"][0].__setitem__("port", 5433),
     _blocked("DATABASE_URL (infra-db-rw.infra-db.svc:5432)", "infra-db-rw.infra-db.svc:5432",
              "add a namespace peer for 'infra-db' on TCP 5432")),
    ("database namespace", "openclaw-allow-postgres", lambda p: p["spec"]["egress"][0]["to"][0]["namespaceSelector"][
        "matchLabels"].__setitem__("kubernetes.io/metadata.name", "infra"),
     _blocked("DATABASE_URL (infra-db-rw.infra-db.svc:5432)", "infra-db-rw.infra-db.svc:5432",
              "add a namespace peer for 'infra-db' on TCP 5432")),
    ("API Service address", "openclaw-allow-kube-api",
     lambda p: p["spec"]["egress"][0]["ports"][0].__setitem__("port", 444),
     _blocked("Kubernetes API (10.43.0.1:443)", "10.43.0.1:443", "add a ipBlock 10.43.0.1/32 (CNIs that judge before "
              "DNAT see the Service address) on TCP 443")),
    ("API endpoint", "openclaw-allow-kube-api", lambda p: p["spec"]["egress"][1]["ports"][0].__setitem__("port", 6444),
     _blocked("Kubernetes API (10.43.0.1:443) endpoint 192.168.10.10:6443 (after DNAT)", "192.168.10.10:6443",
              API_FIX)),
]


@pytest.mark.parametrize(("name", "change", "message"), [c[1:] for c in BLOCKED], ids=[c[0] for c in BLOCKED])
def test_each_dependency_blocked_on_its_own(analyzer: PolicyAnalyzer, dev: RunResult, name: str, change: Any,
                                            message: str) -> None:
    found = findings(analyzer, mutate(dev, "NetworkPolicy", name, change), POLICY)
    assert messages(found) == [message]
