"""Odd names agents give their files and folders (spaces, newlines, leading dashes, glob and shell
characters): kept as they are in a workspace, archived under the same name when retired, and never
taken for an option, a pattern or a second line in the seeder's records."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.seed_fixtures import Volume, as_uid_1000, error_line, make_volume, summary, tree

ODD = ["my notes.md", "line\nbreak.md", "-rf", "--help", "-", "*", "?[a]*", "$(touch pwned)", "`id`", "a\\b",
       "tab\there", " leading space", "trailing space ", ".hidden", "..dots", "ünïcödé.md", "SOUL.md~",
       "SOUL.md.seed-tmp.1", "\x1b[31mred"]


@pytest.fixture
def volume(tmp_path: Path) -> Volume:
    vol = make_volume(tmp_path)
    assert vol.run().returncode == 0
    return vol


def test_odd_names_in_a_workspace_are_kept_as_they_are(volume: Volume) -> None:
    ws = volume.state / "workspaces" / "sre"
    for name in ODD:
        (ws / name).write_text(f"{name!r}\n")
    (ws / "-rf dir" / "*").mkdir(parents=True)
    (ws / "-rf dir" / "*" / "x").write_text("deep\n")
    before = volume.snapshot()
    result = volume.run()
    assert summary(result) == {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
    assert volume.snapshot() == before
    assert not (volume.state / "pwned").exists() and not (ws / "pwned").exists()


def test_odd_named_folders_are_retired_under_their_own_names(volume: Volume) -> None:
    retired = [name for name in ODD if not name.startswith(".")]
    for base in ("workspaces", "agents"):
        for name in retired:
            (volume.state / base / name).mkdir()
            (volume.state / base / name / "MEMORY.md").write_text(f"{name!r}\n")
    result = volume.run()
    assert summary(result)["archived"] == 2 * len(retired)
    (archive,) = (volume.state / ".archive").iterdir()
    for base in ("workspaces", "agents"):
        assert sorted(p.name for p in (archive / base).iterdir()) == sorted(retired)
        for name in retired:
            assert (archive / base / name / "MEMORY.md").read_text() == f"{name!r}\n"
    records = (volume.state / ".seed-state").read_text().splitlines()
    assert len(records) == 4 and all(line.count("  ") == 1 for line in records)
    assert not any(name in tree(volume.state) for name in ("pwned", "workspaces/pwned"))


def test_hidden_folders_among_the_workspaces_are_left_alone(volume: Volume) -> None:
    (volume.state / "workspaces" / ".trash").mkdir()
    (volume.state / "workspaces" / "..dots").mkdir()
    assert summary(volume.run())["archived"] == 0
    assert (volume.state / "workspaces" / ".trash").is_dir() and (volume.state / "workspaces" / "..dots").is_dir()


def test_an_error_about_an_odd_name_stays_one_line(volume: Volume) -> None:
    # Moving a folder to another parent rewrites its "..": uid 1000 needs write access to it.
    odd = volume.state / "workspaces" / "line\nbreak \x1b[31m"
    odd.mkdir()
    odd.chmod(0o500)
    volume.prefix = as_uid_1000()
    try:
        line = error_line(volume.run())
    finally:
        odd.chmod(0o700)
    assert line == (f"{volume.state}/workspaces/line\\x0abreak \\x1b[31m: permission denied (rename); uid 1000 must "
                    "be able to write in this folder: chmod u+rwx it (its mode is 0500)"), line
