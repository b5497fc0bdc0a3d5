"""The pre-upgrade snapshot as a Job the program renders, before a rollout that migrates the volume.

When `openclaw:kubernetes.releaseLock` (the release that last wrote the live volume) is of a lower
state epoch than the release of `openclaw:image.tag`, the new pod's `migrate` init container will
run the release's migration (components/migration.py). Before that, this Job copies the volume as
the OLD release left it, with the old release's own image (its Node's node:sqlite copies its
SQLite databases through the online backup API: components/snapshot.py), and the gateway
Deployment `depends_on` it. pulumi-kubernetes awaits a Job until its `Complete` condition and
fails the update on `Failed` (provider/pkg/await/job.go, jobInitAwaiter; `pulumi.com/timeoutSeconds`
read by awaiters.go getTimeout, default DefaultJobTimeoutMins = 10), so a failed snapshot stops the
`up` before the Deployment changes: the old pod keeps running on the untouched volume.

Why a Job and not an init container of the gateway pod: with backups on the snapshot is stored by
restic, and the gateway pod must get neither the repository's egress nor its secrets. The Job's
pods carry the backup labels (`app: openclaw-backup`), so the backup egress policy (DNS and the
repository only) selects them, and not `app: openclaw` (the gateway's Service and policies).

No lock, or a lock of the same epoch: no Job. No lock with a release that migrates: a warning
(the program cannot know what the volume holds; the pod's state-guard still reads the marker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.awaits import TIMEOUT_ANNOTATION, job_timeout_seconds, migration_may_run
from components.checkov_skips import BACKUP, checkov_skips
from components.config import StackConfig
from components.config.backup import BackupConfig
from components.labels import APP_SELECTOR
from components.releases import RELEASES, Release
from components.snapshot import pre_upgrade_job

# On the Job's own metadata: which release's volume it copies and for which release (the render
# diff's note reads them; tools/render_diff.py).
SNAPSHOT_OF_ANNOTATION = "openclaw.io/pre-upgrade-snapshot-of"
UPGRADE_TO_ANNOTATION = "openclaw.io/pre-upgrade-for"
COMPONENT = "pre-upgrade-snapshot"
RUNBOOK = "docs/upgrade-runbook.md#snapshot"


def snapshot_due(cfg: StackConfig) -> Release | None:
    """The release whose volume must be snapshotted before this rollout (the lock's), or None:
    only when the lock names a release of a lower state epoch than the one rendered."""
    lock = RELEASES.get(cfg.kubernetes.release_lock or "")
    if lock is None or lock.state_epoch >= cfg.release.state_epoch:
        return None
    return lock


def unsnapshotted_migration_warning(cfg: StackConfig) -> str | None:
    """The warning for a rollout whose migration may run with no snapshot before it (no lock)."""
    if cfg.kubernetes.release_lock is not None or not migration_may_run(cfg):
        return None
    return (f"openclaw:image.tag {cfg.image.tag} migrates a volume written by an earlier release (state epoch "
            f"{cfg.release.state_epoch}), but openclaw:kubernetes.releaseLock is not set: no pre-upgrade snapshot "
            "is taken before the migration. Set releaseLock to the release that last ran on the volume (the "
            f"state-guard's log line or .state-release.json on the volume says which), and the program snapshots "
            f"it first ({RUNBOOK})")


@dataclass(frozen=True)
class PreUpgradeSnapshotArgs:
    namespace: pulumi.Input[str]
    claim_name: pulumi.Input[str]
    old: Release                 # the release that last wrote the volume (the lock)
    new_tag: str                 # openclaw:image.tag, which the Deployment moves to
    old_image: str               # the stack's image repository with the old release's tag
    backup: BackupConfig
    volume_size: str
    # The backup Secret and the backup egress policy (backups on): the Job's pod needs both.
    dependencies: Sequence[pulumi.Resource] = field(default_factory=list)


def job_manifest(args: PreUpgradeSnapshotArgs) -> dict[str, Any]:
    """components/snapshot.py's Job, with what the program adds: the await timeout, the releases it
    is between, the checkov reasons, and a preference for the gateway's node (a ReadWriteOnce claim
    is mounted by one node at a time; preferred, not required: with no gateway pod it still runs)."""
    job = pre_upgrade_job(args.namespace, args.claim_name, args.old, args.old_image, args.backup,
                          args.volume_size)
    meta = job["metadata"]
    meta["annotations"] = {
        **checkov_skips(BACKUP, False),
        TIMEOUT_ANNOTATION: str(job_timeout_seconds(args.backup.active_deadline_seconds)),
        SNAPSHOT_OF_ANNOTATION: args.old.version, UPGRADE_TO_ANNOTATION: args.new_tag}
    job["spec"]["template"]["spec"]["affinity"] = {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
            "labelSelector": {"matchLabels": APP_SELECTOR}, "topologyKey": "kubernetes.io/hostname"}}]}}
    return job


class PreUpgradeSnapshot(pulumi.ComponentResource):
    """The Job that snapshots the volume as the old release left it, before the migrating rollout."""

    job_name: pulumi.Output[str]

    def __init__(self, name: str, args: PreUpgradeSnapshotArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:PreUpgradeSnapshot", name, None, opts)
        self.old = args.old
        manifest = job_manifest(args)
        self.job = k8s.batch.v1.Job(
            f"{name}-job", metadata=manifest["metadata"], spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.dependencies)))
        self.job_name = self.job.metadata.name
        self.register_outputs({"job_name": self.job_name})
