"""The backup as rendered: the CronJob, its egress policy, its secrets in both modes, the restore Job."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pulumi
import pytest

from components.backup import BACKUP_SCRIPT, Backup, BackupArgs, backup_labels
from components.backup_pod import SNAPSHOT_SCRIPT
from components.config import ConfigError
from components.config.backup import BackupConfig
from components.netblocks import public_excepts
from components.secrets import VaultKeyMissingError
from engine.harness import RunResult, run_program
from engine.schema import validate_manifests
from tests.vault_fixtures import FAKE_VAULT, run_direct
from tools.render import kubernetes_manifest
from tools.restore_job import SCRIPT as RESTORE_SCRIPT
from tools.restore_job import restore_objects

BACKUP_KEYS = ["RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
FAKE_BACKUP = {"RESTIC_REPOSITORY": "s3:https://s3.lumie.example/openclaw-backup/dev",
               "RESTIC_PASSWORD": "fake-not-a-secret-0010", "AWS_ACCESS_KEY_ID": "fake-not-a-secret-0011",
               "AWS_SECRET_ACCESS_KEY": "fake-not-a-secret-0012", "UNRELATED": "fake-not-a-secret-0013"}
BACKUP_ON = {"openclaw:backup": {"enabled": True, "endpoint": "https://s3.lumie.example"}}


def _pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    return pod


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    wanted = (selector or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def test_prod_cronjob_snapshots_the_claim_read_only_next_to_the_gateway(prod: RunResult) -> None:
    cronjob = prod.find("CronJob", "openclaw-backup").properties
    spec = cronjob["spec"]
    assert spec["schedule"] == "17 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 600
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 1 and job["activeDeadlineSeconds"] == 3000
    pod = _pod(cronjob)["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": True,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert "fsGroup" not in pod["securityContext"]  # the kubelet must not chown the agents' files
    assert pod["affinity"] == {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {"app": "openclaw"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    (container,) = pod["containers"]
    (snapshot,) = pod["initContainers"]
    assert container["image"] == "docker.io/restic/restic:0.14.0"  # no digest until prod pins a real one
    assert container["securityContext"] == {
        "runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
        "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert container["command"] == ["/bin/sh", "-c", BACKUP_SCRIPT.read_text(encoding="utf-8"), "openclaw-backup"]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "openclaw-data", "readOnly": True}
    # The claim is mounted only by the snapshot step, read-only; restic reads the snapshot tree only.
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert "data" not in mounts
    assert mounts["snapshot"] == {"name": "snapshot", "mountPath": "/data", "readOnly": True}
    assert volumes["snapshot"] == {"name": "snapshot", "emptyDir": {"sizeLimit": "3Gi"}}  # prod's scratchSize
    snap_mounts = {m["name"]: m for m in snapshot["volumeMounts"]}
    assert snap_mounts["data"] == {"name": "data", "mountPath": "/volume", "readOnly": True}
    assert snap_mounts["snapshot"] == {"name": "snapshot", "mountPath": "/data"}
    # The snapshot step runs the gateway's own image: the Node of the release that writes the volume.
    assert snapshot["image"] == prod.find("Deployment", "openclaw").properties["spec"]["template"]["spec"][
        "containers"][0]["image"]
    assert snapshot["command"][:5] == ["node", "--disable-warning=ExperimentalWarning", "--input-type=module", "-e",
                                       SNAPSHOT_SCRIPT.read_text(encoding="utf-8")]
    assert snapshot["securityContext"] == container["securityContext"]
    assert snapshot["resources"]["limits"] == {"cpu": "1", "memory": "256Mi"}
    snap_env = {e["name"]: e.get("value") for e in snapshot["env"]}
    assert snap_env["SNAPSHOT_SOURCE"] == "/volume" and snap_env["SNAPSHOT_DEST"] == "/data"
    assert snap_env["SNAPSHOT_RELEASE"] == "2026.2.23" and snap_env["SNAPSHOT_KIND"] == "hourly"
    assert snap_env["SNAPSHOT_LIMIT_BYTES"] == str(3 * 1024**3)
    assert not [e for e in snapshot["env"] if "valueFrom" in e]  # no secret reaches the snapshot step
    # restic writes its cache and temp files: emptyDirs, since the root filesystem is read-only.
    assert volumes["cache"]["emptyDir"] and volumes["tmp"]["emptyDir"]
    assert {mounts["cache"]["mountPath"], mounts["tmp"]["mountPath"]} == {"/cache", "/tmp"}
    env = {e["name"]: e for e in container["env"]}
    for key in BACKUP_KEYS:
        assert env[key] == {"name": key, "valueFrom": {"secretKeyRef": {"name": "openclaw-backup", "key": key}}}
    plain = {k: e["value"] for k, e in env.items() if "value" in e}
    assert plain == {"BACKUP_SOURCE": "/data", "BACKUP_HOST": "openclaw-data", "CHECK_SUBSET": "5%",
                     "BACKUP_RELEASE": "2026.2.23",
                     "KEEP_LAST": "3", "KEEP_HOURLY": "24", "KEEP_DAILY": "14", "KEEP_WEEKLY": "8",
                     "KEEP_MONTHLY": "12", "RESTIC_CACHE_DIR": "/cache", "TMPDIR": "/tmp", "HOME": "/tmp"}


def test_the_backup_pod_is_neither_a_service_endpoint_nor_under_the_gateway_policies(prod: RunResult) -> None:
    labels = _pod(prod.find("CronJob", "openclaw-backup").properties)["metadata"]["labels"]
    assert labels == backup_labels() and labels.get("app") != "openclaw"
    assert not _selects({"matchLabels": prod.find("Service", "openclaw").properties["spec"]["selector"]}, labels)
    gateway_labels = prod.find("Deployment", "openclaw").properties["spec"]["template"]["metadata"]["labels"]
    for record in prod.kubernetes():
        if record.properties["kind"] != "NetworkPolicy":
            continue
        props = record.properties
        selector = props["spec"].get("podSelector")
        name = props["metadata"]["name"]
        if name == "openclaw-default-deny":
            assert _selects(selector, labels)  # the namespace-wide deny covers it
        elif name == "openclaw-backup-egress":
            assert _selects(selector, labels) and not _selects(selector, gateway_labels)
        else:
            assert not _selects(selector, labels), name


def _backup_policy(endpoint: str, ipv6: bool = False, **extra: Any) -> dict[str, Any]:
    config = BackupConfig(enabled=True, endpoint=endpoint, **extra)

    def program() -> None:
        Backup("b", BackupArgs(namespace="ns", config=config, claim_name="claim", openclaw_image="oc:1",
                               release="2026.2.23", dns_namespace="kube-system",
                               dns_pod_labels={"k8s-app": "kube-dns"}, cluster_cidrs=["10.42.0.0/16"],
                               ipv6_egress=ipv6))
    run = run_program(program)
    return run.find("NetworkPolicy", "openclaw-backup-egress").properties


DNS_RULE = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


@pytest.mark.parametrize(("endpoint", "ipv6", "peers", "port"), [
    ("https://s3.eu-central-1.amazonaws.com", False,
     [{"ipBlock": {"cidr": "0.0.0.0/0", "except": public_excepts(4, ["10.42.0.0/16"])}}], 443),
    ("https://s3.example.com:8443", True,
     [{"ipBlock": {"cidr": "0.0.0.0/0", "except": public_excepts(4, ["10.42.0.0/16"])}},
      {"ipBlock": {"cidr": "::/0", "except": public_excepts(6)}}], 8443),
    ("http://10.0.5.20:9000", True, [{"ipBlock": {"cidr": "10.0.5.20/32"}}], 9000),
    ("https://[2001:db8::5]", False, [{"ipBlock": {"cidr": "2001:db8::5/128"}}], 443),
    ("http://minio.storage.svc.cluster.local:9000", False,
     [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "storage"}}}], 9000),
    ("http://rest.backup.svc", False,
     [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "backup"}}}], 80),
])
def test_egress_is_dns_and_the_repository_endpoint_only(endpoint: str, ipv6: bool, peers: list[dict[str, Any]],
                                                       port: int) -> None:
    policy = _backup_policy(endpoint, ipv6)
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app": "openclaw-backup"}}
    assert policy["spec"]["policyTypes"] == ["Egress"] and "ingress" not in policy["spec"]
    assert policy["spec"]["egress"] == [DNS_RULE, {"to": peers, "ports": [{"port": port, "protocol": "TCP"}]}]


def test_public_egress_excepts_every_non_public_block_and_the_cluster() -> None:
    block = _backup_policy("https://s3.example.com")["spec"]["egress"][1]["to"][0]["ipBlock"]
    excepted = [ipaddress.ip_network(e) for e in block["except"]]
    for private in ("10.0.0.1", "10.42.3.4", "169.254.169.254", "100.64.0.1", "127.0.0.1", "192.168.1.1"):
        assert any(ipaddress.ip_address(private) in net for net in excepted), private
    assert not any(ipaddress.ip_address("52.219.0.1") in net for net in excepted)


def test_operator_mode_syncs_exactly_the_backup_keys_without_restarting_the_gateway(prod: RunResult) -> None:
    synced = prod.find("VaultStaticSecret", "openclaw-backup").properties["spec"]
    assert synced["path"] == "applications/openclaw-backup" and synced["mount"] == "secret"
    assert synced["destination"]["transformation"] == {"excludeRaw": True,
                                                       "includes": [f"^{k}$" for k in BACKUP_KEYS]}
    assert synced["rolloutRestartTargets"] == []  # a CronJob reads its Secret at every run
    gateway = prod.find("VaultStaticSecret", "openclaw-secrets").properties["spec"]
    assert gateway["rolloutRestartTargets"] == [{"kind": "Deployment", "name": "openclaw"}]
    (policy,) = prod.by_type("vault:index/policy:Policy")
    assert 'path "secret/data/applications/openclaw-backup"' in policy.properties["policy"]
    deployment = json.dumps(prod.find("Deployment", "openclaw").properties)
    assert "RESTIC" not in deployment and "openclaw-backup" not in deployment


def test_the_rest_backend_requests_no_object_store_keys() -> None:
    def program() -> None:
        Backup("b", BackupArgs(namespace="ns", openclaw_image="oc:1", release="2026.2.23",
                               config=BackupConfig(enabled=True, endpoint="https://rest.example",
                                                                   backend="rest"),
                               claim_name="claim", dns_namespace="kube-system", dns_pod_labels={}))
    run = run_program(program)
    env = [e["name"] for e in _pod(run.find("CronJob", "openclaw-backup").properties)["spec"]["containers"][0]["env"]
           if "valueFrom" in e]
    assert env == ["RESTIC_REPOSITORY", "RESTIC_PASSWORD"]


def test_backups_off_creates_nothing_and_reads_nothing(dev: RunResult) -> None:
    names = {(r.properties["kind"], r.properties["metadata"]["name"]) for r in dev.kubernetes()}
    assert not any("backup" in name for _, name in names)
    assert not dev.by_type("openclaw:index:Backup")
    (policy,) = dev.by_type("vault:index/policy:Policy")
    assert "openclaw-backup" not in policy.properties["policy"]


VAULT = {**FAKE_VAULT, "applications/openclaw-backup": FAKE_BACKUP}


def test_direct_mode_writes_the_backup_secret_as_pulumi_secrets() -> None:
    run = run_direct(BACKUP_ON, VAULT)
    secret = run.find("Secret", "openclaw-backup")
    assert sorted(secret.properties["stringData"]) == sorted(BACKUP_KEYS)  # UNRELATED is not copied
    for key in BACKUP_KEYS:
        path = f"stringData.{key}"
        assert any(path == p or path.startswith(p + ".") for p in secret.secret_paths), key
    cronjob = json.dumps(run.find("CronJob", "openclaw-backup").properties)
    assert not any(v in cronjob for v in FAKE_BACKUP.values())
    assert run.find("Deployment", "openclaw")  # the gateway is untouched


def test_direct_mode_refuses_a_repository_that_egress_does_not_reach() -> None:
    vault = {**VAULT, "applications/openclaw-backup": {
        **FAKE_BACKUP, "RESTIC_REPOSITORY": "s3:https://other-store.example:9000/openclaw-backup/dev"}}
    with pytest.raises(ConfigError) as info:
        run_direct(BACKUP_ON, vault)
    message = str(info.value)
    assert message == ("RESTIC_REPOSITORY at Vault path applications/openclaw-backup connects to "
                       "other-store.example:9000, but openclaw:backup.endpoint opens egress to s3.lumie.example:443 "
                       "only: make them name the same host and port")
    assert "openclaw-backup/dev" not in message  # the bucket/path stays out of the message
    assert isinstance(info.value, pulumi.RunError)


def test_direct_mode_names_a_missing_backup_key() -> None:
    vault = {**VAULT, "applications/openclaw-backup": {k: v for k, v in FAKE_BACKUP.items()
                                                       if k != "RESTIC_PASSWORD"}}
    with pytest.raises(VaultKeyMissingError) as info:
        run_direct(BACKUP_ON, vault)
    assert ("secret/applications/openclaw-backup has no key RESTIC_PASSWORD (needed in Secret openclaw-backup)"
            in str(info.value))


def test_the_restore_job_is_valid_restricted_and_uses_the_backup_secret() -> None:
    objects = restore_objects("openclaw", "openclaw-data-restore", "500Mi", "local-path-retain", "latest")
    report = validate_manifests(objects)
    assert report.errors == [] and len(report.checked) == 2
    pvc, job = objects
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"] and pvc["metadata"]["name"] == "openclaw-data-restore"
    pod = job["spec"]["template"]["spec"]
    assert job["spec"]["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["command"][2] == RESTORE_SCRIPT.read_text(encoding="utf-8")
    assert {v["name"]: v for v in pod["volumes"]}["target"]["persistentVolumeClaim"] == {
        "claimName": "openclaw-data-restore"}
    # The backup's egress policy selects it: DNS and the repository only.
    assert job["spec"]["template"]["metadata"]["labels"]["app"] == "openclaw-backup"
    assert "affinity" not in pod  # the gateway is at 0 replicas during a restore
    refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    assert {r["name"] for r in refs} == {"openclaw-backup"}


def test_kubernetes_manifest_of_the_cronjob_is_schema_valid(prod: RunResult) -> None:
    report = validate_manifests([kubernetes_manifest(prod.find("CronJob", "openclaw-backup")),
                                 kubernetes_manifest(prod.find("NetworkPolicy", "openclaw-backup-egress"))])
    assert report.errors == [] and len(report.checked) == 2


def test_print_job_takes_the_stack_file(tmp_path: Any) -> None:
    import subprocess
    import sys

    import yaml

    done = subprocess.run([sys.executable, "-m", "tools.restore", "--print-job", "--stack", "prod", "--snapshot",
                           "1a2b3c4d"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    pvc, job = yaml.safe_load_all(done.stdout)
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"  # prod's volume size
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/restic/restic:0.14.0"
    assert {"name": "SNAPSHOT", "value": "1a2b3c4d"} in container["env"]
    bad = subprocess.run([sys.executable, "-m", "tools.restore", "--print-job", "--stack", "nope"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith("restore: no stack file Pulumi.nope.yaml; stacks here: dev, prod")


def test_verification_commands_show_the_backup_runs_when_on(dev: RunResult, prod: RunResult) -> None:
    assert not any("openclaw-backup" in c for c in dev.outputs["verificationCommands"].value)
    assert "kubectl get cronjob,jobs -n openclaw -l app=openclaw-backup" in prod.outputs["verificationCommands"].value
