"""Edges of agents/seed.mjs's later half that the other seed tests leave open: the scratch folder a
killed run left, the record file's rewriting (only when it changes, its pending checksums, a change
under the seeder), the workspace files (recorded, read, made private), the error report, folders
made unsearchable or sticky under the seeder; each provoked for real on a volume laid out as the
kubelet mounts it (tests/seed_fixtures.py)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.seed_fixtures import (
    SEED,
    Volume,
    as_pod_with_mode,
    as_uid_1000,
    error_line,
    sha,
    summary,
)
from tests.seed_probes import LSTAT, paused, record_lines, syncs_and_renames

NOTHING_DONE = {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
REMOVE_STATE = ("remove the file: the next run keeps every existing workspace file as it is and seeds only the "
                "missing ones")
SEED_V2 = {"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n"},
           "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"}}



def test_a_scratch_folder_that_cannot_be_removed_names_the_volume_root(seeded: Volume) -> None:
    """A killed run left .seed-tmp empty and nothing else is due; uid 1000 may not write in the
    volume root: the line names the root and the fix."""
    (seeded.state / ".seed-tmp").mkdir()
    with as_pod_with_mode(seeded, seeded.state, 0o500):
        line = error_line(seeded.run())
    assert line == (f"{seeded.state}: permission denied (rmdir); uid 1000 must be able to write in this folder: "
                    "chmod u+rwx it (its mode is 0500)"), line
    assert summary(seeded.run()) == NOTHING_DONE
    assert not (seeded.state / ".seed-tmp").exists()


# --- The records of the workspace files ----------------------------------------------------------

def test_a_file_a_person_made_equal_to_the_new_seed_is_recorded_with_the_new_checksum(seeded: Volume) -> None:
    """Not written (it already holds the seed), and recorded as the seeder's at its new content: a
    later seed update then updates it."""
    soul = seeded.state / "workspaces" / "sre" / "SOUL.md"
    soul.write_text("sre soul v2\n")
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    seeded.write_seed({**SEED_V2, "main": SEED["main"]})
    assert summary(seeded.run()) == {**NOTHING_DONE, "updated": 1}
    assert state_file.read_text() == own.replace(sha("sre soul v1\n"), sha("sre soul v2\n")).replace(
        sha("sre tools v1\n"), sha("sre tools v2\n"))
    seeded.write_seed({**SEED_V2, "main": SEED["main"], "sre": {**SEED_V2["sre"], "SOUL.md": "sre soul v3\n"}})
    assert summary(seeded.run()) == {**NOTHING_DONE, "updated": 1}
    assert soul.read_text() == "sre soul v3\n"


# --- The error report ----------------------------------------------------------------------------

def test_a_failure_that_is_no_volume_error_is_reported_in_one_line(seeded: Volume) -> None:
    """The summary line cannot be written (stdout is /dev/full): not an error of the volume, so
    the line names the volume root, the error's code, and asks for a report; exit 1. The volume was
    seeded before: the next run has nothing to do."""
    seeded.write_seed(SEED_V2)
    seeded.prefix = ["sh", "-c", 'exec "$@" > /dev/full', "sh"]
    line = error_line(seeded.run())
    assert line == (f"{seeded.state}: unexpected failure (ENOSPC); the next run picks up where this one stopped; "
                    "report it with this line"), line
    seeded.prefix = []
    assert summary(seeded.run()) == NOTHING_DONE
    assert (seeded.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v2\n"


# --- The seed files of an agent ----------------------------------------------------------------------

def test_hidden_files_and_sub_folders_of_an_agents_seed_folder_are_no_seed_files(volume: Volume) -> None:
    """What the catalog check flags as ignored (agents/README.md) is ignored: only the agent's
    other files are seeded and recorded."""
    volume.write_seed({**SEED, "sre": {**SEED["sre"], ".hidden.md": "hidden\n", "sub/NOTES.md": "notes\n"}})
    assert summary(volume.run()) == {**NOTHING_DONE, "seeded": 4}
    assert sorted(p.name for p in (volume.state / "workspaces" / "sre").iterdir()) == ["SOUL.md", "TOOLS.md"]
    assert ".hidden" not in (volume.state / ".seed-state").read_text()


# --- The scratch folder a killed run left, as uid 1000 ---------------------------------------------

@pytest.mark.parametrize(("mode", "need"), [(0o600, "search"), (0o500, "write in")])
def test_a_scratch_folder_uid_1000_may_not_use_is_named_with_its_fix(seeded: Volume, mode: int, need: str) -> None:
    """A killed run left .seed-tmp (empty) with a mode that lets uid 1000 list it but not create a
    temp file in it: the line names .seed-tmp, what uid 1000 must be able to do there, and its mode."""
    scratch = seeded.state / ".seed-tmp"
    scratch.mkdir()
    seeded.write_seed(SEED_V2)
    with as_pod_with_mode(seeded, scratch, mode):
        line = error_line(seeded.run())
    assert line == (f"{scratch}: permission denied (open); uid 1000 must be able to {need} this folder: "
                    f"chmod u+rwx it (its mode is {mode:04o})"), line
    assert (seeded.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"
    assert summary(seeded.run())["updated"] == 4


# --- Changes under the seeder (a second line of defence: tests/test_seed_races.py) --------------

def test_a_seed_file_removed_from_the_seed_volume_during_the_run_is_named(seeded: Volume) -> None:
    """The kubelet swaps the seed volume's files (a ConfigMap changed) after the seeder listed them:
    the file it listed is gone when it reads it. One line naming it, with the fix; nothing of
    that agent written."""
    seeded.write_seed(SEED_V2)
    listed = seeded.seed / "sre" / "SOUL.md"
    line = error_line(paused(seeded, LSTAT, listed, listed.unlink))
    assert line == f"{listed}: not found; remount the seed volume", line
    assert (seeded.state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v1\n"


def test_a_record_file_changed_after_it_was_read_is_an_unexpected_failure(seeded: Volume) -> None:
    """The seeder's own record file gains a line nobody should write, after the seeder checked every
    line and before it copies them with the new pending checksums: not a volume error the seeder
    knows, so one line naming the volume root that asks for a report; exit 1, nothing renamed into
    place, no temp file left."""
    seeded.write_seed(SEED_V2)
    state_file = seeded.state / ".seed-state"

    def append() -> None:
        with state_file.open("a") as records:
            records.write("not a record\n")

    line = error_line(paused(seeded, "close", state_file, append))   # after the records were read
    assert line == (f"{seeded.state}: unexpected failure (bug); the next run picks up where this one stopped; "
                    "report it with this line"), line
    assert (seeded.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"
    assert list((seeded.state / ".seed-tmp").iterdir()) == []


# --- The record file is written only when it changes -----------------------------------------------

def test_records_dropped_for_a_reset_workspace_with_no_seed_files_are_written_once(seeded: Volume) -> None:
    """sre's workspace was removed and sre has no seed files any more: its records are dropped from
    the record file before anything else, and that file is then what the run leaves: renamed into
    place once, not twice."""
    main_records = "".join(f"{sha(text)}  workspace/{name}\n" for name, text in sorted(SEED["main"].items()))
    shutil.rmtree(seeded.state / "workspaces" / "sre")
    seeded.write_seed({"main": SEED["main"]})
    (seeded.seed / "sre").mkdir()                  # the agent, without seed files
    calls = syncs_and_renames(seeded)
    assert [target for call, _, target in calls if call == "rename"] == [".seed-state"], calls
    assert (seeded.state / ".seed-state").read_text() == main_records
    assert (seeded.state / "workspaces" / "sre").is_dir()
    assert summary(seeded.run()) == NOTHING_DONE


def test_checksums_of_a_file_no_longer_seeded_are_not_counted_and_dropped(seeded: Volume) -> None:
    """The cap on checksums per file (a corrupt record file) counts only this run's seed files: 17
    records of a retired agent's file are passed over, then dropped with it."""
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    state_file.write_text(own + "".join(f"pending {sha(str(i))}  workspaces/gone/SOUL.md\n" for i in range(17)))
    assert summary(seeded.run()) == NOTHING_DONE
    assert state_file.read_text() == own


# --- Names and modes of what the run leaves ------------------------------------------------------

def test_what_the_seeder_makes_is_private_to_uid_1000_whatever_the_umask(volume: Volume) -> None:
    """Run under a umask that would take the owner's write bit (0277): every folder the seeder makes
    (the root too) is 0700 and every file 0600, so the agent can still write its files."""
    volume.prefix = ["sh", "-c", 'umask 277 && exec "$@"', "sh"]
    assert summary(volume.run())["seeded"] == 4
    modes = {str(p.relative_to(volume.state)): stat.S_IMODE(p.lstat().st_mode) for p in volume.state.rglob("*")}
    assert stat.S_IMODE(volume.state.stat().st_mode) == 0o700
    assert modes == {rel: 0o700 if (volume.state / rel).is_dir() else 0o600 for rel in modes}
    assert len(modes) > 10


SOUL_V2 = "sre soul v2\n"


def test_the_pending_checksums_reach_the_disk_after_every_earlier_record_of_a_big_record_file(seeded: Volume) -> None:
    """A 3 MiB record file (records of agents no longer seeded) is copied in 1 MiB pieces with the
    new pending checksum after it: killed right after that copy is renamed into place, the record
    file on disk is the old one, byte for byte, and the pending line."""
    state_file = seeded.state / ".seed-state"
    old = state_file.read_bytes() + record_lines(3 << 20)
    state_file.write_bytes(old)
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": SOUL_V2}})
    for n in range(1, 20):
        state = seeded.root / f"kill-{n}"
        shutil.copytree(seeded.state, state, symlinks=True)
        assert seeded.run(state=state, crash_after=n).returncode == -signal.SIGKILL
        records = (state / ".seed-state").read_bytes()
        if records != old:
            assert records == old + f"pending {sha(SOUL_V2)}  workspaces/sre/SOUL.md\n".encode()
            return
        shutil.rmtree(state)
    pytest.fail("no kill point after the record file was renamed")


def test_a_file_that_cannot_be_the_seed_is_not_read(seeded: Volume) -> None:
    """sre gets a new seed file, USER.md, and sre already has a USER.md of its own, of another size
    and with no record: the agent's, kept without being read, so a read error in it (a bad block)
    does not stop the pod."""
    user = seeded.state / "workspaces" / "sre" / "USER.md"
    user.write_text("the agent's own notes, longer than the seed\n")
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "USER.md": "sre user\n"}})
    seeded.prefix = ["strace", "-f", "-qq", "-o", "/dev/null", "-P", str(user), "-e", "trace=read",
                     "-e", "inject=read:error=EIO"]
    assert summary(seeded.run()) == {**NOTHING_DONE, "kept-edited": 1}
    assert user.read_text() == "the agent's own notes, longer than the seed\n"



# --- A folder's mode changed under the seeder, as uid 1000: which folder is at fault -------------

def _no_search(folder: Path) -> Callable[[], None]:
    return lambda: folder.chmod(0o600)


# The call the change comes after (calls, path, which one), the folder made unsearchable then, and
# what the run was about to do there.
UNSEARCHABLE: dict[str, tuple[str, str, int, str, str]] = {
    "a new workspace's mkdir": (LSTAT, "workspaces/new", 2, "workspaces", "mkdir"),
    "a retired folder's move": (LSTAT, "workspaces/old", 2, "workspaces", "rename"),
    "the empty archive folder's removal": ("close", ".archive/.in-progress", 1, ".archive", "rmdir"),
    "the scratch folder's removal": (LSTAT, ".seed-tmp", 2, "", "rmdir"),
}


@pytest.mark.parametrize("case", sorted(UNSEARCHABLE))
def test_a_folder_made_unsearchable_during_the_run_is_named_with_its_fix(seeded: Volume, case: str) -> None:
    """Between the seeder's check and its change, a folder on the way loses its search (x) bit: the
    line names that folder and says uid 1000 must be able to search it, not to write in it."""
    calls, rel, when, at_fault, syscall = UNSEARCHABLE[case]
    if rel == "workspaces/new":
        seeded.write_seed({**SEED, "new": {"SOUL.md": "new soul\n"}})
    elif rel == "workspaces/old":
        (seeded.state / rel).mkdir()
    else:
        (seeded.state / rel).mkdir(parents=True)   # a killed run's, empty
    folder = seeded.state / at_fault if at_fault else seeded.state
    try:
        line = error_line(paused(seeded, calls, seeded.state / rel, _no_search(folder), when, as_uid_1000()))
    finally:
        folder.chmod(0o700)
    assert line == (f"{folder}: permission denied ({syscall}); uid 1000 must be able to search this folder: "
                    "chmod u+rwx it (its mode is 0600)"), line
    assert summary(seeded.run())["seeded"] == (1 if rel == "workspaces/new" else 0)


def test_a_file_the_sticky_bit_protects_is_named_not_its_temp_file(seeded: Volume) -> None:
    """sre's workspace is a sticky folder of another user that uid 1000 may write in, and its seeded
    SOUL.md now belongs to that user too: replacing it is not permitted (rename(2): EPERM), though
    every folder on the way is writable. The line names SOUL.md, never the temp file, with the fix."""
    folder = seeded.state / "workspaces" / "sre"
    soul = folder / "SOUL.md"
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": SOUL_V2}})
    os.chown(folder, 2000, 2000)
    folder.chmod(0o1777)
    os.chown(soul, 2000, 2000)
    soul.chmod(0o644)                              # readable: it is the seeder's v1
    seeded.prefix = as_uid_1000()
    try:
        line = error_line(seeded.run())
    finally:
        os.chown(folder, 0, 0)
        folder.chmod(0o700)
        os.chown(soul, 0, 0)
    assert line == (f"{soul}: operation not permitted (rename); the volume must be writable by uid 1000: check its "
                    "ownership and attributes"), line
    assert soul.read_text() == "sre soul v1\n"
    assert summary(seeded.run()) == {**NOTHING_DONE, "updated": 1}


