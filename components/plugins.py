"""The plugins a release needs, pinned, verified and unpacked before the gateway starts: never
fetched from a registry at start, never loaded from the agents' writable volume.

From 2026.6.9 DeepSeek is the external plugin `@openclaw/deepseek-provider`; 2026.9.6 installs a
missing one from the npm registry at every start (about 80 s offline, then runs without it). What
the release's own loader and installer offer (openclaw@2026.9.6, dist/):
- `plugins.load.paths` in openclaw.json: a "config" origin plugin, which wins over a plugin of the
  same id anywhere else (manifest-registry-build-*.mjs, PLUGIN_ORIGIN_RANK and
  resolveDuplicatePrecedenceRank: config 0, global 2, bundled 3, workspace 4); the startup
  convergence then has nothing to install. A candidate must not be world-writable and must belong
  to the gateway's uid or root (discovery-*.mjs, checkPathStatAndPermissions).
- `~/.openclaw/extensions/<id>` ("global" origin, enabled by default) and `openclaw plugins install
  npm-pack:<tgz>` (records in state/openclaw.sqlite, files under ~/.openclaw/npm): both live on the
  state volume, which the agents can write, and the second costs a CLI start per pod start.
So the tarball is vendored (vendor/plugins/), its sha512 checked against `Release.plugins` at render
and again in the pod; it travels in a content-addressed ConfigMap (binaryData); the `plugins` init
container (components/scripts/plugins.mjs) verifies and unpacks it into an emptyDir that only that
container can write; the gateway mounts it read-only and openclaw.json points `plugins.load.paths`
at it. The same step moves whatever sits in OpenClaw's own plugin roots on the volume into the
archive, and the gateway gets those roots sealed (empty, read-only mounts). Why this and not an
image or an image volume: docs/upgrade-runbook.md#plugins.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config import ConfigError, StackConfig
from components.labels import common_labels
from components.releases import Plugin, Release

VENDOR = Path(__file__).resolve().parent.parent / "vendor" / "plugins"
SCRIPT = Path(__file__).parent / "scripts" / "plugins.mjs"
INIT_CONTAINER = "plugins"
VOLUME = "plugins"                     # the emptyDir the init step fills
SEAL_VOLUME = "plugin-seal"            # an empty emptyDir, read-only over OpenClaw's own plugin roots
# OpenClaw's plugin roots on the state volume (2026.9.6: extensions/ is discovered as origin
# "global", npm/ holds `openclaw plugins install` packages): sealed in the gateway container.
FOREIGN_ROOTS = ("extensions", "npm")
SOURCE_VOLUME = "plugin-source"        # the ConfigMap: script, manifest, tarballs
PLUGINS_DIR = "/opt/openclaw-plugins"  # where the gateway (read-only) and the init step (read-write) see it
SOURCE_MOUNT = "/plugin-source"
MANIFEST_KEY = "plugins.json"
SCRIPT_KEY = "plugins.mjs"
# A ConfigMap holds at most 1 MiB; base64 grows the tarballs by a third. Stay well below.
MAX_CONFIG_MAP_BYTES = 900 * 1024
_INTEGRITY = re.compile(r"^sha512-[A-Za-z0-9+/]{86}==$")
_PACKAGE = re.compile(r"^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$")


class PluginError(ConfigError):
    """A pinned plugin whose vendored tarball is missing or is not the one pinned."""


def integrity_of(data: bytes) -> str:
    """npm's `dist.integrity` of a tarball: `sha512-<base64 of the digest>`."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def tarball_name(plugin: Plugin) -> str:
    """The file `npm pack <package>@<version>` writes: `@scope/name` -> `scope-name-<version>.tgz`."""
    return f"{plugin.package.lstrip('@').replace('/', '-')}-{plugin.version}.tgz"


def folder_name(plugin: Plugin) -> str:
    """The plugin's folder under PLUGINS_DIR (one per package)."""
    return plugin.package.lstrip("@").replace("/", "-")


def load_path(plugin: Plugin) -> str:
    return f"{PLUGINS_DIR}/{folder_name(plugin)}"


def vendored_tarball(plugin: Plugin, vendor: Path | None = None) -> bytes:
    """The vendored tarball of a pinned plugin, after checking it is exactly the one pinned."""
    if not _PACKAGE.match(plugin.package) or not re.match(r"^[0-9A-Za-z.+-]+$", plugin.version):
        raise PluginError(f"components/releases.py: plugin {plugin.package!r}@{plugin.version!r} is not an npm "
                          "package name and exact version")
    if not _INTEGRITY.match(plugin.integrity):
        raise PluginError(f"components/releases.py: plugin {plugin.package}@{plugin.version} integrity "
                          f"{plugin.integrity!r} is not an npm sha512 integrity (sha512-<88 base64 characters>): "
                          f"copy dist.integrity from `npm view {plugin.package}@{plugin.version} dist.integrity`")
    path = (vendor or VENDOR) / tarball_name(plugin)
    fetch = f"python -m tools.vendor_plugin {plugin.package}@{plugin.version}"
    if not path.is_file() or path.is_symlink():
        raise PluginError(f"{path}: the tarball of the pinned plugin {plugin.package}@{plugin.version} is not "
                          f"vendored: run `{fetch}` (checks the registry's dist.integrity) and commit it")
    data = path.read_bytes()
    found = integrity_of(data)
    if found != plugin.integrity:
        raise PluginError(f"{path}: integrity {found} differs from the pinned {plugin.integrity} "
                          f"(components/releases.py): the file is not {plugin.package}@{plugin.version} as "
                          f"published; run `{fetch}` again and review what changed")
    return data


def missing_plugin_problems(config: StackConfig, release: Release) -> list[str]:
    """Configured providers the release would fetch from the registry at start: no pinned plugin."""
    if not release.plugin_install_at_start:
        return []
    pinned = {p.provider for p in release.plugins}
    return [f"openclaw:models.providers.{name}: on OpenClaw {release.version} this provider is an external "
            "plugin, which the gateway would try to install from the npm registry at every start (no egress "
            "there: about 80 s, then it runs without it); pin it in components/releases.py (Plugin with its "
            "npm dist.integrity) and vendor its tarball with `python -m tools.vendor_plugin <package>@<version>`"
            for name in sorted(config.models.providers)
            if name in release.plugin_providers and name not in pinned]


def plugins_section(release: Release | None) -> dict[str, Any] | None:
    """openclaw.json's `plugins` key for the release's pinned plugins (None: it has none)."""
    if release is None or not release.plugins:
        return None
    return {"load": {"paths": [load_path(p) for p in release.plugins]}}


def with_plugin_load_paths(openclaw_json: str, release: Release | None) -> str:
    """The rendered openclaw.json text with `plugins.load.paths` for the release's pinned plugins
    (unchanged when it has none). Must be applied to the text the config ConfigMap holds."""
    section = plugins_section(release)
    if section is None:
        return openclaw_json
    document = json.loads(openclaw_json)
    plugins = document.setdefault("plugins", {})
    load = plugins.setdefault("load", {})
    load["paths"] = [*[p for p in load.get("paths", []) if p not in section["load"]["paths"]],
                     *section["load"]["paths"]]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def manifest(plugins: Sequence[Plugin]) -> str:
    """What the init step installs: one entry per pinned plugin (the diff shows a bump here)."""
    return json.dumps({"plugins": [
        {"package": p.package, "version": p.version, "integrity": p.integrity, "provider": p.provider,
         "tarball": tarball_name(p), "folder": folder_name(p)} for p in plugins]}, indent=2) + "\n"


def config_map_content(release: Release, vendor: Path | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(data, binaryData) of the plugins ConfigMap: the script, the manifest and the tarballs."""
    data = {SCRIPT_KEY: SCRIPT.read_text(encoding="utf-8"), MANIFEST_KEY: manifest(release.plugins)}
    binary = {tarball_name(p): base64.b64encode(vendored_tarball(p, vendor)).decode("ascii")
              for p in release.plugins}
    size = sum(len(v) for v in (*data.values(), *binary.values()))
    if size > MAX_CONFIG_MAP_BYTES:
        raise PluginError(f"the plugins of OpenClaw {release.version} take {size} bytes in their ConfigMap, over "
                          f"{MAX_CONFIG_MAP_BYTES} (a ConfigMap holds at most 1 MiB): ship the larger ones in an "
                          "image instead (docs/upgrade-runbook.md#plugins)")
    return data, binary


def content_name(base: str, data: Mapping[str, str], binary: Mapping[str, str]) -> str:
    """`<base>-<10 hex>` over data and binaryData (components/gateway.py content_name, both maps)."""
    digest = hashlib.sha256()
    for kind, mapping in (("data", data), ("binaryData", binary)):
        for key in sorted(mapping):
            digest.update(kind.encode() + b"\0" + key.encode() + b"\0" + mapping[key].encode() + b"\0")
    return f"{base}-{digest.hexdigest()[:10]}"


def plugin_config_map(resource_name: str, namespace: pulumi.Input[str], config: StackConfig,
                      release: Release | None, parent: pulumi.Resource) -> k8s.core.v1.ConfigMap | None:
    """The immutable, content-addressed ConfigMap the init step installs from (None: no plugins).
    A configured provider the release would fetch at start without a pin stops the run here."""
    missing = missing_plugin_problems(config, release) if release is not None else []
    if missing:
        raise PluginError("\n".join(missing))
    if release is None or not release.plugins:
        return None
    data, binary = config_map_content(release)
    return k8s.core.v1.ConfigMap(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=content_name("openclaw-plugins", data, binary),
                                            namespace=namespace, labels=common_labels("plugins")),
        data=data, binary_data=binary, immutable=True,
        opts=pulumi.ResourceOptions(parent=parent))


def plugin_mounts(config_map: k8s.core.v1.ConfigMap | None) -> list[k8s.core.v1.VolumeMountArgs]:
    """For the gateway and every container that runs openclaw: the unpacked plugins, read-only."""
    if config_map is None:
        return []
    return [k8s.core.v1.VolumeMountArgs(name=VOLUME, mount_path=PLUGINS_DIR, read_only=True)]


def sealed_plugin_roots(config_map: k8s.core.v1.ConfigMap | None,
                        state_dir: str) -> list[k8s.core.v1.VolumeMountArgs]:
    """For the gateway only, after its state volume mount: an empty, read-only folder over each of
    OpenClaw's plugin roots on the volume. Init containers do not run again when the gateway
    container restarts, so what an agent writes there between two restarts would otherwise be
    loaded unpinned (a plugin of another id is enabled by default); now nothing can be written."""
    if config_map is None:
        return []
    return [k8s.core.v1.VolumeMountArgs(name=SEAL_VOLUME, mount_path=f"{state_dir}/{root}", read_only=True)
            for root in FOREIGN_ROOTS]


def plugin_volumes(config_map: k8s.core.v1.ConfigMap | None) -> list[k8s.core.v1.VolumeArgs]:
    if config_map is None:
        return []
    return [
        k8s.core.v1.VolumeArgs(name=SEAL_VOLUME, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Mi")),
        # Fresh for every pod: what the gateway loads was unpacked and verified by this pod.
        k8s.core.v1.VolumeArgs(name=VOLUME, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="32Mi")),
        k8s.core.v1.VolumeArgs(name=SOURCE_VOLUME, config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
            name=config_map.metadata.name)),
    ]


def plugin_init_containers(config: StackConfig, config_map: k8s.core.v1.ConfigMap | None,
                           security_context: k8s.core.v1.SecurityContextArgs) -> list[k8s.core.v1.ContainerArgs]:
    """The `plugins` init container: verify, unpack, and set aside foreign plugins on the volume."""
    if config_map is None:
        return []
    return [k8s.core.v1.ContainerArgs(
        name=INIT_CONTAINER, image=config.image.ref, image_pull_policy="IfNotPresent",
        command=["node", f"{SOURCE_MOUNT}/{SCRIPT_KEY}"],
        env=[k8s.core.v1.EnvVarArgs(name="OPENCLAW_PLUGINS_SRC", value=SOURCE_MOUNT),
             k8s.core.v1.EnvVarArgs(name="OPENCLAW_PLUGINS_DIR", value=PLUGINS_DIR),
             k8s.core.v1.EnvVarArgs(name="OPENCLAW_STATE_DIR", value=config.state_dir)],
        security_context=security_context,
        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "10m", "memory": "32Mi"},
                                                       limits={"memory": "128Mi"}),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="data", mount_path=config.state_dir),
            k8s.core.v1.VolumeMountArgs(name=VOLUME, mount_path=PLUGINS_DIR),
            k8s.core.v1.VolumeMountArgs(name=SOURCE_VOLUME, mount_path=SOURCE_MOUNT, read_only=True),
        ],
    )]
