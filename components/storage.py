"""The state volume `openclaw-data`: agents' memory, sessions and workspaces live here."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.cluster_reads import ClusterReader, ClusterReadError, ObjectRef
from components.config import ConfigError, StackConfig
from components.config.base import quantity_mib
from components.labels import common_labels

PVC_NAME = "openclaw-data"
RESIZE_RUNBOOK = "docs/takeover-runbook.md#changing-the-volume-later"


def live_claim_size(config: StackConfig, reader: ClusterReader) -> str | None:
    """The size the live claim asks for: read from the cluster, or `kubernetes.volumeLock.size` (the
    record of it) when the cluster cannot be read; None when there is no claim yet."""
    claim = ObjectRef("v1", "PersistentVolumeClaim", config.namespace, PVC_NAME)
    lock = config.kubernetes.volume_lock
    try:
        live = reader.read([claim], [".spec.resources.requests.storage"])
    except ClusterReadError as exc:
        pulumi.log.warn(f"could not read {claim} ({exc}): judging openclaw:storage.size against "
                        "openclaw:kubernetes.volumeLock.size")
        return lock.size if lock is not None else None
    return (live[claim][0] or None) if claim in live else None


def check_volume_growth(config: StackConfig, reader: ClusterReader) -> None:
    """A larger `storage.size` than the live claim's is an expansion, which the API server refuses
    unless the claim's StorageClass has `allowVolumeExpansion: true` (the PersistentVolumeClaimResize
    admission plugin): refuse it here, at preview, instead of halfway through the up; and a smaller
    one, which the API server refuses always. The live size is the claim's own when the cluster can
    be read, `kubernetes.volumeLock.size` otherwise."""
    current = live_claim_size(config, reader)
    wanted = config.storage.size
    if current is None or quantity_mib(wanted) == quantity_mib(current):
        return
    if quantity_mib(wanted) < quantity_mib(current):
        raise ConfigError(f"openclaw:storage.size: {wanted} is smaller than the live volume {config.namespace}/"
                          f"{PVC_NAME} ({current}): a claim never shrinks; set it back to {current}")
    name = config.storage.class_name
    storage_class = ObjectRef("storage.k8s.io/v1", "StorageClass", None, name)
    try:
        live = reader.read([storage_class], [".allowVolumeExpansion", ".provisioner"])
    except ClusterReadError as exc:
        pulumi.log.warn(f"openclaw:storage.size {wanted} grows the volume ({current}), but StorageClass {name} could "
                        f"not be read ({exc}): the up fails if it does not allow volume expansion")
        return
    if storage_class not in live:
        raise ConfigError(f"openclaw:storage.className: StorageClass {name!r} does not exist in the cluster: the "
                          f"claim {PVC_NAME} would never be resized (nor bound); name an existing class")
    expansion, provisioner = live[storage_class]
    if expansion != "true":
        raise ConfigError(
            f"openclaw:storage.size: {wanted} grows the live volume {config.namespace}/{PVC_NAME} ({current}), but "
            f"its StorageClass {name} (provisioner {provisioner or 'unknown'}) does not allow volume expansion "
            f"(allowVolumeExpansion is {expansion or 'unset'}): the up would fail when it patches the claim. Keep "
            f"openclaw:storage.size at {current}, or copy the data to a new, larger volume ({RESIZE_RUNBOOK}); a "
            "class whose provisioner can resize needs `allowVolumeExpansion: true` first (then set "
            "openclaw:kubernetes.volumeLock.size to the new size)")


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
