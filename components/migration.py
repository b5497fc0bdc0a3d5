"""The state volume's release marker, the migration a new release needs before it starts, and the
refusal of a downgrade across a state migration.

A release that changes the state layout starts a new `Release.state_epoch` (2026.9.6: epoch 2; it
moves sessions, auth profiles and the memory index into SQLite). Its gateway migrates part of that
at start but not the legacy auth profiles: on a 2026.2.23 volume it logs
`AuthProfileMigrationRequiredError ... run openclaw doctor --fix` (dist/legacy-source-diagnostic-*.mjs)
and runs degraded or exits 1; one `openclaw doctor --fix --non-interactive` migrates it all. So:

- `.state-release.json` at the volume root records which release last wrote it: `{"release",
  "stateEpoch", "at"}`. A volume without it was last written by 2026.2.23 (epoch 1), the release
  the program ran before the marker existed; a new, empty volume is marked at once.
- init container `state-guard` (first, before anything writes to the volume) refuses a release of a
  lower epoch than the marker's, with the rollback in one line (Init:Error); it writes nothing
  except the marker of a new, empty volume.
- the pre-upgrade snapshot is not in this pod: a Job of the old release's image, which the
  Deployment waits for (components/pre_upgrade.py), renders when releaseLock is of a lower epoch;
  the gateway pod never gets the backup repository's egress or secrets.
- init container `migrate` (after `seed` and `plugins`: doctor needs the release's config and its
  plugins, else it tries the registry) runs `Release.migration` when the marker's epoch is lower,
  with its output in the pod log, on a scratch copy of openclaw.json (the volume keeps the rendered
  one; doctor refuses to run under OPENCLAW_CONFIG_READONLY, which only the gateway may set), then
  writes the marker. A failed migration is one `migrate: error:` line and Init:Error; the marker is
  not moved, so the next start retries, and the snapshot holds the state before it.
- At preview, `openclaw:kubernetes.releaseLock` (the release that last wrote the live volume, like
  volumeLock) refuses a tag of a lower epoch: roll back with the snapshot instead
  (components/config/release_lock.py; docs/upgrade-runbook.md#roll-back).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pulumi_kubernetes as k8s

from components.config import StackConfig
from components.plugins import plugin_init_containers, plugin_mounts, plugin_volumes
from components.releases import Release

SCRIPT = Path(__file__).parent / "scripts" / "state.mjs"
SCRIPT_KEY = "state.mjs"
SCRIPT_MOUNT = "/state-script"
SCRIPT_VOLUME = "state-script"
GUARD_CONTAINER = "state-guard"
MIGRATE_CONTAINER = "migrate"
UNMARKED_EPOCH = 1          # a volume written before the marker existed: 2026.2.23's layout
MIN_MIGRATION_TIMEOUT = 600  # seconds


def migration_due(marked_epoch: int, release: Release) -> bool:
    """A volume last written at `marked_epoch` needs the release's migration (and a snapshot first)."""
    return marked_epoch < release.state_epoch


def migration_timeout(config: StackConfig) -> int:
    """Seconds the migration may take: twice the gateway's startup budget (the same CPU request)."""
    return max(MIN_MIGRATION_TIMEOUT, math.ceil(2 * config.sizing.startup_budget_seconds))


def script_data() -> dict[str, str]:
    return {SCRIPT_KEY: SCRIPT.read_text(encoding="utf-8")}


def _env(config: StackConfig, release: Release) -> list[k8s.core.v1.EnvVarArgs]:
    return [k8s.core.v1.EnvVarArgs(name="OPENCLAW_STATE_DIR", value=config.state_dir),
            k8s.core.v1.EnvVarArgs(name="OPENCLAW_RELEASE", value=release.version),
            k8s.core.v1.EnvVarArgs(name="OPENCLAW_STATE_EPOCH", value=str(release.state_epoch))]


def state_volumes(script_map: k8s.core.v1.ConfigMap | None,
                  plugins_map: k8s.core.v1.ConfigMap | None) -> list[k8s.core.v1.VolumeArgs]:
    """The volumes of the state guard, the migration and the plugins step."""
    scripts = [] if script_map is None else [k8s.core.v1.VolumeArgs(
        name=SCRIPT_VOLUME, config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=script_map.metadata.name))]
    return [*scripts, *plugin_volumes(plugins_map)]


def init_containers_around_seed(
        config: StackConfig, release: Release | None, plugins_map: k8s.core.v1.ConfigMap | None,
        secret_env: list[k8s.core.v1.EnvVarArgs], security_context: k8s.core.v1.SecurityContextArgs,
) -> tuple[list[k8s.core.v1.ContainerArgs], list[k8s.core.v1.ContainerArgs]]:
    """The init containers before the seeder (state-guard) and after it (plugins, then migrate).
    A tag the model does not know gets none."""
    if release is None:
        return [], []
    before = [guard_container(config, release, security_context)]
    after = [*plugin_init_containers(config, plugins_map, security_context),
             migrate_container(config, release, secret_env, plugin_mounts(plugins_map), security_context)]
    return before, after


def guard_container(config: StackConfig, release: Release,
                    security_context: k8s.core.v1.SecurityContextArgs) -> k8s.core.v1.ContainerArgs:
    """First init container: refuse a downgrade across a state migration before anything writes."""
    return k8s.core.v1.ContainerArgs(
        name=GUARD_CONTAINER, image=config.image.ref, image_pull_policy="IfNotPresent",
        command=["node", f"{SCRIPT_MOUNT}/{SCRIPT_KEY}", "guard"],
        env=_env(config, release), security_context=security_context,
        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "10m", "memory": "32Mi"},
                                                       limits={"memory": "64Mi"}),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path=config.state_dir),
                       k8s.core.v1.VolumeMountArgs(name=SCRIPT_VOLUME, mount_path=SCRIPT_MOUNT, read_only=True)])


def migrate_container(config: StackConfig, release: Release, secret_env: list[k8s.core.v1.EnvVarArgs],
                      extra_mounts: list[k8s.core.v1.VolumeMountArgs],
                      security_context: k8s.core.v1.SecurityContextArgs) -> k8s.core.v1.ContainerArgs:
    """After seed and plugins: the release's migration when due, then the marker. It runs the
    openclaw CLI: the gateway's env (secrets for the config's references), heap cap and memory."""
    return k8s.core.v1.ContainerArgs(
        name=MIGRATE_CONTAINER, image=config.image.ref, image_pull_policy="IfNotPresent",
        command=["node", f"{SCRIPT_MOUNT}/{SCRIPT_KEY}", "migrate"],
        env=[*_env(config, release),
             k8s.core.v1.EnvVarArgs(name="OPENCLAW_MIGRATION", value=json.dumps(list(release.migration))),
             k8s.core.v1.EnvVarArgs(name="OPENCLAW_MIGRATION_TIMEOUT_SECONDS", value=str(migration_timeout(config))),
             k8s.core.v1.EnvVarArgs(name="HOME", value="/home/node"),
             k8s.core.v1.EnvVarArgs(name="NODE_OPTIONS", value=f"--max-old-space-size={config.sizing.heap_mib}"),
             k8s.core.v1.EnvVarArgs(name="OPENCLAW_DISABLE_BONJOUR", value="1"),
             *secret_env],
        security_context=security_context,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": config.resources.cpu_request, "memory": config.sizing.memory},
            limits={"memory": config.sizing.memory}),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path=config.state_dir),
                       k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                       k8s.core.v1.VolumeMountArgs(name="cache", mount_path="/home/node/.cache"),
                       k8s.core.v1.VolumeMountArgs(name=SCRIPT_VOLUME, mount_path=SCRIPT_MOUNT, read_only=True),
                       *extra_mounts])
