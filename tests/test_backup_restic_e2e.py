"""The slower half of the restic tests (pytest marker e2e): a second repository kind (S3 on
127.0.0.1), a chosen older snapshot, full disks, retention, the restore Job's full run, a file
the pod cannot read, an unreachable repository for the CronJob's script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.backup_pod import SNAPSHOT_SCRIPT
from tests.backup_fixtures import (
    BACKUP_HOST,
    PASSWORD,
    RELEASE,
    REPO_ROOT,
    BackedUp,
    backed_up,
    copy_volume,
    describe_tree,
    free_port,
    moto_server,
    restic_env,
    restic_out,
    run_backup,
    run_restore,
    summary,
)
from tests.sqlite_fixtures import node, run_snapshot
from tools.restore_job import SCRIPT as RESTORE_JOB_SCRIPT

__all__ = ["backed_up"]  # the module-scoped fixture, seeded and backed up once for this module

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    yield from moto_server()


@pytest.mark.parametrize("shell", [("busybox", "sh")])
def test_s3_repository_round_trip(backed_up: BackedUp, s3: str, tmp_path: Path, shell: tuple[str, ...]) -> None:
    env = restic_env(f"s3:{s3}/openclaw-backup/openclaw", RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    first = run_backup(backed_up.state, env, shell)
    assert first.returncode == 0, first.stderr
    assert summary(run_backup(backed_up.state, env, shell))["data_blobs"] == 1  # only the new manifest
    target = tmp_path / "restored"
    done = run_restore(target, env)
    assert done.returncode == 0, done.stderr
    assert describe_tree(target, databases=True) == backed_up.before


def test_the_backup_script_on_an_unreachable_repository_fails_with_one_line(backed_up: BackedUp) -> None:
    # restic retries a refused connection for about 12 s before giving up: hence e2e.
    port = free_port()
    env = backed_up.env(RESTIC_REPOSITORY=f"s3:http://127.0.0.1:{port}/openclaw-backup/openclaw")
    backup = run_backup(backed_up.state, env)
    assert backup.returncode == 1
    last = backup.stderr.splitlines()[-1]
    assert last.startswith("backup: FAILED: cannot open the repository: Fatal:") and "connection refused" in last
    assert "initialising" not in backup.stderr  # an unreachable repository is never mistaken for a missing one


def test_restore_a_chosen_older_snapshot(backed_up: BackedUp, tmp_path: Path) -> None:
    volume = copy_volume(backed_up.state, tmp_path / "volume")
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    first = summary(run_backup(volume, env))
    old = {k: v for k, v in describe_tree(volume, databases=True).items() if not k.endswith(".jsonl.lock")}
    with open(volume / "workspace" / "MEMORY.md", "a", encoding="utf-8") as handle:
        handle.write("a later memory\n")
    second = summary(run_backup(volume, env))
    assert second["data_added"] > 0
    done = run_restore(tmp_path / "old", env, "--snapshot", first["snapshot_id"])
    assert done.returncode == 0, done.stderr
    assert f"snapshot {first['snapshot_id']}" in done.stdout
    assert describe_tree(tmp_path / "old", databases=True) == old
    unknown = run_restore(tmp_path / "none", env, "--snapshot", "deadbeef")
    assert unknown.returncode == 1 and len(unknown.stderr.splitlines()) == 1 and "deadbeef" in unknown.stderr


def _in_small_tmpfs(mount: Path, command: str, size: str = "256k") -> subprocess.CompletedProcess[str]:
    """`command` in a private mount namespace where `mount` is a tmpfs of `size` (unshare -rm: no root
    needed, nothing leaks to the host)."""
    script = f'mount -t tmpfs -o size={size} tmpfs "$MOUNT" && {command}'
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], env={**os.environ, "MOUNT": str(mount)},
                          capture_output=True, text=True, timeout=300, check=False, cwd=REPO_ROOT)


def test_restore_onto_a_full_disk_is_one_clear_error_and_leaves_it_empty(backed_up: BackedUp,
                                                                          tmp_path: Path) -> None:
    target = tmp_path / "small"
    target.mkdir()
    env = backed_up.env(TARGET=str(target))
    command = f'"{sys.executable}" -m tools.restore --target "$MOUNT"; rc=$?; ls -A "$MOUNT" >&2; exit $rc'
    done = subprocess.run(["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size=256k tmpfs "$MOUNT" && {command}'],
                          env={**env, "MOUNT": str(target)}, capture_output=True, text=True, timeout=300,
                          check=False, cwd=REPO_ROOT)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "restore: error: restic restore --verify failed: no space left on device: the target volume is too small "
        f"(use a larger one) (the partial restore in {target} was removed)"]


def test_backup_onto_a_full_repository_disk_is_one_clear_error(backed_up: BackedUp, tmp_path: Path) -> None:
    repository = tmp_path / "repository-disk"
    repository.mkdir()
    tree = tmp_path / "scratch" / "snapshot"
    assert run_snapshot(backed_up.state, tree).returncode == 0
    env = {**restic_env(str(repository / "repo"), RESTIC_CACHE_DIR=str(tmp_path / "cache")),
           "BACKUP_SOURCE": str(tree), "BACKUP_HOST": BACKUP_HOST, "BACKUP_RELEASE": RELEASE,
           "CHECK_SUBSET": "5%", "MOUNT": str(repository)}
    script = (Path(REPO_ROOT) / "components" / "backup.sh").read_text(encoding="utf-8")
    done = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=256k tmpfs "$MOUNT" && '
                           'exec dash -c "$0" openclaw-backup', script], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 1
    last = done.stderr.splitlines()[-1]
    assert last.startswith("backup: FAILED: restic backup:") and "no space left on device" in last


@pytest.mark.parametrize("shell", [("dash",), ("busybox", "sh")])
def test_the_restore_job_script_restores_and_verifies(backed_up: BackedUp, tmp_path: Path,
                                                      shell: tuple[str, ...]) -> None:
    target = tmp_path / "restore"
    target.mkdir()
    env = backed_up.env(RESTORE_TARGET=str(target), SNAPSHOT="latest", BACKUP_HOST=BACKUP_HOST,
                        TMPDIR=str(tmp_path))
    done = subprocess.run([*shell, str(RESTORE_JOB_SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1].startswith("restore: snapshot ")
    assert f"{len(backed_up.before) + 1} entries" in done.stderr  # and the snapshot's manifest
    assert describe_tree(target, databases=True) == backed_up.before
    wrong = subprocess.run([*shell, str(RESTORE_JOB_SCRIPT)], env={**env, "RESTIC_PASSWORD": "fake-wrong-0000",
                                                                 "RESTORE_TARGET": str(tmp_path / "empty")},
                           capture_output=True, text=True, check=False) if (tmp_path / "empty").mkdir() is None \
        else None
    assert wrong is not None and wrong.returncode == 1
    assert wrong.stderr.splitlines()[-1] == "restore: FAILED: restic check: Fatal: wrong password or no key found"
    assert PASSWORD not in done.stderr + wrong.stderr


def test_retention_forgets_and_prunes_beyond_the_keep_counts(backed_up: BackedUp, tmp_path: Path) -> None:
    volume = copy_volume(backed_up.state, tmp_path / "volume")
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    keep = {"KEEP_LAST": "2", "KEEP_HOURLY": "0", "KEEP_DAILY": "0", "KEEP_WEEKLY": "0", "KEEP_MONTHLY": "0"}
    ids = []
    for i in range(3):
        (volume / "workspace" / "MEMORY.md").write_text(f"memory {i}\n", encoding="utf-8")
        done = run_backup(volume, env, **keep)
        assert done.returncode == 0, done.stderr
        ids.append(summary(done)["snapshot_id"])
    left = [s["short_id"] for s in json.loads(restic_out(env, "snapshots", "--json"))]
    assert left == ids[1:]


def test_a_file_the_pod_cannot_read_fails_the_run_naming_it() -> None:
    """As the pod runs it, uid 1000: a root-only file (someone `kubectl exec`-ed as root) would be
    silently missing from the snapshot; the snapshot step fails naming the file (and restic's exit 3
    would, were such a file in the tree it reads)."""
    import tempfile
    root = Path(tempfile.mkdtemp(prefix="backup-uid-", dir="/tmp"))
    try:
        os.chmod(root, 0o755)
        volume, scratch = root / "volume", root / "scratch"
        volume.mkdir()
        scratch.mkdir(mode=0o777)
        os.chmod(scratch, 0o777)
        (volume / "readable.md").write_text("ok\n", encoding="utf-8")
        (volume / "root only.md").write_text("x\n", encoding="utf-8")
        os.chmod(volume / "root only.md", 0o600)
        node_copy = root / "node"  # the cached Node lives under /root, which uid 1000 cannot enter
        shutil.copy2(node(), node_copy)
        env = {"PATH": os.environ["PATH"], "HOME": str(scratch), "SNAPSHOT_SOURCE": str(volume),
               "SNAPSHOT_DEST": str(scratch / "snapshot"), "SNAPSHOT_RELEASE": RELEASE}
        done = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", str(node_copy),
                               "--disable-warning=ExperimentalWarning", "-e", SNAPSHOT_SCRIPT.read_text()],
                              env=env, capture_output=True, text=True, check=False, cwd=scratch)
        assert done.returncode == 1
        assert done.stderr.splitlines()[-1] == (f"snapshot: FAILED: cannot read {volume}/root only.md (as uid 1000): "
                                                "EACCES")
        assert not (scratch / "snapshot" / ".openclaw-snapshot.json").exists()
    finally:
        shutil.rmtree(root)
