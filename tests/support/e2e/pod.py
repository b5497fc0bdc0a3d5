"""The rendered pod, laid out the way the kubelet would run it (nothing about the seeder is assumed).

From the rendered Deployment: every init container and container with its command/args (or the
image's defaults), env (secret refs answered with fake values, `$(VAR)` expanded from earlier
entries as the kubelet does), working dir and volume mounts; from the rendered ConfigMaps: every
configMap and projected volume, with `items` honoured and the kubelet's `..data` symlink layout;
emptyDirs as empty folders; the PVC as a folder that outlives the pod.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.harness import RunResult

# The image's defaults (ghcr.io/openclaw/openclaw, FACTS.md): base node:22-bookworm.
IMAGE_CMD = ["node", "openclaw.mjs", "gateway", "--allow-unconfigured"]
IMAGE_WORKDIR = "/app"
IMAGE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_VERSION": "22"}
FAKE_PREFIX = "fake-not-a-secret-e2e-"


class PodError(Exception):
    """The rendered pod uses something the e2e cannot lay out (named in the message)."""


@dataclass
class Container:
    name: str
    argv: list[str]
    env: dict[str, str]
    workdir: str
    mounts: list[tuple[str, str, bool]]  # volume name, mount path, read-only
    resources: dict[str, Any]
    probes: dict[str, Any]
    ports: list[int]
    sub_paths: dict[str, str] = field(default_factory=dict)  # mount path -> subPath inside its volume


@dataclass
class Pod:
    init_containers: list[Container]
    containers: list[Container]
    volumes: dict[str, dict[str, Any]]
    config_maps: dict[str, dict[str, str]]
    uid: int
    gid: int
    groups: list[int]
    fs_group: int | None
    secret_values: dict[tuple[str, str], str] = field(default_factory=dict)
    # ConfigMaps' binaryData, decoded (the kubelet writes those keys as files next to `data`'s).
    binary_maps: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def container(self, name: str) -> Container:
        for c in [*self.init_containers, *self.containers]:
            if c.name == name:
                return c
        raise KeyError(name)


def fake_secret(secret: str, key: str) -> str:
    """An obviously fake value per Secret key (stable, so a test can send it back)."""
    return f"{FAKE_PREFIX}{secret}-{key}".lower().replace("_", "-")


_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: defined names are replaced, `$$` is a literal `$`,
    anything else is left as written."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _REF.sub(sub, text)


def _env(container: Mapping[str, Any], secrets: dict[tuple[str, str], str],
         overrides: Mapping[str, str]) -> dict[str, str]:
    env: dict[str, str] = {**IMAGE_ENV, "HOSTNAME": "openclaw-e2e"}
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item:
            env[name] = expand(str(item["value"]), env)
        elif ref := (item.get("valueFrom") or {}).get("secretKeyRef"):
            secrets.setdefault((ref["name"], ref["key"]), fake_secret(ref["name"], ref["key"]))
            env[name] = secrets[(ref["name"], ref["key"])]
        elif "valueFrom" in item:
            raise PodError(f"env {name}: only value and secretKeyRef are laid out here, got {item['valueFrom']}")
        else:
            env[name] = ""
        if name in overrides:
            env[name] = overrides[name]
    return env


def _container(spec: Mapping[str, Any], secrets: dict[tuple[str, str], str],
               overrides: Mapping[str, str]) -> Container:
    env = _env(spec, secrets, overrides)
    # Kubernetes: command replaces the image's entrypoint+cmd, args alone replace the cmd.
    command = spec.get("command")
    args = spec.get("args")
    argv = [*command, *(args or [])] if command else list(args or IMAGE_CMD)
    argv = [expand(a, env) for a in argv]
    return Container(
        name=spec["name"], argv=argv, env=env, workdir=spec.get("workingDir") or IMAGE_WORKDIR,
        mounts=[(m["name"], m["mountPath"], bool(m.get("readOnly"))) for m in spec.get("volumeMounts") or []],
        resources=dict(spec.get("resources") or {}),
        probes={k: spec[k] for k in ("startupProbe", "readinessProbe", "livenessProbe") if k in spec},
        ports=[int(p["containerPort"]) for p in spec.get("ports") or []],
        sub_paths={m["mountPath"]: m["subPath"] for m in spec.get("volumeMounts") or [] if m.get("subPath")})


def pod_from_render(run: RunResult, deployment: str = "openclaw",
                    env_overrides: Mapping[str, Mapping[str, str]] | None = None) -> Pod:
    """The Deployment's pod; `env_overrides` maps a container name to env values to force
    (an empty gateway token, say)."""
    return _pod(run.find("Deployment", deployment).properties["spec"]["template"]["spec"], run, env_overrides)


def job_pod_from_render(run: RunResult, job: str) -> Pod:
    """The pod of a rendered Job (the pre-upgrade snapshot, components/pre_upgrade.py)."""
    return _pod(run.find("Job", job).properties["spec"]["template"]["spec"], run, None)


def _pod(template_spec: Mapping[str, Any], run: RunResult,
         env_overrides: Mapping[str, Mapping[str, str]] | None) -> Pod:
    # A copy: the pod is edited (by tests) without touching the render it came from.
    spec = copy.deepcopy(dict(template_spec))
    config_maps = {str(r.properties["metadata"]["name"]): dict(r.properties.get("data") or {})
                   for r in run.kubernetes() if r.properties.get("kind") == "ConfigMap"}
    secrets: dict[tuple[str, str], str] = {}
    overrides = env_overrides or {}
    ctx = spec.get("securityContext") or {}
    uid = int(ctx.get("runAsUser", 0))
    gid = int(ctx.get("runAsGroup", uid))
    groups = sorted({gid, *([int(ctx["fsGroup"])] if "fsGroup" in ctx else []),
                     *(int(g) for g in ctx.get("supplementalGroups") or [])})
    return Pod(
        init_containers=[_container(c, secrets, overrides.get(c["name"], {}))
                         for c in spec.get("initContainers") or []],
        containers=[_container(c, secrets, overrides.get(c["name"], {})) for c in spec["containers"]],
        volumes={v["name"]: v for v in spec.get("volumes") or []},
        config_maps=config_maps, uid=uid, gid=gid, groups=groups,
        fs_group=int(ctx["fsGroup"]) if "fsGroup" in ctx else None, secret_values=secrets,
        binary_maps={str(r.properties["metadata"]["name"]): {k: base64.b64decode(v) for k, v in
                                                             r.properties["binaryData"].items()}
                     for r in run.kubernetes() if r.properties.get("kind") == "ConfigMap"
                     and r.properties.get("binaryData")})


def kubelet_files(target: Path, files: Mapping[str, str | bytes]) -> None:
    """Write files as the kubelet's atomic writer does: `..<ts>/` holds them, `..data` points at
    it, and each top-level entry is a symlink through `..data`. Read-only for everyone but root."""
    data = target / "..2026_01_01_00_00_00.000000001"
    for rel, text in files.items():
        path = data / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
    data.mkdir(parents=True, exist_ok=True)
    (target / "..data").symlink_to(data.name)
    for top in sorted({rel.split("/")[0] for rel in files}):
        (target / top).symlink_to(f"..data/{top}")


def _config_map_files(pod: Pod, source: Mapping[str, Any]) -> dict[str, str | bytes]:
    name = source["name"]
    if name not in pod.config_maps:
        if source.get("optional"):
            return {}
        raise PodError(f"the pod mounts ConfigMap {name!r}, which the render does not create")
    data: dict[str, str | bytes] = {**pod.config_maps[name], **pod.binary_maps.get(name, {})}
    items = source.get("items")
    if not items:
        return dict(data)
    files = {}
    for item in items:
        if item["key"] not in data:
            raise PodError(f"ConfigMap {name!r} has no key {item['key']!r} (the kubelet would not start the pod)")
        files[item["path"]] = data[item["key"]]
    return files


def materialize(pod: Pod, where: Path, state: Path) -> dict[str, Path]:
    """Every volume as a host folder under `where` (the PVC is `state`, kept between pods);
    returns volume name -> folder."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    paths: dict[str, Path] = {}
    for name, volume in pod.volumes.items():
        target = where / name
        if "persistentVolumeClaim" in volume:
            target = state
            target.mkdir(parents=True, exist_ok=True)
            _own(target, pod)
        elif "emptyDir" in volume:
            target.mkdir()
            _own(target, pod)
        elif "configMap" in volume:
            target.mkdir()
            kubelet_files(target, _config_map_files(pod, volume["configMap"]))
        elif "projected" in volume:
            target.mkdir()
            files: dict[str, str | bytes] = {}
            for source in volume["projected"]["sources"]:
                if "configMap" not in source:
                    raise PodError(f"volume {name}: only configMap projections are laid out here, got {sorted(source)}")
                files.update(_config_map_files(pod, source["configMap"]))
            kubelet_files(target, files)
        else:
            raise PodError(f"volume {name}: kind {sorted(set(volume) - {'name'})} is not laid out here")
        paths[name] = target
    return paths


def _own(path: Path, pod: Pod) -> None:
    """fsGroup: the kubelet makes emptyDirs and the PVC group-owned and group-writable."""
    if os.geteuid() != 0:  # only root can; the boot itself needs root anyway
        return
    os.chown(path, pod.uid, pod.fs_group if pod.fs_group is not None else pod.gid)
    path.chmod(0o2775)
