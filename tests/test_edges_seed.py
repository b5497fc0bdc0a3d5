"""Edges of agents/seed.mjs's decisions that the other seed tests leave open, each provoked for real
on a volume laid out as the kubelet mounts it (tests/seed_fixtures.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.seed_fixtures import CONFIG, Volume, make_volume, summary

NOTHING_DONE = {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}


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
