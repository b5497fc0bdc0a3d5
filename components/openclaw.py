"""The whole deployment: one component that composes namespace, storage, RBAC, network
policies, secrets and the gateway, wired by the stack configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

import agents
from components.alerts import Alerts, AlertsArgs
from components.backup import REPOSITORY_ENV, Backup, BackupArgs, backup_secret_keys, check_repository_endpoint
from components.cluster_reads import reader_for
from components.config import ConfigError, StackConfig, load_config
from components.config.network import require_cluster_facts
from components.drill import RestoreDrill, RestoreDrillArgs
from components.existing_objects import DeclaredObjects
from components.existing_objects import gate as existing_gate
from components.gateway import Gateway, GatewayArgs
from components.namespace import Namespace, NamespaceArgs
from components.network import NetworkArgs, NetworkPolicies
from components.openclaw_json import GATEWAY_TOKEN_ENV
from components.pre_upgrade import (
    PreUpgradeSnapshot,
    PreUpgradeSnapshotArgs,
    snapshot_due,
    unsnapshotted_migration_warning,
)
from components.provider import kubernetes_provider, with_field_manager
from components.rbac import Rbac, RbacArgs
from components.releases import UnknownReleaseError, release_for
from components.secret_keys import required_secret_keys
from components.secrets import VaultSecrets, VaultSecretsArgs
from components.snapshot import SnapshotUnsupportedError, pre_upgrade_job_name, sqlite_method
from components.storage import Storage, StorageArgs, check_volume_growth
from components.teleport import teleport_app


@dataclass(frozen=True)
class OpenClawArgs:
    config: StackConfig
    catalog: agents.Catalog


def load_inputs() -> tuple[StackConfig, agents.Catalog]:
    """The validated stack config and agent catalog; bad input is one clean error, no traceback."""
    config = load_config()
    require_cluster_facts(config.network)
    try:
        catalog = agents.load_catalog(provider_models=config.models.model_refs)
    except agents.CatalogError as exc:
        raise ConfigError(f"invalid agent catalog:\n{exc}") from None
    return config, catalog


def check_snapshot_method(tag: str) -> None:
    """The snapshot step can copy this release's databases consistently (components/snapshot.py);
    a tag the release model does not know is its own error, raised where the release is resolved."""
    try:
        sqlite_method(release_for(tag))
    except UnknownReleaseError:
        return
    except SnapshotUnsupportedError as exc:
        raise ConfigError(f"openclaw:backup: {exc}") from None


def verification_commands(namespace: str) -> list[str]:
    """What an operator runs after `pulumi up` (the design page's checks, Argo CD gone)."""
    return [
        f"kubectl get deploy,pods,svc,pvc,configmap,networkpolicy -n {namespace}",
        "kubectl get clusterrole,clusterrolebinding | grep openclaw",
        f"kubectl logs -n {namespace} deploy/openclaw -c seed",
        f"kubectl logs -n {namespace} deploy/openclaw -c preflight  # one line per dependency",
        "kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes"
        "  # = openclaw:network.apiServerEndpoints",
        f"kubectl logs -n {namespace} deploy/openclaw",
        f"kubectl describe pod -n {namespace} -l app=openclaw",
    ]


class OpenClaw(pulumi.ComponentResource):
    """OpenClaw on k3s, as one unit."""

    namespace_name: pulumi.Output[str]
    service_address: pulumi.Output[str]
    claim_name: pulumi.Output[str]

    def __init__(self, name: str, args: OpenClawArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:OpenClaw", name, None, opts)
        cfg = args.config
        # Read the cluster before anything is registered (components/cluster_reads.py): a volume
        # growth the StorageClass refuses, and (adoption off) objects that exist and are not ours.
        reader = reader_for(cfg.kubernetes)
        check_volume_growth(cfg, reader)
        declared = DeclaredObjects(cfg.namespace)
        existing = None if cfg.kubernetes.adopt_existing else existing_gate(declared, reader, pulumi.get_stack())
        self.provider = kubernetes_provider(f"{name}-kubernetes", cfg.kubernetes, self,
                                            gate=existing.apply(lambda _: []) if existing is not None else None)
        # Children inherit the provider through their parent: no object uses the ambient default.
        child = pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.provider},
                                       transformations=[declared.transformation])
        if cfg.kubernetes.adopt_existing:
            # The takeover `up` applies under a known field manager (tools/takeover.py hands it the old
            # managers' fields first); the provider keeps that name in state afterwards.
            child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(transformations=[with_field_manager]))

        self.namespace = Namespace(f"{name}-namespace", NamespaceArgs(name=cfg.namespace), child)
        ns = self.namespace.name
        self.storage = Storage(f"{name}-storage", StorageArgs(
            namespace=ns, storage_class=cfg.storage.class_name, size=cfg.storage.size), child)
        self.rbac = Rbac(f"{name}-rbac", RbacArgs(namespace=ns), child)
        net = cfg.network
        self.network = NetworkPolicies(f"{name}-network", NetworkArgs(
            namespace=ns, gateway_port=cfg.gateway.port,
            dns_namespace=net.dns_namespace, dns_pod_labels=net.dns_pod_labels,
            api_server=net.api_server, api_server_port=net.api_server_port, api_endpoints=net.api_endpoints,
            egress_ports=net.egress_ports, db_namespace=cfg.database.namespace,
            db_cluster=cfg.database.cluster, db_port=cfg.database.port,
            cluster_cidrs=[net.pod_cidr, net.service_cidr], ipv6_egress=net.ipv6_egress), child)
        secret_keys = required_secret_keys(cfg)
        backup_keys = backup_secret_keys(cfg)
        self.secrets = VaultSecrets(f"{name}-vault", VaultSecretsArgs(
            namespace=ns, service_account_name=self.rbac.service_account_name,
            settings=cfg.secrets, keys=[*secret_keys, *backup_keys], adopt_existing=cfg.kubernetes.adopt_existing,
            no_restart=frozenset(k.secret for k in backup_keys)), child)
        self.backup: Backup | None = None
        self.drill: RestoreDrill | None = None
        checked: pulumi.Output[bool] | None = None
        if cfg.backup.enabled:
            check_snapshot_method(cfg.image.tag)
            backup_args = BackupArgs(
                namespace=ns, config=cfg.backup, claim_name=self.storage.claim_name,
                openclaw_image=cfg.image.ref, release=cfg.image.tag,
                openclaw_image_pinned=bool(cfg.image.digest),
                dns_namespace=net.dns_namespace, dns_pod_labels=net.dns_pod_labels,
                cluster_cidrs=[net.pod_cidr, net.service_cidr], ipv6_egress=net.ipv6_egress,
                secret_dependencies=self.secrets.dependencies)
            self.backup = Backup(f"{name}-backup", backup_args, child)
            if cfg.backup.drill.enabled:  # the scheduled restore drill (docs/backup-runbook.md)
                self.drill = RestoreDrill(f"{name}-drill", RestoreDrillArgs(
                    backup=backup_args, agents=[a.id for a in args.catalog.agents],
                    openclaw_image_pinned=bool(cfg.image.digest)), child)
            if cfg.secrets.mode == "direct":  # the operator's values are not visible here
                checked = self.secrets.values[cfg.backup.secret][REPOSITORY_ENV].apply(
                    lambda repo: bool(check_repository_endpoint(cfg.backup, repo)))
        # Before a rollout that migrates the volume: the old release's snapshot of it, which the
        # Deployment waits for (components/pre_upgrade.py).
        self.pre_upgrade = self._pre_upgrade(name, cfg, child)
        self.gateway = Gateway(f"{name}-gateway", GatewayArgs(
            namespace=ns, config=cfg, catalog=args.catalog,
            service_account_name=self.rbac.service_account_name,
            claim_name=self.storage.claim_name, secret_keys=secret_keys,
            secret_dependencies=self.secrets.dependencies,
            template_annotations=self.secrets.pod_annotations,
            before_rollout=[self.pre_upgrade] if self.pre_upgrade is not None else []), child)
        # Optional PrometheusRule (openclaw:alerts.enabled): only where the operator's CRD exists.
        self.alerts = (Alerts(f"{name}-alerts", AlertsArgs(namespace=ns, config=cfg), child)
                       if cfg.alerts.enabled else None)

        self.namespace_name = ns
        self.service_address = self.gateway.service_address
        self.claim_name = self.storage.claim_name
        host = f"openclaw.{cfg.namespace}.svc.cluster.local"
        self.teleport_app: dict[str, Any] = teleport_app(
            host, cfg.gateway.port, cfg.gateway.allowed_origins[0],
            f"vault:{cfg.secrets.gateway_vault_path}#{GATEWAY_TOKEN_ENV}")
        self.verification = verification_commands(cfg.namespace)
        if self.pre_upgrade is not None:  # the snapshot taken before this rollout's migration
            job = pre_upgrade_job_name(self.pre_upgrade.old)
            self.verification += [f"kubectl logs -n {cfg.namespace} job/{job} --all-containers"]
        if cfg.backup.enabled:  # the last runs and their logs (docs/backup-runbook.md)
            self.verification += [f"kubectl get cronjob,jobs -n {cfg.namespace} -l app=openclaw-backup",
                                  f"kubectl logs -n {cfg.namespace} -l app=openclaw-backup --tail=3"]
        if self.drill is not None:  # the last restore drill's verdict
            self.verification += [f"kubectl logs -n {cfg.namespace} -l app=openclaw-backup-drill -c verify --tail=1"]
        self.register_outputs({
            "namespace": self.namespace_name,
            "service_address": self.service_address,
            "claim_name": self.claim_name,
            # Awaited here, so a repository that egress does not reach fails the run (direct mode).
            **({"backup_repository_checked": checked} if checked is not None else {}),
        })

    def _pre_upgrade(self, name: str, cfg: StackConfig, child: pulumi.ResourceOptions) -> PreUpgradeSnapshot | None:
        old = snapshot_due(cfg)
        if old is None:
            warning = unsnapshotted_migration_warning(cfg)
            if warning is not None:
                pulumi.log.warn(warning)
            return None
        backup_deps: list[pulumi.Resource] = []
        if self.backup is not None:  # restic: the repository's Secret and the backup egress policy
            backup_deps = [*self.secrets.dependencies, self.backup.network_policy]
        return PreUpgradeSnapshot(f"{name}-pre-upgrade", PreUpgradeSnapshotArgs(
            namespace=self.namespace.name, claim_name=self.storage.claim_name, old=old, new_tag=cfg.image.tag,
            old_image=f"{cfg.image.repository}:{old.version}", backup=cfg.backup, volume_size=cfg.storage.size,
            dependencies=backup_deps), child)
