"""Every kind of system call the seeder makes on the volume, failed for real: strace injects the
error into the call the kernel receives (`-e inject=...`, only on the given path with `-P`), the way
a failing disk, a quota or a read-only remount fails it. Each ends in exit 1 and one line naming
the path the seeder was working on (never its temp file) with the problem and its fix; the next
clean run then leaves what one uninterrupted run leaves."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.seed_fixtures import CONFIG, Volume, error_line, make_volume, normalised
from tests.seed_probes import LSTAT

SEED_V2 = {"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n"},
           "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v1\n"},
           "new": {"SOUL.md": "new soul\n"}}
RENAME = "?rename,?renameat,?renameat2"


@pytest.fixture
def due(tmp_path: Path) -> Volume:
    """A seeded volume with an update due: a new config, new seeds, a new agent, a retired one."""
    vol = make_volume(tmp_path)
    assert vol.run().returncode == 0
    (vol.state / "workspaces" / "old").mkdir()
    vol.write_seed(SEED_V2)
    vol.write_config({**CONFIG, "gateway": {"port": 2}})
    return vol


def _failing(vol: Volume, calls: str, errno: str, path: Path | None = None, when: int = 1) -> str:
    """The error line of a run whose `when`-th call of `calls` (on `path`) fails with errno."""
    reference = vol.root / "reference"
    shutil.copytree(vol.state, reference, symlinks=True)
    assert vol.run(state=reference).returncode == 0
    vol.prefix = ["strace", "-f", "-qq", "-o", "/dev/null", *(["-P", str(path)] if path else []),
                  "-e", f"trace={calls}", "-e", f"inject={calls}:error={errno}:when={when}"]
    done = vol.run()
    # strace's own note when the path is a link (the kubelet's seed layout): not the seeder's output.
    done.stderr = "".join(x for x in done.stderr.splitlines(keepends=True) if not x.startswith("strace: "))
    line = error_line(done)
    vol.prefix = []
    assert vol.run().returncode == 0           # the fault gone, the next run finishes the job
    assert normalised(vol.state) == normalised(reference)
    return line


RETRY = "check the volume; the next run picks up where this one stopped"
FIXES = {
    "ENOSPC": ("no space left on the volume", "free space on the PVC or grow it, then restart the pod: no file was "
               "half-written and the next run finishes the job"),
    "EDQUOT": ("disk quota exceeded", "raise the quota or free space on the PVC, then restart the pod"),
    "EACCES": ("permission denied", "the volume must be writable by uid 1000 (fsGroup 1000): chown -R 1000:1000 it "
               "or restore the mode of this path"),
    "EPERM": ("operation not permitted", "the volume must be writable by uid 1000: check its ownership and "
              "attributes"),
    "EROFS": ("read-only filesystem", "mount the state volume read-write"),
    "EIO": ("I/O error", "check the node's disk"),
    "EBUSY": ("unexpected error EBUSY", RETRY),
    "ENAMETOOLONG": ("unexpected error ENAMETOOLONG", RETRY),
}


@pytest.mark.parametrize("errno", sorted(FIXES))
def test_each_error_of_a_rename_into_place_is_named_with_its_fix(due: Volume, errno: str) -> None:
    # The first rename puts the new openclaw.json in place (permissions are fine: no folder is at fault).
    problem, fix = FIXES[errno]
    assert _failing(due, RENAME, errno) == f"{due.state}/openclaw.json: {problem} (rename); {fix}"


# Where a call fails -> (calls, the path strace narrows it to, the path and call the line names, and
# which of the calls fails: the n-th rename is the n-th one the run makes, 1 openclaw.json, 2 the
# record file with the pending checksums, 3 the first seed file).
Site = tuple[str, Callable[[Volume], Path | None], Callable[[Volume], Path], str, int]
SITES: dict[str, Site] = {
    "the root's stat": (LSTAT, lambda v: v.state, lambda v: v.state, "stat", 1),
    "the record file's open": ("openat", lambda v: v.state / ".seed-state", lambda v: v.state / ".seed-state",
                               "open", 1),
    "the record file's read": ("read", lambda v: v.state / ".seed-state", lambda v: v.state / ".seed-state",
                               "read", 1),
    "a seed file's open": ("openat", lambda v: v.seed / "sre" / "SOUL.md", lambda v: v.seed / "sre" / "SOUL.md",
                           "open", 1),
    "a workspace file's lstat": (LSTAT, lambda v: v.state / "workspaces" / "sre" / "SOUL.md",
                                 lambda v: v.state / "workspaces" / "sre" / "SOUL.md", "lstat", 1),
    "a workspace file's read": ("read", lambda v: v.state / "workspaces" / "sre" / "SOUL.md",
                                lambda v: v.state / "workspaces" / "sre" / "SOUL.md", "read", 1),
    "the scratch folder's mkdir": ("?mkdir,?mkdirat", lambda v: v.state / ".seed-tmp",
                                   lambda v: v.state / ".seed-tmp", "mkdir", 1),
    "a new workspace's mkdir": ("?mkdir,?mkdirat", lambda v: v.state / "workspaces" / "new",
                                lambda v: v.state / "workspaces" / "new", "mkdir", 1),
    "the first fdatasync": ("fdatasync", lambda v: None, lambda v: v.state / "openclaw.json", "fdatasync", 1),
    "the pending checksums' rename into place": (RENAME, lambda v: None, lambda v: v.state / ".seed-state",
                                                 "rename", 2),
    "a seed file's rename into place": (RENAME, lambda v: None, lambda v: v.state / "workspace" / "AGENTS.md",
                                        "rename", 3),
    "the workspaces' listing": ("getdents64", lambda v: v.state / "workspaces", lambda v: v.state / "workspaces",
                                "scandir", 1),
    "a retired workspace's move": (RENAME, lambda v: v.state / "workspaces" / "old",
                                   lambda v: v.state / "workspaces" / "old", "rename", 1),
    "the root's fsync": ("fsync", lambda v: None, lambda v: v.state, "fsync", 1),
    "the scratch folder's removal": ("?rmdir,?unlinkat", lambda v: v.state / ".seed-tmp",
                                     lambda v: v.state / ".seed-tmp", "rmdir", 1),
}


@pytest.mark.parametrize("site", sorted(SITES))
def test_an_io_error_anywhere_names_the_path_at_work(due: Volume, site: str) -> None:
    calls, narrow, named, syscall, when = SITES[site]
    line = _failing(due, calls, "EIO", narrow(due), when)
    assert line == f"{named(due)}: I/O error ({syscall}); check the node's disk"


def test_a_killed_runs_temp_file_that_cannot_be_removed_is_named(due: Volume) -> None:
    (due.state / ".seed-tmp").mkdir()
    (due.state / ".seed-tmp" / "0123abcd").write_text("half a seed file")
    leftover = due.state / ".seed-tmp" / "0123abcd"
    line = _failing(due, "?unlink,?unlinkat", "EIO", leftover)
    assert line == f"{leftover}: I/O error (unlink); check the node's disk"
