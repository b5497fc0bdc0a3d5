"""SQLite on the state volume for the backup tests: real databases (WAL mode, as a killed writer
leaves them), their content for comparisons, the snapshot step run as its init container runs it,
and an OpenClaw release's own CLI (installed under the Node it needs)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from components.backup_pod import SNAPSHOT_SCRIPT
from components.releases import NODE_22
from tools.toolchain import node_binary

RELEASE = "2026.2.23"


_MAKE_DATABASE = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "wal":
    db.execute("pragma journal_mode=wal")
    db.execute("pragma wal_autocheckpoint=0")
db.execute("create table notes(id integer primary key, body text)")
db.executemany("insert into notes(body) values (?)", [(f"note {i} \\u2713",) for i in range(50)])
if sys.argv[2] == "wal":
    os.kill(os.getpid(), signal.SIGKILL)  # as a writer killed mid-run: -wal (with the rows) and -shm stay
"""


def make_database(path: Path, wal: bool = False) -> None:
    """A small real SQLite database; in WAL mode its rows are only in the -wal file, with the -shm
    beside it, as a killed writer leaves them."""
    subprocess.run([sys.executable, "-c", _MAKE_DATABASE, str(path), "wal" if wal else "delete"], check=False)
    assert path.is_file() and (not wal or Path(f"{path}-wal").stat().st_size > 0)


def database_dump(path: Path) -> str:
    """A database's content (schema and rows) as SQL text: equal for a consistent copy. Read from a
    copy (with the -wal beside it, if any): opening a WAL database creates sidecars next to it."""
    with tempfile.TemporaryDirectory() as scratch:
        for suffix in ("", "-wal"):
            if Path(f"{path}{suffix}").is_file():
                shutil.copyfile(f"{path}{suffix}", f"{scratch}/db{suffix}")
        db = sqlite3.connect(f"{scratch}/db")
        try:
            return "\n".join(db.iterdump())
        finally:
            db.close()


def node(version: str = NODE_22) -> str:
    """The pinned Node a release runs (components/releases.py): the snapshot step runs under it."""
    return str(node_binary(version))


def snapshot_argv(node_version: str = NODE_22) -> list[str]:
    """The snapshot container's command, with the script file in place of its text."""
    return [node(node_version), "--disable-warning=ExperimentalWarning", str(SNAPSHOT_SCRIPT)]


def run_snapshot(volume: Path, dest: Path, release: str = RELEASE, node_version: str = NODE_22,
                 read_only: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
    """components/scripts/snapshot.mjs as the CronJob's init container runs it: the volume mounted
    read-only (a read-only bind mount in a private mount namespace, `unshare -rm`), so SQLite reads a
    live WAL database through its read-only shared-memory path, exactly as in the pod."""
    env = {"PATH": os.environ["PATH"], "HOME": str(dest.parent), "SNAPSHOT_DEST": str(dest),
           "SNAPSHOT_RELEASE": release, "SNAPSHOT_KIND": "hourly", "SNAPSHOT_LIMIT_BYTES": str(2 * 1024**3),
           "SNAPSHOT_EXCLUDE": ".openclaw-pre-upgrade", **extra}
    argv = snapshot_argv(node_version)
    if not read_only:
        return subprocess.run(argv, env={**env, "SNAPSHOT_SOURCE": str(volume)}, capture_output=True, text=True,
                              timeout=300, check=False)
    dest.parent.mkdir(parents=True, exist_ok=True)
    mountpoint = Path(tempfile.mkdtemp(prefix="snapshot-source-"))
    script = 'mount --bind -o ro "$VOLUME" "$SNAPSHOT_SOURCE" && exec "$@"'
    try:
        return subprocess.run(["unshare", "-rm", "sh", "-c", script, "snapshot", *argv],
                              env={**env, "VOLUME": str(volume), "SNAPSHOT_SOURCE": str(mountpoint)},
                              capture_output=True, text=True, timeout=300, check=False)
    finally:
        mountpoint.rmdir()


def release_app(version: str) -> tuple[Path, str]:
    """`openclaw@<version>` from the shared cache (installed once, with npm running under the Node the
    release needs: FACTS.md) and that Node's binary."""
    from components.releases import release_for
    from tests.support.e2e.install import install_openclaw

    node_path = node(release_for(version).node)
    previous = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(node_path).parent}:{previous}"  # npm's `#!/usr/bin/env node`
    try:
        return install_openclaw(version), node_path
    finally:
        os.environ["PATH"] = previous


def openclaw(version: str, home: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """The release's own CLI on the state directory `home/.openclaw`, offline (loopback only here)."""
    app, node_path = release_app(version)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "OPENCLAW_DISABLE_BONJOUR": "1", "TERM": "dumb"}
    return subprocess.run([node_path, str(app / "openclaw.mjs"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=home)

