"""A state volume as the e2e inspects it: copied with owners and modes, its files' hashes, the
text an SQLite database holds."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
from pathlib import Path


def copy_volume(src: Path, dst: Path) -> Path:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    return dst


def files(root: Path) -> dict[str, str]:
    """Every regular file below root (links not followed): sha256."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def sqlite_texts(db: Path, work: Path) -> str:
    """Every text value of an SQLite database (a copy with its WAL, opened read-only)."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{db}{suffix}").exists():
            shutil.copy(f"{db}{suffix}", work / f"copy.sqlite{suffix}")
    con = sqlite3.connect(f"file:{work / 'copy.sqlite'}?mode=ro", uri=True)
    try:
        texts = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in con.execute(f'SELECT * FROM "{table}"'):
                texts += [v if isinstance(v, str) else v.decode("utf-8", "replace") if isinstance(v, bytes) else ""
                          for v in row]
        return "\n".join(texts)
    finally:
        con.close()
