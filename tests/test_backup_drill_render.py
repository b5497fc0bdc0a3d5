"""The restore drill and the pre-upgrade snapshot as rendered: objects, pods, egress, config edges."""

from __future__ import annotations

from typing import Any

import pytest

from components.backup_pod import SNAPSHOT_SCRIPT
from components.config import ConfigError, parse_config
from components.config.backup import BackupConfig
from components.drill import DRILL_SCRIPT, VERIFY_SCRIPT
from components.releases import release_for
from components.snapshot import PRE_UPGRADE_TAG, SnapshotUnsupportedError, pre_upgrade_job, sqlite_method
from engine.harness import RunResult, run_stack
from engine.schema import validate_manifests
from tools.render import kubernetes_manifest

ORIGIN = {"allowedOrigins": ["https://openclaw.example"]}
ON = BackupConfig(enabled=True, endpoint="https://s3.lumie.example")


def _pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    return pod


def test_prod_drills_daily_restoring_into_scratch_never_touching_the_volume(prod: RunResult) -> None:
    cronjob = prod.find("CronJob", "openclaw-backup-drill").properties
    assert cronjob["spec"]["schedule"] == "43 4 * * *" and cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] == 3600
    pod = _pod(cronjob)
    assert pod["metadata"]["labels"]["app"] == "openclaw-backup-drill"
    spec = pod["spec"]
    assert "affinity" not in spec and not [v for v in spec["volumes"] if "persistentVolumeClaim" in v]
    assert {v["name"]: v["emptyDir"]["sizeLimit"] for v in spec["volumes"]} == {
        "scratch": "3Gi", "cache": "1Gi", "tmp": "64Mi"}
    (restore,) = spec["initContainers"]
    (verify,) = spec["containers"]
    assert restore["image"] == "docker.io/restic/restic:0.14.0"
    assert restore["command"] == ["/bin/sh", "-c", DRILL_SCRIPT.read_text(encoding="utf-8"), "openclaw-backup-drill"]
    assert {e["name"] for e in restore["env"] if "valueFrom" in e} == {
        "RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    gateway = prod.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]["containers"][0]
    assert verify["image"] == gateway["image"]
    env = {e["name"]: e["value"] for e in verify["env"]}
    agents = env["DRILL_AGENTS"].split()
    assert agents[0] == "main" and len(agents) == 29  # the main workspace and the catalog's 28 agents
    assert not [e for e in verify["env"] if "valueFrom" in e]  # the verify step never sees the repository
    for container in (restore, verify):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert verify["command"][4] == VERIFY_SCRIPT.read_text(encoding="utf-8")


def test_the_drill_has_its_own_egress_dns_and_the_repository_only(prod: RunResult) -> None:
    policy = prod.find("NetworkPolicy", "openclaw-backup-drill-egress").properties["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app": "openclaw-backup-drill"}}
    assert policy["policyTypes"] == ["Egress"] and "ingress" not in policy
    dns, repository = policy["egress"]
    assert [p["port"] for p in dns["ports"]] == [53, 53]
    assert repository["ports"] == [{"port": 443, "protocol": "TCP"}]
    backup = prod.find("NetworkPolicy", "openclaw-backup-egress").properties["spec"]
    assert policy["egress"] == backup["egress"]
    report = validate_manifests([kubernetes_manifest(prod.find("CronJob", "openclaw-backup-drill")),
                                 kubernetes_manifest(prod.find("NetworkPolicy", "openclaw-backup-drill-egress"))])
    assert report.errors == [] and len(report.checked) == 2


def test_dev_has_no_drill_and_a_drill_without_backups_is_refused(dev: RunResult, prod: RunResult) -> None:
    assert not [r for r in dev.kubernetes() if "drill" in r.name]
    drill_log = "kubectl logs -n openclaw -l app=openclaw-backup-drill -c verify --tail=1"
    assert drill_log in prod.outputs["verificationCommands"].value
    assert drill_log not in dev.outputs["verificationCommands"].value
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, "backup": {"drill": {"enabled": True}}})
    assert "openclaw:backup: drill.enabled is true but backups are off" in str(info.value)
    on = run_stack("dev", overrides={"openclaw:backup": {"enabled": True, "endpoint": "https://s3.example",
                                                         "drill": {"enabled": True, "schedule": "5 * * * *"}}})
    assert on.find("CronJob", "openclaw-backup-drill").properties["spec"]["schedule"] == "5 * * * *"


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("maxAgeHours", 2, True), ("maxAgeHours", 1, False), ("maxAgeHours", 744, True), ("maxAgeHours", 745, False),
    ("schedule", "@daily", False), ("scratchSize", "lots", False), ("activeDeadlineSeconds", 299, False)])
def test_drill_bounds(key: str, value: Any, ok: bool) -> None:
    values = {"gateway": ORIGIN, "backup": {"enabled": True, "endpoint": "https://s3.example",
                                            "drill": {"enabled": True, key: value}}}
    if ok:
        parse_config(values)
    else:
        with pytest.raises(ConfigError) as info:
            parse_config(values)
        assert f"openclaw:backup.drill.{key}:" in str(info.value)


def test_every_supported_release_is_copied_online() -> None:
    assert {sqlite_method(release_for(t)) for t in ("2026.2.23", "2026.3.7", "2026.6.35", "2026.9.6")} == {
        "online-backup"}
    from dataclasses import replace
    old = replace(release_for("2026.2.23"), node="22.15.1")
    with pytest.raises(SnapshotUnsupportedError, match=r"Node 22\.15\.1, whose node:sqlite has no backup"):
        sqlite_method(old)
    assert sqlite_method(replace(old, node="22.16.0")) == "online-backup"


def test_pre_upgrade_job_with_backups_stores_in_the_repository_tagged_with_the_old_release() -> None:
    job = pre_upgrade_job("openclaw", "openclaw-data", release_for("2026.2.23"),
                          "ghcr.io/openclaw/openclaw:2026.2.23", ON)
    assert validate_manifests([job]).errors == []
    pod = job["spec"]["template"]["spec"]
    (snap,) = pod["initContainers"]
    (store,) = pod["containers"]
    assert snap["image"] == "ghcr.io/openclaw/openclaw:2026.2.23"  # the old release's Node and image
    assert snap["command"][4] == SNAPSHOT_SCRIPT.read_text(encoding="utf-8")
    assert {e["name"]: e.get("value") for e in snap["env"]}["SNAPSHOT_KIND"] == "pre-upgrade"
    env = {e["name"]: e.get("value") for e in store["env"]}
    assert (env["BACKUP_TAG"], env["BACKUP_RELEASE"], env["BACKUP_RETENTION"]) == (PRE_UPGRADE_TAG, "2026.2.23", "off")
    assert {v["name"]: v for v in pod["volumes"]}["data"]["persistentVolumeClaim"] == {
        "claimName": "openclaw-data", "readOnly": True}
    assert job["spec"]["template"]["metadata"]["labels"]["app"] == "openclaw-backup"  # the backup's egress applies


def test_pre_upgrade_job_without_backups_writes_beside_the_volume_read_only_elsewhere() -> None:
    job = pre_upgrade_job("openclaw", "openclaw-data", release_for("2026.2.23"),
                          "ghcr.io/openclaw/openclaw:2026.2.23", BackupConfig(), volume_size="2Gi")
    assert validate_manifests([job]).errors == []
    pod = job["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    (snap,) = pod["containers"]
    assert snap["volumeMounts"][:2] == [
        {"name": "data", "mountPath": "/volume", "readOnly": True},
        {"name": "data", "mountPath": "/pre-upgrade", "subPath": ".openclaw-pre-upgrade"}]
    env = {e["name"]: e.get("value") for e in snap["env"]}
    assert env["SNAPSHOT_DEST"] == "/pre-upgrade/2026.2.23.partial" and env["SNAPSHOT_PUBLISH"] == "2026.2.23"
    assert env["SNAPSHOT_RESERVE_BYTES"] == str(2 * 1024**3 // 10)
    assert not [e for e in snap["env"] if "valueFrom" in e]
