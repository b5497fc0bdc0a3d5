"""The seeder's checks that hold even if the volume changes under it (agents/README.md: no agent runs
while it does, so these are a second line of defence): between its `lstat` of a path and its use
of that path, something else appears there. strace stops the seeder right after the given call
returns (`-e inject=...:signal=SIGSTOP`), the test changes the volume, then lets it go on."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import agents
from tests.seed_fixtures import SECRETS, SEED, Volume, error_line, make_volume, node, summary

LSTAT = "?lstat,?newfstatat,?statx"


def _paused(vol: Volume, calls: str, path: Path | None, meanwhile: Callable[[], None], when: int = 1,
            prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run the seeder (under `prefix`: as_uid_1000() for the pod's modes), stopped once after the
    `when`-th of its `calls` (on `path`) returned; `meanwhile` then runs."""
    trace = vol.root / "trace"
    env = {"PATH": os.environ["PATH"], "OPENCLAW_STATE_DIR": str(vol.state), "OPENCLAW_CONFIG_SRC": str(vol.config),
           "OPENCLAW_SEED_SRC": str(vol.seed), **SECRETS}
    command = [*prefix, "strace", "-f", "-qq", "-o", str(trace), *(["-P", str(path)] if path else []),
               "-e", f"trace={calls}", "-e", f"inject={calls}:signal=SIGSTOP:when={when}",
               node(), str(agents.SEED_SCRIPT)]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.monotonic() + 30
        while "stopped by SIGSTOP" not in (trace.read_text() if trace.exists() else ""):
            assert time.monotonic() < deadline and proc.poll() is None, "the seeder never reached the call"
            time.sleep(0.01)
        meanwhile()
        (seeder,) = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        os.kill(int(seeder), signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
    # strace's own note when a path is a link: not the seeder's output.
    err = "".join(x for x in err.splitlines(keepends=True) if not x.startswith("strace: "))
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def _seeded(tmp_path: Path) -> Volume:
    vol = make_volume(tmp_path)
    assert vol.run().returncode == 0
    vol.write_seed({**SEED, "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"}})
    return vol


def _replace(path: Path, by: str) -> Callable[[], None]:
    def swap() -> None:
        path.unlink()
        if by == "folder":
            path.mkdir()
        else:
            path.symlink_to("TOOLS.md")
    return swap


def test_a_seed_file_that_turns_into_a_folder_before_it_is_read_is_kept(tmp_path: Path) -> None:
    vol = _seeded(tmp_path)
    soul = vol.state / "workspaces" / "sre" / "SOUL.md"
    result = _paused(vol, LSTAT, soul, _replace(soul, "folder"))
    assert summary(result) == {"seeded": 0, "updated": 1, "kept-edited": 1, "archived": 0}
    assert soul.is_dir() and (vol.state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v2\n"


def test_a_seed_file_that_turns_into_a_link_before_it_is_read_is_kept_and_not_followed(tmp_path: Path) -> None:
    vol = _seeded(tmp_path)
    soul = vol.state / "workspaces" / "sre" / "SOUL.md"
    result = _paused(vol, LSTAT, soul, _replace(soul, "link"))
    assert summary(result) == {"seeded": 0, "updated": 1, "kept-edited": 1, "archived": 0}
    assert os.readlink(soul) == "TOOLS.md" and (vol.state / "workspaces" / "sre" / "TOOLS.md").read_text() == \
        "sre tools v2\n"


def test_a_record_file_that_turns_into_a_folder_before_it_is_read_stops_the_run(tmp_path: Path) -> None:
    vol = _seeded(tmp_path)
    state_file = vol.state / ".seed-state"
    kept = vol.root / "records"

    def swap() -> None:
        shutil.move(state_file, kept)
        state_file.mkdir()

    line = error_line(_paused(vol, LSTAT, state_file, swap))
    assert line == (f"{state_file}: not a regular file; remove the file: the next run keeps every existing "
                    "workspace file as it is and seeds only the missing ones")
    assert (vol.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"   # nothing written


def test_a_folder_that_appears_where_a_file_is_being_written_stops_the_run(tmp_path: Path) -> None:
    vol = _seeded(tmp_path)
    vol.write_config({"gateway": {"port": 2}, "secret": "${OPENCLAW_GATEWAY_TOKEN}"})
    config = vol.state / "openclaw.json"
    line = error_line(_paused(vol, "fdatasync", None, _replace(config, "folder")))   # openclaw.json's, the first
    assert line == f"{config}: a folder appeared; restart the pod"
    assert config.is_dir() and not any((vol.state / ".seed-tmp").iterdir())   # its temp file removed
