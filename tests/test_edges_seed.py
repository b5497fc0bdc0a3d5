"""Edges of agents/seed.mjs's decisions that the other seed tests leave open, each provoked for real
on a volume laid out as the kubelet mounts it (tests/seed_fixtures.py)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.seed_fixtures import CONFIG, NOTHING_DONE, Volume, error_line, make_volume, summary


@pytest.fixture
def seeded(tmp_path: Path) -> Volume:
    vol = make_volume(tmp_path)
    assert vol.run().returncode == 0
    return vol


def _config_bytes() -> bytes:
    return json.dumps(CONFIG, indent=2).encode()   # what Volume.write_config mounts


@pytest.mark.parametrize("what", ["the same file", "a link of the same size"])
def test_openclaw_json_is_current_only_when_it_is_a_file_with_the_configmaps_bytes(seeded: Volume, what: str) -> None:
    """The seeder reads openclaw.json on the volume only when lstat shows a regular file of the
    ConfigMap's size. A link whose size (the length of its target) is the config's is no such file:
    it is moved into the archive as it is and the ConfigMap's config written, not read through
    (the link is gone by then: reading it would fail the run); the file itself, unchanged, is
    current: left as it is."""
    config = seeded.state / "openclaw.json"
    wanted = _config_bytes()
    assert config.read_bytes() == wanted
    before = config.stat().st_ino
    if what == "a link of the same size":
        config.unlink()
        target = "t" * len(wanted)
        config.symlink_to(target)
        assert config.lstat().st_size == len(wanted)
    result = seeded.run()
    if what == "the same file":
        assert summary(result) == NOTHING_DONE
        assert config.stat().st_ino == before       # not rewritten
        return
    assert summary(result) == {**NOTHING_DONE, "archived": 1}
    assert not config.is_symlink() and config.read_bytes() == wanted
    (archive,) = (seeded.state / ".archive").iterdir()
    assert os.readlink(archive / "openclaw.json") == target


def _many_files(vol: Volume, count: int) -> None:
    vol.write_seed({"main": {f"F{i:04d}.md": f"file {i}\n" for i in range(count)}})


def test_a_file_that_cannot_be_opened_for_its_sync_is_named_and_nothing_is_renamed(tmp_path: Path) -> None:
    """Every staged file is opened at once for its fdatasync: 200 of them under a limit of 64 open
    files fail with EMFILE. The run stops with one line naming a seed file's target (not its temp
    file), nothing is renamed into place, and a run under the usual limit then seeds everything."""
    vol = make_volume(tmp_path)
    _many_files(vol, 200)
    vol.prefix = ["prlimit", "--nofile=64"]
    line = error_line(vol.run())
    assert re.fullmatch(rf"{re.escape(str(vol.state))}/workspace/F\d{{4}}\.md: unexpected error EMFILE \(open\); "
                        r"check the volume; the next run picks up where this one stopped", line), line
    assert not list((vol.state / "workspace").iterdir())
    vol.prefix = []
    assert summary(vol.run()) == {**NOTHING_DONE, "seeded": 200}
    assert len(list((vol.state / "workspace").iterdir())) == 200


def test_files_are_synced_4096_at_a_time(tmp_path: Path) -> None:
    """4,300 seed files (a big catalog's first run) under a limit of 4,156 open files: the syncs
    hold at most 4,096 files open at once (plus node's own few dozen), so the run fits the limit."""
    vol = make_volume(tmp_path)
    _many_files(vol, 4300)
    vol.prefix = ["prlimit", "--nofile=4156"]
    assert summary(vol.run()) == {**NOTHING_DONE, "seeded": 4300}
    assert len(list((vol.state / "workspace").iterdir())) == 4300


ARCHIVE_FIX = "move it out of the way (it is not the seeder's), then restart the pod"


@pytest.mark.parametrize(("where", "make", "kind"), [
    (".archive", lambda p: p.write_text("x"), "file"),
    (".archive", lambda p: p.symlink_to("/"), "symbolic link"),
    (".archive/.in-progress", lambda p: p.write_text("x"), "file"),
    (".archive/.in-progress", lambda p: p.symlink_to("/tmp"), "symbolic link"),
])
def test_something_else_where_the_archive_goes_stops_the_run(seeded: Volume, where: str, make: Any,
                                                             kind: str) -> None:
    """The archive folder, or this run's staging folder in it, is not a real folder: one error naming it,
    nothing changed (the link is not followed, the file not replaced)."""
    target = seeded.state / where
    target.parent.mkdir(exist_ok=True)
    make(target)
    before = sorted(str(p.relative_to(seeded.state)) for p in seeded.state.rglob("*"))
    assert error_line(seeded.run()) == f"{target}: a {kind} where the seeder keeps its archive; {ARCHIVE_FIX}"
    assert sorted(str(p.relative_to(seeded.state)) for p in seeded.state.rglob("*")) == before


def test_a_real_archive_folder_without_staging_is_fine(seeded: Volume) -> None:
    (seeded.state / ".archive").mkdir(exist_ok=True)
    assert summary(seeded.run()) == NOTHING_DONE
