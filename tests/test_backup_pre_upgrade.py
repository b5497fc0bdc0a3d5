"""The pre-upgrade snapshot with the real scripts (components/snapshot.py builds the pod): with
backups on, the old release's snapshot tree stored by backup.sh with the tags `openclaw-pre-upgrade`
and `release:<old>`, out of reach of the hourly retention; with backups off, the tree published on
the volume under .openclaw-pre-upgrade/, after a free-space check, the newest two kept."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from components.backup_pod import PRE_UPGRADE_DIR
from tests.backup_fixtures import (
    restic_env,
    restic_out,
    run_backup,
    run_backup_script,
)
from tests.sqlite_fixtures import database_dump, make_database, run_snapshot

pytestmark = pytest.mark.e2e


def _volume(root: Path) -> Path:
    volume = root / "volume"
    (volume / "memory").mkdir(parents=True)
    (volume / "openclaw.json").write_text("{}\n", encoding="utf-8")
    make_database(volume / "memory" / "main.sqlite", wal=True)
    return volume


def test_with_backups_the_snapshot_is_tagged_with_the_old_release_and_survives_retention(tmp_path: Path) -> None:
    volume = _volume(tmp_path)
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    tree = tmp_path / "scratch" / "snapshot"
    snap = run_snapshot(volume, tree, SNAPSHOT_KIND="pre-upgrade")
    assert snap.returncode == 0, snap.stderr
    done = run_backup_script(tree, env, BACKUP_TAG="openclaw-pre-upgrade", BACKUP_RETENTION="off")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "backup: stored with tags openclaw-pre-upgrade, release:2026.2.23 " \
                                          "(no retention run)"
    for _ in range(3):  # hourly runs that keep only the last one: the pre-upgrade snapshot stays
        assert run_backup(volume, env, KEEP_LAST="1", KEEP_HOURLY="0", KEEP_DAILY="0", KEEP_WEEKLY="0",
                          KEEP_MONTHLY="0").returncode == 0
    tags = sorted(tuple(s["tags"]) for s in json.loads(restic_out(env, "snapshots", "--json")))
    assert tags == [("openclaw-data", "release:2026.2.23"), ("openclaw-pre-upgrade", "release:2026.2.23")]
    restored = tmp_path / "restored"
    restic_out(env, "restore", "latest", "--tag", "openclaw-pre-upgrade", "--target", str(restored))
    assert json.loads((restored / ".openclaw-snapshot.json").read_text())["kind"] == "pre-upgrade"
    assert database_dump(restored / "memory" / "main.sqlite") == database_dump(volume / "memory" / "main.sqlite")


def test_without_backups_the_snapshot_is_published_on_the_volume(tmp_path: Path) -> None:
    volume = _volume(tmp_path)
    base = volume / PRE_UPGRADE_DIR
    base.mkdir()
    (base / "2026.2.23.partial").mkdir()
    (base / "2026.2.23.partial" / "half").write_text("a killed run")
    published = []
    for _ in range(3):
        done = run_snapshot(volume, base / "2026.2.23.partial", SNAPSHOT_KIND="pre-upgrade",
                            SNAPSHOT_PUBLISH="2026.2.23", SNAPSHOT_KEEP="2", SNAPSHOT_RESERVE_BYTES="1048576")
        assert done.returncode == 0, done.stderr
        published.append(done.stderr.splitlines()[-2].removeprefix("snapshot: published "))
        subprocess.run(["sleep", "1.1"], check=True)  # one-second stamps
    names = sorted(os.listdir(base))
    assert names == sorted(Path(p).name for p in published[1:])  # the newest two, no partial
    newest = Path(published[-1])
    assert json.loads((newest / ".openclaw-snapshot.json").read_text())["kind"] == "pre-upgrade"
    assert database_dump(newest / "memory" / "main.sqlite") == database_dump(volume / "memory" / "main.sqlite")
    assert not (newest / PRE_UPGRADE_DIR).exists()  # an earlier snapshot is never copied into the next


def test_without_backups_a_volume_too_full_stops_the_upgrade_before_anything_changed(tmp_path: Path) -> None:
    volume = _volume(tmp_path)
    (volume / PRE_UPGRADE_DIR).mkdir()
    # A reserve above what is free now, with room for other work on the machine freeing space
    # between this look and the script's own (the same file system as every other test's /tmp).
    free = os.statvfs(volume).f_bavail * os.statvfs(volume).f_frsize
    done = run_snapshot(volume, volume / PRE_UPGRADE_DIR / "2026.2.23.partial", SNAPSHOT_KIND="pre-upgrade",
                        SNAPSHOT_PUBLISH="2026.2.23", SNAPSHOT_RESERVE_BYTES=str(free + 2**34))
    assert done.returncode == 1
    last = done.stderr.splitlines()[-1]
    assert last.startswith("snapshot: FAILED: the volume holds ") and "the scratch space has room for 0" in last
    assert os.listdir(volume / PRE_UPGRADE_DIR) == ["2026.2.23.partial"]
    assert os.listdir(volume / PRE_UPGRADE_DIR / "2026.2.23.partial") == []
