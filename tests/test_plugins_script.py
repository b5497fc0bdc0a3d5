"""components/scripts/plugins.mjs run for real, under the Node of the releases that pin plugins
(24) and the older image's (22): the vendored tarball and crafted ones laid out as the kubelet
mounts the plugins ConfigMap, an emptyDir and a state volume with what agents may have planted."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.plugins import SCRIPT, VENDOR, config_map_content, folder_name, integrity_of, manifest, tarball_name
from components.releases import NODE_22, NODE_24, RELEASES, Plugin
from tests.seed_fixtures import tree
from tests.support.e2e.pod import kubelet_files
from tools.toolchain import node_binary

PINNED = RELEASES["2026.9.6"].plugins[0]
FAKE = Plugin("@e2e/fake-provider", "1.0.0", "", "fake")


def _tgz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    return info, data


def _special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


PACKAGE_JSON = json.dumps({"name": FAKE.package, "version": FAKE.version}).encode()
GOOD = [_file("package/package.json", PACKAGE_JSON), _file("package/dist/index.js", b"export default {};\n")]


@dataclass
class Pod:
    src: Path
    dir: Path
    state: Path
    node: str

    def run(self) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "OPENCLAW_PLUGINS_SRC": str(self.src), "OPENCLAW_PLUGINS_DIR": str(self.dir),
               "OPENCLAW_STATE_DIR": str(self.state)}
        return subprocess.run([self.node, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60,
                              check=False)


@pytest.fixture(params=[NODE_24, NODE_22])
def pod(request: pytest.FixtureRequest, tmp_path: Path) -> Pod:
    (tmp_path / "dir").mkdir()
    (tmp_path / "state").mkdir()
    return Pod(tmp_path / "src", tmp_path / "dir", tmp_path / "state", str(node_binary(request.param)))


def mount(pod: Pod, plugins: list[tuple[Plugin, bytes]], *, integrity: Callable[[bytes], str] = integrity_of) -> None:
    """The ConfigMap as the render builds it (manifest + tarballs), in the kubelet's layout."""
    pinned = [(Plugin(p.package, p.version, integrity(data), p.provider), data) for p, data in plugins]
    kubelet_files(pod.src, {"plugins.json": manifest([p for p, _ in pinned]),
                            **{tarball_name(p): data for p, data in pinned}})


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert result.stdout == "", result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("plugins: error: ")
    return line


def test_the_vendored_tarball_is_unpacked_exactly(pod: Pod) -> None:
    data = (VENDOR / tarball_name(PINNED)).read_bytes()
    mount(pod, [(PINNED, data)])
    result = pod.run()
    assert result.returncode == 0, result.stderr
    target = pod.dir / folder_name(PINNED)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        want = {m.name.removeprefix("package/"): tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile()}
    got = {str(p.relative_to(target)): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert got == want
    assert sorted(os.listdir(pod.dir)) == [folder_name(PINNED)]
    for path in [target, *target.rglob("*")]:  # OpenClaw refuses a world-writable plugin path
        assert path.lstat().st_mode & 0o022 == 0, path
    assert f"{PINNED.package}@{PINNED.version}" in result.stdout and "15 files" in result.stdout


def test_the_configmap_the_render_builds_is_what_it_reads(pod: Pod) -> None:
    """config_map_content's data and binaryData, mounted as such, install the pinned plugin."""
    data, binary = config_map_content(RELEASES["2026.9.6"])
    kubelet_files(pod.src, {**data, **{k: base64.b64decode(v) for k, v in binary.items()}})
    assert pod.run().returncode == 0
    assert (pod.dir / folder_name(PINNED) / "openclaw.plugin.json").is_file()


def test_a_tarball_that_is_not_the_pinned_one_is_refused_before_unpacking(pod: Pod) -> None:
    data = _tgz(GOOD)
    mount(pod, [(FAKE, data)], integrity=lambda d: integrity_of(d + b"other"))
    line = error_line(pod.run())
    assert f"integrity {integrity_of(data)} is not the pinned" in line and "nothing was unpacked" in line
    assert os.listdir(pod.dir) == []


@pytest.mark.parametrize("members,problem", [
    ([*GOOD, _special("package/dist/link.js", tarfile.SYMTYPE, "/etc/passwd")], "is a symbolic link"),
    ([*GOOD, _special("package/dist/hard.js", tarfile.LNKTYPE, "package/package.json")], "is a hard link"),
    ([*GOOD, _special("package/dev", tarfile.CHRTYPE)], "is a device"),
    ([*GOOD, _special("package/fifo", tarfile.FIFOTYPE)], "is a FIFO"),
    ([*GOOD, _file("package/../escape.js", b"x")], "has an unsafe path"),
    ([*GOOD, _file("package/dist/../../escape.js", b"x")], "has an unsafe path"),
    ([*GOOD, _file("/abs/package/x.js", b"x")], "is not below package/"),
    ([*GOOD, _file("other/x.js", b"x")], "is not below package/"),
    ([*GOOD, _file("package/dist/index.js", b"again")], "appears twice"),
    ([*GOOD, _file("package/dist", b"a file where a folder is")], "is both a file and a folder"),
    ([_file("package/package.json", json.dumps({"name": "@e2e/other", "version": "1.0.0"}).encode())],
     "package.json names @e2e/other@1.0.0, not the pinned @e2e/fake-provider@1.0.0"),
    ([_file("package/package.json", json.dumps({"name": FAKE.package, "version": "9.9.9"}).encode())],
     "not the pinned @e2e/fake-provider@1.0.0"),
    ([_file("package/index.js", b"no package.json")], "package.json names undefined@undefined"),
])
def test_a_tarball_with_anything_but_files_and_folders_below_package_is_refused_whole(
        pod: Pod, members: list[tuple[tarfile.TarInfo, bytes | None]], problem: str) -> None:
    mount(pod, [(FAKE, _tgz(members))])
    assert problem in error_line(pod.run())
    assert os.listdir(pod.dir) == []


def test_a_long_path_in_a_pax_header_is_read(pod: Pod) -> None:
    deep = "package/" + "/".join(["d" * 60] * 4) + "/x.js"
    mount(pod, [(FAKE, _tgz([*GOOD, _file(deep, b"deep")]))])
    assert pod.run().returncode == 0
    assert (pod.dir / folder_name(FAKE) / deep.removeprefix("package/")).read_bytes() == b"deep"


def test_whatever_was_in_the_plugins_folder_is_replaced(pod: Pod, tmp_path: Path) -> None:
    """A container restart keeps the emptyDir: a stale or altered copy, a link, a leftover are gone."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the installer's\n")
    target = pod.dir / folder_name(FAKE)
    target.mkdir()
    (target / "package.json").write_text("altered\n")
    (target / "extra.js").write_text("planted\n")
    (pod.dir / ".partial-0123").mkdir()
    (pod.dir / "stray").symlink_to(outside)
    mount(pod, [(FAKE, _tgz(GOOD))])
    assert pod.run().returncode == 0
    assert sorted(os.listdir(pod.dir)) == [folder_name(FAKE)]
    assert sorted(p.name for p in target.rglob("*")) == ["dist", "index.js", "package.json"]
    assert (target / "package.json").read_bytes() == PACKAGE_JSON
    assert (outside / "keep.txt").read_text() == "not the installer's\n"  # the link was removed, not followed


def test_a_link_where_the_plugin_folder_goes_is_not_followed(pod: Pod, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("x\n")
    (pod.dir / folder_name(FAKE)).symlink_to(outside)
    mount(pod, [(FAKE, _tgz(GOOD))])
    assert pod.run().returncode == 0
    assert not (pod.dir / folder_name(FAKE)).is_symlink()
    assert os.listdir(outside) == ["keep.txt"]


def test_foreign_plugins_on_the_volume_are_moved_aside_as_they_are(pod: Pod, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("x\n")
    evil = pod.state / "extensions" / "evil"
    evil.mkdir(parents=True)
    (evil / "index.js").write_text("planted\n")
    (pod.state / "extensions" / "deepseek").symlink_to(outside)
    (pod.state / "npm").symlink_to(outside)   # a link where OpenClaw keeps npm-installed plugins
    (pod.state / "workspace").mkdir()
    (pod.state / "workspace" / "AGENTS.md").write_text("the agents' own\n")
    before = tree(pod.state / "workspace")
    mount(pod, [(FAKE, _tgz(GOOD))])
    result = pod.run()
    assert result.returncode == 0, result.stderr
    (archive,) = (pod.state / ".archive").iterdir()
    assert archive.name.endswith("-plugins")
    assert tree(archive) == {"extensions": ("dir", ""), "extensions/evil": ("dir", ""),
                             "extensions/evil/index.js": ("file", "planted\n"),
                             "extensions/deepseek": ("link", str(outside)), "npm": ("link", str(outside))}
    assert not (pod.state / "extensions").exists() and not (pod.state / "npm").is_symlink()
    assert tree(pod.state / "workspace") == before and os.listdir(outside) == ["secret.txt"]
    moved = [line for line in result.stdout.splitlines() if line.startswith("plugins: moved ")]
    assert moved[0].startswith("plugins: moved extensions/deepseek, extensions/evil to .archive/")
    assert moved[1].startswith("plugins: moved npm (symbolic link) to .archive/")


def test_empty_plugin_roots_stay_and_nothing_is_archived(pod: Pod) -> None:
    (pod.state / "extensions").mkdir()
    mount(pod, [(FAKE, _tgz(GOOD))])
    assert pod.run().returncode == 0
    assert sorted(os.listdir(pod.state)) == ["extensions"]


def test_a_link_where_the_archive_goes_stops_the_step(pod: Pod, tmp_path: Path) -> None:
    (pod.state / "extensions" / "evil").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (pod.state / ".archive").symlink_to(tmp_path / "elsewhere")
    mount(pod, [(FAKE, _tgz(GOOD))])
    line = error_line(pod.run())
    assert ".archive: a symbolic link where the archive folder belongs; move it away" in line
    assert os.listdir(tmp_path / "elsewhere") == [] and (pod.state / "extensions" / "evil").is_dir()


def test_a_missing_manifest_names_the_mount(pod: Pod) -> None:
    pod.src.mkdir()
    line = error_line(pod.run())
    assert f"{pod.src}/plugins.json: not found; is the plugins ConfigMap mounted at {pod.src}?" in line
