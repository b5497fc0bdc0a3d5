"""The gateway workload: config and seed ConfigMaps, the Deployment with its seeding init
container, and the Service.

ConfigMaps are content-addressed and immutable (`<name>-<sha256 prefix>`), not annotated with a
checksum: the preview shows exactly which object changes, the Deployment's reference changes
with the content (so the pod rolls), the old object stays untouched until the rollout has
replaced it, and nobody can edit a live config in place.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

import agents
from components.awaits import rollout_awaits
from components.checkov_skips import GATEWAY, checkov_skips
from components.config import StackConfig
from components.dependencies import DEPENDENCIES_KEY, render_dependencies
from components.labels import APP_SELECTOR, common_labels
from components.migration import init_containers_around_seed, state_volumes
from components.migration import script_data as state_script_data
from components.openclaw_json import build_openclaw_json
from components.plugins import plugin_config_map, plugin_mounts, sealed_plugin_roots, with_plugin_load_paths
from components.preflight_step import PREFLIGHT_SCRIPT, preflight_containers, restricted_container
from components.probes import select_probes
from components.secret_keys import SecretKey

DEPLOYMENT_NAME = "openclaw"
SERVICE_NAME = "openclaw"
PORT_NAME = "gateway"
CONTAINER = "gateway"
INIT_CONTAINER = "seed"
UID = 1000

CONFIG_MOUNT = "/config"
SEED_MOUNT = "/seed"
SCRIPT_MOUNT = "/seed-script"
TMP_MOUNT = "/tmp"
CACHE_MOUNT = "/home/node/.cache"
# The gateway's command, explicit: the image's default changed between releases (2026.2.23's
# node:22-bookworm CMD; later images run it under tini, docs/install/docker.md of 2026.9.6). `args`
# replaces only the CMD, so an ENTRYPOINT such as tini stays PID 1 and reaps zombies.
APP_DIR = "/app"
GATEWAY_ARGS = ["node", "openclaw.mjs", "gateway", "--allow-unconfigured"]
# On the workload's own metadata (no pod restart), only for a tag the release model does not know:
# what it was rendered as. The policy pack judges such a workload as that release (policy/releases.py).
UNTESTED_RELEASE_ANNOTATION = "openclaw.io/untested-release-rendered-as"


@dataclass(frozen=True)
class GatewayArgs:
    namespace: pulumi.Input[str]
    config: StackConfig
    catalog: agents.Catalog
    service_account_name: pulumi.Input[str]
    claim_name: pulumi.Input[str]
    secret_keys: Sequence[SecretKey]
    # Whatever makes the Secrets exist (operator CRs or Secrets): the pod waits for them.
    secret_dependencies: Sequence[pulumi.Resource] = field(default_factory=list)
    # Pod template annotations whose change must roll the pod (direct-mode Vault versions).
    template_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # What must have succeeded before the Deployment changes: the pre-upgrade snapshot Job
    # (components/pre_upgrade.py) before a rollout that migrates the volume.
    before_rollout: Sequence[pulumi.Resource] = field(default_factory=list)


def content_name(base: str, data: Mapping[str, str]) -> str:
    """`<base>-<10 hex>`: the sha256 of the keys and values, so new content is a new object."""
    digest = hashlib.sha256()
    for key in sorted(data):
        digest.update(key.encode() + b"\0" + data[key].encode() + b"\0")
    return f"{base}-{digest.hexdigest()[:10]}"


def _secret_env(keys: Sequence[SecretKey]) -> list[k8s.core.v1.EnvVarArgs]:
    return [k8s.core.v1.EnvVarArgs(name=k.env, value_from=k8s.core.v1.EnvVarSourceArgs(
        secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=k.secret, key=k.env)))
        for k in keys]


class Gateway(pulumi.ComponentResource):
    """OpenClaw's gateway: one pod (RWO volume, Recreate), seeded by an init container."""

    service_address: pulumi.Output[str]
    config_map_name: pulumi.Output[str]

    def __init__(self, name: str, args: GatewayArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:Gateway", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        annotations = checkov_skips(GATEWAY, bool(cfg.image.digest))
        if cfg.image.untested:
            annotations[UNTESTED_RELEASE_ANNOTATION] = cfg.release.version
            pulumi.log.warn(f"openclaw:image.tag {cfg.image.tag} is not a release this program was tested with; "
                            f"rendered as openclaw {cfg.release.version} (openclaw:image.acceptUntestedRelease): its "
                            "config shape, probes and sizing may not fit. Add the release to components/releases.py")
        self.release = cfg.release
        # In the release's shape, with plugins.load.paths for its pinned plugins (components/plugins.py).
        self.openclaw_json = with_plugin_load_paths(build_openclaw_json(cfg, args.catalog).render(), self.release)

        self.config_map = self._config_map(f"{name}-config", "openclaw-config",
                                           {"openclaw.json": self.openclaw_json}, args, "config")
        self.script_map = self._config_map(
            f"{name}-seed-script", "openclaw-seed-script",
            {agents.SEED_SCRIPT.name: agents.SEED_SCRIPT.read_text(encoding="utf-8")}, args, "seed")
        # The dependency list and the script that checks it; the policy reads the same list.
        self.preflight_map = self._config_map(
            f"{name}-preflight", "openclaw-preflight",
            {"preflight.mjs": PREFLIGHT_SCRIPT.read_text(encoding="utf-8"),
             DEPENDENCIES_KEY: render_dependencies(cfg)}, args, "preflight")
        # The pinned plugins (tarballs in binaryData) and the state guard/migration script.
        self.plugins_map = plugin_config_map(f"{name}-plugins", args.namespace, cfg, self.release, self)
        self.state_script_map = (self._config_map(f"{name}-state-script", "openclaw-state-script",
                                                  state_script_data(), args, "state")
                                 if self.release is not None else None)
        seed_data = agents.seed_configmap_data(args.catalog)
        self.seed_maps = {agent_id: self._config_map(f"{name}-seed-{agent_id}",
                                                     f"openclaw-seed-{agent_id}", files, args, "seed")
                          for agent_id, files in seed_data.items()}

        template = self._pod_template(args, seed_data)
        self.awaits = rollout_awaits(template, cfg)  # what `up` waits for this pod (components/awaits.py)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=DEPLOYMENT_NAME, namespace=args.namespace,
                                                labels=common_labels("gateway"),
                                                annotations={**annotations, **self.awaits.deployment_annotations}),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                progress_deadline_seconds=self.awaits.progress_deadline_seconds,
                revision_history_limit=3,
                # One pod at a time: the volume is ReadWriteOnce.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=APP_SELECTOR),
                template=template,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.secret_dependencies,
                                                                *args.before_rollout]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_NAME, namespace=args.namespace,
                                                labels=common_labels("gateway"),
                                                annotations=self.awaits.service_annotations),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP", selector=APP_SELECTOR,
                ports=[k8s.core.v1.ServicePortArgs(name=PORT_NAME, port=cfg.gateway.port,
                                                   target_port=cfg.gateway.port, protocol="TCP")]),
            opts=child,
        )
        self.service_address = pulumi.Output.concat(
            self.service.metadata.name, ".", self.service.metadata.namespace,
            f".svc.cluster.local:{cfg.gateway.port}")
        self.config_map_name = self.config_map.metadata.name
        self.register_outputs({"service_address": self.service_address,
                               "config_map_name": self.config_map_name})

    def _config_map(self, resource_name: str, base: str, data: dict[str, str], args: GatewayArgs,
                    component: str) -> k8s.core.v1.ConfigMap:
        return k8s.core.v1.ConfigMap(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=content_name(base, data),
                                                namespace=args.namespace,
                                                labels=common_labels(component)),
            data=data,
            immutable=True,
            # A new name is a replacement, created before the old one is deleted: the old
            # content stays until the Deployment no longer points at it.
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _pod_template(self, args: GatewayArgs,
                      seed_data: Mapping[str, Mapping[str, str]]) -> k8s.core.v1.PodTemplateSpecArgs:
        cfg = args.config
        port = cfg.gateway.port
        mounts_state = k8s.core.v1.VolumeMountArgs(name="data", mount_path=cfg.state_dir)
        tmp = k8s.core.v1.VolumeMountArgs(name="tmp", mount_path=TMP_MOUNT)
        probes = select_probes(cfg)  # release-aware (components/probes.py)
        before_seed, after_seed = init_containers_around_seed(
            cfg, self.release, self.plugins_map, _secret_env(args.secret_keys), restricted_container())
        startup_exec = k8s.core.v1.ExecActionArgs(command=probes.startup)
        readiness_exec = k8s.core.v1.ExecActionArgs(command=probes.readiness)
        liveness_exec = k8s.core.v1.ExecActionArgs(command=probes.liveness)
        init_env = [
            k8s.core.v1.EnvVarArgs(name="OPENCLAW_STATE_DIR", value=cfg.state_dir),
            k8s.core.v1.EnvVarArgs(name="OPENCLAW_CONFIG_SRC", value=CONFIG_MOUNT),
            k8s.core.v1.EnvVarArgs(name="OPENCLAW_SEED_SRC", value=SEED_MOUNT),
            k8s.core.v1.EnvVarArgs(name="OPENCLAW_AGENT_IDS", value=" ".join(seed_data)),
            *_secret_env(args.secret_keys),  # preflight: fail in Init:Error, not run uselessly
        ]
        gateway_env = [
            k8s.core.v1.EnvVarArgs(name="HOME", value="/home/node"),
            k8s.core.v1.EnvVarArgs(name="TERM", value="xterm-256color"),
            k8s.core.v1.EnvVarArgs(name="NODE_OPTIONS",
                                   value=f"--max-old-space-size={cfg.sizing.heap_mib}"),
            k8s.core.v1.EnvVarArgs(name="OPENCLAW_DISABLE_BONJOUR", value="1"),
            *_secret_env(args.secret_keys),
            # After the secret refs: $(OPENCLAW_DB_PASSWORD) only expands from earlier entries.
            k8s.core.v1.EnvVarArgs(name="DATABASE_URL", value=cfg.database.url),
        ]
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=common_labels("gateway"),
                                                annotations=dict(args.template_annotations) or None),
            spec=k8s.core.v1.PodSpecArgs(
                service_account_name=args.service_account_name,
                enable_service_links=False,
                # The release drains active agent runs on SIGTERM up to its own timer (2026.9.6: 325 s).
                termination_grace_period_seconds=cfg.release.termination_grace_seconds,
                security_context=k8s.core.v1.PodSecurityContextArgs(
                    run_as_user=UID, run_as_group=UID, fs_group=UID, run_as_non_root=True,
                    fs_group_change_policy="OnRootMismatch",
                    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                init_containers=[*before_seed, *[k8s.core.v1.ContainerArgs(
                    name=INIT_CONTAINER, image=cfg.image.ref, image_pull_policy="IfNotPresent",
                    command=["node", f"{SCRIPT_MOUNT}/{agents.SEED_SCRIPT.name}"],
                    env=init_env,
                    security_context=restricted_container(),
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests={"cpu": "10m", "memory": "32Mi"}, limits={"memory": "128Mi"}),
                    volume_mounts=[
                        mounts_state, tmp,
                        k8s.core.v1.VolumeMountArgs(name="config", mount_path=CONFIG_MOUNT,
                                                    read_only=True),
                        k8s.core.v1.VolumeMountArgs(name="seed", mount_path=SEED_MOUNT,
                                                    read_only=True),
                        k8s.core.v1.VolumeMountArgs(name="seed-script", mount_path=SCRIPT_MOUNT,
                                                    read_only=True),
                    ],
                )], *after_seed, *preflight_containers(cfg)],
                containers=[k8s.core.v1.ContainerArgs(
                    name=CONTAINER, image=cfg.image.ref, image_pull_policy="IfNotPresent",
                    args=GATEWAY_ARGS, working_dir=APP_DIR,
                    ports=[k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=port,
                                                         protocol="TCP")],
                    env=gateway_env,
                    security_context=restricted_container(),
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests={"cpu": cfg.resources.cpu_request, "memory": cfg.sizing.memory},
                        limits={"memory": cfg.sizing.memory}),
                    # Budget from the release's measured start at the CPU request (README, Sizing).
                    startup_probe=k8s.core.v1.ProbeArgs(
                        exec_=startup_exec, period_seconds=10,
                        failure_threshold=math.ceil(cfg.sizing.startup_budget_seconds / 10),
                        timeout_seconds=5),
                    readiness_probe=k8s.core.v1.ProbeArgs(
                        exec_=readiness_exec, initial_delay_seconds=30, period_seconds=10,
                        timeout_seconds=5),
                    liveness_probe=k8s.core.v1.ProbeArgs(
                        exec_=liveness_exec, initial_delay_seconds=60, period_seconds=30,
                        timeout_seconds=5),
                    volume_mounts=[
                        mounts_state, tmp,
                        k8s.core.v1.VolumeMountArgs(name="cache", mount_path=CACHE_MOUNT),
                        *plugin_mounts(self.plugins_map),
                        *sealed_plugin_roots(self.plugins_map, cfg.state_dir),
                    ],
                )],
                volumes=[
                    k8s.core.v1.VolumeArgs(
                        name="data", persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(
                            claim_name=args.claim_name)),
                    k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                        size_limit="100Mi")),
                    k8s.core.v1.VolumeArgs(name="cache", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                        size_limit="50Mi")),
                    k8s.core.v1.VolumeArgs(name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                        name=self.config_map.metadata.name)),
                    k8s.core.v1.VolumeArgs(name="seed-script", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                        name=self.script_map.metadata.name)),
                    # Always mounted, even with the preflight off: the policy finds the list here.
                    k8s.core.v1.VolumeArgs(name="preflight", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                        name=self.preflight_map.metadata.name)),
                    # One projected volume for all agents: ConfigMap keys cannot hold "/", so
                    # each key FILE of agent X is mapped to the path X/FILE.
                    k8s.core.v1.VolumeArgs(name="seed", projected=k8s.core.v1.ProjectedVolumeSourceArgs(
                        sources=[k8s.core.v1.VolumeProjectionArgs(
                            config_map=k8s.core.v1.ConfigMapProjectionArgs(
                                name=self.seed_maps[agent_id].metadata.name,
                                items=[k8s.core.v1.KeyToPathArgs(key=key, path=f"{agent_id}/{key}")
                                       for key in sorted(files)]))
                            for agent_id, files in seed_data.items()])),
                    *state_volumes(self.state_script_map, self.plugins_map),
                ],
            ),
        )
