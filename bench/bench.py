"""Benchmarks of the offline path: figures, not pass/fail tests.

    .venv/bin/python bench/bench.py [--repeat 3] [--sizes 100 500 1000]
    .venv/bin/python bench/bench.py --ci-render-only --repeat 5   # only the CI render's ratio

Each figure is measured in a fresh Python process (wall time, peak RSS) and printed with its
ratio to the bare cost of importing the SDK modules the program uses (pulumi,
pulumi_kubernetes, pulumi_vault, pydantic), so it reads the same on a faster machine:
- render of the dev stack (mock runtime, all files written, schema check);
- render with N synthetic agents (OPENCLAW_AGENT_CATALOG), checking every seed ConfigMap, the
  config ConfigMap and the Deployment (its projected volume lists every agent's files) stay
  under the 1 MiB object limit;
- the policy pack's analysis of the dev stack (server start, Configure, Analyze, AnalyzeStack);
- seeding (agents/seed.mjs under the pinned Node 22) of N synthetic agents x 6 files, laid out as
  the kubelet mounts them, on this machine's disk: a first run and a no-op run (`--seed-only`).
- backup and restore with the real restic of a 1,000-agent state volume (`bench_backup`;
  `--backup-only` runs just that).
- the offline render exactly as CI runs it twice per pull request (`python -m tools.render
  --stack dev --diff BASE`: program, files, schema, diff, policy verdict), against the bare import of the SDK
  modules the program actually uses (pulumi_kubernetes.core.v1, apps.v1, ...: the top-level
  `pulumi_kubernetes` import is lazy and loads none of them). Target: at most 1.5x.
"""

from __future__ import annotations

import argparse
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

import yaml

REPO = Path(__file__).resolve().parent.parent
OBJECT_LIMIT = 1024 * 1024
MODELS = ["deepseek/deepseek-v4-flash", "deepseek/deepseek-v4-pro"]
# The SDK modules the program imports when it runs (components/*, engine/analyzer.py).
USED_SDK_MODULES = ["pulumi", "pulumi.runtime.proto.analyzer_pb2_grpc", "pulumi_kubernetes.core.v1",
                    "pulumi_kubernetes.apps.v1", "pulumi_kubernetes.meta.v1", "pulumi_kubernetes.networking.v1",
                    "pulumi_kubernetes.rbac.v1", "pulumi_vault", "pulumi_vault.kubernetes", "pydantic"]


def synthetic_catalog(path: Path, size: int) -> None:
    """`size` agents: main plus helpers that each hand off to two neighbours."""
    agents = [{"id": "main", "name": "Main", "role": "Routes work.", "handoffs": ["agent-0001"]}]
    for i in range(1, size):
        neighbours = [f"agent-{(i % (size - 1)) + 1:04d}", "main"]
        agents.append({"id": f"agent-{i:04d}", "name": f"Agent {i}", "role": f"Synthetic role number {i}. " * 4,
                       "handoffs": [n for n in neighbours if n != f"agent-{i:04d}"],
                       **({"model": MODELS[1]} if i % 7 == 0 else {})})
    path.write_text(yaml.safe_dump({"company": {"name": "Bench", "summary": "Synthetic."}, "agents": agents}),
                    encoding="utf-8")


# --- seeding: agents/seed.mjs on a volume of synthetic agents --------------------------------------

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


# --- what runs in the measured child process ----------------------------------------------------

def child(mode: str, out: str) -> dict[str, Any]:
    import resource

    started = time.perf_counter()
    result: dict[str, Any] = {}
    if mode == "import":
        import pulumi  # noqa: F401
        import pulumi_kubernetes  # noqa: F401
        import pulumi_vault  # noqa: F401
        import pydantic  # noqa: F401
    elif mode == "import-used":
        for module in USED_SDK_MODULES:
            __import__(module)
    else:
        sys.path.insert(0, str(REPO))
        from engine.harness import run_stack
        from engine.schema import validate_manifests
        from tools.render import kubernetes_manifest, write_render

        run = run_stack("dev")
        if mode == "render":
            written = write_render(run, Path(out))
            report = validate_manifests(kubernetes_manifest(r) for r in run.kubernetes())
            kube = Path(out) / "kubernetes"
            seeds = [p for p in kube.glob("openclaw.configmap.openclaw-seed-*.yaml") if "seed-script" not in p.name]
            (config,) = kube.glob("openclaw.configmap.openclaw-config-*.yaml")
            result = {"objects": len(written), "schema_errors": len(report.errors), "agents": len(seeds),
                      "largest_seed": max(p.stat().st_size for p in seeds), "config": config.stat().st_size,
                      "deployment": (kube / "openclaw.deployment.openclaw.yaml").stat().st_size}
        elif mode == "policy":
            from engine.analyzer import PolicyAnalyzer, load_policy_config

            started = time.perf_counter()  # the analysis only, not the render it analyses
            with PolicyAnalyzer() as analyzer:
                result = {"diagnostics": len(analyzer.analyze(run.resources, load_policy_config("dev")))}
    result["seconds"] = time.perf_counter() - started
    result["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measure(mode: str, repeat: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Median wall time of `repeat` fresh processes, and the last one's report."""
    walls, report = [], {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--child", mode, "--out", out], capture_output=True,
                                  text=True, env={**os.environ, **(env or {})}, cwd=REPO, check=False)
            walls.append(time.perf_counter() - started)
            if proc.returncode != 0:
                raise SystemExit(f"{mode} failed:\n{proc.stderr[-2000:]}")
            report = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**report, "wall": statistics.median(walls)}


def measure_cli(repeat: int, base: str) -> dict[str, Any]:
    """The CI render as CI runs it, `python -m tools.render --stack dev --out DIR --diff BASE` in a
    fresh process: median wall time of `repeat` runs, peak RSS of its main process, exit code."""
    walls, rss, code = [], 0.0, 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "tools.render", "--stack", "dev", "--out", out,
                                     "--diff", base], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - started)
            proc.returncode = code = os.waitstatus_to_exitcode(status)
            error = proc.communicate()[1]
            if code not in (0, 1):
                raise SystemExit(f"the CI render failed:\n{error.decode()[-2000:]}")
            rss = max(rss, usage.ru_maxrss / 1024)
    return {"wall": statistics.median(walls), "walls": walls, "max_rss_mib": rss, "exit": code}


def print_ci_render(repeat: int) -> None:
    """The CI render's row: its wall time against the bare import of the SDK modules it uses, the
    two measured in turns (a load that comes and goes weighs on both alike)."""
    imports, renders = [], []
    with tempfile.TemporaryDirectory() as base:  # the base branch's render, as the CI job has it
        subprocess.run([sys.executable, "-m", "tools.render", "--stack", "dev", "--out", base, "--no-policy"],
                       cwd=REPO, capture_output=True, check=True)
        for _ in range(repeat):
            imports.append(measure("import-used", 1))
            renders.append(measure_cli(1, base))
    used = {"wall": statistics.median(i["wall"] for i in imports), "max_rss_mib": imports[-1]["max_rss_mib"]}
    cli = {"wall": statistics.median(r["wall"] for r in renders), "exit": renders[-1]["exit"],
           "max_rss_mib": max(r["max_rss_mib"] for r in renders)}
    print(f"\nbaseline: import of the SDK modules the program uses: {used['wall']:.2f} s wall, "
          f"{used['max_rss_mib']:.0f} MiB peak (median of {repeat}; load average {os.getloadavg()[0]:.1f})")
    print(f"offline render as CI runs it (dev, --diff BASE, policy included): {cli['wall']:.2f} s wall, "
          f"{cli['wall'] / used['wall']:.2f}x that import (target <= 1.5x), {cli['max_rss_mib']:.0f} MiB peak "
          f"(main process), exit {cli['exit']}")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 500, 1000])
    parser.add_argument("--child", choices=["import", "import-used", "render", "policy"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    parser.add_argument("--seed-only", action="store_true", help="only the seeding figures")
    parser.add_argument("--seed-agents", type=int, default=1000)
    parser.add_argument("--backup-only", action="store_true", help="only the backup and restore figures")
    parser.add_argument("--ci-render-only", action="store_true",
                        help="only the CI render against the import of the SDK modules it uses")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.out)))
        return
    if args.ci_render_only:
        print_ci_render(args.repeat)
        return
    if args.seed_only or args.backup_only:
        if args.seed_only:
            print_seed_figures(args.seed_agents, args.repeat)
        if args.backup_only:
            bench_backup()
        return

    base = measure("import", args.repeat)
    print(f"baseline: import pulumi, pulumi_kubernetes, pulumi_vault, pydantic: {base['wall']:.2f} s wall, "
          f"{base['max_rss_mib']:.0f} MiB peak\n")
    print(f"{'what':<34} {'wall s':>7} {'x import':>9} {'peak MiB':>9}  notes")

    def row(label: str, figures: dict[str, Any], notes: str) -> None:
        print(f"{label:<34} {figures['wall']:>7.2f} {figures['wall'] / base['wall']:>9.1f} "
              f"{figures['max_rss_mib']:>9.0f}  {notes}")

    dev = measure("render", args.repeat)
    row("render dev (29 agents)", dev, f"{dev['objects']} objects, {dev['schema_errors']} schema errors")
    worst = 0
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            catalog = Path(tmp) / f"catalog-{size}.yaml"
            synthetic_catalog(catalog, size)
            figures = measure("render", args.repeat, {"OPENCLAW_AGENT_CATALOG": str(catalog)})
            if figures["agents"] != size:
                raise SystemExit(f"the synthetic catalog was not used ({figures['agents']} agents rendered)")
            sizes = {k: figures[k] for k in ("largest_seed", "config", "deployment")}
            worst = max(worst, *sizes.values())
            status = "all under 1 MiB" if max(sizes.values()) < OBJECT_LIMIT else "OVER 1 MiB"
            row(f"render {size} synthetic agents", figures,
                f"{figures['objects']} objects; KiB: largest seed ConfigMap {sizes['largest_seed'] / 1024:.1f}, "
                f"openclaw.json ConfigMap {sizes['config'] / 1024:.0f}, Deployment {sizes['deployment'] / 1024:.0f}"
                f" ({status})")
    policy = measure("policy", args.repeat)
    row("policy pack on dev (one shape)", {**policy, "wall": policy["seconds"]},
        f"{policy['diagnostics']} advisory diagnostics; analysis only (server start included)")
    print_seed_figures(args.seed_agents, args.repeat)
    print_ci_render(args.repeat)
    if worst >= OBJECT_LIMIT:
        raise SystemExit("an object exceeds the 1 MiB object limit")
    bench_backup()
    print()
    import probe_cost  # bench/probe_cost.py: what a probe and the preflight cost in the pod
    print("\n".join(probe_cost.report(args.repeat)))


if __name__ == "__main__":
    main()
