"""Pinned plugins in the render: the vendored tarball against its pin, the ConfigMap that carries it,
the init step and the read-only mounts, `plugins.load.paths`, and the releases that need none."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from components import plugins as plugins_module
from components.config import ConfigError, parse_config
from components.plugins import (
    MANIFEST_KEY,
    PLUGINS_DIR,
    SCRIPT,
    SCRIPT_KEY,
    PluginError,
    config_map_content,
    content_name,
    integrity_of,
    load_path,
    manifest,
    missing_plugin_problems,
    tarball_name,
    vendored_tarball,
    with_plugin_load_paths,
)
from components.releases import RELEASES, Plugin, version_key
from engine.analyzer import PolicyAnalyzer, mandatory
from engine.harness import RunResult, run_stack
from engine.schema import validate_manifests
from tests.support.e2e.pod import materialize, pod_from_render
from tests.test_policy import analyze

NEWEST = RELEASES["2026.9.6"]
PINNED = NEWEST.plugins[0]
ORIGINS = {"allowedOrigins": ["https://openclaw.example.test"]}
NETWORK = {"apiServerEndpoints": ["192.168.10.10:6443"]}


def render(tag: str) -> RunResult:
    return run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": tag}})


@pytest.fixture(scope="module")
def newest() -> RunResult:
    return render("2026.9.6")


def _pod(run: RunResult) -> dict[str, Any]:
    spec: dict[str, Any] = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    return spec


def _config_maps(run: RunResult, prefix: str) -> list[dict[str, Any]]:
    return [r.properties for r in run.kubernetes() if r.properties.get("kind") == "ConfigMap"
            and r.properties["metadata"]["name"].startswith(prefix)]


def _openclaw_json(run: RunResult) -> dict[str, Any]:
    (cm,) = _config_maps(run, "openclaw-config-")
    result: dict[str, Any] = json.loads(cm["data"]["openclaw.json"])
    return result


def _mounts(container: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {m["name"]: (m["mountPath"], bool(m.get("readOnly"))) for m in container.get("volumeMounts", [])}


def _package_json(data: bytes) -> dict[str, Any]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("package/package.json")
        assert member is not None
        result: dict[str, Any] = json.loads(member.read())
        return result


# --- the pin and the vendored file ------------------------------------------------------------------

def test_every_pinned_plugin_is_vendored_as_published() -> None:
    for release in RELEASES.values():
        for plugin in release.plugins:
            data = vendored_tarball(plugin)
            assert integrity_of(data) == plugin.integrity
            meta = _package_json(data)
            assert (meta["name"], meta["version"]) == (plugin.package, plugin.version)
            assert plugin.provider in release.plugin_providers


def _satisfies(version: str, minimum: str) -> bool:
    match = re.fullmatch(r">=(\d+\.\d+\.\d+)", minimum)
    assert match, minimum
    return version_key(version) >= version_key(match[1])


@pytest.mark.parametrize("release,loads", [("2026.9.6", True), ("2026.6.35", False)])
def test_the_plugin_api_the_tarball_needs_decides_where_it_can_be_pinned(release: str, loads: bool) -> None:
    """@openclaw/deepseek-provider 2026.9.5 needs plugin API >= 2026.9.5 (package.json
    openclaw.compat.pluginApi; 2026.6.35 skips it at discovery): pinned on 2026.9.6, not on 2026.6.35."""
    meta = _package_json(vendored_tarball(PINNED))
    assert _satisfies(release, meta["openclaw"]["compat"]["pluginApi"]) is loads
    assert _satisfies(release, meta["openclaw"]["install"]["minHostVersion"])
    assert (PINNED in RELEASES[release].plugins) is loads


def test_a_tarball_that_differs_from_the_pin_stops_the_render(tmp_path: Path) -> None:
    data = vendored_tarball(PINNED)
    (tmp_path / tarball_name(PINNED)).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(PluginError) as info:
        vendored_tarball(PINNED, tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / tarball_name(PINNED)}: integrity sha512-")
    assert f"differs from the pinned {PINNED.integrity}" in message
    assert "python -m tools.vendor_plugin @openclaw/deepseek-provider@2026.9.5" in message


def test_a_missing_or_linked_tarball_is_named(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"is not vendored: run `python -m tools.vendor_plugin"):
        vendored_tarball(PINNED, tmp_path)
    (tmp_path / tarball_name(PINNED)).symlink_to(plugins_module.VENDOR / tarball_name(PINNED))
    with pytest.raises(PluginError, match=r"is not vendored"):
        vendored_tarball(PINNED, tmp_path)


@pytest.mark.parametrize("plugin,problem", [
    (dataclasses.replace(PINNED, integrity="sha1-abc"), "is not an npm sha512 integrity"),
    (dataclasses.replace(PINNED, integrity=PINNED.integrity[:-3] + "=="), "is not an npm sha512 integrity"),
    (dataclasses.replace(PINNED, package="DeepSeek Provider"), "is not an npm package name"),
    (dataclasses.replace(PINNED, version="^2026.9.5"), "is not an npm package name and exact version"),
])
def test_a_malformed_pin_is_named(plugin: Plugin, problem: str) -> None:
    with pytest.raises(PluginError, match=re.escape(problem)):
        vendored_tarball(plugin)


def test_npm_pack_file_names() -> None:
    assert tarball_name(PINNED) == "openclaw-deepseek-provider-2026.9.5.tgz"
    assert tarball_name(Plugin("left-pad", "1.3.0", "", "x")) == "left-pad-1.3.0.tgz"
    assert load_path(PINNED) == f"{PLUGINS_DIR}/openclaw-deepseek-provider"


# --- which releases need a pin -------------------------------------------------------------------------

def test_a_provider_the_release_would_fetch_at_start_needs_a_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config({"gateway": ORIGINS, "network": NETWORK, "image": {"tag": "2026.9.6"}})
    assert missing_plugin_problems(config, NEWEST) == []
    unpinned = dataclasses.replace(NEWEST, plugins=())
    (problem,) = missing_plugin_problems(config, unpinned)
    assert problem.startswith("openclaw:models.providers.deepseek: on OpenClaw 2026.9.6 this provider is an "
                              "external plugin")
    # 2026.6.35 has DeepSeek as a plugin too, but only doctor --fix would fetch it.
    assert missing_plugin_problems(config, RELEASES["2026.6.35"]) == []
    assert missing_plugin_problems(config, dataclasses.replace(unpinned, plugin_providers=frozenset())) == []
    monkeypatch.setitem(RELEASES, "2026.9.6", unpinned)
    with pytest.raises(ConfigError, match=r"openclaw:models.providers.deepseek: on OpenClaw 2026.9.6"):
        render("2026.9.6")


# --- the render ------------------------------------------------------------------------------------------

def test_the_plugins_configmap_carries_the_verified_tarball(newest: RunResult) -> None:
    (cm,) = _config_maps(newest, "openclaw-plugins-")
    assert cm["immutable"] is True
    data, binary = config_map_content(NEWEST)
    assert cm["data"] == data and cm["binaryData"] == binary
    assert cm["metadata"]["name"] == content_name("openclaw-plugins", data, binary)
    assert data[SCRIPT_KEY] == SCRIPT.read_text(encoding="utf-8")
    assert json.loads(data[MANIFEST_KEY])["plugins"] == [{
        "package": PINNED.package, "version": PINNED.version, "integrity": PINNED.integrity, "provider": "deepseek",
        "tarball": tarball_name(PINNED), "folder": "openclaw-deepseek-provider"}]
    assert integrity_of(base64.b64decode(binary[tarball_name(PINNED)])) == PINNED.integrity


def test_new_content_is_a_new_configmap() -> None:
    data, binary = config_map_content(NEWEST)
    name = content_name("openclaw-plugins", data, binary)
    other = {k: base64.b64encode(base64.b64decode(v) + b"\0").decode() for k, v in binary.items()}
    assert content_name("openclaw-plugins", data, other) != name
    assert content_name("openclaw-plugins", {**data, MANIFEST_KEY: manifest([])}, binary) != name
    # binaryData and data are hashed apart: moving a key between them is new content too.
    assert content_name("x", {"k": "v"}, {}) != content_name("x", {}, {"k": "v"})


def test_a_configmap_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data, binary = config_map_content(NEWEST)
    size = sum(len(v) for v in (*data.values(), *binary.values()))
    monkeypatch.setattr(plugins_module, "MAX_CONFIG_MAP_BYTES", size)
    assert config_map_content(NEWEST) == (data, binary)
    monkeypatch.setattr(plugins_module, "MAX_CONFIG_MAP_BYTES", size - 1)
    with pytest.raises(PluginError, match=rf"take {size} bytes in their ConfigMap, over {size - 1}"):
        config_map_content(NEWEST)


def test_init_order_and_who_may_write_the_plugins(newest: RunResult) -> None:
    pod = _pod(newest)
    inits = {c["name"]: c for c in pod["initContainers"]}
    assert list(inits) == ["state-guard", "seed", "plugins", "migrate", "preflight"]
    assert _mounts(inits["plugins"]) == {"data": ("/home/node/.openclaw", False), "plugins": (PLUGINS_DIR, False),
                                         "plugin-source": ("/plugin-source", True)}
    assert inits["plugins"]["command"] == ["node", "/plugin-source/plugins.mjs"]
    assert inits["plugins"]["securityContext"]["readOnlyRootFilesystem"] is True
    # Everything else that runs openclaw reads them; nothing else writes them.
    assert _mounts(inits["migrate"])["plugins"] == (PLUGINS_DIR, True)
    assert _mounts(pod["containers"][0])["plugins"] == (PLUGINS_DIR, True)
    for name in ("state-guard", "seed", "preflight"):
        assert "plugins" not in _mounts(inits[name]) and "plugin-source" not in _mounts(inits[name])
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["plugins"] == {"name": "plugins", "emptyDir": {"sizeLimit": "32Mi"}}
    # OpenClaw's own plugin roots on the volume are sealed in the gateway: mounted after the volume,
    # empty and read-only, so nothing an agent writes there loads after a container restart.
    gateway_mounts = pod["containers"][0]["volumeMounts"]
    seals = [(m["mountPath"], m.get("readOnly")) for m in gateway_mounts if m["name"] == "plugin-seal"]
    assert seals == [("/home/node/.openclaw/extensions", True), ("/home/node/.openclaw/npm", True)]
    names = [m["name"] for m in gateway_mounts]
    assert names.index("data") < names.index("plugin-seal")
    assert volumes["plugin-seal"] == {"name": "plugin-seal", "emptyDir": {"sizeLimit": "1Mi"}}
    assert all("plugin-seal" not in _mounts(c) for c in inits.values())
    (cm,) = _config_maps(newest, "openclaw-plugins-")
    assert volumes["plugin-source"]["configMap"] == {"name": cm["metadata"]["name"]}


def test_openclaw_json_loads_the_pinned_plugin_from_the_read_only_folder(newest: RunResult) -> None:
    config = _openclaw_json(newest)
    assert config["plugins"] == {"load": {"paths": [f"{PLUGINS_DIR}/openclaw-deepseek-provider"]}}
    without = dict(config)
    del without["plugins"]
    assert with_plugin_load_paths(json.dumps(without, indent=2, ensure_ascii=False) + "\n", NEWEST) == (
        json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def test_load_paths_already_there_are_kept_once() -> None:
    text = json.dumps({"plugins": {"load": {"paths": ["/other", load_path(PINNED)]}}})
    assert json.loads(with_plugin_load_paths(text, NEWEST))["plugins"]["load"]["paths"] == ["/other", load_path(PINNED)]
    assert with_plugin_load_paths(text, RELEASES["2026.2.23"]) == text
    assert with_plugin_load_paths(text, None) == text


@pytest.mark.parametrize("tag", ["2026.2.23", "2026.3.7", "2026.6.35"])
def test_releases_without_a_pinned_plugin_get_no_plugin_step(tag: str) -> None:
    run = render(tag)
    pod = _pod(run)
    assert [c["name"] for c in pod["initContainers"]] == ["state-guard", "seed", "migrate", "preflight"]
    assert not {"plugins", "plugin-source", "plugin-seal"} & {v["name"] for v in pod["volumes"]}
    assert "plugins" not in _mounts(pod["containers"][0])
    assert _config_maps(run, "openclaw-plugins-") == []
    assert "plugins" not in _openclaw_json(run)


def test_the_newest_render_is_valid_and_passes_the_pack(newest: RunResult, analyzer: PolicyAnalyzer) -> None:
    report = validate_manifests([r.properties for r in newest.kubernetes()])
    assert not report.errors, report.errors
    assert mandatory(analyze(analyzer, newest.resources)) == []


def test_the_e2e_lays_out_binary_data_as_the_kubelet_does(newest: RunResult, tmp_path: Path) -> None:
    """tests/support/e2e writes a ConfigMap's binaryData keys as files, next to its data keys."""
    volumes = materialize(pod_from_render(newest), tmp_path / "volumes", tmp_path / "pvc")
    source = volumes["plugin-source"]
    assert (source / tarball_name(PINNED)).read_bytes() == vendored_tarball(PINNED)
    assert (source / tarball_name(PINNED)).is_symlink() and (source / MANIFEST_KEY).is_file()
