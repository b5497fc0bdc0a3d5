"""The guarded migration with the real releases (`./run e2e`): a volume seeded and used by openclaw
2026.2.23 (the rendered pod under Node 22: seeded by agents/seed.mjs, the gateway started, an agent
turn against a stand-in model that leaves a session, edited workspace files, the memory index),
then the rendered pod of 2026.9.6 under Node 24 on the same volume, its init containers run as the
kubelet runs them: the state guard sees the upgrade, `migrate` runs `openclaw doctor --fix
--non-interactive` with its output in the log, and 2026.9.6 starts on the migrated volume with every
agent, edit and session. A migration that fails stops the pod with one `migrate: error:` line.

Before the new pod, the pre-upgrade snapshot Job the same render holds (dev's releaseLock is
2026.2.23, components/pre_upgrade.py) runs its container with the OLD release's image and Node, on
the volume as 2026.2.23 left it, backups off: the copy lands in `.openclaw-pre-upgrade/`. Then the
rollback as docs/upgrade-runbook.md says: that copy `cp -a` into an empty volume, the tag back to
2026.2.23 (and releaseLock with it), and 2026.2.23's pod: its state-guard accepts the volume and the
gateway starts; every file is byte for byte as before the upgrade (the SQLite databases: the same
content, copied through the online backup API).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from components.backup_pod import MANIFEST, PRE_UPGRADE_DIR
from tests.support.e2e.pod import pod_from_render
from tests.support.e2e.releases import install_release, openclaw_json_for, rendered_openclaw_json, use_config
from tests.support.e2e.sandbox import PodSandbox
from tests.support.e2e.upgrade import (
    EDITS,
    MARKER,
    NEW,
    OLD,
    TOKEN,
    WALL_CAP,
    Upgraded,
    render,
    run_inits,
)
from tests.support.e2e.volume import copy_volume, files, sqlite_texts

pytestmark = pytest.mark.e2e


# --- the init containers --------------------------------------------------------------------------------

def test_the_guard_sees_the_upgrade_and_the_migration_runs_in_the_pod_log(upgraded: Upgraded) -> None:
    assert list(upgraded.inits) == ["state-guard", "seed", "plugins", "migrate", "preflight"]
    guard = upgraded.inits["state-guard"][1]
    assert guard.strip() == ("state: last written by OpenClaw 2026.2.23 (state epoch 1); this pod runs 2026.9.6 "
                             "(epoch 2): a migration is due (migrate init container)")
    log = upgraded.inits["migrate"][1].splitlines()
    assert log[0] == ("migrate: migrating state epoch 1 (OpenClaw 2026.2.23) to 2 with "
                      "`openclaw doctor --fix --non-interactive`")
    assert any("Doctor complete" in line for line in log), "\n".join(log[-40:])  # doctor's own output
    assert log[-1].startswith("migrate: state migrated to epoch 2 in ")
    marker = json.loads((upgraded.state / MARKER).read_text())
    assert (marker["release"], marker["stateEpoch"]) == ("2026.9.6", 2)
    assert json.loads((upgraded.before / MARKER).read_text())["release"] == "2026.2.23"


def test_the_volume_keeps_the_rendered_config(upgraded: Upgraded) -> None:
    """doctor edits a scratch copy: the gateway reads exactly what the render wrote."""
    _, rendered = rendered_openclaw_json(render(NEW)[1])
    assert json.loads((upgraded.state / "openclaw.json").read_text()) == rendered


# --- what the upgrade keeps -----------------------------------------------------------------------------

def test_every_agent_keeps_its_workspace_and_agent_folder(upgraded: Upgraded) -> None:
    agents = upgraded.old_config["agents"]["list"]
    assert len(agents) == 29
    mount = "/home/node/.openclaw/"
    for agent in agents:
        for key in ("workspace", "agentDir"):
            assert (upgraded.state / agent[key].removeprefix(mount)).is_dir(), (agent["id"], key)
        workspace = upgraded.state / agent["workspace"].removeprefix(mount)
        before = upgraded.before / agent["workspace"].removeprefix(mount)
        for name in ("SOUL.md", "USER.md", "IDENTITY.md", "AGENTS.md"):
            if (before / name).exists():
                assert (workspace / name).exists(), (agent["id"], name)


@pytest.mark.parametrize("rel", ["workspace/SOUL.md", "workspace/MEMORY.md"])
def test_edited_files_are_kept_byte_for_byte(upgraded: Upgraded, rel: str) -> None:
    assert (upgraded.state / rel).read_bytes() == (upgraded.before / rel).read_bytes()
    assert (upgraded.state / rel).read_text(encoding="utf-8").endswith(EDITS[rel])


def test_an_edited_tools_file_is_merged_into_agents_md(upgraded: Upgraded) -> None:
    """2026.9.6's doctor merges TOOLS.md into AGENTS.md and archives the original (backups/): the
    edit is in the agent's AGENTS.md."""
    edit = EDITS["workspaces/qa-engineer/TOOLS.md"].strip()
    assert edit in (upgraded.state / "workspaces/qa-engineer/AGENTS.md").read_text(encoding="utf-8")


def test_the_session_is_kept(upgraded: Upgraded) -> None:
    (session_id,) = upgraded.sessions["main"]
    listed = {s["sessionId"] for s in upgraded.sessions_after["sessions"]}
    assert session_id in listed
    database = upgraded.state / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    assert TOKEN in sqlite_texts(database, upgraded.work)


def test_the_memory_index_is_migrated_and_its_old_bytes_kept(upgraded: Upgraded) -> None:
    archived = upgraded.state / "memory" / "main.sqlite.migrated"
    assert hashlib.sha256(archived.read_bytes()).hexdigest() == upgraded.memory_index


def test_2026_9_6_starts_on_it_with_nothing_left_to_migrate(upgraded: Upgraded) -> None:
    log = upgraded.gateway_log
    assert "requires legacy credential migration" not in log and "AuthProfileMigrationRequired" not in log
    assert "Failed to install" not in log and "registry.npmjs.org" not in log


# --- a migration that fails -----------------------------------------------------------------------------

def test_a_failed_migration_stops_the_pod_with_one_line(upgraded: Upgraded, tmp_path: Path) -> None:
    """doctor refuses to run when OPENCLAW_CONFIG_READONLY is set (only the gateway may have it): a
    real failure of the real release, on a copy of the 2026.2.23 volume."""
    state = copy_volume(upgraded.before, tmp_path / "pvc")
    run, _ = render(NEW)
    pod = pod_from_render(run)
    use_config(pod, openclaw_json_for(run, pod, NEW))
    pod.container("migrate").env["OPENCLAW_CONFIG_READONLY"] = "1"
    app, node = install_release(NEW)
    with PodSandbox(pod, tmp_path / "pod", state, app, node) as sandbox:
        results = run_inits(sandbox, pod)
    assert list(results) == ["state-guard", "seed", "plugins", "migrate"]  # the preflight never ran
    code, log = results["migrate"]
    assert code == 1
    errors = [line for line in log.splitlines() if line.startswith("migrate: error: ")]
    assert len(errors) == 1 and log.rstrip().endswith(errors[0])
    assert errors[0].startswith("migrate: error: `openclaw doctor --fix --non-interactive` exited 1 after ")
    assert "still marked 2026.2.23" in errors[0] and "restore the pre-upgrade snapshot" in errors[0]
    assert json.loads((state / MARKER).read_text())["release"] == "2026.2.23"
    # What the migration had not touched is as 2026.2.23 left it: the sessions, the memory index.
    assert {k: v for k, v in files(state).items() if k.startswith(("agents/main/sessions", "memory/"))} == {
        k: v for k, v in files(upgraded.before).items() if k.startswith(("agents/main/sessions", "memory/"))}


def test_without_the_migration_2026_9_6_reports_the_unmigrated_auth_profiles(upgraded: Upgraded,
                                                                            tmp_path: Path) -> None:
    """Why the step exists: the same volume and pod without `migrate` (2026.9.6's own startup
    migration leaves the legacy auth profiles: dist/legacy-source-diagnostic-*.mjs)."""
    state = copy_volume(upgraded.before, tmp_path / "pvc")
    run, _ = render(NEW)
    pod = pod_from_render(run)
    use_config(pod, openclaw_json_for(run, pod, NEW))
    app, node = install_release(NEW)
    with PodSandbox(pod, tmp_path / "pod", state, app, node) as sandbox:
        results = run_inits(sandbox, pod, stop_before="migrate")
        assert all(code == 0 for code, _ in results.values()), results
        gateway = sandbox.start(pod.containers[0])
        deadline = time.monotonic() + WALL_CAP
        while time.monotonic() < deadline and gateway.proc.poll() is None \
                and "requires legacy credential migration" not in gateway.log():
            time.sleep(1)
        log = gateway.log()
    assert "requires legacy credential migration" in log and "run openclaw doctor --fix" in log, log[-3000:]
    assert json.loads((state / MARKER).read_text())["release"] == "2026.2.23"


# --- the pre-upgrade snapshot Job and the rollback --------------------------------------------------------

def _published(upgraded: Upgraded) -> Path:
    (snapshot,) = (upgraded.state / PRE_UPGRADE_DIR).iterdir()
    return snapshot


def test_the_job_snapshots_the_volume_with_the_old_release(upgraded: Upgraded) -> None:
    code, log = upgraded.snapshot
    assert upgraded.snapshot_image == f"ghcr.io/openclaw/openclaw:{OLD.version}"
    lines = log.strip().splitlines()
    assert code == 0 and lines[-1].startswith("snapshot: done: ") and "copied consistently" in lines[-1], log
    snapshot = _published(upgraded)
    assert lines[-2] == f"snapshot: published /pre-upgrade/{snapshot.name}"
    assert snapshot.name.startswith(f"{OLD.version}-")
    manifest = json.loads((snapshot / MANIFEST).read_text())
    assert (manifest["release"], manifest["kind"]) == (OLD.version, "pre-upgrade")
    assert manifest["node"] == f"v{OLD.node}"     # the old release's Node made the copy
    assert {d["method"] for d in manifest["databases"]} == {"online-backup"} and manifest["databases"]
    # The migration left it alone: still marked with the old release.
    assert json.loads((snapshot / MARKER).read_text())["release"] == OLD.version

