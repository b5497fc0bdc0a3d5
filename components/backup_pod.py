"""The pieces every backup-side pod is built from, as Kubernetes manifest dicts (camelCase): the
snapshot container (the release's own image and Node, components/scripts/snapshot.mjs), the restic
container, their restricted security context and environment. The backup CronJob, the restore
drill, the pre-upgrade snapshot and the restore Job (tools/restore_job.py) share them, so the
hardening and the environment are written once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.config.backup import BackupConfig
from components.config.base import quantity_mib

UID = 1000
SCRIPTS = Path(__file__).parent / "scripts"
SNAPSHOT_SCRIPT = SCRIPTS / "snapshot.mjs"
MANIFEST = ".openclaw-snapshot.json"   # written last by the snapshot step, at the tree's root
PRE_UPGRADE_DIR = ".openclaw-pre-upgrade"   # on-volume snapshots when backups are off
CACHE_MOUNT = "/cache"
REPOSITORY_ENV = "RESTIC_REPOSITORY"
PASSWORD_ENV = "RESTIC_PASSWORD"
S3_ENVS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
SNAPSHOT_CONTAINER = "snapshot"
# node:sqlite's backup() runs SQLite's page copy in native memory; the JS heap stays small.
SNAPSHOT_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}


def restricted() -> dict[str, Any]:
    """The container security context of every backup-side container (the policy pack's baseline)."""
    return {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
            "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def pod_security() -> dict[str, Any]:
    # No fsGroup: the kubelet must not chown the agents' files for a reader.
    return {"runAsUser": UID, "runAsGroup": UID, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def value(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "value": text}


def secret_env(cfg: BackupConfig, optional_s3: bool = False) -> list[dict[str, Any]]:
    """The repository's variables, from the backup Secret only (never a value in the manifest)."""
    keys = [(REPOSITORY_ENV, False), (PASSWORD_ENV, False)]
    if cfg.backend == "s3" or optional_s3:
        keys += [(k, optional_s3) for k in S3_ENVS]
    return [{"name": k, "valueFrom": {"secretKeyRef": {"name": cfg.secret, "key": k,
                                                        **({"optional": True} if optional else {})}}}
            for k, optional in keys]


def restic_env(cfg: BackupConfig) -> list[dict[str, Any]]:
    # The root filesystem is read-only: restic's cache and temp files go to emptyDirs.
    return [*secret_env(cfg), value("RESTIC_CACHE_DIR", CACHE_MOUNT), value("TMPDIR", "/tmp"), value("HOME", "/tmp")]


def bytes_of(quantity: str) -> int:
    return int(quantity_mib(quantity) * 1024 * 1024)


def empty_dir(name: str, size: str) -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": size}}


def claim_volume(name: str, claim: Any, read_only: bool) -> dict[str, Any]:
    return {"name": name, "persistentVolumeClaim": {"claimName": claim, **({"readOnly": True} if read_only else {})}}


def mount(name: str, path: str, read_only: bool = False, sub_path: str | None = None) -> dict[str, Any]:
    return {"name": name, "mountPath": path, **({"readOnly": True} if read_only else {}),
            **({"subPath": sub_path} if sub_path else {})}


def snapshot_container(image: str, release: str, kind: str, source: str, dest: str, limit_bytes: int,
                       mounts: list[dict[str, Any]], extra_env: list[dict[str, Any]] | None = None
                       ) -> dict[str, Any]:
    """The snapshot step: the release's own image (its Node has node:sqlite's backup()), the volume
    read-only at `source`, the consistent tree written to `dest`."""
    return {
        "name": SNAPSHOT_CONTAINER, "image": image, "imagePullPolicy": "IfNotPresent",
        # The image's entrypoint would start the gateway: the command is explicit.
        "command": ["node", "--disable-warning=ExperimentalWarning", "--input-type=module", "-e",
                    SNAPSHOT_SCRIPT.read_text(encoding="utf-8")],
        "env": [value("SNAPSHOT_SOURCE", source), value("SNAPSHOT_DEST", dest), value("SNAPSHOT_RELEASE", release),
                value("SNAPSHOT_KIND", kind), value("SNAPSHOT_LIMIT_BYTES", str(limit_bytes)),
                value("SNAPSHOT_EXCLUDE", PRE_UPGRADE_DIR), value("HOME", "/tmp"), value("TMPDIR", "/tmp"),
                value("NODE_OPTIONS", "--max-old-space-size=128"), *(extra_env or [])],
        "securityContext": restricted(),
        "resources": SNAPSHOT_RESOURCES,
        "volumeMounts": mounts,
    }


def restic_container(name: str, image: str, script: Path, argv0: str, env: list[dict[str, Any]],
                     memory: str, mounts: list[dict[str, Any]]) -> dict[str, Any]:
    """A POSIX sh script from components/ run by the restic image's busybox sh."""
    return {
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", script.read_text(encoding="utf-8"), argv0],
        "env": env,
        "securityContext": restricted(),
        # A CPU limit: compression and hashing must never starve the gateway on its node.
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": memory}},
        "volumeMounts": mounts,
    }
