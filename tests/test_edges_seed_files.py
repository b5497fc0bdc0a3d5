"""Edges of agents/seed.mjs's use of the files and folders it works in: reading an agent's file
(failures, open descriptors), which failure a folder's permissions are blamed for, a folder closed
while the run uses it; each provoked for real on a volume laid out as the kubelet mounts it
(tests/seed_fixtures.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.seed_fixtures import (
    NOTHING_DONE,
    SEED,
    Volume,
    as_uid_1000,
    error_line,
    make_volume,
    summary,
)
from tests.seed_probes import LSTAT, paused, stopped

# --- Reading an agent's file ------------------------------------------------------------------------------

def test_a_workspace_file_that_fails_to_open_is_named(seeded: Volume) -> None:
    """Only a file uid 1000 may not read (or a link) is taken for the agent's: any other failure to
    open a workspace file stops the run by name."""
    soul = seeded.state / "workspaces" / "sre" / "SOUL.md"
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": "sre soul v2\n"}})   # same size: it is read
    seeded.prefix = ["strace", "-f", "-qq", "-o", "/dev/null", "-P", str(soul), "-e", "trace=openat",
                     "-e", "inject=openat:error=EIO:when=1"]
    result = seeded.run()
    result.stderr = "".join(x for x in result.stderr.splitlines(keepends=True) if not x.startswith("strace: "))
    assert error_line(result) == f"{soul}: I/O error (open); check the node's disk"
    seeded.prefix = []
    assert soul.read_text() == "sre soul v1\n"
    assert summary(seeded.run()) == {**NOTHING_DONE, "updated": 1}


def test_reading_many_workspace_files_holds_few_open(tmp_path: Path) -> None:
    """200 seeded files, each read again to compare it with its seed, under a limit of 64 open files:
    each is closed once read."""
    vol = make_volume(tmp_path)
    vol.write_seed({"main": {f"F{i:03d}.md": f"file {i}\n" for i in range(200)}})
    assert summary(vol.run()) == {**NOTHING_DONE, "seeded": 200}
    vol.prefix = ["prlimit", "--nofile=64"]
    assert summary(vol.run()) == NOTHING_DONE


# --- Which failures name a folder's permissions -----------------------------------------------------------

RENAME = "?rename,?renameat,?renameat2"
DISK_LINES = {"EIO": "I/O error (rename); check the node's disk",
              "ENOSPC": "no space left on the volume (rename); free space on the PVC or grow it, then restart the "
                        "pod: no file was half-written and the next run finishes the job"}
FOLDER_FIX = "uid 1000 must be able to write in this folder: chmod u+rwx it (its mode is 0500)"


@pytest.mark.parametrize("errno", ["EACCES", "EPERM", "EIO", "ENOSPC"])
def test_only_a_permission_error_is_blamed_on_the_folder_uid_1000_may_not_write_in(seeded: Volume, errno: str) -> None:
    """Run as uid 1000 with an update due in a workspace folder it may not write in, the update's
    rename fails with the given error (strace makes the call fail so; EPERM is what an attribute or
    a security module returns). Denied (EACCES, EPERM): the line names the folder and its fix;
    a failing or full disk: the file, and the disk's fix, whatever the folder's mode."""
    folder = seeded.state / "workspaces" / "sre"
    soul = folder / "SOUL.md"
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": "sre soul v2\n"}})
    folder.chmod(0o500)
    # The run's second rename is the file's (the first puts the pending checksums in place).
    seeded.prefix = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={RENAME}",
                     "-e", f"inject={RENAME}:error={errno}:when=2", "unshare", "--user", "--map-user=1000",
                     "--map-group=1000"]
    try:
        result = seeded.run()
    finally:
        folder.chmod(0o700)
    result.stderr = "".join(x for x in result.stderr.splitlines(keepends=True) if not x.startswith("strace: "))
    line = error_line(result)
    if errno in DISK_LINES:
        assert line == f"{soul}: {DISK_LINES[errno]}"
    else:
        problem = "permission denied" if errno == "EACCES" else "operation not permitted"
        assert line == f"{folder}: {problem} (rename); {FOLDER_FIX}"
    assert soul.read_text() == "sre soul v1\n"


def test_of_two_bad_agent_folders_the_first_in_the_seeders_name_order_is_named(volume: Volume) -> None:
    """Agents found in the seed volume are taken in name order as JavaScript sorts names (by UTF-16
    code unit), not in the byte order the folder is listed in: U+1F600 (a surrogate pair, 0xD83D
    first) comes before U+FF01, whose UTF-8 bytes (0xEF...) come before U+1F600's (0xF0...)."""
    volume.write_seed({**SEED, "\uff01x": {"SOUL.md": "a\n"}, "\U0001f600x": {"SOUL.md": "b\n"}})
    line = error_line(volume.run())
    assert line.startswith("OPENCLAW_AGENT_IDS: bad agent id '\U0001f600x' (expected a DNS label"), line
    assert not volume.state.exists()


# --- A folder closed while the run uses it (tests/test_seed_races.py's way: strace stops the seeder) -----

def test_a_volume_root_closed_after_the_record_file_was_found_is_named_as_the_folder_at_fault(seeded: Volume) -> None:
    """Run as uid 1000, stopped right after its lstat of the record file; meanwhile the volume root
    loses its search permission. The record file's open then fails: the line names the root, the
    folder at fault, with its fix, not the record file."""
    state_file = seeded.state / ".seed-state"
    try:
        result = paused(seeded, LSTAT, state_file, lambda: seeded.state.chmod(0o600), prefix=as_uid_1000())
    finally:
        seeded.state.chmod(0o700)
    assert error_line(result) == (
        f"{seeded.state}: permission denied (open); uid 1000 must be able to search this folder: chmod u+rwx it "
        "(its mode is 0600)")


def test_no_file_on_the_volume_is_left_open(seeded: Volume) -> None:
    """An update run (records read and copied, workspace files read, files written and synced),
    stopped at its last change, the scratch folder's removal: it holds no descriptor of anything on
    the volume (a replaced record file held open would keep its blocks until the process ends)."""
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": "sre soul v2\n"}})
    with stopped(seeded, "rmdir", seeded.state / ".seed-tmp") as stop:
        held = [os.readlink(fd) for fd in Path(f"/proc/{stop.seeder}/fd").iterdir()]
    assert stop.result is not None
    assert stop.result.returncode == 0 and stop.result.stdout == "seed: seeded=0 updated=1 kept-edited=0 archived=0\n"
    assert [target for target in held if target.startswith(str(seeded.root))] == []
