"""Edges of the pre-upgrade snapshot (components/snapshot.py): which Node can copy SQLite online,
from both sides of each line's first release with `backup()`; the space kept free on the volume at
its floor and above it; and the Job's containers, volumes and labels with backups on and off."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from components.config import parse_config
from components.releases import RELEASES
from components.snapshot import SnapshotUnsupportedError, pre_upgrade_job, sqlite_method

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
OLD = RELEASES["2026.2.23"]


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
    assert job["metadata"]["name"] == "openclaw-pre-upgrade-2026-6-35"
    assert job["metadata"]["namespace"] == "ns"
    labels = job["metadata"]["labels"]
    assert labels["app"] == "openclaw-backup" and labels["app.kubernetes.io/component"] == "pre-upgrade-snapshot"
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (0, 900)
    pod = job["spec"]["template"]["spec"]
    assert (pod["restartPolicy"], pod["automountServiceAccountToken"], pod["enableServiceLinks"]) == (
        "Never", False, False)
