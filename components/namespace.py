"""The `openclaw` namespace, with Pod Security admission at `restricted` (the pod fits it)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.labels import common_labels

PSA_LEVEL = "restricted"


@dataclass(frozen=True)
class NamespaceArgs:
    name: str


class Namespace(pulumi.ComponentResource):
    """The namespace; protected, because deleting it deletes the PVC and every agent's memory."""

    name: pulumi.Output[str]

    def __init__(self, name: str, args: NamespaceArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:Namespace", name, None, opts)
        labels = {
            **common_labels("namespace"),
            **{f"pod-security.kubernetes.io/{mode}": PSA_LEVEL for mode in ("enforce", "audit", "warn")},
            **{f"pod-security.kubernetes.io/{mode}-version": "latest"
               for mode in ("enforce", "audit", "warn")},
        }
        labels.pop("app")  # the selector label belongs to pods, not to the namespace
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.name, labels=labels),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.name = self.namespace.metadata.name
        self.register_outputs({"name": self.name})
