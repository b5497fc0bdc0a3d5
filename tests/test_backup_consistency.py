"""Backups of a database that is being written (issue 21): a writer commits to a WAL-mode database on
the volume without pause (tests/sqlite_writer.py: three tables per transaction, so a torn or mixed
copy shows) while the CronJob's two steps run again and again at random moments: the snapshot step
(components/scripts/snapshot.mjs, the volume mounted read-only, under the Node of each release
line) and backup.sh with the real restic. Every snapshot restored by `python -m tools.restore`
passes SQLite's integrity check, holds a prefix of the commits, and opens in the release that wrote
the volume: 2026.9.6's own `openclaw backup create --verify` on its state database, node:sqlite of
Node 22 and 24, and Debian's sqlite3.

The same checks fail on a plain copy of the live files (what restic over the live volume did):
the copy is made in restic's order (the main file, then the -wal) with the writer's commit and
checkpoint placed between the two reads, so the failure is deterministic, not a matter of luck;
it is then stored with the real restic and restored by `python -m tools.restore` like the others.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from components.releases import NODE_22, NODE_24
from tests.backup_fixtures import (
    restic_env,
    restic_out,
    run_backup,
    run_restore,
)
from tests.sqlite_fixtures import node, openclaw
from tests.sqlite_writer import commit_one, committed, connect, problems

pytestmark = pytest.mark.e2e

RELEASE = "2026.9.6"
STATE_DB = Path("state") / "openclaw.sqlite"
RUNS = 8
WRITER = Path(__file__).with_name("sqlite_writer.py")
NODE_OPEN = ("const {DatabaseSync} = require('node:sqlite');"
             "const db = new DatabaseSync(process.argv[1], {readOnly: true});"
             "const ic = db.prepare('pragma integrity_check').all().map(r => Object.values(r)[0]).join('; ');"
             "console.log(JSON.stringify({ic, n: db.prepare('select n from bk_totals').get().n}));")


@pytest.fixture(scope="module")
def release_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory that 2026.9.6 made itself: `openclaw doctor` creates state/openclaw.sqlite
    (WAL mode; after it exits most of the schema is still in the -wal file)."""
    home = tmp_path_factory.mktemp("release-home")
    (home / ".openclaw").mkdir()
    (home / ".openclaw" / "openclaw.json").write_text("{}\n", encoding="utf-8")
    done = openclaw(RELEASE, home, "doctor", "--non-interactive")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (home / ".openclaw" / STATE_DB).is_file()
    shutil.rmtree(home / ".openclaw" / "tmp", ignore_errors=True)
    return home / ".openclaw"


def release_verifies(state_dir: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    """2026.9.6's own check: `openclaw backup create --verify` opens the state database through the
    release's code and validates it (schema_meta, integrity, role). On a copy: it records the run."""
    home = scratch / "home"
    shutil.copytree(state_dir, home / ".openclaw", symlinks=True)
    return openclaw(RELEASE, home, "backup", "create", "--verify", "--no-include-workspace", "--json",
                    "--output", str(scratch / "archive"))


def node_opens(db: Path, version: str, scratch: Path) -> dict[str, object]:
    """node:sqlite of the given Node on a copy (a read-only open may create -shm beside it)."""
    scratch.mkdir()
    for suffix in ("", "-wal", "-journal"):
        if Path(f"{db}{suffix}").is_file():
            shutil.copyfile(f"{db}{suffix}", scratch / f"db{suffix}")
    done = subprocess.run([node(version), "--disable-warning=ExperimentalWarning", "-e", NODE_OPEN,
                           str(scratch / "db")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def sqlite3_cli_check(db: Path) -> str:
    done = subprocess.run(["sqlite3", "-readonly", f"file:{db}?immutable=1", "pragma integrity_check"],
                          capture_output=True, text=True, timeout=60, check=False)
    return (done.stdout + done.stderr).strip()


@pytest.fixture
def writer(release_state: Path, tmp_path: Path) -> Iterator[Path]:
    """The volume (2026.9.6's state) with a writer process committing to its state database."""
    volume = tmp_path / "volume"
    shutil.copytree(release_state, volume, symlinks=True)
    (volume / "workspace").mkdir()
    (volume / "workspace" / "MEMORY.md").write_text("a file that is not a database\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(WRITER), str(volume / STATE_DB), "900"],
                            stdout=subprocess.PIPE, text=True)
    try:
        while True:
            assert proc.poll() is None, "the writer stopped"
            try:
                if committed(volume / STATE_DB) >= 200:
                    break
            except sqlite3.OperationalError:
                pass  # its tables are not there yet
        yield volume
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_every_backup_of_a_database_being_written_restores_consistent(writer: Path, tmp_path: Path) -> None:
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    rng = random.Random()
    seen = []
    for run in range(RUNS):
        started = time.monotonic()
        before = committed(writer / STATE_DB)
        done = run_backup(writer, env, node_version=(NODE_22, NODE_24)[run % 2], BACKUP_RELEASE=RELEASE,
                          BACKUP_RETENTION="off")
        after = committed(writer / STATE_DB)
        assert done.returncode == 0, done.stderr
        snapshot = json.loads(done.stderr.split("backup: snapshot done: ")[1].splitlines()[0])["snapshot_id"]
        target = tmp_path / f"restored-{run}"
        restored = run_restore(target, env, "--snapshot", snapshot)
        assert restored.returncode == 0, restored.stderr
        db = target / STATE_DB
        assert not [p.name for p in db.parent.iterdir() if p.name != db.name], "sidecars restored"
        assert problems(db) == []
        count = node_opens(db, NODE_22, tmp_path / f"node22-{run}")
        assert count["ic"] == "ok" and node_opens(db, NODE_24, tmp_path / f"node24-{run}") == count
        n = int(str(count["n"]))
        assert before <= n <= after, f"run {run}: restored {n} commits, the writer had {before}..{after}"
        assert sqlite3_cli_check(db) == "ok"
        verified = release_verifies(target, tmp_path / f"release-{run}")
        assert verified.returncode == 0 and json.loads(verified.stdout)["verified"] is True, verified.stderr
        seen.append(n)
        print(f"consistency run {run}: {n} commits restored ({before}..{after}), "
              f"{(writer / STATE_DB).stat().st_size} bytes, {time.monotonic() - started:.1f} s")
        writer_sleep = rng.uniform(0, 0.5)
        subprocess.run(["sleep", f"{writer_sleep:.3f}"], check=True)
    assert seen == sorted(seen) and seen[0] < seen[-1]  # the writer kept committing through the runs
    tags = {tuple(s["tags"]) for s in json.loads(restic_out(env, "snapshots", "--json"))}
    assert tags == {("openclaw-data", f"release:{RELEASE}")}


def plain_copy(volume: Path, dest: Path, between: Callable[[], None]) -> None:
    """What restic over the live volume did: each file read once, one after another, in name order
    (restic's archiver sorts directory entries), with `between` run after the main database file
    was read and before its -wal was."""
    for root, dirs, files in os.walk(volume):
        dirs.sort()
        rel = Path(root).relative_to(volume)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            shutil.copy2(Path(root) / name, dest / rel / name)
            if rel / name == STATE_DB:
                between()


def test_a_plain_copy_of_the_live_files_fails_the_same_checks(release_state: Path, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    shutil.copytree(release_state, volume, symlinks=True)
    db = connect(volume / STATE_DB)  # the writer, in this process, so the interleaving is exact
    rng = random.Random(21)
    for _ in range(210):
        commit_one(db, rng)

    def commit_and_checkpoint() -> None:
        # 30 commits cross a checkpoint (every 25th): the WAL is backfilled into the main file that
        # was already read, then restarted, and the later commits overwrite its first frames.
        for _ in range(30):
            commit_one(db, rng)

    copy = tmp_path / "copy"
    plain_copy(volume, copy, commit_and_checkpoint)
    db.close()
    # Stored and restored as the CronJob did before (restic over those files, as they were read).
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    restic_out(env, "init")
    subprocess.run(["restic", "backup", "--host", "openclaw-data", "--tag", "openclaw-data", "."], env=env,
                   cwd=copy, capture_output=True, check=True)
    restored = run_restore(tmp_path / "restored", env)
    assert restored.returncode == 0, restored.stderr
    assert "no .openclaw-snapshot.json: taken before consistent snapshots" in restored.stdout
    found = problems(tmp_path / "restored" / STATE_DB)
    assert found and found[0].startswith(("unreadable: database disk image is malformed", "integrity_check:")), found
    assert release_verifies(tmp_path / "restored", tmp_path / "release").returncode != 0  # 2026.9.6 refuses it
