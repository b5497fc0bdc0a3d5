"""The explicit Kubernetes provider and the locks that protect live state from replacement."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config.base import DnsLabel, Model, Quantity
from components.config.secrets import SecretsMode

AccessMode = Literal["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"]


class VolumeLock(Model):
    """What the live state volume was created with: fields a PVC cannot change in place."""

    storage_class: str
    access_modes: list[AccessMode] = Field(default_factory=lambda: list[AccessMode](["ReadWriteOnce"]))
    size: Quantity


class KubernetesConfig(Model):
    """The explicit Kubernetes provider, and what protects the live objects from replacement."""

    context: str | None = None  # kubeconfig context; None: the kubeconfig's current context
    kubeconfig: str | None = None  # path or content; None: KUBECONFIG / ~/.kube/config
    # The provider is replaced (and every object with it) only when this changes: a new context
    # name or setting for the same cluster is an update.
    cluster_identifier: str = "k3s"
    # One-time takeover of objects that already exist (Argo CD's): create becomes server-side
    # apply over them, forcing field ownership away from the old manager. Off after the takeover.
    adopt_existing: bool = False
    volume_lock: VolumeLock | None = None
    namespace_lock: DnsLabel | None = None
    # What writes the live Secrets (secrets.mode when they were created): a switch of secrets.mode
    # without adoptExisting fails the preview (components/config/secrets.py: mode_switch_problem).
    secrets_mode_lock: SecretsMode | None = None
    # The OpenClaw release that last wrote the live state volume (its pod's state-guard log says
    # which): a tag of a lower state epoch fails the preview (components/config/release_lock.py).
    release_lock: str | None = None


