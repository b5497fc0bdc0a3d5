"""Seeding figures (bench/bench.py, `--seed-only`): agents/seed.mjs under the pinned Node 22 on a
volume of synthetic agents laid out as the kubelet mounts them, a first run and a no-op run, on this
machine's disk, a tmpfs and (root only) a fresh ext4."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthetic import MODELS, synthetic_catalog

REPO = Path(__file__).resolve().parent.parent


def _seed_run(node: str, env: dict[str, str]) -> dict[str, Any]:
    """One run of the seeder: wall time, its own CPU time and peak RSS (wait4), its summary line."""
    started = time.perf_counter()
    proc = subprocess.Popen([node, str(REPO / "agents" / "seed.mjs")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)   # the output is one line: no pipe can fill up first
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"seeding failed: {err.strip()[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "max_rss_mib": usage.ru_maxrss / 1024,
            "summary": out.strip()}


def seed_figures(size: int, repeat: int, where: Path) -> dict[str, dict[str, Any]]:
    """Median first run (empty volume) and no-op run (the same inputs again) for `size` agents, the
    volume in a folder under `where`."""
    sys.path.insert(0, str(REPO))
    import agents
    from tests.support.e2e.pod import kubelet_files
    from tools.toolchain import node_binary

    node = str(node_binary())
    results: dict[str, list[dict[str, Any]]] = {"first": [], "noop": []}
    with tempfile.TemporaryDirectory(prefix="seed-bench-", dir=where) as tmp:
        root = Path(tmp)
        synthetic_catalog(root / "catalog.yaml", size)
        catalog = agents.load_catalog(root / "catalog.yaml", provider_models=frozenset(MODELS))
        files = agents.seed_configmap_data(catalog)
        kubelet_files(root / "seed", {f"{a}/{name}": text for a, fs in files.items() for name, text in fs.items()})
        kubelet_files(root / "config", {"openclaw.json": json.dumps({"gateway": {"auth": {
            "token": "${OPENCLAW_GATEWAY_TOKEN}"}}})})
        for i in range(repeat):
            env = {"PATH": os.environ["PATH"], "OPENCLAW_STATE_DIR": str(root / f"state-{i}"),
                   "OPENCLAW_CONFIG_SRC": str(root / "config"), "OPENCLAW_SEED_SRC": str(root / "seed"),
                   "OPENCLAW_AGENT_IDS": " ".join(files), "OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0001",
                   "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-0002"}
            results["first"].append(_seed_run(node, env))
            results["noop"].append(_seed_run(node, env))
    figures = {}
    for kind, runs in results.items():
        figures[kind] = {"wall": statistics.median(r["wall"] for r in runs),
                         "cpu": statistics.median(r["cpu"] for r in runs),
                         "max_rss_mib": max(r["max_rss_mib"] for r in runs), "summary": runs[-1]["summary"],
                         "files": sum(len(f) for f in files.values())}
    return figures


def print_seed_figures(size: int, repeat: int) -> None:
    """The seeding rows (targets: first run 5 s, no-op run 2 s), the no-op/first ratio and the cost
    per file: on this machine's disk, on a tmpfs (the seeder's own cost without a disk) and on a
    freshly made ext4 (root only)."""
    load = os.getloadavg()[0]
    print(f"\nseeding: agents/seed.mjs under node {_node_version()}, {size} agents, median of {repeat}; "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'what':<34} {'wall s':>7} {'target':>7} {'cpu s':>6} {'peak MiB':>9}  notes")
    places = [(Path.home() / ".cache", _fs_type(Path.home() / ".cache"))]
    places += [(Path("/dev/shm"), "tmpfs")] if Path("/dev/shm").is_dir() else []
    with _fresh_ext4() as fresh:
        places += [(fresh, "fresh ext4")] if fresh else []
        for where, fs_type in places:
            _print_seed_place(size, repeat, where, fs_type)


def _print_seed_place(size: int, repeat: int, where: Path, fs_type: str) -> None:
    figures = seed_figures(size, repeat, where)
    first, noop = figures["first"], figures["noop"]
    for label, fig, target in (("first run", first, 5.0), ("no-op run", noop, 2.0)):
        verdict = "ok" if fig["wall"] <= target else "OVER TARGET"
        print(f"{f'seed {label} ({fs_type})':<34} {fig['wall']:>7.2f} {target:>7.1f} {fig['cpu']:>6.2f} "
              f"{fig['max_rss_mib']:>9.0f}  {fig['files']} files, {fig['wall'] / fig['files'] * 1000:.3f} ms/file;"
              f" {fig['summary'].removeprefix('seed: ')} ({verdict})")
    print(f"{f'  no-op / first ({fs_type})':<34} {noop['wall'] / first['wall']:>7.2f}")


@contextlib.contextmanager
def _fresh_ext4() -> Iterator[Path | None]:
    """A new 1 GiB ext4 image mounted by loop (root only): a node's disk without the inode-allocator
    cost that other processes' recent mass deletions leave on this machine's shared disk."""
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="seed-ext4-", dir=Path.home() / ".cache") as tmp:
        image, mnt = Path(tmp) / "ext4.img", Path(tmp) / "mnt"
        mnt.mkdir()
        with image.open("wb") as f:
            f.truncate(1 << 30)
        made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, check=False)
        mounted = made.returncode == 0 and subprocess.run(["mount", "-o", "loop", str(image), str(mnt)],
                                                          capture_output=True, check=False).returncode == 0
        try:
            yield mnt if mounted else None
        finally:
            if mounted:
                subprocess.run(["umount", str(mnt)], check=False)


def _node_version() -> str:
    sys.path.insert(0, str(REPO))
    from tools.toolchain import NODE_VERSION
    return NODE_VERSION


def _fs_type(path: Path) -> str:
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        if str(path).startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind
