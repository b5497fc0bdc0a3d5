"""The snapshot step (components/scripts/snapshot.mjs) on what an unlucky node or an agent leaves on
the volume, under the Node of each release line, with the volume mounted read-only as in the pod:
databases found by their header whatever their name, live WAL and hot-journal databases, files
that only look like databases, links, a scratch space too small, a run killed half way."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from components.releases import NODE_22, NODE_24
from tests.backup_fixtures import restic_env, run_backup_script
from tests.sqlite_fixtures import database_dump, make_database, run_snapshot, snapshot_argv

HOT_JOURNAL = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("create table t(id integer primary key, pad blob)")
db.execute("insert into t values (1, x'00')")
db.execute("pragma cache_size=1")  # spill to the file mid-transaction: the journal is needed to undo
db.execute("begin")
db.executemany("insert into t(pad) values (randomblob(4000))", [()] * 200)
os.kill(os.getpid(), signal.SIGKILL)
"""


def manifest(dest: Path) -> dict[str, object]:
    result: dict[str, object] = json.loads((dest / ".openclaw-snapshot.json").read_text(encoding="utf-8"))
    return result


def databases(dest: Path) -> dict[str, dict[str, object]]:
    return {d["path"]: d for d in manifest(dest)["databases"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("node_version", [NODE_22, NODE_24])
def test_databases_are_found_by_header_and_copied_whole_without_sidecars(tmp_path: Path, node_version: str) -> None:
    volume = tmp_path / "volume"
    (volume / "state").mkdir(parents=True)
    (volume / "workspace").mkdir()
    make_database(volume / "state" / "openclaw.sqlite", wal=True)      # rows only in its -wal
    make_database(volume / "workspace" / "notes-without-suffix", wal=True)
    (volume / "workspace" / "fake.sqlite").write_text("an agent's text file with a database's name\n")
    (volume / "workspace" / "link.sqlite").symlink_to("/etc/passwd")  # never followed
    (volume / "workspace" / "orphan.sqlite-wal").write_bytes(b"no database beside it")
    (volume / "workspace" / "sealed").mkdir()
    make_database(volume / "workspace" / "sealed" / "kept.db", wal=True)
    os.chmod(volume / "workspace" / "sealed", 0o555)  # an agent's read-only folder
    want = {rel: database_dump(volume / rel) for rel in ("state/openclaw.sqlite", "workspace/notes-without-suffix",
                                                         "workspace/sealed/kept.db")}
    before = sorted(p.name for p in volume.rglob("*"))
    done = run_snapshot(volume, tmp_path / "snap", release="2026.9.6", node_version=node_version)
    assert done.returncode == 0, done.stderr
    dest = tmp_path / "snap"
    assert sorted(p.name for p in volume.rglob("*")) == before  # the volume was only read
    for rel, dump in want.items():
        assert database_dump(dest / rel) == dump and "note 49" in dump
        assert databases(dest)[rel]["method"] == "online-backup" and databases(dest)[rel]["integrity"] == "ok"
    assert not [p for p in dest.rglob("*") if p.name.endswith(("-shm", "-journal"))]
    assert not list((dest / "state").glob("*-wal"))
    assert (dest / "workspace" / "orphan.sqlite-wal").read_bytes() == b"no database beside it"  # not a sidecar
    assert (dest / "workspace" / "fake.sqlite").read_text().startswith("an agent's text file")
    assert os.readlink(dest / "workspace" / "link.sqlite") == "/etc/passwd"
    assert set(databases(dest)) == set(want)
    m = manifest(dest)
    assert (m["release"], m["kind"], m["node"]) == ("2026.9.6", "hourly", f"v{node_version}")
    assert (dest / "workspace" / "sealed").stat().st_mode & 0o777 == 0o555
    assert done.stderr.splitlines()[-1] == "snapshot: done: 11 files, 3 database(s) copied consistently"


def test_a_hot_journal_is_rolled_back_in_scratch_space_not_on_the_volume(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    subprocess.run([os.sys.executable, "-c", HOT_JOURNAL, str(volume / "crashed.db")], check=False)
    assert (volume / "crashed.db-journal").stat().st_size > 0
    journal = (volume / "crashed.db-journal").read_bytes()
    done = run_snapshot(volume, tmp_path / "snap")
    assert done.returncode == 0, done.stderr
    assert "crashed.db: not readable in place (attempt to write a readonly database): copied with its journal " \
           "and recovered in scratch space" in done.stderr
    copy = sqlite3.connect(tmp_path / "snap" / "crashed.db")
    assert copy.execute("select count(*) from t").fetchone() == (1,)  # the unfinished transaction undone
    assert databases(tmp_path / "snap")["crashed.db"]["method"] == "recovered"
    assert (volume / "crashed.db-journal").read_bytes() == journal  # the volume untouched
    assert not (tmp_path / "snap" / "crashed.db-journal").exists()


def test_a_file_that_only_looks_like_a_database_is_kept_as_it_is_with_a_warning(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    junk = b"SQLite format 3\x00" + os.urandom(4096)
    (volume / "junk.sqlite").write_bytes(junk)
    done = run_snapshot(volume, tmp_path / "snap")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "snap" / "junk.sqlite").read_bytes() == junk
    assert databases(tmp_path / "snap")["junk.sqlite"]["method"] == "raw"
    assert "snapshot: WARNING: junk.sqlite starts like a SQLite database but could not be copied consistently" \
        in done.stderr


def test_scratch_space_too_small_is_one_line_and_leaves_no_manifest(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "big.bin").write_bytes(os.urandom(300_000))
    (volume / "small.md").write_text("x\n")
    done = run_snapshot(volume, tmp_path / "snap", SNAPSHOT_LIMIT_BYTES="300001")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "snapshot: FAILED: the volume holds 300002 bytes to copy, the scratch space has room for 300001: raise "
        "openclaw:backup.scratchSize or free the volume (largest: big.bin (300000 bytes), small.md (2 bytes))")
    assert not (tmp_path / "snap" / ".openclaw-snapshot.json").exists()
    assert run_snapshot(volume, tmp_path / "snap2", SNAPSHOT_LIMIT_BYTES="300002").returncode == 0


def test_a_destination_that_holds_something_is_refused(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "left-over").write_text("x")
    done = run_snapshot(volume, tmp_path / "snap")
    assert done.returncode == 1 and "is not empty (left-over): refusing to mix snapshots" in done.stderr


def test_the_pre_upgrade_folder_is_left_out(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    (volume / ".openclaw-pre-upgrade" / "2026.2.23-x").mkdir(parents=True)
    (volume / ".openclaw-pre-upgrade" / "2026.2.23-x" / "openclaw.json").write_text("{}")
    (volume / "openclaw.json").write_text("{}")
    done = run_snapshot(volume, tmp_path / "snap")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "snap")) == [".openclaw-snapshot.json", "openclaw.json"]


def test_a_run_killed_half_way_is_never_backed_up(tmp_path: Path) -> None:
    """The manifest is written last; backup.sh refuses a tree without it (the pod's emptyDir is gone
    with a killed pod anyway, but a tree on the volume before an upgrade is not)."""
    volume = tmp_path / "volume"
    volume.mkdir()
    for i in range(400):
        (volume / f"file-{i}.bin").write_bytes(os.urandom(20_000))
    dest = tmp_path / "snap"
    env = {"PATH": os.environ["PATH"], "SNAPSHOT_SOURCE": str(volume), "SNAPSHOT_DEST": str(dest),
           "SNAPSHOT_RELEASE": "2026.2.23"}
    proc = subprocess.Popen(snapshot_argv(), env=env, stderr=subprocess.PIPE)
    while not dest.is_dir() or len(os.listdir(dest)) < 3:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (dest / ".openclaw-snapshot.json").exists()
    done = run_backup_script(dest, restic_env(str(tmp_path / "repository")))
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (f"backup: FAILED: no .openclaw-snapshot.json in {dest}: the snapshot "
                                            "step did not complete; refusing to back up")


# --- before an upgrade: the volume must still be in the old release's layout (SNAPSHOT_STATE_EPOCH) ------

@pytest.mark.parametrize(("marker", "expected", "ok"), [
    (None, "1", True),                                                  # no marker: 2026.2.23's volume
    ({"release": "2026.2.23", "stateEpoch": 1}, "1", True),
    ({"release": "2026.6.35", "stateEpoch": 1}, "1", True),             # another release of the same epoch
    ({"release": "2026.9.6", "stateEpoch": 2}, "1", False),             # the migration already ran
    ({"release": "2026.9.6", "stateEpoch": 2}, "2", True),
    (None, "2", False),                                                 # an epoch-1 volume under an epoch-2 lock
])
def test_a_pre_upgrade_snapshot_refuses_a_volume_of_another_state_epoch(
        tmp_path: Path, marker: dict[str, object] | None, expected: str, ok: bool) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "openclaw.json").write_text("{}\n", encoding="utf-8")
    if marker is not None:
        (volume / ".state-release.json").write_text(json.dumps(marker) + "\n", encoding="utf-8")
    base = volume / ".openclaw-pre-upgrade"
    base.mkdir()
    done = run_snapshot(volume, base / "2026.2.23.partial", SNAPSHOT_KIND="pre-upgrade", SNAPSHOT_PUBLISH="2026.2.23",
                        SNAPSHOT_STATE_EPOCH=expected, SNAPSHOT_RESERVE_BYTES="0")
    if ok:
        assert done.returncode == 0, done.stderr
        assert len(os.listdir(base)) == 1
        return
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("snapshot: FAILED: the volume is marked as last written by OpenClaw ")
    assert f"not by 2026.2.23's epoch {expected}: its migration already ran" in line
    assert "set openclaw:kubernetes.releaseLock to " in line
    assert os.listdir(base) == []  # nothing written, no older snapshot removed


@pytest.mark.parametrize("text", ["{not json", '{"release": "2026.9.6"}'])
def test_a_pre_upgrade_snapshot_refuses_a_marker_it_cannot_read(tmp_path: Path, text: str) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / ".state-release.json").write_text(text, encoding="utf-8")
    done = run_snapshot(volume, tmp_path / "out", SNAPSHOT_KIND="pre-upgrade", SNAPSHOT_STATE_EPOCH="1")
    assert done.returncode == 1 and done.stderr.splitlines()[-1].startswith("snapshot: FAILED: ")
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []
