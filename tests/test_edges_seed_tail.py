"""Edges of agents/seed.mjs's later half (the record file's reading and rewriting, the safe
primitives below the root, the workspace files, the retired agents, the archive's end, the error
report) that the other seed tests leave open, each provoked for real on a volume laid out as the
kubelet mounts it (tests/seed_fixtures.py)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.seed_fixtures import (
    SEED,
    Entry,
    Volume,
    as_uid_1000,
    error_line,
    make_volume,
    normalised,
    sha,
    summary,
)
from tests.test_seed_crash import SCENARIOS
from tests.test_seed_durability import _trace
from tests.test_seed_memory import _records
from tests.test_seed_races import LSTAT, _paused

NOTHING_DONE = {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
REMOVE_STATE = ("remove the file: the next run keeps every existing workspace file as it is and seeds only the "
                "missing ones")
SEED_V2 = {"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n"},
           "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"}}


# --- Every change the run makes is a kill point of its own (OPENCLAW_SEED_CRASH_AFTER) ------------

TEMP = re.compile(r"^\.seed-tmp/[0-9a-f]{32}$")
TEMP_KEY = re.compile(r"^\.seed-tmp/<.*>$", re.DOTALL)
EMPTY_TEMP = ".seed-tmp/<>"


def _state(root: Path) -> dict[str, Entry]:
    """The volume as normalised() gives it, the root's existence too, and each temp file named by
    its content (its name is random: the same file has another name in each run)."""
    entries: dict[str, Entry] = {}
    for rel, entry in normalised(root).items():
        entries[f".seed-tmp/<{entry[1]}>" if TEMP.match(rel) else rel] = entry   # EMPTY_TEMP when empty
    if root.is_dir():
        entries["."] = ("dir", "")
    return entries


def _up(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else "."


def _one_change(before: dict[str, Entry], after: dict[str, Entry]) -> bool:
    """after is before with exactly one change made: an entry created, a file written, an entry
    removed, or an entry (with what is in it) renamed, possibly over a file."""
    added = {k: v for k, v in after.items() if k not in before}
    removed = {k: v for k, v in before.items() if k not in after}
    altered = {k: v for k, v in after.items() if k in before and before[k] != v}
    new = {**added, **altered}
    if not removed:
        return len(new) == 1
    if not new:
        return len(removed) == 1
    if list(removed) == [EMPTY_TEMP] and len(new) == 1 and TEMP_KEY.match(next(iter(new))):
        return True   # a temp file written (named by its content: empty until then)
    (top_from,) = [k for k in removed if _up(k) not in removed] or [""]
    (top_to,) = [k for k in new if _up(k) not in new] or [""]
    return bool(top_from and top_to) and {top_to + k[len(top_from):]: v for k, v in removed.items()} == new


def _missing_root(vol: Volume) -> None:
    shutil.rmtree(vol.state, ignore_errors=True)


def _leftovers(vol: Volume) -> None:
    """A seeded volume that a killed run left a temp file and an empty archive folder in, an update due."""
    assert vol.run().returncode == 0
    (vol.state / ".seed-tmp").mkdir()
    (vol.state / ".seed-tmp" / ("ab" * 16)).write_text("half a seed file\n")
    (vol.state / ".archive" / ".in-progress").mkdir(parents=True)
    vol.write_seed(SEED_V2)


def _crash_scenario(make: Callable[[Volume], None]) -> Callable[[Volume], None]:
    def prepare(vol: Volume) -> None:
        vol.state.mkdir()
        make(vol)
    return prepare


KILL_SCENARIOS: dict[str, Callable[[Volume], None]] = {
    **{name: _crash_scenario(make) for name, make in SCENARIOS.items()},
    "a missing volume root": _missing_root,
    "a killed run's leftovers": _leftovers,
}


@pytest.mark.parametrize("scenario", sorted(KILL_SCENARIOS))
def test_each_change_is_a_kill_point_of_its_own(tmp_path: Path, scenario: str) -> None:
    """The crash tests kill a run after each of its changes: that covers every point only if every
    change to the volume (a folder made, a temp file created, then written, a rename, a removal) is
    followed by a kill point, one each. Killed after change n, the volume is the one killed after
    change n - 1 with one change more; the last kill point is the finished run's volume."""
    vol = make_volume(tmp_path)
    KILL_SCENARIOS[scenario](vol)
    start = tmp_path / "start"
    if vol.state.exists():
        shutil.copytree(vol.state, start, symlinks=True)
    previous = _state(vol.state)
    for n in range(1, 500):
        state = tmp_path / f"kill-{n}"
        if start.exists():
            shutil.copytree(start, state, symlinks=True)
        run = vol.run(state=state, crash_after=n)
        now = _state(state)
        if run.returncode == 0:
            assert n > 10 and now == previous, f"changes after the last kill point ({n - 1}): {scenario}"
            return
        assert run.returncode == -signal.SIGKILL, run.stderr
        assert _one_change(previous, now), f"kill point {n} of {scenario}: not one change after {n - 1}"
        previous = now
        shutil.rmtree(state)
    pytest.fail("the run never finished")


# --- What the seeder finds in place of its own entries is named by its kind ------------------------

def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))


def _device(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))   # /dev/null's numbers (we are root)


OTHER_KINDS: dict[str, Callable[[Path], None]] = {"FIFO": _fifo, "socket": _socket, "device": _device}


@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
def test_a_fifo_socket_or_device_in_place_of_the_record_file_is_named_by_its_kind(seeded: Volume, kind: str) -> None:
    """Never opened (a FIFO would block), nothing written, one line naming what is there."""
    state_file = seeded.state / ".seed-state"
    state_file.unlink()
    OTHER_KINDS[kind](state_file)
    seeded.write_seed(SEED_V2)
    before = seeded.snapshot()
    assert error_line(seeded.run()) == f"{state_file}: a {kind}, not the seeder's record file; {REMOVE_STATE}"
    assert seeded.snapshot() == before


@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
def test_a_fifo_socket_or_device_inside_the_archive_is_named_by_its_kind(seeded: Volume, kind: str) -> None:
    """Found where a retired agent's folder goes in this run's archive: nothing is moved."""
    (seeded.state / "workspaces" / "old").mkdir()
    staged = seeded.state / ".archive" / ".in-progress" / "workspaces"
    staged.parent.mkdir(parents=True)
    OTHER_KINDS[kind](staged)
    before = seeded.snapshot()
    assert error_line(seeded.run()) == (f"{staged}: a {kind} where the seeder keeps its archive; move it out of the "
                                        "way (it is not the seeder's), then restart the pod")
    assert seeded.snapshot() == before


# --- Archive moves -----------------------------------------------------------------------------------

def test_a_retired_folder_uid_1000_may_not_write_in_is_named_with_its_fix(seeded: Volume) -> None:
    """Moving a folder into another folder rewrites its "..": rename(2) needs write permission in the
    folder itself, so a retired agent's read-only folder is the one at fault, not workspaces/ (which
    uid 1000 may write in). Nothing moved; once it is writable again the next run archives it."""
    old = seeded.state / "workspaces" / "old"
    old.mkdir()
    (old / "MEMORY.md").write_text("old memory\n")
    old.chmod(0o500)
    seeded.prefix = as_uid_1000()
    try:
        line = error_line(seeded.run())
    finally:
        old.chmod(0o700)
    assert line == (f"{old}: permission denied (rename); uid 1000 must be able to write in this folder: "
                    "chmod u+rwx it (its mode is 0500)"), line
    assert (old / "MEMORY.md").read_text() == "old memory\n"
    assert summary(seeded.run()) == {**NOTHING_DONE, "archived": 1}
    (archive,) = (seeded.state / ".archive").iterdir()
    assert (archive / "workspaces" / "old" / "MEMORY.md").read_text() == "old memory\n"



def test_an_archive_move_never_replaces_what_a_killed_run_archived_under_the_same_name(seeded: Volume) -> None:
    """A killed run left workspaces/old and workspaces/old.1 in this run's archive folder; a folder
    of that name is retired again: it goes to the first free name, workspaces/old.2."""
    staging = seeded.state / ".archive" / ".in-progress" / "workspaces"
    for name in ("old", "old.1"):
        (staging / name).mkdir(parents=True)
        (staging / name / "MEMORY.md").write_text(f"{name} memory\n")
    (seeded.state / "workspaces" / "old").mkdir()
    (seeded.state / "workspaces" / "old" / "MEMORY.md").write_text("latest memory\n")
    assert summary(seeded.run()) == {**NOTHING_DONE, "archived": 1}
    (archive,) = (seeded.state / ".archive").iterdir()
    assert {p.name: (p / "MEMORY.md").read_text() for p in (archive / "workspaces").iterdir()} == {
        "old": "old memory\n", "old.1": "old.1 memory\n", "old.2": "latest memory\n"}
    assert not (seeded.state / "workspaces" / "old").exists()


# --- Retiring what the catalog no longer has ----------------------------------------------------------

@pytest.mark.parametrize("what", ["file", "link", "nothing"])
def test_workspaces_that_is_no_folder_in_a_catalog_of_main_alone_is_retired_whole(volume: Volume, what: str) -> None:
    """Only main's workspace is `workspace/`: no agent makes `workspaces/` a folder, so the retiring
    step itself finds a file or a link there (moved aside whole, as it is) or nothing (left so)."""
    volume.write_seed({"main": SEED_V2["main"]})
    volume.state.mkdir()
    workspaces = volume.state / "workspaces"
    if what == "file":
        workspaces.write_text("a person's note\n")
    elif what == "link":
        (volume.root / "elsewhere").mkdir()
        workspaces.symlink_to(volume.root / "elsewhere")
    assert summary(volume.run()) == {**NOTHING_DONE, "seeded": 2, "archived": 0 if what == "nothing" else 1}
    assert not workspaces.exists() and not workspaces.is_symlink()
    assert (volume.state / "workspace" / "SOUL.md").read_text() == "main soul v2\n"
    if what != "nothing":
        (archive,) = (volume.state / ".archive").iterdir()
        kept = archive / "workspaces"
        assert (os.readlink(kept) == str(volume.root / "elsewhere") if what == "link"
                else kept.read_text() == "a person's note\n")
    assert summary(volume.run()) == NOTHING_DONE


# --- The archive's and the scratch folder's end ---------------------------------------------------

def test_an_empty_archive_folder_that_cannot_be_removed_names_the_folder_at_fault(seeded: Volume) -> None:
    """A killed run left .archive/.in-progress empty; uid 1000 may not write in .archive: the line
    names .archive (not the folder it could not remove) and the fix."""
    archive = seeded.state / ".archive"
    (archive / ".in-progress").mkdir(parents=True)
    archive.chmod(0o500)
    seeded.prefix = as_uid_1000()
    try:
        line = error_line(seeded.run())
    finally:
        archive.chmod(0o700)
    assert line == (f"{archive}: permission denied (rmdir); uid 1000 must be able to write in this folder: "
                    "chmod u+rwx it (its mode is 0500)"), line
    assert summary(seeded.run()) == NOTHING_DONE
    assert list(archive.iterdir()) == []


def test_a_scratch_folder_that_cannot_be_removed_names_the_volume_root(seeded: Volume) -> None:
    """A killed run left .seed-tmp empty and nothing else is due; uid 1000 may not write in the
    volume root: the line names the root and the fix."""
    (seeded.state / ".seed-tmp").mkdir()
    seeded.state.chmod(0o500)
    seeded.prefix = as_uid_1000()
    try:
        line = error_line(seeded.run())
    finally:
        seeded.state.chmod(0o700)
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
    scratch.chmod(mode)
    seeded.write_seed(SEED_V2)
    seeded.prefix = as_uid_1000()
    try:
        line = error_line(seeded.run())
    finally:
        scratch.chmod(0o700)
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
    line = error_line(_paused(seeded, LSTAT, listed, listed.unlink))
    assert line == f"{listed}: not found; remount the seed volume", line
    assert (seeded.state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v1\n"


def test_a_retired_folder_removed_after_the_listing_is_skipped(seeded: Volume) -> None:
    """workspaces/old is listed, then removed by someone else before the seeder looks at it: nothing
    to archive, and the run finishes."""
    old = seeded.state / "workspaces" / "old"
    old.mkdir()
    result = _paused(seeded, "close", seeded.state / "workspaces", old.rmdir)   # the listing done
    assert summary(result) == NOTHING_DONE
    assert not old.exists() and not (seeded.state / ".archive").exists()


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

    line = error_line(_paused(seeded, "close", state_file, append))   # after the records were read
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
    calls = _trace(seeded)
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
    old = state_file.read_bytes() + _records(3 << 20)
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


def test_a_retired_folder_removed_after_its_check_is_named(seeded: Volume) -> None:
    """workspaces/old is checked (a folder), then removed by someone else before it is moved: one
    line naming it; the next run has nothing to retire."""
    old = seeded.state / "workspaces" / "old"
    old.mkdir()
    line = error_line(_paused(seeded, LSTAT, old, old.rmdir))
    assert line == (f"{old}: unexpected error ENOENT (rename); check the volume; the next run picks up where this "
                    "one stopped"), line
    assert summary(seeded.run()) == NOTHING_DONE


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
        line = error_line(_paused(seeded, calls, seeded.state / rel, _no_search(folder), when, as_uid_1000()))
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


def test_an_archive_folder_the_sticky_bit_protects_is_named_with_its_fix(seeded: Volume) -> None:
    """.archive is a sticky folder of another user that uid 1000 may write in, and the staging folder
    a killed run filled belongs to that user: renaming it to its time stamp within .archive is not
    permitted (EPERM), though .archive is writable and a move within one folder needs no write
    permission in what is moved. The line names the staging folder, with the fix."""
    archive = seeded.state / ".archive"
    staging = archive / ".in-progress"
    (staging / "workspaces" / "old").mkdir(parents=True)
    for folder, mode in ((archive, 0o1777), (staging, 0o755)):
        os.chown(folder, 2000, 2000)
        folder.chmod(mode)
    seeded.prefix = as_uid_1000()
    try:
        line = error_line(seeded.run())
    finally:
        for folder in (archive, staging):
            os.chown(folder, 0, 0)
            folder.chmod(0o700)
    assert line == (f"{staging}: operation not permitted (rename); the volume must be writable by uid 1000: check "
                    "its ownership and attributes"), line
    assert (staging / "workspaces" / "old").is_dir()
    assert summary(seeded.run()) == NOTHING_DONE
    (done,) = archive.iterdir()
    assert (done / "workspaces" / "old").is_dir()


def test_a_file_that_appears_where_the_archive_goes_is_named(seeded: Volume) -> None:
    """.archive is absent when the seeder checks it, then a file appears there before a retired
    folder is moved into the archive: one line naming it, nothing moved."""
    archive = seeded.state / ".archive"
    old = seeded.state / "workspaces" / "old"
    old.mkdir()
    line = error_line(_paused(seeded, LSTAT, archive, lambda: archive.write_text("not the seeder's\n")))
    assert line == (f"{archive}: a file where the seeder keeps its archive; move it out of the way (it is not the "
                    "seeder's), then restart the pod"), line
    assert old.is_dir() and archive.read_text() == "not the seeder's\n"
