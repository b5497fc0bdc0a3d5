"""The scheduled restore drill (`openclaw:backup.drill`): proves on a schedule that the latest
snapshot restores, not only that it was written.

One CronJob, `openclaw-backup-drill`: the init container (restic image, components/scripts/drill.sh)
checks the repository (`restic check --read-data-subset`), restores the latest hourly snapshot into
an emptyDir with `restic restore --verify` and compares the entry count with the snapshot's
listing; the container (the gateway's image: its Node's node:sqlite, components/scripts/
drill-verify.mjs) checks every database the snapshot step copied (PRAGMA integrity_check, no
-wal/-shm beside it) and the workspace layout of the agent catalog. The Job succeeds or fails: the
result is the Job status, and kube-state-metrics' `kube_cronjob_status_last_successful_time` is
what the alert OpenClawRestoreDrillOverdue (components/alerts.py) watches.

It never mounts the state volume, so it needs no placement next to the gateway. Its own egress
policy allows DNS and the repository only, like the backup's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.backup import BACKUP_HOST, BackupArgs, repository_egress_policy
from components.backup_pod import (
    CACHE_MOUNT,
    SCRIPTS,
    SNAPSHOT_RESOURCES,
    empty_dir,
    mount,
    pod_security,
    restic_container,
    restic_env,
    restricted,
    value,
)
from components.checkov_skips import BACKUP, checkov_skips

CRONJOB_NAME = "openclaw-backup-drill"
NETWORK_POLICY_NAME = "openclaw-backup-drill-egress"
DRILL_SELECTOR: dict[str, str] = {"app": "openclaw-backup-drill"}
DRILL_SCRIPT = SCRIPTS / "drill.sh"
VERIFY_SCRIPT = SCRIPTS / "drill-verify.mjs"
SCRATCH = "/scratch"
TARGET = f"{SCRATCH}/tree"


def drill_labels() -> dict[str, str]:
    return {**DRILL_SELECTOR, "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "backup-drill",
            "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}


@dataclass(frozen=True)
class RestoreDrillArgs:
    backup: BackupArgs           # the repository, its Secret and egress, the gateway's image
    agents: Sequence[str]        # the catalog's agent ids ("main" first): the layout a restore must hold
    openclaw_image_pinned: bool = False


def drill_pod(args: RestoreDrillArgs) -> dict[str, Any]:
    cfg = args.backup.config
    scratch = [mount("scratch", SCRATCH), mount("tmp", "/tmp")]
    return {
        "metadata": {"labels": drill_labels()},
        "spec": {
            "restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False,
            "securityContext": pod_security(),
            "initContainers": [restic_container(
                "restore", cfg.image.ref, DRILL_SCRIPT, "openclaw-backup-drill",
                [*restic_env(cfg), value("DRILL_TARGET", TARGET), value("BACKUP_HOST", BACKUP_HOST),
                 value("DRILL_TAG", "openclaw-data"), value("CHECK_SUBSET", cfg.check_subset)],
                cfg.drill.memory, [*scratch, mount("cache", CACHE_MOUNT)])],
            "containers": [{
                "name": "verify", "image": args.backup.openclaw_image, "imagePullPolicy": "IfNotPresent",
                "command": ["node", "--disable-warning=ExperimentalWarning", "--input-type=module", "-e",
                            VERIFY_SCRIPT.read_text(encoding="utf-8")],
                "env": [value("DRILL_TARGET", TARGET), value("DRILL_AGENTS", " ".join(args.agents)),
                        value("HOME", "/tmp"), value("NODE_OPTIONS", "--max-old-space-size=128")],
                "securityContext": restricted(), "resources": SNAPSHOT_RESOURCES, "volumeMounts": scratch,
            }],
            "volumes": [empty_dir("scratch", cfg.drill.scratch_size), empty_dir("cache", "1Gi"),
                        empty_dir("tmp", "64Mi")],
        }}


class RestoreDrill(pulumi.ComponentResource):
    """The restore drill CronJob and its own egress policy."""

    cronjob_name: pulumi.Output[str]

    def __init__(self, name: str, args: RestoreDrillArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:RestoreDrill", name, None, opts)
        cfg = args.backup.config
        self.network_policy = repository_egress_policy(
            f"{name}-egress", NETWORK_POLICY_NAME, DRILL_SELECTOR, drill_labels(), args.backup, self)
        pinned = bool(cfg.image.digest) and args.openclaw_image_pinned
        self.cronjob = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CRONJOB_NAME, namespace=args.backup.namespace,
                                                labels=drill_labels(), annotations=checkov_skips(BACKUP, pinned)),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=cfg.drill.schedule,
                concurrency_policy="Forbid",  # restic's lock, and one scratch restore at a time
                starting_deadline_seconds=3600,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=drill_labels()),
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=0,  # a failed drill is a finding, not something to retry away
                        active_deadline_seconds=cfg.drill.active_deadline_seconds,
                        template=drill_pod(args)))),  # type: ignore[arg-type]  # a manifest dict
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.backup.secret_dependencies)))
        self.cronjob_name = self.cronjob.metadata.name
        self.register_outputs({"cronjob_name": self.cronjob_name})
