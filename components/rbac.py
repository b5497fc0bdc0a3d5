"""ServiceAccount `openclaw` and its read-only cluster view (FACTS.md: RBAC)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.labels import common_labels

SERVICE_ACCOUNT = "openclaw"
CLUSTER_ROLE = "openclaw-readonly"
CLUSTER_ROLE_BINDING = "openclaw-readonly-binding"
READ_VERBS = ["get", "list", "watch"]

# API group -> resources the agents may read. Never secrets, never a wildcard.
READ_ONLY_RULES: dict[str, list[str]] = {
    "": ["pods", "services", "nodes", "namespaces", "events", "configmaps"],
    "apps": ["deployments", "statefulsets", "daemonsets", "replicasets"],
    "batch": ["jobs", "cronjobs"],
    "networking.k8s.io": ["ingresses"],
    "argoproj.io": ["applications"],
}


@dataclass(frozen=True)
class RbacArgs:
    namespace: pulumi.Input[str]


class Rbac(pulumi.ComponentResource):
    """The gateway's identity: a ServiceAccount bound to a get/list/watch-only ClusterRole."""

    service_account_name: pulumi.Output[str]

    def __init__(self, name: str, args: RbacArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:Rbac", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVICE_ACCOUNT, namespace=args.namespace, labels=common_labels("rbac")),
            opts=child,
        )
        self.cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-cluster-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CLUSTER_ROLE, labels=common_labels("rbac")),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=resources,
                                              verbs=READ_VERBS)
                   for group, resources in READ_ONLY_RULES.items()],
            opts=child,
        )
        self.binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-role-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CLUSTER_ROLE_BINDING,
                                                labels=common_labels("rbac")),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io",
                                             kind="ClusterRole", name=self.cluster_role.metadata.name),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount",
                                              name=self.service_account.metadata.name,
                                              namespace=args.namespace)],
            opts=child,
        )
        self.service_account_name = self.service_account.metadata.name
        self.register_outputs({"service_account_name": self.service_account_name})
