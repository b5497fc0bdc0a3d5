"""Scheduled backups of the state volume with restic (`openclaw:backup`).

A CronJob snapshots the PVC read-only into a restic repository (S3 or restic's REST server),
applies retention with `forget --prune` and reads a random subset of the repository back
(`check --read-data-subset`) on every run. Why restic, what a snapshot of a running gateway holds
and how to restore: docs/backup-runbook.md.

- Placement: the claim is ReadWriteOnce; RWO limits a volume to one *node*, not one pod, so a
  second pod may mount it on the node where the gateway runs. Required podAffinity to the gateway
  (`app: openclaw`, topology kubernetes.io/hostname) puts it there on any RWO class; on
  local-path the PV's own node affinity already pins it to that node.
- The pod does not carry `app: openclaw`: the gateway's Service and network policies select
  that label, and the backup pod must be neither an endpoint nor allowed the gateway's egress.
- Secrets: RESTIC_REPOSITORY, RESTIC_PASSWORD and the S3 keys come from one Vault path through
  the secrets component (`backup_secret_keys`), in the same operator/direct mode as the rest.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.checkov_skips import BACKUP, checkov_skips
from components.config import ConfigError, StackConfig
from components.config.backup import BackupConfig, is_ip, repository_host_port
from components.labels import APP_SELECTOR
from components.netblocks import public_excepts
from components.network import NS_LABEL
from components.secret_keys import SecretKey

CRONJOB_NAME = "openclaw-backup"
NETWORK_POLICY_NAME = "openclaw-backup-egress"
CONTAINER = "restic"
UID = 1000
SOURCE_MOUNT = "/data"
CACHE_MOUNT = "/cache"
BACKUP_HOST = "openclaw-data"  # restic --host: stable across pods, so each run finds its parent
BACKUP_SCRIPT = Path(__file__).with_name("backup.sh")
BACKUP_SELECTOR: dict[str, str] = {"app": "openclaw-backup"}
REPOSITORY_ENV = "RESTIC_REPOSITORY"
PASSWORD_ENV = "RESTIC_PASSWORD"
S3_ENVS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def backup_labels() -> dict[str, str]:
    """Like common_labels, without `app: openclaw` (the Service and gateway policies select it)."""
    return {**BACKUP_SELECTOR, "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "backup",
            "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}


def backup_secret_keys(config: StackConfig) -> list[SecretKey]:
    """The keys the backup pod reads; none when backups are off."""
    b = config.backup
    if not b.enabled:
        return []
    envs = [REPOSITORY_ENV, PASSWORD_ENV, *(S3_ENVS if b.backend == "s3" else ())]
    return [SecretKey(env, b.secret, b.vault_path) for env in envs]


def check_repository_endpoint(config: BackupConfig, repository: str) -> str:
    """Direct mode: RESTIC_REPOSITORY from Vault must connect where egress is open. The message
    names the keys, never the value (it may hold the bucket or credentials)."""
    expected = config.host_port
    actual = repository_host_port(repository)
    if actual != expected:
        where = "is not an s3:/rest: URL" if actual is None else f"connects to {actual[0]}:{actual[1]}"
        raise ConfigError(f"{REPOSITORY_ENV} at Vault path {config.vault_path} {where}, but "
                          f"openclaw:backup.endpoint opens egress to {expected[0]}:{expected[1]} only: "
                          "make them name the same host and port")
    return repository


@dataclass(frozen=True)
class BackupArgs:
    namespace: pulumi.Input[str]
    config: BackupConfig
    claim_name: pulumi.Input[str]
    dns_namespace: str
    dns_pod_labels: dict[str, str]
    cluster_cidrs: list[str] = field(default_factory=list)
    ipv6_egress: bool = False
    # Whatever makes the backup Secret exist: the CronJob waits for it.
    secret_dependencies: Sequence[pulumi.Resource] = field(default_factory=list)


def _secret_env(config: BackupConfig, keys: Sequence[str]) -> list[k8s.core.v1.EnvVarArgs]:
    return [k8s.core.v1.EnvVarArgs(name=k, value_from=k8s.core.v1.EnvVarSourceArgs(
        secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=config.secret, key=k))) for k in keys]


def _port(port: int, protocol: str = "TCP") -> k8s.networking.v1.NetworkPolicyPortArgs:
    return k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol=protocol)


def repository_peers(host: str, cluster_cidrs: Sequence[str],
                     ipv6: bool) -> list[k8s.networking.v1.NetworkPolicyPeerArgs]:
    """Who the repository endpoint is, as NetworkPolicy peers:
    - an IP address: exactly that address (/32 or /128);
    - an in-cluster Service name `<svc>.<namespace>.svc[...]`: the pods of that namespace;
    - a public hostname: NetworkPolicy cannot name a host, so public address space only (every
      non-public block and the cluster CIDRs excepted), as the gateway's public egress; the port
      is what narrows it."""
    if is_ip(host):
        address = ipaddress.ip_address(host)
        return [k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(
            cidr=f"{address}/{address.max_prefixlen}"))]
    parts = host.split(".")
    if len(parts) >= 3 and parts[2] == "svc":
        return [k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NS_LABEL: parts[1]}))]
    peers = [k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(
        cidr="0.0.0.0/0", except_=public_excepts(4, cluster_cidrs)))]
    if ipv6:
        peers.append(k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(
            cidr="::/0", except_=public_excepts(6))))
    return peers


class Backup(pulumi.ComponentResource):
    """The backup CronJob and its own egress policy."""

    cronjob_name: pulumi.Output[str]

    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:Backup", name, None, opts)
        cfg = args.config
        host, port = cfg.host_port
        self.network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-egress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NETWORK_POLICY_NAME, namespace=args.namespace,
                                                labels=backup_labels()),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=BACKUP_SELECTOR),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                match_labels={NS_LABEL: args.dns_namespace}),
                            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=args.dns_pod_labels))],
                        ports=[_port(53, "UDP"), _port(53, "TCP")]),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=repository_peers(host, args.cluster_cidrs, args.ipv6_egress), ports=[_port(port)]),
                ]),
            opts=pulumi.ResourceOptions(parent=self))
        self.cronjob = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CRONJOB_NAME, namespace=args.namespace,
                                                labels=backup_labels(),
                                                annotations=checkov_skips(BACKUP, bool(cfg.image.digest))),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=cfg.schedule,
                # Never two runs at once: restic would queue on its lock, prune needs it exclusive.
                concurrency_policy="Forbid",
                starting_deadline_seconds=600,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=backup_labels()),
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=cfg.backoff_limit,
                        active_deadline_seconds=cfg.active_deadline_seconds,
                        template=self._pod_template(args)))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.secret_dependencies)))
        self.cronjob_name = self.cronjob.metadata.name
        self.register_outputs({"cronjob_name": self.cronjob_name})

    def _pod_template(self, args: BackupArgs) -> k8s.core.v1.PodTemplateSpecArgs:
        cfg = args.config
        secret_keys = [REPOSITORY_ENV, PASSWORD_ENV, *(S3_ENVS if cfg.backend == "s3" else ())]
        r = cfg.retention
        env = [
            *_secret_env(cfg, secret_keys),
            k8s.core.v1.EnvVarArgs(name="BACKUP_SOURCE", value=SOURCE_MOUNT),
            k8s.core.v1.EnvVarArgs(name="BACKUP_HOST", value=BACKUP_HOST),
            k8s.core.v1.EnvVarArgs(name="CHECK_SUBSET", value=cfg.check_subset),
            k8s.core.v1.EnvVarArgs(name="KEEP_LAST", value=str(r.last)),
            k8s.core.v1.EnvVarArgs(name="KEEP_HOURLY", value=str(r.hourly)),
            k8s.core.v1.EnvVarArgs(name="KEEP_DAILY", value=str(r.daily)),
            k8s.core.v1.EnvVarArgs(name="KEEP_WEEKLY", value=str(r.weekly)),
            k8s.core.v1.EnvVarArgs(name="KEEP_MONTHLY", value=str(r.monthly)),
            # The root filesystem is read-only: restic's cache and temp files go to emptyDirs.
            k8s.core.v1.EnvVarArgs(name="RESTIC_CACHE_DIR", value=CACHE_MOUNT),
            k8s.core.v1.EnvVarArgs(name="TMPDIR", value="/tmp"),
            k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),
        ]
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=backup_labels()),
            spec=k8s.core.v1.PodSpecArgs(
                restart_policy="Never",  # a failed run is a failed pod, counted by backoffLimit
                automount_service_account_token=False,  # it never talks to the API server
                enable_service_links=False,
                # No fsGroup: the kubelet must not chown the agents' files for a reader.
                security_context=k8s.core.v1.PodSecurityContextArgs(
                    run_as_user=UID, run_as_group=UID, run_as_non_root=True,
                    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                affinity=k8s.core.v1.AffinityArgs(pod_affinity=k8s.core.v1.PodAffinityArgs(
                    required_during_scheduling_ignored_during_execution=[k8s.core.v1.PodAffinityTermArgs(
                        label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=APP_SELECTOR),
                        topology_key="kubernetes.io/hostname")])),
                containers=[k8s.core.v1.ContainerArgs(
                    name=CONTAINER, image=cfg.image.ref, image_pull_policy="IfNotPresent",
                    command=["/bin/sh", "-c", BACKUP_SCRIPT.read_text(encoding="utf-8"), "openclaw-backup"],
                    env=env,
                    security_context=k8s.core.v1.SecurityContextArgs(
                        run_as_non_root=True, read_only_root_filesystem=True, allow_privilege_escalation=False,
                        privileged=False, capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        # A CPU limit: compression and hashing must never starve the gateway on its node.
                        requests={"cpu": "50m", "memory": "128Mi"}, limits={"cpu": "1", "memory": cfg.memory}),
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(name="data", mount_path=SOURCE_MOUNT, read_only=True),
                        k8s.core.v1.VolumeMountArgs(name="cache", mount_path=CACHE_MOUNT),
                        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                    ])],
                volumes=[
                    k8s.core.v1.VolumeArgs(name="data", persistent_volume_claim=(
                        k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=args.claim_name,
                                                                          read_only=True))),
                    k8s.core.v1.VolumeArgs(name="cache", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                        size_limit="1Gi")),
                    k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                        size_limit="64Mi")),
                ]))
