"""Faults of the volume: a corrupt or unreadable record file, unreadable folders and files, a full
filesystem. Each ends in exit 1 and one `seed: error: <path>: <problem>; <fix>` line, or (an agent's
unreadable file) in keeping that file; after the fault is gone the next run finishes the job."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import agents
from tests.seed_fixtures import (
    SECRETS,
    Volume,
    as_pod_with_mode,
    as_uid_1000,
    error_line,
    in_mount_namespace,
    make_volume,
    node,
    normalised,
    summary,
)

SEED_V2 = {"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n", "USER.md": "main user\n"},
           "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"}}


@pytest.fixture
def seeded(tmp_path: Path) -> Volume:
    vol = make_volume(tmp_path)
    assert vol.run().returncode == 0
    return vol


GOOD = "0" * 64
CORRUPT: dict[str, bytes] = {
    "a line of text": b"hello world\n",
    "binary": b"\x00\xff\xfe" * 20,
    "a path out of the volume": f"{GOOD}  ../../etc/passwd\n".encode(),
    "a path in no workspace": f"{GOOD}  agents/sre/agent/x\n".encode(),
    "a short checksum": b"abc  workspace/SOUL.md\n",
    "one space": f"{GOOD} workspace/SOUL.md\n".encode(),
    "CRLF": f"{GOOD}  workspace/SOUL.md\r\n".encode(),
    "a sub-folder": f"{GOOD}  workspace/memory/x.md\n".encode(),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_a_corrupt_record_file_stops_before_any_write(seeded: Volume, case: str) -> None:
    state_file = seeded.state / ".seed-state"
    state_file.write_bytes(state_file.read_bytes() + CORRUPT[case])
    seeded.write_seed(SEED_V2)
    before = seeded.snapshot()
    line = error_line(seeded.run())
    assert line.startswith(f"{state_file}: line 5 is not \"<sha256>  <workspace file>\" (the file is corrupt); "
                           "remove the file"), line
    assert seeded.snapshot() == before


def test_a_folder_in_place_of_the_record_file_is_named(seeded: Volume) -> None:
    state_file = seeded.state / ".seed-state"
    state_file.unlink()
    state_file.mkdir()
    before = seeded.snapshot()
    assert error_line(seeded.run()).startswith(f"{state_file}: a folder, not the seeder's record file; remove")
    assert seeded.snapshot() == before


def test_an_unreadable_record_file_is_named_with_its_fix(seeded: Volume) -> None:
    state_file = seeded.state / ".seed-state"
    state_file.chmod(0)
    seeded.prefix = as_uid_1000()
    before = seeded.snapshot()
    line = error_line(seeded.run())
    assert line.startswith(f"{state_file}: permission denied (open); the volume must be writable by uid 1000"), line
    assert seeded.snapshot() == before
    state_file.chmod(0o600)
    assert seeded.run().returncode == 0


def _overflow_uid() -> int:
    """The uid a file of an unmapped owner shows inside the user namespace as_uid_1000() makes."""
    return int(Path("/proc/sys/kernel/overflowuid").read_text())


# A folder uid 1000 may not write in, with a change due inside it: (folder, how, the change, syscall).
NOT_WRITABLE: dict[str, tuple[str, str, str, str]] = {
    "workspace folder read-only, seed update due": ("workspaces/sre", "read-only", "update", "rename"),
    "workspace folder of another user, new seed file due": ("workspaces/sre", "foreign", "new file", "rename"),
    "volume root read-only, seed update due": ("", "read-only", "update", "mkdir"),
    "workspaces read-only, new agent due": ("workspaces", "read-only", "new agent", "mkdir"),
    "workspaces of another user, retired agent due": ("workspaces", "foreign", "retired agent", "rename"),
}


@pytest.mark.parametrize("case", sorted(NOT_WRITABLE))
def test_a_folder_uid_1000_may_not_write_in_is_named_with_its_fix(seeded: Volume, case: str) -> None:
    rel, how, change, syscall = NOT_WRITABLE[case]
    if change == "update":
        seeded.write_seed(SEED_V2)
    elif change == "new file":
        seeded.write_seed({**SEED_V2, "sre": {**SEED_V2["sre"], "USER.md": "sre user\n"}})
    elif change == "new agent":
        seeded.write_seed({**SEED_V2, "planner": {"SOUL.md": "planner soul\n"}})
    else:
        (seeded.state / "workspaces" / "old").mkdir()
    reference = seeded.root / "reference"
    shutil.copytree(seeded.state, reference, symlinks=True)
    assert seeded.run(state=reference).returncode == 0
    folder = seeded.state / rel if rel else seeded.state
    folder.mkdir(parents=True, exist_ok=True)
    # read-only, or another user's folder closed to others
    mode, owner = (0o500, None) if how == "read-only" else (0o755, 2000)
    with as_pod_with_mode(seeded, folder, mode, owner=owner):
        line = error_line(seeded.run())
    fix = ("chmod u+rwx it (its mode is 0500)" if how == "read-only"
           else f"it belongs to uid {_overflow_uid()}: chown 1000:1000 it")
    assert line == (f"{folder}: permission denied ({syscall}); uid 1000 must be able to write in this folder: "
                    f"{fix}"), line
    assert summary(seeded.run()) != {}     # the fault gone, the next run finishes the job
    assert normalised(seeded.state) == normalised(reference)


def test_an_unreadable_workspace_folder_is_named(seeded: Volume) -> None:
    folder = seeded.state / "workspaces" / "sre"
    with as_pod_with_mode(seeded, folder, 0):
        line = error_line(seeded.run())
    assert line == (f"{folder}: permission denied (lstat); uid 1000 must be able to search this folder: "
                    "chmod u+rwx it (its mode is 0000)"), line


def test_an_agents_unreadable_file_is_kept_as_edited(seeded: Volume) -> None:
    # Nothing proves the seeder wrote it any more: never overwritten, and not a reason to stop the pod.
    soul = seeded.state / "workspaces" / "sre" / "SOUL.md"
    soul.chmod(0)
    seeded.write_seed(SEED_V2)
    seeded.prefix = as_uid_1000()
    result = seeded.run()
    assert summary(result) == {"seeded": 1, "updated": 3, "kept-edited": 1, "archived": 0}
    soul.chmod(0o600)
    assert soul.read_text() == "sre soul v1\n"


def test_a_seed_run_under_uid_1000_matches_one_as_root(tmp_path: Path) -> None:
    as_root = make_volume(tmp_path / "root")
    as_pod = make_volume(tmp_path / "pod")
    as_pod.prefix = as_uid_1000()
    assert as_root.run().returncode == 0 and as_pod.run().returncode == 0
    assert normalised(as_root.state) == normalised(as_pod.state)


# A full volume: a tmpfs mounted in a private mount namespace, filled up to the given free space
# (pages of 4 KiB, or inodes), then the seeder; then the space is freed and the seeder run again.
FILL = r"""
set -u
mount -t tmpfs -o size=2m,nr_inodes=${INODES},mode=0700 tmpfs "$STATE"
if [ -n "$PRE" ]; then cp -a "$PRE/." "$STATE/"; fi
head -c 4m /dev/zero > "$STATE/zz-filler" 2>/dev/null
truncate -s "-$((FREE_PAGES * 4096))" "$STATE/zz-filler"
mkdir "$STATE/zz-inodes"
i=0; while touch "$STATE/zz-inodes/$i" 2>/dev/null; do i=$((i + 1)); done
j=0; while [ "$j" -lt "$FREE_INODES" ] && [ "$j" -lt "$i" ]; do rm "$STATE/zz-inodes/$j"; j=$((j + 1)); done
"$NODE" "$SCRIPT" > "$OUT/out1" 2> "$OUT/err1"; echo $? > "$OUT/rc1"
rm -rf "$STATE/zz-filler" "$STATE/zz-inodes"
"$NODE" "$SCRIPT" > "$OUT/out2" 2> "$OUT/err2"; echo $? > "$OUT/rc2"
mkdir "$OUT/state" && cp -a "$STATE/." "$OUT/state/"
"""


def _full_run(vol: Volume, pre: Path | None, free_pages: int, free_inodes: int) -> tuple[Path, int, str]:
    out = vol.root / f"full-{free_pages}-{free_inodes}"
    out.mkdir()
    mountpoint = vol.root / "tmpfs"
    mountpoint.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "OPENCLAW_STATE_DIR": str(mountpoint), "OPENCLAW_CONFIG_SRC": str(vol.config),
           "OPENCLAW_SEED_SRC": str(vol.seed), **SECRETS, "STATE": str(mountpoint), "PRE": str(pre or ""),
           "FREE_PAGES": str(free_pages), "FREE_INODES": str(1_000_000 if free_inodes < 0 else free_inodes),
           "INODES": "200", "NODE": node(), "SCRIPT": str(agents.SEED_SCRIPT), "OUT": str(out)}
    subprocess.run([*in_mount_namespace(), "sh", "-c", FILL], env=env, check=True, timeout=120)
    rc1 = int((out / "rc1").read_text())
    assert int((out / "rc2").read_text()) == 0, (out / "err2").read_text()
    return out, rc1, (out / "err1").read_text()


@pytest.mark.parametrize("update", [False, True], ids=["first run", "update run"])
@pytest.mark.parametrize(("free_pages", "free_inodes"),
                         [(p, -1) for p in (0, 1, 2, 3, 5)] + [(64, i) for i in (0, 1, 3, 6, 10)])
def test_a_full_volume_fails_by_name_and_the_next_run_finishes(tmp_path: Path, update: bool, free_pages: int,
                                                               free_inodes: int) -> None:
    vol = make_volume(tmp_path)
    pre = None
    if update:
        assert vol.run().returncode == 0
        pre = vol.state
        vol.write_seed(SEED_V2)
    reference = tmp_path / "reference"
    if pre:
        shutil.copytree(pre, reference, symlinks=True)
    assert vol.run(state=reference).returncode == 0
    out, rc1, err1 = _full_run(vol, pre, free_pages, free_inodes)
    if rc1 != 0:
        line = error_line(subprocess.CompletedProcess([], rc1, "", err1))
        assert line.startswith(str(tmp_path / "tmpfs")) and "/.seed-tmp/" not in line, line   # the file, not its temp
        assert ": no space left on the volume (" in line and "; free space on the PVC or grow it" in line, line
    else:
        assert free_pages >= 3 or free_inodes >= 3, "the volume was meant to be too full for this run"
    assert normalised(out / "state") == normalised(reference)


def test_a_huge_record_file_is_named_without_being_read(seeded: Volume) -> None:
    # Sparse: 10 GiB that reading would take minutes and far more than the pod's 128 MiB.
    state_file = seeded.state / ".seed-state"
    os.truncate(state_file, 10 << 30)
    line = error_line(seeded.run())
    assert line.startswith(f"{state_file}: {10 << 30} bytes, far more than the seeder's records can be"), line


def test_a_huge_file_in_place_of_a_seeded_one_is_kept_without_being_read(seeded: Volume) -> None:
    soul = seeded.state / "workspaces" / "sre" / "SOUL.md"
    os.truncate(soul, 10 << 30)
    os.truncate(seeded.state / "openclaw.json", 10 << 30)
    seeded.write_seed(SEED_V2)
    result = seeded.run()
    assert summary(result) == {"seeded": 1, "updated": 3, "kept-edited": 1, "archived": 0}
    assert soul.stat().st_size == 10 << 30
    assert (seeded.state / "openclaw.json").stat().st_size < 1000
