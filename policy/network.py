"""Network policies: restricted egress, restricted ingress (the default deny: default_deny.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from k8s import (
    MANDATORY,
    NETWORK_POLICY,
    NS_NAME_LABEL,
    Field,
    PortRange,
    describe,
    ints,
    rule_ports,
    schema,
    undecidable,
)
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

# IANA special-purpose IPv4 blocks that are not the public internet (RFC 6890 and successors).
# A configurable default; tests check each entry against Python's ipaddress.
DEFAULT_NON_PUBLIC = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                      "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
                      "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"]
DEFAULT_NON_PUBLIC_V6 = ["::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
                         "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8"]



def _covered(block: str, excepts: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    net = ipaddress.ip_network(block)
    return any(net.version == e.version and net.subnet_of(e) for e in excepts)  # type: ignore[arg-type]


def _private_ports(cidr: str, cfg: Mapping[str, Any]) -> list[int] | None:
    """The ports a non-public block may be reached on when privateCidrPorts lists it (None: not listed).
    An API server endpoint is a node address: its port only, never the node's other ports (10250)."""
    listed = cfg["privateCidrPorts"].get(cidr)
    return None if listed is None else ints(listed)


def _listed_ports(cfg: Mapping[str, Any]) -> dict[str, list[int]]:
    """privateCidrPorts as the user wrote it: config numbers arrive as doubles (6443.0)."""
    return {cidr: ints(ports) for cidr, ports in cfg["privateCidrPorts"].items()}


def _check_ip_block(where: str, block: Field, cfg: Mapping[str, Any], report: ReportViolation,
                    numbers: list[PortRange], unknown_ports: list[Field]) -> None:
    cidr_field = block["cidr"]
    if cidr_field.unknown:
        undecidable(report, where, cidr_field, "the destination it allows decides the verdict")
        return
    except_values, except_unknown = block["except"].strings()
    try:
        cidr = ipaddress.ip_network(cidr_field.text() or "", strict=False)
        excepts = [ipaddress.ip_network(e, strict=False) for e in except_values]
    except ValueError as exc:
        report(f"{where}: invalid ipBlock ({exc})", None)
        return
    non_public = [b for b in cfg["nonPublicCidrs" if cidr.version == 4 else "nonPublicCidrsV6"]
                  if ipaddress.ip_network(b).version == cidr.version]
    if not _covered(str(cidr), [ipaddress.ip_network(b) for b in non_public]):
        # Some of the block is public internet: all non-public space inside it must be excepted.
        missing = [b for b in non_public
                   if ipaddress.ip_network(b).overlaps(cidr)
                   and not _covered(b, excepts)]
        if missing and except_unknown:
            undecidable(report, where, except_unknown[0],
                        f"{', '.join(missing)} must be excepted, which only the unknown entries could do")
        elif missing:
            report(f"{where}: ipBlock {cidr} reaches the public internet but does not except "
                   f"{', '.join(missing)}: add them to `except` (private, link-local/metadata, CGNAT, loopback "
                   "and reserved space must never be reachable through a public rule)", None)
    elif (ports := _private_ports(str(cidr), cfg)) is not None:
        bad = [p for p in numbers if not p.within(ports)]
        if bad or not (numbers or unknown_ports):
            report(f"{where}: ipBlock {cidr} may only be reached on ports {ports} (privateCidrPorts), rule allows "
                   f"{bad or 'every port'}", None)
        for port in unknown_ports:
            undecidable(report, where, port, f"ipBlock {cidr} may only be reached on ports {ports}")
    elif str(cidr) not in cfg["allowedPrivateCidrs"]:
        report(f"{where}: ipBlock {cidr} is a non-public destination that is not allow-listed: use a "
               f"namespace/pod selector, or add it to allowedPrivateCidrs (now {cfg['allowedPrivateCidrs']}) or, "
               f"with its ports, to privateCidrPorts (now {_listed_ports(cfg)})", None)


def _egress_peer(where: str, peer: Field, numbers: list[PortRange], unknown_ports: list[Field],
                 cfg: Mapping[str, Any], report: ReportViolation) -> None:
    if peer.unknown:
        undecidable(report, where, peer, "what the peer allows decides the verdict")
        return
    if peer.has("ipBlock"):
        _check_ip_block(where, peer["ipBlock"], cfg, report, numbers, unknown_ports)
        return
    if not peer.has("namespaceSelector"):
        return
    ns_field = peer["namespaceSelector"]["matchLabels"][NS_NAME_LABEL]
    if ns_field.unknown:
        undecidable(report, where, ns_field, "the namespace it opens decides the verdict")
        return
    ns = ns_field.text()
    if ns is None:
        report(f"{where}: namespaceSelector does not name one namespace "
               f"(matchLabels {NS_NAME_LABEL}): name it", None)
        return
    listed = cfg["allowedNamespacePorts"].get(ns)
    if listed is None:
        report(f"{where}: egress to namespace '{ns}' is not allow-listed "
               f"(allowedNamespacePorts has {sorted(cfg['allowedNamespacePorts'])})", None)
        return
    allowed = ints(listed)
    if any(not p.within(allowed) for p in numbers) or not (numbers or unknown_ports):
        report(f"{where}: namespace '{ns}' may only be reached on ports {allowed}, "
               f"rule allows {numbers or 'every port'}", None)
    for port in unknown_ports:
        undecidable(report, where, port, f"namespace '{ns}' may only be reached on ports {allowed}")


def _egress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NETWORK_POLICY:
        return
    cfg = args.get_config()
    name = describe(args.resource_type, args.props)
    rules = Field.root(args.props).at("spec", "egress")
    if rules.unknown:
        undecidable(report, name, rules, "its egress rules are what this policy judges")
        return
    allowed_ports = ints(cfg["allowedPorts"])
    for i, rule in enumerate(rules.items()):
        where = f"{name} egress rule {i}"
        if rule.unknown:
            undecidable(report, where, rule, "its peers and ports are what this policy judges")
            continue
        peers, ports = rule["to"], rule["ports"]
        if not peers.unknown and not peers.value:
            report(f"{where}: no `to` peers, so it allows every destination: name the peers", None)
        if not ports.unknown and not ports.value:
            report(f"{where}: no `ports`, so it allows every port: list the ports", None)
        numbers, unknown_ports = rule_ports(ports)
        # A rule whose every peer is a block with its own port list is judged by that list instead.
        own, own_unknown = _own_ports(peers, cfg)
        bad = [p for p in numbers if not p.within([*allowed_ports, *(own or [])])]
        if bad and own_unknown is not None:
            undecidable(report, where, own_unknown, f"ports {bad} are allowed only to blocks listed in "
                        "privateCidrPorts, and the peers decide it")
        elif bad:
            report(f"{where}: ports {bad} are not in allowedPorts {allowed_ports}", None)
        for port in unknown_ports:
            undecidable(report, where, port, f"only allowedPorts {allowed_ports} may be opened")
        if peers.unknown:
            undecidable(report, where, peers, "the destinations it allows decide the verdict")
        for j, peer in enumerate(peers.items()):
            _egress_peer(f"{where} peer {j}", peer, numbers, unknown_ports, cfg, report)


def _own_ports(peers: Field, cfg: Mapping[str, Any]) -> tuple[list[int] | None, Field | None]:
    """The ports every peer of a rule allows through privateCidrPorts (None: some peer is not listed),
    or the unknown field that decides it."""
    if peers.unknown:
        return None, peers
    common: set[int] | None = None
    for peer in peers.items():
        cidr = peer if peer.unknown else peer.at("ipBlock", "cidr")
        if cidr.unknown:
            return None, cidr
        if not cidr.present() or peer.has("namespaceSelector") or peer.has("podSelector"):
            return None, None
        try:
            listed = _private_ports(str(ipaddress.ip_network(cidr.text() or "", strict=False)), cfg)
        except ValueError:
            return None, None
        if listed is None:
            return None, None
        common = set(listed) if common is None else common & set(listed)
    return (None if common is None else sorted(common)), None


egress_restricted = ResourceValidationPolicy(
    name="egress-restricted",
    description="Egress rules name their peers and ports; public ipBlocks except all non-public space.",
    enforcement_level=MANDATORY,
    config_schema=schema({
        "allowedPorts": {"type": "array", "items": {"type": "integer"}, "default": [53, 443, 5432]},
        "allowedPrivateCidrs": {"type": "array", "items": {"type": "string"}, "default": ["10.43.0.1/32"]},
        # Non-public blocks reachable on their own ports only (not allowedPorts): the API server's
        # endpoints, which kube-router judges after DNAT. Default: the dev k3s server (FACTS.md).
        "privateCidrPorts": {"type": "object", "additionalProperties": {"type": "array",
                                                                      "items": {"type": "integer"}},
                             "default": {"192.168.10.10/32": [6443]}},
        "allowedNamespacePorts": {"type": "object", "additionalProperties": {"type": "array",
                                                                           "items": {"type": "integer"}},
                                  "default": {"kube-system": [53], "infra-db": [5432]}},
        "nonPublicCidrs": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_NON_PUBLIC},
        "nonPublicCidrsV6": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_NON_PUBLIC_V6},
    }),
    validate=_egress,
)


def _ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NETWORK_POLICY:
        return
    allowed = ints(args.get_config()["allowedPorts"])
    name = describe(args.resource_type, args.props)
    rules = Field.root(args.props).at("spec", "ingress")
    if rules.unknown:
        undecidable(report, name, rules, "its ingress rules are what this policy judges")
        return
    for i, rule in enumerate(rules.items()):
        where = f"{name} ingress rule {i}"
        if rule.unknown:
            undecidable(report, where, rule, "its ports are what this policy judges")
            continue
        ports, unknown_ports = rule_ports(rule["ports"])
        if not ports and not unknown_ports:
            report(f"{where}: no `ports`, so every port is open: list the gateway port {allowed}", None)
        elif any(not p.within(allowed) for p in ports):
            report(f"{where}: ports {ports} are not in allowedPorts {allowed}", None)
        for port in unknown_ports:
            undecidable(report, where, port, f"only allowedPorts {allowed} may be opened")


ingress_restricted = ResourceValidationPolicy(
    name="ingress-restricted",
    description="Ingress rules name their ports, and only the gateway port.",
    enforcement_level=MANDATORY,
    config_schema=schema({"allowedPorts": {"type": "array", "items": {"type": "integer"}, "default": [18789]}}),
    validate=_ingress,
)

POLICIES = [egress_restricted, ingress_restricted]
