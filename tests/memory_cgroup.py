"""Run a command in a memory cgroup of its own, limited as a container's `limits.memory` limits it.

The kubelet puts each container in a cgroup whose memory limit is the container's `limits.memory`
(cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`); the kernel's OOM killer ends the container
when its charge cannot be reclaimed below that. Here the same kernel mechanism limits the same
process (`node seed.mjs`, exec'ed by the shell that joined the cgroup), so an OOM kill here is
one in the pod, and Node sizes its heap from the same limit it sees there. Needs root (as the CI
job runs the tests): creating a cgroup is a privileged operation.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class LimitedRun:
    result: subprocess.CompletedProcess[str]
    peak_bytes: int      # the cgroup's peak charge (anonymous memory and page cache)
    oom_kills: int       # processes the OOM killer ended in the cgroup


def _v1_memory_parent() -> Path | None:
    """The memory controller's folder of this process on a cgroup v1 host, or None."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return CGROUP_ROOT / "memory" / path.lstrip("/")
    return None


def _create(limit: int) -> tuple[Path, str]:
    if os.geteuid() != 0:
        raise RuntimeError("a memory cgroup can only be created as root: run the tests as root, as CI does")
    name = f"openclaw-seed-test-{secrets.token_hex(4)}"
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.is_file() and "memory" in controllers.read_text().split():   # cgroup v2
        group = CGROUP_ROOT / name
        group.mkdir()
        (group / "memory.max").write_text(str(limit))
        (group / "memory.swap.max").write_text("0")
        return group, "v2"
    parent = _v1_memory_parent()
    if parent is None or not parent.is_dir():
        raise RuntimeError("no cgroup memory controller on this host (neither v2 nor v1)")
    group = parent / name
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(limit))
    memsw = group / "memory.memsw.limit_in_bytes"
    if memsw.exists():
        memsw.write_text(str(limit))
    return group, "v1"


def run_limited(command: list[str], *, limit: int, env: dict[str, str], timeout: float = 120) -> LimitedRun:
    """Run command in a fresh memory cgroup limited to `limit` bytes (no swap), then remove it."""
    group, version = _create(limit)
    try:
        result = subprocess.run(["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *command],
                                env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if version == "v2":
            peak = int((group / "memory.peak").read_text())
            events = dict(line.split() for line in (group / "memory.events").read_text().splitlines())
            kills = int(events.get("oom_kill", "0"))
        else:
            peak = int((group / "memory.max_usage_in_bytes").read_text())
            control = dict(line.split() for line in (group / "memory.oom_control").read_text().splitlines())
            kills = int(control["oom_kill"])
        return LimitedRun(result, peak, kills)
    finally:
        group.rmdir()
