"""What each supported release costs to start with the rendered config: the figures the sizing
derives from (components/releases.py `Sizing`; components/config/workload.py).

    .venv/bin/python bench/release_start.py [--stack dev] [--repeat 3] [--release 2026.9.6 ...]

Root (the pod boots in namespaces, tests/support/e2e/boot.py). For each release the stack is rendered with
that tag, the pod booted with loopback only under the release's Node, and printed: CPU-seconds until
the port listens and until the rendered startup probe passes, the wall time, and the peak RSS of
the gateway's processes during the start and 10 s after; then the maximum over the runs next to
what the release model holds, and the limit and startup budget the program derives.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.config.workload import START_CPU_MARGIN, cpu_cores, derived_memory_mib
from components.releases import RELEASES
from engine.harness import run_stack
from tests.support.e2e.boot import boot

PREFLIGHT_WARN_ONLY = {"failOn": {"database": [], "kubernetes": [], "model": [], "telegram": []}}


def measure(stack: str, version: str) -> tuple[float, float, float, float]:
    """(listening CPU-s, started CPU-s, started wall s, peak RSS MiB) of one boot."""
    run = run_stack(stack, overrides={"openclaw:preflight": PREFLIGHT_WARN_ONLY,
                                      "openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": version}})
    with tempfile.TemporaryDirectory(prefix="release-start-") as work:
        booted = boot(run, Path(work))
        try:
            if booted.started_seconds is None:
                raise SystemExit(f"openclaw {version} did not pass its startup probe: {booted.gateway.log()[-2000:]}")
            return (booted.listening_cpu_seconds, booted.started_cpu_seconds, booted.started_seconds,
                    booted.peak_rss_mib)
        finally:
            booted.sandbox.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--release", nargs="*", default=sorted(RELEASES, key=lambda v: RELEASES[v].key))
    args = parser.parse_args()
    print(f"{'release':<10} {'node':<8} {'run':>3} {'listen cpu s':>12} {'start cpu s':>11} {'wall s':>7} "
          f"{'peak MiB':>8}")
    summary = []
    for version in args.release:
        release = RELEASES[version]
        runs = []
        for n in range(1, args.repeat + 1):
            listen, started, wall, peak = measure(args.stack, version)
            runs.append((started, peak))
            print(f"{version:<10} {release.node:<8} {n:>3} {listen:>12.1f} {started:>11.1f} {wall:>7.1f} {peak:>8.0f}",
                  flush=True)
        summary.append((version, max(r[0] for r in runs), max(r[1] for r in runs)))
    print(f"\n{'release':<10} {'start cpu s':>11} {'model':>6} {'peak MiB':>8} {'model':>6} {'limit':>7} "
          f"{'probes at 50m':>13}")
    for version, cpu, peak in summary:
        model = RELEASES[version].sizing
        limit = derived_memory_mib(RELEASES[version])
        probes = math.ceil(model.start_cpu_seconds * START_CPU_MARGIN / cpu_cores("50m") / 10)
        print(f"{version:<10} {cpu:>11.1f} {model.start_cpu_seconds:>6.1f} {peak:>8.0f} {model.peak_rss_mib:>6} "
              f"{limit:>5}Mi {probes:>13}")


if __name__ == "__main__":
    main()
