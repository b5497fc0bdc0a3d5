"""components/scripts/state.mjs (the state guard and the migration step) run for real under Node 22
and 24, on state volumes of every kind, with a stand-in for the release's CLI that records how it
was called (the real release's migration: tests/e2e/test_upgrade.py)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.migration import SCRIPT
from components.releases import NODE_22, NODE_24
from tools.toolchain import node_binary

MARKER = ".state-release.json"
CONFIG = '{"agents": {"entries": {"main": {}}}}\n'
# The release's CLI, as the migrate step runs it (`node /app/openclaw.mjs <args>`): it records its
# arguments, environment and the config it was given, edits that config as doctor does, and then
# exits with FAKE_EXIT (or hangs with FAKE_HANG).
FAKE_CLI = """
import fs from 'node:fs';
const out = process.env.FAKE_RECORD;
fs.writeFileSync(out, JSON.stringify({argv: process.argv.slice(2), config: process.env.OPENCLAW_CONFIG_PATH,
  configText: fs.readFileSync(process.env.OPENCLAW_CONFIG_PATH, 'utf8'), state: process.env.OPENCLAW_STATE_DIR}));
fs.writeFileSync(process.env.OPENCLAW_CONFIG_PATH, '{"rewritten": "by doctor"}');
console.log('doctor: migrating (fake)');
if (process.env.FAKE_HANG) setInterval(() => {}, 1000);
else process.exit(Number(process.env.FAKE_EXIT || 0));
"""


@dataclass
class Volume:
    root: Path
    state: Path
    node: str

    def run(self, mode: str, release: str = "2026.9.6", epoch: int = 2, **env: str) -> subprocess.CompletedProcess[str]:
        app = self.root / "app"
        app.mkdir(exist_ok=True)
        (app / "openclaw.mjs").write_text(FAKE_CLI)
        (self.root / "tmp").mkdir(exist_ok=True)
        full = {"PATH": "/usr/bin:/bin", "OPENCLAW_STATE_DIR": str(self.state), "OPENCLAW_RELEASE": release,
                "OPENCLAW_STATE_EPOCH": str(epoch), "OPENCLAW_APP": str(app), "TMPDIR": str(self.root / "tmp"),
                "OPENCLAW_MIGRATION": '["doctor", "--fix", "--non-interactive"]',
                "FAKE_RECORD": str(self.root / "record.json"), **env}
        return subprocess.run([self.node, str(SCRIPT), mode], env=full, capture_output=True, text=True,
                              timeout=60, check=False)

    def marker(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads((self.state / MARKER).read_text())
        return result

    def mark(self, release: str, epoch: int) -> None:
        (self.state / MARKER).write_text(json.dumps({"release": release, "stateEpoch": epoch, "at": "then"}))

    def called(self) -> dict[str, Any] | None:
        record = self.root / "record.json"
        return json.loads(record.read_text()) if record.exists() else None


@pytest.fixture(params=[NODE_22, NODE_24])
def volume(request: pytest.FixtureRequest, tmp_path: Path) -> Volume:
    state = tmp_path / "state"
    state.mkdir()
    return Volume(tmp_path, state, str(node_binary(request.param)))


def used(volume: Volume) -> None:
    """A volume a release has written: config, an agent's session."""
    (volume.state / "openclaw.json").write_text(CONFIG)
    (volume.state / "agents" / "main" / "sessions").mkdir(parents=True)
    (volume.state / "agents" / "main" / "sessions" / "s1.jsonl").write_text("{}\n")


def one_error(result: subprocess.CompletedProcess[str], step: str) -> str:
    assert result.returncode == 1, result
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{step}: error: ")
    return line


# --- the guard ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fresh", [[], ["lost+found"]])
def test_a_new_volume_is_marked_at_once(volume: Volume, fresh: list[str]) -> None:
    for name in fresh:
        (volume.state / name).mkdir()
    result = volume.run("guard")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "state: a new volume: marked as written by OpenClaw 2026.9.6 (state epoch 2)\n"
    assert volume.marker()["release"] == "2026.9.6" and volume.marker()["stateEpoch"] == 2
    assert sorted(os.listdir(volume.state)) == sorted([*fresh, MARKER])


@pytest.mark.parametrize("marked,epoch,due", [
    (None, 1, False),             # unmarked: written by 2026.2.23 (epoch 1)
    (None, 2, True),
    (("2026.2.23", 1), 1, False),  # same epoch, either direction
    (("2026.6.35", 1), 1, False),
    (("2026.2.23", 1), 2, True),   # one epoch up
    (("2026.9.6", 2), 2, False),
])
def test_the_guard_says_what_is_due_and_writes_nothing(volume: Volume, marked: tuple[str, int] | None,
                                                      epoch: int, due: bool) -> None:
    used(volume)
    if marked:
        volume.mark(*marked)
    before = {p: p.read_bytes() for p in volume.state.rglob("*") if p.is_file()}
    result = volume.run("guard", release="2026.x", epoch=epoch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("a migration is due (migrate init container)\n" if due else "no migration needed\n")
    assert {p: p.read_bytes() for p in volume.state.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("mode", ["guard", "migrate"])
def test_a_lower_epoch_than_the_volume_is_refused_with_the_rollback(volume: Volume, mode: str) -> None:
    used(volume)
    volume.mark("2026.9.6", 2)
    before = (volume.state / MARKER).read_bytes()
    line = one_error(volume.run(mode, release="2026.2.23", epoch=1), "state" if mode == "guard" else "migrate")
    assert ("this volume was last written by OpenClaw 2026.9.6 (state epoch 2), which migrated it; 2026.2.23 "
            "(epoch 1) cannot read it; roll back by restoring the pre-upgrade snapshot with the earlier tag") in line
    assert "docs/upgrade-runbook.md#roll-back" in line
    assert (volume.state / MARKER).read_bytes() == before and volume.called() is None


@pytest.mark.parametrize("make,problem", [
    (lambda v: (v.state / MARKER).symlink_to(v.root / "elsewhere.json"), "a symbolic link, not the release marker"),
    (lambda v: (v.state / MARKER).mkdir(), "a non-file, not the release marker"),
    (lambda v: (v.state / MARKER).write_text("{not json"), "unreadable ("),
    (lambda v: (v.state / MARKER).write_text('{"release": "2026.9.6", "stateEpoch": 0}'), "not a release marker"),
    (lambda v: (v.state / MARKER).write_text('{"release": 2, "stateEpoch": 2}'), "not a release marker"),
    (lambda v: (v.state / MARKER).write_text('{"release": "2026.9.6", "stateEpoch": "2"}'), "not a release marker"),
])
def test_a_bad_marker_stops_both_steps_and_is_not_followed(volume: Volume, make: Any, problem: str) -> None:
    used(volume)
    (volume.root / "elsewhere.json").write_text('{"release": "2026.9.6", "stateEpoch": 1}')
    make(volume)
    for mode, step in (("guard", "state"), ("migrate", "migrate")):
        line = one_error(volume.run(mode), step)
        assert problem in line and "write it again as" in line
    assert volume.called() is None
    assert (volume.root / "elsewhere.json").read_text() == '{"release": "2026.9.6", "stateEpoch": 1}'


# --- the migration ------------------------------------------------------------------------------------

@pytest.mark.parametrize("marked", [None, ("2026.2.23", 1)])
def test_a_due_migration_runs_on_a_scratch_config_then_marks(volume: Volume, marked: tuple[str, int] | None) -> None:
    used(volume)
    if marked:
        volume.mark(*marked)
    result = volume.run("migrate")
    assert result.returncode == 0, result.stderr
    called = volume.called()
    assert called is not None and called["argv"] == ["doctor", "--fix", "--non-interactive"]
    assert called["state"] == str(volume.state) and called["configText"] == CONFIG
    assert not called["config"].startswith(str(volume.state))       # a scratch copy in the pod's /tmp
    assert (volume.state / "openclaw.json").read_text() == CONFIG   # the rendered config stays
    assert volume.marker()["release"] == "2026.9.6" and volume.marker()["stateEpoch"] == 2
    lines = result.stdout.splitlines()
    assert lines[0] == ("migrate: migrating state epoch 1 (OpenClaw 2026.2.23" + (")" if marked else " (unmarked))")
                        + " to 2 with `openclaw doctor --fix --non-interactive`")
    assert lines[1] == "doctor: migrating (fake)"  # the migration's own output, in the pod log
    assert lines[2].startswith("migrate: state migrated to epoch 2 in ")


@pytest.mark.parametrize("env,how", [
    ({"FAKE_EXIT": "1"}, "exited 1 after "),
    ({"FAKE_EXIT": "78"}, "exited 78 after "),
    ({"FAKE_HANG": "1", "OPENCLAW_MIGRATION_TIMEOUT_SECONDS": "2"}, "did not finish within 2 s"),
])
def test_a_failed_migration_is_one_line_and_leaves_the_marker(volume: Volume, env: dict[str, str], how: str) -> None:
    used(volume)
    volume.mark("2026.2.23", 1)
    result = volume.run("migrate", **env)
    line = one_error(result, "migrate")
    assert f"`openclaw doctor --fix --non-interactive` {how}" in line
    assert "still marked 2026.2.23" in line and "restore the pre-upgrade snapshot with the earlier tag" in line
    assert volume.marker()["release"] == "2026.2.23"
    assert "doctor: migrating (fake)" in result.stdout


@pytest.mark.parametrize("marked,written", [
    (("2026.9.6", 2), False),     # the same release: nothing written (a restart changes nothing)
    (("2026.9.5", 2), True),      # same epoch, another release: the marker follows
])
def test_no_migration_within_an_epoch(volume: Volume, marked: tuple[str, int], written: bool) -> None:
    used(volume)
    volume.mark(*marked)
    before = (volume.state / MARKER).read_text()
    result = volume.run("migrate")
    assert result.returncode == 0, result.stderr
    assert volume.called() is None
    assert result.stdout == "migrate: nothing to migrate (state epoch 2); marked as written by OpenClaw 2026.9.6\n"
    assert ((volume.state / MARKER).read_text() != before) is written
    assert volume.marker()["release"] == "2026.9.6"


def test_an_unmarked_volume_of_the_first_epoch_gets_marked(volume: Volume) -> None:
    used(volume)
    assert volume.run("migrate", release="2026.2.23", epoch=1).returncode == 0
    assert volume.called() is None
    assert volume.marker()["release"] == "2026.2.23" and volume.marker()["stateEpoch"] == 1


@pytest.mark.parametrize("env,problem", [
    ({"OPENCLAW_MIGRATION": "[]"}, "OpenClaw 2026.9.6 starts state epoch 2 but names no migration"),
    ({"OPENCLAW_MIGRATION": "doctor --fix"}, "OPENCLAW_MIGRATION: not a JSON list of arguments"),
    ({"OPENCLAW_STATE_EPOCH": "two"}, "OPENCLAW_RELEASE / OPENCLAW_STATE_EPOCH: missing"),
])
def test_a_bad_rendering_is_named(volume: Volume, env: dict[str, str], problem: str) -> None:
    used(volume)
    assert problem in one_error(volume.run("migrate", **env), "migrate")
    assert volume.called() is None and not (volume.state / MARKER).exists()
