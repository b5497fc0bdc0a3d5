"""The rollback with the real releases (`./run e2e`, docs/upgrade-runbook.md#roll-back): the
pre-upgrade snapshot the rendered Job took of the 2026.2.23 volume (tests/e2e/test_upgrade.py) is
copied into an empty volume, the tag goes back to 2026.2.23, and 2026.2.23's pod runs on it: its
state-guard accepts the volume, the gateway starts, and every file is byte for byte as before the
upgrade (the SQLite databases: the same content, copied through the online backup API)."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.backup_pod import MANIFEST, PRE_UPGRADE_DIR
from tests.sqlite_fixtures import database_dump
from tests.support.e2e.releases import install_release, use_config
from tests.support.e2e.sandbox import PodSandbox
from tests.support.e2e.upgrade import EDITS, MARKER, OLD, WALL_CAP, Upgraded, render, run_inits
from tests.support.e2e.volume import files

pytestmark = pytest.mark.e2e


def _published(upgraded: Upgraded) -> Path:
    (snapshot,) = (upgraded.state / PRE_UPGRADE_DIR).iterdir()
    return snapshot


@dataclass
class RolledBack:
    volume: Path
    restored: dict[str, str]              # files() right after the restore
    inits: dict[str, tuple[int, str]]
    listening: float | None
    gateway_log: str


@pytest.fixture(scope="module")
def rolled_back(upgraded: Upgraded) -> RolledBack:
    """docs/upgrade-runbook.md#roll-back, backups off: the snapshot copied into an empty volume, then
    the stack at tag 2026.2.23 with releaseLock 2026.2.23 (dev's lock: the render is dev's)."""
    volume = upgraded.work / "rolled-back"
    volume.mkdir()
    subprocess.run(["cp", "-a", f"{_published(upgraded)}/.", f"{volume}/"], check=True)
    restored = files(volume)
    app, node = install_release(OLD)
    _, pod = render(OLD)
    use_config(pod, upgraded.old_config)
    with PodSandbox(pod, upgraded.work / "rollback", volume, app, node) as sandbox:
        started = time.monotonic()
        inits = run_inits(sandbox, pod)
        listening = None
        log = ""
        if all(code == 0 for code, _ in inits.values()):
            gateway = sandbox.start(pod.containers[0])
            listening = gateway.wait_listening(gateway.container.ports[0], WALL_CAP)
            log = gateway.log()
            gateway.stop()
        upgraded.figures["rollback: 2026.2.23 init + listening s"] = time.monotonic() - started
    return RolledBack(volume, restored, inits, listening, log)


def _databases(snapshot: Path) -> set[str]:
    return {d["path"] for d in json.loads((snapshot / MANIFEST).read_text())["databases"]}


def test_the_restore_brings_back_every_file_byte_for_byte(upgraded: Upgraded, rolled_back: RolledBack) -> None:
    databases = _databases(rolled_back.volume)
    sidecars = {f"{db}{suffix}" for db in databases for suffix in ("-wal", "-shm", "-journal")}
    before = {k: v for k, v in files(upgraded.before).items() if k not in databases | sidecars}
    restored = {k: v for k, v in rolled_back.restored.items() if k not in databases | {MANIFEST}}
    assert restored == before
    for rel in EDITS:  # the edits, the sessions and every agent's files are among them
        assert rel in restored
    assert any(k.startswith("agents/main/sessions/") and k.endswith(".jsonl") for k in restored)
    assert not set(rolled_back.restored) & sidecars  # consistent copies: no WAL beside them
    for db in sorted(databases):  # the databases: the same content (consistent copies, no sidecars)
        assert database_dump(rolled_back.volume / db) == database_dump(upgraded.before / db), db
    assert "memory/main.sqlite" in databases


def test_2026_2_23_accepts_the_restored_volume_and_starts(rolled_back: RolledBack) -> None:
    assert all(code == 0 for code, _ in rolled_back.inits.values()), rolled_back.inits
    guard = rolled_back.inits["state-guard"][1].strip()
    assert guard.startswith("state: last written by OpenClaw 2026.2.23 (state epoch 1); this pod runs 2026.2.23"), guard
    assert rolled_back.listening is not None, rolled_back.gateway_log[-3000:]
    assert "config written by newer OpenClaw" not in rolled_back.gateway_log
    for rel, text in EDITS.items():  # the seeder copies only missing files: the edits stay
        assert (rolled_back.volume / rel).read_text(encoding="utf-8").endswith(text), rel
    assert json.loads((rolled_back.volume / MARKER).read_text())["release"] == OLD.version
