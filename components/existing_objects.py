"""Kubernetes objects the program would create that already exist, named at preview.

With `kubernetes.adoptExisting` off, the provider creates each object with a plain create, which
fails with AlreadyExists on an object someone else made (pulumi-kubernetes provider/pkg/await/
await.go `Creation`: the apply-patch path is taken only with `upsertExistingObjects`). Its preview
cannot show that: a Forbidden dry run (a read-only preview identity) and, with server-side apply,
an AlreadyExists dry run both return the inputs unchanged (provider/pkg/provider/provider.go
`Create`, "could not preview"). So the program reads the cluster (components/cluster_reads.py) and
refuses, listing each object, before any Kubernetes object is registered: every one of them uses
the explicit provider, whose registration waits for this check (`gate`).

An existing object counts as the program's own when one of its field managers is the provider's:
`pulumi-kubernetes-<random>` (server-side apply, kept in the provider's state), `pulumi-kubernetes`
or `pulumi-resource-kubernetes` (client-side creates; await.go `fixCSAFieldManagers`) or the
takeover's fixed `pulumi-openclaw` (provider.go `fieldManagerName`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pulumi

from components.cluster_reads import ClusterReader, ClusterReadError, ObjectRef
from components.config import ConfigError
from components.provider import FIELD_MANAGER

MANAGERS_PATH = ".metadata.managedFields[*].manager"
RUNBOOK = "docs/takeover-runbook.md#objects-that-already-exist"


def is_pulumi_manager(manager: str) -> bool:
    return manager.startswith("pulumi-kubernetes") or manager in (FIELD_MANAGER, "pulumi-resource-kubernetes")


class DeclaredObjects:
    """Records every Kubernetes object registered below the component it is attached to (a
    resource transformation, so components added later are covered without a list to keep)."""

    def __init__(self, default_namespace: str) -> None:
        self._namespace = default_namespace
        self.refs: list[ObjectRef] = []

    def transformation(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        props = args.props
        if not args.type_.startswith("kubernetes:") or "kind" not in props:
            return None
        metadata: Any = props.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else getattr(metadata, "name", None)
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else getattr(metadata, "namespace", None)
        if isinstance(name, str):
            # A namespace given as an Output is the program's namespace (the Namespace resource's name).
            ns = namespace if isinstance(namespace, str) or namespace is None else self._namespace
            self.refs.append(ObjectRef(str(props.get("api_version") or props.get("apiVersion")), str(props["kind"]),
                                       ns, name))
        return None


def foreign_objects(refs: Sequence[ObjectRef], reader: ClusterReader) -> list[tuple[ObjectRef, list[str]]]:
    """The objects among `refs` that exist and that no Pulumi field manager has touched."""
    live = reader.read(sorted(set(refs)), [MANAGERS_PATH])
    found = []
    for ref in sorted(live):
        managers = live[ref][0].split()
        if not any(is_pulumi_manager(m) for m in managers):
            found.append((ref, managers))
    return found


def existing_objects_message(found: Sequence[tuple[ObjectRef, list[str]]], stack: str) -> str:
    lines = [f"openclaw:kubernetes.adoptExisting is false, but {len(found)} object(s) the program would create "
             "already exist and were not created by Pulumi: the up would fail with AlreadyExists on each "
             "(the preview's dry run hides it):"]
    lines += [f"  - {ref} (field managers: {', '.join(managers) or 'none'})" for ref, managers in found]
    lines.append(f"This is the takeover from Argo CD ({RUNBOOK}): `python -m tools.takeover --stack {stack}`, then "
                 "`pulumi config set --path openclaw:kubernetes.adoptExisting true` for that one up. If the objects "
                 "belong to something else, use another namespace or remove them first.")
    return "\n".join(lines)


def check_existing(refs: Sequence[ObjectRef], reader: ClusterReader, stack: str) -> bool:
    """True when none of the objects is someone else's; ConfigError listing them otherwise. A cluster
    that cannot be read is a warning: the up would still fail on such an object, just later."""
    try:
        found = foreign_objects(refs, reader)
    except ClusterReadError as exc:
        pulumi.log.warn(f"could not check which of the {len(set(refs))} Kubernetes objects already exist ({exc}): "
                        f"with adoptExisting off, an object someone else created fails the up with AlreadyExists "
                        f"({RUNBOOK})")
        return True
    if found:
        raise ConfigError(existing_objects_message(found, stack))
    return True


def gate(declared: DeclaredObjects, reader: ClusterReader, stack: str) -> pulumi.Output[bool]:
    """An Output that resolves once the check has passed. The explicit provider depends on it, so no
    object is registered, let alone created, before the check. The check runs as a task, and a task
    first runs when the program's synchronous body has handed control back to the event loop: every
    object is declared by then (transformations run in the constructors), and a body that raised
    half-way still lets it finish instead of leaving the provider waiting for ever."""
    async def all_declared() -> bool:
        await asyncio.sleep(0)
        return True

    ready: pulumi.Input[bool] = all_declared()
    return pulumi.Output.from_input(ready).apply(lambda _: check_existing(declared.refs, reader, stack))
