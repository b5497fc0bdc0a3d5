"""Evaluate rendered NetworkPolicies for one pod's egress, the way the CNI enforcing them does.

Test support: given the rendered objects (camelCase dicts, as in `out/<stack>/kubernetes/`), a source
pod and a destination, say whether a new connection is allowed and by which policy and rule.

Two ways a CNI can judge a connection to a Service address:
- `POST_DNAT` (k3s, kube-router): kube-proxy translates the Service address to one of its endpoints in
  nat PREROUTING/OUTPUT before the filter chains run, so kube-router's rules (KUBE-ROUTER-FORWARD ->
  KUBE-POD-FW-* -> KUBE-NWPLCY-*, in the filter table) see the endpoint, never the Service address
  (k3s-io/k3s#10342; cert-manager PR 5788, sympozium PR 28 hit the same). A connection to a Service
  is allowed only when the endpoint kube-proxy picks is, so every endpoint is judged.
- `PRE_DNAT`: a CNI that judges the destination as the client dialled it.

What follows kube-router's network policy controller (cloudnativelabs/kube-router,
pkg/controllers/netpol):
- policy.go `buildNetworkPoliciesInfo`/`processEgressRules`: a pod is isolated for egress when a policy
  of its namespace selects it with policyTypes Egress; each egress rule's peers become ipsets, its ports
  a `-p proto --dport` match (no ports: every port; no peers: every destination);
- policy.go `evalIPBlockPeer`: a peer is an ipBlock only when it has neither selector; `except` entries
  are `nomatch` members of the same hash:net set; an IPv4 /0 is added as 0.0.0.0/1 + 128.0.0.0/1, an
  IPv6 ::/0 as 2000::/3 + fd00::/8 only (so other IPv6 space never matches a ::/0 rule);
- namespaceSelector/podSelector peers are ipsets of the matching pods' IPs: they match pods only, never a
  node or an outside address (the API server's endpoint is a node address);
- pod.go `dropUnmarkedTrafficRules`: traffic no rule marked is REJECTed (icmp port-unreachable, which a
  TCP client sees as a refused connect).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NS_LABEL = "kubernetes.io/metadata.name"


class Mode(enum.Enum):
    POST_DNAT = "post-DNAT (kube-router, k3s)"
    PRE_DNAT = "pre-DNAT"


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str]
    ip: str = "10.42.0.99"
    namespace_labels: Mapping[str, str] | None = None  # default: the API server's metadata.name label

    def ns_labels(self) -> Mapping[str, str]:
        return self.namespace_labels if self.namespace_labels is not None else {NS_LABEL: self.namespace}


@dataclass(frozen=True)
class Destination:
    ip: str
    port: int
    protocol: str = "TCP"
    pod: Pod | None = None  # set when the destination is a pod: selectors can match it
    port_names: Mapping[str, int] = field(default_factory=dict)  # the pod's named container ports

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}/{self.protocol}"


@dataclass(frozen=True)
class Service:
    """A ClusterIP and port with the endpoints kube-proxy translates it to."""

    ip: str
    port: int
    endpoints: tuple[Destination, ...]
    protocol: str = "TCP"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    judged: Destination  # what the filter saw (the endpoint after DNAT)
    by: str  # "<policy> egress rule <i>", or why nothing allowed it

    def __str__(self) -> str:
        return f"{'ALLOW' if self.allowed else 'REJECT'} {self.judged} ({self.by})"


def labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector against labels ({} or no selector matches everything)."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {"In": key in labels and labels[key] in values,
              "NotIn": key not in labels or labels[key] not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def _policies_of(objects: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [o for o in objects if o.get("kind") == "NetworkPolicy"]


def _types(spec: Mapping[str, Any]) -> list[str]:
    # The API server's default when policyTypes is empty: Ingress, plus Egress when egress rules exist.
    return list(spec.get("policyTypes") or ["Ingress", *(["Egress"] if spec.get("egress") else [])])


def selecting(objects: Sequence[Mapping[str, Any]], pod: Pod) -> list[Mapping[str, Any]]:
    """The policies that isolate `pod` for egress."""
    return [p for p in _policies_of(objects)
            if (p["metadata"].get("namespace") or "default") == pod.namespace
            and "Egress" in _types(p["spec"]) and labels_match(p["spec"].get("podSelector"), pod.labels)]


def _block_nets(cidr: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if cidr == "0.0.0.0/0":
        return [ipaddress.ip_network("0.0.0.0/1"), ipaddress.ip_network("128.0.0.0/1")]
    if cidr == "::/0":
        return [ipaddress.ip_network("2000::/3"), ipaddress.ip_network("fd00::/8")]
    return [ipaddress.ip_network(cidr, strict=False)]


def peer_matches(peer: Mapping[str, Any], policy_ns: str, dest: Destination) -> bool:
    address = ipaddress.ip_address(dest.ip)
    if "ipBlock" in peer and "podSelector" not in peer and "namespaceSelector" not in peer:
        block = peer["ipBlock"]
        if not any(address in n for n in _block_nets(block["cidr"]) if n.version == address.version):
            return False
        return not any(address in n for e in block.get("except") or [] for n in _block_nets(e)
                       if n.version == address.version)
    if "podSelector" not in peer and "namespaceSelector" not in peer:
        return False  # an ipBlock combined with a selector is not an ipBlock peer to kube-router
    if dest.pod is None:
        return False  # selectors are sets of pod IPs
    if "namespaceSelector" in peer:
        if not labels_match(peer["namespaceSelector"], dest.pod.ns_labels()):
            return False
    elif dest.pod.namespace != policy_ns:
        return False
    return labels_match(peer.get("podSelector"), dest.pod.labels)


def port_matches(entry: Mapping[str, Any], dest: Destination) -> bool:
    if (entry.get("protocol") or "TCP") != dest.protocol:
        return False
    port = entry.get("port")
    if port is None:
        return True
    if isinstance(port, str) and not port.isdigit():
        number = dest.port_names.get(port)
        return number is not None and number == dest.port
    end = entry.get("endPort")
    return int(port) <= dest.port <= int(end) if end is not None else int(port) == dest.port


def rule_allows(rule: Mapping[str, Any], policy_ns: str, dest: Destination) -> bool:
    ports = rule.get("ports") or []
    peers = rule.get("to") or []
    return ((not ports or any(port_matches(e, dest) for e in ports))
            and (not peers or any(peer_matches(p, policy_ns, dest) for p in peers)))


def judge(objects: Sequence[Mapping[str, Any]], source: Pod, dest: Destination) -> Verdict:
    """One destination as the filter sees it."""
    policies = selecting(objects, source)
    if not policies:
        return Verdict(True, dest, "no egress policy selects the pod")
    for policy in policies:
        ns = policy["metadata"].get("namespace") or "default"
        for i, rule in enumerate(policy["spec"].get("egress") or []):
            if rule_allows(rule, ns, dest):
                return Verdict(True, dest, f"{policy['metadata']['name']} egress rule {i}")
    names = ", ".join(p["metadata"]["name"] for p in policies)
    return Verdict(False, dest, f"no egress rule of {names} allows it")


def egress(objects: Sequence[Mapping[str, Any]], source: Pod, dest: Destination, *,
           services: Sequence[Service] = (), mode: Mode = Mode.POST_DNAT) -> list[Verdict]:
    """Every verdict a new connection to `dest` may get: one per endpoint when `dest` is a Service
    address judged after DNAT (kube-proxy picks any of them), else one."""
    service = next((s for s in services if s.ip == dest.ip and s.port == dest.port
                    and s.protocol == dest.protocol), None)
    if service is None or mode is Mode.PRE_DNAT:
        return [judge(objects, source, dest)]
    return [judge(objects, source, ep) for ep in service.endpoints]


def allowed(objects: Sequence[Mapping[str, Any]], source: Pod, dest: Destination, *,
            services: Sequence[Service] = (), mode: Mode = Mode.POST_DNAT) -> bool:
    """A connection that always gets through (every endpoint allowed)."""
    return all(v.allowed for v in egress(objects, source, dest, services=services, mode=mode))


def nft_filter(objects: Sequence[Mapping[str, Any]], source: Pod, *, pods: Sequence[Pod] = (),
               action: str = "reject with icmp type port-unreachable") -> list[str]:
    """The same egress decisions as nftables statements (IPv4, TCP/UDP ports), for a real network
    namespace: selector peers become the IPs of the matching `pods`, ipBlock excepts are skipped
    before the accept. Put them in a filter chain after nat (post-DNAT) or before it (pre-DNAT)."""
    lines = ["ct state established,related accept"]
    policies = selecting(objects, source)
    if not policies:
        return [*lines, "accept"]
    for policy in policies:
        ns = policy["metadata"].get("namespace") or "default"
        for rule in policy["spec"].get("egress") or []:
            ports = [p for p in rule.get("ports") or [] if not isinstance(p.get("port"), str)]
            if rule.get("ports") and not ports:
                continue  # named ports only: no pod here to resolve them, so nothing is opened
            matches = [f"{(p.get('protocol') or 'TCP').lower()} dport {p['port']}" if p.get("port") is not None
                       else f"meta l4proto {(p.get('protocol') or 'TCP').lower()}" for p in ports] or [""]
            for peer in rule.get("to") or [{}]:
                for target in _nft_targets(peer, ns, pods):
                    lines += [" ".join(x for x in (target, m, "accept") if x) for m in matches]
    return [*lines, action]


def _nft_targets(peer: Mapping[str, Any], ns: str, pods: Sequence[Pod]) -> list[str]:
    if not peer:
        return [""]
    if "ipBlock" in peer and "podSelector" not in peer and "namespaceSelector" not in peer:
        block = peer["ipBlock"]
        nets = [n for n in _block_nets(block["cidr"]) if n.version == 4]
        excepts = [str(n) for e in block.get("except") or [] for n in _block_nets(e) if n.version == 4]
        skip = f" ip daddr != {{ {', '.join(excepts)} }}" if excepts else ""
        return [f"ip daddr {n}{skip}" for n in nets]
    hits = [p.ip for p in pods if peer_matches(peer, ns, Destination(p.ip, 0, pod=p))]
    return [f"ip daddr {{ {', '.join(hits)} }}"] if hits else []
