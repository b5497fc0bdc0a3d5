"""Restore a restic snapshot of the state volume into an EMPTY directory, then verify it.

    python -m tools.restore --target DIR [--snapshot latest|ID] [--host openclaw-data] [--release TAG]
    python -m tools.restore --print-job --stack prod [--claim NEW_CLAIM] [--snapshot ID]  # in-cluster Job

The repository comes from restic's own environment: RESTIC_REPOSITORY, RESTIC_PASSWORD (or
RESTIC_PASSWORD_FILE) and, for S3, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (docs/backup-runbook.md
shows how to read them from Vault without echoing them).

It never writes over data: a target that holds anything but an empty `lost+found` is refused,
naming it. Then: `restic check` (repository structure), `restic restore --verify` (every restored
file's content is read back and compared with the snapshot's SHA-256 blob hashes), and a comparison
of the restored tree with `restic ls --json` of the snapshot: every entry present with its type,
size, permission bits and modification time, and no entry more. Then the SQLite databases: the
snapshot step copied each one consistently (its manifest, `.openclaw-snapshot.json`, lists them),
so each must be at its original path with no -wal/-shm/-journal beside it and pass PRAGMA
integrity_check; the release that wrote the volume then opens them as they are.

`--release TAG` (the image tag the gateway will run on the restored volume; `--stack` takes the
stack's): a snapshot taken by a newer release (its restic tag `release:<version>`) is
refused before anything is written: an older release cannot open state that a newer one migrated.
Exit 0: restored and verified; 1: a failure (one line naming it; a partial restore is removed);
2: usage, a refused target or a refused snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from components.backup_pod import MANIFEST
from components.releases import version_key
from tools.restic_cli import RestoreError, check_reachable, json_lines, restic

ALLOWED_IN_EMPTY = {"lost+found"}  # a freshly formatted ext4 volume has it
ROLLBACK = "docs/upgrade-runbook.md#roll-back"
SIDECARS = ("-wal", "-shm", "-journal")
_TYPES = {"file": stat.S_ISREG, "dir": stat.S_ISDIR, "symlink": stat.S_ISLNK}


class TargetRefusedError(RestoreError):
    """The target holds data (or is not a directory), or the snapshot is refused: nothing was written."""


def snapshot_release(snapshot: dict[str, Any]) -> str | None:
    """The release a snapshot was taken from: its restic tag `release:<version>` (backup.sh)."""
    found = [t.removeprefix("release:") for t in snapshot.get("tags") or [] if t.startswith("release:")]
    return found[0] if found else None


def check_release(snapshot: dict[str, Any], target_release: str) -> None:
    """Refuse a snapshot taken by a newer release than the one that will run on the restored volume."""
    taken = snapshot_release(snapshot)
    if taken is None:
        return  # taken before snapshots carried their release: nothing to compare
    try:
        newer = version_key(taken) > version_key(target_release)
    except ValueError as exc:
        raise TargetRefusedError(f"cannot compare releases: {exc}") from None
    if newer:
        raise TargetRefusedError(
            f"refusing snapshot {snapshot['short_id']}: it was taken from OpenClaw {taken}, newer than the target "
            f"release {target_release}, which cannot open state a newer release migrated. Restore a snapshot "
            f"taken by {target_release} (restic snapshots --tag release:{target_release}; the one taken before "
            f"the upgrade has the tag openclaw-pre-upgrade), or see {ROLLBACK}")


def check_databases(target: Path) -> tuple[int, str]:
    """Every database the snapshot step copied is whole where the release looks for it; the count,
    and a note for the summary."""
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0, f"; no {MANIFEST}: taken before consistent snapshots, its SQLite files may be torn copies"
    problems: list[str] = []
    plain: list[str] = []
    intact = 0
    for entry in manifest.get("databases", []):
        rel = str(entry.get("path", ""))
        path = target / rel
        if entry.get("method") == "raw":
            plain.append(rel)
            continue
        left = [s for s in SIDECARS if os.path.lexists(f"{path}{s}")]
        if left:
            problems.append(f"{rel!r} has {', '.join(left)} beside it")
        try:
            # immutable: read the file alone and create nothing beside it.
            db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
            try:
                found = [row[0] for row in db.execute("pragma integrity_check")]
            finally:
                db.close()
        except sqlite3.Error as exc:
            found = [str(exc)]
        if found == ["ok"]:
            intact += 1
        else:
            problems.append(f"{rel!r}: integrity_check: {'; '.join(found[:2])}")
    if problems:
        raise RestoreError(f"databases in {target} are not whole ({len(problems)}): " + "; ".join(problems[:3])
                           + ": do not use this copy")
    note = f", {intact} SQLite database(s) intact (release {manifest.get('release', '?')})"
    if plain:
        note += f"; stored as plain copies, not checked: {', '.join(plain[:3])}"
    return intact, note


def check_empty_target(target: Path) -> None:
    if not target.exists():
        if not target.parent.is_dir():
            raise TargetRefusedError(f"refusing {target}: its parent {target.parent} does not exist")
        target.mkdir(mode=0o755)
        return
    if target.is_symlink() or not target.is_dir():
        raise TargetRefusedError(f"refusing {target}: it is not a directory")
    entries = sorted(os.listdir(target))
    held = [e for e in entries if not (e in ALLOWED_IN_EMPTY and not os.listdir(target / e))]
    if held:
        shown = ", ".join(repr(e) for e in held[:3]) + (", ..." if len(held) > 3 else "")
        raise TargetRefusedError(f"refusing {target}: it is not empty ({len(held)} entries: {shown}); restore "
                            "only into an empty directory or a new volume, never over data")


def _mtime_ns(text: str) -> int:
    """restic's RFC 3339 time with nanoseconds, to integer nanoseconds (datetime keeps only µs)."""
    main, _, frac_zone = text.partition(".")
    digits = "".join(ch for ch in frac_zone if ch.isdigit())
    zone = frac_zone[len(digits):] or "Z"
    seconds = datetime.fromisoformat(main + ("+00:00" if zone == "Z" else zone)).timestamp()
    return int(seconds) * 10**9 + int((digits or "0").ljust(9, "0")[:9])


@dataclass(frozen=True)
class Verified:
    files: int
    dirs: int
    links: int
    bytes: int


def compare_with_listing(target: Path, nodes: Sequence[dict[str, Any]]) -> Verified:
    """Every node of the snapshot listing is in `target` as listed; nothing else is there."""
    problems: list[str] = []
    counts = {"file": 0, "dir": 0, "symlink": 0}
    size = 0
    listed = set()
    for node in nodes:
        rel = node["path"].lstrip("/")
        listed.add(rel)
        path = target / rel
        try:
            st = path.lstat()
        except OSError:
            problems.append(f"missing {rel!r}")
            continue
        kind = node["type"]
        check = _TYPES.get(kind)
        if check is None or not check(st.st_mode):
            problems.append(f"{rel!r} is not a {kind}")
            continue
        counts[kind] += 1
        if kind == "file":
            size += st.st_size
            if st.st_size != node.get("size", 0):
                problems.append(f"{rel!r} has {st.st_size} bytes, the snapshot {node.get('size', 0)}")
        if kind != "symlink" and stat.S_IMODE(st.st_mode) & 0o777 != node["mode"] & 0o777:
            problems.append(f"{rel!r} has mode {stat.S_IMODE(st.st_mode):o}, the snapshot {node['mode'] & 0o777:o}")
        if kind == "file" and st.st_mtime_ns != _mtime_ns(node["mtime"]):
            problems.append(f"{rel!r} has another modification time than in the snapshot")
    for root, dirs, files in os.walk(target):
        for name in [*dirs, *files]:
            rel = os.path.relpath(os.path.join(root, name), target)
            if rel not in listed and rel.split(os.sep)[0] not in ALLOWED_IN_EMPTY:
                problems.append(f"{rel!r} is not in the snapshot")
    if problems:
        raise RestoreError(f"verification of {target} failed ({len(problems)} problem(s)): "
                           + "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
                           + ": do not use this copy")
    return Verified(counts["file"], counts["dir"], counts["symlink"], size)


def _clear(target: Path) -> str:
    """Remove what a failed restore wrote (the target was empty before: nothing else is lost);
    what to tell the operator about it."""
    try:
        for root, dirs, _ in os.walk(target):
            for name in dirs:  # restored read-only folders would refuse the removal of their entries
                full = os.path.join(root, name)
                if not os.path.islink(full):
                    os.chmod(full, 0o700)
        for entry in os.listdir(target):
            if entry in ALLOWED_IN_EMPTY:
                continue
            path = target / entry
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    except OSError as exc:
        return f"the partial restore in {target} could not be removed ({exc.strerror}): empty it before retrying"
    return f"the partial restore in {target} was removed"


def restore(target: Path, snapshot: str, host: str | None, target_release: str | None = None) -> str:
    """Restore and verify; the one-line summary."""
    repository = os.environ.get("RESTIC_REPOSITORY", "")
    if not repository:
        raise TargetRefusedError("RESTIC_REPOSITORY is not set: export the repository location (see the runbook)")
    if not os.environ.get("RESTIC_PASSWORD") and not os.environ.get("RESTIC_PASSWORD_FILE"):
        raise TargetRefusedError("RESTIC_PASSWORD (or RESTIC_PASSWORD_FILE) is not set")
    check_empty_target(target)
    check_reachable(repository)
    restic(["check"], what="restic check (repository structure)")
    selector = ["--host", host] if host else []
    found = json.loads(restic(["snapshots", "--json", *selector, snapshot],
                              what=f"finding snapshot {snapshot}") or "[]")
    if not found:
        raise RestoreError(f"no snapshot {snapshot!r}{' of host ' + host if host else ''} in the repository")
    snap = found[-1]
    if target_release is not None:
        check_release(snap, target_release)
    listing = [n for n in json_lines(restic(["ls", "--json", snap["id"]], what="restic ls"))
               if n.get("struct_type") == "node"]
    try:
        restic(["restore", snap["id"], "--target", str(target), "--verify"], what="restic restore --verify")
    except RestoreError as exc:
        raise RestoreError(f"{exc} ({_clear(target)})") from None
    verified = compare_with_listing(target, listing)
    _, databases = check_databases(target)
    return (f"restore: snapshot {snap['short_id']} of {snap['time'][:19]}Z restored into {target} and verified: "
            f"{verified.files} files, {verified.dirs} directories, {verified.links} symlinks, {verified.bytes} bytes"
            f"{databases}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.restore", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, help="an empty directory (or a new volume's mount point)")
    parser.add_argument("--snapshot", default="latest", help="snapshot ID, or latest (default)")
    # The CronJob's restic --host: `latest` means the latest snapshot of the state volume.
    parser.add_argument("--host", default="openclaw-data", help="only snapshots of this restic host (default: "
                                                               "the CronJob's, openclaw-data; '' for any)")
    parser.add_argument("--release", default=None, help="the image tag the gateway will run on the restored "
                                                        "volume: a snapshot of a newer release is refused")
    parser.add_argument("--print-job", action="store_true", help="print the in-cluster restore PVC and Job")
    parser.add_argument("--claim", default="openclaw-data-restore", help="--print-job: the new claim's name")
    parser.add_argument("--stack", default=None, help="--print-job: take namespace, size, class, image and Secret "
                                                      "from Pulumi.<stack>.yaml; both: the target release "
                                                      "(openclaw:image.tag) unless --release names one")
    parser.add_argument("--namespace", default="openclaw")
    parser.add_argument("--size", default="500Mi", help="--print-job: the new claim's size (without --stack)")
    parser.add_argument("--storage-class", default="local-path-retain")
    args = parser.parse_args(argv)
    if args.print_job:
        from components.config import ConfigError
        from engine.harness import HarnessError
        from tools.restore_job import restore_manifests
        try:
            sys.stdout.write(restore_manifests(args.claim, args.snapshot, args.stack, args.namespace, args.size,
                                               args.storage_class, args.release))
        except (ConfigError, HarnessError, OSError) as exc:
            print(f"restore: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.target is None:
        parser.error("--target is required (or --print-job)")
    release = args.release
    if release is None and args.stack is not None:  # the stack's image tag is the release that will run
        from components.config import ConfigError
        from engine.harness import HarnessError
        from tools.restore_job import stack_backup_config
        try:
            release = stack_backup_config(args.stack).image.tag
        except (ConfigError, HarnessError, OSError) as exc:
            print(f"restore: {exc}", file=sys.stderr)
            return 2
    try:
        print(restore(args.target.absolute(), args.snapshot, args.host, release))
    except TargetRefusedError as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return 2
    except RestoreError as exc:
        print(f"restore: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
