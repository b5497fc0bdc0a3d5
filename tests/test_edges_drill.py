"""Edges of the scheduled restore drill (components/drill.py), built on its own: the pod whole (the
restore init container's every env entry and mount, the verify container, each volume at its size),
the CronJob's every field, its checkov annotations by whether both images are pinned, its own egress
policy, its wait for the backup Secret, its place in the tree and the output it registers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.backup import BackupArgs
from components.checkov_skips import BACKUP, checkov_skips
from components.config import parse_config
from components.drill import RestoreDrill, RestoreDrillArgs, drill_pod
from engine.harness import RunResult
from tests.support.ascii_locale import ascii_locale
from tests.support.component_outputs import run_with_outputs

SCRIPTS = Path(__file__).resolve().parent.parent / "components" / "scripts"
LABELS = {"app": "openclaw-backup-drill", "app.kubernetes.io/name": "openclaw",
          "app.kubernetes.io/component": "backup-drill", "app.kubernetes.io/part-of": "openclaw",
          "app.kubernetes.io/managed-by": "pulumi"}
RESTRICTED = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
              "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
DIGEST = "sha256:7fa6e81b04610cb52eec98ddde595104f1ad1d50ea145303ac4407a2bbef2939"  # a made-up digest


def _backup_args(digest: bool = False, pinned: bool = False, **drill: Any) -> BackupArgs:
    image = {"image": {"digest": DIGEST}} if digest else {}
    cfg = parse_config({"gateway": {"allowedOrigins": ["https://ui.example.test"]}, "backup": {
        "enabled": True, "endpoint": "https://s3.example.test", "checkSubset": "2/7", **image,
        "drill": {"enabled": True, "schedule": "5 3 * * *", "activeDeadlineSeconds": 1800,
                  "scratchSize": "3Gi", "memory": "700Mi", **drill}}}).backup
    return BackupArgs(namespace="team-a", config=cfg, claim_name="openclaw-data", openclaw_image="oc:2026.6.35",
                      release="2026.6.35", dns_namespace="kube-system", dns_pod_labels={"k8s-app": "kube-dns"},
                      openclaw_image_pinned=pinned)


def _secret(key: str) -> dict[str, Any]:
    return {"name": key, "valueFrom": {"secretKeyRef": {"name": "openclaw-backup", "key": key}}}


def test_the_drill_pod_whole() -> None:
    args = RestoreDrillArgs(_backup_args(), agents=["main", "ops"])
    pod = drill_pod(args)
    assert pod["metadata"] == {"labels": LABELS}
    spec = pod["spec"]
    assert {k: spec[k] for k in ("restartPolicy", "automountServiceAccountToken", "enableServiceLinks")} == {
        "restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False}
    assert spec["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": True,
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    (restore,) = spec["initContainers"]
    assert restore == {
        "name": "restore", "image": args.backup.config.image.ref, "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", (SCRIPTS / "drill.sh").read_text(encoding="utf-8"), "openclaw-backup-drill"],
        "env": [_secret("RESTIC_REPOSITORY"), _secret("RESTIC_PASSWORD"), _secret("AWS_ACCESS_KEY_ID"),
                _secret("AWS_SECRET_ACCESS_KEY"), {"name": "RESTIC_CACHE_DIR", "value": "/cache"},
                {"name": "TMPDIR", "value": "/tmp"}, {"name": "HOME", "value": "/tmp"},
                {"name": "DRILL_TARGET", "value": "/scratch/tree"}, {"name": "BACKUP_HOST", "value": "openclaw-data"},
                {"name": "DRILL_TAG", "value": "openclaw-data"}, {"name": "CHECK_SUBSET", "value": "2/7"}],
        "securityContext": RESTRICTED,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "700Mi"}},
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}, {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "cache", "mountPath": "/cache"}]}
    (verify,) = spec["containers"]
    assert verify == {
        "name": "verify", "image": "oc:2026.6.35", "imagePullPolicy": "IfNotPresent",
        "command": ["node", "--disable-warning=ExperimentalWarning", "--input-type=module", "-e",
                    (SCRIPTS / "drill-verify.mjs").read_text(encoding="utf-8")],
        "env": [{"name": "DRILL_TARGET", "value": "/scratch/tree"}, {"name": "DRILL_AGENTS", "value": "main ops"},
                {"name": "HOME", "value": "/tmp"}, {"name": "NODE_OPTIONS", "value": "--max-old-space-size=128"}],
        "securityContext": RESTRICTED,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}, {"name": "tmp", "mountPath": "/tmp"}]}
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {"sizeLimit": "3Gi"}},
                               {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
                               {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]


def _run(args: RestoreDrillArgs) -> tuple[RunResult, dict[str, dict[str, Any]]]:
    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner")
        secret = k8s.core.v1.ConfigMap("backup-secret", metadata={"name": "stand-in"})
        backup = BackupArgs(**{**args.backup.__dict__, "secret_dependencies": [secret]})
        RestoreDrill("drill", RestoreDrillArgs(backup, args.agents, args.openclaw_image_pinned),
                     pulumi.ResourceOptions(parent=owner))
    return run_with_outputs(program)


def test_the_cronjob_every_field_its_policy_its_wait_and_its_place() -> None:
    args = RestoreDrillArgs(_backup_args(), agents=["main"])
    run, outputs = _run(args)
    (owner,) = [r for r in run.resources if r.type == "test:index:Owner"]
    (component,) = [r for r in run.resources if r.type == "openclaw:index:RestoreDrill"]
    (cronjob,) = [r for r in run.resources if r.properties.get("kind") == "CronJob"]
    (policy,) = [r for r in run.resources if r.properties.get("kind") == "NetworkPolicy"]
    (secret,) = [r for r in run.resources if r.name == "backup-secret"]
    assert (component.name, component.parent) == ("drill", owner.urn)
    assert (cronjob.name, cronjob.parent, policy.name, policy.parent) == (
        "drill-cronjob", component.urn, "drill-egress", component.urn)
    assert cronjob.properties["metadata"] == {"name": "openclaw-backup-drill", "namespace": "team-a",
                                              "labels": LABELS, "annotations": checkov_skips(BACKUP, False)}
    spec = cronjob.properties["spec"]
    assert {k: v for k, v in spec.items() if k != "jobTemplate"} == {
        "schedule": "5 3 * * *", "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 3600,
        "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3}
    assert spec["jobTemplate"] == {"metadata": {"labels": LABELS}, "spec": {
        "backoffLimit": 0, "activeDeadlineSeconds": 1800, "template": drill_pod(args)}}
    assert list(cronjob.dependencies) == [secret.urn]
    assert policy.properties["metadata"] == {"name": "openclaw-backup-drill-egress", "namespace": "team-a",
                                             "labels": LABELS}
    assert policy.properties["spec"]["podSelector"] == {"matchLabels": {"app": "openclaw-backup-drill"}}
    assert outputs[component.urn] == {"cronjob_name": "openclaw-backup-drill"}


@pytest.mark.parametrize(("digest", "pinned", "skipped"), [(False, False, False), (True, False, False),
                                                           (False, True, False), (True, True, True)])
def test_the_digest_checks_are_kept_until_both_images_are_pinned(digest: bool, pinned: bool, skipped: bool) -> None:
    run, _ = _run(RestoreDrillArgs(_backup_args(digest=digest), agents=["main"], openclaw_image_pinned=pinned))
    (cronjob,) = [r for r in run.resources if r.properties.get("kind") == "CronJob"]
    assert cronjob.properties["metadata"]["annotations"] == checkov_skips(BACKUP, skipped)


def test_the_verify_script_is_read_as_utf8_whatever_the_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components import drill

    script = tmp_path / "drill-verify.mjs"
    script.write_text("// Zoë's check\n", encoding="utf-8")
    monkeypatch.setattr(drill, "VERIFY_SCRIPT", script)
    with ascii_locale():   # LANG unset on a node or CI runner
        pod = drill_pod(RestoreDrillArgs(_backup_args(), agents=["main"]))
    assert pod["spec"]["containers"][0]["command"][-1] == "// Zoë's check\n"
