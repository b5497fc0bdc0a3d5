"""The backup and restore path with the real restic binary (Debian's 0.14.0): the CronJob's own
script (components/backup.sh), `python -m tools.restore`, and the in-cluster restore Job's script,
against a volume seeded by the real seed.mjs and then used like a running gateway uses it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.backup_fixtures import (
    BACKUP_HOST,
    RELEASE,
    BackedUp,
    backed_up,
    copy_volume,
    describe_tree,
    free_port,
    restic_env,
    restic_out,
    run_backup,
    run_restore,
    summary,
)
from tools.restore import compare_with_listing
from tools.restore_job import SCRIPT as RESTORE_JOB_SCRIPT

__all__ = ["backed_up"]  # the module-scoped fixture, seeded and backed up once for this module


def test_the_seeded_volume_holds_what_a_gateway_leaves(backed_up: BackedUp) -> None:
    kinds = [v[0] for v in backed_up.before.values()]
    names = set(backed_up.before)
    assert "openclaw.json" in names and any(n.endswith("/sessions/sessions.json") for n in names)
    assert kinds.count("link") >= 4 and kinds.count("dir") > 10 and kinds.count("file") > 50
    assert "workspace/odd/line\nbreak.md" in names and "workspace/odd/-leading-dash.md" in names
    assert "workspace/odd/ünïcödé 한국어 ✓.md" in names
    assert list(backed_up.state.glob("agents/*/sessions/*.jsonl.lock"))  # excluded from snapshots


def test_first_backup_initialises_the_repository_and_snapshots_every_file(backed_up: BackedUp) -> None:
    assert backed_up.first.returncode == 0, backed_up.first.stderr
    assert "backup: no repository yet: initialising it" in backed_up.first.stderr
    files = sum(1 for v in backed_up.before.values() if v[0] in ("file", "db"))
    done = summary(backed_up.first)
    assert done["files_new"] == files + 1 and done["data_added"] > 0  # and the snapshot's manifest
    snapshots = json.loads(restic_out(backed_up.env(), "snapshots", "--json"))
    assert [s["hostname"] for s in snapshots] == [BACKUP_HOST]
    assert snapshots[0]["tags"] == ["openclaw-data", f"release:{RELEASE}"]
    # The tree root is the volume root: restored entries land at the target's top level.
    listed = [json.loads(x)["path"] for x in restic_out(backed_up.env(), "ls", "--json", "latest").splitlines()[1:]]
    assert "/openclaw.json" in listed


def test_a_second_backup_of_an_unchanged_volume_adds_nothing(backed_up: BackedUp) -> None:
    again = run_backup(backed_up.state, backed_up.env())
    assert again.returncode == 0, again.stderr
    done = summary(again)
    # Only the manifest is new content (it records the time); the databases' consistent copies are
    # the same pages as last hour, so deduplicated. The tree metadata is new: the snapshot tree is a
    # fresh copy each hour (new inodes and ctimes): a few hundred bytes of tree metadata per entry.
    assert done["files_new"] == 0 and done["data_blobs"] == 1
    assert done["data_added"] < 512 * len(backed_up.before)
    assert "retention applied, check of 100% of the data passed" in again.stderr


def test_restore_after_damage_is_byte_for_byte(backed_up: BackedUp, tmp_path: Path) -> None:
    damaged = copy_volume(backed_up.state, tmp_path / "volume")
    shutil.rmtree(damaged / "agents")
    (damaged / "openclaw.json").write_text("{}", encoding="utf-8")
    os.chmod(damaged / "workspace" / "odd" / "private.md", 0o644)
    assert describe_tree(damaged) != backed_up.before
    target = tmp_path / "new-volume"
    (target / "lost+found").mkdir(parents=True)  # a fresh ext4 volume: allowed when empty
    done = run_restore(target, backed_up.env(), "--host", BACKUP_HOST)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("restore: snapshot ") and "verified" in done.stdout
    # The databases come back as consistent copies: no -wal/-shm/-journal beside them.
    assert (target / "workspace" / "odd" / "notes.db").is_file() and (target / "memory" / "main.sqlite").is_file()
    assert not [p for p in target.rglob("*") if p.name.endswith(("-wal", "-shm", "-journal"))]
    restored = describe_tree(target, databases=True)
    restored.pop("lost+found")
    assert restored == backed_up.before  # content, modes, mtimes (ns), owners, link targets


def test_restore_refuses_a_target_that_holds_data_and_names_it(backed_up: BackedUp, tmp_path: Path) -> None:
    target = tmp_path / "live volume"
    target.mkdir()
    (target / "openclaw.json").write_text("live data", encoding="utf-8")
    done = run_restore(target, backed_up.env())
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"restore: refusing {target}: it is not empty (1 entries: 'openclaw.json'); restore only into an empty "
        "directory or a new volume, never over data"]
    assert (target / "openclaw.json").read_text(encoding="utf-8") == "live data" and len(os.listdir(target)) == 1
    # lost+found is only ignored while empty.
    other = tmp_path / "formatted"
    (other / "lost+found").mkdir(parents=True)
    (other / "lost+found" / "#1234").write_bytes(b"x")
    assert run_restore(other, backed_up.env()).returncode == 2
    a_file = tmp_path / "file"
    a_file.write_bytes(b"")
    refused = run_restore(a_file, backed_up.env())
    assert refused.returncode == 2 and "it is not a directory" in refused.stderr


def test_a_wrong_password_is_one_clear_error(backed_up: BackedUp, tmp_path: Path) -> None:
    env = backed_up.env(RESTIC_PASSWORD="fake-not-the-password")
    backup = run_backup(backed_up.state, env)
    assert backup.returncode == 1
    assert backup.stderr.splitlines()[-1] == \
        "backup: FAILED: cannot open the repository: Fatal: wrong password or no key found"
    done = run_restore(tmp_path / "target", env)
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["restore: error: restic check (repository structure) failed: wrong "
                                        "repository password (RESTIC_PASSWORD or RESTIC_PASSWORD_FILE)"]
    assert os.listdir(tmp_path / "target") == []


def test_an_unreachable_or_missing_repository_is_one_clear_error(backed_up: BackedUp, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = backed_up.env(RESTIC_REPOSITORY=f"s3:http://127.0.0.1:{port}/openclaw-backup/openclaw")
    done = run_restore(tmp_path / "a", env)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"restore: error: the repository endpoint 127.0.0.1:{port} is unreachable "
                                        "(Connection refused): check RESTIC_REPOSITORY, the network and the "
                                        "object store"]
    missing = run_restore(tmp_path / "b", backed_up.env(RESTIC_REPOSITORY=str(tmp_path / "no-repo")))
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1
    assert "no repository there" in missing.stderr and "check RESTIC_REPOSITORY" in missing.stderr


def test_verification_catches_a_restored_tree_that_differs(backed_up: BackedUp, tmp_path: Path) -> None:
    from tools.restic_cli import RestoreError
    nodes = [json.loads(x) for x in restic_out(backed_up.env(), "ls", "--json", "latest").splitlines()[1:]]
    copy = tmp_path / "copy"
    restic_out(backed_up.env(), "restore", "latest", "--target", str(copy))
    verified = compare_with_listing(copy, nodes)  # copytree keeps modes and file mtimes
    assert verified.files == sum(1 for v in backed_up.before.values() if v[0] in ("file", "db")) + 1
    os.chmod(copy / "workspace" / "odd" / "tool.sh", 0o700)
    (copy / "stray.txt").write_text("x", encoding="utf-8")
    (copy / "openclaw.json").unlink()
    with pytest.raises(RestoreError) as info:
        compare_with_listing(copy, nodes)
    message = str(info.value)
    assert "3 problem(s)" in message and "'workspace/odd/tool.sh' has mode 700, the snapshot 755" in message
    assert "missing 'openclaw.json'" in message and "'stray.txt' is not in the snapshot" in message


def test_the_restore_job_script_refuses_a_claim_that_holds_data(tmp_path: Path) -> None:
    target = tmp_path / "restore"
    target.mkdir()
    (target / "agents").mkdir()
    env = restic_env(str(tmp_path / "unused"), RESTORE_TARGET=str(target))
    done = subprocess.run(["dash", str(RESTORE_JOB_SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith(f"restore: FAILED: refusing {target}: it is not empty (agents")


@pytest.mark.parametrize(("taken", "target", "refused"), [
    ("2026.9.6", "2026.9.5", True), ("2026.9.6", "2026.9.6", False), ("2026.9.6", "2026.10.0", False),
    ("2026.2.23", "2026.2.22", True), ("2026.10.1", "2026.9.6", True), (None, "2026.2.23", False)])
def test_a_snapshot_of_a_newer_release_is_refused_at_its_edges(taken: str | None, target: str, refused: bool) -> None:
    from tools.restore import TargetRefusedError, check_release
    snap = {"short_id": "1a2b3c4d", "tags": ["openclaw-data", *([f"release:{taken}"] if taken else [])]}
    if not refused:
        check_release(snap, target)
        return
    with pytest.raises(TargetRefusedError) as info:
        check_release(snap, target)
    assert str(info.value).startswith(f"refusing snapshot 1a2b3c4d: it was taken from OpenClaw {taken}, newer than "
                                      f"the target release {target}")
    assert str(info.value).endswith("or see docs/upgrade-runbook.md#roll-back")


def test_restore_refuses_a_newer_release_before_writing_and_checks_the_databases(backed_up: BackedUp,
                                                                                 tmp_path: Path) -> None:
    env = backed_up.env()
    same = run_restore(tmp_path / "same", env, "--release", RELEASE)
    assert same.returncode == 0, same.stderr
    assert same.stdout.rstrip().endswith(f", 2 SQLite database(s) intact (release {RELEASE})")
    dev = run_restore(tmp_path / "dev", env, "--stack", "dev")  # the stack's image tag: 2026.2.23 or newer
    assert dev.returncode == 0, dev.stderr
    older = run_restore(tmp_path / "older", env, "--release", "2026.2.22")
    assert older.returncode == 2 and len(older.stderr.splitlines()) == 1
    assert "it was taken from OpenClaw 2026.2.23, newer than the target release 2026.2.22" in older.stderr
    assert os.listdir(tmp_path / "older") == []
    job = subprocess.run(["dash", str(RESTORE_JOB_SCRIPT)], capture_output=True, text=True, check=False,
                         env={**env, "RESTORE_TARGET": str(tmp_path / "older"), "TARGET_RELEASE": "2026.2.22",
                              "TMPDIR": str(tmp_path)})
    assert job.returncode == 1
    assert job.stderr.splitlines()[-1].startswith("restore: FAILED: refusing snapshot ")
    assert "taken from OpenClaw 2026.2.23, newer than the target release 2026.2.22" in job.stderr
    assert os.listdir(tmp_path / "older") == []


def test_the_database_check_names_a_torn_copy_and_a_stale_sidecar(tmp_path: Path) -> None:
    from tools.restic_cli import RestoreError
    from tools.restore import check_databases
    (tmp_path / "state").mkdir()
    good = tmp_path / "state" / "good.sqlite"
    sqlite3.connect(good).execute("create table t(x)").connection.commit()
    torn = tmp_path / "state" / "torn.sqlite"
    torn.write_bytes(good.read_bytes()[:100] + bytes(good.stat().st_size - 100))
    (tmp_path / "state" / "good.sqlite-wal").write_bytes(b"stale")
    (tmp_path / ".openclaw-snapshot.json").write_text(json.dumps({"release": RELEASE, "databases": [
        {"path": "state/good.sqlite", "method": "online-backup"},
        {"path": "state/torn.sqlite", "method": "online-backup"},
        {"path": "junk.sqlite", "method": "raw", "reason": "file is not a database"}]}))
    with pytest.raises(RestoreError) as info:
        check_databases(tmp_path)
    assert "databases in" in str(info.value) and "'state/good.sqlite' has -wal beside it" in str(info.value)
    assert "'state/torn.sqlite': integrity_check:" in str(info.value)
    (tmp_path / "state" / "good.sqlite-wal").unlink()
    torn.unlink()
    (tmp_path / ".openclaw-snapshot.json").write_text(json.dumps({"release": RELEASE, "databases": [
        {"path": "state/good.sqlite", "method": "online-backup"},
        {"path": "junk.sqlite", "method": "raw", "reason": "file is not a database"}]}))
    assert check_databases(tmp_path) == (1, f", 1 SQLite database(s) intact (release {RELEASE}); stored as plain "
                                            "copies, not checked: junk.sqlite")
