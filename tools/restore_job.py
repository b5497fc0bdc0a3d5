"""The in-cluster restore: a new claim and a Job that restores a snapshot into it
(`python -m tools.restore --print-job`); docs/backup-runbook.md says when and how to apply it.

The Job runs tools/restore_job.sh in the pinned restic image under the same restricted security
context as the backup, reads the backup's Secret, and carries the backup pod's labels so the
backup's egress policy (DNS and the repository only) applies to it. No podAffinity: the gateway
is scaled to 0 during a restore, and the new claim binds on the node where the Job lands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.backup import BACKUP_HOST, CACHE_MOUNT, CONTAINER, PASSWORD_ENV, REPOSITORY_ENV, S3_ENVS, UID
from components.backup import backup_labels as labels
from components.config import StackConfig, parse_config
from components.config.backup import BackupConfig
from engine.yaml_text import to_yaml

SCRIPT = Path(__file__).with_name("restore_job.sh")
TARGET = "/restore"


def _labels() -> dict[str, str]:
    # The backup pod's labels (its egress policy selects them), applied by hand, not by Pulumi.
    return {**labels(), "app.kubernetes.io/managed-by": "kubectl"}


def _env(secret: str) -> list[dict[str, Any]]:
    keys = [(REPOSITORY_ENV, False), (PASSWORD_ENV, False), *((k, True) for k in S3_ENVS)]
    return [{"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k, "optional": optional}}}
            for k, optional in keys]


def restore_objects(namespace: str, claim: str, size: str, storage_class: str, snapshot: str,
                    backup: BackupConfig | None = None, release: str | None = None) -> list[dict[str, Any]]:
    """The new claim and the Job that fills it; with `release`, a snapshot of a newer release is refused."""
    cfg = backup or BackupConfig()
    container_ctx = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                     "privileged": False, "capabilities": {"drop": ["ALL"]},
                     "seccompProfile": {"type": "RuntimeDefault"}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": claim, "namespace": namespace, "labels": _labels()},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                    "resources": {"requests": {"storage": size}}}}
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": f"{claim}-job", "namespace": namespace, "labels": _labels()},
           "spec": {"backoffLimit": 0, "activeDeadlineSeconds": cfg.active_deadline_seconds,
                    "template": {"metadata": {"labels": _labels()}, "spec": {
                        "restartPolicy": "Never", "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": {"runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                                            "fsGroupChangePolicy": "OnRootMismatch", "runAsNonRoot": True,
                                            "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [{
                            "name": CONTAINER, "image": cfg.image.ref, "imagePullPolicy": "IfNotPresent",
                            "command": ["/bin/sh", "-c", SCRIPT.read_text(encoding="utf-8"), "openclaw-restore"],
                            "env": [*_env(cfg.secret),
                                    {"name": "RESTORE_TARGET", "value": TARGET},
                                    {"name": "SNAPSHOT", "value": snapshot},
                                    {"name": "BACKUP_HOST", "value": BACKUP_HOST},
                                    *([{"name": "TARGET_RELEASE", "value": release}] if release else []),
                                    {"name": "RESTIC_CACHE_DIR", "value": CACHE_MOUNT},
                                    {"name": "TMPDIR", "value": "/tmp"}, {"name": "HOME", "value": "/tmp"}],
                            "securityContext": container_ctx,
                            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                                          "limits": {"memory": cfg.memory}},
                            "volumeMounts": [{"name": "target", "mountPath": TARGET},
                                             {"name": "cache", "mountPath": CACHE_MOUNT},
                                             {"name": "tmp", "mountPath": "/tmp"}]}],
                        "volumes": [{"name": "target", "persistentVolumeClaim": {"claimName": claim}},
                                    {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
                                    {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]}}}}
    return [pvc, job]


def restore_manifests(claim: str, snapshot: str, stack: str | None = None, namespace: str = "openclaw",
                      size: str = "500Mi", storage_class: str = "local-path-retain",
                      release: str | None = None) -> str:
    """The YAML to apply; with `stack`, namespace, size, class, image, Secret and the target release
    (its `openclaw:image.tag`, unless `release` names another) come from its stack file."""
    backup = None
    if stack is not None:
        config = stack_backup_config(stack)
        namespace, size, storage_class = config.namespace, config.storage.size, config.storage.class_name
        backup = config.backup
        release = release or config.image.tag
    objects = restore_objects(namespace, claim, size, storage_class, snapshot, backup, release)
    return "---\n".join(to_yaml(o) for o in objects)


def stack_backup_config(stack: str) -> StackConfig:
    """The validated config of `Pulumi.<stack>.yaml`, read as the CLI merges it (no engine needed)."""
    from engine.harness import stack_config

    raw, _ = stack_config(stack)
    values = {k.split(":", 1)[1]: json.loads(v) if v.lstrip().startswith(("{", "[")) else v
              for k, v in raw.items() if k.startswith("openclaw:")}
    return parse_config(values)
