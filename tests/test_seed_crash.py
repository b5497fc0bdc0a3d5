"""kill -9 at every change a seeding run makes (OPENCLAW_SEED_CRASH_AFTER=n: the script SIGKILLs itself
right after its n-th change to the volume), then a clean run: the volume must equal, file by file
(type, content, link target), what one uninterrupted run leaves. Archive folders are compared
without their time stamp (the run that finishes the archive names it)."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.seed_fixtures import CONFIG, Volume, make_volume, normalised, summary, tree
from tests.seed_scenarios import SCENARIOS, old_volume


def _copy(vol: Volume, name: str) -> Path:
    copy = vol.root / name
    shutil.copytree(vol.state, copy, symlinks=True)
    return copy


def _crash(vol: Volume, expected: Mapping[str, object], n: int, again: int | None) -> bool:
    """Kill a run after its n-th change (and the next one after its `again`-th), then run it clean
    and compare; False when the run made fewer than n changes (it was never killed)."""
    state = _copy(vol, f"crash-{n}")
    killed = vol.run(state=state, crash_after=n)
    if killed.returncode == 0:
        assert normalised(state) == expected
        return False
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if again is not None:
        vol.run(state=state, crash_after=again)
    rerun = vol.run(state=state)
    assert rerun.returncode == 0, (n, rerun.stderr)
    assert normalised(state) == expected, f"killed after change {n}" + (f", then {again}" if again else "")
    shutil.rmtree(state)
    return True


def _every_point(vol: Volume, step: int = 1, again: Callable[[int], int] | None = None) -> int:
    """Every kill point of the run, four at a time (the runs are independent copies)."""
    outside = tree(vol.root / "outside", mtimes=True) if (vol.root / "outside").exists() else None
    reference = _copy(vol, "reference")
    assert vol.run(state=reference).returncode == 0
    expected = normalised(reference)
    points = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for start in range(1, 1000, 8 * step):
            batch = range(start, start + 8 * step, step)
            killed = list(pool.map(lambda n: _crash(vol, expected, n, again(n) if again else None), batch))
            points += sum(killed)
            if not all(killed):
                if outside is not None:
                    assert tree(vol.root / "outside", mtimes=True) == outside
                return points
    raise AssertionError("the run never finished")


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Volume:
    vol = make_volume(tmp_path)
    vol.state.mkdir()
    SCENARIOS[request.param](vol)
    return vol


def test_a_kill_at_any_point_then_a_clean_run_equals_one_uninterrupted_run(scenario: Volume) -> None:
    assert _every_point(scenario) >= 30


def test_killed_twice_then_a_clean_run_equals_one_uninterrupted_run(scenario: Volume) -> None:
    assert _every_point(scenario, step=5, again=lambda n: max(1, n // 2)) >= 6


def test_the_uninterrupted_result_is_final(scenario: Volume) -> None:
    assert scenario.run().returncode == 0
    before = scenario.snapshot()
    result = summary(scenario.run())
    assert result["seeded"] == result["updated"] == result["archived"] == 0
    assert scenario.snapshot() == before


def test_a_reset_workspace_killed_right_after_it_is_created_again_is_still_seeded(tmp_path: Path) -> None:
    """The case the old seeder lost for good: the folder re-created, then the init container killed."""
    vol = make_volume(tmp_path)
    assert vol.run().returncode == 0
    shutil.rmtree(vol.state / "workspaces" / "sre")
    for n in range(1, 50):
        state = _copy(vol, f"crash-{n}")
        if vol.run(state=state, crash_after=n).returncode == 0:
            break
        if (state / "workspaces" / "sre").is_dir() and not any((state / "workspaces" / "sre").iterdir()):
            assert summary(vol.run(state=state)) == {"seeded": 2, "updated": 0, "kept-edited": 0, "archived": 0}
            assert (state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"
            return
    pytest.fail("no kill point left the re-created workspace folder empty")


# A run of one catalog version killed part-way, then a clean run of another version (the next one,
# or the previous one: a rollback). Same agents and names in every version, only their content moves
# (USER.md is new in v2 and v3; v1 lacks it): the clean run must leave what it leaves on its own.
VERSIONS = {
    1: {"main": {"SOUL.md": "main soul v1\n", "AGENTS.md": "main agents v1\n"},
        "sre": {"SOUL.md": "sre soul v1\n", "TOOLS.md": "sre tools v1\n"},
        "planner": {"SOUL.md": "planner soul v1\n", "BOOTSTRAP.md": "planner bootstrap\n"}},
    2: {"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n", "USER.md": "main user v2\n"},
        "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"},
        "planner": {"SOUL.md": "planner soul v2\n", "BOOTSTRAP.md": "planner bootstrap\n"}},
    3: {"main": {"SOUL.md": "main soul v3\n", "AGENTS.md": "main agents v3\n", "USER.md": "main user v3\n"},
        "sre": {"SOUL.md": "sre soul v3\n", "TOOLS.md": "sre tools v2\n"},
        "planner": {"SOUL.md": "planner soul v3\n", "BOOTSTRAP.md": "planner bootstrap\n"}},
}


def _version(root: Path, n: int) -> Volume:
    """The config and seed mounts of catalog version n (the state volume is given to each run)."""
    vol = Volume(root / f"v{n}")
    vol.write_config({**CONFIG, "gateway": {"port": n}})
    vol.write_seed(VERSIONS[n])
    return vol


def _first_run_volume(vol: Volume) -> None:
    """What the old manifests left, never seeded by this seeder (see old_volume)."""
    old_volume(vol)
    shutil.rmtree(vol.state / "workspaces" / "-rf *")


def _seeded_then_used(vol: Volume) -> None:
    """Seeded with v1, then: an edit, a deleted seed, an agent's own file, a reset workspace, a retired agent."""
    assert _version(vol.root, 1).run(state=vol.state).returncode == 0
    state = vol.state
    (state / "workspace" / "AGENTS.md").write_text("edited by a person\n")
    (state / "workspaces" / "planner" / "BOOTSTRAP.md").unlink()
    (state / "workspaces" / "planner" / "MEMORY.md").write_text("planner memory\n")
    shutil.rmtree(state / "workspaces" / "sre")
    (state / "workspaces" / "old").mkdir()
    (state / "workspaces" / "old" / "SOUL.md").write_text("old soul\n")


STARTS: dict[str, Callable[[Volume], None]] = {"first run": _first_run_volume, "update run": _seeded_then_used}


# (the killed versions, the version of the clean run, every how many kill points)
SEQUENCES: dict[str, tuple[tuple[int, ...], int, int]] = {
    "v2 killed, then v3": ((2,), 3, 1),
    "v2 killed, then v1 (a rollback)": ((2,), 1, 1),
    "v2 killed, v3 killed, then v1": ((2, 3), 1, 3),
}


@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
@pytest.mark.parametrize("start", sorted(STARTS))
def test_a_run_killed_at_any_point_then_a_clean_run_of_another_version(tmp_path: Path, start: str,
                                                                        sequence: str) -> None:
    """The second killed run (if any) is killed halfway through its own changes."""
    killed_versions, then, step = SEQUENCES[sequence]
    vol = make_volume(tmp_path)
    vol.state.mkdir()
    STARTS[start](vol)
    killed, clean_version = [_version(tmp_path, n) for n in killed_versions], _version(tmp_path, then)
    reference = _copy(vol, "reference")
    assert clean_version.run(state=reference).returncode == 0
    expected = normalised(reference)
    # Only the killed versions seed these: the seeder never deletes a file, so a killed run may leave them.
    only_killed: dict[str, set[str]] = {}
    for n in killed_versions:
        for agent, files in VERSIONS[n].items():
            for name, text in files.items():
                if name not in VERSIONS[then][agent]:
                    only_killed.setdefault(f"{'workspace' if agent == 'main' else f'workspaces/{agent}'}/{name}",
                                           set()).add(text)

    def crash(n: int) -> bool:
        state = _copy(vol, f"crash-{n}")
        if killed[0].run(state=state, crash_after=n).returncode == 0:
            return False
        for again in killed[1:]:
            again.run(state=state, crash_after=max(1, n // 2))
        assert clean_version.run(state=state).returncode == 0
        after = normalised(state)
        for rel, texts in only_killed.items():
            if rel in after:
                kind, text = after.pop(rel)
                assert kind == "file" and text in texts, (n, rel)
        assert after == expected, f"killed after change {n} ({sequence})"
        shutil.rmtree(state)
        return True

    with ThreadPoolExecutor(max_workers=4) as pool:
        points = 0
        for start_at in range(1, 1000, 8 * step):
            done = list(pool.map(crash, range(start_at, start_at + 8 * step, step)))
            points += sum(done)
            if not all(done):
                break
    assert points >= 20 // step
