"""The explicit Kubernetes provider every Kubernetes object of the program uses.

Adoption of the objects Argo CD created uses the provider's own switches, not the `import`
resource option: since pulumi-kubernetes 4.29 a create fails on an existing object unless
`upsertExistingObjects` is on, and then it is a server-side apply over it, so the live objects
take the program's desired state in one `up` (the old default deny gets `podSelector: {}`, old
labels are kept, the PVC is untouched where it already matches). `import` would instead demand
that every input equal the live object, which the program deliberately changes, and a list of
IDs to maintain. `enablePatchForce` takes field ownership from Argo CD's field manager, which
would otherwise make every shared field a conflict. Both are meant for the takeover `up` only:
left on, a rename without an alias would upsert and then delete the same object.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config import KubernetesConfig


def kubernetes_provider(name: str, config: KubernetesConfig, parent: pulumi.Resource) -> k8s.Provider:
    return k8s.Provider(
        name,
        context=config.context,
        kubeconfig=config.kubeconfig,
        cluster_identifier=config.cluster_identifier,
        enable_server_side_apply=True,
        upsert_existing_objects=config.adopt_existing,
        enable_patch_force=config.adopt_existing,
        opts=pulumi.ResourceOptions(parent=parent),
    )
