"""Volumes and repositories for the backup tests: a state volume seeded by the real seed.mjs and then
used (sessions, edits, odd names, links), a byte-for-byte description of a tree, restic's
environment, and an S3 endpoint on 127.0.0.1 (moto in server mode)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import agents
from components.backup import BACKUP_SCRIPT
from components.backup_pod import MANIFEST
from components.config import StackConfig
from components.releases import NODE_22
from tests.seed_fixtures import CONFIG, Volume
from tests.sqlite_fixtures import RELEASE, database_dump, make_database, run_snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "fake-not-a-secret-0000"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "fake-not-a-secret-0001", "AWS_SECRET_ACCESS_KEY": "fake-not-a-secret-0002",
           "AWS_DEFAULT_REGION": "us-east-1"}
BACKUP_HOST = "openclaw-data"
SQLITE_HEADER = b"SQLite format 3\x00"
# Names a volume may hold once agents edit their workspaces: each one breaks a naive script.
ODD_NAMES = ["notes with spaces.md", "line\nbreak.md", "-leading-dash.md", "--help", "ünïcödé 한국어 ✓.md",
             "trailing space ", "*glob?[x]", "'quote\"s'.md", "tab\there.md"]
MTIME_NS = 1_764_000_000_123_456_789  # a fixed, sub-second modification time


def seed_volume(root: Path, agent_ids: list[str] | None = None) -> Path:
    """The state volume as the init container leaves it (real seed.mjs under the pinned Node 22, real catalog),
    then as a running gateway changes it. Returns the state directory."""
    catalog = agents.load_catalog(provider_models=StackConfig.model_validate(
        {"gateway": {"allowedOrigins": ["https://x.example"]}}).models.model_refs)
    files = agents.seed_configmap_data(catalog)
    if agent_ids is not None:
        files = {k: v for k, v in files.items() if k in agent_ids}
    volume = Volume(root)
    volume.write_config(CONFIG)
    volume.write_seed(files)
    done = volume.run()
    assert done.returncode == 0, done.stderr
    use_volume(volume.state, [a for a in files if a != "main"])
    return volume.state


def use_volume(state: Path, agent_ids: list[str]) -> None:
    """What the gateway writes: session transcripts and their index, memory notes, edited files,
    a derived SQLite-like index, odd names, links, modes and sub-second mtimes."""
    for n, agent_id in enumerate(agent_ids[:5]):
        sessions = state / "agents" / agent_id / "sessions"
        sessions.mkdir(parents=True, exist_ok=True)
        sid = f"0000000{n}-fake-session"
        (sessions / f"{sid}.jsonl").write_text("".join(
            json.dumps({"type": "message", "message": {"role": r, "content": f"turn {i} ✓"}}) + "\n"
            for i, r in enumerate(["user", "assistant"] * 20)), encoding="utf-8")
        (sessions / "sessions.json").write_text(json.dumps({f"agent:{agent_id}:main": {
            "sessionId": sid, "sessionFile": f"{sid}.jsonl"}}), encoding="utf-8")
        (sessions / "latest.jsonl").symlink_to(f"{sid}.jsonl")
        if n == 0:  # a write in progress: OpenClaw's session write lock (left out of backups)
            (sessions / f"{sid}.jsonl.lock").write_text(json.dumps({"pid": 7, "createdAt": "2026-11-24T00:00:00Z"}),
                                                        encoding="utf-8")
        workspace = state / "workspaces" / agent_id
        (workspace / "memory").mkdir(parents=True, exist_ok=True)
        (workspace / "memory" / "2026-11-24.md").write_text(f"# {agent_id}\n- remembered\n", encoding="utf-8")
        (workspace / "MEMORY.md").write_text("edited by the agent\n", encoding="utf-8")
    odd = state / "workspace" / "odd"
    odd.mkdir(parents=True)
    for i, name in enumerate(ODD_NAMES):
        (odd / name).write_bytes(f"{i}: {name}\n".encode())
    (odd / "empty file").write_bytes(b"")
    (odd / "empty dir").mkdir()
    # 1.25 MiB that does not compress (restic compresses): several chunks, and fills a small disk.
    (odd / "binary.bin").write_bytes(b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(40960)))
    (odd / "private.md").write_text("mode 600\n", encoding="utf-8")
    os.chmod(odd / "private.md", 0o600)
    (odd / "tool.sh").write_text("#!/bin/sh\necho hi\n", encoding="utf-8")
    os.chmod(odd / "tool.sh", 0o755)
    (odd / "locked dir").mkdir(mode=0o700)
    (odd / "link to dir").symlink_to("../../agents")
    (odd / "dangling link").symlink_to("does/not/exist")
    (odd / "absolute link").symlink_to("/home/node/.openclaw/openclaw.json")
    (state / "memory").mkdir(exist_ok=True)
    # The memory index (2026.2.23 keeps it in SQLite), and one an agent left in WAL mode with its sidecars.
    make_database(state / "memory" / "main.sqlite")
    make_database(odd / "notes.db", wal=True)
    os.utime(odd / "binary.bin", ns=(MTIME_NS, MTIME_NS))


def describe_tree(root: Path, databases: bool = False) -> dict[str, tuple[Any, ...]]:
    """Every entry under root (not root itself): type, permission bits, mtime (ns), owner, and the
    content's SHA-256 (files) or the link target (symlinks). Directory mtimes are compared too.
    With `databases`, a SQLite database is described by its content (a consistent copy is not the
    same bytes: the online backup writes its own header and includes the WAL), without its mtime, and
    its -wal/-shm/-journal files are left out; the snapshot manifest is left out too."""
    result: dict[str, tuple[Any, ...]] = {}
    dbs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                result[rel] = ("link", os.readlink(path), st.st_uid, st.st_gid)
            elif os.path.isdir(path):
                result[rel] = ("dir", st.st_mode & 0o7777, st.st_mtime_ns, st.st_uid, st.st_gid)
            else:
                with open(path, "rb") as handle:
                    content = handle.read()
                if databases and content.startswith(SQLITE_HEADER):
                    dbs.add(rel)
                    result[rel] = ("db", st.st_mode & 0o7777, st.st_uid, st.st_gid, database_dump(Path(path)))
                    continue
                digest = hashlib.sha256(content).hexdigest()
                result[rel] = ("file", st.st_mode & 0o7777, st.st_mtime_ns, st.st_uid, st.st_gid, st.st_size, digest)
    if databases:
        result.pop(MANIFEST, None)
        for rel in [r for r in result if any(r == d + s for d in dbs for s in ("-wal", "-shm", "-journal"))]:
            del result[rel]
    return result


def restic_env(repository: str, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "RESTIC_REPOSITORY": repository,
            "RESTIC_PASSWORD": PASSWORD, **S3_KEYS, **extra}


def run_backup_script(tree: Path, env: Mapping[str, str], shell: tuple[str, ...] = ("dash",),
                      cache: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    """components/backup.sh, the CronJob's restic step, on a snapshot tree (the same env names)."""
    full = {**env, "BACKUP_SOURCE": str(tree), "BACKUP_HOST": BACKUP_HOST, "BACKUP_RELEASE": RELEASE,
            "CHECK_SUBSET": "100%", "KEEP_LAST": "3", "KEEP_HOURLY": "24", "KEEP_DAILY": "14", "KEEP_WEEKLY": "8",
            "KEEP_MONTHLY": "12", **extra}
    if cache is not None:
        full["RESTIC_CACHE_DIR"] = str(cache)
    return subprocess.run([*shell, "-c", BACKUP_SCRIPT.read_text(encoding="utf-8"), "openclaw-backup"], env=full,
                          capture_output=True, text=True, timeout=300, check=False)


def run_backup(source: Path, env: Mapping[str, str], shell: tuple[str, ...] = ("dash",), cache: Path | None = None,
               node_version: str = NODE_22, **extra: str) -> subprocess.CompletedProcess[str]:
    """One CronJob run: the snapshot step into a fresh scratch folder (the pod's emptyDir), then
    backup.sh on it. A failed snapshot step is returned as the run's result (the pod fails there)."""
    # The same path every run for one repository, as the pod's /data: restic finds its parent snapshot.
    key = hashlib.sha256(env["RESTIC_REPOSITORY"].encode()).hexdigest()[:12]
    scratch = Path(tempfile.gettempdir()) / f"backup-scratch-{key}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        snap = run_snapshot(source, scratch / "snapshot", node_version=node_version,
                            release=extra.get("BACKUP_RELEASE", RELEASE))
        if snap.returncode != 0:
            return snap
        done = run_backup_script(scratch / "snapshot", env, shell, cache, **extra)
        return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, snap.stderr + done.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def summary(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The restic backup summary the script logs."""
    line = next(x for x in done.stderr.splitlines() if x.startswith("backup: snapshot done: "))
    result: dict[str, Any] = json.loads(line.removeprefix("backup: snapshot done: "))
    return result


def run_restore(target: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m tools.restore`, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "tools.restore", "--target", str(target), *args],
                          env=dict(env), capture_output=True, text=True, timeout=300, check=False,
                          cwd=Path(__file__).resolve().parent.parent)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def moto_server() -> Iterator[str]:
    """An S3 API on 127.0.0.1 (moto's server mode); yields its endpoint URL."""
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not listen on 127.0.0.1:{port}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
    before = {k: v for k, v in describe_tree(state, databases=True).items() if not k.endswith(".jsonl.lock")}
    repository = str(root / "repository")
    first = run_backup(state, restic_env(repository), cache=root / "cache")
    return BackedUp(state, before, repository, root / "cache", first)


def restic_out(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["restic", *args], env=env, capture_output=True, text=True, check=True).stdout


def copy_volume(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst
