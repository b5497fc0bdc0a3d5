"""Network policies: a namespace-wide default deny, then one allow policy per purpose."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.labels import APP_SELECTOR, common_labels
from components.netblocks import public_excepts

NS_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
CNPG_CLUSTER_LABEL = "cnpg.io/cluster"


@dataclass(frozen=True)
class NetworkArgs:
    namespace: pulumi.Input[str]
    gateway_port: int
    dns_namespace: str
    dns_pod_labels: dict[str, str]
    api_server: str
    api_server_port: int
    # The API server's endpoints (address, port): what the Service address is translated to.
    api_endpoints: list[tuple[str, int]]
    egress_ports: list[int]
    db_namespace: str
    db_cluster: str
    db_port: int
    cluster_cidrs: list[str] = field(default_factory=list)
    ipv6_egress: bool = False


def _port(port: int, protocol: str = "TCP") -> k8s.networking.v1.NetworkPolicyPortArgs:
    return k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol=protocol)


def _namespace_pods(namespace: str, pod_labels: dict[str, str]) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NS_LABEL: namespace}),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pod_labels),
    )


def _host_block(address: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    net = ipaddress.ip_network(address)  # a bare address: /32 or /128, that host only
    return k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=str(net)))


def kube_api_rules(service: str, service_port: int,
                   endpoints: list[tuple[str, int]]) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """Egress to the API server, judged either way a CNI may judge it.

    kube-router (k3s) filters in the FORWARD chain, after kube-proxy's DNAT in PREROUTING, so it sees
    the endpoint, not the Service address (kube-router pkg/controllers/netpol/policy.go
    processEgressRules: ipBlock peers become a hash:net ipset matched with `-d`; pod.go: unmatched
    traffic is REJECTed, which the pod sees as a refused connect; k3s-io/k3s#10342). A CNI that
    judges before DNAT sees the Service address. One rule per port with exactly the hosts on it:
    never a host on another's port (the kubelet's 10250 on the same nodes stays closed)."""
    by_port: dict[int, list[str]] = {}
    for address, port in endpoints:
        by_port.setdefault(port, []).append(address)
    rules = [k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_host_block(service)], ports=[_port(service_port)])]
    rules += [k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_host_block(a) for a in hosts], ports=[_port(port)])
              for port, hosts in sorted(by_port.items())]
    return rules


class NetworkPolicies(pulumi.ComponentResource):
    """Default deny for every pod in the namespace; the gateway gets exactly what it needs."""

    policy_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:NetworkPolicies", name, None, opts)
        self._name = name
        self._args = args
        self.policies: list[k8s.networking.v1.NetworkPolicy] = []

        # Selects every pod ({}), not only the gateway: the old manifests left other pods open.
        self._policy("default-deny", pod_selector={}, policy_types=["Ingress", "Egress"])
        self._egress("allow-dns", [k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[_namespace_pods(args.dns_namespace, args.dns_pod_labels)],
            ports=[_port(53, "UDP"), _port(53, "TCP")])])
        self._egress("allow-kube-api", kube_api_rules(args.api_server, args.api_server_port, args.api_endpoints))
        self._egress("allow-public-https", [self._public_rule(4)])
        if args.ipv6_egress:
            self._egress("allow-public-https-ipv6", [self._public_rule(6)])
        self._egress("allow-postgres", [k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[_namespace_pods(args.db_namespace, {CNPG_CLUSTER_LABEL: args.db_cluster})],
            ports=[_port(args.db_port)])])
        self._policy("allow-gateway-ingress", pod_selector=APP_SELECTOR, policy_types=["Ingress"],
                     ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                         ports=[_port(args.gateway_port)])])

        self.policy_names = pulumi.Output.all(*[p.metadata.name for p in self.policies])
        self.register_outputs({"policy_names": self.policy_names})

    def _public_rule(self, version: int) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
        extra = self._args.cluster_cidrs if version == 4 else []
        return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(
                cidr="0.0.0.0/0" if version == 4 else "::/0",
                except_=public_excepts(version, extra)))],
            ports=[_port(p) for p in self._args.egress_ports])

    def _egress(self, purpose: str, rules: list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]) -> None:
        self._policy(purpose, pod_selector=APP_SELECTOR, policy_types=["Egress"], egress=rules)

    def _policy(self, purpose: str, *, pod_selector: dict[str, str], policy_types: list[str],
                egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgs] | None = None,
                ingress: list[k8s.networking.v1.NetworkPolicyIngressRuleArgs] | None = None) -> None:
        self.policies.append(k8s.networking.v1.NetworkPolicy(
            f"{self._name}-{purpose}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"openclaw-{purpose}", namespace=self._args.namespace,
                labels=common_labels("network")),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pod_selector or None),
                policy_types=policy_types, egress=egress, ingress=ingress),
            opts=pulumi.ResourceOptions(parent=self),
        ))
