"""Ways the seed tests watch and provoke agents/seed.mjs from outside, shared by its test files:
strace stopping the seeder after a given call (to change the volume under it), strace tracing its
syncs and renames, and record files of a given size."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import agents
from tests.seed_fixtures import SECRETS, Volume, node

# The calls Node's fs.lstat becomes, whichever the kernel and libuv pick.
LSTAT = "?lstat,?newfstatat,?statx"


@dataclass
class Stop:
    """A seeder stopped by strace: its pid while stopped, its result once it went on."""

    seeder: int
    result: subprocess.CompletedProcess[str] | None = None


@contextmanager
def stopped(vol: Volume, calls: str, path: Path | None, when: int = 1,
            prefix: Sequence[str] = ()) -> Iterator[Stop]:
    """Run the seeder (under `prefix`: as_uid_1000() for the pod's modes), stopped once after the
    `when`-th of its `calls` (on `path`) returned (`-e inject=...:signal=SIGSTOP`); the block runs
    while it is stopped, then it goes on and its result is the Stop's."""
    trace = vol.root / "trace"
    env = {"PATH": os.environ["PATH"], "OPENCLAW_STATE_DIR": str(vol.state), "OPENCLAW_CONFIG_SRC": str(vol.config),
           "OPENCLAW_SEED_SRC": str(vol.seed), **SECRETS}
    command = [*prefix, "strace", "-f", "-qq", "-o", str(trace), *(["-P", str(path)] if path else []),
               "-e", f"trace={calls}", "-e", f"inject={calls}:signal=SIGSTOP:when={when}",
               node(), str(agents.SEED_SCRIPT)]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.monotonic() + 30
        while "stopped by SIGSTOP" not in (trace.read_text() if trace.exists() else ""):
            assert time.monotonic() < deadline and proc.poll() is None, "the seeder never reached the call"
            time.sleep(0.01)
        (seeder,) = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        stop = Stop(int(seeder))
        try:
            yield stop
        finally:
            os.kill(stop.seeder, signal.SIGCONT)
            out, err = proc.communicate(timeout=60)
    # strace's own note when a path is a link: not the seeder's output.
    err = "".join(x for x in err.splitlines(keepends=True) if not x.startswith("strace: "))
    stop.result = subprocess.CompletedProcess(command, proc.returncode, out, err)


def paused(vol: Volume, calls: str, path: Path | None, meanwhile: Callable[[], object], when: int = 1,
           prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """The seeder's result when `meanwhile` ran while it was stopped (see stopped())."""
    with stopped(vol, calls, path, when, prefix) as stop:
        meanwhile()
    assert stop.result is not None
    return stop.result


SYNCS_AND_RENAMES = "fdatasync,fsync,?rename,?renameat,?renameat2"
# A sync made on a libuv thread while another call runs is printed in two lines: "fdatasync(21</p>
# <unfinished ...>", then "<... fdatasync resumed>) = 0"; it counts once it returned.
_FD = re.compile(r"^(\d+) +(fdatasync|fsync)\(\d+<([^>]*)>(\) += 0| <unfinished \.\.\.>)$")
_RESUMED = re.compile(r"^(\d+) +<\.\.\. (fdatasync|fsync) resumed>\) += 0$")
_RENAME = re.compile(r'^\d+ +rename(?:at2?)?\((?:AT_FDCWD, )?"([^"]*)", (?:AT_FDCWD, )?"([^"]*)"')


def syncs_and_renames(vol: Volume) -> list[tuple[str, str, str]]:
    """(call, path, target) of every sync and rename a successful run makes, in order, paths below
    the volume."""
    out = vol.root / "trace"
    vol.prefix = ["strace", "-f", "-qq", "-y", "-o", str(out), "-e", f"trace={SYNCS_AND_RENAMES}"]
    assert vol.run().returncode == 0
    vol.prefix = []
    calls = []
    unfinished: dict[str, str] = {}
    for line in out.read_text().splitlines():
        if match := _FD.match(line):
            if match.group(4).startswith(" <"):
                unfinished[match.group(1)] = match.group(3)
            else:
                calls.append((match.group(2), match.group(3), ""))
        elif match := _RESUMED.match(line):
            calls.append((match.group(2), unfinished.pop(match.group(1)), ""))
        elif match := _RENAME.match(line):
            calls.append(("rename", match.group(1), match.group(2)))
    root = f"{vol.state}/"
    return [(c, p.removeprefix(root) if p != str(vol.state) else ".", t.removeprefix(root)) for c, p, t in calls]


def record_lines(size: int, path: str = "workspaces/agent-{n:06d}/SOUL.md", tail: bytes = b"") -> bytes:
    """Well-formed records (distinct checksums) for `path` (formatted with n), cut to exactly size bytes."""
    lines, total, n = [], 0, 0
    while total < size - len(tail):
        line = f"{hashlib.sha256(str(n).encode()).hexdigest()}  {path.format(n=n)}\n".encode()
        lines.append(line)
        total += len(line)
        n += 1
    body = b"".join(lines)
    cut = body.rindex(b"\n", 0, size - len(tail) - 100) + 1            # whole lines, then pad with one record
    pad = size - len(tail) - cut
    filler = f"{'0' * 64}  workspaces/{'p' * (pad - 64 - 2 - 11 - 9)}/SOUL.md\n".encode()
    assert len(filler) == pad, (len(filler), pad)
    return body[:cut] + filler + tail
