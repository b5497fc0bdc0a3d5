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
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.backup_pod import MANIFEST, PRE_UPGRADE_DIR
from components.releases import RELEASES, Release
from components.snapshot import pre_upgrade_job_name
from engine.harness import RunResult, run_stack
from tests.sqlite_fixtures import database_dump
from tests.support.e2e.pod import Pod, job_pod_from_render, pod_from_render
from tests.support.e2e.releases import (
    exec_output,
    install_release,
    openclaw_json_for,
    rendered_openclaw_json,
    use_config,
)
from tests.support.e2e.sandbox import PodSandbox, Running
from tests.support.e2e.volume import copy_volume, files, sqlite_texts

pytestmark = pytest.mark.e2e

OLD, NEW = RELEASES["2026.2.23"], RELEASES["2026.9.6"]
PREFLIGHT_WARN_ONLY = {"failOn": {"database": [], "kubernetes": [], "model": [], "telegram": []}}
FAKE_LLM_PORT = 18080
WALL_CAP = 900
MARKER = ".state-release.json"
TOKEN = f"remember-the-blue-notebook-{uuid.uuid4().hex[:8]}"
# Edited by a person on the 2026.2.23 volume: (path below the volume, text appended).
EDITS = {"workspace/SOUL.md": "\nEdited before the upgrade: answer in Korean first.\n",
         "workspace/MEMORY.md": f"\nThe upgrade test keeps {TOKEN}.\n",
         "workspaces/qa-engineer/TOOLS.md": "\nEdited before the upgrade: the test farm is qa-farm-7.\n"}


def render(release: Release) -> tuple[RunResult, Pod]:
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw",
                                                         "tag": release.version},
                                      "openclaw:preflight": PREFLIGHT_WARN_ONLY})
    pod = pod_from_render(run)
    use_config(pod, openclaw_json_for(run, pod, release))
    return run, pod


def run_inits(sandbox: PodSandbox, pod: Pod, stop_before: str | None = None) -> dict[str, tuple[int, str]]:
    """Each init container in order until one fails (the kubelet stops the pod there)."""
    results: dict[str, tuple[int, str]] = {}
    for container in pod.init_containers:
        if container.name == stop_before:
            break
        code, log, _ = sandbox.run(container, timeout=WALL_CAP)
        results[container.name] = (code, log)
        if code != 0:
            break
    return results


def start_gateway(sandbox: PodSandbox, pod: Pod) -> tuple[Running, float]:
    gateway = sandbox.start(pod.containers[0])
    ready = gateway.wait_listening(gateway.container.ports[0], WALL_CAP)
    assert ready is not None, gateway.log()[-3000:]
    return gateway, ready


def cli(sandbox: PodSandbox, gateway: Running, *args: str) -> str:
    code, out = exec_output(sandbox, gateway, ["node", "/app/openclaw.mjs", *args], timeout=WALL_CAP)
    assert code == 0, f"openclaw {' '.join(args)} exited {code}: {out[-3000:]}"
    return out


@dataclass
class Upgraded:
    work: Path
    before: Path                       # the volume as 2026.2.23 left it
    state: Path                        # the same volume after 2026.9.6's init containers and start
    old_config: dict[str, Any]
    sessions: dict[str, list[str]]     # agent id -> session ids 2026.2.23 recorded
    memory_index: str                  # sha256 of 2026.2.23's memory/main.sqlite
    inits: dict[str, tuple[int, str]] = field(default_factory=dict)
    gateway_log: str = ""
    sessions_after: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)
    snapshot_image: str = ""           # the Job's container image, as rendered
    snapshot: tuple[int, str] = (0, "")  # the Job's container: exit code, log


def use_2026_2_23(sandbox: PodSandbox, pod: Pod, figures: dict[str, float]) -> None:
    """Seed, edit, start 2026.2.23, one agent turn (a session), the memory index, stop."""
    inits = run_inits(sandbox, pod)
    assert all(code == 0 for code, _ in inits.values()), inits
    for rel, text in EDITS.items():
        with (sandbox.state / rel).open("a", encoding="utf-8") as f:
            f.write(text)
    fake = subprocess.Popen(["ip", "netns", "exec", sandbox.netns, sys.executable, "-m", "tests.support.e2e.fake_llm",
                             str(FAKE_LLM_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        started = time.monotonic()
        gateway, ready = start_gateway(sandbox, pod)
        figures["2026.2.23 listening s"] = ready
        cli(sandbox, gateway, "agent", "--local", "--agent", "main", "--message", f"Please note {TOKEN}.", "--json")
        cli(sandbox, gateway, "memory", "index", "--agent", "main")
        figures["2026.2.23 use s"] = time.monotonic() - started
        gateway.stop()
    finally:
        fake.kill()
        model_calls = fake.communicate()[1]
    assert TOKEN in model_calls, model_calls[-2000:]  # the turn reached the configured provider


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgraded]:
    work = tmp_path_factory.mktemp("upgrade")
    state = work / "pvc"
    figures: dict[str, float] = {}
    old_app, old_node = install_release(OLD)
    new_app, new_node = install_release(NEW)
    _, old_pod = render(OLD)
    _, old_config = rendered_openclaw_json(old_pod)
    # The stand-in model on loopback: the only change to 2026.2.23's rendered config.
    old_config["models"]["providers"]["deepseek"]["baseUrl"] = f"http://127.0.0.1:{FAKE_LLM_PORT}/v1"
    use_config(old_pod, old_config)
    with PodSandbox(old_pod, work / "old", state, old_app, old_node) as sandbox:
        use_2026_2_23(sandbox, old_pod, figures)
    # agents/<id>/sessions/sessions.json: {"<session key>": {"sessionId": ..., ...}} (2026.2.23)
    sessions = {p.parent.parent.name: sorted(entry["sessionId"] for entry in json.loads(p.read_text()).values())
                for p in state.glob("agents/*/sessions/sessions.json")}
    result = Upgraded(work, copy_volume(state, work / "before"), state, old_config, sessions,
                      hashlib.sha256((state / "memory" / "main.sqlite").read_bytes()).hexdigest(), figures=figures)
    new_run, new_pod = render(NEW)
    # The pre-upgrade snapshot Job (the Deployment waits for it): its container in the old release's
    # image, so the old release's Node copies the old release's databases.
    job_pod = job_pod_from_render(new_run, pre_upgrade_job_name(OLD))
    (job_container,) = [*job_pod.init_containers, *job_pod.containers]
    result.snapshot_image = new_run.find("Job", pre_upgrade_job_name(OLD)).properties[
        "spec"]["template"]["spec"]["containers"][0]["image"]
    with PodSandbox(job_pod, work / "job", state, old_app, old_node) as sandbox:
        code, log, seconds = sandbox.run(job_container, timeout=WALL_CAP)
        result.snapshot = (code, log)
        figures["pre-upgrade snapshot Job s"] = seconds
    assert code == 0, log[-3000:]
    with PodSandbox(new_pod, work / "new", state, new_app, new_node) as sandbox:
        started = time.monotonic()
        result.inits = run_inits(sandbox, new_pod)
        figures["2026.9.6 init containers s"] = time.monotonic() - started
        assert all(code == 0 for code, _ in result.inits.values()), {k: v[1][-2000:] for k, v in result.inits.items()}
        summary = result.inits["migrate"][1].strip().splitlines()[-1]  # "... migrated to epoch 2 in 21.3 s; ..."
        figures["2026.9.6 migration s"] = float(summary.split(" in ")[1].split(" s")[0])
        gateway, ready = start_gateway(sandbox, new_pod)
        figures["2026.9.6 listening s"] = ready
        time.sleep(5)
        result.sessions_after = json.loads(cli(sandbox, gateway, "sessions", "--agent", "main", "--json"))
        result.gateway_log = gateway.log()
        gateway.stop()
    yield result
    print("\ne2e upgrade 2026.2.23 -> 2026.9.6:" + "".join(f"\n  {k}: {v:.1f}" for k, v in figures.items()))


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
