"""Edges of the pieces every backup-side pod is built from (components/backup_pod.py): the repository's
variables per backend (and optional for a reader that may lack the S3 keys), restic's own
environment, a quantity in bytes, each volume and mount shape from both sides of each switch, the
snapshot and restic containers whole. The pre-upgrade Job's edge tests (tests/test_edges_snapshot.py)
check them in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.backup_pod import (
    bytes_of,
    claim_volume,
    empty_dir,
    mount,
    pod_security,
    restic_container,
    restic_env,
    restricted,
    secret_env,
    snapshot_container,
)
from components.config import parse_config
from tests.support.ascii_locale import ascii_locale

SNAPSHOT_SCRIPT = Path(__file__).resolve().parent.parent / "components" / "scripts" / "snapshot.mjs"


def _backup(**backup: Any) -> Any:
    return parse_config({"gateway": {"allowedOrigins": ["https://ui.example.test"]},
                         "backup": {"enabled": True, "endpoint": "https://s3.example.test", **backup}}).backup


def _ref(secret: str, key: str, optional: bool = False) -> dict[str, Any]:
    return {"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key,
                                                        **({"optional": True} if optional else {})}}}


def test_an_s3_repository_needs_its_keys_from_the_secret() -> None:
    assert secret_env(_backup(backend="s3", secret="bk")) == [
        _ref("bk", "RESTIC_REPOSITORY"), _ref("bk", "RESTIC_PASSWORD"), _ref("bk", "AWS_ACCESS_KEY_ID"),
        _ref("bk", "AWS_SECRET_ACCESS_KEY")]


def test_a_rest_repository_needs_no_s3_keys_unless_they_are_optional() -> None:
    rest = _backup(backend="rest", endpoint="https://restic.example.test")
    assert secret_env(rest) == [_ref("openclaw-backup", "RESTIC_REPOSITORY"),
                                _ref("openclaw-backup", "RESTIC_PASSWORD")]
    assert secret_env(rest, optional_s3=True) == [
        _ref("openclaw-backup", "RESTIC_REPOSITORY"), _ref("openclaw-backup", "RESTIC_PASSWORD"),
        _ref("openclaw-backup", "AWS_ACCESS_KEY_ID", optional=True),
        _ref("openclaw-backup", "AWS_SECRET_ACCESS_KEY", optional=True)]


def test_restic_keeps_its_cache_and_temporary_files_on_the_mounted_volumes() -> None:
    rest = _backup(backend="rest", endpoint="https://restic.example.test")
    assert restic_env(rest)[2:] == [{"name": "RESTIC_CACHE_DIR", "value": "/cache"},
                                    {"name": "TMPDIR", "value": "/tmp"}, {"name": "HOME", "value": "/tmp"}]


@pytest.mark.parametrize(("quantity", "expected"), [("1Mi", 2**20), ("64Mi", 64 * 2**20), ("1Gi", 2**30),
                                                    ("1.5Gi", 3 * 2**29)])
def test_a_quantity_in_bytes(quantity: str, expected: int) -> None:
    assert bytes_of(quantity) == expected and isinstance(bytes_of(quantity), int)


def test_each_volume_and_mount_shape() -> None:
    assert empty_dir("tmp", "64Mi") == {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}
    assert claim_volume("data", "c", read_only=True) == {"name": "data", "persistentVolumeClaim": {
        "claimName": "c", "readOnly": True}}
    assert claim_volume("data", "c", read_only=False) == {"name": "data", "persistentVolumeClaim": {"claimName": "c"}}
    assert mount("a", "/a") == {"name": "a", "mountPath": "/a"}
    assert mount("a", "/a", read_only=True) == {"name": "a", "mountPath": "/a", "readOnly": True}
    assert mount("a", "/a", sub_path="s") == {"name": "a", "mountPath": "/a", "subPath": "s"}
    assert mount("a", "/a", sub_path="") == {"name": "a", "mountPath": "/a"}


def test_the_security_contexts() -> None:
    assert restricted() == {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "privileged": False, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod_security() == {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": True,
                              "seccompProfile": {"type": "RuntimeDefault"}}


@pytest.mark.parametrize("extra", [None, [{"name": "X", "value": "1"}]])
def test_the_snapshot_container_whole(extra: list[dict[str, str]] | None) -> None:
    mounts = [mount("data", "/volume", read_only=True)]
    container = snapshot_container("img:1", "2026.6.35", "hourly", "/volume", "/snapshot", 1024, mounts, extra)
    assert container == {
        "name": "snapshot", "image": "img:1", "imagePullPolicy": "IfNotPresent",
        "command": ["node", "--disable-warning=ExperimentalWarning", "--input-type=module", "-e",
                    SNAPSHOT_SCRIPT.read_text(encoding="utf-8")],
        "env": [{"name": "SNAPSHOT_SOURCE", "value": "/volume"}, {"name": "SNAPSHOT_DEST", "value": "/snapshot"},
                {"name": "SNAPSHOT_RELEASE", "value": "2026.6.35"}, {"name": "SNAPSHOT_KIND", "value": "hourly"},
                {"name": "SNAPSHOT_LIMIT_BYTES", "value": "1024"},
                {"name": "SNAPSHOT_EXCLUDE", "value": ".openclaw-pre-upgrade"}, {"name": "HOME", "value": "/tmp"},
                {"name": "TMPDIR", "value": "/tmp"}, {"name": "NODE_OPTIONS", "value": "--max-old-space-size=128"},
                *(extra or [])],
        "securityContext": restricted(),
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
        "volumeMounts": mounts}


def test_the_restic_container_whole(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("echo é\n", encoding="utf-8")
    env = [{"name": "A", "value": "1"}]
    mounts = [mount("cache", "/cache")]
    assert restic_container("restic", "restic:1", script, "openclaw-backup", env, "300Mi", mounts) == {
        "name": "restic", "image": "restic:1", "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", "echo é\n", "openclaw-backup"], "env": env, "securityContext": restricted(),
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "300Mi"}},
        "volumeMounts": mounts}


def test_both_scripts_are_read_as_utf8_whatever_the_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components import backup_pod

    snapshot = tmp_path / "snapshot.mjs"
    snapshot.write_text("// Zoë's copy\n", encoding="utf-8")
    shell = tmp_path / "run.sh"
    shell.write_text("# Zoë's run\n", encoding="utf-8")
    monkeypatch.setattr(backup_pod, "SNAPSHOT_SCRIPT", snapshot)
    with ascii_locale():   # LANG unset on a node or CI runner
        snap = snapshot_container("img", "2026.6.35", "hourly", "/volume", "/snapshot", 1, [])
        restic = restic_container("restic", "restic:1", shell, "x", [], "300Mi", [])
    assert (snap["command"][-1], restic["command"][2]) == ("// Zoë's copy\n", "# Zoë's run\n")
