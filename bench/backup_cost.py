"""Backup and restore figures (bench/bench.py, `--backup-only`): one CronJob run's two steps and
`python -m tools.restore` with the real restic, on a 1,000-agent state volume."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def agent_volume(state: Path, agents: int) -> tuple[int, int]:
    """A state volume laid out as seed.sh and a running gateway leave it: openclaw.json, the main
    workspace, and per agent its workspace files, agentDir, a session transcript, its index and a
    memory note. Returns (files, bytes)."""
    files = total = 0

    def write(path: Path, text: str) -> None:
        nonlocal files, total
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        path.write_bytes(data)
        files, total = files + 1, total + len(data)

    write(state / "openclaw.json", json.dumps({"agents": {"list": [{"id": f"agent-{i:04d}"} for i in range(agents)]}}))
    names = ["AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "TOOLS.md", "HEARTBEAT.md", "BOOTSTRAP.md"]
    for i in range(agents):
        agent = f"agent-{i:04d}"
        for name in names:
            write(state / "workspaces" / agent / name, f"# {name} of {agent}\n" + f"Line {i} of the seed. " * 60)
        write(state / "workspaces" / agent / "memory" / "2026-11-24.md", f"- {agent} remembered something\n" * 20)
        (state / "agents" / agent / "agent").mkdir(parents=True)
        turns = "".join(json.dumps({"type": "message", "message": {"role": "user", "content": f"turn {t} of {agent}"}})
                        + "\n" for t in range(100))
        write(state / "agents" / agent / "sessions" / f"{agent}-session.jsonl", turns)
        write(state / "agents" / agent / "sessions" / "sessions.json", json.dumps({agent: {"sessionId": agent}}))
    return files, total


def state_database(path: Path, rows: int) -> int:
    """A WAL-mode SQLite database like 2026.9.x's state/openclaw.sqlite, its last commits still in
    the -wal (a writer's connection kept open elsewhere would do the same). Returns its bytes."""
    import sqlite3
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("pragma journal_mode=wal")
    db.execute("create table sessions(id integer primary key, agent text, body blob)")
    db.execute("begin")
    db.executemany("insert into sessions(agent, body) values (?, randomblob(1000))",
                   [(f"agent-{i % 1000:04d}",) for i in range(rows)])
    db.execute("commit")
    db.close()
    return path.stat().st_size


def bench_backup(agents: int = 1000) -> None:
    """Wall time of one CronJob run, its two steps apart: the snapshot step (components/scripts/
    snapshot.mjs under the pinned Node 22: cp -a of the volume, each SQLite database through the
    online backup API) and the restic step (components/backup.sh: init, backup, forget --prune, check
    of 5%), on a fresh and on an unchanged volume; and `python -m tools.restore` (check, restore
    --verify, comparison with the listing, the databases' integrity) into an empty directory."""
    sys.path.insert(0, str(REPO))
    from tools.toolchain import node_binary
    version = subprocess.run(["restic", "version"], capture_output=True, text=True, check=True).stdout.split()[1]
    script = (REPO / "components" / "backup.sh").read_text(encoding="utf-8")
    snapshot = REPO / "components" / "scripts" / "snapshot.mjs"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files, size = agent_volume(root / "state", agents)
        db_bytes = state_database(root / "state" / "state" / "openclaw.sqlite", 20_000)
        env = {**os.environ, "RESTIC_REPOSITORY": str(root / "repo"), "RESTIC_PASSWORD": "fake-not-a-secret-0000",
               "RESTIC_CACHE_DIR": str(root / "cache"), "BACKUP_SOURCE": str(root / "tree"),
               "BACKUP_HOST": "openclaw-data", "BACKUP_RELEASE": "2026.2.23", "CHECK_SUBSET": "5%",
               "SNAPSHOT_SOURCE": str(root / "state"), "SNAPSHOT_DEST": str(root / "tree"),
               "SNAPSHOT_RELEASE": "2026.2.23"}

        def timed(command: list[str]) -> tuple[float, str]:
            started = time.perf_counter()
            proc = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"{command[0]} failed:\n{proc.stderr[-2000:]}")
            return time.perf_counter() - started, proc.stderr + proc.stdout

        def added(log: str) -> int:
            line = next(x for x in log.splitlines() if x.startswith("backup: snapshot done: "))
            return int(json.loads(line.removeprefix("backup: snapshot done: "))["data_added"])

        def run() -> tuple[float, float, str]:
            shutil.rmtree(root / "tree", ignore_errors=True)
            snap, _ = timed([str(node_binary()), "--disable-warning=ExperimentalWarning", str(snapshot)])
            store, log = timed(["dash", "-c", script])
            return snap, store, log

        snap1, first, log1 = run()
        snap2, second, log2 = run()
        restore, _ = timed([sys.executable, "-m", "tools.restore", "--target", str(root / "restored")])
        print(f"\nbackup and restore, restic {version}, local repository, {agents} agents: {files} files, "
              f"{size / 1024**2:.1f} MiB, and a {db_bytes / 1024**2:.1f} MiB WAL-mode SQLite database")
        print(f"{'what':<34} {'wall s':>7}  notes")
        print(f"{'snapshot step, first run':<34} {snap1:>7.2f}  cp -a + online backup of the database; "
              f"{snap1 / (snap1 + first):.0%} of the run")
        print(f"{'restic step, first run':<34} {first:>7.2f}  init + backup + forget --prune + check 5%; "
              f"{added(log1) / 1024**2:.1f} MiB added, {files / first:.0f} files/s")
        print(f"{'snapshot step, unchanged volume':<34} {snap2:>7.2f}")
        print(f"{'restic step, unchanged volume':<34} {second:>7.2f}  {added(log2) / 1024:.0f} KiB added (tree "
              f"metadata of the fresh copy: {added(log2) / (files + 2):.0f} bytes per file)")
        print(f"{'restore + verify (tools.restore)':<34} {restore:>7.2f}  check + restore --verify + compare + "
              f"integrity; {files / restore:.0f} files/s")
