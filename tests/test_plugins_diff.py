"""What a pull request's render diff shows when the release or a pinned plugin changes: the new
objects, the pin (package, version, integrity) and the tarball as its size and integrity, never a
base64 blob."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from pathlib import Path

import pytest

from components import plugins as plugins_module
from components.plugins import integrity_of, tarball_name
from components.releases import RELEASES
from engine.harness import run_stack
from tools import render
from tools.render_diff import diff_renders, to_markdown

NEWEST = RELEASES["2026.9.6"]


def _render(path: Path, tag: str) -> Path:
    image = {"repository": "ghcr.io/openclaw/openclaw", "tag": tag}
    render.write_render(run_stack("dev", overrides={"openclaw:image": image}), path)
    return path


@pytest.fixture(scope="module")
def newest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(tmp_path_factory.mktemp("newest"), "2026.9.6")


def test_the_upgrade_diff_adds_the_plugins_and_shows_their_pin(newest: Path, tmp_path: Path) -> None:
    diff = diff_renders(_render(tmp_path, "2026.2.23"), newest)
    # and the pre-upgrade snapshot Job of dev's releaseLock (tests/test_pre_upgrade_job.py)
    assert [o.key.label() for o in diff.added] == ["ConfigMap openclaw/openclaw-plugins",
                                                   "Job openclaw/openclaw-pre-upgrade-2026-2-23"]
    report = to_markdown(diff)
    deployment = next(c for c in diff.changed if c.key.label() == "Deployment openclaw/openclaw").unified()
    mount = "+        - mountPath: /opt/openclaw-plugins\n+          name: plugins\n+          readOnly: true"
    assert mount in deployment
    assert "-          value: 2026.2.23\n+          value: 2026.9.6" in deployment  # OPENCLAW_RELEASE of the steps
    assert '"paths": [' in report and "/opt/openclaw-plugins/openclaw-deepseek-provider" in report


def _tarball(version: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = json.dumps({"name": "@openclaw/deepseek-provider", "version": version}).encode()
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_a_plugin_bump_shows_version_and_integrity_not_the_bytes(newest: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    old_pin = NEWEST.plugins[0]
    old_size = len((plugins_module.VENDOR / tarball_name(old_pin)).read_bytes())
    data = _tarball("2026.9.7")
    bumped = dataclasses.replace(old_pin, version="2026.9.7", integrity=integrity_of(data))
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / tarball_name(bumped)).write_bytes(data)
    monkeypatch.setattr(plugins_module, "VENDOR", vendor)
    monkeypatch.setitem(RELEASES, "2026.9.6", dataclasses.replace(NEWEST, plugins=(bumped,)))
    diff = diff_renders(newest, _render(tmp_path / "bumped", "2026.9.6"))
    assert {c.key.label() for c in diff.changed} == {"ConfigMap openclaw/openclaw-plugins",
                                                     "Deployment openclaw/openclaw"}
    (change,) = [c for c in diff.changed if c.key.kind == "ConfigMap"]
    text = change.unified()
    assert change.notes[0].startswith("replaced: new content, new name (openclaw-plugins-")
    assert f'-          "version": "{old_pin.version}",' in text and '+          "version": "2026.9.7",' in text
    assert f'+          "integrity": "{bumped.integrity}",' in text
    assert f"+  {tarball_name(bumped)}: {len(data)} bytes, {bumped.integrity}" in text
    assert f"-  {tarball_name(old_pin)}: {old_size} bytes, {old_pin.integrity}" in text
    assert len(to_markdown(diff)) < 20_000  # no base64 of the tarballs: the PR comment stays readable
