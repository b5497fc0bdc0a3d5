"""What the network policies' edge tests (tests/test_policy_edges_network*.py) share: the dev stack's
NetworkPolicy names, one changed policy's findings in both shapes, and the messages a user reads."""

from __future__ import annotations

from typing import Any

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, messages
from tests.test_policy import mutate

EGRESS, INGRESS = "egress-restricted", "ingress-restricted"
KUBE_API, PUBLIC, DNS, POSTGRES, GATEWAY = ("openclaw-allow-kube-api", "openclaw-allow-public-https",
                                             "openclaw-allow-dns", "openclaw-allow-postgres",
                                             "openclaw-allow-gateway-ingress")
ALLOWED = "[53, 443, 5432]"       # the dev stack's allowedPorts (policy/config.dev.json)
PUBLIC_RULE = ("private, link-local/metadata, CGNAT, loopback and reserved space must never be reachable through a "
               "public rule")


def netpol(name: str) -> str:
    return f"NetworkPolicy openclaw/{name}"


def verdicts(analyzer: PolicyAnalyzer, dev: RunResult, name: str, change: Any, policy: str = EGRESS,
           config: dict[str, Any] | None = None) -> list[str]:
    return messages(findings(analyzer, mutate(dev, "NetworkPolicy", name, change), policy, config))


def egress_config(**settings: Any) -> dict[str, Any]:
    return {EGRESS: {"enforcementLevel": "mandatory", "allowedPorts": [53, 443, 5432],
                     "allowedPrivateCidrs": ["10.43.0.1/32"], "privateCidrPorts": {"192.168.10.10/32": [6443]},
                     "allowedNamespacePorts": {"kube-system": [53], "infra-db": [5432]}, **settings}}


def rule_of(props: dict[str, Any], i: int = 0) -> dict[str, Any]:
    rule: dict[str, Any] = props["spec"]["egress"][i]
    return rule


def tcp(*numbers: Any) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": n} for n in numbers]


STACK_EXCEPTS = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                 "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
                 "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"]


def block_of(props: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = rule_of(props)["to"][0]["ipBlock"]
    return block


def missing_msg(cidr: str, missing: str) -> str:
    return (f"{netpol(PUBLIC)} egress rule 0 peer 0: ipBlock {cidr} reaches the public internet but does not except "
            f"{missing}: add them to `except` ({PUBLIC_RULE})")


def not_listed(where: str, cidr: str) -> str:
    return (f"{where}: ipBlock {cidr} is a non-public destination that is not allow-listed: use a namespace/pod "
            "selector, or add it to allowedPrivateCidrs (now ['10.43.0.1/32']) or, with its ports, to "
            "privateCidrPorts (now {'192.168.10.10/32': [6443]})")


def unknown_at(path: tuple[Any, ...]) -> Any:
    def apply(props: dict[str, Any]) -> None:
        node = props
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = UNKNOWN
    return apply


def ingress_of(props: dict[str, Any], i: int = 0) -> dict[str, Any]:
    rule: dict[str, Any] = props["spec"]["ingress"][i]
    return rule


R0, R1 = ("spec", "egress", 0), ("spec", "egress", 1)
