"""Edges of agents/seed.mjs's second step (main(), "2."): the volume root, made when it is missing,
and what a killed run left in the scratch folder, cleared (a temp file removed, anything else
archived) and the folder removed at the run's end; each provoked for real, as uid 1000 where a
mode decides, on a volume laid out as the kubelet mounts it (tests/seed_fixtures.py)."""

from __future__ import annotations

import pytest

from tests.seed_fixtures import (
    NOTHING_DONE,
    SEED_V2,
    Volume,
    as_pod_with_mode,
    error_line,
    summary,
)
from tests.seed_probes import paused

TEMP_NAME = "ab" * 16   # a temp file's name: 32 hex digits


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


# (mode of .seed-tmp, a temp file left in it): what uid 1000 cannot do there, and the call that fails.
SCRATCH_MODES = {
    (0o600, False): ("search", "open"),      # an update's temp file cannot be created in it
    (0o500, False): ("write in", "open"),
    (0o600, True): ("search", "lstat"),      # the temp file left cannot be looked at
    (0o500, True): ("write in", "unlink"),   # ... nor removed
}


@pytest.mark.parametrize(("mode", "leftover"), sorted(SCRATCH_MODES), ids=lambda v: f"{v:04o}" if isinstance(v, int)
                         else ("a temp file left" if v else "empty"))
def test_a_scratch_folder_uid_1000_may_not_use_is_named_with_its_fix(seeded: Volume, mode: int,
                                                                     leftover: bool) -> None:
    """A killed run left .seed-tmp (empty, or with a temp file) with a mode that lets uid 1000 list it
    but not search it or write in it, and an update is due: the line names .seed-tmp (never the temp
    file), what uid 1000 must be able to do there, and its mode. Nothing updated; once the mode is
    back, the next run finishes the job."""
    scratch = seeded.state / ".seed-tmp"
    scratch.mkdir()
    if leftover:
        (scratch / TEMP_NAME).write_text("half a seed file\n")
    need, syscall = SCRATCH_MODES[mode, leftover]
    seeded.write_seed(SEED_V2)
    with as_pod_with_mode(seeded, scratch, mode):
        line = error_line(seeded.run())
    assert line == (f"{scratch}: permission denied ({syscall}); uid 1000 must be able to {need} this folder: "
                    f"chmod u+rwx it (its mode is {mode:04o})"), line
    assert (seeded.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"
    assert summary(seeded.run())["updated"] == 4
    assert not scratch.exists()


def test_a_temp_file_gone_after_the_scratch_folder_was_listed_is_passed_over(seeded: Volume) -> None:
    """The temp file a killed run left is listed, then removed by someone else before the seeder
    looks at it: nothing to clear, nothing archived, and the run finishes."""
    scratch = seeded.state / ".seed-tmp"
    scratch.mkdir()
    (scratch / TEMP_NAME).write_text("half a seed file\n")
    result = paused(seeded, "close", scratch, (scratch / TEMP_NAME).unlink)   # the listing done
    assert summary(result) == NOTHING_DONE
    assert not scratch.exists() and not (seeded.state / ".archive").exists()


def test_a_missing_volume_root_that_cannot_be_made_is_named_with_its_fix(volume: Volume) -> None:
    """No volume root, and uid 1000 may not write in the folder it goes in: the run stops at once,
    naming the root with the fix, having made nothing; the same run as root makes it."""
    mount = volume.root / "mnt"
    mount.mkdir()
    with as_pod_with_mode(volume, mount, 0o500):
        line = error_line(volume.run(state=mount / "state"))
    assert line == (f"{mount / 'state'}: permission denied (mkdir); the volume must be writable by uid 1000 "
                    "(fsGroup 1000): chown -R 1000:1000 it or restore the mode of this path"), line
    assert list(mount.iterdir()) == []
    volume.prefix = []
    assert summary(volume.run(state=mount / "state"))["seeded"] == 4
