"""The network policies (policy/network.py) at their edges, in both shapes: each allowed port and its
neighbours, each non-public block missing from a public rule's `except` on its own (IPv4 and IPv6),
the API server's own-port blocks, each namespace peer, each rule without peers or ports, each unknown
that decides a verdict (and a rule after an unknown one), blocks written with host bits set (a cidr, an
`except` entry, a privateCidrPorts block: each judged as the network it names, as the API server stores
it), and the whole message a user reads."""

from __future__ import annotations

from typing import Any

import pytest

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


def _np(name: str) -> str:
    return f"NetworkPolicy openclaw/{name}"


def _found(analyzer: PolicyAnalyzer, dev: RunResult, name: str, change: Any, policy: str = EGRESS,
           config: dict[str, Any] | None = None) -> list[str]:
    return messages(findings(analyzer, mutate(dev, "NetworkPolicy", name, change), policy, config))


def _egress_config(**settings: Any) -> dict[str, Any]:
    return {EGRESS: {"enforcementLevel": "mandatory", "allowedPorts": [53, 443, 5432],
                     "allowedPrivateCidrs": ["10.43.0.1/32"], "privateCidrPorts": {"192.168.10.10/32": [6443]},
                     "allowedNamespacePorts": {"kube-system": [53], "infra-db": [5432]}, **settings}}


def _rule(props: dict[str, Any], i: int = 0) -> dict[str, Any]:
    rule: dict[str, Any] = props["spec"]["egress"][i]
    return rule


def _ports(*numbers: Any) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": n} for n in numbers]


def _undecidable(where: str, path: str, why: str) -> str:
    return (f"undecidable at preview: {where} {path} is unknown, and {why}: make the value known in the program, or "
            "apply what it depends on first")


def test_the_stack_passes(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert findings(analyzer, dev.resources, {EGRESS, INGRESS}) == []


# --- ports ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("port", "allowed"), [(53, True), (443, True), (5432, True), (52, False), (54, False),
                                               (442, False), (444, False), (5431, False), (5433, False)])
def test_each_allowed_port_and_its_neighbours(analyzer: PolicyAnalyzer, dev: RunResult, port: int,
                                              allowed: bool) -> None:
    found = _found(analyzer, dev, KUBE_API, lambda p: _rule(p).__setitem__("ports", _ports(port)))
    assert found == ([] if allowed else [f"{_np(KUBE_API)} egress rule 0: ports [{port}] are not in allowedPorts "
                                         f"{ALLOWED}"])


def test_only_the_ports_outside_the_list_are_named(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = _found(analyzer, dev, KUBE_API, lambda p: _rule(p).__setitem__("ports", _ports(22, 443, 8080)))
    assert found == [f"{_np(KUBE_API)} egress rule 0: ports [22, 8080] are not in allowedPorts {ALLOWED}"]


def test_configured_allowed_ports(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda p: _rule(p).__setitem__("ports", _ports(8080))  # noqa: E731
    assert _found(analyzer, dev, KUBE_API, change, config=_egress_config(allowedPorts=[53, 443, 5432, 8080])) == []
    assert _found(analyzer, dev, KUBE_API, change, config=_egress_config(allowedPorts=[53, 443, 5432, 8081])) == [
        f"{_np(KUBE_API)} egress rule 0: ports [8080] are not in allowedPorts [53, 443, 5432, 8081]"]


@pytest.mark.parametrize("empty", [None, []], ids=["absent", "empty"])
def test_a_rule_without_ports(analyzer: PolicyAnalyzer, dev: RunResult, empty: Any) -> None:
    def without(i: int) -> Any:
        return lambda p: _rule(p, i).pop("ports") if empty is None else _rule(p, i).__setitem__("ports", empty)

    no_ports = "no `ports`, so it allows every port: list the ports"
    assert _found(analyzer, dev, KUBE_API, without(0)) == [f"{_np(KUBE_API)} egress rule 0: {no_ports}"]
    assert _found(analyzer, dev, KUBE_API, without(1)) == [
        f"{_np(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows every port",
        f"{_np(KUBE_API)} egress rule 1: {no_ports}"]
    assert _found(analyzer, dev, POSTGRES, without(0)) == [
        f"{_np(POSTGRES)} egress rule 0 peer 0: namespace 'infra-db' may only be reached on ports [5432], rule "
        "allows every port",
        f"{_np(POSTGRES)} egress rule 0: {no_ports}"]


@pytest.mark.parametrize("empty", [None, []], ids=["absent", "empty"])
def test_a_rule_without_peers(analyzer: PolicyAnalyzer, dev: RunResult, empty: Any) -> None:
    change = lambda p: _rule(p).pop("to") if empty is None else _rule(p).__setitem__("to", empty)  # noqa: E731
    assert _found(analyzer, dev, KUBE_API, change) == [
        f"{_np(KUBE_API)} egress rule 0: no `to` peers, so it allows every destination: name the peers"]


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
    found = _found(analyzer, dev, KUBE_API, lambda p: _rule(p, 1).__setitem__("ports", _ports(*ports)))
    assert found == [f"{_np(KUBE_API)} {m}" for m in expected]


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
    found = _found(analyzer, dev, KUBE_API, lambda p: _rule(p, 1)["to"].append(peer))
    assert found == sorted(f"{_np(KUBE_API)} {m}" for m in
                           [*extra, f"egress rule 1: ports [6443] are not in allowedPorts {ALLOWED}"])


def test_own_ports_of_several_blocks_are_those_they_share(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = _egress_config(privateCidrPorts={"192.168.10.10/32": [6443], "192.168.10.11/32": [6443, 8443]})

    def two_blocks(*ports: int) -> Any:
        def change(props: dict[str, Any]) -> None:
            _rule(props, 1)["to"].append({"ipBlock": {"cidr": "192.168.10.11/32"}})
            _rule(props, 1)["ports"] = _ports(*ports)
        return change

    assert _found(analyzer, dev, KUBE_API, two_blocks(6443), config=config) == []
    assert _found(analyzer, dev, KUBE_API, two_blocks(8443), config=config) == [
        f"{_np(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [8443]",
        f"{_np(KUBE_API)} egress rule 1: ports [8443] are not in allowedPorts {ALLOWED}"]


@pytest.mark.parametrize("cidr", ["192.168.10.10", "192.168.10.10/32"])
def test_a_block_is_matched_in_its_normal_form(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str) -> None:
    def change(props: dict[str, Any]) -> None:
        _rule(props, 1)["to"] = [{"ipBlock": {"cidr": cidr}}, {"ipBlock": {"cidr": "192.168.10.10/32"}}]

    assert _found(analyzer, dev, KUBE_API, change) == []


# --- public and non-public blocks ----------------------------------------------------------------------------------

STACK_EXCEPTS = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                 "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
                 "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"]


def _block(props: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = _rule(props)["to"][0]["ipBlock"]
    return block


def _missing(cidr: str, missing: str) -> str:
    return (f"{_np(PUBLIC)} egress rule 0 peer 0: ipBlock {cidr} reaches the public internet but does not except "
            f"{missing}: add them to `except` ({PUBLIC_RULE})")


def test_the_public_rule_excepts_exactly_this_list(dev: RunResult) -> None:
    # So the next test removes every entry the stack has, each on its own.
    rule = next(r for r in dev.resources if r.properties.get("kind") == "NetworkPolicy"
                and r.properties["metadata"]["name"] == PUBLIC)
    assert rule.properties["spec"]["egress"][0]["to"][0]["ipBlock"]["except"] == STACK_EXCEPTS


@pytest.mark.parametrize("block", STACK_EXCEPTS)
def test_each_missing_except(analyzer: PolicyAnalyzer, dev: RunResult, block: str) -> None:
    found = _found(analyzer, dev, PUBLIC, lambda p: _block(p)["except"].remove(block))
    assert found == [_missing("0.0.0.0/0", "224.0.0.0/4, 240.0.0.0/4" if block == "224.0.0.0/3" else block)]


def test_several_missing_excepts_in_one_message(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        for block in ("10.0.0.0/8", "169.254.0.0/16", "192.168.0.0/16"):
            _block(props)["except"].remove(block)

    assert _found(analyzer, dev, PUBLIC, change) == [
        _missing("0.0.0.0/0", "10.0.0.0/8, 169.254.0.0/16, 192.168.0.0/16")]


@pytest.mark.parametrize(("replacement", "missing"), [("10.0.0.0/9", "10.0.0.0/8"), ("10.0.0.0/7", None),
                                                      ("fc00::/7", "10.0.0.0/8")])
def test_an_except_must_cover_the_whole_block(analyzer: PolicyAnalyzer, dev: RunResult, replacement: str,
                                              missing: str | None) -> None:
    change = lambda p: _block(p)["except"].__setitem__(1, replacement)  # noqa: E731
    assert _found(analyzer, dev, PUBLIC, change) == ([] if missing is None else [_missing("0.0.0.0/0", missing)])


@pytest.mark.parametrize(("cidr", "excepts", "missing"), [
    ("10.0.0.0/7", [], "10.0.0.0/8"),                           # 11/8 is public: only the overlap is asked for
    ("8.0.0.0/7", [], None),                                    # public, and nothing non-public inside it
    ("8.8.8.8/32", [], None),
    ("2000::/3", [], "2001::/23, 2001:db8::/32"),
    ("2000::/3", ["2001::/23"], "2001:db8::/32"),
    ("2000::/3", ["2001::/23", "2001:db8::/32"], None),
    ("2000::/3", ["0.0.0.0/0", "2001::/16"], None),
    ("::/0", [], "::/128, ::1/128, ::ffff:0:0/96, 64:ff9b:1::/48, 100::/64, 2001::/23, 2001:db8::/32, fc00::/7, "
                 "fe80::/10, ff00::/8"),
])
def test_public_blocks_of_each_version(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str, excepts: list[str],
                                       missing: str | None) -> None:
    change = lambda p: _block(p).update({"cidr": cidr, "except": excepts})  # noqa: E731
    assert _found(analyzer, dev, PUBLIC, change) == ([] if missing is None else [_missing(cidr, missing)])


def test_configured_non_public_space(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The lists come from the config, each for its own version; an entry of the other version is left out."""
    config = _egress_config(nonPublicCidrs=["8.0.0.0/8", "fc00::/7"], nonPublicCidrsV6=["2001:db8::/32", "10.0.0.0/8"])
    v4 = lambda p: _block(p).update({"cidr": "0.0.0.0/0", "except": []})  # noqa: E731
    v6 = lambda p: _block(p).update({"cidr": "::/0", "except": []})  # noqa: E731
    assert _found(analyzer, dev, PUBLIC, v4, config=config) == [_missing("0.0.0.0/0", "8.0.0.0/8")]
    assert _found(analyzer, dev, PUBLIC, v6, config=config) == [_missing("::/0", "2001:db8::/32")]


def _not_listed(where: str, cidr: str) -> str:
    return (f"{where}: ipBlock {cidr} is a non-public destination that is not allow-listed: use a namespace/pod "
            "selector, or add it to allowedPrivateCidrs (now ['10.43.0.1/32']) or, with its ports, to "
            "privateCidrPorts (now {'192.168.10.10/32': [6443]})")


@pytest.mark.parametrize(("cidr", "listed"), [
    ("10.43.0.1/32", True), ("10.43.0.1", True), ("10.43.0.2/32", False), ("10.43.0.0/31", False),
    ("10.43.0.1/24", False), ("fd00::1/128", False), ("192.168.10.10/31", False)])
def test_non_public_blocks_must_be_listed(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str, listed: bool) -> None:
    import ipaddress
    found = _found(analyzer, dev, KUBE_API, lambda p: _rule(p)["to"][0]["ipBlock"].__setitem__("cidr", cidr))
    normal = str(ipaddress.ip_network(cidr, strict=False))
    assert found == ([] if listed else [_not_listed(f"{_np(KUBE_API)} egress rule 0 peer 0", normal)])


@pytest.mark.parametrize(("field", "value", "error"), [
    ("cidr", "banana", "'banana' does not appear to be an IPv4 or IPv6 network"),
    ("cidr", None, "'' does not appear to be an IPv4 or IPv6 network"),
    ("except", ["10.0.0.0/33"], "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"),
])
def test_an_invalid_block(analyzer: PolicyAnalyzer, dev: RunResult, field: str, value: Any, error: str) -> None:
    found = _found(analyzer, dev, PUBLIC, lambda p: _block(p).__setitem__(field, value))
    assert found == [f"{_np(PUBLIC)} egress rule 0 peer 0: invalid ipBlock ({error})"]


# --- namespace peers -----------------------------------------------------------------------------------------------

def _ns_peer(props: dict[str, Any]) -> dict[str, Any]:
    peer: dict[str, Any] = _rule(props)["to"][0]
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
    found = _found(analyzer, dev, name, lambda p: _rule(p).__setitem__("ports", _ports(*ports)))
    rule_level = [f"{_np(name)} egress rule 0: ports {[p for p in ports if p not in (53, 443, 5432)]} are not in "
                  f"allowedPorts {ALLOWED}"] if any(p not in (53, 443, 5432) for p in ports) else []
    assert found == sorted([*([] if expected is None else [f"{_np(name)} egress rule 0 peer 0: {expected}"]),
                            *rule_level])


def test_a_namespace_that_is_not_listed(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda p: _ns_peer(p)["namespaceSelector"]["matchLabels"].__setitem__(  # noqa: E731
        "kubernetes.io/metadata.name", "monitoring")
    assert _found(analyzer, dev, POSTGRES, change) == [
        f"{_np(POSTGRES)} egress rule 0 peer 0: egress to namespace 'monitoring' is not allow-listed "
        "(allowedNamespacePorts has ['infra-db', 'kube-system'])"]


@pytest.mark.parametrize("labels", [{}, {"team": "db"}, None])
def test_a_namespace_selector_must_name_one_namespace(analyzer: PolicyAnalyzer, dev: RunResult,
                                                      labels: dict[str, str] | None) -> None:
    change = lambda p: _ns_peer(p).__setitem__("namespaceSelector", {} if labels is None else  # noqa: E731
                                               {"matchLabels": labels})
    assert _found(analyzer, dev, POSTGRES, change) == [
        f"{_np(POSTGRES)} egress rule 0 peer 0: namespaceSelector does not name one namespace "
        "(matchLabels kubernetes.io/metadata.name): name it"]


def test_a_pod_selector_peer_is_left_to_the_other_rules(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert _found(analyzer, dev, DNS, lambda p: _ns_peer(p).pop("namespaceSelector")) == []


# --- unknowns ------------------------------------------------------------------------------------------------------

def _set(path: tuple[Any, ...]) -> Any:
    def apply(props: dict[str, Any]) -> None:
        node = props
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = UNKNOWN
    return apply


R0, R1 = ("spec", "egress", 0), ("spec", "egress", 1)
EGRESS_UNKNOWNS: list[tuple[str, str, tuple[Any, ...], list[tuple[str, str, str]]]] = [
    ("egress", KUBE_API, ("spec", "egress"), [("", "spec.egress", "its egress rules are what this policy judges")]),
    ("rule", KUBE_API, R0, [(" egress rule 0", "spec.egress[0]", "its peers and ports are what this policy judges")]),
    ("peers of an allowed port", KUBE_API, (*R0, "to"),
     [(" egress rule 0", "spec.egress[0].to", "the destinations it allows decide the verdict")]),
    ("peers of an own port", KUBE_API, (*R1, "to"),
     [(" egress rule 1", "spec.egress[1].to", "ports [6443] are allowed only to blocks listed in privateCidrPorts, "
                                              "and the peers decide it"),
      (" egress rule 1", "spec.egress[1].to", "the destinations it allows decide the verdict")]),
    ("peer", KUBE_API, (*R1, "to", 0),
     [(" egress rule 1", "spec.egress[1].to[0]", "ports [6443] are allowed only to blocks listed in "
                                                 "privateCidrPorts, and the peers decide it"),
      (" egress rule 1 peer 0", "spec.egress[1].to[0]", "what the peer allows decides the verdict")]),
    ("cidr of an allowed port", KUBE_API, (*R0, "to", 0, "ipBlock", "cidr"),
     [(" egress rule 0 peer 0", "spec.egress[0].to[0].ipBlock.cidr", "the destination it allows decides the verdict")]),
    ("cidr of an own port", KUBE_API, (*R1, "to", 0, "ipBlock", "cidr"),
     [(" egress rule 1", "spec.egress[1].to[0].ipBlock.cidr", "ports [6443] are allowed only to blocks listed in "
                                                              "privateCidrPorts, and the peers decide it"),
      (" egress rule 1 peer 0", "spec.egress[1].to[0].ipBlock.cidr",
       "the destination it allows decides the verdict")]),
    ("ports", KUBE_API, (*R0, "ports"),
     [(" egress rule 0", "spec.egress[0].ports", f"only allowedPorts {ALLOWED} may be opened")]),
    ("ports of an own-port block", KUBE_API, (*R1, "ports"),
     [(" egress rule 1", "spec.egress[1].ports", f"only allowedPorts {ALLOWED} may be opened"),
      (" egress rule 1 peer 0", "spec.egress[1].ports", "ipBlock 192.168.10.10/32 may only be reached on ports "
                                                        "[6443]")]),
    ("port", KUBE_API, (*R1, "ports", 0, "port"),
     [(" egress rule 1", "spec.egress[1].ports[0].port", f"only allowedPorts {ALLOWED} may be opened"),
      (" egress rule 1 peer 0", "spec.egress[1].ports[0].port", "ipBlock 192.168.10.10/32 may only be reached on "
                                                                "ports [6443]")]),
    ("namespace", POSTGRES, (*R0, "to", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"),
     [(" egress rule 0 peer 0", "spec.egress[0].to[0].namespaceSelector.matchLabels.kubernetes.io/metadata.name",
       "the namespace it opens decides the verdict")]),
    ("port to a namespace", POSTGRES, (*R0, "ports", 0, "port"),
     [(" egress rule 0", "spec.egress[0].ports[0].port", f"only allowedPorts {ALLOWED} may be opened"),
      (" egress rule 0 peer 0", "spec.egress[0].ports[0].port", "namespace 'infra-db' may only be reached on ports "
                                                                "[5432]")]),
    ("ports to a namespace", POSTGRES, (*R0, "ports"),
     [(" egress rule 0", "spec.egress[0].ports", f"only allowedPorts {ALLOWED} may be opened"),
      (" egress rule 0 peer 0", "spec.egress[0].ports", "namespace 'infra-db' may only be reached on ports [5432]")]),
]


@pytest.mark.parametrize(("name", "path", "expected"), [(n, p, e) for _, n, p, e in EGRESS_UNKNOWNS],
                         ids=[i for i, _, _, _ in EGRESS_UNKNOWNS])
def test_each_egress_unknown_that_decides(analyzer: PolicyAnalyzer, dev: RunResult, name: str,
                                          path: tuple[Any, ...], expected: list[tuple[str, str, str]]) -> None:
    assert _found(analyzer, dev, name, _set(path)) == sorted(
        _undecidable(f"{_np(name)}{where}", field, why) for where, field, why in expected)


def test_an_unknown_except_entry_decides_only_a_missing_block(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert _found(analyzer, dev, PUBLIC, lambda p: _block(p)["except"].append(UNKNOWN)) == []

    def missing(props: dict[str, Any]) -> None:
        _block(props)["except"].remove("10.0.0.0/8")
        _block(props)["except"].append(UNKNOWN)

    assert _found(analyzer, dev, PUBLIC, missing) == [_undecidable(
        f"{_np(PUBLIC)} egress rule 0 peer 0", "spec.egress[0].to[0].ipBlock.except[13]",
        "10.0.0.0/8 must be excepted, which only the unknown entries could do")]


# --- ingress -------------------------------------------------------------------------------------------------------

def _ingress(props: dict[str, Any], i: int = 0) -> dict[str, Any]:
    rule: dict[str, Any] = props["spec"]["ingress"][i]
    return rule


@pytest.mark.parametrize(("ports", "expected"), [
    ((18789,), None), ((18788,), "ports [18788] are not in allowedPorts [18789]"),
    ((18790,), "ports [18790] are not in allowedPorts [18789]"),
    ((18789, 22), "ports [18789, 22] are not in allowedPorts [18789]"),
    ((), "no `ports`, so every port is open: list the gateway port [18789]"),
])
def test_ingress_ports(analyzer: PolicyAnalyzer, dev: RunResult, ports: tuple[int, ...], expected: str | None) -> None:
    found = _found(analyzer, dev, GATEWAY, lambda p: _ingress(p).__setitem__("ports", _ports(*ports)), INGRESS)
    assert found == ([] if expected is None else [f"{_np(GATEWAY)} ingress rule 0: {expected}"])


def test_each_ingress_rule_on_its_own(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["ingress"].append({"from": [{"podSelector": {}}]})
        props["spec"]["ingress"].append({"ports": _ports(22)})

    assert _found(analyzer, dev, GATEWAY, change, INGRESS) == [
        f"{_np(GATEWAY)} ingress rule 1: no `ports`, so every port is open: list the gateway port [18789]",
        f"{_np(GATEWAY)} ingress rule 2: ports [22] are not in allowedPorts [18789]"]


def test_configured_ingress_ports(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = {INGRESS: {"enforcementLevel": "mandatory", "allowedPorts": [18789, 8080]}}
    change = lambda p: _ingress(p).__setitem__("ports", _ports(8080))  # noqa: E731
    assert _found(analyzer, dev, GATEWAY, change, INGRESS, config) == []
    assert _found(analyzer, dev, GATEWAY, lambda p: _ingress(p).pop("ports"), INGRESS, config) == [
        f"{_np(GATEWAY)} ingress rule 0: no `ports`, so every port is open: list the gateway port [18789, 8080]"]


INGRESS_UNKNOWNS: list[tuple[str, tuple[Any, ...], str, str, str]] = [
    ("ingress", ("spec", "ingress"), "", "spec.ingress", "its ingress rules are what this policy judges"),
    ("rule", ("spec", "ingress", 0), " ingress rule 0", "spec.ingress[0]", "its ports are what this policy judges"),
    ("ports", ("spec", "ingress", 0, "ports"), " ingress rule 0", "spec.ingress[0].ports",
     "only allowedPorts [18789] may be opened"),
    ("port", ("spec", "ingress", 0, "ports", 0, "port"), " ingress rule 0", "spec.ingress[0].ports[0].port",
     "only allowedPorts [18789] may be opened"),
]


@pytest.mark.parametrize(("path", "where", "field", "why"), [c[1:] for c in INGRESS_UNKNOWNS],
                         ids=[c[0] for c in INGRESS_UNKNOWNS])
def test_each_ingress_unknown_that_decides(analyzer: PolicyAnalyzer, dev: RunResult, path: tuple[Any, ...],
                                           where: str, field: str, why: str) -> None:
    assert _found(analyzer, dev, GATEWAY, _set(path), INGRESS) == [_undecidable(f"{_np(GATEWAY)}{where}", field, why)]


def test_an_unknown_port_next_to_a_wrong_one(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda p: _ingress(p).__setitem__("ports", [{"port": UNKNOWN}, {"port": 22}])  # noqa: E731
    assert _found(analyzer, dev, GATEWAY, change, INGRESS) == sorted([
        f"{_np(GATEWAY)} ingress rule 0: ports [22] are not in allowedPorts [18789]",
        _undecidable(f"{_np(GATEWAY)} ingress rule 0", "spec.ingress[0].ports[0].port",
                     "only allowedPorts [18789] may be opened")])


def test_the_defaults(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """With only a level configured, each default holds: the dev stack is written to them."""
    config = {EGRESS: "mandatory", INGRESS: "mandatory"}
    assert findings(analyzer, dev.resources, {EGRESS, INGRESS}, config) == []
    for port in (53, 443, 5432):
        assert _found(analyzer, dev, KUBE_API, lambda p, n=port: _rule(p).__setitem__("ports", _ports(n)),
                      config=config) == []
    assert _found(analyzer, dev, KUBE_API, lambda p: _rule(p).__setitem__("ports", _ports(5433)), config=config) == [
        f"{_np(KUBE_API)} egress rule 0: ports [5433] are not in allowedPorts {ALLOWED}"]
    assert _found(analyzer, dev, KUBE_API, lambda p: _rule(p)["to"][0]["ipBlock"].__setitem__("cidr", "10.43.0.2/32"),
                  config=config) == [_not_listed(f"{_np(KUBE_API)} egress rule 0 peer 0", "10.43.0.2/32")]
    assert _found(analyzer, dev, KUBE_API, lambda p: _rule(p, 1).__setitem__("ports", _ports(6444)),
                  config=config) == [
        f"{_np(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6444]",
        f"{_np(KUBE_API)} egress rule 1: ports [6444] are not in allowedPorts {ALLOWED}"]
    assert _found(analyzer, dev, DNS, lambda p: _rule(p).__setitem__("ports", _ports(5432)), config=config) == [
        f"{_np(DNS)} egress rule 0 peer 0: namespace 'kube-system' may only be reached on ports [53], rule allows "
        "[5432]"]
    assert _found(analyzer, dev, POSTGRES, lambda p: _rule(p).__setitem__("ports", _ports(53)), config=config) == [
        f"{_np(POSTGRES)} egress rule 0 peer 0: namespace 'infra-db' may only be reached on ports [5432], rule allows "
        "[53]"]
    assert _found(analyzer, dev, GATEWAY, lambda p: _ingress(p).__setitem__("ports", _ports(18790)), INGRESS,
                  config) == [f"{_np(GATEWAY)} ingress rule 0: ports [18790] are not in allowedPorts [18789]"]


# --- host bits -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("entry", "missing"), [
    ("10.0.0.0/8", None),                  # the stack's own entry
    ("10.0.0.1/8", None),                  # host bits set: the same network, 10.0.0.0/8
    ("10.255.255.255/8", None),
    ("10.0.0.0/9", "10.0.0.0/8"),          # too narrow, with and without host bits
    ("10.0.0.1/9", "10.0.0.0/8"),
    ("10.128.0.1/9", "10.0.0.0/8"),
])
def test_an_except_entry_is_the_network_it_names(analyzer: PolicyAnalyzer, dev: RunResult, entry: str,
                                                missing: str | None) -> None:
    found = _found(analyzer, dev, PUBLIC, lambda p: _block(p)["except"].__setitem__(1, entry))
    assert found == ([] if missing is None else [_missing("0.0.0.0/0", missing)])


@pytest.mark.parametrize(("excepts", "missing"), [
    (["2001::/23", "2001:db8::/32"], None),
    (["2001::1/23", "2001:db8::1/32"], None),            # host bits in each entry
    (["2001::1/23"], "2001:db8::/32"),
    (["2001:db8::1/32"], "2001::/23"),
    (["2001::1/24", "2001:db8::1/33"], "2001::/23, 2001:db8::/32"),
])
def test_an_ipv6_except_entry_is_the_network_it_names(analyzer: PolicyAnalyzer, dev: RunResult,
                                                      excepts: list[str], missing: str | None) -> None:
    found = _found(analyzer, dev, PUBLIC, lambda p: _block(p).update({"cidr": "2000::/3", "except": excepts}))
    assert found == ([] if missing is None else [_missing("2000::/3", missing)])


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "0.0.0.1/0", "8.8.8.8/0"])
def test_a_public_cidr_is_the_network_it_names(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str) -> None:
    assert _found(analyzer, dev, PUBLIC, lambda p: _block(p).__setitem__("cidr", cidr)) == []

    def without_ten(props: dict[str, Any]) -> None:
        _block(props)["cidr"] = cidr
        _block(props)["except"].remove("10.0.0.0/8")

    assert _found(analyzer, dev, PUBLIC, without_ten) == [_missing("0.0.0.0/0", "10.0.0.0/8")]


@pytest.mark.parametrize("cidr", ["10.0.0.0/7", "10.1.2.3/7", "11.255.255.255/7"])
def test_a_partly_public_cidr_with_host_bits(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str) -> None:
    found = _found(analyzer, dev, PUBLIC, lambda p: _block(p).update({"cidr": cidr, "except": []}))
    assert found == [_missing("10.0.0.0/7", "10.0.0.0/8")]
    excepted = lambda p: _block(p).update({"cidr": cidr, "except": ["10.9.9.9/8"]})  # noqa: E731
    assert _found(analyzer, dev, PUBLIC, excepted) == []


OWN_BLOCK = {"192.168.10.0/24": [6443]}


@pytest.mark.parametrize("cidr", ["192.168.10.0/24", "192.168.10.10/24"])
def test_a_block_with_its_own_ports_written_with_host_bits(analyzer: PolicyAnalyzer, dev: RunResult,
                                                           cidr: str) -> None:
    """privateCidrPorts lists 192.168.10.0/24; a rule's block written as 192.168.10.10/24 is that block, on 6443
    only (not in allowedPorts), both for the rule's ports and for the peer's."""
    config = _egress_config(privateCidrPorts=OWN_BLOCK)

    def to_block(*ports: int) -> Any:
        def change(props: dict[str, Any]) -> None:
            _rule(props, 1)["to"] = [{"ipBlock": {"cidr": cidr}}]
            _rule(props, 1)["ports"] = _ports(*ports)
        return change

    assert _found(analyzer, dev, KUBE_API, to_block(6443), config=config) == []
    assert _found(analyzer, dev, KUBE_API, to_block(6444), config=config) == [
        f"{_np(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.0/24 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6444]",
        f"{_np(KUBE_API)} egress rule 1: ports [6444] are not in allowedPorts {ALLOWED}"]


# --- an unknown except entry ---------------------------------------------------------------------------------------

def test_an_unknown_except_entry_with_several_blocks_missing(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def missing(*blocks: str) -> Any:
        def change(props: dict[str, Any]) -> None:
            for block in blocks:
                _block(props)["except"].remove(block)
            _block(props)["except"].append(UNKNOWN)
        return change

    assert _found(analyzer, dev, PUBLIC, missing("10.0.0.0/8", "192.168.0.0/16")) == [_undecidable(
        f"{_np(PUBLIC)} egress rule 0 peer 0", "spec.egress[0].to[0].ipBlock.except[12]",
        "10.0.0.0/8, 192.168.0.0/16 must be excepted, which only the unknown entries could do")]
    assert _found(analyzer, dev, PUBLIC, missing("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3")) == [_undecidable(
        f"{_np(PUBLIC)} egress rule 0 peer 0", "spec.egress[0].to[0].ipBlock.except[11]",
        "0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4, 240.0.0.0/4 must be excepted, which only the unknown entries could do")]


# --- an unknown rule, then a wrong one -----------------------------------------------------------------------------

def test_an_egress_rule_after_an_unknown_one_is_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["egress"][0] = UNKNOWN
        _rule(props, 1)["ports"] = _ports(6444)

    assert _found(analyzer, dev, KUBE_API, change) == sorted([
        _undecidable(f"{_np(KUBE_API)} egress rule 0", "spec.egress[0]", "its peers and ports are what this policy "
                     "judges"),
        f"{_np(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.10/32 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6444]",
        f"{_np(KUBE_API)} egress rule 1: ports [6444] are not in allowedPorts {ALLOWED}"])


def test_an_ingress_rule_after_an_unknown_one_is_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["ingress"].append({"ports": _ports(22)})
        props["spec"]["ingress"][0] = UNKNOWN

    assert _found(analyzer, dev, GATEWAY, change, INGRESS) == sorted([
        _undecidable(f"{_np(GATEWAY)} ingress rule 0", "spec.ingress[0]", "its ports are what this policy judges"),
        f"{_np(GATEWAY)} ingress rule 1: ports [22] are not in allowedPorts [18789]"])
    # the rule on its own, known: the same finding
    assert _found(analyzer, dev, GATEWAY, lambda p: _ingress(p).__setitem__("ports", _ports(22)), INGRESS) == [
        f"{_np(GATEWAY)} ingress rule 0: ports [22] are not in allowedPorts [18789]"]
