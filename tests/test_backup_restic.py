"""The backup and restore path with the real restic binary (Debian's 0.14.0): the CronJob's own
script (components/backup.sh), `python -m tools.restore`, and the in-cluster restore Job's script,
against a volume seeded by the real seed.sh and then used like a running gateway uses it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import agents
from components.config import StackConfig
from tests.backup_fixtures import (
    BACKUP_HOST,
    PASSWORD,
    describe_tree,
    free_port,
    moto_server,
    restic_env,
    run_backup,
    run_restore,
    seed_volume,
    summary,
)
from tools.restore import compare_with_listing
from tools.restore_job import SCRIPT as RESTORE_JOB_SCRIPT

REPO_ROOT = Path(__file__).resolve().parent.parent


def _agent_ids() -> list[str]:
    catalog = agents.load_catalog(provider_models=StackConfig.model_validate(
        {"gateway": {"allowedOrigins": ["https://x.example"]}}).models.model_refs)
    return list(agents.seed_configmap_data(catalog))[:6]  # main and five agents keep it quick


@dataclass
class BackedUp:
    state: Path
    before: dict[str, tuple[Any, ...]]
    repository: str
    cache: Path
    first: subprocess.CompletedProcess[str]

    def env(self, **extra: str) -> dict[str, str]:
        return restic_env(self.repository, RESTIC_CACHE_DIR=str(self.cache), **extra)


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory: pytest.TempPathFactory) -> BackedUp:
    root = tmp_path_factory.mktemp("backup")
    state = seed_volume(root / "volume", _agent_ids())
    # What a restore must bring back: everything but OpenClaw's transient session write locks.
    before = {k: v for k, v in describe_tree(state).items() if not k.endswith(".jsonl.lock")}
    repository = str(root / "repository")
    first = run_backup(state, restic_env(repository), cache=root / "cache")
    return BackedUp(state, before, repository, root / "cache", first)


def _restic(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["restic", *args], env=env, capture_output=True, text=True, check=True).stdout


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


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
    files = sum(1 for v in backed_up.before.values() if v[0] == "file")
    done = summary(backed_up.first)
    assert done["files_new"] == files and done["data_added"] > 0
    snapshots = json.loads(_restic(backed_up.env(), "snapshots", "--json"))
    assert [s["hostname"] for s in snapshots] == [BACKUP_HOST] and snapshots[0]["tags"] == ["openclaw-data"]
    # The tree root is the volume root: restored entries land at the target's top level.
    listed = [json.loads(x)["path"] for x in _restic(backed_up.env(), "ls", "--json", "latest").splitlines()[1:]]
    assert "/openclaw.json" in listed


def test_a_second_backup_of_an_unchanged_volume_adds_nothing(backed_up: BackedUp) -> None:
    again = run_backup(backed_up.state, backed_up.env())
    assert again.returncode == 0, again.stderr
    done = summary(again)
    assert done["data_added"] == 0 and done["files_new"] == 0 and done["files_changed"] == 0
    assert "retention applied, check of 100% of the data passed" in again.stderr


def test_restore_after_damage_is_byte_for_byte(backed_up: BackedUp, tmp_path: Path) -> None:
    damaged = _copy(backed_up.state, tmp_path / "volume")
    shutil.rmtree(damaged / "agents")
    (damaged / "openclaw.json").write_text("{}", encoding="utf-8")
    os.chmod(damaged / "workspace" / "odd" / "private.md", 0o644)
    assert describe_tree(damaged) != backed_up.before
    target = tmp_path / "new-volume"
    (target / "lost+found").mkdir(parents=True)  # a fresh ext4 volume: allowed when empty
    done = run_restore(target, backed_up.env(), "--host", BACKUP_HOST)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("restore: snapshot ") and "verified" in done.stdout
    restored = describe_tree(target)
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
    nodes = [json.loads(x) for x in _restic(backed_up.env(), "ls", "--json", "latest").splitlines()[1:]]
    copy = _copy(backed_up.state, tmp_path / "copy")
    for lock in copy.glob("agents/*/sessions/*.jsonl.lock"):
        lock.unlink()  # not in the snapshot
    verified = compare_with_listing(copy, nodes)  # copytree keeps modes and file mtimes
    assert verified.files == sum(1 for v in backed_up.before.values() if v[0] == "file")
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


# --- slower: a second repository kind, a chosen snapshot, full disks, the in-cluster Job ---------------

@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    yield from moto_server()


@pytest.mark.e2e
@pytest.mark.parametrize("shell", [("busybox", "sh")])
def test_s3_repository_round_trip(backed_up: BackedUp, s3: str, tmp_path: Path, shell: tuple[str, ...]) -> None:
    env = restic_env(f"s3:{s3}/openclaw-backup/openclaw", RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    first = run_backup(backed_up.state, env, shell)
    assert first.returncode == 0, first.stderr
    assert summary(run_backup(backed_up.state, env, shell))["data_added"] == 0
    target = tmp_path / "restored"
    done = run_restore(target, env)
    assert done.returncode == 0, done.stderr
    assert describe_tree(target) == backed_up.before


@pytest.mark.e2e
def test_the_backup_script_on_an_unreachable_repository_fails_with_one_line(backed_up: BackedUp) -> None:
    # restic retries a refused connection for about 12 s before giving up: hence e2e.
    port = free_port()
    env = backed_up.env(RESTIC_REPOSITORY=f"s3:http://127.0.0.1:{port}/openclaw-backup/openclaw")
    backup = run_backup(backed_up.state, env)
    assert backup.returncode == 1
    last = backup.stderr.splitlines()[-1]
    assert last.startswith("backup: FAILED: cannot open the repository: Fatal:") and "connection refused" in last
    assert "initialising" not in backup.stderr  # an unreachable repository is never mistaken for a missing one


@pytest.mark.e2e
def test_restore_a_chosen_older_snapshot(backed_up: BackedUp, tmp_path: Path) -> None:
    volume = _copy(backed_up.state, tmp_path / "volume")
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    first = summary(run_backup(volume, env))
    old = {k: v for k, v in describe_tree(volume).items() if not k.endswith(".jsonl.lock")}
    with open(volume / "workspace" / "MEMORY.md", "a", encoding="utf-8") as handle:
        handle.write("a later memory\n")
    second = summary(run_backup(volume, env))
    assert second["files_new"] + second["files_changed"] == 1 and second["data_added"] > 0
    done = run_restore(tmp_path / "old", env, "--snapshot", first["snapshot_id"])
    assert done.returncode == 0, done.stderr
    assert f"snapshot {first['snapshot_id']}" in done.stdout
    assert describe_tree(tmp_path / "old") == old
    unknown = run_restore(tmp_path / "none", env, "--snapshot", "deadbeef")
    assert unknown.returncode == 1 and len(unknown.stderr.splitlines()) == 1 and "deadbeef" in unknown.stderr


def _in_small_tmpfs(mount: Path, command: str, size: str = "256k") -> subprocess.CompletedProcess[str]:
    """`command` in a private mount namespace where `mount` is a tmpfs of `size` (unshare -rm: no root
    needed, nothing leaks to the host)."""
    script = f'mount -t tmpfs -o size={size} tmpfs "$MOUNT" && {command}'
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], env={**os.environ, "MOUNT": str(mount)},
                          capture_output=True, text=True, timeout=300, check=False, cwd=REPO_ROOT)


@pytest.mark.e2e
def test_restore_onto_a_full_disk_is_one_clear_error_and_leaves_it_empty(backed_up: BackedUp,
                                                                          tmp_path: Path) -> None:
    target = tmp_path / "small"
    target.mkdir()
    env = backed_up.env(TARGET=str(target))
    command = f'"{os.sys.executable}" -m tools.restore --target "$MOUNT"; rc=$?; ls -A "$MOUNT" >&2; exit $rc'
    done = subprocess.run(["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size=256k tmpfs "$MOUNT" && {command}'],
                          env={**env, "MOUNT": str(target)}, capture_output=True, text=True, timeout=300,
                          check=False, cwd=REPO_ROOT)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "restore: error: restic restore --verify failed: no space left on device: the target volume is too small "
        f"(use a larger one) (the partial restore in {target} was removed)"]


@pytest.mark.e2e
def test_backup_onto_a_full_repository_disk_is_one_clear_error(backed_up: BackedUp, tmp_path: Path) -> None:
    repository = tmp_path / "repository-disk"
    repository.mkdir()
    env = {**restic_env(str(repository / "repo"), RESTIC_CACHE_DIR=str(tmp_path / "cache")),
           "BACKUP_SOURCE": str(backed_up.state), "BACKUP_HOST": BACKUP_HOST, "CHECK_SUBSET": "5%",
           "MOUNT": str(repository)}
    script = (Path(REPO_ROOT) / "components" / "backup.sh").read_text(encoding="utf-8")
    done = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=256k tmpfs "$MOUNT" && '
                           'exec dash -c "$0" openclaw-backup', script], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 1
    last = done.stderr.splitlines()[-1]
    assert last.startswith("backup: FAILED: restic backup:") and "no space left on device" in last


@pytest.mark.e2e
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
    assert f"{len(backed_up.before)} entries" in done.stderr
    assert describe_tree(target) == backed_up.before
    wrong = subprocess.run([*shell, str(RESTORE_JOB_SCRIPT)], env={**env, "RESTIC_PASSWORD": "fake-wrong-0000",
                                                                 "RESTORE_TARGET": str(tmp_path / "empty")},
                           capture_output=True, text=True, check=False) if (tmp_path / "empty").mkdir() is None \
        else None
    assert wrong is not None and wrong.returncode == 1
    assert wrong.stderr.splitlines()[-1] == "restore: FAILED: restic check: Fatal: wrong password or no key found"
    assert PASSWORD not in done.stderr + wrong.stderr


@pytest.mark.e2e
def test_retention_forgets_and_prunes_beyond_the_keep_counts(backed_up: BackedUp, tmp_path: Path) -> None:
    volume = _copy(backed_up.state, tmp_path / "volume")
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    keep = {"KEEP_LAST": "2", "KEEP_HOURLY": "0", "KEEP_DAILY": "0", "KEEP_WEEKLY": "0", "KEEP_MONTHLY": "0"}
    ids = []
    for i in range(3):
        (volume / "workspace" / "MEMORY.md").write_text(f"memory {i}\n", encoding="utf-8")
        done = subprocess.run(["dash", "-c", (REPO_ROOT / "components" / "backup.sh").read_text(encoding="utf-8")],
                              env={**env, **keep, "BACKUP_SOURCE": str(volume), "BACKUP_HOST": BACKUP_HOST,
                                   "CHECK_SUBSET": "100%"}, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        ids.append(summary(done)["snapshot_id"])
    left = [s["short_id"] for s in json.loads(_restic(env, "snapshots", "--json"))]
    assert left == ids[1:]


@pytest.mark.e2e
def test_a_file_the_pod_cannot_read_fails_the_run_naming_it() -> None:
    """As the pod runs it, uid 1000: a root-only file (someone `kubectl exec`-ed as root) would be
    silently missing from the snapshot; restic exits 3 and the script fails naming the file."""
    import tempfile
    root = Path(tempfile.mkdtemp(prefix="backup-uid-", dir="/tmp"))
    try:
        os.chmod(root, 0o755)
        volume, repository, scratch = root / "volume", root / "repository", root / "scratch"
        volume.mkdir()
        repository.mkdir(mode=0o777)
        scratch.mkdir(mode=0o777)
        os.chmod(repository, 0o777)
        os.chmod(scratch, 0o777)
        (volume / "readable.md").write_text("ok\n", encoding="utf-8")
        (volume / "root only.md").write_text("x\n", encoding="utf-8")
        os.chmod(volume / "root only.md", 0o600)
        env = {"PATH": os.environ["PATH"], "HOME": str(scratch), "TMPDIR": str(scratch),
               "RESTIC_REPOSITORY": str(repository / "repo"), "RESTIC_PASSWORD": PASSWORD,
               "BACKUP_SOURCE": str(volume), "BACKUP_HOST": BACKUP_HOST, "CHECK_SUBSET": "5%"}
        script = (REPO_ROOT / "components" / "backup.sh").read_text(encoding="utf-8")
        done = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "dash", "-c", script],
                              env=env, capture_output=True, text=True, check=False, cwd=scratch)
        assert done.returncode == 1
        assert done.stderr.splitlines()[-1] == ("backup: FAILED: restic backup: the snapshot lacks files it could "
                                                f"not read (as uid 1000): {volume}/root only.md ")
    finally:
        shutil.rmtree(root)
