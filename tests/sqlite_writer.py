"""A writer that commits to a WAL-mode database without pause, built so that a torn or mixed copy
is detectable, and the checks a restored copy must pass.

Every transaction touches three tables at once: appends `bk_ledger` row `seq` (with a pad of random
size, so pages split and the b-trees grow), appends `bk_audit` row `seq` holding a digest of the
ledger row, and updates the single `bk_totals` row (count and sum). A consistent copy holds a
prefix of the commits: seq 1..n with no gap, n rows in each table, totals that match, digests
that match. A copy that mixes two moments (the main file of one, the WAL of another) breaks at
least one of these, or SQLite's own integrity check. The writer also checkpoints the WAL every few
commits (RESTART, so the WAL starts over and old frames are overwritten), as a busy gateway does.

    python tests/sqlite_writer.py DB SECONDS [PAUSE]   # run as a separate process by the tests

PAUSE (seconds, default 0.004) between commits keeps the database growing at a few hundred commits
a second rather than as fast as a core allows: the point is commits at every moment of a backup,
not a database of gigabytes.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

SCHEMA = """
create table if not exists bk_ledger(seq integer primary key, amount integer not null, pad blob not null);
create table if not exists bk_audit(seq integer primary key, digest text not null);
create table if not exists bk_totals(id integer primary key check (id = 1), n integer not null, total integer not null);
insert or ignore into bk_totals values (1, 0, 0);
"""
CHECKPOINT_EVERY = 25


def digest(seq: int, amount: int) -> str:
    return hashlib.sha256(f"{seq}:{amount}".encode()).hexdigest()[:16]


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("pragma journal_mode=wal")
    db.executescript(SCHEMA)
    return db


def commit_one(db: sqlite3.Connection, rng: random.Random) -> int:
    """One transaction over the three tables; returns its seq."""
    db.execute("begin immediate")
    (n,) = db.execute("select n from bk_totals").fetchone()
    seq, amount = n + 1, rng.randint(1, 1000)
    db.execute("insert into bk_ledger values (?, ?, randomblob(?))", (seq, amount, rng.randint(16, 3000)))
    db.execute("insert into bk_audit values (?, ?)", (seq, digest(seq, amount)))
    db.execute("update bk_totals set n = ?, total = total + ? where id = 1", (seq, amount))
    db.execute("commit")
    if seq % CHECKPOINT_EVERY == 0:
        db.execute("pragma wal_checkpoint(RESTART)")
    return seq


def committed(path: Path) -> int:
    """The last committed seq, read by a separate connection."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        (n,) = db.execute("select n from bk_totals").fetchone()
        return int(n)
    finally:
        db.close()


def problems(path: Path) -> list[str]:
    """What is wrong with a restored copy (empty: consistent), opened as the release opens it: with
    whatever -wal/-journal lies beside it (a copy of the files, so the restored tree stays as it is)."""
    if not path.is_file():
        return [f"{path.name} is missing"]
    with tempfile.TemporaryDirectory() as scratch:
        for suffix in ("", "-wal", "-journal"):
            if Path(f"{path}{suffix}").is_file():
                shutil.copyfile(f"{path}{suffix}", f"{scratch}/db{suffix}")
        return _problems(Path(scratch) / "db")


def _problems(path: Path) -> list[str]:
    try:
        db = sqlite3.connect(path)
        found = [row[0] for row in db.execute("pragma integrity_check")]
        if found != ["ok"]:
            return [f"integrity_check: {'; '.join(found[:3])}"]
        (n, total), = db.execute("select n, total from bk_totals").fetchall()
        count, amount, top = db.execute("select count(*), coalesce(sum(amount), 0), coalesce(max(seq), 0) "
                                        "from bk_ledger").fetchone()
        audits = dict(db.execute("select seq, digest from bk_audit").fetchall())
        rows = db.execute("select seq, amount from bk_ledger").fetchall()
    except sqlite3.DatabaseError as exc:
        return [f"unreadable: {exc}"]
    found = []
    if not n == count == top == len(audits):
        found.append(f"torn: totals say {n} commits, the ledger holds {count} (max seq {top}), "
                     f"the audit {len(audits)}")
    if total != amount:
        found.append(f"torn: totals say {total}, the ledger sums to {amount}")
    if any(audits.get(seq) != digest(seq, a) for seq, a in rows):
        found.append("torn: an audit digest does not match its ledger row")
    return found


def main(argv: list[str]) -> int:
    path, seconds = Path(argv[0]), float(argv[1])
    pause = float(argv[2]) if len(argv) > 2 else 0.004
    db = connect(path)
    rng = random.Random()
    end = time.monotonic() + seconds
    seq = 0
    while time.monotonic() < end:
        seq = commit_one(db, rng)
        time.sleep(pause)
    print(seq)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
