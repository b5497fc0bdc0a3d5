"""The explicit Kubernetes provider every Kubernetes object of the program uses.

Adoption of the objects Argo CD created uses the provider's own switches, not the `import`
resource option: since pulumi-kubernetes 4.29 a create fails on an existing object unless
`upsertExistingObjects` is on, and then it is a server-side apply over it (provider/pkg/await/
await.go, `Creation`), so the live objects take the program's desired state in one `up`. `import`
would instead demand that every input equal the live object, which the program deliberately
changes, and a list of IDs to maintain. `enablePatchForce` takes conflicting fields from Argo CD's
field manager. Both are meant for the takeover `up` only: left on, a rename without an alias would
upsert and then delete the same object.

What upsert does NOT do: server-side apply removes a field the applier omits only if that applier
owned it. Argo CD's fields (manager `argocd-controller`, or the client-side-apply managers) stay:
an old init container, volumes and env entries under other names (lists merge by name), old labels.
pulumi-kubernetes only takes over the `kubectl`, `before-first-apply` and its own client-side
managers, and only on an Update (`fixCSAFieldManagers`), never on the upserting Create. So the
takeover `up` applies under a fixed field manager name (`pulumi.com/patchFieldManager`, read first by
`fieldManagerName` in provider/pkg/provider/provider.go and kept in state as `__fieldManager`), and
`python -m tools.takeover` hands the old managers' entries to that name before the `up`: the apply
then removes every field the program does not declare (docs/takeover-runbook.md).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config import KubernetesConfig

# The field manager of the takeover `up` (and, through the provider's state, of every later one).
FIELD_MANAGER = "pulumi-openclaw"
FIELD_MANAGER_ANNOTATION = "pulumi.com/patchFieldManager"


def kubernetes_provider(name: str, config: KubernetesConfig, parent: pulumi.Resource,
                        gate: pulumi.Input[Sequence[pulumi.Resource]] | None = None) -> k8s.Provider:
    """`gate`: what must resolve before the provider, and so every object using it, is registered
    (the existing-objects check, components/existing_objects.py)."""
    return k8s.Provider(
        name,
        context=config.context,
        kubeconfig=config.kubeconfig,
        cluster_identifier=config.cluster_identifier,
        enable_server_side_apply=True,
        upsert_existing_objects=config.adopt_existing,
        enable_patch_force=config.adopt_existing,
        # A changed Secret (a rotation in direct mode) is updated in place. Off, the provider replaces
        # it (provider/pkg/provider/diff.go, forceNewProperties): delete then create under the same
        # name, a moment without the Secret; and with retain_on_delete the delete is skipped and the
        # create fails (AlreadyExists).
        enable_secret_mutable=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=gate),
    )


def _annotated(metadata: Any) -> Any:
    if isinstance(metadata, k8s.meta.v1.ObjectMetaArgs):
        annotated = copy.copy(metadata)  # every other field kept as the program set it
        annotated.annotations = {**(metadata.annotations or {}),  # type: ignore[dict-item]
                                 FIELD_MANAGER_ANNOTATION: FIELD_MANAGER}
        return annotated
    if isinstance(metadata, dict):
        return {**metadata, "annotations": {**(metadata.get("annotations") or {}),
                                            FIELD_MANAGER_ANNOTATION: FIELD_MANAGER}}
    return metadata


def with_field_manager(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """Resource transformation: every Kubernetes object gets the fixed field manager annotation."""
    if not args.type_.startswith("kubernetes:") or args.props.get("metadata") is None:
        return None
    return pulumi.ResourceTransformationResult({**args.props, "metadata": _annotated(args.props["metadata"])},
                                               args.opts)
