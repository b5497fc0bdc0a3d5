"""The dependency preflight init container (after seeding: every dependency checked, one log line
each; components/scripts/preflight.mjs reads the list components/dependencies.py renders) and the
restricted security context every container of the gateway pod runs with."""

from __future__ import annotations

from pathlib import Path

import pulumi_kubernetes as k8s

from components.config import StackConfig
from components.dependencies import DEPENDENCIES_KEY

PREFLIGHT_CONTAINER = "preflight"
PREFLIGHT_MOUNT = "/preflight"
PREFLIGHT_SCRIPT = Path(__file__).parent / "scripts" / "preflight.mjs"


def restricted_container() -> k8s.core.v1.SecurityContextArgs:
    """Non-root, read-only root, no privilege escalation, no capabilities, the runtime's seccomp."""
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True, read_only_root_filesystem=True, allow_privilege_escalation=False,
        privileged=False, capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"))


def preflight_containers(cfg: StackConfig) -> list[k8s.core.v1.ContainerArgs]:
    """The preflight init container, or none when `openclaw:preflight.enabled` is off."""
    if not cfg.preflight.enabled:
        return []
    return [k8s.core.v1.ContainerArgs(
        name=PREFLIGHT_CONTAINER, image=cfg.image.ref, image_pull_policy="IfNotPresent",
        command=["node", f"{PREFLIGHT_MOUNT}/preflight.mjs", f"{PREFLIGHT_MOUNT}/{DEPENDENCIES_KEY}"],
        security_context=restricted_container(),
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "10m", "memory": "48Mi"}, limits={"memory": "128Mi"}),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="preflight", mount_path=PREFLIGHT_MOUNT,
                                                   read_only=True)],
    )]
