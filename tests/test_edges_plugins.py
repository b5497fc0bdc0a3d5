"""Edges of the pinned plugins (components/plugins.py), read from the rendered pod of the release that
pins one (2026.9.6, the dev stack): each field of the `plugins` step, the gateway's read-only and
sealed mounts, the volumes; and the names and load paths for a scoped and an unscoped package."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from components.plugins import content_name, folder_name, plugins_section, tarball_name, with_plugin_load_paths
from components.releases import RELEASES, Plugin
from engine.harness import RunResult

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
