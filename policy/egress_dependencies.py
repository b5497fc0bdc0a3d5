"""egress-covers-dependencies: every endpoint the configuration declares is reachable through the
egress policies that select the gateway pod (one dependency list, rendered by
components/dependencies.py, read here and by the preflight init container).

At preview it reads only the objects and fields it needs; an unknown it needs is reported as
undecidable (see README)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from cross_resource import Gateway, gateways
from k8s import CONFIG_MAP, MANDATORY, NETWORK_POLICY, NS_NAME_LABEL, Field, rule_ports, undecidable
from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy

Tri = bool | None  # None: unknown at preview

DEPENDENCIES_KEY = "dependencies.json"  # rendered by components/dependencies.py; the preflight reads it too


@dataclass(frozen=True)
class _Target:
    """One destination the egress policies must allow: what to call it, where, and why."""

    what: str
    host: str
    port: int
    post_dnat_of: str | None = None  # the Service address this endpoint is translated from
    key: str | None = None  # the config key that lists the endpoints


def _targets(dep: Any) -> list[_Target]:
    """A dependency's destinations. A Service address with `endpoints` (the Kubernetes API) is judged
    both ways: at each endpoint, as a filter after kube-proxy's DNAT sees it (k3s: kube-router, whose
    FORWARD-chain rules see the translated destination; k3s-io/k3s#10342), and at the Service
    address, for CNIs that judge before DNAT."""
    name, host, port = str(dep["name"]), str(dep["host"]), int(dep["port"])
    targets = [_Target(name, host, port)]
    endpoints = dep.get("endpoints")
    if endpoints is None:
        return targets
    if not isinstance(endpoints, list) or not endpoints:
        raise TypeError("endpoints must be a non-empty list")
    key = str(dep.get("endpointsKey") or "the dependency's endpoints")
    for ep in endpoints:
        ep_host, ep_port = str(ep["host"]), int(ep["port"])
        targets.append(_Target(f"{name} endpoint {ep_host}:{ep_port} (after DNAT)", ep_host, ep_port,
                               post_dnat_of=f"{host}:{port}", key=key))
    return targets


def _dependencies(args: StackValidationArgs, gw: Gateway, report: ReportViolation,
                  why: str) -> list[_Target] | None:
    """Every destination the configuration declares (_targets): from the dependency list the
    program rendered into a ConfigMap the workload mounts (the preflight init container checks the
    same file at pod start). None: the workload mounts no such list. An unknown that decides which
    list it is, or what it holds, is reported as undecidable (and [] returned)."""
    volumes = gw.spec["volumes"]
    if volumes.unknown:
        undecidable(report, gw.where, volumes, why, gw.urn)
        return []
    mounted: set[str] = set()
    for volume in volumes.items():
        name = volume if volume.unknown else volume.at("configMap", "name")
        if name.unknown:
            undecidable(report, gw.where, name, f"it decides which dependency list is mounted, and {why}", gw.urn)
            return []
        if name.present():
            mounted.add(name.text() or "")
    found: list[_Target] | None = None
    maybe: Field | None = None  # may be the mounted list, but a field that decides it is unknown
    for r in args.resources:
        if r.resource_type != CONFIG_MAP:
            continue
        props = Field.root(r.props)
        data, meta = props["data"], props["metadata"]
        text = data if data.unknown else data[DEPENDENCIES_KEY]
        ns, name = meta["namespace"], meta["name"]
        if not text.present():
            continue
        if ns.unknown or name.unknown:
            maybe = maybe or (ns if ns.unknown else name)
            continue
        if ns.text() != gw.namespace or name.text() not in mounted:
            continue
        if text.unknown:
            maybe = maybe or text
            continue
        try:
            found = [target for d in json.loads(text.text() or "")["dependencies"] for target in _targets(d)]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"ConfigMap '{name.text()}' key {DEPENDENCIES_KEY} is not a dependency list "
                             "({\"dependencies\": [{\"name\", \"host\", \"port\"}, ...]})") from None
    if found is None and maybe is not None:
        undecidable(report, gw.where, maybe, f"it decides which dependency list the pod mounts, and {why}", gw.urn)
        return []
    return found


def _and(*values: Tri) -> Tri:
    return False if False in values else (None if None in values else True)


def _or(values: list[Tri]) -> Tri:
    return True if True in values else (None if None in values else False)


def _selector_matches(selector: Field, labels: Field) -> tuple[Tri, Field | None]:
    wanted = selector if selector.unknown else selector["matchLabels"]
    if wanted.unknown:
        return None, wanted
    results: list[tuple[Tri, Field | None]] = []
    for key, value in wanted.entries():
        have = labels[key]
        unknown = value if value.unknown else (have if have.unknown else None)
        results.append((None, unknown) if unknown is not None else (have.value == value.value, None))
    verdict = _and(*[r for r, _ in results])
    return verdict, next((f for r, f in results if r is None), None)


def _selects(np: Field, gw: Gateway) -> tuple[Tri, Field | None]:
    """Whether this NetworkPolicy restricts the gateway pod's egress."""
    ns, spec = np["metadata"]["namespace"], np["spec"]
    types, types_unknown = spec["policyTypes"].strings()
    egress: tuple[Tri, Field | None] = (True if "Egress" in types else (None if types_unknown else False),
                                        types_unknown[0] if types_unknown else None)
    if not types and not types_unknown:
        # No policyTypes (or []): the API server defaults them, Egress when the policy has egress rules
        # (kubernetes pkg/apis/networking/v1/defaults.go SetDefaults_NetworkPolicy: len(spec.Egress) != 0).
        rules = spec["egress"]
        egress = (None, rules) if rules.unknown else (bool(rules.items()), None)
    checks: list[tuple[Tri, Field | None]] = [
        (None if ns.unknown else ns.text() == gw.namespace, ns),
        egress,
        _selector_matches(spec["podSelector"], gw.labels),
    ]
    verdict = _and(*[c for c, _ in checks])
    return verdict, next((f for c, f in checks if c is None), None)


def _peer_allows(peer: Field, host: str, port: int) -> tuple[Tri, Field | None]:
    if peer.unknown:
        return None, peer
    parts = host.split(".")
    in_cluster = len(parts) >= 3 and parts[2] == "svc"
    if peer.has("namespaceSelector"):
        selector = peer["namespaceSelector"]
        labels, expressions = selector["matchLabels"], selector["matchExpressions"]
        if not selector.unknown and not labels.unknown and not labels.keys():
            # An empty selector ({}, or no labels and no expressions) selects every namespace (k8s
            # NetworkPolicyPeer.namespaceSelector); expressions are not judged (conservatively: blocked).
            if not expressions.present():
                return in_cluster, None
            if expressions.unknown:
                return (None, expressions) if in_cluster else (False, None)
        ns = labels[NS_NAME_LABEL]
        if ns.unknown:
            return (None, ns) if in_cluster else (False, None)
        return in_cluster and ns.text() == parts[1], None
    if not peer.has("ipBlock") or in_cluster:
        return False, None
    cidr_field = peer["ipBlock"]["cidr"]
    if cidr_field.unknown:
        return None, cidr_field
    excepts, except_unknown = peer["ipBlock"]["except"].strings()
    try:
        cidr = ipaddress.ip_network(cidr_field.text() or "", strict=False)
        excepted = [ipaddress.ip_network(e, strict=False) for e in excepts]
    except ValueError:
        # The API server refuses the object (a missing cidr too: IPBlock.cidr is required;
        # egress-restricted names the block): it opens nothing.
        return False, None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # A public hostname: only a rule open to the whole internet covers it.
        return cidr.prefixlen == 0, None
    if address not in cidr or any(address in e for e in excepted):
        return False, None
    return (None, except_unknown[0]) if except_unknown else (True, None)


def _rule_allows(rule: Field, host: str, port: int) -> tuple[Tri, Field | None]:
    if rule.unknown:
        return None, rule
    numbers, unknown_ports = rule_ports(rule["ports"])
    every_port = not numbers and not unknown_ports
    port_ok: Tri = True if every_port or any(port in r for r in numbers) else (None if unknown_ports else False)
    peers = rule["to"]
    if peers.unknown:
        return _and(port_ok, None), peers
    results = [_peer_allows(p, host, port) for p in peers.items()] or [(True, None)]
    peer_ok = _or([r for r, _ in results])
    unknown = (unknown_ports[0] if port_ok is None and unknown_ports else
               next((f for r, f in results if r is None), None))
    return _and(port_ok, peer_ok), unknown


def _rule_has_dns(rule: Field) -> tuple[Tri, Field | None]:
    if rule.unknown:
        return None, rule
    numbers, unknown_ports = rule_ports(rule["ports"])
    # A rule without ports matches every port (NetworkPolicyEgressRule.ports: "If this field is empty or
    # missing, this rule matches all ports"), 53 included.
    if any(53 in r for r in numbers) or not (numbers or unknown_ports):
        return True, None
    return (None, unknown_ports[0]) if unknown_ports else (False, None)


@dataclass
class _Restriction:
    """The egress policies that do (True) or may (None) select the gateway pod, with their rules."""

    known: list[Field]  # rules of policies that select it
    maybe: list[tuple[Field, Field]]  # (rule, the unknown selection field) of policies that may
    restricted: Tri
    selection_unknown: Field | None


def _restriction(args: StackValidationArgs, gw: Gateway) -> _Restriction:
    known: list[Field] = []
    maybe: list[tuple[Field, Field]] = []
    restricted: list[Tri] = []
    selection_unknown: Field | None = None
    for r in args.resources:
        if r.resource_type != NETWORK_POLICY:
            continue
        np = Field.root(r.props)
        selects, unknown = _selects(np, gw)
        if selects is False:
            continue
        restricted.append(selects)
        egress = np["spec"]["egress"]
        rules = [egress] if egress.unknown else egress.items()
        if selects:
            known += rules
        else:
            selection_unknown = selection_unknown or unknown
            maybe += [(rule, unknown or rule) for rule in rules]
    return _Restriction(known, maybe, _or(restricted), selection_unknown)


def _judge(restriction: _Restriction, check: Any) -> tuple[Tri, Field | None]:
    """Allowed (True), blocked (False) or undecidable (None, with the unknown it hangs on)."""
    if restriction.restricted is False:
        return True, None  # no egress policy selects the pod: nothing blocks it
    known = [check(rule) for rule in restriction.known]
    if any(r is True for r, _ in known):
        return True, None
    unknowns = [f for r, f in known if r is None and f is not None]
    for rule, selection in restriction.maybe:
        result, field_ = check(rule)
        if result is not False:
            unknowns.append(selection if result is True else (field_ or selection))
    if restriction.restricted is None and restriction.selection_unknown is not None:
        unknowns.append(restriction.selection_unknown)
    return (None, unknowns[0]) if unknowns else (False, None)


def _egress_covers(args: StackValidationArgs, report: ReportViolation) -> None:
    why = "the endpoints it declares must be allowed by egress policy"
    for gw in gateways(args, report, why):
        try:
            deps = _dependencies(args, gw, report, why)
        except ValueError as err:
            report(f"{gw.where}: {err}", gw.urn)
            continue
        if deps is None:
            report(f"{gw.where}: mounts openclaw.json but no dependency list (a ConfigMap with key "
                   f"{DEPENDENCIES_KEY}, rendered by components/dependencies.py): egress cannot be checked", gw.urn)
            continue
        if not deps:
            continue
        restriction = _restriction(args, gw)
        dns, unknown = _judge(restriction, _rule_has_dns)
        if dns is None and unknown is not None:
            undecidable(report, gw.where, unknown, "it decides whether DNS (port 53) is allowed", gw.urn)
        elif dns is False:
            report(f"{gw.where}: no egress rule allows DNS (port 53): every named dependency is blocked", gw.urn)
        for t in deps:
            allowed, unknown = _judge(restriction, lambda rule, h=t.host, p=t.port: _rule_allows(rule, h, p))
            if allowed is None and unknown is not None:
                undecidable(report, gw.where, unknown, f"it decides whether {t.what} is reachable", gw.urn)
            elif allowed is False:
                report(f"{gw.where}: {t.what} is blocked: none of the {len(restriction.known)} egress rules of the "
                       f"policies selecting this pod allows {t.host}:{t.port}; {_fix(t)}", gw.urn)


def _fix(t: _Target) -> str:
    if t.post_dnat_of is not None:
        return (f"add an ipBlock {_host_cidr(t.host)} on TCP {t.port}: kube-proxy translates {t.post_dnat_of} to "
                f"this endpoint and a NetworkPolicy enforced after DNAT (k3s: kube-router) judges the endpoint, so a "
                f"rule for the Service address alone lets nothing through ({t.key})")
    kind = ("namespace peer for '" + t.host.split(".")[1] + "'" if ".svc" in t.host
            else "public ipBlock (0.0.0.0/0 minus non-public space)")
    try:
        ipaddress.ip_address(t.host)
        kind = f"ipBlock {_host_cidr(t.host)} (CNIs that judge before DNAT see the Service address)"
    except ValueError:
        pass
    return f"add a {kind} on TCP {t.port}"


def _host_cidr(host: str) -> str:
    return str(ipaddress.ip_network(host))


egress_covers_dependencies = StackValidationPolicy(
    name="egress-covers-dependencies",
    description="Every endpoint of the dependency list (database, Kubernetes API at its Service address and, as "
                "judged after DNAT, at each API server endpoint, models, Telegram) is allowed by egress policy.",
    enforcement_level=MANDATORY,
    validate=_egress_covers,
)

POLICIES = [egress_covers_dependencies]
