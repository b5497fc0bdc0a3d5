"""StrykerJS (tools/mutation/package.json, pinned with its lock file) on the Node scripts.

Installed from the npm registry once into the shared tool cache (~/.cache/openclaw-platform/
stryker-<hash of the lock file>) and run under the pinned Node 22 (Stryker 10 needs Node >= 22),
with tools/mutation/stryker.config.mjs. Each script keeps its results in build/mutate/stryker/
<name>/: its report, and Stryker's incremental file, from which the mutants that were not detected
are dropped before each run, so that they are tested again (new tests may kill them) while the
killed ones are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tools import toolchain
from tools.mutation.report import REPO, Mutant, settled
from tools.mutation.targets import Target

HERE = Path(__file__).resolve().parent
WORK = REPO / "build" / "mutate" / "stryker"
STATUS = {"Killed": "killed", "Timeout": "timeout", "Survived": "survived", "NoCoverage": "no tests",
          "Ignored": "skipped", "CompileError": "error", "RuntimeError": "error", "Pending": "not checked"}


def stryker() -> Path:
    """Stryker's CLI, installed with `npm ci` from the lock file into the tool cache once."""
    lock = (HERE / "package.json").read_bytes() + (HERE / "package-lock.json").read_bytes()
    home = toolchain.CACHE / f"stryker-{hashlib.sha256(lock).hexdigest()[:12]}"
    cli = home / "node_modules" / "@stryker-mutator" / "core" / "bin" / "stryker.js"
    if cli.is_file():
        return cli
    toolchain.CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=toolchain.CACHE) as tmp:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / name, tmp)
        done = subprocess.run([shutil.which("npm") or "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                              cwd=tmp, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"npm ci of tools/mutation/package.json failed: {done.stderr.strip()[-400:]}")
        try:   # rename into place last: a concurrent install (another worktree) may have won
            Path(tmp).rename(home)
        except OSError:
            if not cli.is_file():
                raise
    return cli


def workdir(target: Target) -> Path:
    folder = WORK / target.files[0].partition(":")[0].removesuffix(".mjs").replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _in_run(files: tuple[str, ...], line: int) -> bool:
    """Whether this run mutates a line: the whole file, or one of its `:<first>-<last>` ranges."""
    for entry in files:
        _, _, lines = entry.partition(":")
        if not lines:
            return True
        first, _, last = lines.partition("-")
        if int(first) <= line <= int(last):
            return True
    return False


def _where(m: dict[str, Any]) -> tuple[Any, ...]:
    """A mutant across runs (Stryker numbers them anew each run): its place and its change."""
    start, end = m["location"]["start"], m["location"]["end"]
    return (m.get("mutatorName"), m.get("replacement"), start["line"], start["column"], end["line"], end["column"])


def _aside_of(aside: dict[str, Any], name: str, source: str) -> list[dict[str, Any]]:
    """The mutants set aside for a re-test in file `name`, if it is still the code they come from."""
    data = aside["files"].get(name)
    return data["mutants"] if data and data["source"] == source else []


def _retest_undetected(incremental: Path, equivalent: set[str], files: tuple[str, ...]) -> None:
    """Drop from Stryker's incremental file every mutant this run mutates but the settled ones: they
    are tested again. Those outside its line ranges stay as they are (dropped, they would vanish from
    the report: Stryker reports a mutant outside the ranges only from this file). The dropped ones are
    kept aside (retesting.json) until a run tests them again: a run stopped before it reaches them
    still reports them as they were, never as gone. Kept aside only while the file is the code they
    were set aside from: once it changed, their places point at other code."""
    if not incremental.exists():
        return
    aside_file = incremental.with_name("retesting.json")
    aside = json.loads(aside_file.read_text()) if aside_file.exists() else {"files": {}}
    report = json.loads(incremental.read_text())
    for name, data in report.get("files", {}).items():
        keep = settled(_mutants(name, data), equivalent)
        present = {_where(m) for m in data["mutants"]}
        waiting = [m for m in _aside_of(aside, name, data["source"]) if _where(m) not in present]
        dropped = [m for m in data["mutants"]
                   if m["id"] not in keep and _in_run(files, m["location"]["start"]["line"])]
        data["mutants"] = [m for m in data["mutants"] if m not in dropped]
        aside["files"][name] = {"source": data["source"], "mutants": waiting + dropped}
    incremental.write_text(json.dumps(report))
    aside_file.write_text(json.dumps(aside))


def run(target: Target, processes: int, equivalent: set[str]) -> None:
    folder = workdir(target)
    _retest_undetected(folder / "incremental.json", equivalent, target.files)
    env = {**os.environ, "MUTATE_PYTHON": sys.executable, "MUTATE_TESTS": " ".join(target.tests),
           "MUTATE_RUNNER": str(HERE / "stryker-pytest-runner.mjs"), "MUTATE_FILES": " ".join(target.files),
           "MUTATE_REPORT": str(folder / "report.json"), "MUTATE_INCREMENTAL": str(folder / "incremental.json"),
           "MUTATE_TMP": str((folder / "sandbox").relative_to(REPO)), "MUTATE_CONCURRENCY": str(processes)}
    done = subprocess.run([str(toolchain.node_binary()), str(stryker()), "run", str(HERE / "stryker.config.mjs")],
                          cwd=REPO, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"Stryker stopped with exit code {done.returncode} (its log: {folder}/sandbox)")


def _mutant(file: str, lines: list[str], m: dict[str, Any]) -> Mutant:
    start, end = m["location"]["start"], m["location"]["end"]
    first, last = lines[start["line"] - 1], lines[end["line"] - 1]
    original = " / ".join(x.strip() for x in lines[start["line"] - 1:end["line"]])
    mutated = (first[:start["column"] - 1] + m.get("replacement", "") + last[end["column"] - 1:]).strip()
    return Mutant(file, start["line"], original, " / ".join(x.strip() for x in mutated.splitlines()) or "(removed)",
                  STATUS.get(m["status"], "error"), key=m["id"])


def _mutants(name: str, data: dict[str, Any]) -> list[Mutant]:
    file = str((REPO / name).resolve().relative_to(REPO))
    lines = data["source"].splitlines()
    return [_mutant(file, lines, m) for m in data["mutants"]]


def results(target: Target) -> list[Mutant]:
    """The last run's mutants: its report, or for a run stopped by a signal the incremental file
    Stryker saves then (what that run and the earlier ones tested; no report is written)."""
    folder = workdir(target)
    report_file, incremental = folder / "report.json", folder / "incremental.json"
    if incremental.exists() and (not report_file.exists()
                                 or incremental.stat().st_mtime > report_file.stat().st_mtime + 60):
        report_file = incremental
    report = json.loads(report_file.read_text())
    aside_file = folder / "retesting.json"
    aside = json.loads(aside_file.read_text()) if aside_file.exists() else {"files": {}}
    for name, data in aside["files"].items():   # set aside for a re-test the last run did not reach
        into = report["files"].setdefault(name, {"source": data["source"], "mutants": []})
        present = {_where(m) for m in into["mutants"]}
        into["mutants"] += [m for m in _aside_of(aside, name, into["source"]) if _where(m) not in present]
    return [m for name, data in report["files"].items() for m in _mutants(name, data)]
