"""Scheduled backups of the state volume with restic (`openclaw:backup`).

Each run has two steps in one pod: the snapshot step (init container, the gateway's own image and
Node: components/scripts/snapshot.mjs) copies the read-only volume into an emptyDir, every SQLite
database through SQLite's online backup API; then restic stores that tree (never the live volume),
applies retention with `forget --prune` and reads a random subset of the repository back
(`check --read-data-subset`). Why restic, what a snapshot holds and how to restore:
docs/backup-runbook.md.

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
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.backup_pod import (
    CACHE_MOUNT,
    PASSWORD_ENV,
    REPOSITORY_ENV,
    S3_ENVS,
    UID,
    bytes_of,
    claim_volume,
    empty_dir,
    mount,
    pod_security,
    restic_container,
    restic_env,
    snapshot_container,
    value,
)
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
VOLUME_MOUNT = "/volume"   # the claim, read-only, in the snapshot step
SOURCE_MOUNT = "/data"     # the snapshot tree, read-only, in the restic container
BACKUP_HOST = "openclaw-data"  # restic --host: stable across pods, so each run finds its parent
BACKUP_SCRIPT = Path(__file__).with_name("backup.sh")
BACKUP_SELECTOR: dict[str, str] = {"app": "openclaw-backup"}
__all__ = ["BACKUP_HOST", "BACKUP_SCRIPT", "CACHE_MOUNT", "CONTAINER", "PASSWORD_ENV", "REPOSITORY_ENV", "S3_ENVS",
           "UID", "Backup", "BackupArgs", "backup_labels", "backup_secret_keys", "check_repository_endpoint"]


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
    # The gateway's image and release: the snapshot step runs the Node of the release that wrote
    # the volume, and the snapshot is tagged with that release.
    openclaw_image: str
    release: str
    dns_namespace: str
    dns_pod_labels: dict[str, str]
    cluster_cidrs: list[str] = field(default_factory=list)
    ipv6_egress: bool = False
    # Whatever makes the backup Secret exist: the CronJob waits for it.
    secret_dependencies: Sequence[pulumi.Resource] = field(default_factory=list)
    openclaw_image_pinned: bool = False   # both images by digest: checkov's digest checks pass


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


def repository_egress_policy(resource: str, name: str, selector: dict[str, str], labels: dict[str, str],
                             args: BackupArgs, parent: pulumi.Resource) -> k8s.networking.v1.NetworkPolicy:
    """Egress for a pod that talks to the repository and nothing else: DNS, and the repository
    endpoint on its port (the namespace default deny blocks the rest, and all ingress)."""
    host, port = args.config.host_port
    return k8s.networking.v1.NetworkPolicy(
        resource,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
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
        opts=pulumi.ResourceOptions(parent=parent))


class Backup(pulumi.ComponentResource):
    """The backup CronJob and its own egress policy."""

    cronjob_name: pulumi.Output[str]

    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:Backup", name, None, opts)
        cfg = args.config
        self.network_policy = repository_egress_policy(
            f"{name}-egress", NETWORK_POLICY_NAME, BACKUP_SELECTOR, backup_labels(), args, self)
        self.cronjob = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CRONJOB_NAME, namespace=args.namespace,
                                                labels=backup_labels(),
                                                annotations=checkov_skips(
                                                    BACKUP, bool(cfg.image.digest) and args.openclaw_image_pinned)),
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

    def _pod_template(self, args: BackupArgs) -> Any:
        cfg = args.config
        r = cfg.retention
        env = [*restic_env(cfg), value("BACKUP_SOURCE", SOURCE_MOUNT), value("BACKUP_HOST", BACKUP_HOST),
               value("BACKUP_RELEASE", args.release), value("CHECK_SUBSET", cfg.check_subset),
               value("KEEP_LAST", str(r.last)), value("KEEP_HOURLY", str(r.hourly)),
               value("KEEP_DAILY", str(r.daily)), value("KEEP_WEEKLY", str(r.weekly)),
               value("KEEP_MONTHLY", str(r.monthly))]
        return {
            "metadata": {"labels": backup_labels()},
            "spec": {
                "restartPolicy": "Never",  # a failed run is a failed pod, counted by backoffLimit
                "automountServiceAccountToken": False,  # it never talks to the API server
                "enableServiceLinks": False,
                "securityContext": pod_security(),
                "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": APP_SELECTOR}, "topologyKey": "kubernetes.io/hostname"}]}},
                "initContainers": [snapshot_container(
                    args.openclaw_image, args.release, "hourly", VOLUME_MOUNT, SOURCE_MOUNT,
                    bytes_of(cfg.scratch_size),
                    [mount("data", VOLUME_MOUNT, read_only=True), mount("snapshot", SOURCE_MOUNT),
                     mount("tmp", "/tmp")])],
                "containers": [restic_container(
                    CONTAINER, cfg.image.ref, BACKUP_SCRIPT, "openclaw-backup", env, cfg.memory,
                    [mount("snapshot", SOURCE_MOUNT, read_only=True), mount("cache", CACHE_MOUNT),
                     mount("tmp", "/tmp")])],
                "volumes": [claim_volume("data", args.claim_name, read_only=True),
                            empty_dir("snapshot", cfg.scratch_size), empty_dir("cache", "1Gi"),
                            empty_dir("tmp", "64Mi")],
            }}
