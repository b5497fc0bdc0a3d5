"""Edges of the pre-upgrade snapshot (components/snapshot.py): which Node can copy SQLite online,
from both sides of each line's first release with `backup()`; the space kept free on the volume at
its floor and above it; and the Job's containers, volumes and labels with backups on and off."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from components.backup_pod import bytes_of
from components.config import parse_config
from components.releases import RELEASES
from components.snapshot import SnapshotUnsupportedError, pre_upgrade_job, pre_upgrade_snapshot, sqlite_method

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
OLD = RELEASES["2026.2.23"]
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("node", ["22.16.0", "22.22.3", "23.8.0", "23.10.1", "24.0.0", "26.1.0"])
def test_a_node_with_online_backup_is_accepted(node: str) -> None:
    assert sqlite_method(dataclasses.replace(OLD, node=node)) == "online-backup"


@pytest.mark.parametrize("node", ["22.15.9", "22.15.0", "23.7.9", "21.9.0", "20.19.0"])
def test_a_node_without_online_backup_is_refused_naming_the_release(node: str) -> None:
    with pytest.raises(SnapshotUnsupportedError) as error:
        sqlite_method(dataclasses.replace(OLD, node=node))
    assert str(error.value) == (
        f"OpenClaw 2026.2.23 runs Node {node}, whose node:sqlite has no backup(): its databases cannot be copied "
        "while the gateway runs (docs/backup-runbook.md)")
    with pytest.raises(SnapshotUnsupportedError):
        pre_upgrade_job("ns", "claim", dataclasses.replace(OLD, node=node), "img", _backup())


def _backup(**backup: Any) -> Any:
    return parse_config({"gateway": ORIGIN, "backup": backup}).backup


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize(("size", "reserve"), [("500Mi", 64 * 2**20), ("640Mi", 64 * 2**20),
                                               ("650Mi", 65 * 2**20), ("1Gi", 2**30 // 10)])
def test_without_backups_a_tenth_of_the_volume_and_at_least_64_mib_stays_free(size: str, reserve: int) -> None:
    job = pre_upgrade_job("ns", "claim", OLD, "img:2026.2.23", _backup(), size)
    spec = job["spec"]["template"]["spec"]
    assert "initContainers" not in spec
    (snap,) = spec["containers"]
    env = _env(snap)
    assert env["SNAPSHOT_RESERVE_BYTES"] == str(reserve)
    assert (env["SNAPSHOT_PUBLISH"], env["SNAPSHOT_KEEP"], env["SNAPSHOT_STATE_EPOCH"]) == ("2026.2.23", "2", "1")
    assert env["SNAPSHOT_DEST"] == "/pre-upgrade/2026.2.23.partial"
    assert [(m["name"], m["mountPath"], m.get("readOnly", False), m.get("subPath")) for m in snap["volumeMounts"]] == [
        ("data", "/volume", True, None), ("data", "/pre-upgrade", False, ".openclaw-pre-upgrade"),
        ("tmp", "/tmp", False, None)]
    assert spec["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "claim"}},
                               {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]


def test_with_backups_the_copy_goes_to_scratch_space_and_restic_stores_it() -> None:
    backup = _backup(enabled=True, endpoint="https://s3.example.test", scratchSize="3Gi", checkSubset="1/10")
    job = pre_upgrade_job("ns", "claim", RELEASES["2026.6.35"], "img:2026.6.35", backup, "1Gi")
    spec = job["spec"]["template"]["spec"]
    (snap,), (store,) = spec["initContainers"], spec["containers"]
    assert snap["name"] == "snapshot" and snap["image"] == "img:2026.6.35"
    env = _env(snap)
    assert (env["SNAPSHOT_DEST"], env["SNAPSHOT_LIMIT_BYTES"], env["SNAPSHOT_STATE_EPOCH"]) == (
        "/snapshot", str(3 * 2**30), "1")
    assert "SNAPSHOT_PUBLISH" not in env and "SNAPSHOT_RESERVE_BYTES" not in env
    assert [(m["name"], m["mountPath"], m.get("readOnly", False)) for m in snap["volumeMounts"]] == [
        ("data", "/volume", True), ("snapshot", "/snapshot", False), ("tmp", "/tmp", False)]
    stored = _env(store)
    assert store["image"] == "docker.io/restic/restic:0.14.0"
    assert {k: stored[k] for k in ("BACKUP_SOURCE", "BACKUP_RELEASE", "BACKUP_TAG", "BACKUP_RETENTION",
                                   "CHECK_SUBSET")} == {
        "BACKUP_SOURCE": "/snapshot", "BACKUP_RELEASE": "2026.6.35", "BACKUP_TAG": "openclaw-pre-upgrade",
        "BACKUP_RETENTION": "off", "CHECK_SUBSET": "1/10"}
    assert [(m["name"], m["mountPath"], m.get("readOnly", False)) for m in store["volumeMounts"]][:1] == [
        ("snapshot", "/snapshot", True)]
    assert spec["volumes"][:2] == [{"name": "data", "persistentVolumeClaim": {"claimName": "claim", "readOnly": True}},
                                   {"name": "snapshot", "emptyDir": {"sizeLimit": "3Gi"}}]
    assert [v["name"] for v in spec["volumes"]] == ["data", "snapshot", "cache", "tmp"]


@pytest.mark.parametrize("enabled", [False, True])
def test_the_job_is_named_for_the_release_and_labelled_for_the_backup_policy(enabled: bool) -> None:
    backup = _backup(enabled=enabled, endpoint="https://s3.example.test", activeDeadlineSeconds=900)
    job = pre_upgrade_job("ns", "claim", RELEASES["2026.6.35"], "img", backup)
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")   # kubectl can apply it as it is
    assert job["metadata"]["name"] == "openclaw-pre-upgrade-2026-6-35"
    assert job["metadata"]["namespace"] == "ns"
    labels = job["metadata"]["labels"]
    assert labels["app"] == "openclaw-backup" and labels["app.kubernetes.io/component"] == "pre-upgrade-snapshot"
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (0, 900)
    pod = job["spec"]["template"]["spec"]
    assert (pod["restartPolicy"], pod["automountServiceAccountToken"], pod["enableServiceLinks"]) == (
        "Never", False, False)


# --- every container, mount, volume and env entry of the Job, in both modes ---------------------------------

RESTRICTED = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
              "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
SNAPSHOT_ENV = ["SNAPSHOT_SOURCE", "SNAPSHOT_DEST", "SNAPSHOT_RELEASE", "SNAPSHOT_KIND", "SNAPSHOT_LIMIT_BYTES",
                "SNAPSHOT_EXCLUDE", "HOME", "TMPDIR", "NODE_OPTIONS"]


def _secret(key: str) -> dict[str, Any]:
    return {"name": key, "valueFrom": {"secretKeyRef": {"name": "openclaw-backup", "key": key}}}


def _backups_on_pod(memory: str = "768Mi") -> dict[str, Any]:
    backup = _backup(enabled=True, endpoint="https://s3.example.test", scratchSize="3Gi", checkSubset="1/10",
                     memory=memory)
    pod: dict[str, Any] = pre_upgrade_job("ns", "claim", RELEASES["2026.6.35"], "img:2026.6.35", backup,
                                          "1Gi")["spec"]["template"]["spec"]
    return pod


def test_with_backups_the_snapshot_init_container_is_the_old_releases_node_copying_into_scratch_space() -> None:
    (snap,) = _backups_on_pod()["initContainers"]
    assert (snap["name"], snap["image"], snap["imagePullPolicy"]) == ("snapshot", "img:2026.6.35", "IfNotPresent")
    assert snap["command"][:4] == ["node", "--disable-warning=ExperimentalWarning", "--input-type=module", "-e"]
    assert snap["securityContext"] == RESTRICTED
    assert [e["name"] for e in snap["env"]] == [*SNAPSHOT_ENV, "SNAPSHOT_STATE_EPOCH"]
    assert {e["name"]: e["value"] for e in snap["env"]} == {
        "SNAPSHOT_SOURCE": "/volume", "SNAPSHOT_DEST": "/snapshot", "SNAPSHOT_RELEASE": "2026.6.35",
        "SNAPSHOT_KIND": "pre-upgrade", "SNAPSHOT_LIMIT_BYTES": str(3 * 2**30),
        "SNAPSHOT_EXCLUDE": ".openclaw-pre-upgrade", "HOME": "/tmp", "TMPDIR": "/tmp",
        "NODE_OPTIONS": "--max-old-space-size=128", "SNAPSHOT_STATE_EPOCH": "1"}
    assert snap["volumeMounts"] == [{"name": "data", "mountPath": "/volume", "readOnly": True},
                                    {"name": "snapshot", "mountPath": "/snapshot"},
                                    {"name": "tmp", "mountPath": "/tmp"}]


@pytest.mark.parametrize("memory", ["256Mi", "768Mi"])
def test_with_backups_the_restic_container_stores_the_copy_tagged_with_the_old_release(memory: str) -> None:
    (store,) = _backups_on_pod(memory)["containers"]
    assert (store["name"], store["image"], store["imagePullPolicy"]) == (
        "restic-pre-upgrade", "docker.io/restic/restic:0.14.0", "IfNotPresent")
    # busybox sh runs components/backup.sh; its $0 (the process name in `ps`) says which run it is.
    assert store["command"] == ["/bin/sh", "-c", (REPO / "components" / "backup.sh").read_text(encoding="utf-8"),
                                "openclaw-pre-upgrade"]
    assert store["securityContext"] == RESTRICTED
    assert store["resources"]["limits"] == {"cpu": "1", "memory": memory}
    assert store["env"] == [
        _secret("RESTIC_REPOSITORY"), _secret("RESTIC_PASSWORD"), _secret("AWS_ACCESS_KEY_ID"),
        _secret("AWS_SECRET_ACCESS_KEY"),
        {"name": "RESTIC_CACHE_DIR", "value": "/cache"}, {"name": "TMPDIR", "value": "/tmp"},
        {"name": "HOME", "value": "/tmp"}, {"name": "BACKUP_SOURCE", "value": "/snapshot"},
        {"name": "BACKUP_HOST", "value": "openclaw-data"}, {"name": "BACKUP_RELEASE", "value": "2026.6.35"},
        {"name": "BACKUP_TAG", "value": "openclaw-pre-upgrade"}, {"name": "BACKUP_RETENTION", "value": "off"},
        {"name": "CHECK_SUBSET", "value": "1/10"}]
    assert store["volumeMounts"] == [{"name": "snapshot", "mountPath": "/snapshot", "readOnly": True},
                                     {"name": "cache", "mountPath": "/cache"},
                                     {"name": "tmp", "mountPath": "/tmp"}]


@pytest.mark.parametrize("scratch", ["1Gi", "3Gi"])
def test_with_backups_each_volume_and_its_size_limit(scratch: str) -> None:
    backup = _backup(enabled=True, endpoint="https://s3.example.test", scratchSize=scratch)
    pod = pre_upgrade_job("ns", "claim", OLD, "img", backup)["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "claim", "readOnly": True}},
                              {"name": "snapshot", "emptyDir": {"sizeLimit": scratch}},
                              {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
                              {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    (snap,) = pod["initContainers"]
    assert {"name": "SNAPSHOT_LIMIT_BYTES", "value": str(bytes_of(scratch))} in snap["env"]


def test_without_backups_the_one_container_copies_onto_the_volume_with_no_size_limit_but_the_reserve() -> None:
    pod = pre_upgrade_job("ns", "claim", OLD, "img:2026.2.23", _backup())["spec"]["template"]["spec"]
    (snap,) = pod["containers"]
    assert (snap["name"], snap["image"], snap["imagePullPolicy"]) == ("snapshot", "img:2026.2.23", "IfNotPresent")
    assert snap["command"][:4] == ["node", "--disable-warning=ExperimentalWarning", "--input-type=module", "-e"]
    assert snap["securityContext"] == RESTRICTED
    assert [e["name"] for e in snap["env"]] == [*SNAPSHOT_ENV, "SNAPSHOT_PUBLISH", "SNAPSHOT_RESERVE_BYTES",
                                                "SNAPSHOT_KEEP", "SNAPSHOT_STATE_EPOCH"]
    assert {e["name"]: e["value"] for e in snap["env"]} == {
        "SNAPSHOT_SOURCE": "/volume", "SNAPSHOT_DEST": "/pre-upgrade/2026.2.23.partial",
        "SNAPSHOT_RELEASE": "2026.2.23", "SNAPSHOT_KIND": "pre-upgrade", "SNAPSHOT_LIMIT_BYTES": str(2**62),
        "SNAPSHOT_EXCLUDE": ".openclaw-pre-upgrade", "HOME": "/tmp", "TMPDIR": "/tmp",
        "NODE_OPTIONS": "--max-old-space-size=128", "SNAPSHOT_PUBLISH": "2026.2.23",
        "SNAPSHOT_RESERVE_BYTES": str(64 * 2**20), "SNAPSHOT_KEEP": "2", "SNAPSHOT_STATE_EPOCH": "1"}
    assert snap["volumeMounts"] == [{"name": "data", "mountPath": "/volume", "readOnly": True},
                                    {"name": "data", "mountPath": "/pre-upgrade", "subPath": ".openclaw-pre-upgrade"},
                                    {"name": "tmp", "mountPath": "/tmp"}]


@pytest.mark.parametrize("release", ["2026.2.23", "2026.6.35", "2026.9.6"])
def test_each_releases_state_epoch_is_the_one_the_snapshot_expects(release: str) -> None:
    for enabled in (False, True):
        backup = _backup(enabled=enabled, endpoint="https://s3.example.test")
        pod = pre_upgrade_job("ns", "claim", RELEASES[release], "img", backup)["spec"]["template"]["spec"]
        (snap,) = [c for c in [*pod.get("initContainers", []), *pod["containers"]] if c["name"] == "snapshot"]
        assert {"name": "SNAPSHOT_STATE_EPOCH", "value": str(RELEASES[release].state_epoch)} in snap["env"]


@pytest.mark.parametrize("enabled", [False, True])
def test_the_jobs_pod_runs_as_the_agents_uid_without_an_fs_group(enabled: bool) -> None:
    backup = _backup(enabled=enabled, endpoint="https://s3.example.test")
    pod = pre_upgrade_job("ns", "claim", OLD, "img", backup)["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": True,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert set(pod) == {"restartPolicy", "automountServiceAccountToken", "enableServiceLinks", "securityContext",
                        "containers", "volumes", *(["initContainers"] if enabled else [])}


@pytest.mark.parametrize("enabled", [False, True])
def test_the_snapshot_says_where_it_goes_and_by_default_keeps_64_mib_free(enabled: bool) -> None:
    backup = _backup(enabled=enabled, endpoint="https://s3.example.test")
    snapshot = pre_upgrade_snapshot(OLD, "img", "claim", backup)
    assert snapshot.where == ("repository" if enabled else "volume")
    assert snapshot.labels["app"] == "openclaw-backup"
    job = pre_upgrade_job("ns", "claim", OLD, "img", backup)["spec"]["template"]["spec"]
    assert [*job.get("initContainers", []), *job["containers"]] == snapshot.init_containers
    if not enabled:
        (snap,) = snapshot.init_containers
        assert {"name": "SNAPSHOT_RESERVE_BYTES", "value": str(64 * 2**20)} in snap["env"]
