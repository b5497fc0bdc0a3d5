"""The seeder's checks that hold even if the volume changes under it (agents/README.md: no agent runs
while it does, so these are a second line of defence): between its `lstat` of a path and its use
of that path, something else appears there. strace stops the seeder right after the given call
returns (`-e inject=...:signal=SIGSTOP`), the test changes the volume, then lets it go on."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.seed_fixtures import SEED, Volume, error_line, make_volume, summary
from tests.seed_probes import LSTAT, paused


def _seeded(tmp_path: Path) -> Volume:
    vol = make_volume(tmp_path)
    assert vol.run().returncode == 0
    vol.write_seed({**SEED, "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"}})
    return vol


def _replace(path: Path, by: str) -> Callable[[], None]:
    def swap() -> None:
        path.unlink()
        if by == "folder":
            path.mkdir()
        else:
            path.symlink_to("TOOLS.md")
    return swap


def test_a_seed_file_that_turns_into_a_folder_before_it_is_read_is_kept(tmp_path: Path) -> None:
    vol = _seeded(tmp_path)
    soul = vol.state / "workspaces" / "sre" / "SOUL.md"
    result = paused(vol, LSTAT, soul, _replace(soul, "folder"))
    assert summary(result) == {"seeded": 0, "updated": 1, "kept-edited": 1, "archived": 0}
    assert soul.is_dir() and (vol.state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v2\n"


def test_a_seed_file_that_turns_into_a_link_before_it_is_read_is_kept_and_not_followed(tmp_path: Path) -> None:
    vol = _seeded(tmp_path)
    soul = vol.state / "workspaces" / "sre" / "SOUL.md"
    result = paused(vol, LSTAT, soul, _replace(soul, "link"))
    assert summary(result) == {"seeded": 0, "updated": 1, "kept-edited": 1, "archived": 0}
    assert os.readlink(soul) == "TOOLS.md" and (vol.state / "workspaces" / "sre" / "TOOLS.md").read_text() == \
        "sre tools v2\n"


def test_a_record_file_that_turns_into_a_folder_before_it_is_read_stops_the_run(tmp_path: Path) -> None:
    vol = _seeded(tmp_path)
    state_file = vol.state / ".seed-state"
    kept = vol.root / "records"

    def swap() -> None:
        shutil.move(state_file, kept)
        state_file.mkdir()

    line = error_line(paused(vol, LSTAT, state_file, swap))
    assert line == (f"{state_file}: not a regular file; remove the file: the next run keeps every existing "
                    "workspace file as it is and seeds only the missing ones")
    assert (vol.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"   # nothing written


def test_a_folder_that_appears_where_a_file_is_being_written_stops_the_run(tmp_path: Path) -> None:
    vol = _seeded(tmp_path)
    vol.write_config({"gateway": {"port": 2}, "secret": "${OPENCLAW_GATEWAY_TOKEN}"})
    config = vol.state / "openclaw.json"
    line = error_line(paused(vol, "fdatasync", None, _replace(config, "folder")))   # openclaw.json's, the first
    assert line == f"{config}: a folder appeared; restart the pod"
    assert config.is_dir() and not any((vol.state / ".seed-tmp").iterdir())   # its temp file removed
