"""What the seeder reads besides the volume (the config and seed mounts) and its record file's text:
each malformed input ends in one `seed: error:` line naming it and its fix, before anything is
written; each tolerated oddity is tolerated."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.seed_fixtures import (
    CONFIG,
    SECRETS,
    SEED,
    Volume,
    as_uid_1000,
    error_line,
    sha,
    summary,
)


def test_a_missing_config_mount_is_named(volume: Volume) -> None:
    shutil.rmtree(volume.config)
    assert error_line(volume.run()) == (f"{volume.config}/openclaw.json: not found; is the config ConfigMap mounted "
                                        f"at {volume.config}?")
    assert not volume.state.exists()


def test_a_placeholder_used_twice_is_named_once(volume: Volume) -> None:
    volume.write_config({**CONFIG, "a": "${TWICE}", "b": "${TWICE}"})
    line = error_line(volume.run())
    assert line.split(";")[0].split(": ", 1)[1] == "missing or empty environment variables: TWICE"
    assert volume.run(env={**SECRETS, "TWICE": "fake-not-a-secret-0009"}).returncode == 0


def test_a_seed_file_name_that_is_no_configmap_key_is_named(volume: Volume) -> None:
    volume.write_seed({**SEED, "sre": {**SEED["sre"], "my notes.md": "x\n"}})
    assert error_line(volume.run()) == (f"{volume.seed}/sre/my notes.md: not a ConfigMap key; rename the override in "
                                        "the catalog")
    assert not volume.state.exists()


def test_seed_entries_that_are_no_agent_folders_are_no_agents(volume: Volume) -> None:
    (volume.seed / "dangling").symlink_to("..data/nowhere")     # a link to nothing: not an agent, no error
    (volume.seed / ".hidden").mkdir()                           # hidden: never an agent
    result = volume.run()
    assert summary(result)["seeded"] == 4
    assert sorted(p.name for p in (volume.state / "agents").iterdir()) == ["main", "sre"]


def test_a_seed_entry_that_cannot_be_resolved_stops_the_run(volume: Volume) -> None:
    (volume.seed / "loop").symlink_to("loop")
    assert error_line(volume.run()) == (f"{volume.state}: unexpected failure (ELOOP); the next run picks up where "
                                        "this one stopped; report it with this line")
    assert not volume.state.exists()


def test_an_unreadable_agent_seed_folder_is_named(volume: Volume) -> None:
    folder = next(volume.seed.glob("..2*")) / "sre"
    folder.chmod(0)
    volume.prefix = as_uid_1000()
    try:
        line = error_line(volume.run())
    finally:
        folder.chmod(0o755)
    assert line == (f"{volume.seed}/sre: permission denied (scandir); the volume must be writable by uid 1000 "
                    "(fsGroup 1000): chown -R 1000:1000 it or restore the mode of this path")


def test_a_broken_seed_file_is_named(volume: Volume) -> None:
    (next(volume.seed.glob("..2*")) / "sre" / "GONE.md").symlink_to("nowhere")
    assert error_line(volume.run()) == (f"{volume.seed}/sre/GONE.md: unexpected error ENOENT (stat); check the "
                                        "volume; the next run picks up where this one stopped")


def test_blank_lines_in_the_record_file_are_tolerated_and_dropped(seeded: Volume) -> None:
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    lines = own.splitlines(keepends=True)
    state_file.write_text("\n" + lines[0] + "\n\n" + "".join(lines[1:]))
    seeded.write_seed({**SEED, "sre": {**SEED["sre"], "SOUL.md": "sre soul v2\n"}})   # copied with the pending line
    assert summary(seeded.run()) == {"seeded": 0, "updated": 1, "kept-edited": 0, "archived": 0}
    assert state_file.read_text() == own.replace(sha("sre soul v1\n"), sha("sre soul v2\n"))


def test_the_last_record_counts_without_its_newline(seeded: Volume) -> None:
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    last = own.splitlines()[-1].split("  ")[1]
    (seeded.state / last).unlink()                              # the agent deleted it: it stays deleted
    state_file.write_text(own.removesuffix("\n"))
    assert summary(seeded.run()) == {"seeded": 0, "updated": 0, "kept-edited": 1, "archived": 0}
    assert not (seeded.state / last).exists()
    assert state_file.read_text() == own.removesuffix("\n")   # the same records: not written again


def test_a_file_recorded_twice_keeps_its_first_record(seeded: Volume) -> None:
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    soul = seeded.state / "workspaces" / "sre" / "SOUL.md"
    soul.write_text("edited\n")
    state_file.write_text(own + f"{'1' * 64}  workspaces/sre/SOUL.md\n")
    assert summary(seeded.run())["kept-edited"] == 1
    assert state_file.read_text() == own and soul.read_text() == "edited\n"


@pytest.mark.parametrize(("size", "read"), [(1 << 20, True), ((1 << 20) + 1, False)], ids=["1 MiB", "1 MiB + 1"])
def test_a_recorded_file_is_read_up_to_1_mib(seeded: Volume, size: int, read: bool) -> None:
    """A file whose checksum is recorded (a killed run's pending one) is the seeder's, if it reads it."""
    big = "b" * size
    soul = seeded.state / "workspaces" / "sre" / "SOUL.md"
    soul.write_text(big)
    state_file = seeded.state / ".seed-state"
    state_file.write_text(state_file.read_text() + f"pending {sha(big)}  workspaces/sre/SOUL.md\n")
    result = summary(seeded.run())
    assert result["updated" if read else "kept-edited"] == 1
    assert (soul.read_text() == "sre soul v1\n") == read
    assert os.path.getsize(soul) == (len("sre soul v1\n") if read else size)
