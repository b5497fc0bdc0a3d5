"""Mutation testing: `./run mutate [PATH...]` (docs/testing.md).

    python -m tools.mutation [--processes N] [--fresh | --report] [PATH[:FIRST-LAST]...]

PATH is a source file, a folder of agents/, components/ or policy/, or nothing (all of them);
a Node script takes a line range (agents/seed.mjs:120-180). Prints, per file, the score ((killed +
timed out) / every mutant not listed as equivalent in docs/testing.md) and every mutant that
survived, as `file:line  [id]  original  ->  mutant`. Exit 0, or 1 when a mutant survived.
`--report` runs nothing: it scores the results kept from earlier runs, a stopped one too (the
mutants it did not reach are left out of the score and counted as not tested).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from tools.mutation import node, python
from tools.mutation.report import EQUIVALENTS_DOC, FileScore, listed_equivalents, scores
from tools.mutation.targets import TargetError, targets


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./run mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", metavar="PATH")
    parser.add_argument("--processes", type=int, default=2, help="mutants tested at once (default 2)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fresh", action="store_true", help="forget these targets' earlier results first")
    mode.add_argument("--report", action="store_true", help="run nothing: score the results kept so far")
    args = parser.parse_args(argv)
    try:
        runs = targets(args.paths)
    except TargetError as err:
        print(f"mutate: error: {err}", file=sys.stderr)
        return 2
    if args.fresh:  # only these targets' results: another run (of another target) may be using its own
        for target in runs:
            shutil.rmtree((python.workdir if target.tool == "mutmut" else node.workdir)(target), ignore_errors=True)
    equivalent = listed_equivalents()
    report: list[FileScore] = []
    for target in runs:
        tool = python if target.tool == "mutmut" else node
        started = time.monotonic()
        if not args.report:
            print(f"mutate: {target.tool} on {' '.join(target.files)} with {' '.join(target.tests)}", flush=True)
            try:
                tool.run(target, args.processes, equivalent)
            except RuntimeError as err:
                print(f"mutate: error: {err}", file=sys.stderr)
                return 1
        try:
            found = [m for m in tool.results(target) if any(m.file == f.partition(":")[0] for f in target.files)]
        except FileNotFoundError:  # --report of a target never run (or run --fresh and stopped before results)
            print(f"mutate: no results kept for {' '.join(target.files)}: run it first", file=sys.stderr)
            return 2
        if args.report:
            untested = [m for m in found if m.status == "not checked"]
            found = [m for m in found if m.status != "not checked"]
            print(f"mutate: {' '.join(target.files)}: {len(found)} of {len(found) + len(untested)} mutants "
                  f"tested so far, {len(untested)} not tested (left out of the score below)", flush=True)
        else:
            print(f"mutate: {len(found)} mutants in {time.monotonic() - started:.0f} s", flush=True)
        report += scores(found, equivalent)
    print()
    for score in report:
        print("\n".join(score.lines()))
    print(f"\n(equivalent mutants: {EQUIVALENTS_DOC.relative_to(EQUIVALENTS_DOC.parents[1])}, "
          "\"## Equivalent mutants\", one line each: - `<id>` file:line ...: why)")
    return int(any(len(s.counted) != s.detected for s in report))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
