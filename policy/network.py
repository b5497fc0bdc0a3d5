"""Network policies: default deny per namespace, restricted egress, restricted ingress."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from k8s import MANDATORY, NETWORK_POLICY, NS_NAME_LABEL, WORKLOAD_TYPES, ints, name_of, plain, port_number, schema
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

# IANA special-purpose IPv4 blocks that are not the public internet (RFC 6890 and successors).
# A configurable default; tests check each entry against Python's ipaddress.
DEFAULT_NON_PUBLIC = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                      "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
                      "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"]
DEFAULT_NON_PUBLIC_V6 = ["::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
                         "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8"]


def _is_empty_selector(selector: Any) -> bool:
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))


def _default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    workload_namespaces: dict[str, str] = {}
    for r in args.resources:
        if r.resource_type in WORKLOAD_TYPES:
            ns = (r.props.get("metadata") or {}).get("namespace") or "default"
            workload_namespaces.setdefault(ns, r.urn)
    for ns, urn in sorted(workload_namespaces.items()):
        found = False
        for r in args.resources:
            if r.resource_type != NETWORK_POLICY:
                continue
            props = plain(r.props)
            spec = props.get("spec") or {}
            if ((props.get("metadata") or {}).get("namespace") == ns and _is_empty_selector(spec.get("podSelector"))
                    and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
                    and not spec.get("ingress") and not spec.get("egress")):
                found = True
        if not found:
            report(f"namespace '{ns}' runs workloads but has no default-deny NetworkPolicy: add one with "
                   "podSelector: {}, policyTypes: [Ingress, Egress] and no rules", urn)


namespace_default_deny = StackValidationPolicy(
    name="namespace-default-deny",
    description="Every namespace with workloads has a NetworkPolicy that denies all ingress and egress by default.",
    enforcement_level=MANDATORY,
    validate=_default_deny,
)


def _covered(block: str, excepts: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    net = ipaddress.ip_network(block)
    return any(net.version == e.version and net.subnet_of(e) for e in excepts)  # type: ignore[arg-type]


def _check_ip_block(where: str, block: Mapping[str, Any], cfg: Mapping[str, Any], report: ReportViolation) -> None:
    try:
        cidr = ipaddress.ip_network(block.get("cidr", ""), strict=False)
        excepts = [ipaddress.ip_network(e, strict=False) for e in block.get("except") or []]
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
        if missing:
            report(f"{where}: ipBlock {cidr} reaches the public internet but does not except "
                   f"{', '.join(missing)}: add them to `except` (private, link-local/metadata, CGNAT, loopback "
                   "and reserved space must never be reachable through a public rule)", None)
    elif str(cidr) not in cfg["allowedPrivateCidrs"]:
        report(f"{where}: ipBlock {cidr} is a non-public destination that is not allow-listed: use a "
               f"namespace/pod selector, or add it to allowedPrivateCidrs (now {cfg['allowedPrivateCidrs']})", None)


def _egress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NETWORK_POLICY:
        return
    cfg = args.get_config()
    props = plain(args.props)
    name = name_of(props)
    for i, rule in enumerate((props.get("spec") or {}).get("egress") or []):
        where = f"NetworkPolicy {name} egress rule {i}"
        peers, ports = rule.get("to") or [], rule.get("ports") or []
        if not peers:
            report(f"{where}: no `to` peers, so it allows every destination: name the peers", None)
        if not ports:
            report(f"{where}: no `ports`, so it allows every port: list the ports", None)
        numbers = [port_number(p.get("port")) for p in ports]
        allowed_ports = ints(cfg["allowedPorts"])
        bad = [p for p in numbers if p not in allowed_ports]
        if bad:
            report(f"{where}: ports {bad} are not in allowedPorts {allowed_ports}", None)
        for j, peer in enumerate(peers):
            peer_where = f"{where} peer {j}"
            if "ipBlock" in peer:
                _check_ip_block(peer_where, peer["ipBlock"], cfg, report)
                continue
            if "namespaceSelector" in peer:
                ns = ((peer["namespaceSelector"] or {}).get("matchLabels") or {}).get(NS_NAME_LABEL)
                if ns is None:
                    report(f"{peer_where}: namespaceSelector does not name one namespace "
                           f"(matchLabels {NS_NAME_LABEL}): name it", None)
                    continue
                allowed = cfg["allowedNamespacePorts"].get(ns)
                allowed = None if allowed is None else ints(allowed)
                if allowed is None:
                    report(f"{peer_where}: egress to namespace '{ns}' is not allow-listed "
                           f"(allowedNamespacePorts has {sorted(cfg['allowedNamespacePorts'])})", None)
                elif any(p not in allowed for p in numbers) or not numbers:
                    report(f"{peer_where}: namespace '{ns}' may only be reached on ports {allowed}, "
                           f"rule allows {numbers or 'every port'}", None)


egress_restricted = ResourceValidationPolicy(
    name="egress-restricted",
    description="Egress rules name their peers and ports; public ipBlocks except all non-public space.",
    enforcement_level=MANDATORY,
    config_schema=schema({
        "allowedPorts": {"type": "array", "items": {"type": "integer"}, "default": [53, 443, 5432]},
        "allowedPrivateCidrs": {"type": "array", "items": {"type": "string"}, "default": ["10.43.0.1/32"]},
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
    props = plain(args.props)
    for i, rule in enumerate((props.get("spec") or {}).get("ingress") or []):
        where = f"NetworkPolicy {name_of(props)} ingress rule {i}"
        ports = [port_number(p.get("port")) for p in rule.get("ports") or []]
        if not ports:
            report(f"{where}: no `ports`, so every port is open: list the gateway port {allowed}", None)
        elif any(p not in allowed for p in ports):
            report(f"{where}: ports {ports} are not in allowedPorts {allowed}", None)


ingress_restricted = ResourceValidationPolicy(
    name="ingress-restricted",
    description="Ingress rules name their ports, and only the gateway port.",
    enforcement_level=MANDATORY,
    config_schema=schema({"allowedPorts": {"type": "array", "items": {"type": "integer"}, "default": [18789]}}),
    validate=_ingress,
)

POLICIES = [namespace_default_deny, egress_restricted, ingress_restricted]
