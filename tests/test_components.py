"""Each component on its own, under the mock runtime: its children, their parent, its inputs."""

from __future__ import annotations

import pulumi

from components.namespace import Namespace, NamespaceArgs
from components.network import NetworkArgs, NetworkPolicies
from components.rbac import Rbac, RbacArgs
from components.storage import Storage, StorageArgs
from engine.harness import RunResult, object_name, run_program


def _children(run: RunResult, component_type: str) -> list[str]:
    (component,) = run.by_type(component_type)
    return sorted(r.type for r in run.resources if r.parent == component.urn)


def test_namespace_component() -> None:
    run = run_program(lambda: pulumi.export("name", Namespace("ns", NamespaceArgs(name="agents-x")).name))
    assert _children(run, "openclaw:index:Namespace") == ["kubernetes:core/v1:Namespace"]
    (ns,) = run.kubernetes()
    assert object_name(ns) == "agents-x" and ns.name == "ns-namespace"
    assert ns.options.protect
    assert run.outputs["name"].value == "agents-x"


def test_storage_component_takes_class_and_size() -> None:
    run = run_program(lambda: pulumi.export("claim", Storage(
        "st", StorageArgs(namespace="ns1", storage_class="fast-ssd", size="2Gi")).claim_name))
    (pvc,) = run.kubernetes()
    assert pvc.name == "st-pvc"
    assert pvc.properties["metadata"] == {"name": "openclaw-data", "namespace": "ns1",
                                          "labels": pvc.properties["metadata"]["labels"]}
    assert pvc.properties["spec"]["storageClassName"] == "fast-ssd"
    assert pvc.properties["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert pvc.options.protect and pvc.options.retain_on_delete
    assert not pvc.options.delete_before_replace and not pvc.options.replace_on_changes
    assert run.outputs["claim"].value == "openclaw-data"


def test_rbac_component_binds_the_account_in_its_namespace() -> None:
    run = run_program(lambda: pulumi.export("sa", Rbac("r", RbacArgs(namespace="ns2")).service_account_name))
    assert _children(run, "openclaw:index:Rbac") == [
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    ]
    binding = run.find("ClusterRoleBinding", "openclaw-readonly-binding").properties
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "openclaw", "namespace": "ns2"}]
    role = run.find("ClusterRole", "openclaw-readonly").properties
    flat = [(g, res, v) for r in role["rules"] for g in r["apiGroups"] for res in r["resources"] for v in r["verbs"]]
    assert all(v in ("get", "list", "watch") for _, _, v in flat)
    assert not any("*" in (g, res, v) for g, res, v in flat)
    assert not any(res == "secrets" or "/" in res for _, res, _ in flat)


def _network_args(**changes: object) -> NetworkArgs:
    base = dict(namespace="ns3", gateway_port=9000, dns_namespace="dns", dns_pod_labels={"app": "coredns"},
                api_server="10.96.0.1", api_server_port=6443,
                api_endpoints=[("172.20.0.6", 6443), ("172.20.0.5", 6443), ("fd00:20::7", 7443)],
                egress_ports=[443, 8443], db_namespace="pg",
                db_cluster="main-db", db_port=5433, cluster_cidrs=["10.96.0.0/12"], ipv6_egress=False)
    base.update(changes)
    return NetworkArgs(**base)  # type: ignore[arg-type]


def test_network_component_follows_its_args() -> None:
    run = run_program(lambda: pulumi.export("names", NetworkPolicies("net", _network_args()).policy_names))
    specs = {object_name(r): r.properties["spec"] for r in run.kubernetes()}
    assert sorted(run.outputs["names"].value) == sorted(specs)
    assert specs["openclaw-allow-dns"]["egress"][0]["to"][0]["podSelector"] == {"matchLabels": {"app": "coredns"}}
    # The Service address (pre-DNAT CNIs), then one rule per endpoint port with exactly its hosts.
    assert specs["openclaw-allow-kube-api"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}], "ports": [{"port": 6443, "protocol": "TCP"}]},
        {"to": [{"ipBlock": {"cidr": "172.20.0.6/32"}}, {"ipBlock": {"cidr": "172.20.0.5/32"}}],
         "ports": [{"port": 6443, "protocol": "TCP"}]},
        {"to": [{"ipBlock": {"cidr": "fd00:20::7/128"}}], "ports": [{"port": 7443, "protocol": "TCP"}]}]
    assert [p["port"] for p in specs["openclaw-allow-public-https"]["egress"][0]["ports"]] == [443, 8443]
    assert specs["openclaw-allow-postgres"]["egress"][0]["ports"] == [{"port": 5433, "protocol": "TCP"}]
    assert specs["openclaw-allow-postgres"]["egress"][0]["to"][0]["podSelector"] == {
        "matchLabels": {"cnpg.io/cluster": "main-db"}}
    assert specs["openclaw-allow-gateway-ingress"]["ingress"] == [{"ports": [{"port": 9000, "protocol": "TCP"}]}]
    assert all(r.properties["metadata"]["namespace"] == "ns3" for r in run.kubernetes())


def test_network_component_ipv6_switch() -> None:
    def program() -> None:
        NetworkPolicies("net", _network_args(ipv6_egress=True))

    run = run_program(program)
    assert "openclaw-allow-public-https-ipv6" in {object_name(r) for r in run.kubernetes()}
