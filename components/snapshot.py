"""How a release's SQLite state is copied consistently, and the snapshot taken before an upgrade.

`sqlite_method(release)` is the per-release choice (docs/backup-runbook.md, "Why this method"):
every supported release runs a Node whose `node:sqlite` has `backup()` (Node >= 22.16 on the 22
line, >= 23.8 after), so the snapshot step copies each database through SQLite's online backup API
in the release's own image, while the gateway runs. Not `openclaw backup create --verify` (2026.9.x
only): it writes a .tar.gz per run that restic cannot deduplicate, sanitises the shared database
(drops delivery-queue rows), and restores into a `payload/posix/...` layout that needs a manual
activation step (openclaw docs/cli/backup.md). Not a quiesced gateway for the hourly backups: it
would cut every chat once an hour. The volume *is* quiesced before an upgrade (the Deployment is
Recreate with a ReadWriteOnce claim: the old pod is gone), and the same step runs then.

`pre_upgrade_snapshot(...)` returns the init containers and volumes of that snapshot, and
`pre_upgrade_job(...)` the same as a Job manifest, which the program renders before a rollout that
migrates the volume (components/pre_upgrade.py):
- backups on: the snapshot step (the *old* release's image) into an emptyDir, then restic stores
  it with tags `openclaw-pre-upgrade` and `release:<old>` (no retention run: hourly retention is
  scoped to the tag `openclaw-data` and never forgets it);
- backups off: the snapshot step writes onto the volume itself, `.openclaw-pre-upgrade/<old>-<UTC>`
  (the newest 2 kept), after checking that the copy fits with `reserve` bytes left for the
  gateway; a volume too full stops the upgrade with one line, before anything changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from components.backup import BACKUP_HOST, BACKUP_SCRIPT, CONTAINER, backup_labels
from components.backup_pod import (
    CACHE_MOUNT,
    PRE_UPGRADE_DIR,
    bytes_of,
    claim_volume,
    empty_dir,
    mount,
    pod_security,
    restic_container,
    restic_env,
    snapshot_container,
    value,
)
from components.config.backup import BackupConfig
from components.releases import Release

SqliteMethod = Literal["online-backup"]
ONLINE_BACKUP_SINCE = {22: (22, 16, 0), 23: (23, 8, 0)}   # node:sqlite backup() (Node's changelog)
PRE_UPGRADE_TAG = "openclaw-pre-upgrade"
VOLUME = "/volume"
STAGING = "/snapshot"
ON_VOLUME = "/pre-upgrade"


class SnapshotUnsupportedError(ValueError):
    """The release's Node cannot take an online copy of a SQLite database."""


def sqlite_method(release: Release) -> SqliteMethod:
    """How the snapshot step copies `release`'s databases (one answer today; the function is where
    a release whose Node lacks `backup()` would be refused, or given a quiesced copy)."""
    major, minor, patch = (int(x) for x in release.node.split("."))
    since = ONLINE_BACKUP_SINCE.get(major, (major, 0, 0))
    if major < 22 or (major, minor, patch) < since:
        raise SnapshotUnsupportedError(
            f"OpenClaw {release.version} runs Node {release.node}, whose node:sqlite has no backup(): its "
            "databases cannot be copied while the gateway runs (docs/backup-runbook.md)")
    return "online-backup"


@dataclass(frozen=True)
class PreUpgradeSnapshot:
    """What the upgrade path runs before the new release starts: these init containers in this order
    (each exits 0 or stops the pod with one `snapshot: FAILED`/`backup: FAILED` line), with these
    volumes beside the claim's own volume `data`."""

    init_containers: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    labels: dict[str, str] = field(default_factory=backup_labels)   # the backup egress policy selects them
    where: Literal["repository", "volume"] = "repository"


def pre_upgrade_snapshot(release: Release, image: str, claim: Any, backup: BackupConfig,
                         volume_size: str = "500Mi") -> PreUpgradeSnapshot:
    """The snapshot of the volume as `release` (the one running until now, image `image`) left it.
    `volume_size`: the claim's size; with backups off, a tenth of it (at least 64Mi) stays free."""
    sqlite_method(release)
    # The volume must still be in the old release's layout (a stale releaseLock re-runs the Job).
    epoch = value("SNAPSHOT_STATE_EPOCH", str(release.state_epoch))
    if backup.enabled:
        snap = snapshot_container(image, release.version, "pre-upgrade", VOLUME, STAGING, bytes_of(backup.scratch_size),
                                  [mount("data", VOLUME, read_only=True), mount("snapshot", STAGING),
                                   mount("tmp", "/tmp")], [epoch])
        env = [*restic_env(backup), value("BACKUP_SOURCE", STAGING), value("BACKUP_HOST", BACKUP_HOST),
               value("BACKUP_RELEASE", release.version), value("BACKUP_TAG", PRE_UPGRADE_TAG),
               value("BACKUP_RETENTION", "off"), value("CHECK_SUBSET", backup.check_subset)]
        store = restic_container(f"{CONTAINER}-pre-upgrade", backup.image.ref, BACKUP_SCRIPT, "openclaw-pre-upgrade",
                                 env, backup.memory, [mount("snapshot", STAGING, read_only=True),
                                                      mount("cache", CACHE_MOUNT), mount("tmp", "/tmp")])
        return PreUpgradeSnapshot([snap, store], [
            claim_volume("data", claim, read_only=True), empty_dir("snapshot", backup.scratch_size),
            empty_dir("cache", "1Gi"), empty_dir("tmp", "64Mi")], where="repository")
    reserve = max(bytes_of(volume_size) // 10, 64 * 1024 * 1024)
    snap = snapshot_container(
        image, release.version, "pre-upgrade", VOLUME, f"{ON_VOLUME}/{release.version}.partial", 2**62,
        # The same claim twice: read-only as the source, writable only below .openclaw-pre-upgrade.
        [mount("data", VOLUME, read_only=True), mount("data", ON_VOLUME, sub_path=PRE_UPGRADE_DIR),
         mount("tmp", "/tmp")],
        [value("SNAPSHOT_PUBLISH", release.version), value("SNAPSHOT_RESERVE_BYTES", str(reserve)),
         value("SNAPSHOT_KEEP", "2"), epoch])
    return PreUpgradeSnapshot([snap], [claim_volume("data", claim, read_only=False), empty_dir("tmp", "64Mi")],
                              where="volume")


def pre_upgrade_job_name(release: Release) -> str:
    """`openclaw-pre-upgrade-<old release, dots as dashes>`: one Job per release left behind."""
    return f"openclaw-pre-upgrade-{release.version.replace('.', '-')}"


def pre_upgrade_job(namespace: Any, claim: Any, release: Release, image: str, backup: BackupConfig,
                    volume_size: str = "500Mi") -> dict[str, Any]:
    """The pre-upgrade snapshot as a Job (components/pre_upgrade.py renders it before a migrating
    rollout; kubectl can run it by hand): the last init container becomes the Job's container.
    Carries the backup pod's labels, so the backup's egress policy (DNS and the repository only)
    applies."""
    spec = pre_upgrade_snapshot(release, image, claim, backup, volume_size)
    *init, last = spec.init_containers
    labels = {**spec.labels, "app.kubernetes.io/component": "pre-upgrade-snapshot"}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": pre_upgrade_job_name(release),
                         "namespace": namespace, "labels": labels},
            "spec": {"backoffLimit": 0, "activeDeadlineSeconds": backup.active_deadline_seconds,
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "restartPolicy": "Never", "automountServiceAccountToken": False,
                         "enableServiceLinks": False, "securityContext": pod_security(),
                         **({"initContainers": init} if init else {}),
                         "containers": [last], "volumes": spec.volumes}}}}
