"""The state volume `openclaw-data`: agents' memory, sessions and workspaces live here."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.labels import common_labels

PVC_NAME = "openclaw-data"


@dataclass(frozen=True)
class StorageArgs:
    namespace: pulumi.Input[str]
    storage_class: str
    size: str


class Storage(pulumi.ComponentResource):
    """A ReadWriteOnce PVC, protected and retained: losing it loses every agent's state."""

    claim_name: pulumi.Output[str]

    def __init__(self, name: str, args: StorageArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:Storage", name, None, opts)
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-pvc",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=PVC_NAME, namespace=args.namespace, labels=common_labels("storage")),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=args.storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                    requests={"storage": args.size}),
            ),
            # protect: the engine refuses to delete it; retain_on_delete: even a forced
            # removal from the stack leaves the claim in the cluster.
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        self.claim_name = self.claim.metadata.name
        self.register_outputs({"claim_name": self.claim_name})
