"""Benchmarks of the offline path: figures, not pass/fail tests.

    .venv/bin/python bench/bench.py [--repeat 3] [--sizes 100 500 1000]

Each figure is measured in a fresh Python process (wall time, peak RSS) and printed with its
ratio to the bare cost of importing the SDK modules the program uses (pulumi,
pulumi_kubernetes, pulumi_vault, pydantic), so it reads the same on a faster machine:
- render of the dev stack (mock runtime, all files written, schema check);
- render with N synthetic agents (OPENCLAW_AGENT_CATALOG), checking every seed ConfigMap, the
  config ConfigMap and the Deployment (its projected volume lists every agent's files) stay
  under the 1 MiB object limit;
- the policy pack's analysis of the dev stack (server start, Configure, Analyze, AnalyzeStack).
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

import yaml

REPO = Path(__file__).resolve().parent.parent
OBJECT_LIMIT = 1024 * 1024
MODELS = ["deepseek/deepseek-chat", "deepseek/deepseek-reasoner"]


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
    else:
        sys.path.insert(0, str(REPO))
        from tools.harness import run_stack
        from tools.render import kubernetes_manifest, write_render
        from tools.schema import validate_manifests

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
            from tools.analyzer import PolicyAnalyzer, load_policy_config

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 500, 1000])
    parser.add_argument("--child", choices=["import", "render", "policy"], help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.out)))
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
    row("policy pack on dev (17 policies)", {**policy, "wall": policy["seconds"]},
        f"{policy['diagnostics']} advisory diagnostics; analysis only (server start included)")
    if worst >= OBJECT_LIMIT:
        raise SystemExit("an object exceeds the 1 MiB object limit")
    print()
    import probe_cost  # bench/probe_cost.py: what a probe and the preflight cost in the pod
    print("\n".join(probe_cost.report(args.repeat)))


if __name__ == "__main__":
    main()
