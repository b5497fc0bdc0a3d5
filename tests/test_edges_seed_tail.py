"""Edges of agents/seed.mjs's later half that the other seed tests leave open: the scratch folder a
killed run left, the record file's rewriting (only when it changes, its pending checksums, a change
under the seeder), the workspace files (recorded, read, made private), the error report, folders
made unsearchable or sticky under the seeder; each provoked for real on a volume laid out as the
kubelet mounts it (tests/seed_fixtures.py)."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.seed_fixtures import (
    NOTHING_DONE,
    OTHER_KINDS,
    SEED,
    SEED_V2,
    Volume,
    as_pod_with_mode,
    as_uid_1000,
    error_line,
    sha,
    summary,
)
from tests.seed_probes import LSTAT, paused

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


def test_of_two_seed_files_with_bad_names_the_first_in_the_seeders_name_order_is_named(volume: Volume) -> None:
    """An agent's seed files are taken in name order as JavaScript sorts names (by UTF-16 code unit),
    as the agents are (tests/test_edges_seed_files.py), not in the byte order Node lists them in:
    U+1F600 (a surrogate pair, 0xD83D first) before U+FF01. Nothing made on the volume."""
    volume.write_seed({**SEED, "sre": {**SEED["sre"], "\uff01x.md": "a\n", "\U0001f600x.md": "b\n"}})
    first = volume.seed / "sre" / "\U0001f600x.md"
    assert error_line(volume.run()) == f"{first}: not a ConfigMap key; rename the override in the catalog"
    assert not volume.state.exists()


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


# What an agent may put in place of a seeded file, by kind.
IN_PLACE: dict[str, Callable[[Path], object]] = {**OTHER_KINDS, "folder": Path.mkdir,
                                                 "link": lambda path: path.symlink_to("TOOLS.md")}


@pytest.mark.parametrize("kind", sorted(IN_PLACE))
def test_what_replaced_a_seeded_file_is_the_agents_and_never_opened(seeded: Volume, kind: str) -> None:
    """sre's SOUL.md, recorded as the seeder's, was replaced by a FIFO, a socket, a device, a folder
    or a link, and a seed update is due: it is the agent's, kept as it is (never opened, nor
    followed), and its record kept, so the record file is not rewritten."""
    soul = seeded.state / "workspaces" / "sre" / "SOUL.md"
    soul.unlink()
    IN_PLACE[kind](soul)
    kind_before = stat.S_IFMT(soul.lstat().st_mode)
    records = (seeded.state / ".seed-state").read_text()
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": SEED_V2["sre"]["SOUL.md"]}})
    assert summary(seeded.run()) == {**NOTHING_DONE, "kept-edited": 1}
    assert stat.S_IFMT(soul.lstat().st_mode) == kind_before
    assert (seeded.state / ".seed-state").read_text() == records


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
    "a scratch file's removal": (LSTAT, f".seed-tmp/{'ab' * 16}", 1, ".seed-tmp", "unlink"),
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
    elif rel.startswith(".seed-tmp/"):              # a killed run's temp file
        (seeded.state / ".seed-tmp").mkdir()
        (seeded.state / rel).write_text("half a seed file\n")
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
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": SEED_V2["sre"]["SOUL.md"]}})
    # soul readable: it is the seeder's v1
    with as_pod_with_mode(seeded, folder, 0o1777, owner=2000), as_pod_with_mode(seeded, soul, 0o644, owner=2000):
        line = error_line(seeded.run())
    assert line == (f"{soul}: operation not permitted (rename); the volume must be writable by uid 1000: check its "
                    "ownership and attributes"), line
    assert soul.read_text() == "sre soul v1\n"
    assert summary(seeded.run()) == {**NOTHING_DONE, "updated": 1}


