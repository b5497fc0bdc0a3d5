"""Links an agent can plant on the volume (agents/README.md, "Links and foreign entries"): the seeder
never touches a folder outside the volume, never overwrites openclaw.json or another agent's file,
and moves a link in place of its own folders into the archive as it is."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.seed_fixtures import CONFIG, SEED, Volume, error_line, make_volume, summary, tree

SEED_V2 = {"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n"},
           "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"}}


@dataclass
class Site:
    """A volume that was seeded once (seed v1), the seed now at v2, and a sentinel folder outside it."""

    vol: Volume
    outside: Path

    @property
    def state(self) -> Path:
        return self.vol.state


@pytest.fixture
def site(tmp_path: Path) -> Site:
    vol = make_volume(tmp_path / "pod")
    assert vol.run().returncode == 0
    vol.write_seed(SEED_V2)
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "file").write_text("outside, not the seeder's\n")
    (outside / "dir" / "kept").write_text("outside too\n")
    return Site(vol, outside)


Plant = Callable[[Site], None]


def link(at: str, target: str | Callable[[Site], Path]) -> Plant:
    def plant(site: Site) -> None:
        path = site.state / at
        if path.is_dir() and not path.is_symlink():
            os.rename(path, site.state / f"{at}.moved-away")   # the agent moved the real one away
        elif path.exists() or path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target(site) if callable(target) else target)
    return plant


def out_dir(site: Site) -> Path:
    return site.outside / "dir"


def out_file(site: Site) -> Path:
    return site.outside / "file"


# A link where the seeder needs its own folder (or openclaw.json): moved into the archive as it is.
ARCHIVED: dict[str, tuple[Plant, str]] = {
    "workspaces -> outside": (link("workspaces", out_dir), "workspaces"),
    "workspaces/sre -> outside": (link("workspaces/sre", out_dir), "workspaces/sre"),
    "workspaces/sre -> main's workspace": (link("workspaces/sre", "../workspace"), "workspaces/sre"),
    "workspace -> outside": (link("workspace", out_dir), "workspace"),
    "workspace -> sre's workspace": (link("workspace", "workspaces/sre"), "workspace"),
    "agents -> outside": (link("agents", out_dir), "agents"),
    "agents/sre -> outside": (link("agents/sre", out_dir), "agents/sre"),
    "agents/sre/sessions -> outside": (link("agents/sre/sessions", out_dir), "agents/sre/sessions"),
    "agents/sre/agent -> agents/main/agent": (link("agents/sre/agent", "../main/agent"), "agents/sre/agent"),
    "openclaw.json -> outside file": (link("openclaw.json", out_file), "openclaw.json"),
    "openclaw.json -> outside folder": (link("openclaw.json", out_dir), "openclaw.json"),
    "openclaw.json -> sre's SOUL.md": (link("openclaw.json", "workspaces/sre/SOUL.md"), "openclaw.json"),
    ".seed-tmp -> outside": (link(".seed-tmp", out_dir), ".seed-tmp"),
    "workspaces/retired -> outside": (link("workspaces/retired", out_dir), "workspaces/retired"),
    "agents/retired -> outside file": (link("agents/retired", out_file), "agents/retired"),
}


def _common(site: Site, outside_before: object) -> None:
    assert tree(site.outside, mtimes=True) == outside_before, "something outside the volume changed"
    config = site.state / "openclaw.json"
    assert not config.is_symlink() and json.loads(config.read_text()) == CONFIG


@pytest.mark.parametrize("case", sorted(ARCHIVED))
def test_a_link_in_place_of_the_seeders_own_entry_is_archived_as_it_is(site: Site, case: str) -> None:
    plant, rel = ARCHIVED[case]
    plant(site)
    target = os.readlink(site.state / rel)
    outside_before = tree(site.outside, mtimes=True)
    result = site.vol.run()
    assert summary(result)["archived"] >= 1
    _common(site, outside_before)
    (archive,) = (site.state / ".archive").iterdir()
    assert os.readlink(archive / rel) == target          # the link itself, untouched
    if not rel.endswith("retired") and rel != ".seed-tmp":
        assert (site.state / rel).is_dir() or rel == "openclaw.json"
        assert not (site.state / rel).is_symlink()
    assert not (site.state / ".seed-tmp").exists()
    # Every agent has its own real folders, and the second run changes nothing.
    for agent_id in ("main", "sre"):
        for sub in ("agent", "sessions"):
            assert not (site.state / "agents" / agent_id / sub).is_symlink()
            assert (site.state / "agents" / agent_id / sub).is_dir()
    before = site.vol.snapshot()
    assert summary(site.vol.run()) == {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
    assert site.vol.snapshot() == before


def test_a_linked_workspace_is_seeded_afresh_and_the_other_agents_files_stay(site: Site) -> None:
    link("workspaces/sre", "../workspace")(site)
    main_before = tree(site.state / "workspace")
    result = site.vol.run()
    # archived: the link, and the real folder the agent moved to workspaces/sre.moved-away (no agent's)
    assert summary(result) == {"seeded": 2, "updated": 2, "kept-edited": 0, "archived": 2}
    assert (site.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v2\n"
    # main's files were ours and unchanged: updated in main's own workspace, by main's seed only.
    assert (site.state / "workspace" / "SOUL.md").read_text() == "main soul v2\n"
    assert set(tree(site.state / "workspace")) == set(main_before)


# A link (or anything but a regular file) in place of a seeded file is the agent's: kept as it is,
# never read, never written through.
KEPT: dict[str, Plant] = {
    "SOUL.md -> outside file": link("workspaces/sre/SOUL.md", out_file),
    "SOUL.md -> outside folder": link("workspaces/sre/SOUL.md", out_dir),
    "SOUL.md -> openclaw.json": link("workspaces/sre/SOUL.md", "../../openclaw.json"),
    "SOUL.md -> main's SOUL.md": link("workspaces/sre/SOUL.md", "../../workspace/SOUL.md"),
    "SOUL.md -> itself": link("workspaces/sre/SOUL.md", "SOUL.md"),
    "SOUL.md -> missing": link("workspaces/sre/SOUL.md", "nowhere"),
    # the old seeder's predictable temporary names, planted in advance
    "SOUL.md.seed-tmp.1 -> outside": link("workspaces/sre/SOUL.md.seed-tmp.1", out_file),
    "openclaw.json.seed-tmp.1 -> outside": link("openclaw.json.seed-tmp.1", out_file),
    ".seed-state.seed-tmp.1 -> outside": link(".seed-state.seed-tmp.1", out_file),
}


@pytest.mark.parametrize("case", sorted(KEPT))
def test_an_agents_link_is_kept_and_never_followed(site: Site, case: str) -> None:
    KEPT[case](site)
    planted = {rel: entry for rel, entry in tree(site.state).items() if entry[0] == "link"}
    (site.state / "workspace" / "SOUL.md").write_text("main soul, edited\n")   # main's: kept, not updated
    outside_before = tree(site.outside, mtimes=True)
    result = site.vol.run()
    assert result.returncode == 0, result.stderr
    _common(site, outside_before)
    after = tree(site.state)
    assert {rel: after[rel] for rel in planted} == planted
    assert (site.state / "workspace" / "SOUL.md").read_text() == "main soul, edited\n"
    assert (site.state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v2\n"
    if "seed-tmp" not in case:
        assert summary(result)["kept-edited"] == 2
        assert "workspaces/sre/SOUL.md" in (site.state / ".seed-state").read_text()   # still its record


def test_a_fifo_in_place_of_a_seeded_file_is_kept_without_blocking(site: Site) -> None:
    fifo = site.state / "workspaces" / "sre" / "SOUL.md"
    fifo.unlink()
    os.mkfifo(fifo)
    result = site.vol.run()   # opening it would block: the run would hit the timeout
    assert summary(result)["kept-edited"] == 1
    assert fifo.is_fifo()


def test_hard_links_are_never_written_through(site: Site) -> None:
    # sre's TOOLS.md made a hard link of main's AGENTS.md, sre's SOUL.md one of openclaw.json.
    sre = site.state / "workspaces" / "sre"
    (sre / "TOOLS.md").unlink()
    os.link(site.state / "workspace" / "AGENTS.md", sre / "TOOLS.md")
    (sre / "SOUL.md").unlink()
    os.link(site.state / "openclaw.json", sre / "SOUL.md")
    config_before = (site.state / "openclaw.json").read_text()
    site.vol.write_config({**CONFIG, "gateway": {"port": 1}})
    result = site.vol.run()
    assert summary(result) == {"seeded": 0, "updated": 2, "kept-edited": 2, "archived": 0}
    # main's files and the config were replaced by new files; the agent's links kept the old content.
    assert (site.state / "workspace" / "AGENTS.md").read_text() == "main agents v2\n"
    assert (sre / "TOOLS.md").read_text() == "main agents v1\n"
    assert (sre / "SOUL.md").read_text() == config_before
    assert json.loads((site.state / "openclaw.json").read_text())["gateway"] == {"port": 1}


ARCHIVE_LINKS: dict[str, Plant] = {
    ".archive -> outside": link(".archive", out_dir),
    ".archive/.in-progress -> outside": link(".archive/.in-progress", out_dir),
    ".archive/.in-progress/workspaces -> outside": link(".archive/.in-progress/workspaces", out_dir),
}


@pytest.mark.parametrize("case", sorted(ARCHIVE_LINKS))
def test_a_link_inside_the_archive_stops_the_run_by_name(site: Site, case: str) -> None:
    (site.state / "workspaces" / "retired").mkdir()        # something to archive
    (site.state / "workspaces" / "retired" / "MEMORY.md").write_text("memory\n")
    ARCHIVE_LINKS[case](site)
    outside_before = tree(site.outside, mtimes=True)
    line = error_line(site.vol.run())
    rel = case.split(" -> ")[0]
    assert line.startswith(f"{site.state / rel}: a symbolic link where the seeder keeps its archive; move it"), line
    assert tree(site.outside, mtimes=True) == outside_before
    assert (site.state / "workspaces" / "retired" / "MEMORY.md").read_text() == "memory\n"
    # Once the link is gone, the run finishes.
    (site.state / rel).unlink()
    assert summary(site.vol.run())["archived"] == 1


STATE_LINKS: dict[str, Plant] = {
    ".seed-state -> outside file": link(".seed-state", out_file),
    ".seed-state -> outside folder": link(".seed-state", out_dir),
    ".seed-state -> sre's SOUL.md": link(".seed-state", "workspaces/sre/SOUL.md"),
}


@pytest.mark.parametrize("case", sorted(STATE_LINKS))
def test_a_linked_state_file_stops_the_run_before_any_write(site: Site, case: str) -> None:
    STATE_LINKS[case](site)
    before = site.vol.snapshot()
    outside_before = tree(site.outside, mtimes=True)
    line = error_line(site.vol.run())
    assert line.startswith(f"{site.state / '.seed-state'}: a symbolic link, not the seeder's record file; remove"), line
    assert site.vol.snapshot() == before
    assert tree(site.outside, mtimes=True) == outside_before


def test_renaming_a_file_onto_a_folder_fails_instead_of_landing_inside(tmp_path: Path) -> None:
    """The kernel rule the seeder relies on (rename(2): EISDIR), checked under the pinned node."""
    import subprocess

    from tests.seed_fixtures import node
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    script = ("try { require('fs').renameSync(process.argv[1], process.argv[2]); console.log('renamed') }"
              " catch (e) { console.log(e.code) }")
    done = subprocess.run([node(), "-e", script, str(tmp_path / "file"), str(tmp_path / "dir")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "EISDIR"
    assert list((tmp_path / "dir").iterdir()) == []


def test_seed_v1_is_what_the_site_starts_from(site: Site) -> None:
    recorded = (site.state / ".seed-state").read_text()
    assert recorded.count("\n") == sum(len(files) for files in SEED.values())


def test_the_scratch_folder_keeps_only_what_the_seeder_left(site: Site) -> None:
    # A killed run's temporary file is removed; a link someone put there is archived, not followed.
    scratch = site.state / ".seed-tmp"
    scratch.mkdir()
    (scratch / "0123456789abcdef0123456789abcdef").write_text("half a seed file")
    (scratch / "planted").symlink_to(out_dir(site))
    outside_before = tree(site.outside, mtimes=True)
    result = site.vol.run()
    assert summary(result)["archived"] == 1
    _common(site, outside_before)
    assert not scratch.exists()
    (archive,) = (site.state / ".archive").iterdir()
    assert sorted(p.name for p in (archive / ".seed-tmp").iterdir()) == ["planted"]
    assert os.readlink(archive / ".seed-tmp" / "planted") == str(out_dir(site))


def test_temporary_names_are_random_and_say_nothing_of_the_target(site: Site) -> None:
    # Killed right after it created its first temporary file (change 1: .seed-tmp, change 2: the file).
    names = []
    for copy in ("a", "b"):
        state = site.vol.root / copy
        shutil.copytree(site.state, state, symlinks=True)
        assert site.vol.run(state=state, crash_after=2).returncode == -signal.SIGKILL
        (leftover,) = (state / ".seed-tmp").iterdir()
        names.append(leftover.name)
        assert summary(site.vol.run(state=state))["updated"] == 4   # and the next run cleans up
        assert not (state / ".seed-tmp").exists()
    assert all(re.fullmatch(r"[0-9a-f]{32}", name) for name in names) and names[0] != names[1]
