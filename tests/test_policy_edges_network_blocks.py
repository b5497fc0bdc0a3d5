"""The network policies' ipBlocks at their edges, in both shapes: each non-public block missing from a public
rule's `except` on its own (IPv4 and IPv6), non-public blocks that must be listed, invalid blocks, blocks written
with host bits set (a cidr, an `except` entry, a privateCidrPorts block: each judged as the network it names, as
the API server stores it), and an unknown `except` entry with several blocks missing."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import undecidable_at
from tests.policy_edges_network import (
    ALLOWED,
    KUBE_API,
    PUBLIC,
    STACK_EXCEPTS,
    block_of,
    egress_config,
    missing_msg,
    netpol,
    not_listed,
    rule_of,
    tcp,
    verdicts,
)

# --- public and non-public blocks ----------------------------------------------------------------------------------

def test_the_public_rule_excepts_exactly_this_list(dev: RunResult) -> None:
    # So the next test removes every entry the stack has, each on its own.
    rule = next(r for r in dev.resources if r.properties.get("kind") == "NetworkPolicy"
                and r.properties["metadata"]["name"] == PUBLIC)
    assert rule.properties["spec"]["egress"][0]["to"][0]["ipBlock"]["except"] == STACK_EXCEPTS


@pytest.mark.parametrize("block", STACK_EXCEPTS)
def test_each_missing_except(analyzer: PolicyAnalyzer, dev: RunResult, block: str) -> None:
    found = verdicts(analyzer, dev, PUBLIC, lambda p: block_of(p)["except"].remove(block))
    assert found == [missing_msg("0.0.0.0/0", "224.0.0.0/4, 240.0.0.0/4" if block == "224.0.0.0/3" else block)]


def test_several_missing_excepts_in_one_message(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        for block in ("10.0.0.0/8", "169.254.0.0/16", "192.168.0.0/16"):
            block_of(props)["except"].remove(block)

    assert verdicts(analyzer, dev, PUBLIC, change) == [
        missing_msg("0.0.0.0/0", "10.0.0.0/8, 169.254.0.0/16, 192.168.0.0/16")]


@pytest.mark.parametrize(("replacement", "missing"), [("10.0.0.0/9", "10.0.0.0/8"), ("10.0.0.0/7", None),
                                                      ("fc00::/7", "10.0.0.0/8")])
def test_an_except_must_cover_the_whole_block(analyzer: PolicyAnalyzer, dev: RunResult, replacement: str,
                                              missing: str | None) -> None:
    change = lambda p: block_of(p)["except"].__setitem__(1, replacement)  # noqa: E731
    assert verdicts(analyzer, dev, PUBLIC, change) == ([] if missing is None else [missing_msg("0.0.0.0/0", missing)])


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
    change = lambda p: block_of(p).update({"cidr": cidr, "except": excepts})  # noqa: E731
    assert verdicts(analyzer, dev, PUBLIC, change) == ([] if missing is None else [missing_msg(cidr, missing)])


def test_configured_non_public_space(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The lists come from the config, each for its own version; an entry of the other version is left out."""
    config = egress_config(nonPublicCidrs=["8.0.0.0/8", "fc00::/7"], nonPublicCidrsV6=["2001:db8::/32", "10.0.0.0/8"])
    v4 = lambda p: block_of(p).update({"cidr": "0.0.0.0/0", "except": []})  # noqa: E731
    v6 = lambda p: block_of(p).update({"cidr": "::/0", "except": []})  # noqa: E731
    assert verdicts(analyzer, dev, PUBLIC, v4, config=config) == [missing_msg("0.0.0.0/0", "8.0.0.0/8")]
    assert verdicts(analyzer, dev, PUBLIC, v6, config=config) == [missing_msg("::/0", "2001:db8::/32")]


@pytest.mark.parametrize(("cidr", "listed"), [
    ("10.43.0.1/32", True), ("10.43.0.1", True), ("10.43.0.2/32", False), ("10.43.0.0/31", False),
    ("10.43.0.1/24", False), ("fd00::1/128", False), ("192.168.10.10/31", False)])
def test_non_public_blocks_must_be_listed(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str, listed: bool) -> None:
    import ipaddress
    found = verdicts(analyzer, dev, KUBE_API, lambda p: rule_of(p)["to"][0]["ipBlock"].__setitem__("cidr", cidr))
    normal = str(ipaddress.ip_network(cidr, strict=False))
    assert found == ([] if listed else [not_listed(f"{netpol(KUBE_API)} egress rule 0 peer 0", normal)])


@pytest.mark.parametrize(("field", "value", "error"), [
    ("cidr", "banana", "'banana' does not appear to be an IPv4 or IPv6 network"),
    ("cidr", None, "'' does not appear to be an IPv4 or IPv6 network"),
    ("except", ["10.0.0.0/33"], "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"),
])
def test_an_invalid_block(analyzer: PolicyAnalyzer, dev: RunResult, field: str, value: Any, error: str) -> None:
    found = verdicts(analyzer, dev, PUBLIC, lambda p: block_of(p).__setitem__(field, value))
    assert found == [f"{netpol(PUBLIC)} egress rule 0 peer 0: invalid ipBlock ({error})"]


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
    found = verdicts(analyzer, dev, PUBLIC, lambda p: block_of(p)["except"].__setitem__(1, entry))
    assert found == ([] if missing is None else [missing_msg("0.0.0.0/0", missing)])


@pytest.mark.parametrize(("excepts", "missing"), [
    (["2001::/23", "2001:db8::/32"], None),
    (["2001::1/23", "2001:db8::1/32"], None),            # host bits in each entry
    (["2001::1/23"], "2001:db8::/32"),
    (["2001:db8::1/32"], "2001::/23"),
    (["2001::1/24", "2001:db8::1/33"], "2001::/23, 2001:db8::/32"),
])
def test_an_ipv6_except_entry_is_the_network_it_names(analyzer: PolicyAnalyzer, dev: RunResult,
                                                      excepts: list[str], missing: str | None) -> None:
    found = verdicts(analyzer, dev, PUBLIC, lambda p: block_of(p).update({"cidr": "2000::/3", "except": excepts}))
    assert found == ([] if missing is None else [missing_msg("2000::/3", missing)])


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "0.0.0.1/0", "8.8.8.8/0"])
def test_a_public_cidr_is_the_network_it_names(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str) -> None:
    assert verdicts(analyzer, dev, PUBLIC, lambda p: block_of(p).__setitem__("cidr", cidr)) == []

    def without_ten(props: dict[str, Any]) -> None:
        block_of(props)["cidr"] = cidr
        block_of(props)["except"].remove("10.0.0.0/8")

    assert verdicts(analyzer, dev, PUBLIC, without_ten) == [missing_msg("0.0.0.0/0", "10.0.0.0/8")]


@pytest.mark.parametrize("cidr", ["10.0.0.0/7", "10.1.2.3/7", "11.255.255.255/7"])
def test_a_partly_public_cidr_with_host_bits(analyzer: PolicyAnalyzer, dev: RunResult, cidr: str) -> None:
    found = verdicts(analyzer, dev, PUBLIC, lambda p: block_of(p).update({"cidr": cidr, "except": []}))
    assert found == [missing_msg("10.0.0.0/7", "10.0.0.0/8")]
    excepted = lambda p: block_of(p).update({"cidr": cidr, "except": ["10.9.9.9/8"]})  # noqa: E731
    assert verdicts(analyzer, dev, PUBLIC, excepted) == []


OWN_BLOCK = {"192.168.10.0/24": [6443]}


@pytest.mark.parametrize("cidr", ["192.168.10.0/24", "192.168.10.10/24"])
def test_a_block_with_its_own_ports_written_with_host_bits(analyzer: PolicyAnalyzer, dev: RunResult,
                                                           cidr: str) -> None:
    """privateCidrPorts lists 192.168.10.0/24; a rule's block written as 192.168.10.10/24 is that block, on 6443
    only (not in allowedPorts), both for the rule's ports and for the peer's."""
    config = egress_config(privateCidrPorts=OWN_BLOCK)

    def to_block(*ports: int) -> Any:
        def change(props: dict[str, Any]) -> None:
            rule_of(props, 1)["to"] = [{"ipBlock": {"cidr": cidr}}]
            rule_of(props, 1)["ports"] = tcp(*ports)
        return change

    assert verdicts(analyzer, dev, KUBE_API, to_block(6443), config=config) == []
    assert verdicts(analyzer, dev, KUBE_API, to_block(6444), config=config) == [
        f"{netpol(KUBE_API)} egress rule 1 peer 0: ipBlock 192.168.10.0/24 may only be reached on ports [6443] "
        "(privateCidrPorts), rule allows [6444]",
        f"{netpol(KUBE_API)} egress rule 1: ports [6444] are not in allowedPorts {ALLOWED}"]


# --- an unknown except entry ---------------------------------------------------------------------------------------

def test_an_unknown_except_entry_with_several_blocks_missing(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def missing(*blocks: str) -> Any:
        def change(props: dict[str, Any]) -> None:
            for block in blocks:
                block_of(props)["except"].remove(block)
            block_of(props)["except"].append(UNKNOWN)
        return change

    assert verdicts(analyzer, dev, PUBLIC, missing("10.0.0.0/8", "192.168.0.0/16")) == [undecidable_at(
        f"{netpol(PUBLIC)} egress rule 0 peer 0", "spec.egress[0].to[0].ipBlock.except[12]",
        "10.0.0.0/8, 192.168.0.0/16 must be excepted, which only the unknown entries could do")]
    assert verdicts(analyzer, dev, PUBLIC, missing("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3")) == [undecidable_at(
        f"{netpol(PUBLIC)} egress rule 0 peer 0", "spec.egress[0].to[0].ipBlock.except[11]",
        "0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4, 240.0.0.0/4 must be excepted, which only the unknown entries could do")]
