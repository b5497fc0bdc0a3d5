"""Edges of agents/seed.mjs's archive (agents/README.md): what it finds where its record file and
archive go, retired folders moved aside (under the same name as a killed run's, by a user that
may not, removed or replaced under the seeder), the archive's end; each provoked for real on a
volume laid out as the kubelet mounts it (tests/seed_fixtures.py)."""

from __future__ import annotations

import os

import pytest

from tests.seed_fixtures import (
    NOTHING_DONE,
    OTHER_KINDS,
    REMOVE_STATE,
    SEED_V2,
    Volume,
    as_pod_with_mode,
    error_line,
    summary,
)
from tests.seed_probes import LSTAT, paused

# --- What the seeder finds in place of its own entries is named by its kind ------------------------

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
    with as_pod_with_mode(seeded, old, 0o500):
        line = error_line(seeded.run())
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


def test_of_two_retired_folders_uid_1000_may_not_move_the_first_in_the_seeders_name_order_is_named(
        seeded: Volume) -> None:
    """Retired folders are taken in name order as JavaScript sorts names (by UTF-16 code unit), not
    in the byte order Node lists them in: of two read-only ones, U+1F600's (a surrogate pair, 0xD83D
    first) is named, not U+FF01's. Nothing moved; once they are writable the next run retires both."""
    folders = [seeded.state / "workspaces" / name for name in ("\uff01x", "\U0001f600x")]
    for folder in folders:
        folder.mkdir()
    with as_pod_with_mode(seeded, folders[0], 0o500), as_pod_with_mode(seeded, folders[1], 0o500):
        line = error_line(seeded.run())
    assert line == (f"{folders[1]}: permission denied (rename); uid 1000 must be able to write in this folder: "
                    "chmod u+rwx it (its mode is 0500)"), line
    assert all(folder.is_dir() for folder in folders)
    assert summary(seeded.run()) == {**NOTHING_DONE, "archived": 2}


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


# --- The archive's end --------------------------------------------------------------------------------

def test_an_empty_archive_folder_that_cannot_be_removed_names_the_folder_at_fault(seeded: Volume) -> None:
    """A killed run left .archive/.in-progress empty; uid 1000 may not write in .archive: the line
    names .archive (not the folder it could not remove) and the fix."""
    archive = seeded.state / ".archive"
    (archive / ".in-progress").mkdir(parents=True)
    with as_pod_with_mode(seeded, archive, 0o500):
        line = error_line(seeded.run())
    assert line == (f"{archive}: permission denied (rmdir); uid 1000 must be able to write in this folder: "
                    "chmod u+rwx it (its mode is 0500)"), line
    assert summary(seeded.run()) == NOTHING_DONE
    assert list(archive.iterdir()) == []



def test_a_retired_folder_removed_after_the_listing_is_skipped(seeded: Volume) -> None:
    """workspaces/old is listed, then removed by someone else before the seeder looks at it: nothing
    to archive, and the run finishes."""
    old = seeded.state / "workspaces" / "old"
    old.mkdir()
    result = paused(seeded, "close", seeded.state / "workspaces", old.rmdir)   # the listing done
    assert summary(result) == NOTHING_DONE
    assert not old.exists() and not (seeded.state / ".archive").exists()



def test_a_retired_folder_removed_after_its_check_is_named(seeded: Volume) -> None:
    """workspaces/old is checked (a folder), then removed by someone else before it is moved: one
    line naming it; the next run has nothing to retire."""
    old = seeded.state / "workspaces" / "old"
    old.mkdir()
    line = error_line(paused(seeded, LSTAT, old, old.rmdir))
    assert line == (f"{old}: unexpected error ENOENT (rename); check the volume; the next run picks up where this "
                    "one stopped"), line
    assert summary(seeded.run()) == NOTHING_DONE



def test_an_archive_folder_the_sticky_bit_protects_is_named_with_its_fix(seeded: Volume) -> None:
    """.archive is a sticky folder of another user that uid 1000 may write in, and the staging folder
    a killed run filled belongs to that user: renaming it to its time stamp within .archive is not
    permitted (EPERM), though .archive is writable and a move within one folder needs no write
    permission in what is moved. The line names the staging folder, with the fix."""
    archive = seeded.state / ".archive"
    staging = archive / ".in-progress"
    (staging / "workspaces" / "old").mkdir(parents=True)
    with as_pod_with_mode(seeded, archive, 0o1777, owner=2000), as_pod_with_mode(seeded, staging, 0o755, owner=2000):
        line = error_line(seeded.run())
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
    line = error_line(paused(seeded, LSTAT, archive, lambda: archive.write_text("not the seeder's\n")))
    assert line == (f"{archive}: a file where the seeder keeps its archive; move it out of the way (it is not the "
                    "seeder's), then restart the pod"), line
    assert old.is_dir() and archive.read_text() == "not the seeder's\n"
