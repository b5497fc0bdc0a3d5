"""Edges of agents/seed.mjs's record file (agents/README.md, "Crash safety"): copied with the pending
checksums in 1 MiB pieces, a pending checksum written once, the records in name order, and the
file written only when it changes; each provoked for real on a volume laid out as the kubelet
mounts it (tests/seed_fixtures.py), the writes and renames traced with strace."""

from __future__ import annotations

import re
import shutil
import signal

import pytest

from tests.seed_fixtures import (
    NOTHING_DONE,
    SEED,
    SEED_V2,
    Volume,
    sha,
    summary,
)
from tests.seed_probes import record_lines, syncs_and_renames

CHUNK = 1 << 20     # seed.mjs: the record file is read, and copied, 1 MiB at a time
SOUL_V2 = SEED_V2["sre"]["SOUL.md"]
PENDING = f"pending {sha(SOUL_V2)}  workspaces/sre/SOUL.md\n".encode()
_WRITE = re.compile(r"^\d+ +p?write(?:64)?\(\d+<([^>]*/\.seed-tmp/[0-9a-f]{32})>, .*\) = (\d+)$")


def _temp_writes(vol: Volume) -> dict[str, list[int]]:
    """The size of each write(2) the run makes to each of its temp files, in order."""
    out = vol.root / "writes"
    vol.prefix = ["strace", "-f", "-qq", "-y", "-o", str(out), "-e", "trace=write,pwrite64"]
    assert vol.run().returncode == 0
    vol.prefix = []
    writes: dict[str, list[int]] = {}
    for line in out.read_text().splitlines():
        if match := _WRITE.match(line):
            writes.setdefault(match.group(1), []).append(int(match.group(2)))
    return writes


@pytest.mark.parametrize("short", [0, 1], ids=["records that end at 1 MiB", "records that end a byte short of it"])
def test_the_record_file_is_copied_in_pieces_of_1_mib(seeded: Volume, short: int) -> None:
    """An update's pending checksum goes on disk in a copy of the record file: the records are written
    as soon as they reach 1 MiB, not one by one nor all at once. Records that end exactly at 1 MiB
    are written then; a byte short of it, with the next record. The rest follows with the pending line."""
    state_file = seeded.state / ".seed-state"
    head = state_file.read_bytes()
    head += record_lines(CHUNK - short - len(head))
    rest = record_lines(64 << 10, path="workspaces/other-{n:06d}/SOUL.md")
    state_file.write_bytes(head + rest)
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": SOUL_V2}})
    first = len(head) + (len(rest.split(b"\n", 1)[0]) + 1 if short else 0)
    total = len(head) + len(rest) + len(PENDING)
    (copy,) = [sizes for sizes in _temp_writes(seeded).values() if sum(sizes) == total]
    assert copy == [first, total - first]


def test_a_pending_checksum_already_on_disk_is_not_written_again(seeded: Volume) -> None:
    """A run killed right after its pending checksum reached the record file, before the file it
    describes was replaced: the next run replaces the file and writes the record file once, at
    its end, never the same pending checksum again (a pod killed over and over would pile them up)."""
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": SOUL_V2}})
    for n in range(1, 20):
        state = seeded.root / f"kill-{n}"
        shutil.copytree(seeded.state, state, symlinks=True)
        assert seeded.run(state=state, crash_after=n).returncode == -signal.SIGKILL
        if PENDING in (state / ".seed-state").read_bytes():
            break
        shutil.rmtree(state)
    else:
        pytest.fail("no kill point after the pending checksum was written")
    shutil.rmtree(seeded.state)
    state.rename(seeded.state)
    calls = syncs_and_renames(seeded)
    assert [target for call, _, target in calls if call == "rename"] == ["workspaces/sre/SOUL.md", ".seed-state"]
    assert PENDING not in (seeded.state / ".seed-state").read_bytes()
    assert (seeded.state / "workspaces" / "sre" / "SOUL.md").read_text() == SOUL_V2


def test_an_agents_records_are_in_name_order_whatever_the_seed_volume_lists_first(volume: Volume) -> None:
    """Twelve seed files, laid out in reverse name order: the record file lists them in name order
    (the order the seeder takes them in), so the same seed gives the same record file."""
    seed = {f"F{i:02d}.md": f"file {i}\n" for i in range(12)}
    volume.write_seed({"main": dict(reversed(seed.items()))})
    assert summary(volume.run()) == {**NOTHING_DONE, "seeded": 12}
    records = (volume.state / ".seed-state").read_text().splitlines()
    assert records == [f"{sha(text)}  workspace/{name}" for name, text in seed.items()]


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


def test_a_reset_workspaces_dropped_records_reach_the_disk_before_it_is_seeded_again(seeded: Volume) -> None:
    """sre's workspace was removed (an operator reset it): the record file without its records is
    renamed into place and the volume root fsync'ed before anything else is renamed, so that after
    a power cut the old records never come back to take the re-seeded files for the agent's."""
    shutil.rmtree(seeded.state / "workspaces" / "sre")
    calls = syncs_and_renames(seeded)
    renames = [i for i, (call, _, _) in enumerate(calls) if call == "rename"]
    assert calls[renames[0]][2] == ".seed-state" and len(renames) > 2, calls
    assert ("fsync", ".", "") in calls[renames[0] + 1:renames[1]], calls


def test_checksums_of_a_file_no_longer_seeded_are_not_counted_and_dropped(seeded: Volume) -> None:
    """The cap on checksums per file (a corrupt record file) counts only this run's seed files: 17
    records of a retired agent's file are passed over, then dropped with it."""
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    state_file.write_text(own + "".join(f"pending {sha(str(i))}  workspaces/gone/SOUL.md\n" for i in range(17)))
    assert summary(seeded.run()) == NOTHING_DONE
    assert state_file.read_text() == own



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
