"""Edges of the pinned plugins (components/plugins.py), read from the rendered pod of the release that
pins one (2026.9.6, the dev stack): each field of the `plugins` step, the gateway's read-only and
sealed mounts, the volumes; and the names and load paths for a scoped and an unscoped package."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from components import plugins as plugins_module
from components.config import parse_config
from components.plugins import (
    MANIFEST_KEY,
    SCRIPT_KEY,
    PluginError,
    config_map_content,
    content_name,
    folder_name,
    plugin_config_map,
    plugins_section,
    tarball_name,
    vendored_tarball,
    with_plugin_load_paths,
)
from components.releases import RELEASES, Plugin
from engine.harness import RunResult
from tests.support.ascii_locale import ascii_locale

RESTRICTED = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
              "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
STATE = "/home/node/.openclaw"


def _pod(run: RunResult) -> dict[str, Any]:
    pod: dict[str, Any] = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    return pod


def test_the_plugins_step(dev: RunResult) -> None:
    pod = _pod(dev)
    (step,) = [c for c in pod["initContainers"] if c["name"] == "plugins"]
    (gateway,) = [c for c in pod["containers"] if c["name"] == "gateway"]
    assert step == {
        "name": "plugins", "image": gateway["image"], "imagePullPolicy": "IfNotPresent",
        "command": ["node", "/plugin-source/plugins.mjs"],
        "env": [{"name": "OPENCLAW_PLUGINS_SRC", "value": "/plugin-source"},
                {"name": "OPENCLAW_PLUGINS_DIR", "value": "/opt/openclaw-plugins"},
                {"name": "OPENCLAW_STATE_DIR", "value": STATE}],
        "securityContext": RESTRICTED,
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "volumeMounts": [{"name": "data", "mountPath": STATE},
                         {"name": "plugins", "mountPath": "/opt/openclaw-plugins"},
                         {"name": "plugin-source", "mountPath": "/plugin-source", "readOnly": True}]}


def test_the_gateway_reads_the_plugins_and_cannot_write_a_plugin_root(dev: RunResult) -> None:
    pod = _pod(dev)
    (gateway,) = [c for c in pod["containers"] if c["name"] == "gateway"]
    mounts = [(m["name"], m["mountPath"], m.get("readOnly", False)) for m in gateway["volumeMounts"]]
    assert mounts[-3:] == [("plugins", "/opt/openclaw-plugins", True), ("plugin-seal", f"{STATE}/extensions", True),
                           ("plugin-seal", f"{STATE}/npm", True)]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["plugin-seal"] == {"name": "plugin-seal", "emptyDir": {"sizeLimit": "1Mi"}}
    assert volumes["plugins"] == {"name": "plugins", "emptyDir": {"sizeLimit": "32Mi"}}
    source = volumes["plugin-source"]["configMap"]["name"]
    (config_map,) = [r for r in dev.kubernetes() if r.type.endswith("ConfigMap")
                     and r.properties["metadata"]["name"] == source]
    assert source.startswith("openclaw-plugins-") and config_map.properties["immutable"] is True


def test_a_release_without_plugins_has_no_plugin_mount(prod: RunResult) -> None:
    pod = _pod(prod)
    (gateway,) = [c for c in pod["containers"] if c["name"] == "gateway"]
    assert not [m for m in gateway["volumeMounts"] if m["name"].startswith("plugin")]
    assert not [v for v in pod["volumes"] if v["name"].startswith("plugin")]


@pytest.mark.parametrize(("package", "tarball", "folder"), [
    ("@openclaw/deepseek-provider", "openclaw-deepseek-provider-2026.9.5.tgz", "openclaw-deepseek-provider"),
    ("deepseek-provider", "deepseek-provider-2026.9.5.tgz", "deepseek-provider"),
])
def test_names_of_a_scoped_and_an_unscoped_package(package: str, tarball: str, folder: str) -> None:
    plugin = Plugin(package, "2026.9.5", "sha512-" + "A" * 86 + "==", "deepseek")
    assert (tarball_name(plugin), folder_name(plugin)) == (tarball, folder)


def test_the_load_paths_of_each_pinned_plugin() -> None:
    newest = RELEASES["2026.9.6"]
    assert plugins_section(None) is None and plugins_section(RELEASES["2026.6.35"]) is None
    assert plugins_section(newest) == {"load": {"paths": ["/opt/openclaw-plugins/openclaw-deepseek-provider"]}}
    two = dataclasses.replace(newest, plugins=(*newest.plugins, dataclasses.replace(newest.plugins[0], package="x-y")))
    assert plugins_section(two) == {"load": {"paths": ["/opt/openclaw-plugins/openclaw-deepseek-provider",
                                                       "/opt/openclaw-plugins/x-y"]}}


def test_openclaw_json_gets_the_paths_after_its_own() -> None:
    newest = RELEASES["2026.9.6"]
    text = json.dumps({"plugins": {"load": {"paths": ["/own", "/opt/openclaw-plugins/openclaw-deepseek-provider"]},
                                   "enabled": True}, "gateway": {"mode": "local"}})
    out = with_plugin_load_paths(text, newest)
    paths = ["/own", "/opt/openclaw-plugins/openclaw-deepseek-provider"]
    assert json.loads(out) == {"plugins": {"load": {"paths": paths}, "enabled": True}, "gateway": {"mode": "local"}}
    assert out.endswith("}\n") and out.startswith('{\n  "plugins"')
    assert json.loads(with_plugin_load_paths("{}", newest)) == {
        "plugins": {"load": {"paths": ["/opt/openclaw-plugins/openclaw-deepseek-provider"]}}}
    assert with_plugin_load_paths(text, RELEASES["2026.6.35"]) == text
    assert with_plugin_load_paths('{"n": "é"}', newest).count("é") == 1


def test_a_content_name_changes_with_any_key_or_value_and_with_which_map_holds_it() -> None:
    base = content_name("p", {"a": "1"}, {"b": "2"})
    assert base.startswith("p-") and len(base) == len("p-") + 10
    others = {content_name("p", {"a": "2"}, {"b": "2"}), content_name("p", {"c": "1"}, {"b": "2"}),
              content_name("p", {"a": "1"}, {"b": "3"}), content_name("p", {"b": "2"}, {"a": "1"}),
              content_name("p", {"a": "1", "b": "2"}, {}), content_name("p", {"a": "1"}, {})}
    assert base not in others and len(others) == 6
    assert content_name("p", {"a": "1", "b": "2"}, {}) == content_name("p", {"b": "2", "a": "1"}, {})


# --- the plugins ConfigMap: its labels, owner, manifest, the vendor folder it reads, its name ------------------

NEWEST = RELEASES["2026.9.6"]
PINNED = NEWEST.plugins[0]
CONFIG = {"gateway": {"allowedOrigins": ["https://openclaw.example.test"]},
          "network": {"apiServerEndpoints": ["192.168.10.10:6443"]}, "image": {"tag": "2026.9.6"}}


def test_the_plugins_configmap_is_labelled_as_plugins_and_owned_by_the_gateway(dev: RunResult) -> None:
    (config_map,) = [r for r in dev.kubernetes() if r.properties.get("kind") == "ConfigMap"
                     and r.properties["metadata"]["name"].startswith("openclaw-plugins-")]
    assert config_map.properties["metadata"]["labels"] == {
        "app": "openclaw", "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "plugins",
        "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}
    assert config_map.properties["metadata"]["namespace"] == "openclaw"
    (gateway,) = [r for r in dev.resources if r.type == "openclaw:index:Gateway"]
    assert config_map.parent == gateway.urn


def test_the_manifest_shows_each_field_of_each_plugin_on_its_own_line() -> None:
    """The preview's diff of the ConfigMap shows a bump as the one line that changed."""
    data, _ = config_map_content(NEWEST)
    assert data[MANIFEST_KEY] == (
        '{\n  "plugins": [\n    {\n'
        '      "package": "@openclaw/deepseek-provider",\n'
        '      "version": "2026.9.5",\n'
        f'      "integrity": "{PINNED.integrity}",\n'
        '      "provider": "deepseek",\n'
        '      "tarball": "openclaw-deepseek-provider-2026.9.5.tgz",\n'
        '      "folder": "openclaw-deepseek-provider"\n'
        '    }\n  ]\n}\n')


def test_the_configmap_carries_the_tarball_of_the_vendor_folder_given(tmp_path: Path) -> None:
    published = vendored_tarball(PINNED)
    (tmp_path / tarball_name(PINNED)).write_bytes(published)
    _, binary = config_map_content(NEWEST, tmp_path)
    assert binary == {tarball_name(PINNED): base64.b64encode(published).decode("ascii")}
    (tmp_path / tarball_name(PINNED)).write_bytes(published + b"\0")
    with pytest.raises(PluginError) as info:
        config_map_content(NEWEST, tmp_path)
    assert str(info.value).startswith(f"{tmp_path / tarball_name(PINNED)}: integrity sha512-")


@pytest.mark.parametrize("version", ["2026.9.5-Beta.1", "2026.9.5-beta.1", "1.0.0-RC.2+Build.7", "1.0.0+b-7"])
def test_a_version_of_letters_digits_dots_plus_and_dash_passes_the_name_check(version: str, tmp_path: Path) -> None:
    with pytest.raises(PluginError) as info:
        vendored_tarball(dataclasses.replace(PINNED, version=version), tmp_path)
    assert "is not vendored" in str(info.value) and "is not an npm package name" not in str(info.value)


@pytest.mark.parametrize("version", ["2026.9.5_beta", "2026.9.5 ", "~2026.9.5", "2026.9.5/x", ""])
def test_a_version_of_any_other_character_is_refused(version: str, tmp_path: Path) -> None:
    with pytest.raises(PluginError) as info:
        vendored_tarball(dataclasses.replace(PINNED, version=version), tmp_path)
    assert str(info.value) == (f"components/releases.py: plugin '@openclaw/deepseek-provider'@{version!r} is not an "
                               "npm package name and exact version")


def _problem(provider: str) -> str:
    return (f"openclaw:models.providers.{provider}: on OpenClaw 2026.9.6 this provider is an external plugin, which "
            "the gateway would try to install from the npm registry at every start (no egress there: about 80 s, then "
            "it runs without it); pin it in components/releases.py (Plugin with its npm dist.integrity) and vendor "
            "its tarball with `python -m tools.vendor_plugin <package>@<version>`")


def test_each_unpinned_provider_is_named_on_its_own_line_and_nothing_is_created() -> None:
    moonshot = {"baseUrl": "https://api.moonshot.example.test/v1", "apiKeyEnv": "MOONSHOT_API_KEY",
                "models": [{"id": "kimi", "name": "Kimi"}]}
    deepseek = {"baseUrl": "https://api.deepseek.com/v1", "apiKeyEnv": "DEEPSEEK_API_KEY",
                "models": [{"id": "deepseek-v4-flash", "name": "DeepSeek V4 Flash"}]}
    config = parse_config({**CONFIG, "models": {"primary": "deepseek/deepseek-v4-flash",
                                                "providers": {"moonshot": moonshot, "deepseek": deepseek}}})
    unpinned = dataclasses.replace(NEWEST, plugins=(), plugin_providers=frozenset({"deepseek", "moonshot"}))
    with pytest.raises(PluginError) as info:
        plugin_config_map("p", "ns", config, unpinned, parent=None)  # type: ignore[arg-type]
    assert str(info.value) == _problem("deepseek") + "\n" + _problem("moonshot")
    only = dataclasses.replace(unpinned, plugin_providers=frozenset({"moonshot"}))
    with pytest.raises(PluginError) as info:
        plugin_config_map("p", "ns", config, only, parent=None)  # type: ignore[arg-type]
    assert str(info.value) == _problem("moonshot")


@pytest.mark.parametrize("release", [None, "2026.6.35"])
def test_no_release_or_one_without_plugins_gets_no_configmap(release: str | None) -> None:
    config = parse_config(CONFIG)
    assert plugin_config_map("p", "ns", config, RELEASES[release] if release else None,
                             parent=None) is None  # type: ignore[arg-type]


def test_a_configmap_over_the_limit_names_the_release_its_size_and_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    data, binary = config_map_content(NEWEST)
    size = sum(len(v) for v in (*data.values(), *binary.values()))
    monkeypatch.setattr(plugins_module, "MAX_CONFIG_MAP_BYTES", size - 1)
    with pytest.raises(PluginError) as info:
        config_map_content(NEWEST)
    assert str(info.value) == (
        f"the plugins of OpenClaw 2026.9.6 take {size} bytes in their ConfigMap, over {size - 1} (a ConfigMap holds "
        "at most 1 MiB): ship the larger ones in an image instead (docs/upgrade-runbook.md#plugins)")


def test_the_name_of_given_content_is_the_one_earlier_versions_of_the_program_gave_it() -> None:
    """A change of the naming scheme renames every stack's plugins ConfigMap at the next `up`, and so
    restarts every gateway with nothing changed: the name of this content is fixed."""
    name = content_name("openclaw-plugins", {"plugins.json": "{}\n"}, {"a.tgz": "AAAA"})
    assert name == "openclaw-plugins-34bb9aa610"


def test_the_script_is_read_as_utf8_whatever_the_locale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "plugins.mjs"
    script.write_text("// café — ok\n", encoding="utf-8")
    monkeypatch.setattr(plugins_module, "SCRIPT", script)
    with ascii_locale():   # LANG unset on a node or CI runner
        data, _ = config_map_content(NEWEST)
    assert data[SCRIPT_KEY] == "// café — ok\n"
