"""The pytest run behind Stryker's test runner (tools/mutation/stryker-pytest-runner.mjs), in
Stryker's sandbox copy of the project:

    python -m tools.mutation.node_command --result FILE [--coverage FILE | --mutant ID] [--bail] TEST...

The Node scripts run as subprocesses of the tests, which give node an environment of their own (the
seeder's, or an empty one in a network namespace for the preflight). So the tests get a tool cache
(OPENCLAW_CACHE, tools/toolchain.py) whose pinned Node is a wrapper: it sets Stryker's
__STRYKER_ACTIVE_MUTANT__ (the mutant every node process then runs), or preloads a hook that
appends the mutants each node process reached, with the test that started it, to the coverage file.
Each test's outcome goes to the result file (tools/mutation/stryker_plugin.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import toolchain

ACTIVE = "__STRYKER_ACTIVE_MUTANT__"
HOOK = """import fs from 'node:fs';
process.on('exit', () => {
  const covered = Object.keys(globalThis.__stryker__?.mutantCoverage?.static || {});
  if (!covered.length) return;
  let test = '';
  try { test = fs.readFileSync(%(current)s, 'utf8'); } catch { /* no test running */ }
  fs.appendFileSync(%(coverage)s, `${test}\\t${covered.join(',')}\\n`);
});
"""


def tool_cache(into: Path, prelude: str, node_args: list[str]) -> Path:
    """A cache with every entry of the real one, the pinned Node wrapped."""
    real = toolchain.node_binary()
    for entry in toolchain.CACHE.iterdir():
        if entry.name != real.parent.parent.name:
            (into / entry.name).symlink_to(entry)
    wrapper = into / real.parent.parent.name / "bin" / "node"
    wrapper.parent.mkdir(parents=True)
    command = " ".join(shlex.quote(a) for a in [str(real), *node_args])
    wrapper.write_text(f"#!/bin/sh\n{prelude}exec {command} \"$@\"\n")
    wrapper.chmod(0o755)
    return into


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation.node_command")
    parser.add_argument("--result", required=True)
    parser.add_argument("--coverage")
    parser.add_argument("--mutant")
    parser.add_argument("--bail", action="store_true")
    parser.add_argument("tests", nargs="+")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="openclaw-mutate-") as tmp:
        work = Path(tmp)
        (work / "cache").mkdir()
        current = work / "current-test"
        prelude = ""
        if args.mutant:
            prelude = f"export {ACTIVE}={shlex.quote(args.mutant)}\n"
        if args.coverage:
            hook = work / "coverage-hook.mjs"
            hook.write_text(HOOK % {"current": json.dumps(str(current)), "coverage": json.dumps(args.coverage)})
            # In the environment, not on the command line: a node process the script starts itself
            # (the preflight's resolver, process.execPath) inherits it and reports its mutants too.
            prelude = f"export NODE_OPTIONS={shlex.quote('--import ' + hook.as_uri())}\n"
        cache = tool_cache(work / "cache", prelude, [])
        env = {**os.environ, "OPENCLAW_CACHE": str(cache), "OPENCLAW_MUTATE_CURRENT": str(current),
               "OPENCLAW_MUTATE_RESULT": args.result}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not e2e",
                   "-p", "tools.mutation.stryker_plugin", *(["-x"] if args.bail else []), *args.tests]
        return subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
