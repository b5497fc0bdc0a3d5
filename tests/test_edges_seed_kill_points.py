"""Every change agents/seed.mjs makes to the volume is followed by a kill point of its own
(OPENCLAW_SEED_CRASH_AFTER), so the crash tests (tests/test_seed_crash.py) kill a run at every
point there is: checked on the crash tests' own volumes, a missing volume root and a killed
run's leftovers."""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.seed_fixtures import (
    SEED_V2,
    Entry,
    Volume,
    make_volume,
    normalised,
)
from tests.seed_scenarios import SCENARIOS

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
    if not removed:   # one entry created, or one written; a temp file is created empty, then written
        return len(new) == 1 and not any(TEMP_KEY.match(k) and k != EMPTY_TEMP for k in added)
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

