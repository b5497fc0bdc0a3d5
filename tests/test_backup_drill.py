"""The restore drill with the real restic (Debian's 0.14.0) and the pinned Node: its two steps as
the CronJob runs them (components/scripts/drill.sh under dash and busybox, then drill-verify.mjs),
against a good repository (passes) and against each fault it exists to find: a corrupted pack, a
torn database, a workspace the catalog expects but the snapshot lacks, a snapshot taken without
the snapshot step. Each failure is one line naming it, and a non-zero exit (a failed Job)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from components.drill import DRILL_SCRIPT, VERIFY_SCRIPT
from components.releases import NODE_22, NODE_24
from tests.backup_fixtures import (
    BACKUP_HOST,
    BackedUp,
    _agent_ids,
    backed_up,
    copy_volume,
    restic_env,
    run_backup,
    run_backup_script,
)
from tests.sqlite_fixtures import node
from tests.sqlite_writer import commit_one, connect

__all__ = ["backed_up"]

pytestmark = pytest.mark.e2e


def drill(env: dict[str, str], scratch: Path, agents: list[str], shell: tuple[str, ...] = ("dash",),
          node_version: str = NODE_22) -> tuple[int, str]:
    """Both steps, as the pod runs them: the verify step only after the restic step succeeded."""
    scratch.mkdir(exist_ok=True)
    target = scratch / "tree"
    full = {**env, "DRILL_TARGET": str(target), "BACKUP_HOST": BACKUP_HOST, "TMPDIR": str(scratch),
            "CHECK_SUBSET": "5%"}
    restore = subprocess.run([*shell, str(DRILL_SCRIPT)], env=full, capture_output=True, text=True, timeout=300,
                             check=False)
    if restore.returncode != 0:
        return restore.returncode, restore.stderr
    verify = subprocess.run([node(node_version), "--disable-warning=ExperimentalWarning", str(VERIFY_SCRIPT)],
                            env={"PATH": os.environ["PATH"], "DRILL_TARGET": str(target),
                                 "DRILL_AGENTS": " ".join(agents)},
                            capture_output=True, text=True, timeout=300, check=False)
    return verify.returncode, restore.stderr + verify.stdout + verify.stderr


@pytest.mark.parametrize(("shell", "node_version"), [(("dash",), NODE_22), (("busybox", "sh"), NODE_24)])
def test_a_drill_of_a_good_repository_passes(backed_up: BackedUp, tmp_path: Path, shell: tuple[str, ...],
                                             node_version: str) -> None:
    rc, log = drill(backed_up.env(), tmp_path / "scratch", _agent_ids(), shell, node_version)
    assert rc == 0, log
    last = log.strip().splitlines()[-1]
    assert last.startswith("drill: PASSED: snapshot ") and "(release 2026.2.23, hourly): 2 database(s) intact, " \
        f"{len(_agent_ids())} agent workspace(s) present" in last, log
    assert "restored and verified by restic" in log


def test_a_workspace_the_catalog_expects_but_the_snapshot_lacks_fails(backed_up: BackedUp, tmp_path: Path) -> None:
    rc, log = drill(backed_up.env(), tmp_path / "scratch", [*_agent_ids(), "ghost-agent"])
    assert rc == 1
    assert log.strip().splitlines()[-1].endswith(
        "2 problem(s): workspaces/ghost-agent/ is missing; agents/ghost-agent/ is missing")


def test_a_corrupted_pack_fails_the_drill(backed_up: BackedUp, tmp_path: Path) -> None:
    repository = tmp_path / "repository"
    shutil.copytree(backed_up.repository, repository)
    env = restic_env(str(repository), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    packs = sorted((repository / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    pack = packs[-1]  # the largest: file contents (the incompressible 1.25 MiB file among them)
    data = bytearray(pack.read_bytes())
    for offset in random.Random(7).sample(range(64, len(data) - 64), 16):
        data[offset] ^= 0xFF
    os.chmod(pack, 0o644)
    pack.write_bytes(bytes(data))
    rc, log = drill(env, tmp_path / "scratch", _agent_ids())
    assert rc == 1
    last = log.strip().splitlines()[-1]
    assert last.startswith(("drill: FAILED: restic check: ", "drill: FAILED: restic restore --verify: ")), log
    assert "PASSED" not in log


def test_a_torn_database_fails_the_drill(tmp_path: Path) -> None:
    """A volume whose state database is torn (main file and WAL of different moments, as a plain
    copy or a crash-restored node leaves it): the snapshot step cannot copy it consistently, stores
    it as it is and says so, the backup succeeds (the rest of the volume is worth keeping), and the
    drill fails naming the database."""
    volume = tmp_path / "volume"
    (volume / "state").mkdir(parents=True)
    (volume / "workspace").mkdir()
    (volume / "openclaw.json").write_text("{}\n", encoding="utf-8")
    live = tmp_path / "live"
    live.mkdir()
    db = connect(live / "openclaw.sqlite")
    rng = random.Random(3)
    for _ in range(210):
        commit_one(db, rng)
    shutil.copy2(live / "openclaw.sqlite", volume / "state" / "openclaw.sqlite")
    for _ in range(30):  # across a checkpoint: the WAL restarts
        commit_one(db, rng)
    shutil.copy2(live / "openclaw.sqlite-wal", volume / "state" / "openclaw.sqlite-wal")
    db.close()
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    backup = run_backup(volume, env)
    assert backup.returncode == 0, backup.stderr
    assert "snapshot: WARNING: state/openclaw.sqlite starts like a SQLite database but could not be copied" \
        in backup.stderr
    rc, log = drill(env, tmp_path / "scratch", ["main"])
    assert rc == 1
    last = log.strip().splitlines()[-1]
    assert last.startswith("drill: FAILED: snapshot ") and "state/openclaw.sqlite was stored as a plain copy" in last


def test_a_snapshot_without_the_snapshot_step_fails_the_drill(backed_up: BackedUp, tmp_path: Path) -> None:
    """What the CronJob stored before this design (restic over the live volume): no manifest, so the
    drill cannot know its databases are whole."""
    tree = copy_volume(backed_up.state, tmp_path / "tree")
    (tree / ".openclaw-snapshot.json").write_text("not json", encoding="utf-8")
    env = restic_env(str(tmp_path / "repository"), RESTIC_CACHE_DIR=str(tmp_path / "cache"))
    assert run_backup_script(tree, env).returncode == 0
    rc, log = drill(env, tmp_path / "scratch", _agent_ids())
    assert rc == 1
    assert "drill: FAILED: snapshot " in log and "no readable .openclaw-snapshot.json" in log


def test_an_empty_repository_fails_the_drill_with_one_line(tmp_path: Path) -> None:
    env = restic_env(str(tmp_path / "repository"))
    subprocess.run(["restic", "init"], env=env, capture_output=True, check=True)
    rc, log = drill(env, tmp_path / "scratch", ["main"])
    assert rc == 1
    assert log.strip().splitlines()[-1] == ("drill: FAILED: no snapshot of host openclaw-data with tag openclaw-data "
                                            "in the repository: has a backup ever run?")
