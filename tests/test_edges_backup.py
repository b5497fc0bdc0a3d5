"""Edges of the hourly backup (components/backup.py), built on its own: the keys its pod reads per
backend (none with backups off), the direct-mode check of RESTIC_REPOSITORY against the endpoint
(whole message, never the value), the repository's egress peers for an address, an in-cluster
Service and a public host (IPv6 only when asked), and the CronJob and its pod whole: every env entry
(each retention count on its own), mount and volume, its placement next to the gateway, its wait
for the backup Secret, its checkov annotations, its place in the tree and its output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.backup import (
    Backup,
    BackupArgs,
    backup_labels,
    backup_secret_keys,
    check_repository_endpoint,
)
from components.backup_pod import restricted, snapshot_container
from components.checkov_skips import BACKUP, checkov_skips
from components.config import ConfigError, parse_config
from components.netblocks import public_excepts
from components.secret_keys import SecretKey
from engine.harness import RunResult
from tests.support.component_outputs import run_with_outputs

REPO = Path(__file__).resolve().parent.parent
LABELS = {"app": "openclaw-backup", "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "backup",
          "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}
DIGEST = "sha256:7fa6e81b04610cb52eec98ddde595104f1ad1d50ea145303ac4407a2bbef2939"  # a made-up digest


def _config(**backup: Any) -> Any:
    return parse_config({"gateway": {"allowedOrigins": ["https://ui.example.test"]}, "backup": {
        "enabled": True, "endpoint": "https://s3.example.test", **backup}})


def test_the_labels_select_the_backup_pods_not_the_gateways() -> None:
    assert backup_labels() == LABELS


@pytest.mark.parametrize(("backup", "envs"), [
    ({"backend": "s3"}, ["RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]),
    ({"backend": "rest", "endpoint": "https://restic.example.test"}, ["RESTIC_REPOSITORY", "RESTIC_PASSWORD"]),
])
def test_the_keys_the_backup_reads_per_backend(backup: dict[str, Any], envs: list[str]) -> None:
    config = _config(secret="bk", vaultPath="apps/bk", **backup)
    assert backup_secret_keys(config) == [SecretKey(env, "bk", "apps/bk") for env in envs]


def test_backups_off_read_no_key() -> None:
    config = parse_config({"gateway": {"allowedOrigins": ["https://ui.example.test"]}})
    assert backup_secret_keys(config) == []


@pytest.mark.parametrize("repository", ["s3:https://s3.example.test/bucket", "s3:s3.example.test/bucket",
                                        "s3:https://s3.example.test:443/b"])
def test_a_repository_on_the_endpoint_passes(repository: str) -> None:
    assert check_repository_endpoint(_config().backup, repository) == repository


@pytest.mark.parametrize(("repository", "where"), [
    ("s3:https://other.example.test/bucket", "connects to other.example.test:443"),
    ("s3:https://s3.example.test:9000/bucket", "connects to s3.example.test:9000"),
    ("/srv/restic", "is not an s3:/rest: URL"),
])
def test_a_repository_elsewhere_is_refused_naming_the_keys_not_the_value(repository: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_repository_endpoint(_config(vaultPath="apps/bk").backup, repository)
    assert str(info.value) == (f"RESTIC_REPOSITORY at Vault path apps/bk {where}, but openclaw:backup.endpoint opens "
                               "egress to s3.example.test:443 only: make them name the same host and port")
    assert "bucket" not in str(info.value)


def _args(cfg: Any, **changes: Any) -> BackupArgs:
    values: dict[str, Any] = {"namespace": "team-a", "config": cfg, "claim_name": "openclaw-data",
                              "openclaw_image": "oc:2026.6.35", "release": "2026.6.35", "dns_namespace": "kube-system",
                              "dns_pod_labels": {"k8s-app": "kube-dns"}, **changes}
    return BackupArgs(**values)


def _run(args: BackupArgs, gated: bool = False) -> tuple[RunResult, dict[str, dict[str, Any]]]:
    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner")
        deps = [k8s.core.v1.ConfigMap("backup-secret", metadata={"name": "stand-in"})] if gated else []
        Backup("backup", BackupArgs(**{**args.__dict__, "secret_dependencies": deps}),
               pulumi.ResourceOptions(parent=owner))
    return run_with_outputs(program)


def _kind(run: RunResult, kind: str) -> Any:
    (record,) = [r for r in run.resources if r.properties.get("kind") == kind]
    return record


@pytest.mark.parametrize(("endpoint", "ipv6", "peers"), [
    ("https://192.168.1.5:9000", True, [{"ipBlock": {"cidr": "192.168.1.5/32"}}]),
    ("https://[fd00::5]:9000", False, [{"ipBlock": {"cidr": "fd00::5/128"}}]),
    ("http://minio.storage.svc:9000", True, [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "storage"}}}]),
    ("http://minio.storage.svc.cluster.local:9000", False, [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "storage"}}}]),
    ("https://s3.example.test:9000", False, [{"ipBlock": {"cidr": "0.0.0.0/0",
                                                          "except": public_excepts(4, ["5.5.0.0/16"])}}]),
    ("https://minio.svc:9000", True, [{"ipBlock": {"cidr": "0.0.0.0/0", "except": public_excepts(4, ["5.5.0.0/16"])}},
                                      {"ipBlock": {"cidr": "::/0", "except": public_excepts(6)}}]),
])
def test_the_repository_egress_peers(endpoint: str, ipv6: bool, peers: list[dict[str, Any]]) -> None:
    run, _ = _run(_args(_config(endpoint=endpoint).backup, cluster_cidrs=["5.5.0.0/16"], ipv6_egress=ipv6))
    policy = _kind(run, "NetworkPolicy")
    assert policy.properties["metadata"] == {"name": "openclaw-backup-egress", "namespace": "team-a", "labels": LABELS}
    assert policy.properties["spec"] == {
        "podSelector": {"matchLabels": {"app": "openclaw-backup"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                   {"to": peers, "ports": [{"port": 9000, "protocol": "TCP"}]}]}


def _secret(key: str) -> dict[str, Any]:
    return {"name": key, "valueFrom": {"secretKeyRef": {"name": "openclaw-backup", "key": key}}}


def test_the_cronjob_and_its_pod_whole() -> None:
    cfg = _config(schedule="7 * * * *", backoffLimit=2, activeDeadlineSeconds=1200, scratchSize="3Gi",
                  memory="700Mi", checkSubset="1/9", retention={"last": 2, "hourly": 5, "daily": 6, "weekly": 7,
                                                                "monthly": 9}).backup
    run, outputs = _run(_args(cfg), gated=True)
    (owner,) = [r for r in run.resources if r.type == "test:index:Owner"]
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Backup"]
    cronjob, policy = _kind(run, "CronJob"), _kind(run, "NetworkPolicy")
    (secret,) = [r for r in run.resources if r.name == "backup-secret"]
    assert (component.name, component.parent) == ("backup", owner.urn)
    assert {(r.name, r.parent) for r in (cronjob, policy)} == {("backup-cronjob", component.urn),
                                                                ("backup-egress", component.urn)}
    assert list(cronjob.dependencies) == [secret.urn]
    assert outputs[component.urn] == {"cronjob_name": "openclaw-backup"}
    assert cronjob.properties["metadata"] == {"name": "openclaw-backup", "namespace": "team-a", "labels": LABELS,
                                              "annotations": checkov_skips(BACKUP, False)}
    spec = cronjob.properties["spec"]
    assert {k: v for k, v in spec.items() if k != "jobTemplate"} == {
        "schedule": "7 * * * *", "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3}
    job = spec["jobTemplate"]
    assert job["metadata"] == {"labels": LABELS}
    assert {k: v for k, v in job["spec"].items() if k != "template"} == {"backoffLimit": 2,
                                                                         "activeDeadlineSeconds": 1200}
    pod = job["spec"]["template"]
    assert pod["metadata"] == {"labels": LABELS}
    assert {k: v for k, v in pod["spec"].items() if k not in ("initContainers", "containers", "volumes")} == {
        "restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False,
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "openclaw"}}, "topologyKey": "kubernetes.io/hostname"}]}}}
    assert pod["spec"]["initContainers"] == [snapshot_container(
        "oc:2026.6.35", "2026.6.35", "hourly", "/volume", "/data", 3 * 2**30,
        [{"name": "data", "mountPath": "/volume", "readOnly": True}, {"name": "snapshot", "mountPath": "/data"},
         {"name": "tmp", "mountPath": "/tmp"}])]
    assert pod["spec"]["containers"] == [{
        "name": "restic", "image": cfg.image.ref, "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", (REPO / "components" / "backup.sh").read_text(encoding="utf-8"),
                    "openclaw-backup"],
        "env": [_secret("RESTIC_REPOSITORY"), _secret("RESTIC_PASSWORD"), _secret("AWS_ACCESS_KEY_ID"),
                _secret("AWS_SECRET_ACCESS_KEY"), {"name": "RESTIC_CACHE_DIR", "value": "/cache"},
                {"name": "TMPDIR", "value": "/tmp"}, {"name": "HOME", "value": "/tmp"},
                {"name": "BACKUP_SOURCE", "value": "/data"}, {"name": "BACKUP_HOST", "value": "openclaw-data"},
                {"name": "BACKUP_RELEASE", "value": "2026.6.35"}, {"name": "CHECK_SUBSET", "value": "1/9"},
                {"name": "KEEP_LAST", "value": "2"}, {"name": "KEEP_HOURLY", "value": "5"},
                {"name": "KEEP_DAILY", "value": "6"}, {"name": "KEEP_WEEKLY", "value": "7"},
                {"name": "KEEP_MONTHLY", "value": "9"}],
        "securityContext": restricted(),
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "700Mi"}},
        "volumeMounts": [{"name": "snapshot", "mountPath": "/data", "readOnly": True},
                         {"name": "cache", "mountPath": "/cache"}, {"name": "tmp", "mountPath": "/tmp"}]}]
    assert pod["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "openclaw-data", "readOnly": True}},
        {"name": "snapshot", "emptyDir": {"sizeLimit": "3Gi"}}, {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]


@pytest.mark.parametrize(("digest", "pinned", "skipped"), [(False, True, False), (True, False, False),
                                                           (True, True, True)])
def test_the_digest_checks_are_kept_until_both_images_are_pinned(digest: bool, pinned: bool, skipped: bool) -> None:
    cfg = _config(**({"image": {"digest": DIGEST}} if digest else {})).backup
    run, _ = _run(_args(cfg, openclaw_image_pinned=pinned))
    assert _kind(run, "CronJob").properties["metadata"]["annotations"] == checkov_skips(BACKUP, skipped)
