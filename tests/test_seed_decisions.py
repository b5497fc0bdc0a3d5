"""Decisions of the seeder (agents/seed.mjs) on the volume not covered elsewhere, each provoked from
both sides: what it retires and what it leaves, its record file's exact lines (pending and written)
and limits, its archive's names, and a volume root that is not a folder."""

from __future__ import annotations

import shutil
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.seed_fixtures import SEED, Volume, as_uid_1000, error_line, normalised, sha, summary

MAX_LINE = 1024       # seed.mjs: the longest record line
MAX_CHECKSUMS = 16    # seed.mjs: checksums one file may have in the record file


def test_the_records_list_each_seed_file_by_agent_then_name(volume: Volume) -> None:
    # Agents found in the seed volume are taken in name order, whatever order the folder lists them.
    volume.write_seed({"zeta": {"B.md": "b\n", "A.md": "a\n"}, "main": {"SOUL.md": "s\n"}, "alpha": {"X.md": "x\n"}})
    assert summary(volume.run())["seeded"] == 4
    assert (volume.state / ".seed-state").read_text() == "".join(
        f"{sha(text)}  {rel}\n" for rel, text in [("workspaces/alpha/X.md", "x\n"), ("workspace/SOUL.md", "s\n"),
                                                   ("workspaces/zeta/A.md", "a\n"), ("workspaces/zeta/B.md", "b\n")])


def test_the_pending_checksums_of_a_killed_run_are_written_once(seeded: Volume) -> None:
    """Killed right after the pending checksums reached the disk: the old lines as they were, one
    pending line per file the run writes; killed there again, no line is added twice."""
    before = (seeded.state / ".seed-state").read_text()
    seeded.write_seed({**SEED, "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v1\n", "NEW.md": "new\n"}})
    soul, new = sha("sre soul v2\n"), sha("new\n")
    pending = f"pending {new}  workspaces/sre/NEW.md\npending {soul}  workspaces/sre/SOUL.md\n"   # in seeding order
    for n in range(1, 20):
        state = seeded.root / f"crash-{n}"
        shutil.copytree(seeded.state, state, symlinks=True)
        assert seeded.run(state=state, crash_after=n).returncode == -signal.SIGKILL
        if (state / ".seed-state").read_text() != before:
            break
    else:
        pytest.fail("no kill point wrote the pending checksums")
    assert (state / ".seed-state").read_text() == before + pending
    assert seeded.run(state=state, crash_after=n).returncode == -signal.SIGKILL
    assert (state / ".seed-state").read_text() == before + pending
    reference = seeded.root / "reference"
    shutil.copytree(seeded.state, reference, symlinks=True)
    assert seeded.run(state=reference).returncode == seeded.run(state=state).returncode == 0
    assert normalised(state) == normalised(reference)
    assert (state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v2\n"


@pytest.mark.parametrize(("length", "ok"), [(MAX_LINE, True), (MAX_LINE + 1, False)], ids=["at the limit", "one over"])
def test_a_record_line_may_be_exactly_the_longest(seeded: Volume, length: int, ok: bool) -> None:
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    prefix = f"{'0' * 64}  workspaces/x/"
    state_file.write_text(own + prefix + "n" * (length - len(prefix)) + "\n")
    result = seeded.run()
    if ok:
        assert summary(result)["kept-edited"] == 0
        assert state_file.read_text() == own            # a record of no seed file: dropped
    else:
        assert error_line(result).startswith(f"{state_file}: line 5 is not \"<sha256>  <workspace file>\"")


@pytest.mark.parametrize(("count", "ok"), [(MAX_CHECKSUMS, True), (MAX_CHECKSUMS + 1, False)],
                         ids=["at the limit", "one over"])
def test_a_file_may_have_as_many_checksums_as_runs_killed_in_a_row(seeded: Volume, count: int, ok: bool) -> None:
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()    # one written checksum per file; add pending ones for sre's SOUL.md
    state_file.write_text(own + "".join(f"pending {sha(str(i))}  workspaces/sre/SOUL.md\n" for i in range(count - 1)))
    (seeded.state / "workspaces" / "sre" / "SOUL.md").write_text(str(count - 2))   # a killed run's content
    result = seeded.run()
    if ok:
        assert summary(result) == {"seeded": 0, "updated": 1, "kept-edited": 0, "archived": 0}
        assert state_file.read_text() == own
    else:
        assert error_line(result) == (f"{state_file}: more than {MAX_CHECKSUMS} checksums for workspaces/sre/SOUL.md "
                                      "(the file is corrupt); remove the file: the next run keeps every existing "
                                      "workspace file as it is and seeds only the missing ones")


def test_only_folders_and_links_are_retired_from_workspaces_and_agents(seeded: Volume) -> None:
    for base in ("workspaces", "agents"):
        (seeded.state / base / "README.md").write_text("a person's note\n")
        (seeded.state / base / "retired").mkdir()
        (seeded.state / base / "gone").symlink_to("retired")
    assert summary(seeded.run())["archived"] == 4
    (archive,) = (seeded.state / ".archive").iterdir()
    for base in ("workspaces", "agents"):
        assert (seeded.state / base / "README.md").read_text() == "a person's note\n"
        assert sorted(p.name for p in (archive / base).iterdir()) == ["gone", "retired"]


@pytest.mark.parametrize("what", ["file", "link"])
def test_workspaces_or_agents_that_is_no_folder_is_retired_whole(seeded: Volume, what: str) -> None:
    for base in ("workspaces", "agents"):
        path = seeded.state / base
        shutil.rmtree(path)
        if what == "file":
            path.write_text(f"{base} as a file\n")
        else:
            path.symlink_to("workspace")
    result = seeded.run()
    assert summary(result)["archived"] == 2
    (archive,) = (seeded.state / ".archive").iterdir()
    assert (archive / "workspaces").is_symlink() == (what == "link")
    assert (seeded.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"
    assert (seeded.state / "agents" / "sre" / "sessions").is_dir()


def test_a_scratch_file_in_place_of_the_scratch_folder_is_retired(seeded: Volume) -> None:
    (seeded.state / ".seed-tmp").write_text("not a folder\n")
    assert summary(seeded.run())["archived"] == 1
    (archive,) = (seeded.state / ".archive").iterdir()
    assert (archive / ".seed-tmp").read_text() == "not a folder\n"
    assert not (seeded.state / ".seed-tmp").exists()


def test_an_empty_archive_in_progress_is_removed_without_an_archive(seeded: Volume) -> None:
    (seeded.state / ".archive" / ".in-progress").mkdir(parents=True)
    assert summary(seeded.run())["archived"] == 0
    assert list((seeded.state / ".archive").iterdir()) == []


def test_an_archive_never_replaces_an_earlier_one_of_the_same_second(seeded: Volume) -> None:
    now = datetime.now(UTC)
    taken = [(now + timedelta(seconds=s)).strftime("%Y%m%dT%H%M%SZ") for s in range(-1, 30)]
    for stamp in taken:
        (seeded.state / ".archive" / stamp).mkdir(parents=True)
        (seeded.state / ".archive" / stamp / "kept").write_text(stamp)
    (seeded.state / "workspaces" / "old").mkdir()
    started = time.time()
    assert summary(seeded.run())["archived"] == 1
    assert time.time() - started < 29, "the run outlasted the stamps planted for it"
    (new,) = [p for p in (seeded.state / ".archive").iterdir() if p.name not in taken]
    assert new.name[:-2] in taken and new.name.endswith(".1") and (new / "workspaces" / "old").is_dir()
    assert all((seeded.state / ".archive" / s / "kept").read_text() == s for s in taken)


@pytest.mark.parametrize("what", ["file", "link to a folder"])
def test_a_volume_root_that_is_no_folder_is_named(volume: Volume, what: str) -> None:
    if what == "file":
        volume.state.write_text("not a folder\n")
    else:
        (volume.root / "elsewhere").mkdir()
        volume.state.symlink_to("elsewhere")
    result = volume.run()
    if what == "file":
        assert error_line(result) == f"{volume.state}: not a folder; mount the state volume there"
    else:   # the mount point is trusted: a link to a folder is followed (the kubelet may mount so)
        assert summary(result)["seeded"] == 4
        assert (volume.root / "elsewhere" / "workspace" / "SOUL.md").is_file()


def test_a_missing_volume_root_is_created_with_its_parents(volume: Volume) -> None:
    state = volume.root / "deep" / "er" / "state"
    assert summary(volume.run(state=state))["seeded"] == 4
    assert (state.stat().st_mode & 0o777) == 0o700


@pytest.mark.parametrize("same_size", [True, False], ids=["same size", "another size"])
def test_an_unreadable_config_is_replaced_by_the_configmaps(seeded: Volume, same_size: bool) -> None:
    config = seeded.state / "openclaw.json"
    wanted = config.read_bytes()
    config.write_bytes(b"x" * len(wanted) if same_size else b"{}")
    config.chmod(0)
    seeded.prefix = as_uid_1000()
    assert summary(seeded.run()) == {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
    assert config.read_bytes() == wanted and (config.stat().st_mode & 0o777) == 0o600
