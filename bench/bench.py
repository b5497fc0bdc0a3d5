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
  the kubelet mounts them, on this machine's disk: a first run and a no-op run (`--seed-only`;
  bench/seed_cost.py).
- backup and restore with the real restic of a 1,000-agent state volume (bench/backup_cost.py;
  `--backup-only` runs just that).
- the offline render exactly as CI runs it twice per pull request (`python -m tools.render
  --stack dev --diff BASE`: program, files, schema, diff, policy verdict), against the bare import of the SDK
  modules the program actually uses (pulumi_kubernetes.core.v1, apps.v1, ...: the top-level
  `pulumi_kubernetes` import is lazy and loads none of them). Target: at most 1.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from backup_cost import bench_backup
from seed_cost import print_seed_figures
from synthetic import synthetic_catalog

REPO = Path(__file__).resolve().parent.parent
OBJECT_LIMIT = 1024 * 1024
# The SDK modules the program imports when it runs (components/*, engine/analyzer.py).
USED_SDK_MODULES = ["pulumi", "pulumi.runtime.proto.analyzer_pb2_grpc", "pulumi_kubernetes.core.v1",
                    "pulumi_kubernetes.apps.v1", "pulumi_kubernetes.meta.v1", "pulumi_kubernetes.networking.v1",
                    "pulumi_kubernetes.rbac.v1", "pulumi_vault", "pulumi_vault.kubernetes", "pydantic"]


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
